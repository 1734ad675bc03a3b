package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func registerOnAZ(t *testing.T, c *stevedore.Client, cluster, provider, ec2, az string) {
	t.Helper()
	_, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
		Cluster: cluster, TotalResources: resources(4096, 8192), CapacityProviderName: provider,
		InstanceIdentityDocument: `{"instanceId": "` + ec2 + `", "availabilityZone": "us-east-1` + az + `", "instanceType": "m4.large"}`,
	})
	require.NoError(t, err)
}

// TestRebalancingTriesTheOtherProvider: when the provider furthest below
// its share has no instance in the emptiest zone, the move's task goes to
// the other provider, which has room there.
func TestRebalancingTriesTheOtherProvider(t *testing.T) {
	c, clock := newClient(t)
	createCluster(t, c, "app")
	createGroup(t, c, "app", "g-od", 4096, 8192, stevedore.CreateAutoScalingGroupInput{})
	createGroup(t, c, "app", "g-spot", 4096, 8192, stevedore.CreateAutoScalingGroupInput{})
	createProvider(t, c, "on-demand", "g-od", stevedore.AutoScalingGroupProvider{})
	createProvider(t, c, "spot", "g-spot", stevedore.AutoScalingGroupProvider{})
	putProviders(t, c, "app", []string{"on-demand", "spot"})
	registerOnAZ(t, c, "app", "on-demand", "i-1", "a")
	registerOnAZ(t, c, "app", "on-demand", "i-2", "b")
	registerOnAZ(t, c, "app", "spot", "i-3", "a")
	registerOnAZ(t, c, "app", "spot", "i-4", "b")
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	strategy := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "on-demand", Weight: 1}, {CapacityProvider: "spot", Weight: 1}}
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(4), CapacityProviderStrategy: strategy})
	settleServices(t, c, clock, "app")
	t.Logf("zones %v", zoneCounts(t, c, "app", "web"))
	registerOnAZ(t, c, "app", "spot", "i-5", "c")
	for range 10 {
		settleServices(t, c, clock, "app")
	}
	got := zoneCounts(t, c, "app", "web")
	t.Logf("zones %v providers %v", got, providerCounts(t, c, "app", "web"))
	assert.Equal(t, 1, got["us-east-1c"], "%q", messages(describeService(t, c, "app", "web"))[:4])
}
