package cluster_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
)

func newCluster(t *testing.T) (*cluster.Cluster, *cluster.ManualClock) {
	t.Helper()
	clock := cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return cluster.New("test", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}), clock
}

func mustDemand(t *testing.T, cpu, mem int64, ports, udp []uint16, gpus int, attrs ...string) *cluster.Demand {
	t.Helper()
	d, err := cluster.NewDemand(cpu, mem, ports, udp, gpus, attrs...)
	require.NoError(t, err)
	return d
}

func register(t *testing.T, c *cluster.Cluster, spec cluster.InstanceSpec) cluster.InstanceInfo {
	t.Helper()
	info, err := c.RegisterInstance(spec)
	require.NoError(t, err)
	return info
}

func TestPortSet(t *testing.T) {
	s := cluster.NewPortSet(80, 22, 80, 443)
	assert.Equal(t, []uint16{22, 80, 443}, s.Slice())
	assert.Equal(t, []string{"22", "80", "443"}, s.Strings())
	assert.True(t, s.Contains(80))
	assert.False(t, s.Contains(81))
	assert.True(t, s.Intersects(cluster.NewPortSet(443)))
	assert.False(t, s.Intersects(cluster.NewPortSet(1, 2, 3, 4, 5, 6)))
	assert.True(t, s.Intersects(cluster.NewPortSet(1, 2, 3, 4, 5, 22)))
	assert.False(t, s.Intersects(cluster.PortSet{}))
	assert.Equal(t, []uint16{22, 80, 443, 8080}, s.Union(cluster.NewPortSet(8080, 80)).Slice())
	assert.Equal(t, []uint16{22, 443}, s.Minus(cluster.NewPortSet(80)).Slice())
	assert.Equal(t, []uint16{22, 80, 443}, s.Slice(), "operations leave the set unchanged")
}

// TestFitsOrder pins the documented check order: the first failing check
// is the one reported.
func TestFitsOrder(t *testing.T) {
	c, _ := newCluster(t)
	base := cluster.InstanceSpec{CPU: 1024, Memory: 996, PortsUDP: []uint16{53}, GPUs: []string{"g0"},
		Attributes: []cluster.Attribute{{Name: "ecs.capability.task-eni"}}}
	register(t, c, base)
	tests := []struct {
		name string
		d    *cluster.Demand
		want cluster.Reason
	}{
		{"fits", mustDemand(t, 1000, 500, []uint16{80}, nil, 1, "ecs.capability.task-eni"), cluster.ReasonNone},
		{"cpu before everything", mustDemand(t, 2000, 2000, []uint16{22}, []uint16{53}, 2, "missing"), cluster.ReasonCPU},
		{"memory before ports", mustDemand(t, 10, 2000, []uint16{22}, nil, 0), cluster.ReasonMemory},
		{"tcp port", mustDemand(t, 10, 10, []uint16{22}, []uint16{53}, 0), cluster.ReasonPorts},
		{"udp port", mustDemand(t, 10, 10, []uint16{53}, []uint16{53}, 0), cluster.ReasonPortsUDP},
		{"tcp and udp are separate namespaces", mustDemand(t, 10, 10, []uint16{53}, []uint16{22}, 0), cluster.ReasonNone},
		{"gpu", mustDemand(t, 10, 10, nil, nil, 2, "missing"), cluster.ReasonGPU},
		{"attribute", mustDemand(t, 10, 10, nil, nil, 0, "missing"), cluster.ReasonAttribute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Read(func(v *cluster.View) {
				assert.Equal(t, tt.want, v.InstanceAt(0).Fits(tt.d, nil))
			})
		})
	}
	info := register(t, c, base)
	_, err := c.SetAgentConnected(info.ID, false)
	require.NoError(t, err)
	c.Read(func(v *cluster.View) {
		in, ok := v.Instance(info.ARN)
		require.True(t, ok)
		assert.Equal(t, cluster.ReasonAgent, in.Fits(mustDemand(t, 10, 10, nil, nil, 0), nil))
		assert.Equal(t, cluster.ReasonCPU, in.Fits(mustDemand(t, 9999, 10, nil, nil, 0), nil), "resources are checked before the agent")
	})
}

func TestReasonStrings(t *testing.T) {
	want := map[cluster.Reason]string{
		cluster.ReasonCPU: "RESOURCE:CPU", cluster.ReasonMemory: "RESOURCE:MEMORY",
		cluster.ReasonPorts: "RESOURCE:PORTS", cluster.ReasonPortsUDP: "RESOURCE:PORTS_UDP",
		cluster.ReasonGPU: "RESOURCE:GPU", cluster.ReasonAttribute: "ATTRIBUTE", cluster.ReasonAgent: "AGENT",
		cluster.ReasonMissing: "MISSING", cluster.ReasonInactive: "INACTIVE",
	}
	for r, s := range want {
		assert.Equal(t, s, r.String())
	}
	for i := 1; i < len(cluster.CheckOrder); i++ {
		assert.Less(t, cluster.CheckOrder[i-1].Closeness(), cluster.CheckOrder[i].Closeness(), "closeness follows CheckOrder")
	}
}

func TestPortLimit(t *testing.T) {
	c, _ := newCluster(t)
	ports := make([]uint16, 0, cluster.MaxReservedPorts)
	for p := range uint16(cluster.MaxReservedPorts) {
		ports = append(ports, 1000+p)
	}
	_, err := c.RegisterInstance(cluster.InstanceSpec{CPU: 1, Memory: 1, Ports: append(ports, 5)})
	require.ErrorIs(t, err, cluster.ErrInvalidSpec, "more than 100 reserved ports cannot register")
	register(t, c, cluster.InstanceSpec{CPU: 100, Memory: 100, Ports: ports[:99]})
	c.Read(func(v *cluster.View) {
		in := v.InstanceAt(0)
		assert.Equal(t, cluster.ReasonNone, in.Fits(mustDemand(t, 1, 1, []uint16{80}, nil, 0), nil), "the 100th port fits")
		assert.Equal(t, cluster.ReasonPorts, in.Fits(mustDemand(t, 1, 1, []uint16{80, 81}, nil, 0), nil), "the 101st does not")
		assert.Equal(t, cluster.ReasonNone, in.Fits(mustDemand(t, 1, 1, nil, nil, 0), nil), "dynamic ports do not count")
	})
}

func TestCommitAllOrNothing(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	b := register(t, c, cluster.InstanceSpec{CPU: 512, Memory: 1024})
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 512, 256, []uint16{80}, nil, 0)}
	var changes []cluster.Change
	c.Subscribe(cluster.ObserverFunc(func(ch cluster.Change) { changes = append(changes, ch) }))
	changes = nil

	// The second placement on a collides on port 80 with the first: the
	// whole proposal is rejected and nothing changes.
	var before []cluster.InstanceInfo
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			before = append(before, in.Info())
		}
	})
	_, err := c.Commit([]cluster.Placement{{InstanceID: b.ID, Spec: spec}, {InstanceID: a.ID, Spec: spec}, {InstanceID: a.ID, Spec: spec}})
	var conflict *cluster.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ConflictError{Index: 2, InstanceID: a.ID, Reason: cluster.ReasonPorts}, *conflict)
	require.ErrorIs(t, err, cluster.ErrConflict)
	var after []cluster.InstanceInfo
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			after = append(after, in.Info())
		}
		_, running, pending := v.Counts()
		assert.Zero(t, running+pending)
	})
	assert.Equal(t, before, after)
	assert.Empty(t, changes, "observers hear nothing of a rejected commit")

	tasks, err := c.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec}, {InstanceID: b.ID, Spec: spec}})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	assert.Equal(t, cluster.TaskPending, tasks[0].LastStatus)
	assert.Equal(t, cluster.TaskRunning, tasks[0].DesiredStatus)
	assert.Len(t, changes, 2, "one change per touched instance")
	c.Read(func(v *cluster.View) {
		in, _ := v.Instance(a.ID)
		assert.Equal(t, int64(512), in.RemainingCPU())
		assert.Equal(t, int64(768), in.RemainingMemory())
		assert.True(t, in.ReservedPorts().Contains(80))
		assert.Equal(t, 1, in.GroupCount("family:web"))
		assert.True(t, in.HasTaskGroup("family:web"))
	})
}

type denyGuard struct{ deny string }

func (g denyGuard) Check(in *cluster.Instance, _ *cluster.TaskSpec) cluster.Reason {
	if in.ID() == g.deny {
		return cluster.ReasonMemberOf
	}
	return cluster.ReasonNone
}

func TestCommitGuard(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	spec := &cluster.TaskSpec{Group: "g", Demand: mustDemand(t, 1, 1, nil, nil, 0), Guard: denyGuard{deny: a.ID}}
	_, err := c.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec}})
	var conflict *cluster.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonMemberOf, conflict.Reason)
	_, err = c.Commit([]cluster.Placement{{InstanceID: "nope", Spec: spec}})
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonMissing, conflict.Reason)
}

func TestTaskLifecycle(t *testing.T) {
	c, clock := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024, GPUs: []string{"g0", "g1"}})
	spec := &cluster.TaskSpec{Group: "g", Demand: mustDemand(t, 100, 100, []uint16{80}, []uint16{53}, 1)}
	tasks, err := c.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec}, {InstanceID: a.ID, Spec: &cluster.TaskSpec{Group: "g", Demand: mustDemand(t, 1, 1, nil, nil, 1)}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"g0"}, tasks[0].GPUIDs)
	assert.Equal(t, []string{"g1"}, tasks[1].GPUIDs, "GPUs are exclusive")

	clock.Advance(time.Minute)
	started, err := c.TaskStarted(tasks[0].ID)
	require.NoError(t, err)
	assert.Equal(t, cluster.TaskRunning, started.LastStatus)
	assert.Equal(t, clock.Now(), started.StartedAt)
	_, err = c.TaskStarted(tasks[0].ID)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition)

	exited, err := c.TaskExited(tasks[0].ID, "")
	require.NoError(t, err)
	assert.Equal(t, cluster.StopEssentialContainerExited, exited.StopCode)
	assert.Equal(t, cluster.ReasonEssentialContainerExited, exited.StoppedReason)
	failed, err := c.TaskExited(tasks[1].ID, "CannotPullContainerError")
	require.NoError(t, err)
	assert.Equal(t, cluster.StopTaskFailedToStart, failed.StopCode)
	c.Read(func(v *cluster.View) {
		in, _ := v.Instance(a.ID)
		assert.Equal(t, a.RemainingCPU, in.RemainingCPU(), "stopped tasks release CPU")
		assert.False(t, in.ReservedPorts().Contains(80), "and ports")
		assert.False(t, in.ReservedPortsUDP().Contains(53))
		assert.Equal(t, 2, in.FreeGPUs(), "and GPUs")
		assert.Zero(t, in.TaskCount())
	})

	// Stopped tasks stay visible for the retention period, then go.
	clock.Advance(cluster.DefaultStoppedTaskRetention)
	_, err = c.SetAgentConnected(a.ID, false) // any change prunes
	require.NoError(t, err)
	_, err = c.StopTask(tasks[0].ID, "", cluster.StopUserInitiated)
	require.ErrorIs(t, err, cluster.ErrTaskNotFound)
}

func TestDeregisterAndLoss(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024, EC2InstanceID: "i-0123"})
	b := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	spec := &cluster.TaskSpec{Group: "g", Demand: mustDemand(t, 100, 100, nil, nil, 0)}
	tasks, err := c.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec}, {InstanceID: b.ID, Spec: spec}})
	require.NoError(t, err)

	_, err = c.DeregisterInstance(b.ID, false)
	require.ErrorIs(t, err, cluster.ErrInstanceHasTasks)
	info, err := c.DeregisterInstance(b.ARN, true)
	require.NoError(t, err)
	assert.Equal(t, cluster.InstanceInactive, info.Status)
	assert.False(t, info.AgentConnected)

	lost, err := c.InstanceLost(a.ID)
	require.NoError(t, err)
	assert.Equal(t, cluster.InstanceInactive, lost.Status)
	c.Read(func(v *cluster.View) {
		ta, _ := v.Task(tasks[0].ID)
		tb, _ := v.Task(tasks[1].ARN)
		assert.Equal(t, "Host EC2 (instance i-0123) terminated.", v.TaskInfo(ta).StoppedReason)
		assert.Equal(t, cluster.ReasonDeregistrationForced, v.TaskInfo(tb).StoppedReason)
		instances, running, pending := v.Counts()
		assert.Equal(t, [3]int{0, 0, 0}, [3]int{instances, running, pending})
	})
	_, err = c.SetInstanceStatus(a.ID, cluster.InstanceActive)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition, "an INACTIVE instance cannot come back")
}

func TestApplyAttributes(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1, Memory: 1, Attributes: []cluster.Attribute{{Name: "ecs.os-type", Value: "linux"}}})
	var ops []cluster.AttributeOp
	for i := range cluster.MaxCustomAttributes {
		ops = append(ops, cluster.AttributeOp{InstanceID: a.ID, Attribute: cluster.Attribute{Name: string(rune('a' + i)), Value: "v"}})
	}
	require.NoError(t, c.ApplyAttributes(ops))
	err := c.ApplyAttributes([]cluster.AttributeOp{{InstanceID: a.ID, Attribute: cluster.Attribute{Name: "z"}}})
	require.ErrorIs(t, err, cluster.ErrAttributeLimit)
	err = c.ApplyAttributes([]cluster.AttributeOp{
		{InstanceID: a.ID, Attribute: cluster.Attribute{Name: "a", Value: "changed"}},
		{InstanceID: "missing", Attribute: cluster.Attribute{Name: "b"}},
	})
	require.ErrorIs(t, err, cluster.ErrInstanceNotFound)
	err = c.ApplyAttributes([]cluster.AttributeOp{{InstanceID: a.ID, Attribute: cluster.Attribute{Name: "bad name!"}}})
	require.ErrorIs(t, err, cluster.ErrInvalidSpec)
	require.NoError(t, c.ApplyAttributes([]cluster.AttributeOp{
		{InstanceID: a.ID, Attribute: cluster.Attribute{Name: "b"}, Delete: true},
		{InstanceID: a.ID, Attribute: cluster.Attribute{Name: "z", Value: "new"}},
	}), "a delete makes room in the same call")
	c.Read(func(v *cluster.View) {
		in := v.InstanceAt(0)
		val, ok := in.Attribute("a")
		assert.True(t, ok)
		assert.Equal(t, "v", val, "the failed call changed nothing")
		_, ok = in.Attribute("b")
		assert.False(t, ok)
		val, _ = in.Attribute("z")
		assert.Equal(t, "new", val)
	})
}

func TestPending(t *testing.T) {
	c, _ := newCluster(t)
	register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	d := mustDemand(t, 512, 100, []uint16{80}, nil, 0)
	spec := &cluster.TaskSpec{Group: "g", Demand: d}
	c.Read(func(v *cluster.View) {
		in := v.InstanceAt(0)
		var p cluster.Pending
		p.Add(in, spec)
		assert.Equal(t, cluster.ReasonPorts, in.Fits(d, &p), "the pending task holds port 80")
		assert.Equal(t, cluster.ReasonNone, in.Fits(mustDemand(t, 512, 100, []uint16{81}, nil, 0), &p))
		p.Add(in, &cluster.TaskSpec{Group: "g", Demand: mustDemand(t, 512, 100, []uint16{81}, nil, 0)})
		assert.Equal(t, cluster.ReasonCPU, in.Fits(mustDemand(t, 1, 1, nil, nil, 0), &p))
		assert.Equal(t, 2, p.TaskCount(in))
		assert.Equal(t, 2, p.GroupCount(in, "g"))
		p.Reset()
		assert.Zero(t, p.Len())
		assert.Equal(t, cluster.ReasonNone, in.Fits(d, &p))
		assert.Zero(t, testing.AllocsPerRun(100, func() { in.Fits(d, &p) }), "the fit test allocates nothing")
	})
}

// TestPlacementInstanceHint: a placement's Instance hint is used only when
// it is the cluster's own record of InstanceID; InstanceID decides.
func TestPlacementInstanceHint(t *testing.T) {
	c1, _ := newCluster(t)
	c2, _ := newCluster(t) // same seed: same instance ids
	a := register(t, c1, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	b := register(t, c1, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	foreign := register(t, c2, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	require.Equal(t, a.ID, foreign.ID)
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 256, 256, nil, nil, 0)}
	record := func(c *cluster.Cluster, id string) (in *cluster.Instance) {
		c.Read(func(v *cluster.View) { in, _ = v.Instance(id) })
		return in
	}
	remaining := func(c *cluster.Cluster, id string) (cpu int64) {
		c.Read(func(v *cluster.View) { in, _ := v.Instance(id); cpu = in.RemainingCPU() })
		return cpu
	}
	for _, hint := range []*cluster.Instance{record(c2, foreign.ID), record(c1, b.ID), record(c1, a.ID), nil} {
		_, err := c1.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec, Instance: hint}})
		require.NoError(t, err)
	}
	assert.Equal(t, int64(0), remaining(c1, a.ID), "all four tasks on a")
	assert.Equal(t, int64(1024), remaining(c1, b.ID))
	assert.Equal(t, int64(1024), remaining(c2, foreign.ID))
}

// TestTaskLookup: a task is found by its id or its ARN, and by nothing
// else that looks like them.
func TestTaskLookup(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 256, 256, nil, nil, 0)}
	infos, err := c.Commit([]cluster.Placement{{InstanceID: a.ID, Spec: spec}, {InstanceID: a.ID, Spec: spec}})
	require.NoError(t, err)
	id, arn := infos[1].ID, infos[1].ARN
	require.Len(t, id, 32)
	require.Equal(t, "arn:aws:ecs:us-east-1:123456789012:task/test/"+id, arn)
	flip := func(s string, i int) string {
		b := []byte(s)
		b[i] = "01"[(b[i]-'0'+1)%2]
		if s[i] != '0' && s[i] != '1' {
			b[i] = '0'
		}
		return string(b)
	}
	c.Read(func(v *cluster.View) {
		for _, ref := range []string{id, arn} {
			got, ok := v.Task(ref)
			require.True(t, ok, ref)
			assert.Equal(t, id, got.ID())
		}
		for _, ref := range []string{
			"", "x", id[:31], id + "0",
			strings.ToUpper(id), // ids are lowercase
			flip(id, 0),         // another number
			flip(id, 31),        // the right number, the wrong id
			"arn:aws:ecs:us-east-1:123456789012:task/other/" + id,
			"task/" + id[:16] + "zzzzzzzzzzzzzzzz",
		} {
			_, ok := v.Task(ref)
			assert.False(t, ok, "%q", ref)
		}
		var seqs []uint64
		for task := range v.TasksAfter(0) {
			seqs = append(seqs, task.Seq())
		}
		require.Len(t, seqs, 2)
		assert.Less(t, seqs[0], seqs[1], "creation order")
	})
}

// TestApplyTo: ApplyTo reuses the caller's slices, and leaves them empty
// when the proposal conflicts.
func TestApplyTo(t *testing.T) {
	c, _ := newCluster(t)
	a := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: mustDemand(t, 256, 256, []uint16{80}, nil, 0)}
	out := cluster.Applied{Started: make([]cluster.TaskInfo, 0, 4)}
	mem := &out.Started[:1][0]
	require.NoError(t, c.ApplyTo(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: a.ID, Spec: spec}}}, &out))
	require.Len(t, out.Started, 1)
	assert.Same(t, mem, &out.Started[0], "the caller's memory")
	assert.Equal(t, a.ID, out.Started[0].InstanceID)
	err := c.ApplyTo(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: a.ID, Spec: spec}}}, &out)
	require.ErrorIs(t, err, cluster.ErrConflict, "port 80 is taken")
	assert.Empty(t, out.Started)
	assert.Empty(t, out.Stopped)

	// Apply answers empty lists, not nil ones.
	applied, err := c.Apply(cluster.Proposal{})
	require.NoError(t, err)
	assert.NotNil(t, applied.Started)
	assert.NotNil(t, applied.Stopped)
}

// TestStopTaskNotFound: the error names the reference, malformed or not.
func TestStopTaskNotFound(t *testing.T) {
	c, _ := newCluster(t)
	for _, ref := range []string{"nope", "ffffffffffffffffffffffffffffffff"} {
		_, err := c.StopTask(ref, "", cluster.StopUserInitiated)
		require.ErrorIs(t, err, cluster.ErrTaskNotFound)
		assert.Contains(t, err.Error(), ref)
	}
}
