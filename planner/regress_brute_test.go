package planner_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stevedore-go/stevedore/planner"
)

// optBins is the least number of bins by exhaustive search (small n).
func optBins(items []planner.Shape, b planner.Bin) int {
	n := len(items)
	type ld struct {
		c, m, g, e int64
		ports      map[uint32]bool
		groups     map[string]bool
	}
	eniCap := b.ENIs
	if eniCap == 0 {
		eniCap = 1 << 62
	}
	best := n
	var bins []*ld
	var rec func(i int)
	rec = func(i int) {
		if len(bins) >= best {
			return
		}
		if i == n {
			best = len(bins)
			return
		}
		s := items[i]
		fits := func(l *ld) bool {
			if l.c+s.CPU > b.CPU || l.m+s.Memory > b.Memory || l.g+s.GPUs > b.GPUs || l.e+s.ENIs > eniCap {
				return false
			}
			for _, p := range s.Ports {
				if l.ports[p] {
					return false
				}
			}
			return s.Distinct == "" || !l.groups[s.Distinct]
		}
		add := func(l *ld, sign int64) {
			l.c += sign * s.CPU
			l.m += sign * s.Memory
			l.g += sign * s.GPUs
			l.e += sign * s.ENIs
			for _, p := range s.Ports {
				l.ports[p] = sign > 0
			}
			if s.Distinct != "" {
				l.groups[s.Distinct] = sign > 0
			}
		}
		for _, l := range bins {
			if fits(l) {
				add(l, 1)
				rec(i + 1)
				add(l, -1)
			}
		}
		l := &ld{ports: map[uint32]bool{}, groups: map[string]bool{}}
		add(l, 1)
		bins = append(bins, l)
		rec(i + 1)
		bins = bins[:len(bins)-1]
	}
	rec(0)
	return best
}

// TestBoundNeverAboveOptimum: brute force over small random
// instances (1-D and 2-D, with ports and groups): Bound ≤ OPT ≤ Pack, and
// every packing valid and deterministic for a fixed seed.
func TestBoundNeverAboveOptimum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for iter := 0; iter < 4000; iter++ {
		c := int64(2 + r.IntN(20))
		b := planner.Bin{CPU: c, Memory: c}
		if r.IntN(2) == 0 {
			b.Memory = 0
		}
		if r.IntN(3) == 0 {
			b.ENIs = int64(1 + r.IntN(3))
		}
		n := 1 + r.IntN(8)
		items := make([]planner.Shape, n)
		for i := range items {
			items[i].CPU = r.Int64N(c + 1)
			if b.Memory > 0 {
				items[i].Memory = r.Int64N(c + 1)
			}
			if b.ENIs > 0 && r.IntN(2) == 0 {
				items[i].ENIs = 1
			}
			if r.IntN(5) == 0 {
				items[i].Ports = []uint32{uint32(80 + r.IntN(2))}
			}
			if r.IntN(5) == 0 {
				items[i].Distinct = "g"
			}
		}
		opt := optBins(items, b)
		lb, err := planner.Bound(items, b)
		if err != nil {
			t.Fatal(err)
		}
		if lb.Bins > opt {
			t.Fatalf("Bound %d (%s) > optimum %d for %+v in %+v", lb.Bins, lb.Binding, opt, items, b)
		}
		p, err := planner.Pack(items, b, planner.Options{Seed: uint64(iter)})
		if err != nil {
			t.Fatal(err)
		}
		checkPacking(t, items, b, p)
		if len(p.Bins) < opt {
			t.Fatalf("Pack %d < opt %d", len(p.Bins), opt)
		}
		p2, _ := planner.Pack(items, b, planner.Options{Seed: uint64(iter)})
		if !reflect.DeepEqual(p.Bins, p2.Bins) || p.Method != p2.Method {
			t.Fatalf("not deterministic")
		}
	}
}
