package placement_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// newExampleCluster registers one instance per spec, named by its EC2
// instance id, on an injected clock and a seeded id source.
func newExampleCluster(specs ...cluster.InstanceSpec) (*cluster.Cluster, map[string]string) {
	clock := cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := cluster.New("example", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(1, 0))})
	ids := map[string]string{}
	for _, spec := range specs {
		info, err := c.RegisterInstance(spec)
		if err != nil {
			panic(err)
		}
		ids[spec.EC2InstanceID] = info.ID
	}
	return c, ids
}

func ExampleParseStrategy() {
	for _, s := range [][2]string{
		{"binpack", "memory"},
		{"spread", "attribute:ecs.availability-zone"},
		{"spread", "host"},
		{"random", ""},
		{"binpack", "gpu"},
	} {
		strategy, err := placement.ParseStrategy(s[0], s[1])
		if err != nil {
			fmt.Println(errors.Is(err, placement.ErrInvalid), err)
			continue
		}
		fmt.Printf("%v: type %v, field %q\n", strategy, strategy.Type(), strategy.Field())
	}
	// Output:
	// binpack(memory): type binpack, field "memory"
	// spread(attribute:ecs.availability-zone): type spread, field "attribute:ecs.availability-zone"
	// spread(host): type spread, field "host"
	// random: type random, field ""
	// true invalid placement parameter: binpack field must be cpu or memory, not "gpu"
}

func ExampleParseConstraint() {
	for _, c := range [][2]string{
		{"distinctInstance", ""},
		{"memberOf", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		{"distinctInstance", "runningTasksCount == 0"},
		{"memberOf", "attribute:ecs.instance-type =="},
	} {
		constraint, err := placement.ParseConstraint(c[0], c[1])
		if err != nil {
			fmt.Println(errors.Is(err, placement.ErrInvalid), err)
			continue
		}
		if e := constraint.Expression(); e != nil {
			fmt.Println(constraint.Type(), e)
		} else {
			fmt.Println(constraint.Type())
		}
	}
	// Output:
	// distinctInstance
	// memberOf attribute:ecs.availability-zone in [us-east-1a, us-east-1b]
	// true invalid placement parameter: You can't specify an expression if the constraint type is distinctInstance
	// true invalid placement parameter: memberOf expression: column 31: expected a value after "==", found end of expression
}

func ExampleRequest_Validate() {
	d, _ := cluster.NewDemand(256, 512, nil, nil, 0)
	req := placement.Request{
		Spec:       &cluster.TaskSpec{Demand: d, Group: "family:web"},
		Strategies: []placement.Strategy{placement.MustParseStrategy("random", "")},
	}
	fmt.Println(req.Validate())
	req.Rand = rand.New(rand.NewPCG(1, 0))
	fmt.Println(req.Validate())
	// Output:
	// invalid placement parameter: a random strategy needs Request.Rand
	// <nil>
}

// Binpack on memory, then on CPU: each task goes to the instance with the
// least memory left that still fits it, the least CPU breaking ties (the
// two small instances tie on memory). The tasks of one call are placed one
// after another, each seeing what the earlier ones took.
func ExampleReference() {
	c, _ := newExampleCluster(
		cluster.InstanceSpec{EC2InstanceID: "i-large", CPU: 4096, Memory: 8192},
		cluster.InstanceSpec{EC2InstanceID: "i-small", CPU: 2048, Memory: 2048},
		cluster.InstanceSpec{EC2InstanceID: "i-small-fewer-cpu", CPU: 1024, Memory: 2048},
	)
	d, _ := cluster.NewDemand(512, 1024, nil, nil, 0)
	req := &placement.Request{
		Spec: &cluster.TaskSpec{Demand: d, Group: "family:web"},
		Strategies: []placement.Strategy{
			placement.MustParseStrategy("binpack", "memory"),
			placement.MustParseStrategy("binpack", "cpu"),
		},
	}
	const seed = 1 // the tie-break seed
	c.Read(func(v *cluster.View) {
		var p cluster.Pending // this call's placements so far
		for range 5 {
			dec := placement.Reference(v, req, &p, seed)
			if dec.Instance == nil {
				fmt.Println("no room:", dec.Tally.String())
				return
			}
			cpu, mem, _ := p.Resources(dec.Instance) // what this call already took there
			fmt.Printf("%s: memory %d, cpu %d left before this task\n", dec.Instance.EC2InstanceID(),
				dec.Instance.RemainingMemory()-mem, dec.Instance.RemainingCPU()-cpu)
			p.Add(dec.Instance, req.Spec)
		}
	})
	// Output:
	// i-small-fewer-cpu: memory 2048, cpu 1024 left before this task
	// i-small-fewer-cpu: memory 1024, cpu 512 left before this task
	// i-small: memory 2048, cpu 2048 left before this task
	// i-small: memory 1024, cpu 1536 left before this task
	// i-large: memory 8192, cpu 4096 left before this task
}

// A distinctInstance failure: two instances already run a task of the
// group, the third is too small. The decision names the closest instance
// (the first that failed only the constraint) and counts why each instance
// was rejected.
func ExampleTally() {
	c, ids := newExampleCluster(
		cluster.InstanceSpec{EC2InstanceID: "i-1", CPU: 256, Memory: 4096},
		cluster.InstanceSpec{EC2InstanceID: "i-2", CPU: 4096, Memory: 4096},
		cluster.InstanceSpec{EC2InstanceID: "i-3", CPU: 4096, Memory: 4096},
	)
	d, _ := cluster.NewDemand(512, 512, nil, nil, 0)
	constraints := placement.Constraints{placement.MustParseConstraint("distinctInstance", "")}
	spec := &cluster.TaskSpec{Demand: d, Group: "family:web", Guard: constraints}
	if _, err := c.Commit([]cluster.Placement{{InstanceID: ids["i-2"], Spec: spec}, {InstanceID: ids["i-3"], Spec: spec}}); err != nil {
		fmt.Println(err)
		return
	}
	req := &placement.Request{Spec: spec, Constraints: constraints}
	c.Read(func(v *cluster.View) {
		dec := placement.Reference(v, req, nil, 1)
		fmt.Println(dec.Instance == nil, dec.Closest.EC2InstanceID(), dec.Reason)
		fmt.Println(dec.Tally.String())
		fmt.Println(dec.Tally.Count(cluster.ReasonDistinctInstance))
	})
	// Output:
	// true i-2 DistinctInstance placement constraint unsatisfied.
	// RESOURCE:CPU: 1 instance, DistinctInstance placement constraint unsatisfied.: 2 instances
	// 2
}

// Constraints.Reason tests the constraints alone, with the call's earlier
// placements counted: here the memberOf affinity holds on i-2 only once a
// task of the group is pending there.
func ExampleConstraints_Reason() {
	c, ids := newExampleCluster(
		cluster.InstanceSpec{EC2InstanceID: "i-1", CPU: 4096, Memory: 4096},
		cluster.InstanceSpec{EC2InstanceID: "i-2", CPU: 4096, Memory: 4096},
	)
	d, _ := cluster.NewDemand(0, 128, nil, nil, 0)
	spec := &cluster.TaskSpec{Demand: d, Group: "family:web"}
	affinity := placement.Constraints{placement.MustParseConstraint("memberOf", "task:group == family:web")}
	c.Read(func(v *cluster.View) {
		in2, _ := v.Instance(ids["i-2"])
		var p cluster.Pending
		fmt.Printf("%q\n", affinity.Reason(in2, "family:web", &p).String())
		p.Add(in2, spec)
		fmt.Printf("%q\n", affinity.Reason(in2, "family:web", &p).String())
	})
	// Output:
	// "MemberOf placement constraint unsatisfied."
	// ""
}
