package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func intp(n int) *int { return &n }

// TestRunTaskOverrides: overrides change the demand a task is placed and
// accounted with, are described as ECS describes them, and survive a fork.
func TestRunTaskOverrides(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "batch")
	ci := registerInstance(t, c, "batch", resources(2048, 4096))
	registerTaskDefinition(t, c, taskDefinition("job", 256, 512))

	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{
		ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", CPU: intp(1024), Memory: intp(3000), Command: []string{"crunch"}}},
	}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	task := out.Tasks[0]
	assert.Equal(t, "1024", task.Cpu)
	assert.Equal(t, "3000", task.Memory)
	require.NotNil(t, task.Overrides)
	assert.Equal(t, []stevedore.ContainerOverride{{Name: "job", CPU: intp(1024), Memory: intp(3000), Command: []string{"crunch"}}}, task.Overrides.ContainerOverrides)
	got := describeInstance(t, c, "batch", ci.ContainerInstanceArn)
	assert.EqualValues(t, 1024, remaining(t, got, "CPU").IntegerValue)
	assert.EqualValues(t, 1096, remaining(t, got, "MEMORY").IntegerValue)
	assert.Equal(t, task, describeTask(t, c, "batch", task.TaskArn))

	// The same override again does not fit: 1,096 MiB are left.
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{
		ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", Memory: intp(3000)}},
	}})
	require.NoError(t, err)
	require.Len(t, out.Failures, 1)
	assert.Equal(t, "RESOURCE:MEMORY", out.Failures[0].Reason)

	// Task-level amounts win over the containers' sums.
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{CPU: "512", Memory: "1GB"}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	assert.Equal(t, "512", out.Tasks[0].Cpu)
	assert.Equal(t, "1024", out.Tasks[0].Memory)

	fork, err := c.Fork(ctx)
	require.NoError(t, err)
	ft := describeTask(t, fork, "batch", task.TaskArn)
	assert.Equal(t, task.Overrides, ft.Overrides, "a fork keeps the overrides")
	assert.Equal(t, describeInstance(t, c, "batch", ci.ContainerInstanceArn).RemainingResources,
		describeInstance(t, fork, "batch", ci.ContainerInstanceArn).RemainingResources)
}

// TestStartTaskOverrides: StartTask takes the same overrides.
func TestStartTaskOverrides(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "batch")
	ci := registerInstance(t, c, "batch", resources(2048, 4096))
	registerTaskDefinition(t, c, taskDefinition("job", 256, 512))
	out, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "batch", TaskDefinition: "job", ContainerInstances: []string{ci.ContainerInstanceArn},
		Overrides: &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", CPU: intp(3000)}}}})
	require.NoError(t, err)
	require.Len(t, out.Failures, 1, "3,000 CPU units do not fit in 2,048")
	assert.Equal(t, "RESOURCE:CPU", out.Failures[0].Reason)
	out, err = c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "batch", TaskDefinition: "job", ContainerInstances: []string{ci.ContainerInstanceArn},
		Overrides: &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", CPU: intp(2000)}}}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	assert.Equal(t, "2000", out.Tasks[0].Cpu)
}

// TestOverridesRejected: overrides ECS refuses are an
// InvalidParameterException (or ClientException) naming the field, and
// the call changes nothing.
func TestOverridesRejected(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "batch")
	ci := registerInstance(t, c, "batch", resources(2048, 4096))
	registerTaskDefinition(t, c, taskDefinition("job", 256, 512))
	before := snapshot(t, c)
	for name, o := range map[string]*stevedore.TaskOverride{
		"unknown container":       {ContainerOverrides: []stevedore.ContainerOverride{{Name: "web", CPU: intp(1)}}},
		"negative memory":         {ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", Memory: intp(-5)}}},
		"reservation over memory": {ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", MemoryReservation: intp(600)}}},
		"task memory":             {Memory: "a lot"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: o})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "overrides")
			_, err = c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "batch", TaskDefinition: "job", ContainerInstances: []string{ci.ContainerInstanceArn}, Overrides: o})
			require.Error(t, err)
		})
	}
	_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: "web", CPU: intp(1)}}}})
	e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.Contains(t, e.Error(), "Override for container named web is not a container in the TaskDefinition.")
	assert.Equal(t, before, snapshot(t, c))
}

// TestOverridesReviewCases: name-only overrides are checked too; a
// task's described overrides share nothing with what the Client keeps.
func TestOverridesReviewCases(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "batch")
	registerInstance(t, c, "batch", resources(2048, 4096))
	registerTaskDefinition(t, c, taskDefinition("job", 256, 512))
	_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{
		ContainerOverrides: []stevedore.ContainerOverride{{Name: "nope"}},
	}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)

	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Overrides: &stevedore.TaskOverride{
		ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", CPU: intp(1024), Command: []string{"a"}}},
	}})
	require.NoError(t, err)
	task := out.Tasks[0]
	*task.Overrides.ContainerOverrides[0].CPU = 3000
	task.Overrides.ContainerOverrides[0].Command[0] = "changed"
	again := describeTask(t, c, "batch", task.TaskArn)
	assert.Equal(t, 1024, *again.Overrides.ContainerOverrides[0].CPU)
	assert.Equal(t, []string{"a"}, again.Overrides.ContainerOverrides[0].Command)
}

// TestOverriddenDemandsShared: calls with the same overrides share one
// demand, so the placement engine's census of it is kept between calls.
func TestOverriddenDemandsShared(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	registerTaskDefinition(t, c, taskDefinition("job", 256, 512))
	spec := func(cpu int) *stevedore.TaskSpecInput {
		return &stevedore.TaskSpecInput{TaskDefinition: "job", Overrides: &stevedore.TaskOverride{
			ContainerOverrides: []stevedore.ContainerOverride{{Name: "job", CPU: intp(cpu)}}}}
	}
	a, err := c.TaskSpec(ctx, spec(1024))
	require.NoError(t, err)
	b, err := c.TaskSpec(ctx, spec(1024))
	require.NoError(t, err)
	other, err := c.TaskSpec(ctx, spec(2048))
	require.NoError(t, err)
	assert.Same(t, a.Demand, b.Demand)
	assert.NotSame(t, a.Demand, other.Demand)
	assert.EqualValues(t, 2048, other.Demand.CPU())
}
