package stevedore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// protectionFixture: a service of 3 tasks RUNNING on 3 instances.
func protectionFixture(t *testing.T) (*stevedore.Client, *stevedore.ManualClock, []stevedore.Task) {
	c, clock := newClient(t)
	createCluster(t, c, "prod")
	for i, az := range []string{"a", "b", "c"} {
		registerAZInstance(t, c, "prod", "i-0"+string(rune('1'+i)), az, 1024, 2048)
	}
	registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "prod", ServiceName: "web", TaskDefinition: "web", DesiredCount: intp(3)})
	settleServices(t, c, clock, "prod")
	tasks := serviceTasks(t, c, "prod", "web")
	require.Len(t, tasks, 3)
	return c, clock, tasks
}

func running(tasks []stevedore.Task) map[string]bool {
	out := map[string]bool{}
	for _, t := range tasks {
		if t.LastStatus != "STOPPED" {
			out[t.TaskArn] = true
		}
	}
	return out
}

// TestTaskProtectionScaleIn: scale-in skips protected tasks, says so in an
// event when they are more than the desired count, and stops them once
// the protection expires on the Client's clock.
func TestTaskProtectionScaleIn(t *testing.T) {
	c, clock, tasks := protectionFixture(t)
	ctx := t.Context()
	start := clock.Now()
	up, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[0].TaskArn, tasks[1].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: intp(30)})
	require.NoError(t, err)
	require.Empty(t, up.Failures)
	require.Len(t, up.ProtectedTasks, 2)
	for _, p := range up.ProtectedTasks {
		assert.True(t, p.ProtectionEnabled)
		assert.Equal(t, start.Add(30*time.Minute), p.ExpirationDate)
	}

	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "prod", Service: "web", DesiredCount: intp(0)})
	require.NoError(t, err)
	reconcile(t, c, clock, "prod")
	left := running(serviceTasks(t, c, "prod", "web"))
	assert.Equal(t, map[string]bool{tasks[0].TaskArn: true, tasks[1].TaskArn: true}, left, "only the unprotected task is stopped")
	s := describeService(t, c, "prod", "web")
	assert.Contains(t, messages(s)[0], "(service web) was unable to reach steady state because task set ("+s.Deployments[0].Id+") was unable to scale in. Reason: The number of protected tasks are more than the desired count of tasks.")
	events := len(s.Events)
	reconcile(t, c, clock, "prod")
	assert.Len(t, describeService(t, c, "prod", "web").Events, events, "the event is given once")

	// Removing one protection lets that task go at the next step.
	_, err = c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[1].TaskArn}, ProtectionEnabled: false})
	require.NoError(t, err)
	reconcile(t, c, clock, "prod")
	assert.Equal(t, map[string]bool{tasks[0].TaskArn: true}, running(serviceTasks(t, c, "prod", "web")))

	got, err := c.GetTaskProtection(ctx, &stevedore.GetTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[0].TaskArn, tasks[1].TaskArn}})
	require.NoError(t, err)
	require.Len(t, got.ProtectedTasks, 2)
	assert.True(t, got.ProtectedTasks[0].ProtectionEnabled)
	assert.False(t, got.ProtectedTasks[1].ProtectionEnabled)
	assert.True(t, got.ProtectedTasks[1].ExpirationDate.IsZero())

	// Nothing changes until the protection expires; then the step stops
	// the task, though the cluster did not change meanwhile.
	reconcile(t, c, clock, "prod")
	assert.Len(t, running(serviceTasks(t, c, "prod", "web")), 1)
	clock.Set(start.Add(30 * time.Minute))
	reconcile(t, c, clock, "prod")
	assert.Empty(t, running(serviceTasks(t, c, "prod", "web")))
	got, err = c.GetTaskProtection(ctx, &stevedore.GetTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[0].TaskArn}})
	require.NoError(t, err)
	assert.False(t, got.ProtectedTasks[0].ProtectionEnabled, "an expired protection reads as disabled")
}

// TestTaskProtectionDeployment: a deployment does not stop a protected
// task of the old revision; it finishes once the protection is removed.
func TestTaskProtectionDeployment(t *testing.T) {
	c, clock, tasks := protectionFixture(t)
	ctx := t.Context()
	_, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[2].TaskArn}, ProtectionEnabled: true})
	require.NoError(t, err)
	registerTaskDefinition(t, c, taskDefinition("web", 128, 256))
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "prod", Service: "web", TaskDefinition: "web:2"})
	require.NoError(t, err)
	for range 6 {
		settleServices(t, c, clock, "prod")
	}
	live := running(serviceTasks(t, c, "prod", "web"))
	assert.True(t, live[tasks[2].TaskArn], "the protected old task still runs")
	assert.Len(t, describeService(t, c, "prod", "web").Deployments, 2, "the deployment waits")
	_, err = c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[2].TaskArn}, ProtectionEnabled: false})
	require.NoError(t, err)
	for range 3 {
		settleServices(t, c, clock, "prod")
	}
	assert.False(t, running(serviceTasks(t, c, "prod", "web"))[tasks[2].TaskArn])
	assert.Len(t, describeService(t, c, "prod", "web").Deployments, 1)
}

// TestTaskProtectionErrors: bounds are errors that change nothing;
// unknown and standalone tasks are failures; StopTask still stops a
// protected task.
func TestTaskProtectionErrors(t *testing.T) {
	c, _, tasks := protectionFixture(t)
	ctx := t.Context()
	standalone := runTask(t, c, "prod", "web", 1)[0]
	before := snapshot(t, c)
	for name, in := range map[string]*stevedore.UpdateTaskProtectionInput{
		"no tasks":     {Cluster: "prod", ProtectionEnabled: true},
		"eleven tasks": {Cluster: "prod", Tasks: make([]string, 11), ProtectionEnabled: true},
		"zero minutes": {Cluster: "prod", Tasks: []string{tasks[0].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: intp(0)},
		"too long":     {Cluster: "prod", Tasks: []string{tasks[0].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: intp(2881)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.UpdateTaskProtection(ctx, in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		})
	}
	_, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "nope", Tasks: []string{tasks[0].TaskArn}, ProtectionEnabled: true})
	requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
	assert.Equal(t, before, snapshot(t, c))

	out, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{"0123456789abcdef0123456789abcdef", standalone.TaskArn, tasks[0].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: intp(2880)})
	require.NoError(t, err)
	require.Len(t, out.ProtectedTasks, 1)
	assert.Equal(t, tasks[0].TaskArn, out.ProtectedTasks[0].TaskArn)
	require.Len(t, out.Failures, 2)
	assert.Equal(t, stevedore.Failure{Arn: arnPrefix + "task/prod/0123456789abcdef0123456789abcdef", Reason: "MISSING"}, out.Failures[0])
	assert.Equal(t, standalone.TaskArn, out.Failures[1].Arn)
	assert.Equal(t, "TASK_NOT_VALID", out.Failures[1].Reason)

	stopped, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "prod", Task: tasks[0].TaskArn})
	require.NoError(t, err)
	assert.Equal(t, "STOPPED", stopped.Task.LastStatus, "protection does not hold against StopTask")
}

// TestTaskProtectionReviewCases: a scale-in that protection does not
// block gives no event; a stopped task loses its protection; DAEMON tasks
// cannot be protected.
func TestTaskProtectionReviewCases(t *testing.T) {
	c, clock, tasks := protectionFixture(t)
	ctx := t.Context()
	_, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[0].TaskArn}, ProtectionEnabled: true})
	require.NoError(t, err)
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "prod", Service: "web", DesiredCount: intp(2)})
	require.NoError(t, err)
	reconcile(t, c, clock, "prod")
	assert.Len(t, running(serviceTasks(t, c, "prod", "web")), 2)
	for _, m := range messages(describeService(t, c, "prod", "web")) {
		assert.NotContains(t, m, "unable to scale in", "one protected task does not block a scale-in of one")
	}

	_, err = c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "prod", Task: tasks[0].TaskArn})
	require.NoError(t, err)
	got, err := c.GetTaskProtection(ctx, &stevedore.GetTaskProtectionInput{Cluster: "prod", Tasks: []string{tasks[0].TaskArn}})
	require.NoError(t, err)
	require.Len(t, got.ProtectedTasks, 1)
	assert.False(t, got.ProtectedTasks[0].ProtectionEnabled, "a stopped task has no protection")

	registerTaskDefinition(t, c, taskDefinition("agent", 64, 64))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "prod", ServiceName: "agent", TaskDefinition: "agent", SchedulingStrategy: "DAEMON"})
	settleServices(t, c, clock, "prod")
	daemon := serviceTasks(t, c, "prod", "agent")
	require.NotEmpty(t, daemon)
	var web string
	for arn := range running(serviceTasks(t, c, "prod", "web")) {
		web = arn
	}
	up, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "prod", Tasks: []string{daemon[0].TaskArn, web}, ProtectionEnabled: true})
	require.NoError(t, err)
	require.Len(t, up.Failures, 1)
	assert.Equal(t, "TASK_NOT_VALID", up.Failures[0].Reason)
	assert.Equal(t, daemon[0].TaskArn, up.Failures[0].Arn)
	require.Len(t, up.ProtectedTasks, 1)
	assert.Equal(t, web, up.ProtectedTasks[0].TaskArn)
}
