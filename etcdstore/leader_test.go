package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// running is service web's runningCount and desiredCount, as r describes
// them.
func running(t testing.TB, r *Replica) (int, int) {
	require.NoError(t, r.Sync(context.Background()))
	out := ok(t, r, "DescribeServices", map[string]any{"cluster": "app", "services": []string{"web"}})
	var d struct {
		Services []struct{ RunningCount, DesiredCount int }
	}
	b, _ := json.Marshal(out)
	require.NoError(t, json.Unmarshal(b, &d))
	require.Len(t, d.Services, 1)
	return d.Services[0].RunningCount, d.Services[0].DesiredCount
}

// tickDriver runs r's RunScheduler with a tick channel the test drives.
type tickDriver struct {
	ticks  chan time.Time
	cancel context.CancelFunc
	done   chan error
}

func runScheduler(r *Replica) *tickDriver {
	ctx, cancel := context.WithCancel(context.Background())
	s := &tickDriver{ticks: make(chan time.Time), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- r.RunScheduler(ctx, s.ticks) }()
	return s
}

// leader waits until one of the replicas is elected, and returns its
// index (a bounded wait).
func leader(t testing.TB, rs []*Replica) int {
	timeout := time.After(30 * time.Second)
	for {
		for i, r := range rs {
			if r.Leading() {
				return i
			}
		}
		cases := make(chan int, len(rs))
		stop := make(chan struct{})
		for i, r := range rs {
			go func() {
				select {
				case <-r.election.elected:
					cases <- i
				case <-stop:
				}
			}()
		}
		select {
		case i := <-cases:
			close(stop)
			return i
		case <-timeout:
			close(stop)
			t.Fatal("no leader elected")
			return -1
		}
	}
}

// tick sends one tick to the leader's scheduler and waits until the
// leader has applied it.
func tick(t testing.TB, r *Replica, s *tickDriver, at *time.Time) {
	*at = at.Add(2 * time.Second)
	before := r.Revision()
	s.ticks <- *at
	for range 1000 {
		require.NoError(t, r.Sync(context.Background()))
		if r.Revision() > before {
			return
		}
	}
	t.Fatal("the tick was not applied")
}

// TestSchedulerLeadership: one of two replicas runs the service scheduler;
// when it dies, the other takes over, and the service converges through
// both.
func TestSchedulerLeadership(t *testing.T) {
	_, eps := startEtcd(t, 1)
	rs := []*Replica{open(t, client(t, eps), ""), open(t, client(t, eps), "")}
	setUp(t, rs[0], 4)
	ok(t, rs[1], "CreateService", map[string]any{"cluster": "app", "serviceName": "web", "taskDefinition": "web", "desiredCount": 3})
	scheds := []*tickDriver{runScheduler(rs[0]), runScheduler(rs[1])}
	at := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	l := leader(t, rs)
	for range 3 {
		tick(t, rs[l], scheds[l], &at)
	}
	n, _ := running(t, rs[1-l])
	assert.Equal(t, 3, n, "the leader's ticks ran the service on every replica")

	// The leader dies: its scheduler stops, its lease is revoked.
	scheds[l].cancel()
	<-scheds[l].done
	other := 1 - l
	assert.Equal(t, 0, leader(t, rs[other:other+1]), "the other replica leads")
	ok(t, rs[l], "UpdateService", map[string]any{"cluster": "app", "service": "web", "desiredCount": 5})
	for range 3 {
		tick(t, rs[other], scheds[other], &at)
	}
	n, d := running(t, rs[l])
	assert.Equal(t, 5, d)
	assert.Equal(t, 5, n, "the new leader converged the service")
	agree(t, rs...)
	checkAccounting(t, rs[0])
	scheds[other].cancel()
	<-scheds[other].done
}

// TestFaults: a three-member etcd cluster; replicas keep answering while
// a member is stopped and restarted, a replica is closed in the middle of
// its calls, and every replica agrees afterwards with exact accounting.
func TestFaults(t *testing.T) {
	ec, eps := startEtcd(t, 3)
	// Each replica's client prefers another member, and fails over.
	rs := []*Replica{open(t, client(t, eps), ""), open(t, client(t, []string{eps[1], eps[2], eps[0]}), ""), open(t, client(t, []string{eps[2], eps[0], eps[1]}), "")}
	setUp(t, rs[0], 8) // room for 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	runSome := func(r *Replica, n int) {
		defer wg.Done()
		for range n {
			b, _ := json.Marshal(map[string]any{"cluster": "app", "taskDefinition": "web"})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			out, err := r.Do(ctx, "RunTask", b)
			cancel()
			if err != nil {
				continue // closed, or etcd unreachable: the call's fate is unknown
			}
			var o struct{ Tasks []struct{ TaskArn string } }
			require.NoError(t, json.Unmarshal(out.Body, &o))
			mu.Lock()
			for _, tk := range o.Tasks {
				acked[tk.TaskArn] = true
			}
			mu.Unlock()
		}
	}
	// Stop the member the third replica prefers, while calls run; the
	// cluster keeps its quorum.
	wg.Add(3)
	go runSome(rs[0], 6)
	go runSome(rs[1], 6)
	go runSome(rs[2], 6)
	ec.Members[2].Stop()
	wg.Wait()
	require.NoError(t, ec.Members[2].Start())
	// The etcd leader moves to another member while calls run.
	wg.Add(2)
	go runSome(rs[0], 3)
	go runSome(rs[2], 3)
	moveLeader(t, ec)
	wg.Wait()
	// A replica closed mid-call.
	wg.Add(1)
	go runSome(rs[1], 6)
	require.NoError(t, rs[1].Close())
	wg.Wait()
	survivors := []*Replica{rs[0], rs[2]}
	for _, r := range survivors {
		checkAccounting(t, r)
	}
	agree(t, survivors...)
	// No acknowledged write lost: every acknowledged task is on record.
	_, tasks := view(t, rs[2])
	for arn := range acked {
		assert.Contains(t, string(tasks), arn, "acknowledged %s", arn)
	}
	assert.LessOrEqual(t, len(acked), 16, fmt.Sprintf("at most what fits: %d", len(acked)))
}
