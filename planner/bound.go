package planner

import (
	"fmt"
	"slices"
)

// LowerBound is the least number of instances any packing of a workload
// needs, and what sets it.
type LowerBound struct {
	Bins int
	// Binding names the constraint that sets Bins, e.g. "MEMORY (L2)" or
	// "host port 9091: one task per instance".
	Binding string
	// ByConstraint has the bound of every constraint that needs at least
	// one instance, by the same names.
	ByConstraint map[string]int
}

// Bound returns the lower bound on the instances of shape b that the
// items need: the largest of, per resource dimension, the L1 bound
// ⌈Σ size / capacity⌉ and Martello and Toth's L2 bound (which also counts
// the items that cannot share an instance because each takes more than
// half of it); per static host port, the items binding it; per
// distinctInstance group, its items. Cost: O(n log n) per dimension.
func Bound(items []Shape, b Bin) (LowerBound, error) {
	if err := check(items, b); err != nil {
		return LowerBound{}, err
	}
	out := LowerBound{ByConstraint: map[string]int{}}
	consider := func(name string, n int) {
		if n <= 0 {
			return
		}
		out.ByConstraint[name] = n
		if n > out.Bins || n == out.Bins && name < out.Binding {
			out.Bins, out.Binding = n, name
		}
	}
	cap := b.vec()
	sizes := make([]int64, len(items))
	for d := range dims {
		if d == 3 && b.ENIs == 0 {
			continue // no ENI limit
		}
		for i := range items {
			sizes[i] = items[i].vec()[d]
		}
		l1, l2 := l1l2(sizes, cap[d])
		consider(dimNames[d]+" (L1)", l1)
		consider(dimNames[d]+" (L2)", l2)
	}
	ports := map[uint32]int{}
	groups := map[string]int{}
	for i := range items {
		for _, p := range items[i].Ports {
			ports[p]++
		}
		if g := items[i].Distinct; g != "" {
			groups[g]++
		}
	}
	for p, n := range ports {
		consider(portName(p)+": one task per instance", n)
	}
	for g, n := range groups {
		consider("distinctInstance "+g+": one task per instance", n)
	}
	if len(items) > 0 {
		consider("at least one instance for any task", 1)
	}
	return out, nil
}

func portName(p uint32) string {
	if p >= 1<<16 {
		return fmt.Sprintf("host port %d/udp", p-1<<16)
	}
	return fmt.Sprintf("host port %d", p)
}

// l1l2 returns the L1 and L2 bounds of one dimension: sizes (each at most
// c) in bins of capacity c. L2 (Martello and Toth 1990) is, over α from 0
// to c/2, |J1| + |J2| + max(0, ⌈(Σ J3 − (|J2|·c − Σ J2)) / c⌉), where J1
// are the sizes above c − α, J2 those in (c/2, c − α] and J3 those in
// [α, c/2]; α need only take the sizes at most c/2 and 0.
func l1l2(sizes []int64, c int64) (l1, l2 int) {
	var sum int64
	for _, s := range sizes {
		sum += s
	}
	if sum == 0 {
		return 0, 0
	}
	if c <= 0 {
		return 0, 0 // check refused any size above 0 already
	}
	l1 = int((sum + c - 1) / c)
	sorted := slices.Clone(sizes)
	slices.Sort(sorted)
	prefix := make([]int64, len(sorted)+1)
	for i, s := range sorted {
		prefix[i+1] = prefix[i] + s
	}
	// count of sizes ≤ x, and their sum.
	upTo := func(x int64) (int, int64) {
		i, _ := slices.BinarySearch(sorted, x+1) // first index with size > x
		return i, prefix[i]
	}
	below := func(x int64) (int, int64) { // sizes < x
		i, _ := slices.BinarySearch(sorted, x)
		return i, prefix[i]
	}
	n := len(sorted)
	alphas := []int64{0}
	for i, s := range sorted {
		if s > c/2 {
			break
		}
		if s > 0 && (i == 0 || sorted[i-1] != s) {
			alphas = append(alphas, s)
		}
	}
	for _, a := range alphas {
		nHalf, sHalf := upTo(c / 2)    // sizes ≤ c/2
		nTop, sTop := upTo(c - a)      // sizes ≤ c − α
		_, sBelowA := below(max(a, 1)) // sizes < α (0-sized ones are free)
		j1 := n - nTop
		j2 := nTop - nHalf
		j2sum := sTop - sHalf
		j3sum := sHalf - sBelowA
		room := int64(j2)*c - j2sum
		extra := 0
		if j3sum > room {
			extra = int((j3sum - room + c - 1) / c)
		}
		l2 = max(l2, j1+j2+extra)
	}
	return l1, max(l2, l1)
}
