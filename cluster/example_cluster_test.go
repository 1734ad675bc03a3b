package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
)

// A scheduler reads the cluster, decides, and commits a proposal that the
// cluster re-checks and applies all or nothing.
func ExampleCluster_Commit() {
	c := cluster.New("demo", cluster.Options{
		Clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Rand:  rand.New(rand.NewPCG(1, 2)),
	})
	info, _ := c.RegisterInstance(cluster.InstanceSpec{CPU: 1024, Memory: 996})
	nginx, _ := cluster.NewDemand(1000, 500, []uint16{80}, nil, 0)
	spec := &cluster.TaskSpec{Family: "nginx", Group: "family:nginx", Demand: nginx}

	tasks, err := c.Commit([]cluster.Placement{{InstanceID: info.ID, Spec: spec}})
	fmt.Println(len(tasks), tasks[0].LastStatus, err)

	// A second nginx no longer fits: the commit is rejected whole.
	_, err = c.Commit([]cluster.Placement{{InstanceID: info.ID, Spec: spec}})
	fmt.Println(err != nil)

	c.Read(func(v *cluster.View) {
		in, _ := v.Instance(info.ID)
		fmt.Println(in.RemainingCPU(), in.RemainingMemory(), in.ReservedPorts().Strings())
		fmt.Println(in.Fits(nginx, nil))
	})
	// Output:
	// 1 PENDING <nil>
	// true
	// 24 496 [22 80 2375 2376 51678 51679]
	// RESOURCE:CPU
}

// The fit test reports the first failing check in CheckOrder.
func ExampleInstance_Fits() {
	c := cluster.New("demo", cluster.Options{Rand: rand.New(rand.NewPCG(1, 2))})
	c.RegisterInstance(cluster.InstanceSpec{CPU: 2048, Memory: 4096, PortsUDP: []uint16{53}})
	dns, _ := cluster.NewDemand(128, 128, nil, []uint16{53}, 0)
	web, _ := cluster.NewDemand(128, 128, []uint16{53}, nil, 0)
	c.Read(func(v *cluster.View) {
		in := v.InstanceAt(0)
		fmt.Println(in.Fits(dns, nil))
		fmt.Printf("%q\n", in.Fits(web, nil).String())
	})
	// Output:
	// RESOURCE:PORTS_UDP
	// ""
}
