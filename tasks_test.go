package stevedore_test

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

func TestRunTask(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", whitepaperResources(t))
	arn := registerTaskDefinition(t, c, fixtureTaskDefinition(t, "whitepaper-nginx-task.json"))

	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "whitepaper", Count: 0, StartedBy: "ci/run-42"})
	require.NoError(t, err)
	assert.Empty(t, out.Failures)
	require.Len(t, out.Tasks, 1, "count 0 means 1")
	task := out.Tasks[0]
	assert.Regexp(t, `^`+arnPrefix+`task/app01/[0-9a-f]{32}$`, task.TaskArn)
	assert.Equal(t, stevedore.Task{
		TaskArn: task.TaskArn, ClusterArn: arnPrefix + "cluster/app01", TaskDefinitionArn: arn,
		ContainerInstanceArn: ci.ContainerInstanceArn,
		LastStatus:           "PENDING", DesiredStatus: "RUNNING",
		Cpu: "1000", Memory: "500", Group: "family:whitepaper", StartedBy: "ci/run-42",
		LaunchType: "EC2", Version: 1, CreatedAt: t0,
		Overrides: &stevedore.TaskOverride{
			ContainerOverrides:            []stevedore.ContainerOverride{{Name: "nginx"}},
			InferenceAcceleratorOverrides: []taskdef.InferenceAcceleratorOverride{},
		},
		Containers: []stevedore.Container{{
			ContainerArn: task.Containers[0].ContainerArn, TaskArn: task.TaskArn, Name: "nginx", Image: "dockerfile/nginx",
			LastStatus: "PENDING", NetworkBindings: []stevedore.NetworkBinding{}, HealthStatus: "UNKNOWN", Cpu: "1000", Memory: "500",
		}},
	}, task)
	assert.Regexp(t, `^`+arnPrefix+`container/app01/`+taskID(task.TaskArn)+`/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, task.Containers[0].ContainerArn)
	assert.Equal(t, task, describeTask(t, c, "app01", task.TaskArn))
	got := describeInstance(t, c, "app01", ci.ContainerInstanceArn)
	assert.Equal(t, 1, got.PendingTasksCount)
	assert.Equal(t, 0, got.RunningTasksCount)
	assert.Equal(t, stevedore.Cluster{
		ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE",
		RegisteredContainerInstancesCount: 1, PendingTasksCount: 1,
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
	}, describeCluster(t, c, "app01"))

	t.Run("group", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		registerInstance(t, c, "app01", resources(1024, 1024))
		registerTaskDefinition(t, c, taskDefinition("web", 1, 1))
		out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Group: "batch:nightly"})
		require.NoError(t, err)
		require.Len(t, out.Tasks, 1)
		assert.Equal(t, "batch:nightly", out.Tasks[0].Group)
	})
}

func TestRunTaskInvalid(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	createCluster(t, c, "empty")
	registerInstance(t, c, "app01", resources(1024, 1024))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	awsvpc := taskDefinition("vpc", 100, 100)
	awsvpc.NetworkMode = taskdef.NetworkModeAwsvpc
	registerTaskDefinition(t, c, awsvpc)
	// The default group "family:<family>" of a 250-character family is
	// 257 characters: over the limit.
	long := strings.Repeat("f", 250)
	registerTaskDefinition(t, c, taskDefinition(long, 100, 100))

	type check func(t *testing.T, err error)
	invalid := func(message string) check {
		return func(t *testing.T, err error) {
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.ErrorIs(t, err, &stevedore.InvalidParameterException{})
			if message != "" {
				assert.Equal(t, message, e.ErrorMessage())
			}
		}
	}
	for _, tc := range []struct {
		name  string
		in    stevedore.RunTaskInput
		check check
	}{
		{"count 11", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: 11}, invalid("")},
		{"count -1", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: -1}, invalid("")},
		{"no instances", stevedore.RunTaskInput{Cluster: "empty", TaskDefinition: "web"}, invalid("No Container Instances were found in your cluster.")},
		{"no task definition", stevedore.RunTaskInput{Cluster: "app01"}, invalid("")},
		{"bad startedBy", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", StartedBy: "me@example.com"}, invalid("")},
		{"startedBy of 129", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", StartedBy: strings.Repeat("a", 129)}, invalid("")},
		{"group of 256", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Group: strings.Repeat("g", 256)}, invalid("")},
		{"default group of 257", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: long}, invalid("group must be at most 255 characters.")},
		{"bad launch type", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", LaunchType: "LAMBDA"}, invalid("")},
		{"FARGATE", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", LaunchType: "FARGATE"}, invalid("")},
		{"awsvpc without network configuration", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "vpc"}, invalid("")},
		{"network configuration for bridge", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web",
			NetworkConfiguration: &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}}, invalid("")},
		{"6 placement strategies", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web",
			PlacementStrategy: slices.Repeat([]stevedore.PlacementStrategy{{Type: "random"}}, 6)}, invalid("")},
		{"11 placement constraints", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web",
			PlacementConstraints: slices.Repeat([]stevedore.PlacementConstraint{{Type: "distinctInstance"}}, 11)}, invalid("")},
		{"unknown cluster", stevedore.RunTaskInput{Cluster: "nope", TaskDefinition: "web"}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
		}},
		{"bad task definition reference", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web:x"}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.ClientException](t, err)
		}},
		// ECS answers an unknown task definition with
		// "ClientException: TaskDefinition not found." (observed on
		// RunTask/CreateService, e.g. Cloud-CV/EvalAI#2419).
		{"unknown task definition", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "nope"}, func(t *testing.T, err error) {
			e := requireErrorAs[*stevedore.ClientException](t, err)
			assert.Equal(t, "TaskDefinition not found.", e.ErrorMessage())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			out, err := c.RunTask(ctx, &tc.in)
			assert.Nil(t, out)
			tc.check(t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

func TestRunTaskFailures(t *testing.T) {
	small := resources(1024, 996)
	for _, tc := range []struct {
		name      string
		instances [][]stevedore.Resource
		td        *stevedore.RegisterTaskDefinitionInput
		prepare   func(t *testing.T, c *stevedore.Client, instances []stevedore.ContainerInstance)
		// closest is the index of the instance the failure names.
		closest int
		want    stevedore.Failure
	}{
		{
			name: "CPU", instances: [][]stevedore.Resource{small, small}, td: taskDefinition("big", 2000, 100),
			want: stevedore.Failure{Reason: "RESOURCE:CPU", Detail: "RESOURCE:CPU: 2 instances", Checks: map[stevedore.FailureReason]int{"RESOURCE:CPU": 2}},
		},
		{
			name: "MEMORY", instances: [][]stevedore.Resource{small}, td: taskDefinition("big", 100, 2000),
			want: stevedore.Failure{Reason: "RESOURCE:MEMORY", Detail: "RESOURCE:MEMORY: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:MEMORY": 1}},
		},
		{
			name: "PORTS reserved by the agent", instances: [][]stevedore.Resource{small}, td: taskDefinition("ssh", 100, 100, taskdef.PortMapping{ContainerPort: 22, HostPort: 22}),
			want: stevedore.Failure{Reason: "RESOURCE:PORTS", Detail: "RESOURCE:PORTS: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:PORTS": 1}},
		},
		{
			name: "PORTS taken by a task", instances: [][]stevedore.Resource{resources(4096, 4096)}, td: taskDefinition("web", 100, 100, taskdef.PortMapping{ContainerPort: 8080, HostPort: 80}),
			prepare: func(t *testing.T, c *stevedore.Client, _ []stevedore.ContainerInstance) {
				runTask(t, c, "app01", "web", 1)
			},
			want: stevedore.Failure{Reason: "RESOURCE:PORTS", Detail: "RESOURCE:PORTS: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:PORTS": 1}},
		},
		{
			name: "AGENT", instances: [][]stevedore.Resource{small}, td: taskDefinition("web", 100, 100),
			prepare: func(t *testing.T, c *stevedore.Client, instances []stevedore.ContainerInstance) {
				_, err := c.SetAgentConnected(t.Context(), &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: instances[0].ContainerInstanceArn})
				require.NoError(t, err)
			},
			want: stevedore.Failure{Reason: "AGENT", Detail: "AGENT: 1 instance", Checks: map[stevedore.FailureReason]int{"AGENT": 1}},
		},
		{
			name:      "the closest instance is named",
			instances: [][]stevedore.Resource{resources(256, 4096), resources(4096, 256), resources(256, 256)},
			td:        taskDefinition("web", 512, 512), closest: 1,
			want: stevedore.Failure{Reason: "RESOURCE:MEMORY", Detail: "RESOURCE:CPU: 2 instances, RESOURCE:MEMORY: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:CPU": 2, "RESOURCE:MEMORY": 1}},
		},
		{
			name:      "the closest instance is named: AGENT beats CPU",
			instances: [][]stevedore.Resource{resources(256, 4096), resources(4096, 4096)},
			td:        taskDefinition("web", 512, 512), closest: 1,
			prepare: func(t *testing.T, c *stevedore.Client, instances []stevedore.ContainerInstance) {
				_, err := c.SetAgentConnected(t.Context(), &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: instances[1].ContainerInstanceArn})
				require.NoError(t, err)
			},
			want: stevedore.Failure{Reason: "AGENT", Detail: "RESOURCE:CPU: 1 instance, AGENT: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:CPU": 1, "AGENT": 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			createCluster(t, c, "app01")
			var instances []stevedore.ContainerInstance
			for _, rs := range tc.instances {
				instances = append(instances, registerInstance(t, c, "app01", rs))
			}
			registerTaskDefinition(t, c, tc.td)
			if tc.prepare != nil {
				tc.prepare(t, c, instances)
			}
			before := snapshot(t, c)
			out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: tc.td.Family})
			require.NoError(t, err, "a placement failure is not an error")
			want := tc.want
			want.Arn = instances[tc.closest].ContainerInstanceArn
			assert.Equal(t, &stevedore.RunTaskOutput{Tasks: []stevedore.Task{}, Failures: []stevedore.Failure{want}}, out)
			assert.Equal(t, before, snapshot(t, c), "a task that was not placed changes nothing")
		})
	}
}

func TestRunTaskPartial(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(3072, 8192))
	registerTaskDefinition(t, c, taskDefinition("web", 1024, 128))
	out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: 5})
	require.NoError(t, err)
	assert.Len(t, out.Tasks, 3)
	assert.Equal(t, []stevedore.Failure{
		{Arn: ci.ContainerInstanceArn, Reason: "RESOURCE:CPU", Detail: "RESOURCE:CPU: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:CPU": 1}},
		{Arn: ci.ContainerInstanceArn, Reason: "RESOURCE:CPU", Detail: "RESOURCE:CPU: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:CPU": 1}},
	}, out.Failures)
	assert.Equal(t, int64(0), remaining(t, describeInstance(t, c, "app01", ci.ContainerInstanceArn), "CPU").IntegerValue)
}

func TestRunTaskSpreads(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	var arns []string
	for range 4 {
		arns = append(arns, registerInstance(t, c, "app01", resources(8192, 8192)).ContainerInstanceArn)
	}
	registerTaskDefinition(t, c, taskDefinition("web", 10, 10))
	count := map[string]int{}
	for range 4 {
		for _, task := range runTask(t, c, "app01", "web", 10) {
			count[task.ContainerInstanceArn]++
		}
	}
	for _, arn := range arns {
		assert.InDeltaf(t, 10, count[arn], 4, "40 tasks on 4 instances: %v", count)
	}
}

func TestRunTaskProtocols(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("dns-udp", 10, 10, taskdef.PortMapping{ContainerPort: 53, HostPort: 53, Protocol: "udp"}))
	registerTaskDefinition(t, c, taskDefinition("dns-tcp", 10, 10, taskdef.PortMapping{ContainerPort: 53, HostPort: 53, Protocol: "tcp"}))
	registerTaskDefinition(t, c, taskDefinition("dynamic", 10, 10, taskdef.PortMapping{ContainerPort: 8080}))

	runTask(t, c, "app01", "dns-udp", 1)
	runTask(t, c, "app01", "dns-tcp", 1)
	runTask(t, c, "app01", "dynamic", 3)
	got := describeInstance(t, c, "app01", ci.ContainerInstanceArn)
	assert.Equal(t, []string{"22", "53", "2375", "2376", "51678", "51679"}, remaining(t, got, "PORTS").StringSetValue)
	assert.Equal(t, []string{"53"}, remaining(t, got, "PORTS_UDP").StringSetValue)

	for _, family := range []string{"dns-udp", "dns-tcp"} {
		out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: family})
		require.NoError(t, err)
		assert.Empty(t, out.Tasks)
		require.Len(t, out.Failures, 1)
		assert.True(t, strings.HasPrefix(out.Failures[0].Reason, "RESOURCE:PORTS"), "%s: got %q", family, out.Failures[0].Reason)
	}
}

func TestRunTaskGPU(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "gpu")
	out, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
		Cluster: "gpu", TotalResources: resources(8192, 30000),
		PlatformDevices: []stevedore.PlatformDevice{{Id: "GPU-0", Type: "GPU"}, {Id: "GPU-1", Type: "GPU"}},
	})
	require.NoError(t, err)
	ci := out.ContainerInstance
	td := taskDefinition("train", 1024, 1024)
	td.ContainerDefinitions[0].ResourceRequirements = []taskdef.ResourceRequirement{{Type: "GPU", Value: "1"}}
	registerTaskDefinition(t, c, td)

	first := runTask(t, c, "gpu", "train", 1)[0]
	second := runTask(t, c, "gpu", "train", 1)[0]
	assert.Equal(t, []string{"GPU-0"}, first.GpuIds)
	assert.Equal(t, []string{"GPU-1"}, second.GpuIds)
	assert.Equal(t, stevedore.Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: []string{}},
		remaining(t, describeInstance(t, c, "gpu", ci.ContainerInstanceArn), "GPU"))

	before := snapshot(t, c)
	third, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "gpu", TaskDefinition: "train"})
	require.NoError(t, err)
	assert.Empty(t, third.Tasks)
	assert.Equal(t, []stevedore.Failure{{Arn: ci.ContainerInstanceArn, Reason: "RESOURCE:GPU", Detail: "RESOURCE:GPU: 1 instance", Checks: map[stevedore.FailureReason]int{"RESOURCE:GPU": 1}}}, third.Failures)
	assert.Equal(t, before, snapshot(t, c))

	_, err = c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "gpu", Task: first.TaskArn})
	require.NoError(t, err)
	assert.Equal(t, stevedore.Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: []string{"GPU-0"}},
		remaining(t, describeInstance(t, c, "gpu", ci.ContainerInstanceArn), "GPU"))
	assert.Equal(t, []string{"GPU-0"}, runTask(t, c, "gpu", "train", 1)[0].GpuIds, "a stopped task's GPU is free again")
}

func TestStartTask(t *testing.T) {
	setup := func(t *testing.T) (*stevedore.Client, []stevedore.ContainerInstance) {
		t.Helper()
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		instances := []stevedore.ContainerInstance{
			registerInstance(t, c, "app01", resources(2048, 2048)),
			registerInstance(t, c, "app01", resources(1024, 1024)),
			registerInstance(t, c, "app01", resources(4096, 256)),
		}
		registerTaskDefinition(t, c, taskDefinition("web", 1000, 500, taskdef.PortMapping{ContainerPort: 80, HostPort: 8080}))
		return c, instances
	}
	idOf := func(ci stevedore.ContainerInstance) string {
		return ci.ContainerInstanceArn[len(arnPrefix+"container-instance/app01/"):]
	}

	t.Run("pinned to the named instances", func(t *testing.T) {
		c, instances := setup(t)
		out, err := c.StartTask(t.Context(), &stevedore.StartTaskInput{
			Cluster: "app01", TaskDefinition: "web:1", StartedBy: "my-scheduler",
			ContainerInstances: []string{instances[1].ContainerInstanceArn, idOf(instances[0])},
		})
		require.NoError(t, err)
		assert.Empty(t, out.Failures)
		require.Len(t, out.Tasks, 2)
		assert.Equal(t, instances[1].ContainerInstanceArn, out.Tasks[0].ContainerInstanceArn)
		assert.Equal(t, instances[0].ContainerInstanceArn, out.Tasks[1].ContainerInstanceArn)
		for _, task := range out.Tasks {
			assert.Equal(t, "PENDING", task.LastStatus)
			assert.Equal(t, "RUNNING", task.DesiredStatus)
			assert.Equal(t, "family:web", task.Group)
			assert.Equal(t, "my-scheduler", task.StartedBy)
		}
	})
	t.Run("the same instance twice", func(t *testing.T) {
		c, instances := setup(t)
		two := instances[0].ContainerInstanceArn
		registerTaskDefinition(t, c, taskDefinition("worker", 1000, 500))
		out, err := c.StartTask(t.Context(), &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "worker", ContainerInstances: []string{two, two, two}})
		require.NoError(t, err)
		require.Len(t, out.Tasks, 2, "2048 CPU take two tasks of 1000")
		assert.Equal(t, two, out.Tasks[0].ContainerInstanceArn)
		assert.Equal(t, two, out.Tasks[1].ContainerInstanceArn)
		assert.NotEqual(t, out.Tasks[0].TaskArn, out.Tasks[1].TaskArn)
		assert.Equal(t, []stevedore.Failure{{Arn: two, Reason: "RESOURCE:CPU"}}, out.Failures)
		assert.Equal(t, int64(48), remaining(t, describeInstance(t, c, "app01", two), "CPU").IntegerValue)

		big := registerInstance(t, c, "app01", resources(4096, 4096)).ContainerInstanceArn
		out, err = c.StartTask(t.Context(), &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{big, big}})
		require.NoError(t, err)
		require.Len(t, out.Tasks, 1)
		assert.Equal(t, big, out.Tasks[0].ContainerInstanceArn)
		assert.Equal(t, []stevedore.Failure{{Arn: big, Reason: "RESOURCE:PORTS"}}, out.Failures, "the second task's host port 8080 is taken by the first")
	})
	t.Run("failures", func(t *testing.T) {
		c, instances := setup(t)
		ctx := t.Context()
		_, err := c.SetAgentConnected(ctx, &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: instances[0].ContainerInstanceArn})
		require.NoError(t, err)
		gone := registerInstance(t, c, "app01", resources(4096, 4096))
		_, err = c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: gone.ContainerInstanceArn})
		require.NoError(t, err)
		small := registerInstance(t, c, "app01", resources(512, 4096))

		before := snapshot(t, c)
		out, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{
			"0123456789abcdef", gone.ContainerInstanceArn, small.ContainerInstanceArn, instances[2].ContainerInstanceArn, instances[0].ContainerInstanceArn,
		}})
		require.NoError(t, err)
		assert.Equal(t, &stevedore.StartTaskOutput{Tasks: []stevedore.Task{}, Failures: []stevedore.Failure{
			{Arn: arnPrefix + "container-instance/app01/0123456789abcdef", Reason: "MISSING"},
			{Arn: gone.ContainerInstanceArn, Reason: "INACTIVE"},
			{Arn: small.ContainerInstanceArn, Reason: "RESOURCE:CPU"},
			{Arn: instances[2].ContainerInstanceArn, Reason: "RESOURCE:MEMORY"},
			{Arn: instances[0].ContainerInstanceArn, Reason: "AGENT"},
		}}, out)
		assert.Equal(t, before, snapshot(t, c))
	})
	t.Run("some placed, some not", func(t *testing.T) {
		c, instances := setup(t)
		out, err := c.StartTask(t.Context(), &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{
			instances[2].ContainerInstanceArn, instances[1].ContainerInstanceArn,
		}})
		require.NoError(t, err)
		require.Len(t, out.Tasks, 1)
		assert.Equal(t, instances[1].ContainerInstanceArn, out.Tasks[0].ContainerInstanceArn)
		assert.Equal(t, []stevedore.Failure{{Arn: instances[2].ContainerInstanceArn, Reason: "RESOURCE:MEMORY"}}, out.Failures)
	})

	c, instances := setup(t)
	for _, tc := range []struct {
		name  string
		in    stevedore.StartTaskInput
		check func(t *testing.T, err error)
	}{
		{"no instances", stevedore.StartTaskInput{TaskDefinition: "web"}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
		{"11 instances", stevedore.StartTaskInput{TaskDefinition: "web", ContainerInstances: slices.Repeat([]string{instances[0].ContainerInstanceArn}, 11)}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
		{"startedBy of 37", stevedore.StartTaskInput{TaskDefinition: "web", StartedBy: strings.Repeat("a", 37), ContainerInstances: []string{instances[0].ContainerInstanceArn}}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
		{"unknown cluster", stevedore.StartTaskInput{Cluster: "nope", TaskDefinition: "web", ContainerInstances: []string{instances[0].ContainerInstanceArn}}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
		}},
		// As for RunTask: ECS says "ClientException: TaskDefinition not found."
		{"unknown task definition", stevedore.StartTaskInput{TaskDefinition: "nope", ContainerInstances: []string{instances[0].ContainerInstanceArn}}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.ClientException](t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.Cluster == "" {
				tc.in.Cluster = "app01"
			}
			before := snapshot(t, c)
			_, err := c.StartTask(t.Context(), &tc.in)
			tc.check(t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

func TestDescribeTasks(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	tasks := runTask(t, c, "app01", "web", 2)
	id := tasks[1].TaskArn[len(arnPrefix+"task/app01/"):]

	out, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "app01", Tasks: []string{tasks[0].TaskArn, "0123", id, arnPrefix + "task/app01/4567"}})
	require.NoError(t, err)
	assert.Equal(t, &stevedore.DescribeTasksOutput{
		Tasks: []stevedore.Task{tasks[0], tasks[1]},
		Failures: []stevedore.Failure{
			{Arn: arnPrefix + "task/app01/0123", Reason: "MISSING"},
			{Arn: arnPrefix + "task/app01/4567", Reason: "MISSING"},
		},
	}, out)

	for _, tc := range []struct {
		name    string
		in      stevedore.DescribeTasksInput
		message string
	}{
		{"empty", stevedore.DescribeTasksInput{Cluster: "app01"}, "Tasks cannot be empty."},
		{"101 tasks", stevedore.DescribeTasksInput{Cluster: "app01", Tasks: ports(1, 101)}, "taskIds can have at most 100 items."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			_, err := c.DescribeTasks(ctx, &tc.in)
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, tc.message, e.ErrorMessage())
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("unknown cluster", func(t *testing.T) {
		_, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "nope", Tasks: []string{id}})
		requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
	})
}

// TestStoppedTaskRetention: STOPPED tasks stay visible for an hour (the
// default retention) and are then MISSING, even if nothing else happens in
// the cluster meanwhile.
func TestStoppedTaskRetention(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	task := runTask(t, c, "app01", "web", 1)[0]
	_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn})
	require.NoError(t, err)

	clock.Advance(59 * time.Minute)
	assert.Equal(t, "STOPPED", describeTask(t, c, "app01", task.TaskArn).LastStatus, "visible within the hour")

	clock.Advance(2 * time.Hour)
	out, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "app01", Tasks: []string{task.TaskArn}})
	require.NoError(t, err)
	assert.Empty(t, out.Tasks, "a STOPPED task past its retention is not described")
	assert.Equal(t, []stevedore.Failure{{Arn: task.TaskArn, Reason: "MISSING"}}, out.Failures)
	l, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app01", DesiredStatus: "STOPPED"})
	require.NoError(t, err)
	assert.Empty(t, l.TaskArns, "a STOPPED task past its retention is not listed")
}

func TestListTasks(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	a := registerInstance(t, c, "app01", resources(4096, 4096))
	b := registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	registerTaskDefinition(t, c, taskDefinition("api", 100, 100))
	start := func(family, startedBy string, on stevedore.ContainerInstance) string {
		out, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: family, StartedBy: startedBy, ContainerInstances: []string{on.ContainerInstanceArn}})
		require.NoError(t, err)
		require.Len(t, out.Tasks, 1)
		return out.Tasks[0].TaskArn
	}
	webA := start("web", "deployer", a)
	webB := start("web", "", b)
	apiA := start("api", "deployer", a)
	apiB := start("api", "", b)
	stopped := start("web", "deployer", b)
	_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: stopped})
	require.NoError(t, err)
	_, err = c.SubmitTaskStateChange(ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: apiB, Status: "RUNNING"})
	require.NoError(t, err)
	sorted := func(s ...string) []string { slices.Sort(s); return s }

	for _, tc := range []struct {
		name string
		in   stevedore.ListTasksInput
		want []string
	}{
		{"all running", stevedore.ListTasksInput{}, sorted(webA, webB, apiA, apiB)},
		{"family", stevedore.ListTasksInput{Family: "web"}, sorted(webA, webB)},
		{"container instance", stevedore.ListTasksInput{ContainerInstance: a.ContainerInstanceArn}, sorted(webA, apiA)},
		{"family and container instance", stevedore.ListTasksInput{Family: "api", ContainerInstance: b.ContainerInstanceArn}, []string{apiB}},
		{"startedBy", stevedore.ListTasksInput{StartedBy: "deployer"}, sorted(webA, apiA, stopped)},
		{"STOPPED", stevedore.ListTasksInput{DesiredStatus: "STOPPED"}, []string{stopped}},
		{"STOPPED family", stevedore.ListTasksInput{DesiredStatus: "STOPPED", Family: "api"}, nil},
		{"PENDING", stevedore.ListTasksInput{DesiredStatus: "PENDING"}, sorted(webA, webB, apiA)},
		{"EC2", stevedore.ListTasksInput{LaunchType: "EC2", Family: "api"}, sorted(apiA, apiB)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			out, err := c.ListTasks(ctx, &tc.in)
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.want, nilIfEmpty(out.TaskArns), "tasks come in creation order")
			assert.Empty(t, out.NextToken)
		})
	}
	t.Run("pages", func(t *testing.T) {
		first, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app01", MaxResults: 3})
		require.NoError(t, err)
		require.NotEmpty(t, first.NextToken)
		second, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app01", MaxResults: 3, NextToken: first.NextToken})
		require.NoError(t, err)
		assert.Empty(t, second.NextToken)
		assert.ElementsMatch(t, sorted(webA, webB, apiA, apiB), append(first.TaskArns, second.TaskArns...))
	})
	for _, tc := range []struct {
		name string
		in   stevedore.ListTasksInput
	}{
		{"startedBy with family", stevedore.ListTasksInput{StartedBy: "deployer", Family: "web"}},
		{"startedBy with container instance", stevedore.ListTasksInput{StartedBy: "deployer", ContainerInstance: a.ContainerInstanceArn}},
		{"startedBy with desiredStatus", stevedore.ListTasksInput{StartedBy: "deployer", DesiredStatus: "RUNNING"}},
		{"bad desiredStatus", stevedore.ListTasksInput{DesiredStatus: "DONE"}},
		{"FARGATE", stevedore.ListTasksInput{LaunchType: "FARGATE"}},
		{"unknown container instance", stevedore.ListTasksInput{ContainerInstance: "0123"}},
		{"maxResults 101", stevedore.ListTasksInput{MaxResults: 101}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.ListTasks(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

func TestStopTask(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(2048, 2048))
	registerTaskDefinition(t, c, fixtureTaskDefinition(t, "whitepaper-nginx-task.json"))
	task := runTask(t, c, "app01", "whitepaper", 1)[0]

	blocked, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "whitepaper"})
	require.NoError(t, err)
	require.Len(t, blocked.Failures, 1)
	assert.Equal(t, "RESOURCE:PORTS", blocked.Failures[0].Reason, "host port 80 is taken")

	now := clock.Advance(time.Minute)
	out, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn, Reason: "Scaling in"})
	require.NoError(t, err)
	want := task
	want.LastStatus, want.DesiredStatus = "STOPPED", "STOPPED"
	want.StoppingAt, want.StoppedAt = now, now
	want.StoppedReason, want.StopCode = "Scaling in", "UserInitiated"
	want.Version = out.Task.Version
	want.Containers = slices.Clone(task.Containers)
	want.Containers[0].LastStatus = "STOPPED"
	assert.Equal(t, want, out.Task)
	assert.Greater(t, out.Task.Version, task.Version)
	assert.Equal(t, out.Task, describeTask(t, c, "app01", task.TaskArn))
	got := describeInstance(t, c, "app01", ci.ContainerInstanceArn)
	assert.Equal(t, got.RegisteredResources, got.RemainingResources, "CPU, memory and port 80 are released")
	assert.Equal(t, 0, got.PendingTasksCount)

	t.Run("the port is free again", func(t *testing.T) {
		runTask(t, c, "app01", "whitepaper", 1)
	})
	t.Run("stopping a stopped task returns it", func(t *testing.T) {
		clock.Advance(time.Minute)
		again, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn, Reason: "again"})
		require.NoError(t, err)
		assert.Equal(t, out.Task, again.Task)
	})
	for _, tc := range []struct {
		name string
		in   stevedore.StopTaskInput
	}{
		{"unknown task", stevedore.StopTaskInput{Task: "0123"}},
		{"unknown task ARN", stevedore.StopTaskInput{Task: arnPrefix + "task/app01/0123"}},
		{"no task", stevedore.StopTaskInput{}},
		{"reason of 256", stevedore.StopTaskInput{Task: task.TaskArn, Reason: strings.Repeat("r", 256)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.StopTask(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

func TestStopTaskDefaultReason(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	registerInstance(t, c, "app01", resources(2048, 2048))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	task := runTask(t, c, "app01", "web", 1)[0]
	out, err := c.StopTask(t.Context(), &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn[len(arnPrefix+"task/app01/"):]})
	require.NoError(t, err)
	assert.Equal(t, "Task stopped by user", out.Task.StoppedReason)
	assert.Equal(t, "UserInitiated", out.Task.StopCode)
}

func TestSubmitTaskStateChange(t *testing.T) {
	setup := func(t *testing.T) (*stevedore.Client, *stevedore.ManualClock, stevedore.ContainerInstance, stevedore.Task) {
		t.Helper()
		c, clock := newClient(t)
		createCluster(t, c, "app01")
		ci := registerInstance(t, c, "app01", resources(2048, 2048))
		registerTaskDefinition(t, c, taskDefinition("web", 100, 100, taskdef.PortMapping{ContainerPort: 80, HostPort: 80}))
		return c, clock, ci, runTask(t, c, "app01", "web", 1)[0]
	}
	submit := func(t *testing.T, c *stevedore.Client, task, status string) {
		t.Helper()
		out, err := c.SubmitTaskStateChange(t.Context(), &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: task, Status: status})
		require.NoError(t, err)
		assert.Equal(t, "true", out.Acknowledgment)
	}

	t.Run("RUNNING then STOPPED", func(t *testing.T) {
		c, clock, ci, task := setup(t)
		started := clock.Advance(10 * time.Second)
		submit(t, c, task.TaskArn, "RUNNING")
		got := describeTask(t, c, "app01", task.TaskArn)
		assert.Equal(t, "RUNNING", got.LastStatus)
		assert.Equal(t, "RUNNING", got.DesiredStatus)
		assert.Equal(t, started, got.StartedAt)
		inst := describeInstance(t, c, "app01", ci.ContainerInstanceArn)
		assert.Equal(t, 1, inst.RunningTasksCount)
		assert.Equal(t, 0, inst.PendingTasksCount)
		cl := describeCluster(t, c, "app01")
		assert.Equal(t, 1, cl.RunningTasksCount)
		assert.Equal(t, 0, cl.PendingTasksCount)

		stopped := clock.Advance(time.Hour)
		submit(t, c, task.TaskArn, "STOPPED")
		got = describeTask(t, c, "app01", task.TaskArn)
		assert.Equal(t, "STOPPED", got.LastStatus)
		assert.Equal(t, "STOPPED", got.DesiredStatus)
		assert.Equal(t, "EssentialContainerExited", got.StopCode)
		assert.Equal(t, "Essential container in task exited", got.StoppedReason)
		assert.Equal(t, stopped, got.StoppedAt)
		inst = describeInstance(t, c, "app01", ci.ContainerInstanceArn)
		assert.Equal(t, 0, inst.RunningTasksCount)
		assert.Equal(t, inst.RegisteredResources, inst.RemainingResources)
		assert.Equal(t, 0, describeCluster(t, c, "app01").RunningTasksCount)
	})
	t.Run("STOPPED before RUNNING", func(t *testing.T) {
		c, _, ci, task := setup(t)
		out, err := c.SubmitTaskStateChange(t.Context(), &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: task.TaskArn, Status: "STOPPED", Reason: "CannotPullContainerError"})
		require.NoError(t, err)
		assert.Equal(t, "true", out.Acknowledgment)
		got := describeTask(t, c, "app01", task.TaskArn)
		assert.Equal(t, "STOPPED", got.LastStatus)
		assert.Equal(t, "TaskFailedToStart", got.StopCode)
		assert.Equal(t, "CannotPullContainerError", got.StoppedReason)
		assert.True(t, got.StartedAt.IsZero())
		inst := describeInstance(t, c, "app01", ci.ContainerInstanceArn)
		assert.Equal(t, 0, inst.PendingTasksCount)
		assert.Equal(t, inst.RegisteredResources, inst.RemainingResources)
	})

	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, c *stevedore.Client, task string)
		in      func(task string) stevedore.SubmitTaskStateChangeInput
	}{
		{"bad status", nil, func(task string) stevedore.SubmitTaskStateChangeInput {
			return stevedore.SubmitTaskStateChangeInput{Task: task, Status: "PENDING"}
		}},
		{"no task", nil, func(string) stevedore.SubmitTaskStateChangeInput {
			return stevedore.SubmitTaskStateChangeInput{Status: "RUNNING"}
		}},
		{"unknown task", nil, func(string) stevedore.SubmitTaskStateChangeInput {
			return stevedore.SubmitTaskStateChangeInput{Task: "0123", Status: "RUNNING"}
		}},
		{"RUNNING twice", func(t *testing.T, c *stevedore.Client, task string) { submit(t, c, task, "RUNNING") },
			func(task string) stevedore.SubmitTaskStateChangeInput {
				return stevedore.SubmitTaskStateChangeInput{Task: task, Status: "RUNNING"}
			}},
		{"RUNNING after STOPPED", func(t *testing.T, c *stevedore.Client, task string) { submit(t, c, task, "STOPPED") },
			func(task string) stevedore.SubmitTaskStateChangeInput {
				return stevedore.SubmitTaskStateChangeInput{Task: task, Status: "RUNNING"}
			}},
		{"STOPPED twice", func(t *testing.T, c *stevedore.Client, task string) { submit(t, c, task, "STOPPED") },
			func(task string) stevedore.SubmitTaskStateChangeInput {
				return stevedore.SubmitTaskStateChangeInput{Task: task, Status: "STOPPED"}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clock, _, task := setup(t)
			if tc.prepare != nil {
				tc.prepare(t, c, task.TaskArn)
			}
			clock.Advance(time.Minute)
			before := snapshot(t, c)
			in := tc.in(task.TaskArn)
			in.Cluster = "app01"
			_, err := c.SubmitTaskStateChange(t.Context(), &in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

// TestUnitText: amounts print in decimal, cached or not, from many
// goroutines at once.
func TestUnitText(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range int64(3000) {
				n := i*7 + int64(g)
				if got := stevedore.UnitTextForTest(n); got != strconv.FormatInt(n, 10) {
					t.Errorf("unitText(%d) = %q", n, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
