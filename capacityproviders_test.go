package stevedore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// createGroup creates a modelled Auto Scaling group of instances with cpu
// and memory in cluster.
func createGroup(t *testing.T, c *stevedore.Client, cluster, name string, cpu, memory int64, in stevedore.CreateAutoScalingGroupInput) stevedore.AutoScalingGroup {
	t.Helper()
	in.AutoScalingGroupName, in.Cluster = name, cluster
	if in.TotalResources == nil {
		in.TotalResources = resources(cpu, memory)
	}
	if in.MaxSize == 0 {
		in.MaxSize = 10
	}
	out, err := c.CreateAutoScalingGroup(t.Context(), &in)
	require.NoError(t, err)
	return out.AutoScalingGroup
}

// createProvider creates a capacity provider for a group.
func createProvider(t *testing.T, c *stevedore.Client, name, group string, asgp stevedore.AutoScalingGroupProvider) stevedore.CapacityProvider {
	t.Helper()
	asgp.AutoScalingGroupArn = group
	out, err := c.CreateCapacityProvider(t.Context(), &stevedore.CreateCapacityProviderInput{Name: name, AutoScalingGroupProvider: &asgp})
	require.NoError(t, err)
	return out.CapacityProvider
}

// putProviders sets a cluster's capacity providers and default strategy.
func putProviders(t *testing.T, c *stevedore.Client, cluster string, providers []string, strategy ...stevedore.CapacityProviderStrategyItem) {
	t.Helper()
	_, err := c.PutClusterCapacityProviders(t.Context(), &stevedore.PutClusterCapacityProvidersInput{
		Cluster: cluster, CapacityProviders: providers, DefaultCapacityProviderStrategy: strategy,
	})
	require.NoError(t, err)
}

// registerOn registers an instance of a capacity provider.
func registerOn(t *testing.T, c *stevedore.Client, cluster, provider string, cpu, memory int64) stevedore.ContainerInstance {
	t.Helper()
	out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
		Cluster: cluster, TotalResources: resources(cpu, memory), CapacityProviderName: provider,
	})
	require.NoError(t, err)
	return out.ContainerInstance
}

func manage(t *testing.T, c *stevedore.Client, cluster string) *stevedore.ManageCapacityOutput {
	t.Helper()
	out, err := c.ManageCapacity(t.Context(), &stevedore.ManageCapacityInput{Cluster: cluster})
	require.NoError(t, err)
	return out
}

func intOf(n int) *int { return &n }

// TestCapacityProviderLifecycle: create, describe, update, associate,
// delete, each with ECS's defaults and rules.
func TestCapacityProviderLifecycle(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	g := createGroup(t, c, "app", "asg-a", 2048, 4096, stevedore.CreateAutoScalingGroupInput{})
	assert.Regexp(t, `^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName/asg-a$`, g.AutoScalingGroupARN)

	p := createProvider(t, c, "cp-a", g.AutoScalingGroupARN, stevedore.AutoScalingGroupProvider{})
	assert.Equal(t, arnPrefix+"capacity-provider/cp-a", p.CapacityProviderArn)
	assert.Equal(t, "ACTIVE", p.Status)
	ms := p.AutoScalingGroupProvider.ManagedScaling
	require.NotNil(t, ms)
	assert.Equal(t, stevedore.ManagedScaling{Status: "DISABLED", TargetCapacity: 100, MinimumScalingStepSize: 1, MaximumScalingStepSize: 10000, InstanceWarmupPeriod: intOf(300)}, *ms)
	assert.Equal(t, "DISABLED", p.AutoScalingGroupProvider.ManagedTerminationProtection)
	assert.Equal(t, "ENABLED", p.AutoScalingGroupProvider.ManagedDraining)

	bad := []struct {
		name string
		in   stevedore.CreateCapacityProviderInput
		want string
	}{
		{"prefix aws", stevedore.CreateCapacityProviderInput{Name: "AWSthing", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}}, "cannot be prefixed"},
		{"prefix fargate", stevedore.CreateCapacityProviderInput{Name: "fargate-x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}}, "cannot be prefixed"},
		{"characters", stevedore.CreateCapacityProviderInput{Name: "a b", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}}, "letters"},
		{"no group", stevedore.CreateCapacityProviderInput{Name: "x"}, "autoScalingGroupArn is required"},
		{"unknown group", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "nope"}}, "no such Auto Scaling group"},
		{"group in use", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}}, "already being used by capacity provider cp-a"},
		{"target 0..100", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a", ManagedScaling: &stevedore.ManagedScaling{TargetCapacity: 101}}}, "targetCapacity must be between 1 and 100"},
		{"steps", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a", ManagedScaling: &stevedore.ManagedScaling{MinimumScalingStepSize: 5, MaximumScalingStepSize: 2}}}, "cannot be greater than"},
		{"warmup", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a", ManagedScaling: &stevedore.ManagedScaling{InstanceWarmupPeriod: intOf(-1)}}}, "instanceWarmupPeriod"},
		{"status", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a", ManagedDraining: "ON"}}, "ENABLED or DISABLED"},
		{"termination protection", stevedore.CreateCapacityProviderInput{Name: "x", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a", ManagedTerminationProtection: "ENABLED"}}, "instance protection from scale in enabled"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := c.CreateCapacityProvider(ctx, &in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err := c.CreateCapacityProvider(ctx, &stevedore.CreateCapacityProviderInput{Name: "cp-a", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-a"}})
	requireErrorAs[*stevedore.ClientException](t, err)
	assert.ErrorContains(t, err, "already exists")

	up, err := c.UpdateCapacityProvider(ctx, &stevedore.UpdateCapacityProviderInput{Name: "cp-a", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProviderUpdate{
		ManagedScaling: &stevedore.ManagedScaling{Status: "ENABLED", TargetCapacity: 90},
	}})
	require.NoError(t, err)
	assert.Equal(t, "UPDATE_COMPLETE", up.CapacityProvider.UpdateStatus)
	assert.Equal(t, stevedore.ManagedScaling{Status: "ENABLED", TargetCapacity: 90, MinimumScalingStepSize: 1, MaximumScalingStepSize: 10000, InstanceWarmupPeriod: intOf(300)}, *up.CapacityProvider.AutoScalingGroupProvider.ManagedScaling)

	// A strategy's providers must be the cluster's.
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "app",
		DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Weight: 1}}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "default capacity provider strategy cannot contain a capacity provider that is not associated with the cluster")
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "app", CapacityProviders: []string{"nope"}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "missing", CapacityProviders: []string{"cp-a"}})
	requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
	putProviders(t, c, "app", []string{p.CapacityProviderArn}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "cp-a", Base: 1, Weight: 1})
	cl := describeCluster(t, c, "app")
	assert.Equal(t, []string{"cp-a"}, cl.CapacityProviders)
	assert.Equal(t, []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "cp-a", Base: 1, Weight: 1}}, cl.DefaultCapacityProviderStrategy)

	// One cluster per provider.
	createCluster(t, c, "other")
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "other", CapacityProviders: []string{"cp-a"}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "already associated with cluster app")

	// In use: not deleted, not removed while a task runs through it.
	_, err = c.DeleteCapacityProvider(ctx, &stevedore.DeleteCapacityProviderInput{CapacityProvider: "cp-a"})
	requireErrorAs[*stevedore.ResourceInUseException](t, err)
	registerOn(t, c, "app", "cp-a", 1024, 1024)
	td := registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	tasks := runTask(t, c, "app", td, 1)
	assert.Equal(t, "cp-a", tasks[0].CapacityProviderName)
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "app", CapacityProviders: []string{}})
	requireErrorAs[*stevedore.ResourceInUseException](t, err)
	_, err = c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: tasks[0].TaskArn})
	require.NoError(t, err)
	putProviders(t, c, "app", []string{})
	assert.Empty(t, describeCluster(t, c, "app").CapacityProviders)

	del, err := c.DeleteCapacityProvider(ctx, &stevedore.DeleteCapacityProviderInput{CapacityProvider: p.CapacityProviderArn})
	require.NoError(t, err)
	assert.Equal(t, "INACTIVE", del.CapacityProvider.Status)
	assert.Equal(t, "DELETE_COMPLETE", del.CapacityProvider.UpdateStatus)
	_, err = c.UpdateCapacityProvider(ctx, &stevedore.UpdateCapacityProviderInput{Name: "cp-a", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProviderUpdate{}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)

	d, err := c.DescribeCapacityProviders(ctx, &stevedore.DescribeCapacityProvidersInput{CapacityProviders: []string{"cp-a", "ghost"}})
	require.NoError(t, err)
	require.Len(t, d.CapacityProviders, 1)
	assert.Equal(t, "INACTIVE", d.CapacityProviders[0].Status)
	assert.Equal(t, []stevedore.Failure{{Arn: arnPrefix + "capacity-provider/ghost", Reason: "MISSING"}}, d.Failures)

	// The name and the group can be used again.
	createProvider(t, c, "cp-a", "asg-a", stevedore.AutoScalingGroupProvider{})
}

// TestDescribeCapacityProvidersPages: all providers, by name, in pages of
// at most 10, with their tags on request.
func TestDescribeCapacityProvidersPages(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app")
	for i := range 12 {
		name := string(rune('a'+i)) + "-cp"
		createGroup(t, c, "app", "g-"+name, 1024, 1024, stevedore.CreateAutoScalingGroupInput{})
		_, err := c.CreateCapacityProvider(t.Context(), &stevedore.CreateCapacityProviderInput{Name: name,
			AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "g-" + name},
			Tags:                     []stevedore.Tag{{Key: "team", Value: name}}})
		require.NoError(t, err)
	}
	var names []string
	token := ""
	for range 3 {
		out, err := c.DescribeCapacityProviders(t.Context(), &stevedore.DescribeCapacityProvidersInput{NextToken: token, Include: []string{"TAGS"}})
		require.NoError(t, err)
		for _, p := range out.CapacityProviders {
			names = append(names, p.Name)
			assert.Equal(t, []stevedore.Tag{{Key: "team", Value: p.Name}}, p.Tags)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	assert.Equal(t, []string{"a-cp", "b-cp", "c-cp", "d-cp", "e-cp", "f-cp", "g-cp", "h-cp", "i-cp", "j-cp", "k-cp", "l-cp"}, names)
	_, err := c.DescribeCapacityProviders(t.Context(), &stevedore.DescribeCapacityProvidersInput{MaxResults: 11})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	out, err := c.DescribeCapacityProviders(t.Context(), &stevedore.DescribeCapacityProvidersInput{CapacityProviders: []string{"a-cp"}})
	require.NoError(t, err)
	assert.Nil(t, out.CapacityProviders[0].Tags, "tags only with include TAGS")
}

// TestRunTaskCapacityProviderStrategy: a strategy splits the tasks as ECS
// does and each provider's tasks run on its own instances only.
func TestRunTaskCapacityProviderStrategy(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "g-od", 0, 0, stevedore.CreateAutoScalingGroupInput{TotalResources: resources(4096, 8192)})
	createGroup(t, c, "app", "g-spot", 0, 0, stevedore.CreateAutoScalingGroupInput{TotalResources: resources(4096, 8192)})
	createProvider(t, c, "on-demand", "g-od", stevedore.AutoScalingGroupProvider{})
	createProvider(t, c, "spot", "g-spot", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"on-demand", "spot"})
	byProvider := map[string]string{}
	for range 2 {
		byProvider[registerOn(t, c, "app", "on-demand", 4096, 8192).ContainerInstanceArn] = "on-demand"
		byProvider[registerOn(t, c, "app", "spot", 4096, 8192).ContainerInstanceArn] = "spot"
	}
	plain := registerInstance(t, c, "app", resources(4096, 8192)).ContainerInstanceArn
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))

	// The guide's example: base 1 and weight 1 on one, weight 4 on the
	// other; 6 tasks go 2 and 4.
	strategy := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 4}}
	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: 6, CapacityProviderStrategy: strategy})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	counts := map[string]int{}
	for _, tk := range out.Tasks {
		counts[tk.CapacityProviderName]++
		assert.Equal(t, tk.CapacityProviderName, byProvider[tk.ContainerInstanceArn], "a task runs on its provider's instance")
		assert.Equal(t, tk.CapacityProviderName, describeTask(t, c, "app", tk.TaskArn).CapacityProviderName)
	}
	assert.Equal(t, map[string]int{"on-demand": 2, "spot": 4}, counts)

	// launchType and a strategy together are refused.
	_, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, LaunchType: "EC2", CapacityProviderStrategy: strategy})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "Specifying both a launchType and capacityProviderStrategy is not supported")
	// A provider the cluster does not have is refused.
	_, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "ghost", Weight: 1}}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "capacity provider strategy cannot contain a capacity provider that is not associated with the cluster")
	// Bad bases and weights are refused, naming the rule.
	_, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot", Base: 1}, {CapacityProvider: "on-demand", Base: 1, Weight: 1}}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "only one capacity provider can have a base")

	// The cluster's default strategy applies when the call names neither;
	// a launch type bypasses it.
	putProviders(t, c, "app", []string{"on-demand", "spot"}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "spot", Weight: 1})
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: 3})
	require.NoError(t, err)
	for _, tk := range out.Tasks {
		assert.Equal(t, "spot", tk.CapacityProviderName)
	}
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: 10, LaunchType: "EC2"})
	require.NoError(t, err)
	onPlain := 0
	for _, tk := range out.Tasks {
		assert.Empty(t, tk.CapacityProviderName)
		if tk.ContainerInstanceArn == plain {
			onPlain++
		}
	}
	assert.Positive(t, onPlain, "a task with a launch type runs on any instance")

	// Tasks that fit none of the provider's instances, without managed
	// scaling, fail on the provider's closest instance.
	big := registerTaskDefinition(t, c, taskDefinition("big", 4096, 256))
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: big, CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot", Weight: 1}}})
	require.NoError(t, err)
	require.Len(t, out.Failures, 1)
	assert.Equal(t, "RESOURCE:CPU", out.Failures[0].Reason)
	assert.Contains(t, byProvider[out.Failures[0].Arn], "spot")
	assert.Equal(t, 3, out.Failures[0].Checks[stevedore.ReasonEmptyCapacityProvider], "the other provider's and the plain instance")

	// A provider with no instance: EMPTY CAPACITY PROVIDER.
	createGroup(t, c, "app", "g-empty", 0, 0, stevedore.CreateAutoScalingGroupInput{TotalResources: resources(1024, 1024)})
	createProvider(t, c, "empty", "g-empty", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"on-demand", "spot", "empty"})
	out, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "empty", Weight: 1}}})
	require.NoError(t, err)
	require.Len(t, out.Failures, 1)
	assert.Equal(t, "EMPTY CAPACITY PROVIDER", out.Failures[0].Reason)
}

// TestReservation: the CapacityProviderReservation metric as ECS documents
// it, special cases included.
func TestReservation(t *testing.T) {
	for _, tc := range []struct {
		m, n int
		want float64
	}{
		{0, 0, 100}, // no instances and nothing to run: no scaling
		{3, 0, 200}, // nothing running, tasks waiting: scale out
		{0, 4, 0},   // instances, none of them used: scale in
		{2, 3, 200.0 / 3},
		{3, 3, 100},
		{5, 4, 125},
	} {
		assert.InDelta(t, tc.want, stevedore.Reservation(tc.m, tc.n), 1e-9, "M=%d N=%d", tc.m, tc.n)
	}
}

// TestManagedScaling: tasks that fit nowhere wait in PROVISIONING, the
// group scales out by the instances they need, they are placed when the
// instances register; once the tasks are gone the group scales in after
// 15 minutes below the target.
func TestManagedScaling(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 2048, 4096, stevedore.CreateAutoScalingGroupInput{
		MaxSize: 10, LaunchDelay: 2 * time.Minute, AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
		NewInstancesProtectedFromScaleIn: true,
	})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{
		ManagedScaling:               &stevedore.ManagedScaling{Status: "ENABLED"},
		ManagedTerminationProtection: "ENABLED",
	})
	putProviders(t, c, "app", []string{"cp"}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "cp", Weight: 1})
	td := registerTaskDefinition(t, c, taskDefinition("web", 1024, 1024))

	// No instance at all: RunTask is not an error, the tasks wait.
	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: 5})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	require.Len(t, out.Tasks, 5)
	for _, tk := range out.Tasks {
		assert.Equal(t, "PROVISIONING", tk.LastStatus)
		assert.Equal(t, "RUNNING", tk.DesiredStatus)
		assert.Empty(t, tk.ContainerInstanceArn)
		assert.Equal(t, "cp", tk.CapacityProviderName)
	}
	listed, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app"})
	require.NoError(t, err)
	assert.Len(t, listed.TaskArns, 5, "PROVISIONING tasks are listed (desired RUNNING)")

	// N = 0, M > 0: 200; 5 tasks of half an instance need 3 instances.
	m := manage(t, c, "app")
	require.Len(t, m.Metrics, 1)
	assert.Equal(t, stevedore.CapacityProviderMetric{CapacityProvider: "cp", CapacityProviderReservation: 200, Instances: 0, InstancesNeeded: 3, DesiredCapacity: 3}, m.Metrics[0])
	assert.Len(t, m.Launched, 3)
	assert.Empty(t, m.Registered, "the launch takes 2 minutes")

	// While they launch, no more are asked for.
	clock.Advance(time.Minute)
	m = manage(t, c, "app")
	assert.Equal(t, 3, m.Metrics[0].DesiredCapacity)
	assert.Empty(t, m.Launched)

	clock.Advance(time.Minute)
	m = manage(t, c, "app")
	assert.Len(t, m.Registered, 3)
	assert.Len(t, m.Placed, 5)
	for _, tk := range m.Placed {
		assert.Equal(t, "PENDING", tk.LastStatus)
		assert.NotEmpty(t, tk.ContainerInstanceArn)
	}
	zones := map[string]int{}
	groups, err := c.DescribeAutoScalingGroups(ctx, &stevedore.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"asg"}})
	require.NoError(t, err)
	for _, in := range groups.AutoScalingGroups[0].Instances {
		zones[in.AvailabilityZone]++
		assert.Equal(t, "InService", in.LifecycleState)
		assert.True(t, in.ProtectedFromScaleIn, "managed termination protection: every instance runs a task")
		ci := describeInstance(t, c, "app", in.ContainerInstanceArn)
		assert.Equal(t, "cp", ci.CapacityProviderName)
	}
	assert.Equal(t, map[string]int{"us-east-1a": 2, "us-east-1b": 1}, zones, "launches balance the zones")

	// Every instance is used: 100.
	m = manage(t, c, "app")
	assert.InDelta(t, 100, m.Metrics[0].CapacityProviderReservation, 1e-9)

	// Stop the tasks of one instance: M = 2, N = 3, 67 < 100 — a scale-in
	// only after 15 minutes below the target, and of the empty instance
	// (the others are protected).
	byInstance := map[string][]string{}
	all, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app"})
	require.NoError(t, err)
	d, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "app", Tasks: all.TaskArns})
	require.NoError(t, err)
	for _, tk := range d.Tasks {
		byInstance[tk.ContainerInstanceArn] = append(byInstance[tk.ContainerInstanceArn], tk.TaskArn)
	}
	var emptied string // the instance with one task (the others have two)
	for arn, ts := range byInstance {
		if len(ts) == 1 {
			emptied = arn
		}
	}
	require.NotEmpty(t, emptied)
	for _, ts := range byInstance[emptied] {
		_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: ts})
		require.NoError(t, err)
	}
	m = manage(t, c, "app")
	assert.InDelta(t, 200.0/3, m.Metrics[0].CapacityProviderReservation, 1e-9)
	assert.Equal(t, 3, m.Metrics[0].DesiredCapacity)
	clock.Advance(14 * time.Minute)
	m = manage(t, c, "app")
	assert.Equal(t, 3, m.Metrics[0].DesiredCapacity, "below the target for 14 minutes only")
	clock.Advance(time.Minute)
	m = manage(t, c, "app")
	assert.Equal(t, 2, m.Metrics[0].DesiredCapacity)
	assert.Equal(t, []string{emptied}, m.Draining, "managed draining takes the empty instance")
	assert.Equal(t, "DRAINING", describeInstance(t, c, "app", emptied).Status)
	m = manage(t, c, "app")
	assert.Equal(t, []string{emptied}, m.Terminated)
	assert.Equal(t, "INACTIVE", describeInstance(t, c, "app", emptied).Status)
}

// TestProvisioningFails: a group that cannot launch leaves the tasks
// PROVISIONING until ProvisioningTimeout, then they stop as
// TaskFailedToStart; past the quota RunTask fails the tasks.
func TestProvisioningFails(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 2048, 4096, stevedore.CreateAutoScalingGroupInput{})
	_, err := c.UpdateAutoScalingGroup(ctx, &stevedore.UpdateAutoScalingGroupInput{AutoScalingGroupName: "asg", FailLaunches: new(true)})
	require.NoError(t, err)
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{ManagedScaling: &stevedore.ManagedScaling{Status: "ENABLED"}})
	putProviders(t, c, "app", []string{"cp"}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "cp", Weight: 1})
	td := registerTaskDefinition(t, c, taskDefinition("web", 1024, 1024))
	runTask(t, c, "app", td, 2)

	m := manage(t, c, "app")
	assert.Equal(t, 1, m.Metrics[0].DesiredCapacity)
	assert.Empty(t, m.Launched)
	g, err := c.DescribeAutoScalingGroups(ctx, nil)
	require.NoError(t, err)
	acts := g.AutoScalingGroups[0].Activities
	require.Len(t, acts, 2)
	assert.Contains(t, acts[0].Description, "desired capacity 0 to 1")
	assert.Equal(t, "Failed", acts[1].StatusCode)
	assert.Contains(t, acts[1].Description, "sufficient capacity")

	clock.Advance(stevedore.ProvisioningTimeout - time.Second)
	assert.Empty(t, manage(t, c, "app").Failed)
	clock.Advance(time.Second)
	m = manage(t, c, "app")
	require.Len(t, m.Failed, 2)
	for _, tk := range m.Failed {
		assert.Equal(t, "STOPPED", tk.LastStatus)
		assert.Equal(t, "TaskFailedToStart", tk.StopCode)
		assert.Equal(t, "TaskFailedToStart: EMPTY CAPACITY PROVIDER", tk.StoppedReason)
	}

	// The quota: MaxProvisioningTasks wait, the rest fail.
	waiting, failed := 0, 0
	for range stevedore.MaxProvisioningTasks/stevedore.MaxTasksPerCall + 1 {
		out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: stevedore.MaxTasksPerCall})
		require.NoError(t, err)
		waiting += len(out.Tasks)
		failed += len(out.Failures)
	}
	assert.Equal(t, stevedore.MaxProvisioningTasks, waiting)
	assert.Equal(t, stevedore.MaxTasksPerCall, failed)
}

// TestManagedDrainingHonoursTaskProtection: an instance scaled in with
// managed draining is set DRAINING; the service's task there is replaced
// elsewhere, but a protected task keeps the instance until its protection
// expires, and only then is the instance terminated.
func TestManagedDrainingHonoursTaskProtection(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 2048, 4096, stevedore.CreateAutoScalingGroupInput{DesiredCapacity: intOf(1)})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"cp"})
	m := manage(t, c, "app")
	require.Len(t, m.Registered, 1)
	doomed := m.Registered[0]
	td := registerTaskDefinition(t, c, taskDefinition("web", 1024, 1024))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(1)})
	reconcile(t, c, clock, "app")
	startPending(t, c, clock, "app")
	tasks := serviceTasks(t, c, "app", "web")
	require.Len(t, tasks, 1)
	require.Equal(t, doomed, tasks[0].ContainerInstanceArn)
	_, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "app", Tasks: []string{tasks[0].TaskArn}, ProtectionEnabled: true, ExpiresInMinutes: intOf(60)})
	require.NoError(t, err)
	registerInstance(t, c, "app", resources(2048, 4096)) // where the replacement goes

	_, err = c.UpdateAutoScalingGroup(ctx, &stevedore.UpdateAutoScalingGroupInput{AutoScalingGroupName: "asg", DesiredCapacity: intOf(0)})
	require.NoError(t, err)
	m = manage(t, c, "app")
	assert.Equal(t, []string{doomed}, m.Draining)
	for range 5 {
		clock.Advance(time.Minute)
		reconcile(t, c, clock, "app")
		startPending(t, c, clock, "app")
		assert.Empty(t, manage(t, c, "app").Terminated, "the protected task keeps its instance")
	}
	assert.Equal(t, "RUNNING", describeTask(t, c, "app", tasks[0].TaskArn).LastStatus)

	clock.Advance(time.Hour)
	reconcile(t, c, clock, "app")
	assert.Equal(t, "STOPPED", describeTask(t, c, "app", tasks[0].TaskArn).LastStatus, "unprotected, it leaves the draining instance")
	m = manage(t, c, "app")
	assert.Equal(t, []string{doomed}, m.Terminated)
	g, err := c.DescribeAutoScalingGroups(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, g.AutoScalingGroups[0].Instances)
	assert.Len(t, serviceTasks(t, c, "app", "web"), 1)
}

// TestCreateClusterWithCapacityProviders: CreateCluster takes the
// providers and the default strategy, with PutClusterCapacityProviders'
// rules, and changes nothing when they are wrong.
func TestCreateClusterWithCapacityProviders(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "home") // the group's cluster
	createGroup(t, c, "home", "asg", 1024, 1024, stevedore.CreateAutoScalingGroupInput{})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{})
	_, err := c.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "app", CapacityProviders: []string{"cp"},
		DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "other", Weight: 1}}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	d, err := c.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: []string{"app"}})
	require.NoError(t, err)
	assert.Empty(t, d.Clusters, "a refused CreateCluster creates nothing")
	out, err := c.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "app", CapacityProviders: []string{"cp"},
		DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "cp", Weight: 1}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"cp"}, out.Cluster.CapacityProviders)
	assert.Equal(t, []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "cp", Weight: 1}}, out.Cluster.DefaultCapacityProviderStrategy)
	_, err = c.DeleteCapacityProvider(ctx, &stevedore.DeleteCapacityProviderInput{CapacityProvider: "cp"})
	requireErrorAs[*stevedore.ResourceInUseException](t, err)

	// Deleting the cluster frees its providers, also when the name comes
	// back as a new cluster.
	_, err = c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app"})
	require.NoError(t, err)
	createCluster(t, c, "app")
	_, err = c.DeleteCapacityProvider(ctx, &stevedore.DeleteCapacityProviderInput{CapacityProvider: "cp"})
	require.NoError(t, err)
}

// TestGroupInstanceDeregistered: an instance of a group deregistered by
// hand leaves the group, which launches a replacement; capacity steps go
// on without an error.
func TestGroupInstanceDeregistered(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 1024, 1024, stevedore.CreateAutoScalingGroupInput{DesiredCapacity: intOf(2)})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"cp"})
	m := manage(t, c, "app")
	require.Len(t, m.Registered, 2)
	_, err := c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app", ContainerInstance: m.Registered[0]})
	require.NoError(t, err)
	m = manage(t, c, "app")
	assert.Len(t, m.Launched, 1, "the group replaces it")
	assert.Len(t, m.Registered, 1)
	_, err = c.UpdateAutoScalingGroup(ctx, &stevedore.UpdateAutoScalingGroupInput{AutoScalingGroupName: "asg", DesiredCapacity: intOf(0)})
	require.NoError(t, err)
	manage(t, c, "app") // drains both
	m = manage(t, c, "app")
	assert.Len(t, m.Terminated, 2)

	// A cluster with tasks PROVISIONING cannot be deleted.
	_, err = c.UpdateCapacityProvider(ctx, &stevedore.UpdateCapacityProviderInput{Name: "cp", AutoScalingGroupProvider: &stevedore.AutoScalingGroupProviderUpdate{ManagedScaling: &stevedore.ManagedScaling{Status: "ENABLED"}}})
	require.NoError(t, err)
	td := registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "cp", Weight: 1}}})
	require.NoError(t, err)
	require.Equal(t, "PROVISIONING", out.Tasks[0].LastStatus)
	_, err = c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app"})
	requireErrorAs[*stevedore.ClusterContainsTasksException](t, err)
}
