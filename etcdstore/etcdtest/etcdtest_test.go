package etcdtest

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestRestartAll: members that all stopped start again together, with
// their data; one started alone is refused within its ready timeout, not
// waited for for ever.
func TestRestartAll(t *testing.T) {
	ec := New(t, Options{Members: 3, NoFsync: true, ReadyTimeout: 2 * time.Second})
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = cli.Put(ctx, "k", "v")
	require.NoError(t, err)
	for _, m := range ec.Members {
		m.Stop()
	}
	require.ErrorContains(t, ec.Members[0].Start(), "not ready within")
	require.False(t, ec.Members[0].Running())
	require.NoError(t, ec.Start())
	r, err := cli.Get(ctx, "k")
	require.NoError(t, err)
	require.Len(t, r.Kvs, 1, "the data outlived the restart")
	require.Equal(t, "v", string(r.Kvs[0].Value))
}

// TestClosed: a closed cluster's members do not start again.
func TestClosed(t *testing.T) {
	ec, err := Start(Options{NoFsync: true})
	require.NoError(t, err)
	require.True(t, ec.Members[0].Running())
	ec.Close()
	ec.Close()
	require.False(t, ec.Members[0].Running())
	require.ErrorContains(t, ec.Members[0].Start(), "closed")
}

// TestAddressTaken: a member whose address another process took meanwhile
// does not start, with an error that says so (Start picks other ports
// when this happens to a new cluster).
func TestAddressTaken(t *testing.T) {
	ec := New(t, Options{NoFsync: true})
	m := ec.Members[0]
	m.Stop()
	ln, err := net.Listen("tcp", strings.TrimPrefix(m.Endpoint(), "http://"))
	require.NoError(t, err)
	defer ln.Close()
	err = m.Start()
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	require.False(t, m.Running())
}
