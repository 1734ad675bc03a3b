package planner

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Options tune [Pack].
type Options struct {
	// Seed seeds the random orders; the same seed gives the same packing.
	Seed uint64
	// RandomOrders is how many shuffled orders best fit tries; 0 means 8.
	RandomOrders int
	// SlackNodes bounds the search of each bin the minimum-slack
	// heuristic fills; 0 means 2,000.
	SlackNodes int
	// RepackRounds is how many rounds the local search repacks the
	// instances with room left together with a few full ones; 0 means 200.
	RepackRounds int
	// SwapAttempts bounds the attempts of the swap search that ends the
	// local search; 0 means 5,000.
	SwapAttempts int
	// Progress, if not nil, is called after each heuristic of the
	// portfolio with how many have run and how many there are.
	Progress func(done, total int)
}

// Packing assigns every item to an instance.
type Packing struct {
	// Bins lists, per instance, the indexes of the items it holds.
	Bins [][]int
	// Method names the heuristic whose packing this is, with
	// "+local search" when the search improved it.
	Method string
	// Tried has every heuristic's bin count, by name.
	Tried map[string]int
}

// Pack packs the items into as few instances of shape b as its
// portfolio finds: best fit in the items' order, best fit over
// Options.RandomOrders shuffled orders, first fit decreasing by summed
// size, bin-centric filling by the dot product of an item with the room
// left, and minimum bin slack (each instance filled as full as a bounded
// search finds). It keeps the packing with the fewest instances (ties to
// the earlier heuristic), then improves it: a local search empties the
// least-filled instances into the others, a large-neighbourhood search
// packs the instances with room left again, and a swap search frees the
// least-filled instances and swaps their items into the others, one or
// two at a time, where they fill them more (or, failing that, exactly as
// much: a random walk), until what is left packs into fewer. The search
// stops at the lower bound ([Bound]): once a heuristic meets it, the
// rest are not run, and Tried has only those that ran. Every packing honours every
// dimension, host port and distinctInstance group. Cost: about
// O(heuristics × n × instances).
func Pack(items []Shape, b Bin, opt Options) (Packing, error) {
	if err := check(items, b); err != nil {
		return Packing{}, err
	}
	if opt.RandomOrders <= 0 {
		opt.RandomOrders = 8
	}
	if opt.SlackNodes <= 0 {
		opt.SlackNodes = 2000
	}
	if opt.RepackRounds <= 0 {
		opt.RepackRounds = 200
	}
	if opt.SwapAttempts <= 0 {
		opt.SwapAttempts = 5000
	}
	p := newProblem(items, b)
	rnd := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	type run struct {
		name string
		fn   func() [][]int
	}
	arrival := make([]int, len(items))
	for i := range arrival {
		arrival[i] = i
	}
	runs := []run{
		{"best fit", func() [][]int { return p.bestFit(arrival) }},
		{"best fit, random orders", func() [][]int {
			var best [][]int
			order := slices.Clone(arrival)
			for range opt.RandomOrders {
				rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				if got := p.bestFit(order); best == nil || len(got) < len(best) {
					best = got
				}
			}
			return best
		}},
		{"first fit decreasing", func() [][]int { return p.firstFitDecreasing() }},
		{"dot product", func() [][]int { return p.binCentric(false, 0) }},
		{"minimum slack", func() [][]int { return p.binCentric(true, opt.SlackNodes) }},
		{"minimum slack, random orders", func() [][]int {
			var best [][]int
			for range opt.RandomOrders {
				if got := p.binCentricOrder(true, opt.SlackNodes, rnd); best == nil || len(got) < len(best) {
					best = got
				}
			}
			return best
		}},
	}
	lower := 0
	if lb, err := Bound(items, b); err == nil {
		lower = lb.Bins
	}
	out := Packing{Tried: map[string]int{}}
	for i, r := range runs {
		if out.Bins != nil && len(out.Bins) <= lower {
			break // optimal: nothing can do better
		}
		bins := r.fn()
		out.Tried[r.name] = len(bins)
		if out.Bins == nil || len(bins) < len(out.Bins) {
			out.Bins, out.Method = bins, r.name
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(runs)+1)
		}
	}
	improved := out.Bins
	if len(improved) > lower {
		improved = p.repack(p.localSearch(out.Bins), rnd, opt.RepackRounds, opt.SlackNodes)
	}
	improved = p.swapSearch(improved, rnd, opt.SwapAttempts, lower)
	if len(improved) < len(out.Bins) {
		out.Bins, out.Method = improved, out.Method+"+local search"
	}
	out.Tried["local search"] = len(out.Bins)
	if opt.Progress != nil {
		opt.Progress(len(runs)+1, len(runs)+1)
	}
	slices.SortFunc(out.Bins, func(a, b []int) int { return cmp.Compare(a[0], b[0]) })
	return out, nil
}
