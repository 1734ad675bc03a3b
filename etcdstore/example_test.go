package etcdstore_test

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/etcdstore"
	"github.com/stevedore-go/stevedore/etcdstore/etcdtest"
	"github.com/stevedore-go/stevedore/journal"
)

// Two replicas share one state: what one is told, the other describes.
func ExampleOpen() {
	endpoint, stop := startExampleEtcd()
	defer stop()
	ctx := context.Background()
	opts := etcdstore.Options{Journal: journal.Options{Seed: 1, Region: "us-east-1", AccountID: "123456789012"}}
	var replicas []*etcdstore.Replica
	for range 2 {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
		if err != nil {
			panic(err)
		}
		defer cli.Close()
		r, err := etcdstore.Open(ctx, cli, opts)
		if err != nil {
			panic(err)
		}
		defer r.Close()
		replicas = append(replicas, r)
	}
	out, err := replicas[0].Do(ctx, "CreateCluster", []byte(`{"clusterName":"demo"}`))
	fmt.Println(out.Status, err)
	out, err = replicas[1].Do(ctx, "ListClusters", []byte(`{}`))
	fmt.Println(string(out.Body), err)
	// Output:
	// 200 <nil>
	// {"clusterArns":["arn:aws:ecs:us-east-1:123456789012:cluster/demo"]} <nil>
}

// startExampleEtcd starts a one-member etcd on 127.0.0.1 for an example.
func startExampleEtcd() (string, func()) {
	ec, err := etcdtest.Start(etcdtest.Options{NoFsync: true})
	if err != nil {
		panic(err)
	}
	return ec.Endpoints()[0], ec.Close
}
