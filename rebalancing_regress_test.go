package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// TestRebalancingHeldByProtection: with the crowded zones' tasks
// protected from scale-in, no stop could even the zones out, so no move
// starts (and none is undone by the scale-in, step after step).
func TestRebalancingHeldByProtection(t *testing.T) {
	c, clock := newClient(t)
	createCluster(t, c, "app")
	registerAZInstance(t, c, "app", "i-a", "a", 4096, 8192)
	registerAZInstance(t, c, "app", "i-b", "b", 4096, 8192)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(4)})
	settleServices(t, c, clock, "app")
	var arns []string
	for _, tk := range serviceTasks(t, c, "app", "web") {
		arns = append(arns, tk.TaskArn)
	}
	_, err := c.UpdateTaskProtection(t.Context(), &stevedore.UpdateTaskProtectionInput{Cluster: "app", Tasks: arns, ProtectionEnabled: true, ExpiresInMinutes: intOf(2880)})
	require.NoError(t, err)
	registerAZInstance(t, c, "app", "i-c", "c", 4096, 8192)
	started := 0
	for range 30 {
		r := reconcile(t, c, clock, "app")
		started += len(r.Started)
		startPending(t, c, clock, "app")
	}
	assert.LessOrEqual(t, started, 1, "tasks started: %d; events %q", started, messages(describeService(t, c, "app", "web")))
}

// TestRebalancingAfterScaleOut: a desired count raised while a move's
// task starts ends the move (its stop is no longer due), and rebalancing
// goes on afterwards: a fourth zone gets tasks.
func TestRebalancingAfterScaleOut(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	registerAZInstance(t, c, "app", "i-a", "a", 4096, 8192)
	registerAZInstance(t, c, "app", "i-b", "b", 4096, 8192)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(6)})
	settleServices(t, c, clock, "app")
	registerAZInstance(t, c, "app", "i-c", "c", 4096, 8192)
	r := reconcile(t, c, clock, "app") // the move's start, in c
	require.Len(t, r.Started, 1)
	_, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: intOf(7)})
	require.NoError(t, err)
	for range 10 {
		settleServices(t, c, clock, "app")
	}
	// 7 tasks over a, b, c: balanced is 3/2/2 in some order.
	got := zoneCounts(t, c, "app", "web")
	t.Logf("zones %v", got)
	for _, n := range got {
		assert.LessOrEqual(t, n, 3)
		assert.GreaterOrEqual(t, n, 2)
	}
	// And a later imbalance: a fourth zone.
	registerAZInstance(t, c, "app", "i-d", "d", 4096, 8192)
	for range 10 {
		settleServices(t, c, clock, "app")
	}
	got = zoneCounts(t, c, "app", "web")
	t.Logf("zones %v", got)
	assert.Len(t, got, 4, "the fourth zone gets tasks")
}
