package scheduler

import (
	"errors"
	"fmt"
)

// Limits of a capacity provider strategy, as ECS has them.
const (
	MaxStrategyBase   = 100000
	MaxStrategyWeight = 1000
	// MaxStrategyItems is the most capacity providers in one strategy.
	MaxStrategyItems = 20
)

// ErrInvalidStrategy is wrapped by the errors of [ValidateStrategy].
var ErrInvalidStrategy = errors.New("invalid capacity provider strategy")

// StrategyItem is one capacity provider of a capacity provider strategy
// (ECS's CapacityProviderStrategyItem): Base tasks at least run on it,
// and of the tasks beyond the bases, its share is Weight over the sum of
// the weights.
type StrategyItem struct {
	Provider     string
	Base, Weight int
}

// ValidateStrategy checks a strategy as ECS does: 1 to [MaxStrategyItems]
// items with distinct, non-empty provider names; base 0 to
// [MaxStrategyBase], on one item at most; weight 0 to
// [MaxStrategyWeight], and with several items at least one weight above
// 0. An error names the item and the rule and wraps [ErrInvalidStrategy].
func ValidateStrategy(items []StrategyItem) error {
	if len(items) == 0 || len(items) > MaxStrategyItems {
		return fmt.Errorf("%w: it has %d capacity providers; 1 to %d are allowed", ErrInvalidStrategy, len(items), MaxStrategyItems)
	}
	withBase, weighted := -1, false
	for i, it := range items {
		switch {
		case it.Provider == "":
			return fmt.Errorf("%w: capacityProviderStrategy[%d].capacityProvider is required", ErrInvalidStrategy, i)
		case it.Base < 0 || it.Base > MaxStrategyBase:
			return fmt.Errorf("%w: capacityProviderStrategy[%d].base must be from 0 to %d, got %d", ErrInvalidStrategy, i, MaxStrategyBase, it.Base)
		case it.Weight < 0 || it.Weight > MaxStrategyWeight:
			return fmt.Errorf("%w: capacityProviderStrategy[%d].weight must be from 0 to %d, got %d", ErrInvalidStrategy, i, MaxStrategyWeight, it.Weight)
		}
		for _, prev := range items[:i] {
			if prev.Provider == it.Provider {
				return fmt.Errorf("%w: capacity provider %s is given twice", ErrInvalidStrategy, it.Provider)
			}
		}
		if it.Base > 0 {
			if withBase >= 0 {
				return fmt.Errorf("%w: only one capacity provider can have a base; %s and %s both do", ErrInvalidStrategy, items[withBase].Provider, it.Provider)
			}
			withBase = i
		}
		weighted = weighted || it.Weight > 0
	}
	if len(items) > 1 && !weighted {
		return fmt.Errorf("%w: at least one capacity provider must have a weight greater than 0", ErrInvalidStrategy)
	}
	return nil
}

// SplitStrategy returns how many of n new tasks go to each item of a
// valid strategy, given have[i] tasks of the same service or call already
// on item i (nil for none). ECS's rules (docs/semantics.md §3.8): the base
// is filled first; the tasks beyond it go to the items with a weight
// above 0 in proportion to their weights, counting the tasks they already
// have; items of weight 0 get none beyond a base. A strategy of a single
// item of weight 0 takes every task.
//
// [INF] ECS does not document how a share that is not whole is rounded:
// tasks are given one at a time to the weighted item furthest below its
// share of the tasks beyond the base (its weight × (tasks beyond the base
// + 1) / the sum of the weights, minus what it has beyond its base),
// ties to the earlier item. So weights 1 and 4 split 5 tasks 1 and 4, and
// a split of the same tasks in two calls equals the split in one.
// Cost: O(n × items).
func SplitStrategy(items []StrategyItem, have []int, n int) []int {
	out := make([]int, len(items))
	if len(items) == 0 || n <= 0 {
		return out
	}
	held := make([]int, len(items))
	for i := range items {
		if i < len(have) && have[i] > 0 {
			held[i] = have[i]
		}
	}
	if len(items) == 1 {
		out[0] = n
		return out
	}
	sumW := 0
	for _, it := range items {
		sumW += it.Weight
	}
	for range n {
		// The base first.
		if b := baseItem(items); b >= 0 && held[b] < items[b].Base {
			held[b]++
			out[b]++
			continue
		}
		beyond := 0
		for i, it := range items {
			beyond += max(held[i]-it.Base, 0)
		}
		best, bestDeficit := -1, int64(0)
		for i, it := range items {
			if it.Weight == 0 {
				continue
			}
			// deficit × sumW, in integers: weight × (beyond+1) − sumW × own.
			d := int64(it.Weight)*int64(beyond+1) - int64(sumW)*int64(max(held[i]-it.Base, 0))
			if best < 0 || d > bestDeficit {
				best, bestDeficit = i, d
			}
		}
		held[best]++
		out[best]++
	}
	return out
}

func baseItem(items []StrategyItem) int {
	for i, it := range items {
		if it.Base > 0 {
			return i
		}
	}
	return -1
}
