package cluster_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
)

// describe turns an instance's info into what PutInstance takes.
func describe(info cluster.InstanceInfo) cluster.ImportInstance {
	return cluster.ImportInstance{
		ARN: info.ARN, EC2InstanceID: info.EC2InstanceID, Status: info.Status,
		AgentDisconnected: !info.AgentConnected, RegisteredAt: info.RegisteredAt,
		Spec: cluster.InstanceSpec{CPU: info.RegisteredCPU, Memory: info.RegisteredMemory,
			Ports: info.RegisteredPorts.Slice(), PortsUDP: info.RegisteredPortsUDP.Slice(),
			GPUs: info.RegisteredGPUs, Attributes: info.Attributes},
	}
}

func describeTask(info cluster.TaskInfo, spec *cluster.TaskSpec) cluster.ImportTask {
	return cluster.ImportTask{
		ARN: info.ARN, Spec: spec, InstanceARN: info.InstanceARN,
		LastStatus: info.LastStatus, DesiredStatus: info.DesiredStatus, GPUIDs: info.GPUIDs,
		Version: info.Version, CreatedAt: info.CreatedAt, StartedAt: info.StartedAt,
		StoppingAt: info.StoppingAt, StoppedAt: info.StoppedAt,
		StoppedReason: info.StoppedReason, StopCode: info.StopCode,
	}
}

// TestMirror: a second cluster kept by PutInstance and PutTask from what
// the first one's ApplyWith committed ends with the same accounting.
func TestMirror(t *testing.T) {
	a, clock := newCluster(t)
	b := cluster.New("test", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(9, 9))})
	in := register(t, a, cluster.InstanceSpec{CPU: 1024, Memory: 2048, GPUs: []string{"g0", "g1"}})
	changed, err := b.PutInstance(describe(in))
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = b.PutInstance(describe(in))
	require.NoError(t, err)
	assert.False(t, changed, "the same description again changes nothing")

	spec := &cluster.TaskSpec{Demand: mustDemand(t, 256, 512, []uint16{80}, nil, 1), Group: "family:web"}
	spec2 := &cluster.TaskSpec{Demand: mustDemand(t, 256, 512, nil, nil, 1)}
	var out cluster.Applied
	var seen []cluster.TaskInfo
	err = a.ApplyWith(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec}, {InstanceID: in.ID, Spec: spec2}}}, &out,
		func(ap *cluster.Applied) error { seen = append(seen, ap.Started...); return nil })
	require.NoError(t, err)
	require.Len(t, seen, 2)
	assert.Equal(t, out.Started, seen, "commit saw what ApplyWith answers")
	for i, ti := range seen {
		changed, err := b.PutTask(describeTask(ti, []*cluster.TaskSpec{spec, spec2}[i]))
		require.NoError(t, err)
		assert.True(t, changed)
	}
	clock.Advance(time.Second)
	started, err := a.TaskStarted(seen[0].ARN)
	require.NoError(t, err)
	_, err = b.PutTask(describeTask(started, spec))
	require.NoError(t, err)
	stopped, err := a.StopTask(seen[1].ARN, "done", cluster.StopUserInitiated)
	require.NoError(t, err)
	_, err = b.PutTask(describeTask(stopped, spec2))
	require.NoError(t, err)

	var ra, rb cluster.InstanceInfo
	a.Read(func(v *cluster.View) { x, _ := v.Instance(in.ID); ra = x.Info() })
	b.Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		rb = x.Info()
		tb, ok := v.Task(seen[0].ARN)
		require.True(t, ok)
		assert.Equal(t, cluster.TaskRunning, tb.LastStatus())
		ts, ok := v.Task(seen[1].ID)
		require.True(t, ok)
		assert.Equal(t, stopped.StoppedAt, v.TaskInfo(ts).StoppedAt, "the stop keeps its time")
		assert.Equal(t, "done", v.TaskInfo(ts).StoppedReason)
	})
	assert.Equal(t, ra.RemainingCPU, rb.RemainingCPU)
	assert.Equal(t, ra.RemainingMemory, rb.RemainingMemory)
	assert.Equal(t, ra.RemainingGPUs, rb.RemainingGPUs)
	assert.Equal(t, ra.RunningTasksCount, rb.RunningTasksCount)
	assert.Equal(t, ra.PendingTasksCount, rb.PendingTasksCount)
}

// TestApplyWithUndo: a commit hook's error undoes the proposal.
func TestApplyWithUndo(t *testing.T) {
	c, _ := newCluster(t)
	in := register(t, c, cluster.InstanceSpec{CPU: 1024, Memory: 2048})
	spec := &cluster.TaskSpec{Demand: mustDemand(t, 256, 512, []uint16{80}, nil, 0)}
	first, err := c.Commit([]cluster.Placement{{InstanceID: in.ID, Spec: spec}})
	require.NoError(t, err)
	before := c.Stats()
	boom := errors.New("storage refused")
	var out cluster.Applied
	err = c.ApplyWith(cluster.Proposal{
		Stops:      []cluster.Stop{{TaskID: first[0].ID, Reason: "replaced"}},
		Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec}},
	}, &out, func(*cluster.Applied) error { return boom })
	require.ErrorIs(t, err, boom)
	assert.Empty(t, out.Started)
	assert.Equal(t, before.Commits, c.Stats().Commits)
	c.Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		assert.Equal(t, int64(768), x.RemainingCPU())
		assert.Equal(t, 1, x.TaskCount())
		task, _ := v.Task(first[0].ID)
		assert.Equal(t, cluster.TaskPending, task.LastStatus(), "the stop was undone")
	})

	// The ids an undone proposal drew are not drawn again.
	small := cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: &cluster.TaskSpec{Demand: mustDemand(t, 1, 1, nil, nil, 0)}}}}
	var drawn string
	err = c.ApplyWith(small, &out, func(a *cluster.Applied) error { drawn = a.Started[0].ID; return boom })
	require.ErrorIs(t, err, boom)
	require.NoError(t, c.ApplyWith(small, &out, func(*cluster.Applied) error { return nil }))
	assert.NotEqual(t, drawn, out.Started[0].ID)
	c.Read(func(v *cluster.View) {
		_, ok := v.Task(drawn)
		assert.False(t, ok, "the undone task is not on record")
		_, ok = v.Task(out.Started[0].ID)
		assert.True(t, ok)
	})
	// Its store kept it after all (the commit's answer was lost): the
	// store's copy of it is taken.
	kept := describeTask(out.Started[0], small.Placements[0].Spec)
	kept.ARN = kept.ARN[:len(kept.ARN)-32] + drawn
	changed, err := c.PutTask(kept)
	require.NoError(t, err)
	assert.True(t, changed)
	c.Read(func(v *cluster.View) {
		_, ok := v.Task(drawn)
		assert.True(t, ok, "the task its store kept is on record")
	})
	// A commit sure that nothing was stored lets its ids go.
	var refused string
	err = c.ApplyWith(small, &out, func(a *cluster.Applied) error {
		refused = a.Started[0].ID
		return fmt.Errorf("guard failed: %w", cluster.ErrNotCommitted)
	})
	require.ErrorIs(t, err, cluster.ErrNotCommitted)
	ghost := kept
	ghost.ARN = kept.ARN[:len(kept.ARN)-32] + refused
	_, err = c.PutTask(ghost)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition, "an id no store kept is not taken up")
}

func TestPutRejects(t *testing.T) {
	c, clock := newCluster(t)
	in := register(t, c, cluster.InstanceSpec{CPU: 512, Memory: 512})
	spec := &cluster.TaskSpec{Demand: mustDemand(t, 256, 256, nil, nil, 0)}
	placed, err := c.Commit([]cluster.Placement{{InstanceID: in.ID, Spec: spec}})
	require.NoError(t, err)

	big := describeTask(placed[0], &cluster.TaskSpec{Demand: mustDemand(t, 512, 256, nil, nil, 0)})
	big.ARN = placed[0].ARN[:len(placed[0].ARN)-32] + "0123456789abcdef0123456789abcdef"
	_, err = c.PutTask(big)
	var conflict *cluster.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonCPU, conflict.Reason)

	lost := big
	lost.InstanceARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/test/none"
	_, err = c.PutTask(lost)
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonMissing, conflict.Reason)

	back := describeTask(placed[0], spec)
	back.LastStatus, back.StoppedAt = cluster.TaskStopped, placed[0].CreatedAt
	_, err = c.PutTask(back)
	require.NoError(t, err)
	back.LastStatus = cluster.TaskRunning
	_, err = c.PutTask(back)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition, "STOPPED is final")
	clock.Advance(cluster.DefaultStoppedTaskRetention + time.Hour)
	_, err = c.PutTask(back)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition, "a task past its retention is not made anew")
	back.LastStatus = cluster.TaskStopped
	changed, err := c.PutTask(back)
	require.NoError(t, err)
	assert.False(t, changed)

	noSpec := big
	noSpec.Spec = nil
	_, err = c.PutTask(noSpec)
	require.ErrorIs(t, err, cluster.ErrInvalidSpec)

	gone := describe(in)
	c2, _ := newCluster(t)
	_, err = c2.PutInstance(gone)
	require.NoError(t, err)
	t2 := describeTask(placed[0], spec)
	_, err = c2.PutTask(t2)
	require.NoError(t, err)
	gone.Status = cluster.InstanceInactive
	_, err = c2.PutInstance(gone)
	require.ErrorIs(t, err, cluster.ErrInstanceHasTasks, "a store stops an instance's tasks before it makes it INACTIVE")
	other := describe(in)
	other.ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/other/" + in.ID
	_, err = c2.PutInstance(other)
	require.ErrorIs(t, err, cluster.ErrInvalidSpec)
	t2.LastStatus, t2.StoppedAt = cluster.TaskStopped, placed[0].CreatedAt
	_, err = c2.PutTask(t2)
	require.NoError(t, err)
	_, err = c2.PutInstance(gone)
	require.NoError(t, err)
	gone.Status = cluster.InstanceActive
	_, err = c2.PutInstance(gone)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition)
}
