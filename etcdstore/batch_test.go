package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
)

// waitQueued waits (bounded) until n proposals wait in c's queue.
func waitQueued(t *testing.T, c *Cluster, n int) {
	deadline := time.After(callTimeout)
	for {
		c.batch.mu.Lock()
		queued := len(c.batch.queue)
		c.batch.mu.Unlock()
		if queued == n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%d proposals queued, want %d", queued, n)
		case <-time.After(time.Millisecond):
		}
	}
}

// holdFirst starts a commit of a task of cpu CPU on instance in, holds its
// transaction until the returned release is called, so that the calls
// made meanwhile queue behind it; release returns the first call's error.
func holdFirst(t *testing.T, a *Cluster, in string, cpu int64) (release func() error) {
	inTxn, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a.beforeTxn = func() { once.Do(func() { close(inTxn); <-held }) }
	first := make(chan error, 1)
	go func() {
		_, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in, Spec: spec(t, cpu, 16)}}})
		first <- err
	}()
	<-inTxn
	return func() error { close(held); return <-first }
}

// TestClusterGroupCommit: proposals made while a transaction is on its
// way are written together in the next one; a group that does not fit as
// a whole is committed proposal by proposal, each with its own answer.
func TestClusterGroupCommit(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		cpus      []int64 // the proposals queued behind the first (256 CPU), in order; 0: no task spec
		refused   []bool  // which of them are refused
		txns      int64   // transactions, the first one's included
		remaining int64
		lose      bool // the group's answer is lost on its way back
	}{
		{name: "fits", cpus: []int64{256, 256, 256}, refused: []bool{false, false, false}, txns: 2, remaining: 0},
		{name: "one-too-large", cpus: []int64{256, 768, 256}, refused: []bool{false, true, false}, txns: 3, remaining: 256},
		{name: "answer-lost", cpus: []int64{256, 256, 256}, txns: 1, remaining: 0, lose: true},
		{name: "one-invalid", cpus: []int64{256, 0, 256}, refused: []bool{false, true, false}, txns: 3, remaining: 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := openCluster(t, cli, tc.name, 1)
			b := openCluster(t, cli, tc.name, 2)
			in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
			require.NoError(t, err)
			place := func(cpu int64) (cluster.Applied, error) {
				var sp *cluster.TaskSpec
				if cpu > 0 {
					sp = spec(t, cpu, 128)
				}
				return a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: sp}}})
			}
			lost, txns := errors.New("answer lost"), 0
			if tc.lose {
				a.afterTxn = func() error { // under the copy's lock
					if txns++; txns == 2 {
						return lost
					}
					return nil
				}
			}

			release := holdFirst(t, a, in.ID, 256)
			outs := make([]cluster.Applied, len(tc.cpus))
			errs := make([]error, len(tc.cpus))
			var wg sync.WaitGroup
			for i, cpu := range tc.cpus {
				wg.Add(1)
				go func() { defer wg.Done(); outs[i], errs[i] = place(cpu) }()
				waitQueued(t, a, i+1) // queued in this order
			}
			require.NoError(t, release())
			wg.Wait()

			if tc.lose {
				for i := range tc.cpus {
					require.ErrorIs(t, errs[i], lost, "each proposal's fate is the group's")
				}
				assert.Equal(t, int64(1), a.Stats().Commits)
				agreeClusters(t, a, b)
				b.Read(func(v *cluster.View) {
					x, _ := v.Instance(in.ID)
					assert.Equal(t, tc.remaining, x.RemainingCPU(), "the group was written, and the copies heard of it")
					_, running, pending := v.Counts()
					assert.Equal(t, 4, running+pending)
				})
				return
			}
			ids := map[string]bool{}
			for i := range tc.cpus {
				if tc.refused[i] && tc.cpus[i] == 0 {
					require.ErrorIs(t, errs[i], cluster.ErrInvalidSpec, "proposal %d", i)
					continue
				}
				if tc.refused[i] {
					var conflict *cluster.ConflictError
					require.ErrorAs(t, errs[i], &conflict, "proposal %d", i)
					assert.Equal(t, cluster.ReasonCPU, conflict.Reason)
					assert.Equal(t, 0, conflict.Index, "the index is in the caller's own proposal")
					continue
				}
				require.NoError(t, errs[i], "proposal %d", i)
				require.Len(t, outs[i].Started, 1)
				assert.Empty(t, outs[i].Stopped)
				ids[outs[i].Started[0].ID] = true
				a.Read(func(v *cluster.View) {
					task, ok := v.Task(outs[i].Started[0].ID)
					require.True(t, ok)
					assert.Equal(t, tc.cpus[i], task.Demand().CPU(), "each caller gets its own task")
				})
			}
			assert.Len(t, ids, len(tc.cpus)-countTrue(tc.refused))
			s := a.Stats()
			assert.Equal(t, int64(1+len(tc.cpus)-countTrue(tc.refused)), s.Commits)
			assert.Equal(t, tc.txns, s.Transactions)
			agreeClusters(t, a, b)
			b.Read(func(v *cluster.View) {
				x, _ := v.Instance(in.ID)
				assert.Equal(t, tc.remaining, x.RemainingCPU())
				for id := range ids {
					_, ok := v.Task(id)
					assert.True(t, ok, "the other copy has task %s", id)
				}
			})
		})
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// TestClusterGroupCommitStress: eight goroutines place, stop, and propose
// what cannot fit, through one copy, so that proposals queue, lead and
// pass the lead on in every order. Every call gets its own answer, none
// waits for ever, and the state ends exact on every copy.
func TestClusterGroupCommitStress(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	ctx := context.Background()
	var ids []string
	for range 4 {
		in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
		require.NoError(t, err)
		ids = append(ids, in.ID)
	}
	const workers, rounds = 8, 100
	var mu sync.Mutex
	seen := map[string]bool{}
	var placed, refused int
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				in := ids[(w+r)%len(ids)]
				if r%5 == 0 { // more than the instance has: refused, alone or in a group
					_, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in, Spec: spec(t, 2048, 16)}}})
					var conflict *cluster.ConflictError
					if !assert.ErrorAs(t, err, &conflict) {
						return
					}
					mu.Lock()
					refused++
					mu.Unlock()
				}
				out, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in, Spec: spec(t, 64, 16)}}})
				if !assert.NoError(t, err) || !assert.Len(t, out.Started, 1) {
					return
				}
				id := out.Started[0].ID
				mu.Lock()
				assert.False(t, seen[id], "task %s answered twice", id)
				seen[id] = true
				placed++
				mu.Unlock()
				info, err := a.StopTask(ctx, id, "done", cluster.StopUserInitiated)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, id, info.ID, "the stop answers with its own task")
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * callTimeout):
		t.Fatal("a call waits for ever")
	}
	assert.Equal(t, workers*rounds, placed)
	assert.Equal(t, workers*rounds/5, refused)
	s := a.Stats()
	assert.Equal(t, int64(2*workers*rounds), s.Commits, "every placement and stop, once")
	assert.LessOrEqual(t, s.Transactions, s.Commits)
	assert.Equal(t, 1, a.batch.mostLeaders, "one caller leads at a time")
	t.Logf("%d commits in %d transactions", s.Commits, s.Transactions)
	agreeClusters(t, a, b)
	b.Read(func(v *cluster.View) {
		for _, id := range ids {
			x, _ := v.Instance(id)
			assert.Equal(t, int64(1024), x.RemainingCPU())
		}
		_, running, pending := v.Counts()
		assert.Equal(t, 0, running+pending)
	})
}

// TestClusterGroupCommitOrder: proposals are grouped only where checking
// them together is checking them in the order they came. Here each
// stops the task on one full instance and places a full task on the
// other: one after the other, each is refused (the other instance is still
// full); checked together (both stops first), both would fit.
func TestClusterGroupCommitOrder(t *testing.T) {
	_, eps := startEtcd(t, 1)
	ctx := context.Background()
	a := openCluster(t, client(t, eps), "app", 1)
	var ins []string
	for range 3 {
		in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
		require.NoError(t, err)
		ins = append(ins, in.ID)
	}
	full := func(in string) string {
		out, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in, Spec: spec(t, 1024, 16)}}})
		require.NoError(t, err)
		return out.Started[0].ID
	}
	onX, onY := full(ins[0]), full(ins[1])
	swaps := []cluster.Proposal{
		{Stops: []cluster.Stop{{TaskID: onX, Reason: "moved"}}, Placements: []cluster.Placement{{InstanceID: ins[1], Spec: spec(t, 1024, 16)}}},
		{Stops: []cluster.Stop{{TaskID: onY, Reason: "moved"}}, Placements: []cluster.Placement{{InstanceID: ins[0], Spec: spec(t, 1024, 16)}}},
	}
	release := holdFirst(t, a, ins[2], 64)
	errs := make([]error, len(swaps))
	var wg sync.WaitGroup
	for i, p := range swaps {
		wg.Go(func() { _, errs[i] = a.Apply(p) })
		waitQueued(t, a, i+1)
	}
	require.NoError(t, release())
	wg.Wait()
	for i, err := range errs {
		var conflict *cluster.ConflictError
		require.ErrorAs(t, err, &conflict, "swap %d places on an instance still full", i)
		assert.Equal(t, cluster.ReasonCPU, conflict.Reason)
	}
}

// TestClusterGroupCommitCancelled: a call (StopTask) whose context ends
// while its proposal waits in the queue leaves the queue, uncommitted,
// and says so.
func TestClusterGroupCommitCancelled(t *testing.T) {
	_, eps := startEtcd(t, 1)
	ctx := context.Background()
	a := openCluster(t, client(t, eps), "app", 1)
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
	require.NoError(t, err)
	out, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 256, 16)}}})
	require.NoError(t, err)
	victim := out.Started[0].ID

	release := holdFirst(t, a, in.ID, 256)
	sctx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { // as StopTask queues it (StopTask's own read waits for the copy, locked by the commit)
		_, err := a.commitQueued(sctx, cluster.Proposal{Stops: []cluster.Stop{{TaskID: victim, Reason: "gone"}}})
		stopped <- err
	}()
	waitQueued(t, a, 1)
	cancel()
	err = <-stopped
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, cluster.ErrNotCommitted)
	waitQueued(t, a, 0)
	require.NoError(t, release())
	agreeClusters(t, a)
	a.Read(func(v *cluster.View) {
		task, ok := v.Task(victim)
		require.True(t, ok)
		assert.NotEqual(t, cluster.TaskStopped, task.LastStatus(), "the cancelled stop was not committed")
	})
	assert.Equal(t, int64(2), a.Stats().Commits)
}

// TestClusterCommitPanics: an observer that panics during a commit makes
// that call panic, and leaves the copy and its queue usable: the next
// commit goes through.
func TestClusterCommitPanics(t *testing.T) {
	_, eps := startEtcd(t, 1)
	ctx := context.Background()
	a := openCluster(t, client(t, eps), "app", 1)
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
	require.NoError(t, err)
	var armed atomic.Bool // once, at the next change
	a.Subscribe(cluster.ObserverFunc(func(cluster.Change) {
		if armed.CompareAndSwap(true, false) {
			panic("observer bug")
		}
	}))
	armed.Store(true)
	place := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panicked: %v", r)
			}
		}()
		_, err = a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 256, 16)}}})
		return err
	}
	require.ErrorContains(t, place(), "panicked: observer bug")
	done := make(chan error, 1)
	go func() { done <- place() }()
	select {
	case err := <-done:
		require.NoError(t, err, "the copy and its queue still commit")
	case <-time.After(callTimeout):
		t.Fatal("a commit after a panic waits for ever")
	}
}
