package etcdtest_test

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/etcdstore/etcdtest"
)

// A three-member etcd keeps its quorum with one member stopped, and takes
// the member back on the same address and data.
func ExampleStart() {
	ec, err := etcdtest.Start(etcdtest.Options{Members: 3, NoFsync: true})
	if err != nil {
		panic(err)
	}
	defer ec.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := cli.Put(ctx, "k", "before"); err != nil {
		panic(err)
	}
	ec.Members[2].Stop()
	_, err = cli.Put(ctx, "k", "during")
	fmt.Println("written with a member stopped:", err == nil)
	if err := ec.Members[2].Start(); err != nil {
		panic(err)
	}
	to, err := ec.MoveLeader(ctx)
	fmt.Println("leader moved:", err == nil, to != nil)
	r, err := cli.Get(ctx, "k")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, %d members running\n", r.Kvs[0].Value, running(ec))
	// Output:
	// written with a member stopped: true
	// leader moved: true true
	// during, 3 members running
}

func running(ec *etcdtest.Cluster) int {
	n := 0
	for _, m := range ec.Members {
		if m.Running() {
			n++
		}
	}
	return n
}
