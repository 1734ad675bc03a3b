package planner_test

import (
	"fmt"

	"github.com/stevedore-go/stevedore/instancetypes"

	"github.com/stevedore-go/stevedore/planner"
)

// How many m5.large-sized instances (2 vCPU, about 7.5 GiB registered)
// forty web tasks and ten exporters on host port 9100 need, and why.
func ExampleBound() {
	var items []planner.Shape
	for range 40 {
		items = append(items, planner.Shape{CPU: 256, Memory: 512})
	}
	for range 10 {
		items = append(items, planner.Shape{CPU: 64, Memory: 64, Ports: []uint32{9100}})
	}
	bin := planner.Bin{CPU: 2048, Memory: 7680}
	lb, _ := planner.Bound(items, bin)
	fmt.Println(lb.Bins, lb.Binding)
	p, _ := planner.Pack(items, bin, planner.Options{Seed: 1})
	fmt.Println(len(p.Bins), "instances")
	// Output:
	// 10 host port 9100: one task per instance
	// 10 instances
}

// The cheapest fleet for twelve memory-heavy tasks among three types.
func ExamplePlanCapacity() {
	var items []planner.Shape
	for range 12 {
		items = append(items, planner.Shape{CPU: 1024, Memory: 6144})
	}
	var cands []planner.Candidate
	for _, name := range []string{"m5.large", "r5.large", "r5.xlarge"} {
		t, _ := instancetypes.Lookup(name)
		cands = append(cands, planner.CandidateFor(t, false))
	}
	plan, _ := planner.PlanCapacity(items, cands, planner.PlanOptions{})
	for _, f := range plan.Fleets {
		fmt.Printf("%s: %d instances, $%.3f/h, lower bound %d (%s)\n", f.Candidate.Name, f.Instances, f.CostPerHour, f.Bound.Bins, f.Bound.Binding)
	}
	// Output:
	// r5.xlarge: 3 instances, $0.756/h, lower bound 3 (CPU (L1))
	// r5.large: 6 instances, $0.756/h, lower bound 6 (CPU (L1))
	// m5.large: 12 instances, $1.152/h, lower bound 12 (MEMORY (L2))
}
