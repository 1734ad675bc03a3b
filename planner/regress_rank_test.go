package planner_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/planner"
)

// TestRankingOrderIndependent: with a candidate without a price, the
// ranking is the same whatever the order the candidates are given in.
func TestRankingOrderIndependent(t *testing.T) {
	items := make([]planner.Shape, 10)
	for i := range items {
		items[i] = planner.Shape{CPU: 100}
	}
	a := planner.Candidate{Name: "a", Bin: planner.Bin{CPU: 100}, Price: 0.1} // 10 instances, $1
	b := planner.Candidate{Name: "b", Bin: planner.Bin{CPU: 200}}             // 5 instances, no price
	c := planner.Candidate{Name: "c", Bin: planner.Bin{CPU: 500}, Price: 2.5} // 2 instances, $5
	names := func(cs ...planner.Candidate) []string {
		p, err := planner.PlanCapacity(items, cs, planner.PlanOptions{})
		require.NoError(t, err)
		var out []string
		for _, f := range p.Fleets {
			out = append(out, f.Candidate.Name)
		}
		return out
	}
	require.Equal(t, names(a, b, c), names(c, b, a))
}
