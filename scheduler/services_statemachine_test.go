package scheduler_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// svcMachine drives random service operations, deployments, draining,
// crashes, instance loss and agent disconnects, and checks the service
// scheduler's bounds after every reconcile step.
type svcMachine struct {
	w     *svcWorld
	names []string
	revs  int
}

func (m *svcMachine) init(t *rapid.T) {
	m.w = newSvcWorld(t, rapid.Uint64().Draw(t, "seed"))
	m.w.register(t, rapid.IntRange(1, 6).Draw(t, "instances"), 4096, 8192, "us-east-1a", "us-east-1b", "us-east-1c")
	for range rapid.IntRange(0, 4).Draw(t, "providerInstances") {
		m.registerOn(t, rapid.SampledFrom(svcProviders).Draw(t, "provider"), rapid.SampledFrom([]string{"us-east-1a", "us-east-1b", "us-east-1c"}).Draw(t, "az"))
	}
	m.revs = 1
}

// svcProviders are the capacity providers some instances belong to.
var svcProviders = []string{"od", "spot"}

// registerOn registers an instance of a capacity provider in az.
func (m *svcMachine) registerOn(t *rapid.T, provider, az string) {
	info, err := m.w.c.RegisterInstance(cluster.InstanceSpec{CPU: 4096, Memory: 8192, CapacityProvider: provider,
		Attributes: []cluster.Attribute{{Name: "ecs.availability-zone", Value: az}}})
	require.NoError(t, err)
	m.w.ids = append(m.w.ids, info.ID)
}

// strategy draws a capacity provider strategy: none half the time.
func (m *svcMachine) strategy(t *rapid.T) []scheduler.StrategyItem {
	if rapid.Bool().Draw(t, "launchType") {
		return nil
	}
	return []scheduler.StrategyItem{
		{Provider: "od", Base: rapid.IntRange(0, 2).Draw(t, "base"), Weight: rapid.IntRange(0, 2).Draw(t, "odWeight")},
		{Provider: "spot", Weight: rapid.IntRange(1, 3).Draw(t, "spotWeight")},
	}
}

func (m *svcMachine) td(t *rapid.T) scheduler.TaskDef {
	return taskDef(t, rapid.IntRange(1, m.revs).Draw(t, "rev"), 256, 512)
}

// counts returns, for the named service, its tasks: total (PENDING or
// RUNNING) and healthy (RUNNING).
func (m *svcMachine) counts(name string) (total, healthy int) {
	m.w.c.Read(func(v *cluster.View) {
		for tk := range v.Tasks() {
			if tk.Group() != "service:"+name || tk.LastStatus() == cluster.TaskStopped {
				continue
			}
			total++
			if tk.LastStatus() == cluster.TaskRunning {
				healthy++
			}
		}
	})
	return total, healthy
}

func (m *svcMachine) CreateService(t *rapid.T) {
	name := fmt.Sprintf("svc%d", rapid.IntRange(0, 3).Draw(t, "name"))
	cfg := replica(m.td(t), rapid.IntRange(0, 6).Draw(t, "desired"),
		rapid.SampledFrom([]int{100, 150, 200}).Draw(t, "max"), rapid.SampledFrom([]int{0, 50, 100}).Draw(t, "min"))
	if rapid.Bool().Draw(t, "binpack") {
		cfg.Strategies = []placement.Strategy{placement.MustParseStrategy("binpack", "memory")}
	} else {
		cfg.AvailabilityZoneRebalancing = rapid.Bool().Draw(t, "azRebalancing")
	}
	cfg.CapacityProviders = m.strategy(t)
	if _, err := m.w.services.Create(name, cfg); err == nil && !slices.Contains(m.names, name) {
		m.names = append(m.names, name)
	}
}

func (m *svcMachine) CreateDaemon(t *rapid.T) {
	_, _ = m.w.services.Create("daemon", scheduler.ServiceConfig{TaskDef: m.td(t), Daemon: true, MaximumPercent: 100,
		Constraints: placement.Constraints{placement.MustParseConstraint("memberOf", "not(attribute:ecs.availability-zone == us-east-1c)")}})
}

func (m *svcMachine) UpdateService(t *rapid.T) {
	if len(m.names) == 0 {
		return // nothing to act on yet
	}
	var u scheduler.Update
	switch rapid.IntRange(0, 3).Draw(t, "what") {
	case 0:
		u.DesiredCount = new(rapid.IntRange(0, 6).Draw(t, "desired"))
	case 1:
		m.revs++
		u.TaskDef = new(taskDef(t, m.revs, 256, 512))
	case 2:
		u.CapacityProviders = new(m.strategy(t))
		u.ForceNewDeployment = rapid.Bool().Draw(t, "force")
	default:
		u.ForceNewDeployment = true
	}
	_, _ = m.w.services.Update(rapid.SampledFrom(m.names).Draw(t, "service"), u)
}

func (m *svcMachine) DeleteService(t *rapid.T) {
	if len(m.names) == 0 {
		return // nothing to act on yet
	}
	_, _ = m.w.services.Delete(rapid.SampledFrom(m.names).Draw(t, "service"), true)
}

func (m *svcMachine) Reconcile(t *rapid.T) {
	type bound struct{ maxTotal, minHealthy, total, healthy int }
	before := map[string]bound{}
	for _, name := range m.names {
		s, _ := m.w.services.Get(name)
		d := s.Config.DesiredCount
		if s.Status != scheduler.ServiceActive {
			d = 0
		}
		total, healthy := m.counts(name)
		before[name] = bound{d * s.Config.MaximumPercent / 100, (d*s.Config.MinimumHealthyPercent + 99) / 100, total, healthy}
	}
	m.w.clock.Advance(10 * time.Second)
	res, err := m.w.services.Reconcile()
	require.NoError(t, err)
	for _, name := range m.names {
		b := before[name]
		total, healthy := m.counts(name)
		started, stoppedRunning := 0, 0
		for _, tk := range res.Started {
			if tk.Group == "service:"+name {
				started++
			}
		}
		for _, tk := range res.Stopped {
			if tk.Group == "service:"+name && tk.StartedAt != (time.Time{}) {
				stoppedRunning++
			}
		}
		if started > 0 {
			require.LessOrEqual(t, total, b.maxTotal, "%s: a step that starts tasks stays within maximumPercent", name)
		}
		if stoppedRunning > 0 {
			require.GreaterOrEqual(t, healthy, min(b.minHealthy, b.healthy), "%s: the scheduler's stops keep minimumHealthyPercent", name)
		}
	}
	m.checkDaemon(t, false)
}

// checkDaemon: no daemon task where it does not qualify, at most one (or,
// with exact, exactly one) where it does.
func (m *svcMachine) checkDaemon(t *rapid.T, exact bool) {
	s, ok := m.w.services.Get("daemon")
	if !ok || s.Status != scheduler.ServiceActive {
		return
	}
	m.w.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			az, _ := in.Attribute("ecs.availability-zone")
			qualifies := in.Status() == cluster.InstanceActive && az != "us-east-1c"
			n := in.GroupCount("service:daemon")
			switch {
			case !qualifies:
				require.Zero(t, n, "no daemon task on %s (status %s, az %s)", in.ID(), in.Status(), az)
			case exact:
				require.Equal(t, 1, n, "exactly one daemon task on %s", in.ID())
			default:
				require.LessOrEqual(t, n, 1, "at most one daemon task on %s", in.ID())
			}
		}
	})
}

func (m *svcMachine) AgentsStartTasks(t *rapid.T) { m.w.agents(t, true) }

func (m *svcMachine) CrashTask(t *rapid.T) {
	var ids []string
	m.w.c.Read(func(v *cluster.View) {
		for tk := range v.Tasks() {
			if tk.LastStatus() != cluster.TaskStopped {
				ids = append(ids, tk.ID())
			}
		}
	})
	if len(ids) == 0 {
		return // nothing to act on yet
	}
	slices.Sort(ids)
	_, err := m.w.c.TaskExited(rapid.SampledFrom(ids).Draw(t, "task"), "")
	require.NoError(t, err)
}

func (m *svcMachine) instance(t *rapid.T) string {
	return rapid.SampledFrom(m.w.ids).Draw(t, "instance")
}

func (m *svcMachine) DrainInstance(t *rapid.T) {
	_, _ = m.w.c.SetInstanceStatus(m.instance(t), rapid.SampledFrom([]cluster.InstanceStatus{cluster.InstanceActive, cluster.InstanceDraining}).Draw(t, "status"))
}

func (m *svcMachine) LoseInstance(t *rapid.T) { _, _ = m.w.c.InstanceLost(m.instance(t)) }

func (m *svcMachine) DisconnectAgent(t *rapid.T) {
	_, _ = m.w.c.SetAgentConnected(m.instance(t), rapid.Bool().Draw(t, "connected"))
}

func (m *svcMachine) RegisterInstance(t *rapid.T) {
	m.w.register(t, 1, 4096, 8192, rapid.SampledFrom([]string{"us-east-1a", "us-east-1b", "us-east-1c"}).Draw(t, "az"))
}

func (m *svcMachine) Check(t *rapid.T) {
	m.w.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			require.GreaterOrEqual(t, in.RemainingCPU(), int64(0), "no instance is overcommitted")
			require.GreaterOrEqual(t, in.RemainingMemory(), int64(0), "no instance is overcommitted")
		}
		for tk := range v.Tasks() {
			if p := tk.Demand().CapacityProvider(); p != "" && tk.Instance() != nil {
				require.Equal(t, p, tk.Instance().CapacityProvider(), "task %s runs on its capacity provider's instance", tk.ID())
			}
		}
	})
}

// quiesce restores capacity and healthy agents, then expects every ACTIVE
// service at its desired count within a bounded number of steps, staying
// there.
func (m *svcMachine) quiesce(t *rapid.T) {
	for _, id := range m.w.ids {
		_, _ = m.w.c.SetInstanceStatus(id, cluster.InstanceActive)
		_, _ = m.w.c.SetAgentConnected(id, true)
	}
	m.w.register(t, 8, 4096, 8192, "us-east-1a", "us-east-1b")
	for i := range 4 {
		for _, p := range svcProviders {
			m.registerOn(t, p, []string{"us-east-1a", "us-east-1b"}[i%2])
		}
	}
	converged := func() bool {
		for _, name := range m.names {
			s, _ := m.w.services.Get(name)
			total, healthy := m.counts(name)
			want := s.Config.DesiredCount
			if s.Status != scheduler.ServiceActive {
				want = 0
			}
			// A configuration whose bounds allow neither a stop nor a
			// start (100/100, or 150/50 at one task) cannot roll a
			// deployment by design (TestDeploymentStuck): it converges
			// on the count, not on one deployment.
			d := s.Config.DesiredCount
			stuck := d*s.Config.MaximumPercent/100 <= d && (d*s.Config.MinimumHealthyPercent+99)/100 >= d
			if total != want || healthy != want || (s.Status == scheduler.ServiceActive && !stuck && len(s.Deployments) != 1) {
				return false
			}
			if s.Status == scheduler.ServiceActive && s.Config.AvailabilityZoneRebalancing && d*s.Config.MaximumPercent/100 > d && !m.balanced(s) {
				return false // a rebalancing move is due
			}
		}
		return m.daemonComplete()
	}
	for range 30 {
		m.w.clock.Advance(16 * time.Minute) // past any start throttle
		_, err := m.w.services.Reconcile()
		require.NoError(t, err)
		m.w.agents(t, true)
		if converged() {
			for range 3 {
				m.w.clock.Advance(16 * time.Minute)
				_, err := m.w.services.Reconcile()
				require.NoError(t, err)
				require.True(t, converged(), "a converged service stays at its desired count")
			}
			m.checkDaemon(t, true)
			return
		}
	}
	for _, name := range m.names {
		s, _ := m.w.services.Get(name)
		total, healthy := m.counts(name)
		t.Logf("%s: status %s desired %d total %d healthy %d deployments %d events %v", name, s.Status, s.Config.DesiredCount, total, healthy, len(s.Deployments), s.Events[:min(3, len(s.Events))])
	}
	t.Fatalf("the services did not reach their desired counts in 30 steps")
}

// balanced reports whether the service's RUNNING tasks differ by at most
// one between the zones of the ACTIVE instances it may use.
func (m *svcMachine) balanced(s scheduler.Service) bool {
	perZone := map[string]int{}
	m.w.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			ok := in.Status() == cluster.InstanceActive
			if len(s.Config.CapacityProviders) > 0 {
				ok = ok && slices.ContainsFunc(s.Config.CapacityProviders, func(it scheduler.StrategyItem) bool {
					return it.Provider == in.CapacityProvider() && (it.Weight > 0 || it.Base > 0)
				})
			}
			if az, has := in.Attribute("ecs.availability-zone"); ok && has {
				perZone[az] += 0
			}
		}
		for tk := range v.Tasks() {
			if tk.Group() == "service:"+s.Name && tk.LastStatus() == cluster.TaskRunning {
				az, _ := tk.Instance().Attribute("ecs.availability-zone")
				if _, ok := perZone[az]; ok {
					perZone[az]++
				}
			}
		}
	})
	lo, hi := -1, -1
	for _, n := range perZone {
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	return len(perZone) < 2 || hi-lo <= 1
}

// daemonComplete reports whether every qualifying instance has its daemon
// task.
func (m *svcMachine) daemonComplete() bool {
	s, ok := m.w.services.Get("daemon")
	if !ok || s.Status != scheduler.ServiceActive {
		return true
	}
	complete := true
	m.w.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			az, _ := in.Attribute("ecs.availability-zone")
			if in.Status() == cluster.InstanceActive && az != "us-east-1c" && in.GroupCount("service:daemon") != 1 {
				complete = false
			}
		}
	})
	return complete
}

func TestServiceStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &svcMachine{}
		m.init(t)
		t.Repeat(rapid.StateMachineActions(m))
		m.quiesce(t)
	})
}
