package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/etcdstore"
	"github.com/stevedore-go/stevedore/scheduler"
)

// Two processes share one cluster on etcd. Each schedules on its own copy
// and commits through etcd; a placement decided on room that the other
// has taken meanwhile is refused as the in-memory cluster refuses it.
func ExampleOpenCluster() {
	endpoint, stop := startExampleEtcd()
	defer stop()
	ctx := context.Background()
	var copies []*etcdstore.Cluster
	for i := range 2 {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
		if err != nil {
			panic(err)
		}
		defer cli.Close()
		c, err := etcdstore.OpenCluster(ctx, cli, "demo", etcdstore.ClusterOptions{Rand: rand.New(rand.NewPCG(uint64(i), 1))})
		if err != nil {
			panic(err)
		}
		defer c.Close()
		copies = append(copies, c)
	}
	in, _ := copies[0].RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 2048})
	_ = copies[1].Sync(ctx)

	d, _ := cluster.NewDemand(768, 512, nil, nil, 0)
	spec := &cluster.TaskSpec{Demand: d, Family: "web", Group: "family:web"}
	res, err := scheduler.Execute(copies[1], &scheduler.RandomSpread{Spec: spec, Count: 1, Rand: rand.New(rand.NewPCG(1, 2))}, 0)
	fmt.Println("placed by the second:", len(res.Tasks), err)

	// The first process proposes the same room, as if it had decided
	// before it heard of that task: its commit is checked on the current
	// state, whether its copy has heard of the task yet or not.
	_, err = copies[0].Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec}}})
	var conflict *cluster.ConflictError
	fmt.Println("refused:", errors.As(err, &conflict), conflict.Reason)
	copies[0].Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		fmt.Println("remaining CPU:", x.RemainingCPU())
	})
	// Output:
	// placed by the second: 1 <nil>
	// refused: true RESOURCE:CPU
	// remaining CPU: 256
}
