package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
)

func TestImport(t *testing.T) {
	c, clock := newCluster(t)
	at := clock.Now().Add(-time.Hour)
	const pfx = "arn:aws:ecs:eu-west-1:111122223333:"
	oldARN := pfx + "container-instance/c5690f29-6a3b-4b2e-8d5f-0e5f2ad8a1b7" // the old format
	newARN := pfx + "container-instance/test/0123456789abcdef0123456789abcdef"
	web := &cluster.TaskSpec{TaskDefinitionARN: pfx + "task-definition/web:7", Family: "web", Group: "service:web", StartedBy: "ecs-svc/1",
		Demand: mustDemand(t, 512, 1024, []uint16{80}, nil, 0)}
	gpu := &cluster.TaskSpec{TaskDefinitionARN: pfx + "task-definition/ml:1", Family: "ml", Demand: mustDemand(t, 256, 256, nil, nil, 1)}
	instances := []cluster.ImportInstance{
		{ARN: oldARN, EC2InstanceID: "i-0aaa", Status: cluster.InstanceActive, RegisteredAt: at, Version: 9,
			Spec: cluster.InstanceSpec{CPU: 1024, Memory: 2048, GPUs: []string{"GPU-a", "GPU-b"},
				Attributes: []cluster.Attribute{{Name: "ecs.availability-zone", Value: "eu-west-1a"}}}},
		{ARN: newARN, EC2InstanceID: "i-0bbb", Status: cluster.InstanceDraining, AgentDisconnected: true, RegisteredAt: at,
			Spec: cluster.InstanceSpec{CPU: 2048, Memory: 4096}},
	}
	tasks := []cluster.ImportTask{
		{ARN: pfx + "task/1f2e3d4c5b6a47988796a5b4c3d2e1f0", Spec: web, InstanceARN: oldARN, LastStatus: cluster.TaskRunning, DesiredStatus: cluster.TaskRunning,
			CreatedAt: at, StartedAt: at.Add(time.Minute), Version: 3},
		{ARN: pfx + "task/test/2f2e3d4c5b6a47988796a5b4c3d2e1f0", Spec: web, InstanceARN: oldARN, LastStatus: cluster.TaskPending, DesiredStatus: cluster.TaskRunning,
			CreatedAt: at.Add(time.Second)}, // port 80 is taken by the first: left out
		{ARN: pfx + "task/test/3f2e3d4c5b6a47988796a5b4c3d2e1f0", Spec: gpu, InstanceARN: oldARN, LastStatus: cluster.TaskPending, DesiredStatus: cluster.TaskRunning,
			CreatedAt: at.Add(2 * time.Second), GPUIDs: []string{"GPU-b"}},
		{ARN: pfx + "task/test/4f2e3d4c5b6a47988796a5b4c3d2e1f0", Spec: web, InstanceARN: "0123456789abcdef0123456789abcdef", LastStatus: cluster.TaskStopped, DesiredStatus: cluster.TaskStopped,
			CreatedAt: at, StoppedAt: at.Add(30 * time.Minute), StoppedReason: "Scaling activity initiated by (deployment ecs-svc/1)", StopCode: cluster.StopServiceSchedulerInitiated},
		{ARN: pfx + "task/test/5f2e3d4c5b6a47988796a5b4c3d2e1f0", Spec: web, InstanceARN: pfx + "container-instance/test/ffff", LastStatus: cluster.TaskRunning, DesiredStatus: cluster.TaskRunning},
	}
	skipped, err := c.Import(instances, tasks)
	require.NoError(t, err)
	assert.Equal(t, []cluster.ImportSkip{
		{ARN: tasks[4].ARN, Reason: cluster.ReasonMissing},
		{ARN: tasks[1].ARN, Reason: cluster.ReasonPorts},
	}, skipped)

	c.Read(func(v *cluster.View) {
		in, ok := v.Instance(oldARN)
		require.True(t, ok)
		info := in.Info()
		assert.Equal(t, "c5690f29-6a3b-4b2e-8d5f-0e5f2ad8a1b7", info.ID)
		assert.Equal(t, "i-0aaa", info.EC2InstanceID)
		assert.Equal(t, int64(9), info.Version)
		assert.Equal(t, at, info.RegisteredAt)
		assert.Equal(t, int64(1024-512-256), info.RemainingCPU)
		assert.Equal(t, []string{"GPU-a"}, info.RemainingGPUs)
		assert.Equal(t, 1, info.RunningTasksCount)
		assert.Equal(t, 1, info.PendingTasksCount)
		drain, ok := v.Instance("0123456789abcdef0123456789abcdef")
		require.True(t, ok)
		assert.Equal(t, cluster.InstanceDraining, drain.Status())
		assert.False(t, drain.AgentConnected())
		instances, running, pending := v.Counts()
		assert.Equal(t, [3]int{2, 1, 1}, [3]int{instances, running, pending})

		for _, ref := range []string{tasks[0].ARN, "1f2e3d4c5b6a47988796a5b4c3d2e1f0", tasks[3].ARN} {
			task, ok := v.Task(ref)
			require.True(t, ok, ref)
			assert.Equal(t, lastPart(ref), task.ID())
		}
		_, ok = v.Task(tasks[1].ARN)
		assert.False(t, ok, "a task left out is not there")
		_, ok = v.Task(pfx + "task/other/1f2e3d4c5b6a47988796a5b4c3d2e1f0")
		assert.False(t, ok, "an ARN must be the task's own")
		gt, _ := v.Task(tasks[2].ARN)
		assert.Equal(t, []string{"GPU-b"}, v.TaskInfo(gt).GPUIDs)
		first, _ := v.Task(tasks[0].ARN)
		fi := v.TaskInfo(first)
		assert.Equal(t, "eu-west-1a", fi.AvailabilityZone)
		assert.Equal(t, int64(3), fi.Version)
		assert.Equal(t, at.Add(time.Minute), fi.StartedAt)
	})

	// Imported tasks stop like any other, and native ones follow them.
	_, err = c.StopTask("1f2e3d4c5b6a47988796a5b4c3d2e1f0", "done", cluster.StopUserInitiated)
	require.NoError(t, err)
	started, err := c.Commit([]cluster.Placement{{InstanceID: "c5690f29-6a3b-4b2e-8d5f-0e5f2ad8a1b7", Spec: web}})
	require.NoError(t, err, "port 80 is free again")
	c.Read(func(v *cluster.View) {
		task, ok := v.Task(started[0].ARN)
		require.True(t, ok)
		assert.Equal(t, uint64(4), task.Seq(), "numbered after the three imported")
	})

	_, err = c.Import(instances, nil)
	require.ErrorIs(t, err, cluster.ErrInvalidSpec, "only an empty cluster imports")
}

func TestImportRejects(t *testing.T) {
	good := cluster.ImportInstance{ARN: "arn:aws:ecs:us-east-1:123456789012:container-instance/test/a", Status: cluster.InstanceActive, Spec: cluster.InstanceSpec{CPU: 10, Memory: 10, GPUs: []string{"g"}}}
	d := mustDemand(t, 1, 1, nil, nil, 1)
	task := func(arn string, gpus ...string) cluster.ImportTask {
		return cluster.ImportTask{ARN: arn, Spec: &cluster.TaskSpec{Demand: d}, InstanceARN: good.ARN, LastStatus: cluster.TaskRunning, GPUIDs: gpus}
	}
	for name, tc := range map[string]struct {
		instances []cluster.ImportInstance
		tasks     []cluster.ImportTask
	}{
		"instance ARN":     {instances: []cluster.ImportInstance{{ARN: "a", Spec: good.Spec}}},
		"instance twice":   {instances: []cluster.ImportInstance{good, good}},
		"instance spec":    {instances: []cluster.ImportInstance{{ARN: good.ARN, Spec: cluster.InstanceSpec{CPU: -1}}}},
		"task ARN":         {instances: []cluster.ImportInstance{good}, tasks: []cluster.ImportTask{task("", "g")}},
		"task twice":       {instances: []cluster.ImportInstance{good}, tasks: []cluster.ImportTask{task("arn:x/t", "g"), task("arn:x/t", "g")}},
		"GPU not there":    {instances: []cluster.ImportInstance{good}, tasks: []cluster.ImportTask{task("arn:x/t", "h")}},
		"GPUs not counted": {instances: []cluster.ImportInstance{good}, tasks: []cluster.ImportTask{task("arn:x/t")}},
		"no spec":          {instances: []cluster.ImportInstance{good}, tasks: []cluster.ImportTask{{ARN: "arn:x/t", InstanceARN: good.ARN}}},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newCluster(t)
			_, err := c.Import(tc.instances, tc.tasks)
			require.Error(t, err)
			c.Read(func(v *cluster.View) {
				assert.Equal(t, 0, v.NumSlots(), "a refused import changes nothing")
			})
		})
	}
}

func lastPart(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			return ref[i+1:]
		}
	}
	return ref
}
