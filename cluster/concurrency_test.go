package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
)

// snapshotAll is every instance's state and the cluster's counts.
func snapshotAll(c *cluster.Cluster) ([]cluster.InstanceInfo, [3]int) {
	var infos []cluster.InstanceInfo
	var counts [3]int
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			infos = append(infos, in.Info())
		}
		counts[0], counts[1], counts[2] = v.Counts()
	})
	return infos, counts
}

// checkAccounting: remaining = registered − the demands of the tasks that
// are not stopped, no instance overcommitted, no port held twice.
func checkAccounting(t require.TestingT, c *cluster.Cluster) {
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			cpu, mem := in.RegisteredCPU(), in.RegisteredMemory()
			ports := map[uint16]int{}
			for p := range in.Info().RegisteredPorts.All() {
				ports[p]++
			}
			for task := range v.InstanceTasks(in) {
				cpu -= task.Demand().CPU()
				mem -= task.Demand().Memory()
				for p := range task.Demand().Ports().All() {
					ports[p]++
				}
			}
			require.Equal(t, cpu, in.RemainingCPU(), "remaining CPU of %s", in.ID())
			require.Equal(t, mem, in.RemainingMemory(), "remaining memory of %s", in.ID())
			require.GreaterOrEqual(t, in.RemainingCPU(), int64(0))
			require.GreaterOrEqual(t, in.RemainingMemory(), int64(0))
			for p, n := range ports {
				require.Equal(t, 1, n, "port %d held %d times on %s", p, n, in.ID())
				require.True(t, in.ReservedPorts().Contains(p))
			}
		}
	})
}

// TestInterleavedSchedulers: two schedulers decide against the same state
// and commit in a random order; a commit either applies in full or leaves
// the state exactly as it was, and the accounting invariants always hold.
func TestInterleavedSchedulers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := cluster.New("two", cluster.Options{
			Clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			Rand:  rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)),
		})
		var ids []string
		for range rapid.IntRange(1, 4).Draw(t, "instances") {
			info, err := c.RegisterInstance(cluster.InstanceSpec{CPU: 1024, Memory: 1024})
			require.NoError(t, err)
			ids = append(ids, info.ID)
		}
		specs := make([]*cluster.TaskSpec, 3)
		for i, port := range []uint16{0, 80, 443} {
			var ports []uint16
			if port != 0 {
				ports = []uint16{port}
			}
			d, err := cluster.NewDemand(256, 256, ports, nil, 0)
			require.NoError(t, err)
			specs[i] = &cluster.TaskSpec{Group: fmt.Sprintf("g%d", i), Demand: d}
		}
		var live []string
		decide := func(label string) cluster.Proposal {
			var p cluster.Proposal
			c.Read(func(v *cluster.View) {
				var pending cluster.Pending
				if len(live) > 0 && rapid.Bool().Draw(t, label+"stop") {
					id := rapid.SampledFrom(live).Draw(t, label+"stopTask")
					if task, ok := v.Task(id); ok && task.LastStatus() != cluster.TaskStopped {
						pending.Release(task)
						p.Stops = append(p.Stops, cluster.Stop{TaskID: id})
					}
				}
				for range rapid.IntRange(1, 3).Draw(t, label+"n") {
					in, _ := v.Instance(rapid.SampledFrom(ids).Draw(t, label+"instance"))
					spec := rapid.SampledFrom(specs).Draw(t, label+"spec")
					if in.Fits(spec.Demand, &pending) == cluster.ReasonNone {
						pending.Add(in, spec)
						p.Placements = append(p.Placements, cluster.Placement{InstanceID: in.ID(), Spec: spec})
					}
				}
			})
			return p
		}
		commit := func(p cluster.Proposal) {
			before, beforeCounts := snapshotAll(c)
			applied, err := c.Apply(p)
			after, afterCounts := snapshotAll(c)
			if err != nil {
				require.ErrorIs(t, err, cluster.ErrConflict)
				require.Equal(t, before, after, "a rejected commit changes nothing")
				require.Equal(t, beforeCounts, afterCounts)
				return
			}
			require.Len(t, applied.Started, len(p.Placements), "a commit applies in full")
			require.Len(t, applied.Stopped, len(p.Stops))
			for _, task := range applied.Started {
				live = append(live, task.ID)
			}
		}
		for range rapid.IntRange(1, 10).Draw(t, "rounds") {
			a, b := decide("A"), decide("B") // both decide on the same state
			if rapid.Bool().Draw(t, "bFirst") {
				a, b = b, a
			}
			commit(a)
			checkAccounting(t, c)
			commit(b)
			checkAccounting(t, c)
		}
	})
}

// TestConcurrentCreationOrder: while several goroutines commit (some of
// them conflicting), a reader never finds a task created before one it has
// already seen: tasks are numbered in the order commits apply, so paging
// by sequence number misses none. Numbers have no gaps: a rejected commit
// gives its numbers back.
func TestConcurrentCreationOrder(t *testing.T) {
	c, _ := newCluster(t)
	var ids []string
	for range 8 {
		ids = append(ids, register(t, c, cluster.InstanceSpec{CPU: 1 << 20, Memory: 1 << 20}).ID)
	}
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 1, 1, nil, nil, 0)}
	ported := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 1, 1, []uint16{8080}, nil, 0)}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				ps := []cluster.Placement{{InstanceID: ids[(g+i)%len(ids)], Spec: spec}, {InstanceID: ids[i%len(ids)], Spec: spec}}
				if i%5 == 0 { // the same port twice on one instance: rejected
					ps = append(ps, cluster.Placement{InstanceID: ids[0], Spec: ported}, cluster.Placement{InstanceID: ids[0], Spec: ported})
				}
				_, err := c.Commit(ps)
				if i%5 == 0 {
					assert.ErrorIs(t, err, cluster.ErrConflict)
				} else {
					assert.NoError(t, err)
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	seen := map[uint64]bool{}
	var highest uint64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		c.Read(func(v *cluster.View) {
			for task := range v.TasksAfter(0) {
				s := task.Seq()
				if s <= highest && !seen[s] {
					t.Fatalf("task %d appeared after task %d had been seen", s, highest)
				}
				seen[s] = true
				highest = max(highest, s)
			}
		})
	}
	require.Len(t, seen, 4*240*2)
	require.Equal(t, uint64(len(seen)), highest, "numbers 1..n, no gaps")
}
