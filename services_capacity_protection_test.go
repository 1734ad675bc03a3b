package stevedore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// TestProviderScaleInAroundProtection: a scale-in that protection moves
// to the other provider reaches the desired count, without the event
// "protected tasks are more than the desired count".
func TestProviderScaleInAroundProtection(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	twoProviders(t, c, 2)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	strategy := []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "on-demand", Weight: 1}, {CapacityProvider: "spot", Weight: 1}}
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(4), CapacityProviderStrategy: strategy})
	settleServices(t, c, clock, "app")
	var od []string
	for _, tk := range serviceTasks(t, c, "app", "web") {
		if tk.CapacityProviderName == "on-demand" {
			od = append(od, tk.TaskArn)
		}
	}
	_, err := c.UpdateTaskProtection(ctx, &stevedore.UpdateTaskProtectionInput{Cluster: "app", Tasks: od, ProtectionEnabled: true})
	require.NoError(t, err)
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: intOf(2)})
	require.NoError(t, err)
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"on-demand": 2}, providerCounts(t, c, "app", "web"))
	for _, m := range messages(describeService(t, c, "app", "web")) {
		assert.False(t, strings.Contains(m, "protected tasks are more than the desired count"), m)
	}
}
