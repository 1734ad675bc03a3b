package scheduler_test

import (
	"fmt"

	"github.com/stevedore-go/stevedore/scheduler"
)

// A capacity provider strategy of ECS's guide: one task at least on
// on-demand instances, the rest one in five there and four in five on
// spot instances.
func ExampleSplitStrategy() {
	strategy := []scheduler.StrategyItem{
		{Provider: "on-demand", Base: 1, Weight: 1},
		{Provider: "spot", Weight: 4},
	}
	if err := scheduler.ValidateStrategy(strategy); err != nil {
		fmt.Println(err)
		return
	}
	first := scheduler.SplitStrategy(strategy, nil, 6)
	fmt.Println("6 tasks:", first)
	fmt.Println("5 more:", scheduler.SplitStrategy(strategy, first, 5))
	// Output:
	// 6 tasks: [2 4]
	// 5 more: [1 4]
}
