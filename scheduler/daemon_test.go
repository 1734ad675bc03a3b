package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
	scheduler.DisableQuietSteps(w.services[1]) // the full pass, every step
	return w
}

// both runs f on each world and requires the same outcome of both.
func both[T any](t require.TestingT, w *twinWorld, what string, f func(i int) T) T {
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
		names := []string{"agent", "logs", "web"}
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
				if name == "web" { // a REPLICA service beside the daemons, placed at random
					cfg = replica(cfg.TaskDef, rapid.IntRange(0, 6).Draw(t, "desired"), 200, 50)
					cfg.Strategies = []placement.Strategy{placement.MustParseStrategy("random", "")}
				}
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

// lateRegistration is a cluster where another writer registers an
// instance just before the at-th Read, as a concurrent
// RegisterContainerInstance would between a step's refresh and its
// decision.
type lateRegistration struct {
	*cluster.Cluster
	reads, at int
}

func (s *lateRegistration) Read(fn func(v *cluster.View)) {
	if s.reads++; s.reads == s.at {
		if _, err := s.Cluster.RegisterInstance(cluster.InstanceSpec{CPU: 1024, Memory: 1024}); err != nil {
			panic(err)
		}
	}
	s.Cluster.Read(fn)
}

// TestDaemonInstanceRegisteredDuringStep: an instance that joins between
// the step's refresh and its decision is decided (it was out of the
// index's range and made the step panic).
func TestDaemonInstanceRegisteredDuringStep(t *testing.T) {
	for at := 1; at <= 4; at++ {
		t.Run(fmt.Sprintf("before read %d", at), func(t *testing.T) {
			clock := cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			c := cluster.New("late", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(1, 1))})
			engine := placement.NewEngine(1)
			c.Subscribe(engine)
			_, err := c.RegisterInstance(cluster.InstanceSpec{CPU: 1024, Memory: 1024})
			require.NoError(t, err)
			st := &lateRegistration{Cluster: c, at: at}
			ss := scheduler.NewServices(st, "late", engine.Place, "arn:aws:ecs:us-east-1:123456789012:", clock, rand.New(rand.NewPCG(1, 2)))
			_, err = ss.Create("agent", scheduler.ServiceConfig{TaskDef: taskDef(t, 1, 128, 128), Daemon: true, MaximumPercent: 100})
			require.NoError(t, err)
			started := 0
			for range 3 {
				res, err := ss.Reconcile()
				require.NoError(t, err)
				started += len(res.Started)
			}
			assert.Equal(t, 2, started, "one daemon task on each instance, the late one included")
		})
	}
}

// TestDaemonRollbackDecidesEveryInstance: when the circuit breaker rolls a
// DAEMON service back in a step, that step decides every instance under
// the new PRIMARY, as the full pass does.
func TestDaemonRollbackDecidesEveryInstance(t *testing.T) {
	w := newTwinWorld(7)
	for range 12 {
		for i := range 2 {
			_, err := w.cs[i].RegisterInstance(cluster.InstanceSpec{CPU: 4096, Memory: 4096})
			require.NoError(t, err)
		}
	}
	scheduler.DisableQuietSteps(w.services[1])
	step := func(what string) {
		both(t, w, what, func(i int) [2]int {
			w.clocks[i].Advance(10 * time.Second)
			res, err := w.services[i].Reconcile()
			require.NoError(t, err)
			return [2]int{len(res.Started), len(res.Stopped)}
		})
	}
	agents := func(fail int) {
		for i := range 2 {
			var ids []string
			w.cs[i].Read(func(v *cluster.View) {
				for tk := range v.Tasks() {
					if tk.LastStatus() == cluster.TaskPending {
						ids = append(ids, tk.ID())
					}
				}
			})
			for k, id := range ids {
				var err error
				switch {
				case fail < 0:
					_, err = w.cs[i].TaskStarted(id)
				case k < fail:
					_, err = w.cs[i].TaskExited(id, "CannotPullContainerError")
				}
				require.NoError(t, err)
			}
		}
	}
	for i := range 2 {
		_, err := w.services[i].Create("agent", scheduler.ServiceConfig{TaskDef: taskDef(t, 1, 256, 256), Daemon: true, MaximumPercent: 100,
			CircuitBreaker: scheduler.CircuitBreaker{Enable: true, Rollback: true}})
		require.NoError(t, err)
	}
	step("create")
	agents(-1)
	step("steady")
	for i := range 2 {
		_, err := w.services[i].Update("agent", scheduler.Update{TaskDef: new(taskDef(t, 2, 256, 256))})
		require.NoError(t, err)
	}
	step("update")
	step("settle")
	agents(10) // 10 of 12 fail to start: the breaker trips and rolls back
	step("rollback")
	step("after")
	s, _ := w.services[0].Get("agent")
	rolledBack := false
	for _, e := range s.Events {
		rolledBack = rolledBack || strings.Contains(e.Message, "rolling back")
	}
	assert.True(t, rolledBack, "the breaker rolled the deployment back")
}
