package planner_test

import (
	"fmt"

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
