package etcdstore_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/etcdstore"
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

func startExampleEtcd() (string, func()) {
	dir, _ := os.MkdirTemp("", "etcd")
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.Logger = "zap"
	peer, _ := url.Parse("http://" + exampleAddr())
	client, _ := url.Parse("http://" + exampleAddr())
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		panic(err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		panic("etcd did not start")
	}
	return client.String(), func() { e.Close(); os.RemoveAll(dir) }
}

func exampleAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
