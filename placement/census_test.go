package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
)

// TestCensusMatchesScan: for a few task shapes asked about again and again
// while the cluster changes (tasks placed and stopped, instances drained,
// disconnected, relabelled, deregistered, registered), the engine's census
// gives exactly what a full scan gives: explain's tally and closest
// instance, and the feasible instances Feasible counts and selects, with a
// call's pending placements counted.
func TestCensusMatchesScan(t *testing.T) {
	defer func(n int) { maxChangeLog = n }(maxChangeLog)
	rapid.Check(t, func(t *rapid.T) {
		maxChangeLog = rapid.SampledFrom([]int{3, 1 << 16}).Draw(t, "maxChangeLog")
		clock := cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		c := cluster.New("census", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))})
		e := NewEngine(3)
		c.Subscribe(e)
		var ids, tasks []string
		register := func() {
			spec := cluster.InstanceSpec{
				CPU:        rapid.SampledFrom([]int64{512, 1024, 2048}).Draw(t, "cpu"),
				Memory:     rapid.SampledFrom([]int64{512, 2048}).Draw(t, "memory"),
				Attributes: []cluster.Attribute{{Name: "rack", Value: rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "rack")}},
			}
			info, err := c.RegisterInstance(spec)
			require.NoError(t, err)
			ids = append(ids, info.ID)
		}
		for range rapid.IntRange(0, 70).Draw(t, "instances") {
			register()
		}
		mk := func(cpu, mem int64, ports []uint16, group string, cs ...Constraint) *Request {
			d, err := cluster.NewDemand(cpu, mem, ports, nil, 0)
			require.NoError(t, err)
			return &Request{Spec: &cluster.TaskSpec{Demand: d, Group: group, Guard: Constraints(cs)}, Constraints: cs}
		}
		reqs := []*Request{
			mk(4096, 256, nil, "family:huge"),
			mk(512, 512, []uint16{80}, "family:web", MustParseConstraint("distinctInstance", "")),
			mk(256, 256, nil, "family:db", MustParseConstraint("memberOf", "attribute:rack == r2")),
			mk(1024, 1024, nil, "family:batch"),
		}
		for range rapid.IntRange(1, 30).Draw(t, "steps") {
			switch rapid.IntRange(0, 6).Draw(t, "action") {
			case 0, 1:
				if len(ids) > 0 {
					req := rapid.SampledFrom(reqs[1:]).Draw(t, "place")
					applied, err := c.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: rapid.SampledFrom(ids).Draw(t, "on"), Spec: req.Spec}}})
					if err == nil {
						for _, s := range applied.Started {
							tasks = append(tasks, s.ID)
						}
					}
				}
			case 2:
				if len(tasks) > 0 {
					_, _ = c.StopTask(rapid.SampledFrom(tasks).Draw(t, "stop"), "", cluster.StopUserInitiated)
				}
			case 3:
				if len(ids) > 0 {
					_, _ = c.SetInstanceStatus(rapid.SampledFrom(ids).Draw(t, "drain"),
						rapid.SampledFrom([]cluster.InstanceStatus{cluster.InstanceActive, cluster.InstanceDraining}).Draw(t, "status"))
				}
			case 4:
				if len(ids) > 0 {
					id := rapid.SampledFrom(ids).Draw(t, "instance")
					switch rapid.IntRange(0, 2).Draw(t, "how") {
					case 0:
						_, _ = c.SetAgentConnected(id, rapid.Bool().Draw(t, "connected"))
					case 1:
						_ = c.ApplyAttributes([]cluster.AttributeOp{{InstanceID: id, Attribute: cluster.Attribute{Name: "rack", Value: rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "relabel")}}})
					case 2:
						_, _ = c.DeregisterInstance(id, true)
					}
				}
			case 5:
				register()
			case 6:
				clock.Advance(2 * time.Hour) // stopped tasks leave at the next change
			}
			req := rapid.SampledFrom(reqs).Draw(t, "ask")
			c.Read(func(v *cluster.View) {
				var p cluster.Pending
				for range rapid.IntRange(0, 2).Draw(t, "pending") {
					if in := v.InstanceAt(rapid.IntRange(0, max(v.NumSlots()-1, 0)).Draw(t, "pendingOn")); in != nil {
						p.Add(in, req.Spec)
					}
				}
				want := explain(v, req, &p)
				got := e.explainCensus(v, req, &p)
				require.Equal(t, want.Tally, got.Tally, "tally")
				require.Equal(t, want.Reason, got.Reason, "closest reason")
				require.Equal(t, id(want.Closest), id(got.Closest), "closest instance")

				var feasible []*cluster.Instance
				var tt target
				for in := range v.Instances() {
					if in.Status() != cluster.InstanceInactive && reason(in, req, &p, &tt) == cluster.ReasonNone {
						feasible = append(feasible, in)
					}
				}
				a := rapid.IntRange(0, 1000).Draw(t, "a")
				first, second, failure := e.Feasible(v, req, &p, func(n int) (int, int) {
					require.Equal(t, len(feasible), n, "feasible count")
					return a % n, (a + 1) % n
				})
				if len(feasible) == 0 {
					require.Nil(t, first)
					require.Equal(t, want.Tally, failure.Tally)
					require.Equal(t, id(want.Closest), id(failure.Closest))
					return
				}
				require.Equal(t, id(feasible[a%len(feasible)]), id(first))
				require.Equal(t, id(feasible[(a+1)%len(feasible)]), id(second))
			})
		}
	})
}

func id(in *cluster.Instance) string {
	if in == nil {
		return ""
	}
	return fmt.Sprint(in.Slot(), in.ID())
}
