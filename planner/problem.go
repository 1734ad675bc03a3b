package planner

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
)

// problem is a workload prepared for packing: each item's sizes, and
// normalised by the bin's capacity on the dimensions that matter.
type problem struct {
	items  []Shape
	vec    [][dims]int64
	norm   [][dims]float64
	cap    [dims]int64
	active []int // dimensions some item uses, with a finite capacity
	size   []float64
	least  [dims]int64 // per dimension, the smallest item
	// budget is what the swap search may still spend, in swap tests and
	// instances looked at.
	budget int
}

func newProblem(items []Shape, b Bin) *problem {
	p := &problem{items: items, vec: make([][dims]int64, len(items)), norm: make([][dims]float64, len(items)), cap: b.vec(), size: make([]float64, len(items))}
	used := [dims]bool{}
	for i := range items {
		p.vec[i] = items[i].vec()
		for d := range dims {
			used[d] = used[d] || p.vec[i][d] > 0
		}
	}
	for d := range dims {
		if used[d] && !(d == 3 && b.ENIs == 0) {
			p.active = append(p.active, d)
		}
	}
	for d := range dims {
		for i := range items {
			if i == 0 || p.vec[i][d] < p.least[d] {
				p.least[d] = p.vec[i][d]
			}
		}
	}
	for i := range items {
		for _, d := range p.active {
			p.norm[i][d] = float64(p.vec[i][d]) / float64(p.cap[d])
			p.size[i] += p.norm[i][d]
		}
	}
	return p
}

// bin is one instance being filled.
type bin struct {
	load   [dims]int64
	ports  []uint32 // sorted
	groups []string
	items  []int
}

func (p *problem) fits(b *bin, i int) bool {
	for _, d := range p.active {
		if b.load[d]+p.vec[i][d] > p.cap[d] {
			return false
		}
	}
	for _, port := range p.items[i].Ports {
		if _, ok := slices.BinarySearch(b.ports, port); ok {
			return false
		}
	}
	if g := p.items[i].Distinct; g != "" && slices.Contains(b.groups, g) {
		return false
	}
	return true
}

func (p *problem) add(b *bin, i int) {
	for d := range dims {
		b.load[d] += p.vec[i][d]
	}
	for _, port := range p.items[i].Ports {
		j, _ := slices.BinarySearch(b.ports, port)
		b.ports = slices.Insert(b.ports, j, port)
	}
	if g := p.items[i].Distinct; g != "" {
		b.groups = append(b.groups, g)
	}
	b.items = append(b.items, i)
}

func (p *problem) remove(b *bin, i int) {
	for d := range dims {
		b.load[d] -= p.vec[i][d]
	}
	for _, port := range p.items[i].Ports {
		if j, ok := slices.BinarySearch(b.ports, port); ok {
			b.ports = slices.Delete(b.ports, j, j+1)
		}
	}
	if g := p.items[i].Distinct; g != "" {
		if j := slices.Index(b.groups, g); j >= 0 {
			b.groups = slices.Delete(b.groups, j, j+1)
		}
	}
	if j := slices.Index(b.items, i); j >= 0 {
		b.items = slices.Delete(b.items, j, j+1)
	}
}

// slack is the room a bin has left, normalised and summed over the active
// dimensions, after adding item i (−1 for none).
func (p *problem) slack(b *bin, i int) float64 {
	var s float64
	for _, d := range p.active {
		left := p.cap[d] - b.load[d]
		if i >= 0 {
			left -= p.vec[i][d]
		}
		s += float64(left) / float64(p.cap[d])
	}
	return s
}

func (p *problem) fill(b *bin) float64 { return float64(len(p.active)) - p.slack(b, -1) }

func itemsOf(bins []*bin) [][]int {
	out := make([][]int, 0, len(bins))
	for _, b := range bins {
		if len(b.items) > 0 {
			out = append(out, slices.Clone(b.items))
		}
	}
	return out
}

// closed reports whether no item can go into b: on some dimension its room
// is less than the smallest item's.
func (p *problem) closed(b *bin) bool {
	for _, d := range p.active {
		if p.cap[d]-b.load[d] < p.least[d] {
			return true
		}
	}
	return false
}

// bestFit places the items in order, each on the open instance it leaves
// with the least slack, or on a new one. Instances no item fits are not
// looked at again.
func (p *problem) bestFit(order []int) [][]int {
	var bins []*bin
	var open []int // indexes into bins, in order
	for _, i := range order {
		best, bestSlack := -1, 0.0
		for k, j := range open {
			if b := bins[j]; p.fits(b, i) {
				if s := p.slack(b, i); best < 0 || s < bestSlack {
					best, bestSlack = k, s
				}
			}
		}
		if best < 0 {
			bins = append(bins, &bin{})
			open = append(open, len(bins)-1)
			best = len(open) - 1
		}
		b := bins[open[best]]
		p.add(b, i)
		if p.closed(b) {
			open = slices.Delete(open, best, best+1)
		}
	}
	return itemsOf(bins)
}

// firstFitDecreasing places the items largest first (by summed
// normalised size), each on the first open instance it fits.
func (p *problem) firstFitDecreasing() [][]int {
	order := make([]int, len(p.items))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.size[b], p.size[a]) })
	var bins []*bin
	var open []int
	for _, i := range order {
		placed := false
		for k, j := range open {
			if b := bins[j]; p.fits(b, i) {
				p.add(b, i)
				if p.closed(b) {
					open = slices.Delete(open, k, k+1)
				}
				placed = true
				break
			}
		}
		if !placed {
			b := &bin{}
			p.add(b, i)
			bins = append(bins, b)
			if !p.closed(b) {
				open = append(open, len(bins)-1)
			}
		}
	}
	return itemsOf(bins)
}

// class is a set of items of one shape, not yet placed.
type class struct {
	items []int // a stack
}

// classes groups identical shapes, largest first.
func (p *problem) classes() []*class { return p.classesOf(nil) }

// classesOf groups the given items (all when nil) by shape.
func (p *problem) classesOf(subset []int) []*class {
	byKey := map[string]*class{}
	var out []*class
	var key strings.Builder
	if subset == nil {
		subset = make([]int, len(p.items))
		for i := range subset {
			subset[i] = i
		}
	}
	for _, i := range subset {
		key.Reset()
		for d := range dims {
			key.WriteString(itoa(p.vec[i][d]))
			key.WriteByte(',')
		}
		for _, port := range p.items[i].Ports {
			key.WriteString(itoa(int64(port)))
			key.WriteByte(';')
		}
		key.WriteString(p.items[i].Distinct)
		c := byKey[key.String()]
		if c == nil {
			c = &class{}
			byKey[key.String()] = c
			out = append(out, c)
		}
		c.items = append(c.items, i)
	}
	slices.SortStableFunc(out, func(a, b *class) int { return cmp.Compare(p.size[b.items[0]], p.size[a.items[0]]) })
	for _, c := range out {
		slices.Reverse(c.items) // pop from the end takes the first in order
	}
	return out
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// binCentric fills one instance at a time. With slack false it adds, while
// any fits, the item whose normalised sizes have the largest dot product
// with the room left; with slack true it adds the largest item left, then
// searches (at most nodes steps) for the items that leave the least room.
func (p *problem) binCentric(slack bool, nodes int) [][]int {
	return p.binCentricOrder(slack, nodes, nil)
}

// binCentricOrder is binCentric; with rnd not nil, the minimum-slack
// search visits the classes after the opening item in a shuffled order,
// so that its first perfect fill differs from run to run.
func (p *problem) binCentricOrder(slack bool, nodes int, rnd *rand.Rand) [][]int {
	return p.binCentricOf(nil, slack, nodes, rnd)
}

// binCentricOf is binCentricOrder on the given items (all when nil).
func (p *problem) binCentricOf(subset []int, slack bool, nodes int, rnd *rand.Rand) [][]int {
	cs := p.classesOf(subset)
	search := cs
	if rnd != nil {
		search = slices.Clone(cs)
		rnd.Shuffle(len(search), func(i, j int) { search[i], search[j] = search[j], search[i] })
	}
	left := 0
	for _, c := range cs {
		left += len(c.items)
	}
	var bins []*bin
	for left > 0 {
		b := &bin{}
		// The largest item left opens the bin.
		for _, c := range cs {
			if len(c.items) > 0 {
				p.add(b, c.items[len(c.items)-1])
				c.items = c.items[:len(c.items)-1]
				left--
				break
			}
		}
		if slack {
			left -= p.fillMinSlack(b, search, nodes)
		} else {
			left -= p.fillDot(b, cs)
		}
		bins = append(bins, b)
	}
	return itemsOf(bins)
}

func (p *problem) fillDot(b *bin, cs []*class) int {
	added := 0
	for {
		var best *class
		bestDot := -1.0
		for _, c := range cs {
			if len(c.items) == 0 {
				continue
			}
			i := c.items[len(c.items)-1]
			if !p.fits(b, i) {
				continue
			}
			var dot float64
			for _, d := range p.active {
				dot += p.norm[i][d] * float64(p.cap[d]-b.load[d]) / float64(p.cap[d])
			}
			if dot > bestDot {
				best, bestDot = c, dot
			}
		}
		if best == nil {
			return added
		}
		p.add(b, best.items[len(best.items)-1])
		best.items = best.items[:len(best.items)-1]
		added++
	}
}

// fillMinSlack searches, depth first over the classes largest first, the
// set of items that leaves b the least slack, within nodes steps, and adds
// it.
func (p *problem) fillMinSlack(b *bin, cs []*class, nodes int) int {
	bestSlack := p.slack(b, -1)
	var best, cur []*class
	// steps counts the items tried on the bin; scans the classes looked
	// at, which bounds the cost of the ones that do not fit.
	steps, scans := 0, 0
	var dfs func(from int) bool
	dfs = func(from int) bool {
		for ci := from; ci < len(cs); ci++ {
			c := cs[ci]
			if len(c.items) == 0 {
				continue
			}
			if scans++; scans > 64*nodes {
				return true
			}
			i := c.items[len(c.items)-1]
			if !p.fits(b, i) {
				continue
			}
			if steps++; steps > nodes {
				return true
			}
			p.add(b, i)
			c.items = c.items[:len(c.items)-1]
			cur = append(cur, c)
			if s := p.slack(b, -1); s < bestSlack-1e-12 {
				bestSlack, best = s, slices.Clone(cur)
			}
			stop := bestSlack <= 1e-12 || dfs(ci)
			cur = cur[:len(cur)-1]
			c.items = append(c.items, i)
			p.remove(b, i)
			if stop {
				return true
			}
		}
		return false
	}
	dfs(0)
	for _, c := range best {
		p.add(b, c.items[len(c.items)-1])
		c.items = c.items[:len(c.items)-1]
	}
	return len(best)
}

// localSearch takes the instances least filled first and moves all of
// one's items onto the others (best fit) when they all fit, until a pass
// empties none.
func (p *problem) localSearch(packing [][]int) [][]int {
	bins := make([]*bin, len(packing))
	for j, items := range packing {
		bins[j] = &bin{}
		for _, i := range items {
			p.add(bins[j], i)
		}
	}
	for pass := 0; pass < 4; pass++ {
		emptied := false
		slices.SortStableFunc(bins, func(a, b *bin) int { return cmp.Compare(p.fill(a), p.fill(b)) })
		for j := 0; j < len(bins); j++ {
			src := bins[j]
			if len(src.items) == 0 {
				continue
			}
			type move struct{ i, to int }
			var moves []move
			items := slices.Clone(src.items)
			slices.SortFunc(items, func(a, b int) int { return cmp.Compare(p.size[b], p.size[a]) })
			ok := true
			for _, i := range items {
				best, bestSlack := -1, 0.0
				for k, dst := range bins {
					if k == j || len(dst.items) == 0 || !p.fits(dst, i) {
						continue
					}
					if s := p.slack(dst, i); best < 0 || s < bestSlack {
						best, bestSlack = k, s
					}
				}
				if best < 0 {
					ok = false
					break
				}
				p.add(bins[best], i)
				moves = append(moves, move{i, best})
			}
			if !ok {
				for _, m := range moves {
					p.remove(bins[m.to], m.i)
				}
				continue
			}
			for _, m := range moves {
				p.remove(src, m.i)
			}
			emptied = true
		}
		if !emptied {
			break
		}
	}
	return itemsOf(bins)
}

// repack is a large neighbourhood search: it takes the instances with room
// left (at most 8, least filled first) and a few full ones, packs their
// items again by minimum slack in a shuffled order, and keeps the result
// when it needs fewer instances, for rounds rounds, until every instance
// is full, or after 25 rounds in a row that found nothing.
func (p *problem) repack(packing [][]int, rnd *rand.Rand, rounds, nodes int) [][]int {
	bins := slices.Clone(packing)
	failed := 0
	for range rounds {
		if failed >= 25 {
			return bins // 25 rounds in a row found nothing: stop
		}
		var open, full []int // bin indexes
		for j, items := range bins {
			b := &bin{}
			for _, i := range items {
				p.add(b, i)
			}
			if p.slack(b, -1) > 1e-9 {
				open = append(open, j)
			} else {
				full = append(full, j)
			}
		}
		if len(open) < 2 && (len(open) == 0 || len(full) == 0) {
			return bins
		}
		slices.SortFunc(open, func(a, b int) int { return cmp.Compare(p.binFill(bins[a]), p.binFill(bins[b])) })
		// Enough open instances that their room adds up to a whole one
		// (else no repack of them can empty one), at least 8, at most 24.
		n, room := 0, 0.0
		for n < len(open) && n < 24 && (n < 8 || room < float64(len(p.active))) {
			room += float64(len(p.active)) - p.binFill(bins[open[n]])
			n++
		}
		pick := slices.Clone(open[:n])
		for range min(len(full), 1+rnd.IntN(3)) {
			pick = append(pick, full[rnd.IntN(len(full))])
		}
		slices.Sort(pick)
		pick = slices.Compact(pick)
		var items []int
		for _, j := range pick {
			items = append(items, bins[j]...)
		}
		again := p.binCentricOf(items, true, nodes, rnd)
		if len(again) >= len(pick) && len(p.active) == 1 {
			again = p.completion(items, len(pick)-1, 100*nodes)
		}
		if again == nil || len(again) >= len(pick) && len(items) <= 48 {
			again = p.exact(items, len(pick)-1, 50*nodes)
		}
		if again == nil || len(again) >= len(pick) {
			failed++
			continue
		}
		failed = 0
		var kept [][]int
		for j, b := range bins {
			if _, picked := slices.BinarySearch(pick, j); !picked {
				kept = append(kept, b)
			}
		}
		bins = append(kept, again...)
	}
	return bins
}

func (p *problem) binFill(items []int) float64 {
	var f float64
	for _, i := range items {
		f += p.size[i]
	}
	return f
}

// exact searches, by backtracking over the items largest first, for a
// packing of items into k instances, within nodes steps; nil when it
// finds none. Empty instances are interchangeable: an item opens at most
// one of them.
func (p *problem) exact(items []int, k, nodes int) [][]int {
	if k <= 0 {
		return nil
	}
	order := slices.Clone(items)
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p.size[b], p.size[a]) })
	bins := make([]*bin, k)
	for j := range bins {
		bins[j] = &bin{}
	}
	steps := 0
	var place func(n int) bool
	place = func(n int) bool {
		if n == len(order) {
			return true
		}
		i := order[n]
		opened := false
		for _, b := range bins {
			empty := len(b.items) == 0
			if empty && opened {
				continue // the same as the empty one tried
			}
			if steps++; steps > nodes {
				return false
			}
			if !p.fits(b, i) {
				continue
			}
			opened = opened || empty
			p.add(b, i)
			if place(n + 1) {
				return true
			}
			p.remove(b, i)
		}
		return false
	}
	if !place(0) {
		return nil
	}
	return itemsOf(bins)
}

// completion is bin completion for one dimension (after Korf): it fills k
// instances one at a time, each with the largest item left and a set of
// the others, so that the room all of them leave stays within what k
// instances can spare (k × capacity − the items' sum); nil when it finds
// no packing within nodes steps. Host ports and distinctInstance groups
// are checked as the items go in.
func (p *problem) completion(items []int, k, nodes int) [][]int {
	if k <= 0 || len(p.active) != 1 {
		return nil
	}
	d := p.active[0]
	c := p.cap[d]
	order := slices.Clone(items)
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p.vec[b][d], p.vec[a][d]) })
	var sum int64
	for _, i := range order {
		sum += p.vec[i][d]
	}
	budget := int64(k)*c - sum
	if budget < 0 {
		return nil
	}
	used := make([]bool, len(order))
	left := len(order)
	var bins [][]int
	steps := 0
	var fillNext func(budget int64) bool
	fillNext = func(budget int64) bool {
		if left == 0 {
			return true
		}
		if len(bins) == k {
			return false
		}
		first := slices.Index(used, false)
		b := &bin{}
		p.add(b, order[first])
		used[first] = true
		left--
		var chosen []int
		var extend func(from int) bool
		extend = func(from int) bool {
			if steps++; steps > nodes {
				return false
			}
			room := c - b.load[d]
			// This bin is one choice; try it when its waste fits.
			if room <= budget {
				bins = append(bins, slices.Clone(b.items))
				if fillNext(budget - room) {
					return true
				}
				bins = bins[:len(bins)-1]
			}
			for j := from; j < len(order); j++ {
				if used[j] || p.vec[order[j]][d] > room {
					continue
				}
				if j > from && !used[j-1] && p.vec[order[j-1]][d] == p.vec[order[j]][d] && p.items[order[j-1]].Distinct == p.items[order[j]].Distinct && len(p.items[order[j]].Ports) == 0 {
					continue // the same size as the one just tried
				}
				if !p.fits(b, order[j]) {
					continue
				}
				p.add(b, order[j])
				used[j] = true
				left--
				chosen = append(chosen, j)
				if extend(j + 1) {
					return true
				}
				chosen = chosen[:len(chosen)-1]
				left++
				used[j] = false
				p.remove(b, order[j])
				if steps > nodes {
					return false
				}
			}
			return false
		}
		if extend(first + 1) {
			return true
		}
		used[first] = false
		left++
		return false
	}
	if !fillNext(budget) {
		return nil
	}
	return bins
}
