package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// svcWorld is a cluster with an engine and a service registry.
type svcWorld struct {
	c        *cluster.Cluster
	clock    *cluster.ManualClock
	services *scheduler.Services
	ids      []string
	reads    int // the registry's Reads of the cluster
}

// countedState is the world's cluster as its service registry sees it,
// counting the registry's Reads.
type countedState struct{ w *svcWorld }

func (s countedState) Read(fn func(v *cluster.View)) { s.w.reads++; s.w.c.Read(fn) }
func (s countedState) Apply(p cluster.Proposal) (cluster.Applied, error) {
	return s.w.c.Apply(p)
}
func (s countedState) Subscribe(o cluster.Observer) { s.w.c.Subscribe(o) }

func newSvcWorld(t testingT, seed uint64) *svcWorld {
	t.Helper()
	w := &svcWorld{clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	w.c = cluster.New("svc", cluster.Options{Clock: w.clock, Rand: rand.New(rand.NewPCG(seed, 1))})
	engine := placement.NewEngine(seed)
	w.c.Subscribe(engine)
	w.services = scheduler.NewServices(countedState{w}, "svc", engine.Place, "arn:aws:ecs:us-east-1:123456789012:", w.clock, rand.New(rand.NewPCG(seed, 2)))
	return w
}

func (w *svcWorld) register(t testingT, n int, cpu, mem int64, az ...string) {
	t.Helper()
	for i := range n {
		spec := cluster.InstanceSpec{CPU: cpu, Memory: mem}
		if len(az) > 0 {
			spec.Attributes = []cluster.Attribute{{Name: "ecs.availability-zone", Value: az[i%len(az)]}}
		}
		info, err := w.c.RegisterInstance(spec)
		require.NoError(t, err)
		w.ids = append(w.ids, info.ID)
	}
}

func taskDef(t testingT, rev int, cpu, mem int64, ports ...uint16) scheduler.TaskDef {
	t.Helper()
	d, err := cluster.NewDemand(cpu, mem, ports, nil, 0)
	require.NoError(t, err)
	return scheduler.TaskDef{ARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/web:%d", rev), Family: "web", Demand: d}
}

func replica(td scheduler.TaskDef, desired, maxPct, minPct int) scheduler.ServiceConfig {
	return scheduler.ServiceConfig{TaskDef: td, DesiredCount: desired, MaximumPercent: maxPct, MinimumHealthyPercent: minPct}
}

// tick runs one reconcile step and describes it as "stop N" / "start N".
func (w *svcWorld) tick(t testingT) []string {
	t.Helper()
	w.clock.Advance(10 * time.Second)
	res, err := w.services.Reconcile()
	require.NoError(t, err)
	var out []string
	if len(res.Stopped) > 0 {
		out = append(out, fmt.Sprintf("stop %d", len(res.Stopped)))
	}
	if len(res.Started) > 0 {
		out = append(out, fmt.Sprintf("start %d", len(res.Started)))
	}
	return out
}

// agents reports every PENDING task RUNNING (ok) or failed to start.
func (w *svcWorld) agents(t testingT, ok bool) {
	t.Helper()
	var ids []string
	w.c.Read(func(v *cluster.View) {
		for tk := range v.Tasks() {
			if tk.LastStatus() == cluster.TaskPending {
				ids = append(ids, tk.ID())
			}
		}
	})
	for _, id := range ids {
		var err error
		if ok {
			_, err = w.c.TaskStarted(id)
		} else {
			_, err = w.c.TaskExited(id, "CannotPullContainerError")
		}
		require.NoError(t, err)
	}
}

// steady runs ticks with healthy agents until two in a row change nothing.
func (w *svcWorld) steady(t testingT) {
	t.Helper()
	quiet := 0
	for range 40 {
		ops := w.tick(t)
		w.agents(t, true)
		if quiet++; len(ops) > 0 {
			quiet = 0
		}
		if quiet == 2 {
			return
		}
	}
	t.Errorf("no steady state in 20 steps")
}

// rollout updates the service to td and records the operations of each
// step until the deployment completes.
func (w *svcWorld) rollout(t testingT, name string, td scheduler.TaskDef) []string {
	t.Helper()
	_, err := w.services.Update(name, scheduler.Update{TaskDef: &td})
	require.NoError(t, err)
	var seq []string
	for range 20 {
		seq = append(seq, w.tick(t)...)
		w.agents(t, true)
		s, _ := w.services.Get(name)
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == scheduler.RolloutCompleted {
			return seq
		}
	}
	t.Errorf("the deployment did not complete: %v", seq)
	return seq
}

// TestRollingUpdateSequences pins the ECS best-practices guide's rolling
// update sequences (docs/semantics.md §4.3).
func TestRollingUpdateSequences(t *testing.T) {
	tests := []struct {
		name      string
		instances int
		maxPct    int
		minPct    int
		want      []string
	}{
		{"6 tasks, room for 8, defaults", 8, 200, 100, []string{"start 2", "stop 2", "start 2", "stop 2", "start 2", "stop 2"}},
		{"6 tasks, room for 8, min 50%", 8, 200, 50, []string{"stop 3", "start 5", "stop 3", "start 1"}},
		{"6 tasks, extra free space, min 50%", 20, 200, 50, []string{"stop 3", "start 6", "stop 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSvcWorld(t, 1)
			w.register(t, tt.instances, 1024, 1024, "us-east-1a", "us-east-1b")
			_, err := w.services.Create("web", replica(taskDef(t, 1, 256, 256, 80), 6, tt.maxPct, tt.minPct))
			require.NoError(t, err)
			w.steady(t)
			assert.Equal(t, tt.want, w.rollout(t, "web", taskDef(t, 2, 256, 256, 80)))
		})
	}
}

func TestDrainingReplacesWithinBounds(t *testing.T) {
	tests := []struct {
		name           string
		maxPct, minPct int
		want           []string
	}{
		{"min 50%: stop 2, then start 2", 100, 50, []string{"stop 2", "start 2"}},
		{"max 200%: start 4 replacements first", 200, 100, []string{"start 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSvcWorld(t, 2)
			w.register(t, 1, 4096, 4096, "us-east-1a")
			_, err := w.services.Create("web", replica(taskDef(t, 1, 512, 512), 4, tt.maxPct, tt.minPct))
			require.NoError(t, err)
			w.steady(t)
			w.register(t, 2, 4096, 4096, "us-east-1b")
			_, err = w.c.SetInstanceStatus(w.ids[0], cluster.InstanceDraining)
			require.NoError(t, err)
			assert.Equal(t, tt.want, w.tick(t))
			w.steady(t)
			w.c.Read(func(v *cluster.View) {
				drained, _ := v.Instance(w.ids[0])
				assert.Zero(t, drained.TaskCount(), "the draining instance is drained")
			})
			s, _ := w.services.Get("web")
			assert.Equal(t, 4, s.RunningCount)
		})
	}
}

func TestDeploymentStuck(t *testing.T) {
	w := newSvcWorld(t, 3)
	w.register(t, 4, 1024, 1024, "us-east-1a")
	_, err := w.services.Create("web", replica(taskDef(t, 1, 256, 256), 2, 100, 100))
	require.NoError(t, err)
	w.steady(t)
	_, err = w.services.Update("web", scheduler.Update{TaskDef: new(taskDef(t, 2, 256, 256))})
	require.NoError(t, err)
	assert.Empty(t, w.tick(t), "both 100%: neither a stop nor a start is allowed")
	s, _ := w.services.Get("web")
	assert.Equal(t, "(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.", s.Events[0].Message)
}

func TestScaleInKeepsAZBalance(t *testing.T) {
	w := newSvcWorld(t, 4)
	w.register(t, 4, 4096, 4096, "us-east-1a", "us-east-1b")
	_, err := w.services.Create("web", replica(taskDef(t, 1, 256, 256), 8, 200, 100))
	require.NoError(t, err)
	w.steady(t)
	_, err = w.services.Update("web", scheduler.Update{DesiredCount: new(2)})
	require.NoError(t, err)
	assert.Equal(t, []string{"stop 6"}, w.tick(t))
	perAZ := map[string]int{}
	w.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			az, _ := in.Attribute("ecs.availability-zone")
			perAZ[az] += in.GroupCount("service:web")
		}
	})
	assert.Equal(t, map[string]int{"us-east-1a": 1, "us-east-1b": 1}, perAZ)
	s, _ := w.services.Get("web")
	assert.Len(t, s.Deployments, 1, "a desired count change starts no deployment")
}

func TestDaemon(t *testing.T) {
	w := newSvcWorld(t, 5)
	w.register(t, 3, 2048, 2048, "us-east-1a")
	cfg := scheduler.ServiceConfig{TaskDef: taskDef(t, 1, 128, 128), Daemon: true, MaximumPercent: 100,
		Constraints: placement.Constraints{placement.MustParseConstraint("memberOf", "not(attribute:role == batch)")}}
	_, err := w.services.Create("agent", cfg)
	require.NoError(t, err)
	_, err = w.services.Create("web", replica(taskDef(t, 1, 1900, 1900), 3, 200, 100))
	require.NoError(t, err)
	w.steady(t)
	perInstance := func() []int {
		var out []int
		w.c.Read(func(v *cluster.View) {
			for in := range v.Instances() {
				out = append(out, in.GroupCount("service:agent"))
			}
		})
		return out
	}
	assert.Equal(t, []int{1, 1, 1}, perInstance(), "one daemon task per instance, placed before the replica tasks that fill them")

	w.register(t, 1, 2048, 2048, "us-east-1a")
	w.steady(t)
	assert.Equal(t, []int{1, 1, 1, 1}, perInstance(), "a new instance gets the daemon")

	_, err = w.c.SetInstanceStatus(w.ids[1], cluster.InstanceDraining)
	require.NoError(t, err)
	require.NoError(t, w.c.ApplyAttributes([]cluster.AttributeOp{{InstanceID: w.ids[2], Attribute: cluster.Attribute{Name: "role", Value: "batch"}}}))
	w.steady(t)
	assert.Equal(t, []int{1, 0, 0, 1}, perInstance(), "stopped on a draining instance and where the constraint no longer holds")
	s, _ := w.services.Get("agent")
	assert.Equal(t, 2, s.Config.DesiredCount)
}

func TestThrottleAndCircuitBreaker(t *testing.T) {
	w := newSvcWorld(t, 6)
	w.register(t, 2, 4096, 4096, "us-east-1a")
	cfg := replica(taskDef(t, 1, 256, 256), 1, 200, 100)
	cfg.CircuitBreaker = scheduler.CircuitBreaker{Enable: true, Rollback: true}
	_, err := w.services.Create("web", cfg)
	require.NoError(t, err)
	w.steady(t)
	good, _ := w.services.Get("web")
	goodDeployment := good.Deployments[0].ID

	_, err = w.services.Update("web", scheduler.Update{TaskDef: new(taskDef(t, 2, 256, 256))})
	require.NoError(t, err)
	var throttledAt int
	for i := range 60 {
		w.tick(t)
		w.agents(t, false) // every new task fails to start
		w.clock.Advance(16 * time.Minute)
		s, _ := w.services.Get("web")
		if throttledAt == 0 && strings.Contains(s.Events[0].Message, "unable to consistently start tasks") {
			throttledAt = i
		}
		if len(s.Deployments) > 0 && s.Deployments[0].TaskDef.ARN == good.Config.TaskDef.ARN {
			break
		}
	}
	assert.NotZero(t, throttledAt, "repeated start failures throttle the service")
	s, _ := w.services.Get("web")
	require.GreaterOrEqual(t, len(s.Deployments), 2)
	assert.Equal(t, good.Config.TaskDef.ARN, s.Deployments[0].TaskDef.ARN, "rolled back to the last completed deployment's task definition")
	var messages []string
	for _, e := range s.Events {
		messages = append(messages, e.Message)
	}
	all := strings.Join(messages, "\n")
	assert.Contains(t, all, "deployment failed: tasks failed to start.", "the failing deployment tripped the breaker")
	assert.Contains(t, all, "rolling back to deployment "+goodDeployment)
	failures := strings.Count(all, "has started 1 tasks")
	assert.Equal(t, 1+10+1, failures, "the good task, threshold clamp(ceil(0.5 × 1), 10, 200) = 10 failed starts, then the rollback's task")
	assert.NotEqual(t, goodDeployment, s.Deployments[0].ID, "the rollback is a new deployment")
	w.steady(t)
	s, _ = w.services.Get("web")
	assert.Equal(t, 1, s.RunningCount)
}

func TestDeleteService(t *testing.T) {
	w := newSvcWorld(t, 7)
	w.register(t, 2, 4096, 4096, "us-east-1a")
	_, err := w.services.Create("web", replica(taskDef(t, 1, 256, 256), 3, 200, 100))
	require.NoError(t, err)
	w.steady(t)
	_, err = w.services.Delete("web", false)
	require.ErrorIs(t, err, scheduler.ErrServiceScaled)
	s, err := w.services.Delete("web", true)
	require.NoError(t, err)
	assert.Equal(t, scheduler.ServiceDraining, s.Status)
	_, err = w.services.Create("web", replica(taskDef(t, 1, 256, 256), 1, 200, 100))
	require.ErrorIs(t, err, scheduler.ErrServiceExists, "a DRAINING service's name is still taken")
	w.steady(t)
	s, _ = w.services.Get("web")
	assert.Equal(t, scheduler.ServiceInactive, s.Status)
	_, err = w.services.Create("web", replica(taskDef(t, 1, 256, 256), 1, 200, 100))
	require.NoError(t, err, "an INACTIVE service's name can be used again")
}

// TestRollbackAfterOldTasksAreGone: with minimumHealthyPercent 0 the old
// deployment's tasks are all stopped before the new ones fail; the breaker
// still rolls back to the last completed deployment.
func TestRollbackAfterOldTasksAreGone(t *testing.T) {
	w := newSvcWorld(t, 8)
	w.register(t, 2, 4096, 4096, "us-east-1a")
	cfg := replica(taskDef(t, 1, 256, 256), 1, 200, 0)
	cfg.CircuitBreaker = scheduler.CircuitBreaker{Enable: true, Rollback: true}
	_, err := w.services.Create("web", cfg)
	require.NoError(t, err)
	w.steady(t)
	_, err = w.services.Update("web", scheduler.Update{TaskDef: new(taskDef(t, 2, 256, 256))})
	require.NoError(t, err)
	for range 60 {
		w.tick(t)
		w.agents(t, false)
		w.clock.Advance(16 * time.Minute)
		if s, _ := w.services.Get("web"); s.Deployments[0].TaskDef.ARN == taskDef(t, 1, 256, 256).ARN {
			break
		}
	}
	s, _ := w.services.Get("web")
	assert.Equal(t, taskDef(t, 1, 256, 256).ARN, s.Deployments[0].TaskDef.ARN, "rolled back to web:1")
	w.steady(t)
	s, _ = w.services.Get("web")
	assert.Equal(t, 1, s.RunningCount)
}

// TestDaemonKeepsOldTaskWhenNewDoesNotFit: a daemon's new revision that
// does not fit where the old one runs leaves the old task running.
func TestDaemonKeepsOldTaskWhenNewDoesNotFit(t *testing.T) {
	w := newSvcWorld(t, 9)
	w.register(t, 1, 2048, 2048, "us-east-1a")
	_, err := w.services.Create("agent", scheduler.ServiceConfig{TaskDef: taskDef(t, 1, 128, 128), Daemon: true, MaximumPercent: 100})
	require.NoError(t, err)
	_, err = w.services.Create("web", replica(taskDef(t, 1, 1024, 1024), 1, 200, 100))
	require.NoError(t, err)
	w.steady(t)
	_, err = w.services.Update("agent", scheduler.Update{TaskDef: new(taskDef(t, 2, 1500, 1500))})
	require.NoError(t, err)
	w.tick(t)
	s, _ := w.services.Get("agent")
	assert.Equal(t, 1, s.RunningCount, "the old daemon task keeps running")
	assert.Contains(t, s.Events[0].Message, "has insufficient CPU units available.")
}
