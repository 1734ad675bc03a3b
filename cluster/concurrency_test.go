package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
