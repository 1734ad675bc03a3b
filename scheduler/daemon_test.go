package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// plainState is a cluster without its change feed: the service registry
// over it makes the full pass every step.
type plainState struct{ c *cluster.Cluster }

func (p plainState) Read(fn func(v *cluster.View)) { p.c.Read(fn) }
func (p plainState) Apply(pr cluster.Proposal) (cluster.Applied, error) {
	return p.c.Apply(pr)
}

// twinWorld is two identical clusters with service registries: one follows
// the change feed (DAEMON services keep an index), one makes full passes.
type twinWorld struct {
	clocks   [2]*cluster.ManualClock
	cs       [2]*cluster.Cluster
	services [2]*scheduler.Services
	ids      []string
}

func newTwinWorld(seed uint64) *twinWorld {
	w := &twinWorld{}
	for i := range 2 {
		w.clocks[i] = cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		w.cs[i] = cluster.New("twin", cluster.Options{Clock: w.clocks[i], Rand: rand.New(rand.NewPCG(seed, 1))})
		engine := placement.NewEngine(seed)
		w.cs[i].Subscribe(engine)
		var st scheduler.State = w.cs[i]
		if i == 1 {
			st = plainState{w.cs[i]}
		}
		w.services[i] = scheduler.NewServices(st, "twin", engine.Place, "arn:aws:ecs:us-east-1:123456789012:", w.clocks[i], rand.New(rand.NewPCG(seed, 2)))
	}
	return w
}

// both runs f on each world and requires the same outcome of both.
func both[T any](t *rapid.T, w *twinWorld, what string, f func(i int) T) T {
	a, b := f(0), f(1)
	require.Equal(t, b, a, "%s: the indexed world and the full pass differ", what)
	return a
}

// TestDaemonIndexMatchesFullPass: with the change feed, DAEMON services
// decide from their index what the full pass decides — the same tasks
// started and stopped, the same failures, desired and running counts,
// deployments and events — through registrations, drains, disconnects,
// relabels, instance loss, crashes, failed starts, updates, rollbacks,
// deletions and the log restarting.
func TestDaemonIndexMatchesFullPass(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		defer scheduler.SetMaxFeedLog(rapid.SampledFrom([]int{2, 5, 1 << 16}).Draw(t, "maxFeedLog"))()
		w := newTwinWorld(rapid.Uint64().Draw(t, "seed"))
		register := func() {
			cpu := rapid.SampledFrom([]int64{256, 1024, 4096}).Draw(t, "cpu")
			rack := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "rack")
			id := both(t, w, "register", func(i int) string {
				info, err := w.cs[i].RegisterInstance(cluster.InstanceSpec{CPU: cpu, Memory: 4096, Attributes: []cluster.Attribute{{Name: "rack", Value: rack}}})
				require.NoError(t, err)
				return info.ID
			})
			w.ids = append(w.ids, id)
		}
		for range rapid.IntRange(1, 8).Draw(t, "instances") {
			register()
		}
		revs := []scheduler.TaskDef{taskDef(t, 1, 256, 256), taskDef(t, 2, 512, 256), taskDef(t, 3, 2048, 256)}
		names := []string{"agent", "logs"}
		for range rapid.IntRange(1, 40).Draw(t, "steps") {
			switch rapid.IntRange(0, 11).Draw(t, "action") {
			case 0, 1, 2:
				both(t, w, "reconcile", func(i int) scheduler.ReconcileResult {
					w.clocks[i].Advance(10 * time.Second)
					res, err := w.services[i].Reconcile()
					require.NoError(t, err)
					return res
				})
			case 3:
				name := rapid.SampledFrom(names).Draw(t, "create")
				cfg := scheduler.ServiceConfig{TaskDef: rapid.SampledFrom(revs).Draw(t, "rev"), Daemon: true, MaximumPercent: 100}
				if rapid.Bool().Draw(t, "constrained") {
					cfg.Constraints = placement.Constraints{placement.MustParseConstraint("memberOf", "attribute:rack == r1")}
				}
				cfg.CircuitBreaker = scheduler.CircuitBreaker{Enable: rapid.Bool().Draw(t, "breaker"), Rollback: true}
				both(t, w, "create", func(i int) string {
					_, err := w.services[i].Create(name, cfg)
					return fmt.Sprint(err)
				})
			case 4:
				name := rapid.SampledFrom(names).Draw(t, "update")
				u := scheduler.Update{TaskDef: new(rapid.SampledFrom(revs).Draw(t, "rev"))}
				if rapid.Bool().Draw(t, "reconstrain") {
					u.Constraints = &placement.Constraints{}
				}
				both(t, w, "update", func(i int) string {
					_, err := w.services[i].Update(name, u)
					return fmt.Sprint(err)
				})
			case 5:
				name := rapid.SampledFrom(names).Draw(t, "delete")
				both(t, w, "delete", func(i int) string {
					_, err := w.services[i].Delete(name, true)
					return fmt.Sprint(err)
				})
			case 6:
				ok := rapid.IntRange(0, 3).Draw(t, "agentsFail") > 0
				both(t, w, "agents", func(i int) []string {
					var ids []string
					w.cs[i].Read(func(v *cluster.View) {
						for tk := range v.Tasks() {
							if tk.LastStatus() == cluster.TaskPending {
								ids = append(ids, tk.ID())
							}
						}
					})
					for _, id := range ids {
						var err error
						if ok {
							_, err = w.cs[i].TaskStarted(id)
						} else {
							_, err = w.cs[i].TaskExited(id, "CannotPullContainerError")
						}
						require.NoError(t, err)
					}
					return ids
				})
			case 7:
				register()
			case 8:
				id := rapid.SampledFrom(w.ids).Draw(t, "instance")
				how := rapid.IntRange(0, 4).Draw(t, "how")
				value := rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "value")
				both(t, w, "instance change", func(i int) string {
					var err error
					switch how {
					case 0:
						_, err = w.cs[i].SetInstanceStatus(id, cluster.InstanceDraining)
					case 1:
						_, err = w.cs[i].SetInstanceStatus(id, cluster.InstanceActive)
					case 2:
						_, err = w.cs[i].SetAgentConnected(id, value == "r1")
					case 3:
						err = w.cs[i].ApplyAttributes([]cluster.AttributeOp{{InstanceID: id, Attribute: cluster.Attribute{Name: "rack", Value: value}}})
					case 4:
						_, err = w.cs[i].InstanceLost(id)
					}
					return fmt.Sprint(err)
				})
			case 9:
				k := rapid.IntRange(0, 1000).Draw(t, "crash")
				both(t, w, "crash", func(i int) string {
					var ids []string
					w.cs[i].Read(func(v *cluster.View) {
						for tk := range v.Tasks() {
							if tk.LastStatus() != cluster.TaskStopped {
								ids = append(ids, tk.ID())
							}
						}
					})
					if len(ids) == 0 {
						return ""
					}
					_, err := w.cs[i].TaskExited(ids[k%len(ids)], "")
					return fmt.Sprint(err)
				})
			case 10:
				d := time.Duration(rapid.IntRange(1, 90).Draw(t, "minutes")) * time.Minute
				for i := range 2 {
					w.clocks[i].Advance(d)
				}
			case 11:
				// A standalone task in a service's group is not the
				// service's.
				id := rapid.SampledFrom(w.ids).Draw(t, "on")
				both(t, w, "standalone", func(i int) string {
					_, err := w.cs[i].Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: id, Spec: &cluster.TaskSpec{Demand: revs[0].Demand, Group: "service:agent", StartedBy: "me"}}}})
					return fmt.Sprint(err)
				})
			}
			for _, name := range names {
				both(t, w, "service "+name, func(i int) scheduler.Service {
					s, _ := w.services[i].Get(name)
					return s
				})
			}
		}
	})
}
