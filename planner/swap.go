package planner

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// swapSearch is a dominance local search (after Falkenauer's, as Levine
// and Ducatelle use it): each attempt frees the items of the one to three
// least-filled instances, then, until nothing changes, moves free items
// into room the kept instances have and swaps one or two items of a kept
// instance for one or two free items that fill it more. What stays free
// is packed again by best fit decreasing. An attempt that ends with as
// few instances as before is kept (it has moved room onto the least
// filled instances, which the next attempt frees); one with fewer is the
// improvement. It stops after attempts attempts, or after 500 in a row
// (five per instance when there are fewer than 100) that found no fewer
// instances, or when its budget is spent, or when the packing meets lower
// (the bound).
func (p *problem) swapSearch(packing [][]int, rnd *rand.Rand, attempts, lower int) [][]int {
	best := packing
	cur := packing
	p.budget = swapBudget
	fruitless, limit := 0, min(swapFruitless, 5*len(packing))
	for a := 0; a < attempts && fruitless < limit && len(best) > lower && p.budget > 0; a++ {
		bins := make([]*bin, len(cur))
		for j, items := range cur {
			bins[j] = &bin{}
			for _, i := range items {
				p.add(bins[j], i)
			}
		}
		rnd.Shuffle(len(bins), func(i, j int) { bins[i], bins[j] = bins[j], bins[i] })
		slices.SortStableFunc(bins, func(a, b *bin) int { return cmp.Compare(p.fill(a), p.fill(b)) })
		f := min(1+a%3, len(bins)-1)
		if f <= 0 {
			break
		}
		var free []int
		for _, b := range bins[:f] {
			free = append(free, b.items...)
		}
		kept := bins[f:]
		free = p.dominate(kept, free)
		extra := p.packPool(free, f)
		if len(extra) >= f {
			free, extra = p.sideways(kept, free, f, rnd, swapWalk)
		}
		next := append(itemsOf(kept), extra...)
		switch {
		case len(next) < len(best):
			best, cur, fruitless = next, next, 0
		case len(next) <= len(cur):
			cur = next
			fruitless++
		default:
			fruitless++
		}
	}
	return best
}

// dominate moves and swaps free items into the kept instances, as
// swapSearch says, while the search's budget lasts; it returns the items
// still free.
func (p *problem) dominate(kept []*bin, free []int) []int {
	for changed := true; changed && len(free) > 0 && p.budget > 0; {
		changed = false
		n := len(free)
		free = p.insert(kept, free)
		changed = len(free) < n
		if len(free) == 0 {
			break
		}
		// Swaps: out is one or two of the instance's items, in one or two
		// free ones, taking the swap that fills the instance most.
		for _, b := range kept {
			var bestOut, bestIn [2]int
			bestGain := 1e-9
			found := false
			p.swaps(b, free, func(out, in [2]int) {
				gain := p.size[in[0]] - p.size[out[0]]
				if in[1] >= 0 {
					gain += p.size[in[1]]
				}
				if out[1] >= 0 {
					gain -= p.size[out[1]]
				}
				if gain > bestGain && p.swapFits(b, out, in) {
					bestGain, bestOut, bestIn, found = gain, out, in, true
				}
			})
			if p.budget <= 0 {
				return free
			}
			if !found {
				continue
			}
			free = p.swap(b, bestOut, bestIn, free)
			changed = true
		}
	}
	return free
}

// swapFits reports whether bin b holds its items less out plus in (−1
// entries are none), on every dimension, host port and group.
func (p *problem) swapFits(b *bin, out, in [2]int) bool {
	for _, d := range p.active {
		load := b.load[d]
		for _, i := range out {
			if i >= 0 {
				load -= p.vec[i][d]
			}
		}
		for _, i := range in {
			if i >= 0 {
				load += p.vec[i][d]
			}
		}
		if load > p.cap[d] {
			return false
		}
	}
	plain := true
	for _, i := range in {
		if i >= 0 && (len(p.items[i].Ports) > 0 || p.items[i].Distinct != "") {
			plain = false
		}
	}
	if plain {
		return true
	}
	// The slow path: take out, put in one by one, and undo.
	for _, i := range out {
		if i >= 0 {
			p.remove(b, i)
		}
	}
	ok, added := true, 0
	for _, i := range in {
		if i < 0 {
			continue
		}
		if !p.fits(b, i) {
			ok = false
			break
		}
		p.add(b, i)
		added++
	}
	for k := added - 1; k >= 0; k-- {
		p.remove(b, in[k])
	}
	for _, i := range out {
		if i >= 0 {
			p.add(b, i)
		}
	}
	return ok
}

// packPool packs the free items by best fit decreasing and, when that
// needs f instances or more and they are few, by an exact search into
// f−1.
func (p *problem) packPool(free []int, f int) [][]int {
	order := slices.Clone(free)
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p.size[b], p.size[a]) })
	bins := p.bestFit(order)
	if len(bins) >= f && f > 1 && len(free) <= 16 {
		if exact := p.exact(free, f-1, 20000); exact != nil {
			return exact
		}
	}
	return bins
}

// sideways is a random walk for when no swap fills a kept instance more:
// for at most steps steps it makes a swap that leaves a kept instance
// exactly as full (one or two of its items for one or two free ones of
// the same total size, but not the same sizes), takes any swap that then
// fills more, and stops as soon as the free items pack into fewer than f
// instances. It returns the items still free and their packing.
func (p *problem) sideways(kept []*bin, free []int, f int, rnd *rand.Rand, steps int) ([]int, [][]int) {
	type swap struct {
		b       *bin
		out, in [2]int
	}
	for range steps {
		if p.budget <= 0 {
			break
		}
		var pick swap
		seen := 0
		// Look at up to 8 random instances for swaps of equal size.
		for range 8 {
			b := kept[rnd.IntN(len(kept))]
			p.swaps(b, free, func(out, in [2]int) {
				if p.sameLoad(out, in) && !p.sameSizes(out, in) && p.swapFits(b, out, in) {
					if seen++; rnd.IntN(seen) == 0 {
						pick = swap{b, out, in}
					}
				}
			})
			if seen > 0 {
				break
			}
		}
		if seen == 0 {
			break
		}
		free = p.swap(pick.b, pick.out, pick.in, free)
		free = p.insert(kept, free)
		if bins := p.packPool(free, f); len(bins) < f {
			return free, bins
		}
	}
	return free, p.packPool(free, f)
}

// sameLoad reports whether out and in (−1 entries are none) add up to the
// same load on every active dimension.
func (p *problem) sameLoad(out, in [2]int) bool {
	for _, d := range p.active {
		var diff int64
		for k := range 2 {
			if in[k] >= 0 {
				diff += p.vec[in[k]][d]
			}
			if out[k] >= 0 {
				diff -= p.vec[out[k]][d]
			}
		}
		if diff != 0 {
			return false
		}
	}
	return true
}

// sameSizes reports whether out and in are the same sizes, so that
// swapping them changes nothing but names.
func (p *problem) sameSizes(out, in [2]int) bool {
	if (out[1] < 0) != (in[1] < 0) {
		return false
	}
	if p.vec[out[0]] == p.vec[in[0]] && (out[1] < 0 || p.vec[out[1]] == p.vec[in[1]]) {
		return true
	}
	return out[1] >= 0 && p.vec[out[0]] == p.vec[in[1]] && p.vec[out[1]] == p.vec[in[0]]
}

// The swap search's limits: the attempts in a row that find no fewer
// instances before it stops, the steps of each random walk, and the swap
// tests and instances looked at in all (about 0.3 s; a triplet instance
// of n = 300 takes up to 4 million). On 20
// triplet instances of n = 300 they reach the optimum on 16, where
// (50, 200) reached 1 and longer limits reached no more.
const (
	swapFruitless = 500
	swapWalk      = 1000
	swapBudget    = 20_000_000
)

// insert moves free items into room the kept instances have, largest
// first, each where it leaves the least room; it returns the items still
// free.
func (p *problem) insert(kept []*bin, free []int) []int {
	slices.SortFunc(free, func(a, b int) int { return cmp.Compare(p.size[b], p.size[a]) })
	for n := 0; n < len(free); {
		i := free[n]
		at, least := -1, 0.0
		p.budget -= len(kept)
		for k, b := range kept {
			if p.fits(b, i) {
				if s := p.slack(b, i); at < 0 || s < least {
					at, least = k, s
				}
			}
		}
		if at < 0 {
			n++
			continue
		}
		p.add(kept[at], i)
		free = slices.Delete(free, n, n+1)
	}
	return free
}

// swaps calls fn with every swap of one or two of b's items (out) for one
// or two of the free ones (in), −1 for none, each counted against the
// search's budget, until the budget is spent.
func (p *problem) swaps(b *bin, free []int, fn func(out, in [2]int)) {
	m := len(b.items)
	for o1 := 0; o1 < m; o1++ {
		for o2 := o1; o2 < m; o2++ { // o2 == o1: one out
			out := [2]int{b.items[o1], -1}
			if o2 != o1 {
				out[1] = b.items[o2]
			}
			for f1 := 0; f1 < len(free); f1++ {
				for f2 := f1; f2 < len(free); f2++ {
					in := [2]int{free[f1], -1}
					if f2 != f1 {
						in[1] = free[f2]
					}
					if p.budget--; p.budget <= 0 {
						return
					}
					fn(out, in)
				}
			}
		}
	}
}

// swap makes the swap: out leaves b for the free items, in goes from
// them into b. It returns the free items.
func (p *problem) swap(b *bin, out, in [2]int, free []int) []int {
	for _, i := range out {
		if i >= 0 {
			p.remove(b, i)
			free = append(free, i)
		}
	}
	for _, i := range in {
		if i >= 0 {
			p.add(b, i)
			j := slices.Index(free, i)
			free = slices.Delete(free, j, j+1)
		}
	}
	return free
}
