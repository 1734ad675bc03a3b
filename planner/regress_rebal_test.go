package planner_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/planner"
)

// TestRebalanceEdges: a cluster without instances plans no move; one
// whose instances lack a zone plans without error and worsens nothing.
func TestRebalanceEdges(t *testing.T) {
	for _, g := range []planner.RebalanceGoal{planner.Spread, planner.Consolidate} {
		c := batchClient(t, 0, 0, 0)
		p, err := planner.PlanRebalance(t.Context(), c, &planner.RebalanceInput{Cluster: "app", Goal: g})
		require.NoError(t, err)
		require.Empty(t, p.Waves)
		c = batchClient(t, 0, 0, 0)
		register(t, c, 2, "", 4096, 8192)
		register(t, c, 1, "us-east-1a", 4096, 8192)
		define(t, c, "web", 256, 512)
		service(t, c, "web", "web", 6, 200)
		settle(t, c)
		p, err = planner.PlanRebalance(t.Context(), c, &planner.RebalanceInput{Cluster: "app", Goal: g})
		require.NoError(t, err)
		require.LessOrEqual(t, p.After.Busy, p.Before.Busy)
		require.LessOrEqual(t, p.After.ZoneSkew, p.Before.ZoneSkew)
	}
}
