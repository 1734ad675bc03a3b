package scheduler_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// A custom scheduler: place each task on the instance with the most
// remaining memory. Execute commits the plan and re-decides on conflicts.
func ExampleFunc() {
	c := cluster.New("demo", cluster.Options{Rand: rand.New(rand.NewPCG(1, 2))})
	for _, mem := range []int64{1024, 4096, 2048} {
		c.RegisterInstance(cluster.InstanceSpec{CPU: 4096, Memory: mem})
	}
	d, _ := cluster.NewDemand(256, 512, nil, nil, 0)
	spec := &cluster.TaskSpec{Family: "app", Group: "family:app", Demand: d}

	mostMemory := scheduler.Func(func(v *cluster.View, plan *scheduler.Plan) {
		var best *cluster.Instance
		for in := range v.Instances() {
			if in.Fits(d, &plan.Pending) == cluster.ReasonNone && (best == nil || in.RemainingMemory() > best.RemainingMemory()) {
				best = in
			}
		}
		if best != nil {
			plan.Place(best, spec)
		}
	})
	res, err := scheduler.Execute(c, mostMemory, 0)
	if err != nil {
		panic(err)
	}
	c.Read(func(v *cluster.View) {
		in, _ := v.Instance(res.Tasks[0].InstanceID)
		fmt.Println(in.RegisteredMemory(), in.RemainingMemory())
	})
	// Output: 4096 3584
}

// RunTask's default scheduler: the power of two random choices among the
// instances that fit.
func ExampleRandomSpread() {
	c := cluster.New("demo", cluster.Options{Rand: rand.New(rand.NewPCG(1, 2))})
	for range 4 {
		c.RegisterInstance(cluster.InstanceSpec{CPU: 4096, Memory: 8192})
	}
	d, _ := cluster.NewDemand(256, 512, nil, nil, 0)
	spec := &cluster.TaskSpec{Family: "app", Group: "family:app", Demand: d}
	res, _ := scheduler.Execute(c, &scheduler.RandomSpread{Spec: spec, Count: 8, Rand: rand.New(rand.NewPCG(7, 7))}, 0)
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			fmt.Print(in.TaskCount(), " ")
		}
	})
	fmt.Println(len(res.Tasks))
	// Output: 1 2 2 3 8
}
