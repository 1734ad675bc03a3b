package stevedore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// providerCounts counts a service's live tasks by capacity provider, and
// checks that each runs on an instance of its provider.
func providerCounts(t *testing.T, c *stevedore.Client, cluster, name string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tk := range serviceTasks(t, c, cluster, name) {
		if tk.LastStatus == "STOPPED" || tk.DesiredStatus == "STOPPED" {
			continue
		}
		out[tk.CapacityProviderName]++
		if tk.ContainerInstanceArn != "" {
			assert.Equal(t, tk.CapacityProviderName, describeInstance(t, c, cluster, tk.ContainerInstanceArn).CapacityProviderName, "a task runs on its provider's instance")
		}
	}
	return out
}

// twoProviders makes cluster app with providers on-demand and spot (no
// managed scaling), each with instances of 4 vCPU and 8 GiB, and one
// instance of no provider.
func twoProviders(t *testing.T, c *stevedore.Client, perProvider int) {
	t.Helper()
	createCluster(t, c, "app")
	createGroup(t, c, "app", "g-od", 4096, 8192, stevedore.CreateAutoScalingGroupInput{})
	createGroup(t, c, "app", "g-spot", 4096, 8192, stevedore.CreateAutoScalingGroupInput{})
	createProvider(t, c, "on-demand", "g-od", stevedore.AutoScalingGroupProvider{})
	createProvider(t, c, "spot", "g-spot", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"on-demand", "spot"})
	for range perProvider {
		registerOn(t, c, "app", "on-demand", 4096, 8192)
		registerOn(t, c, "app", "spot", 4096, 8192)
	}
	registerInstance(t, c, "app", resources(4096, 8192))
}

// TestServiceCapacityProviderStrategy: a service's tasks are split over
// its strategy's providers as RunTask splits them, counting the tasks it
// has; a scale-in takes from the providers above their share; an update
// of the strategy starts no deployment, and a forced one moves the tasks.
func TestServiceCapacityProviderStrategy(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	twoProviders(t, c, 3)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	strategy := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 3}}
	svc := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(9), CapacityProviderStrategy: strategy})
	assert.Equal(t, strategy, svc.CapacityProviderStrategy)
	assert.Empty(t, svc.LaunchType, "a service with a strategy has no launch type")
	require.Len(t, svc.Deployments, 1)
	assert.Equal(t, strategy, svc.Deployments[0].CapacityProviderStrategy)
	assert.Empty(t, svc.Deployments[0].LaunchType)

	// 9 tasks: the base 1, then 8 split 1:3.
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 3, "spot": 6}, providerCounts(t, c, "app", "web"))

	// Scale out counts what the service has: 13 = 1 + 12 split 1:3.
	_, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: intOf(13)})
	require.NoError(t, err)
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 4, "spot": 9}, providerCounts(t, c, "app", "web"))

	// Scale in to 5: the shares of 5 are 2 and 3.
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: intOf(5)})
	require.NoError(t, err)
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 2, "spot": 3}, providerCounts(t, c, "app", "web"))

	// A new strategy starts no deployment; the tasks stay where they are,
	// and new ones follow it.
	only := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot", Weight: 1}}
	up, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", CapacityProviderStrategy: only, DesiredCount: intOf(7)})
	require.NoError(t, err)
	assert.Len(t, up.Service.Deployments, 1)
	assert.Equal(t, only, up.Service.CapacityProviderStrategy)
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 2, "spot": 5}, providerCounts(t, c, "app", "web"))
	// Scale-in takes first the tasks of a provider no longer named.
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: intOf(6)})
	require.NoError(t, err)
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 1, "spot": 5}, providerCounts(t, c, "app", "web"))

	// A forced deployment moves them all.
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", ForceNewDeployment: true})
	require.NoError(t, err)
	for range 6 {
		settleServices(t, c, clock, "app")
	}
	assert.Equal(t, map[string]int{"spot": 6}, providerCounts(t, c, "app", "web"))

	// An empty strategy returns the service to the launch type.
	up, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{}})
	require.NoError(t, err)
	assert.Nil(t, up.Service.CapacityProviderStrategy)
	assert.Equal(t, "EC2", up.Service.LaunchType)
}

// TestServiceCapacityProviderErrors: ECS's rules for a service's strategy.
func TestServiceCapacityProviderErrors(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	twoProviders(t, c, 1)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	spot := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot", Weight: 1}}
	for _, tc := range []struct {
		name string
		in   stevedore.CreateServiceInput
		want string
	}{
		{"launch type too", stevedore.CreateServiceInput{LaunchType: "EC2", DesiredCount: intOf(1), CapacityProviderStrategy: spot}, "Specifying both a launchType and capacityProviderStrategy is not supported"},
		{"daemon", stevedore.CreateServiceInput{SchedulingStrategy: "DAEMON", CapacityProviderStrategy: spot}, "not supported when you create a service using the DAEMON scheduling strategy"},
		{"not the cluster's", stevedore.CreateServiceInput{DesiredCount: intOf(1), CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "ghost", Weight: 1}}}, "not associated with the cluster"},
		{"two bases", stevedore.CreateServiceInput{DesiredCount: intOf(1), CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot", Base: 1, Weight: 1}, {CapacityProvider: "on-demand", Base: 2}}}, "only one capacity provider can have a base"},
		{"no weight", stevedore.CreateServiceInput{DesiredCount: intOf(1), CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "spot"}, {CapacityProvider: "on-demand"}}}, "weight greater than 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Cluster, in.ServiceName, in.TaskDefinition = "app", "s", td
			_, err := c.CreateService(ctx, &in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err := c.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "app", Services: []string{"s"}})
	require.NoError(t, err)

	// The cluster's default strategy: a REPLICA service takes it, a
	// DAEMON service is refused unless it names the launch type.
	putProviders(t, c, "app", []string{"on-demand", "spot"}, spot...)
	svc := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "r", TaskDefinition: td, DesiredCount: intOf(1)})
	assert.Equal(t, spot, svc.CapacityProviderStrategy)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "d", TaskDefinition: td, SchedulingStrategy: "DAEMON"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "d", TaskDefinition: td, SchedulingStrategy: "DAEMON", LaunchType: "EC2"})
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "d", CapacityProviderStrategy: spot})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "r", CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "ghost", Weight: 1}}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.Equal(t, spot, describeService(t, c, "app", "r").CapacityProviderStrategy, "a failed update changes nothing")

	// A provider a service's strategy names cannot leave the cluster.
	_, err = c.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "app", CapacityProviders: []string{"on-demand"}})
	requireErrorAs[*stevedore.ResourceInUseException](t, err)
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "r", CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "on-demand", Weight: 1}}})
	require.NoError(t, err)
	putProviders(t, c, "app", []string{"on-demand"})
}

// TestServiceManagedScaling: a service whose tasks fit on no instance of
// its provider makes managed scaling add the instances they need, and the
// service places them once those register.
func TestServiceManagedScaling(t *testing.T) {
	c, clock := newClient(t)
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 2048, 4096, stevedore.CreateAutoScalingGroupInput{MaxSize: 10, LaunchDelay: time.Minute})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{ManagedScaling: &stevedore.ManagedScaling{Status: "ENABLED"}})
	putProviders(t, c, "app", []string{"cp"}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "cp", Weight: 1})
	td := registerTaskDefinition(t, c, taskDefinition("web", 1024, 1024))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(5)})

	r := reconcile(t, c, clock, "app")
	assert.Empty(t, r.Started)
	require.NotEmpty(t, r.Failures)
	m := manage(t, c, "app")
	require.Len(t, m.Metrics, 1)
	assert.Equal(t, stevedore.CapacityProviderMetric{CapacityProvider: "cp", CapacityProviderReservation: 200, Instances: 0, InstancesNeeded: 3, DesiredCapacity: 3}, m.Metrics[0], "5 tasks of half an instance need 3")
	clock.Advance(time.Minute)
	m = manage(t, c, "app")
	assert.Len(t, m.Registered, 3)
	settleServices(t, c, clock, "app")
	s := describeService(t, c, "app", "web")
	assert.Equal(t, 5, s.RunningCount)
	assert.Equal(t, map[string]int{"cp": 5}, providerCounts(t, c, "app", "web"))
	m = manage(t, c, "app")
	assert.InDelta(t, 100, m.Metrics[0].CapacityProviderReservation, 1e-9)
	assert.Equal(t, 3, m.Metrics[0].DesiredCapacity, "nothing waits: no further scale-out")
}
