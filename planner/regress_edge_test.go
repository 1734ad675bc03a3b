package planner_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stevedore-go/stevedore/planner"
)

// TestL2Brute1D: on 3,000 small one-dimensional instances, the bound
// never exceeds the optimum an exhaustive search finds.
func TestL2Brute1D(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for iter := 0; iter < 3000; iter++ {
		c := int64(2 + r.IntN(30))
		b := planner.Bin{CPU: c}
		n := 1 + r.IntN(11)
		items := make([]planner.Shape, n)
		for i := range items {
			items[i].CPU = r.Int64N(c + 1)
		}
		opt := optBins(items, b)
		lb, _ := planner.Bound(items, b)
		if lb.Bins > opt {
			t.Fatalf("Bound %d > opt %d: %+v cap %d", lb.Bins, opt, items, c)
		}
	}
}

// TestEdges: empty workloads, tasks of size 0, bins with zero
// capacities and GPU tasks over zones pack validly, and PlanCapacity takes
// them.
func TestEdges(t *testing.T) {
	for _, tc := range []struct {
		items []planner.Shape
		b     planner.Bin
	}{
		{nil, planner.Bin{}},
		{[]planner.Shape{{}, {}, {}}, planner.Bin{}},
		{[]planner.Shape{{}, {}, {}}, planner.Bin{CPU: 10}},
		{[]planner.Shape{{Memory: 5}, {}}, planner.Bin{Memory: 5}},
		{[]planner.Shape{{GPUs: 1}, {GPUs: 1}}, planner.Bin{CPU: 1, GPUs: 1}},
	} {
		p, err := planner.Pack(tc.items, tc.b, planner.Options{})
		if err != nil {
			t.Fatal(err)
		}
		lb, _ := planner.Bound(tc.items, tc.b)
		t.Logf("%+v in %+v: %d bins (%s), bound %d", tc.items, tc.b, len(p.Bins), p.Method, lb.Bins)
		checkPacking(t, tc.items, tc.b, p)
	}
	empty, err := planner.PlanCapacity(nil, nil, planner.PlanOptions{Zones: 3})
	if err != nil || len(empty.Fleets) != 0 {
		t.Fatalf("an empty plan: %+v, %v", empty, err)
	}
	pl, err := planner.PlanCapacity([]planner.Shape{{GPUs: 1, CPU: 1}, {CPU: 1}}, []planner.Candidate{{Name: "g", Bin: planner.Bin{CPU: 4, Memory: 4, GPUs: 1}}}, planner.PlanOptions{Zones: 2})
	if err != nil || len(pl.Fleets) != 1 || pl.Fleets[0].Instances != 2 {
		t.Fatalf("one task per zone, one instance each: %+v, %v", pl, err)
	}
}
