package scheduler_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/scheduler"
)

func TestSplitStrategy(t *testing.T) {
	a, b, c := "A", "B", "C"
	for _, tc := range []struct {
		name  string
		items []scheduler.StrategyItem
		have  []int
		n     int
		want  []int
	}{
		// ECS's guide: base 1 and weight 1 on A, weight 4 on B, six tasks:
		// one on A for the base, the other five 1 : 4.
		{"guide example", []scheduler.StrategyItem{{a, 1, 1}, {b, 0, 4}}, nil, 6, []int{2, 4}},
		{"base larger than n", []scheduler.StrategyItem{{a, 10, 1}, {b, 0, 1}}, nil, 4, []int{4, 0}},
		{"even weights", []scheduler.StrategyItem{{a, 0, 1}, {b, 0, 1}}, nil, 5, []int{3, 2}},
		{"weight 0 gets none", []scheduler.StrategyItem{{a, 0, 0}, {b, 0, 1}}, nil, 4, []int{0, 4}},
		{"weight 0 with a base gets its base", []scheduler.StrategyItem{{a, 2, 0}, {b, 0, 1}}, nil, 5, []int{2, 3}},
		{"single item of weight 0", []scheduler.StrategyItem{{a, 0, 0}}, nil, 3, []int{3}},
		{"have counts", []scheduler.StrategyItem{{a, 0, 1}, {b, 0, 1}}, []int{4, 0}, 4, []int{0, 4}},
		{"have fills the base", []scheduler.StrategyItem{{a, 2, 1}, {b, 0, 1}}, []int{2, 0}, 2, []int{1, 1}},
		{"three ways", []scheduler.StrategyItem{{a, 0, 1}, {b, 0, 2}, {c, 0, 3}}, nil, 12, []int{2, 4, 6}},
		{"none", []scheduler.StrategyItem{{a, 0, 1}}, nil, 0, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, scheduler.ValidateStrategy(tc.items))
			assert.Equal(t, tc.want, scheduler.SplitStrategy(tc.items, tc.have, tc.n))
		})
	}
}

func TestValidateStrategy(t *testing.T) {
	for name, items := range map[string][]scheduler.StrategyItem{
		"empty":         nil,
		"21 items":      make([]scheduler.StrategyItem, 21),
		"no name":       {{Weight: 1}},
		"two bases":     {{"A", 1, 1}, {"B", 1, 1}},
		"base too big":  {{"A", 100001, 1}},
		"weight < 0":    {{"A", 0, -1}},
		"weight > 1000": {{"A", 0, 1001}},
		"all weight 0":  {{"A", 0, 0}, {"B", 0, 0}},
		"twice":         {{"A", 0, 1}, {"A", 0, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, errors.Is(scheduler.ValidateStrategy(items), scheduler.ErrInvalidStrategy))
		})
	}
}

// TestSplitStrategyProperties: the split places every task, fills the
// base first, keeps every weighted item within one task of its share of
// the tasks beyond the base, and two calls split as one.
func TestSplitStrategyProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(1, 5).Draw(t, "items")
		items := make([]scheduler.StrategyItem, k)
		baseAt := rapid.IntRange(-1, k-1).Draw(t, "baseAt")
		for i := range items {
			items[i] = scheduler.StrategyItem{Provider: string(rune('A' + i)), Weight: rapid.IntRange(0, 20).Draw(t, "weight")}
			if i == baseAt {
				items[i].Base = rapid.IntRange(1, 10).Draw(t, "base")
			}
		}
		if k > 1 && items[0].Weight == 0 && items[k-1].Weight == 0 {
			items[k-1].Weight = 1 // several providers need a weight above 0
		}
		require.NoError(t, scheduler.ValidateStrategy(items))
		n := rapid.IntRange(0, 60).Draw(t, "n")
		first := rapid.IntRange(0, n).Draw(t, "first")
		got := scheduler.SplitStrategy(items, nil, n)
		total, sumW, beyond := 0, 0, 0
		for i, g := range got {
			total += g
			sumW += items[i].Weight
			beyond += max(g-items[i].Base, 0)
		}
		require.Equal(t, n, total)
		if baseAt >= 0 {
			require.Equal(t, min(n, items[baseAt].Base), min(got[baseAt], items[baseAt].Base), "the base is filled first")
		}
		if k > 1 {
			for i, it := range items {
				own := max(got[i]-it.Base, 0)
				if it.Weight == 0 {
					require.Zero(t, own, "weight 0 takes nothing beyond its base")
					continue
				}
				diff := own*sumW - it.Weight*beyond
				require.Less(t, abs(diff), sumW, "item %d: %d tasks beyond its base for a share of %d/%d of %d", i, own, it.Weight, sumW, beyond)
			}
		}
		one := scheduler.SplitStrategy(items, nil, first)
		two := scheduler.SplitStrategy(items, one, n-first)
		for i := range got {
			require.Equal(t, got[i], one[i]+two[i], "two calls split as one")
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
