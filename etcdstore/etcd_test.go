package etcdstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stevedore-go/stevedore/etcdstore/etcdtest"
)

// startEtcd starts an etcd cluster of n members on 127.0.0.1 and returns
// it with its client URLs. A proposal of many tasks is one transaction,
// so the servers take up to 4,096 operations in one. Tests run without
// fsync; benchmarks measure etcd as it runs in production, with it.
func startEtcd(tb testing.TB, n int) (*etcdtest.Cluster, []string) {
	_, bench := tb.(*testing.B)
	ec := etcdtest.New(tb, etcdtest.Options{Members: n, MaxTxnOps: 4096, NoFsync: !bench})
	return ec, ec.Endpoints()
}

// moveLeader hands the etcd cluster's leadership to another member.
func moveLeader(t testing.TB, ec *etcdtest.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := ec.MoveLeader(ctx)
	require.NoError(t, err)
}

func client(t testing.TB, endpoints []string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
