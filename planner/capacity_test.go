package planner_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/instancetypes"
	"github.com/stevedore-go/stevedore/planner"
)

func candidates(t *testing.T, names ...string) []planner.Candidate {
	t.Helper()
	var out []planner.Candidate
	for _, n := range names {
		it, ok := instancetypes.Lookup(n)
		require.True(t, ok, n)
		out = append(out, planner.CandidateFor(it, false))
	}
	return out
}

// TestPlanCapacity: the cheapest fleet first; a type too small for a task
// is reported, not planned; Zones plans each zone's share; the objective
// Instances prefers fewer, larger instances.
func TestPlanCapacity(t *testing.T) {
	// Memory-heavy tasks: 1 vCPU and 6 GiB each.
	var items []planner.Shape
	for range 12 {
		items = append(items, planner.Shape{CPU: 1024, Memory: 6144})
	}
	plan, err := planner.PlanCapacity(items, candidates(t, "c5.large", "m5.large", "r5.large", "r5.xlarge"), planner.PlanOptions{})
	require.NoError(t, err)
	require.Contains(t, plan.Unfit, "c5.large", "6 GiB does not fit a c5.large")
	require.Len(t, plan.Fleets, 3)
	best := plan.Fleets[0]
	// r5.large (2 vCPU, about 15.7 GiB) holds two tasks: 6 × $0.126 =
	// $0.756; r5.xlarge holds four: 3 × $0.252, the same cost with fewer
	// instances, which breaks the tie.
	assert.Equal(t, "r5.xlarge", best.Candidate.Name)
	assert.Equal(t, 3, best.Instances)
	assert.InDelta(t, 0.756, best.CostPerHour, 1e-9)
	assert.Equal(t, 3, best.Bound.Bins)
	assert.Zero(t, best.Gap)
	m5 := plan.Fleets[2]
	assert.Equal(t, "m5.large", m5.Candidate.Name)
	assert.Equal(t, 12, m5.Instances, "one 6 GiB task per m5.large")
	assert.Equal(t, "MEMORY (L2)", m5.Bound.Binding)

	// Fewest instances: r5.xlarge too.
	few, err := planner.PlanCapacity(items, candidates(t, "r5.large", "r5.xlarge"), planner.PlanOptions{Objective: planner.Instances})
	require.NoError(t, err)
	assert.Equal(t, "r5.xlarge", few.Fleets[0].Candidate.Name)

	// Over three zones, each zone plans its four tasks.
	zoned, err := planner.PlanCapacity(items, candidates(t, "r5.large"), planner.PlanOptions{Zones: 3})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 2}, zoned.Fleets[0].PerZone)

	// Nothing holds a 64-vCPU task among these.
	_, err = planner.PlanCapacity([]planner.Shape{{CPU: 65536}}, candidates(t, "m5.large"), planner.PlanOptions{})
	assert.ErrorIs(t, err, planner.ErrNoCandidate)
}

// TestPlanCapacityMixed: an instance of the cheapest fleet whose tasks a
// smaller type holds becomes that type, in a mixed fleet that costs less.
func TestPlanCapacityMixed(t *testing.T) {
	var items []planner.Shape
	for range 4 {
		items = append(items, planner.Shape{CPU: 4000, Memory: 8000})
	}
	items = append(items, planner.Shape{CPU: 256, Memory: 256})
	plan, err := planner.PlanCapacity(items, candidates(t, "m5.xlarge", "t3.micro"), planner.PlanOptions{})
	require.NoError(t, err)
	require.Contains(t, plan.Unfit, "t3.micro")
	best := plan.Fleets[0]
	assert.Equal(t, "mixed", best.Candidate.Name)
	assert.Equal(t, map[string]int{"m5.xlarge": 4, "t3.micro": 1}, best.Counts)
	assert.InDelta(t, 4*0.192+0.0104, best.CostPerHour, 1e-9)
	assert.Equal(t, 5, best.Instances)
	require.Len(t, plan.Fleets, 2)
	assert.Equal(t, "m5.xlarge", plan.Fleets[1].Candidate.Name)
	assert.InDelta(t, 5*0.192, plan.Fleets[1].CostPerHour, 1e-9)
}
