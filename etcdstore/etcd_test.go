package etcdstore

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// freePort is a port on 127.0.0.1 nothing listens on (a peer URL must be
// known before the member starts).
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// member is one embedded etcd server, listening on 127.0.0.1 only.
type member struct {
	cfg *embed.Config
	e   *embed.Etcd
}

func (m *member) start(t testing.TB) {
	e, err := embed.StartEtcd(m.cfg)
	require.NoError(t, err)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		t.Fatal("etcd did not become ready")
	}
	m.e = e
}

func (m *member) stop() {
	if m.e != nil {
		m.e.Close()
		m.e = nil
	}
}

// startEtcd starts an etcd cluster of n members, each with its data in a
// temporary directory, and returns the members and their client URLs.
func startEtcd(t testing.TB, n int) ([]*member, []string) {
	names := make([]string, n)
	peers := make([]string, n)
	clients := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("m%d", i)
		peers[i] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		clients[i] = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	}
	var initial []string
	for i := range n {
		initial = append(initial, names[i]+"="+peers[i])
	}
	members := make([]*member, n)
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = names[i]
		cfg.Dir = t.TempDir()
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.Logger = "zap"
		pu, _ := url.Parse(peers[i])
		cu, _ := url.Parse(clients[i])
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "stevedore-test"
		cfg.MaxTxnOps = 4096 // a proposal of many tasks is one transaction
		// A single member is never restarted by the tests; benchmarks
		// measure etcd as it runs in production, with fsync.
		_, bench := t.(*testing.B)
		cfg.UnsafeNoFsync = n == 1 && !bench
		members[i] = &member{cfg: cfg}
	}
	// The members of a new cluster wait for each other: start them together.
	done := make(chan int, n)
	for i := range n {
		go func() {
			e, err := embed.StartEtcd(members[i].cfg)
			if err != nil {
				done <- -1
				return
			}
			members[i].e = e
			<-e.Server.ReadyNotify()
			done <- i
		}()
	}
	for range n {
		select {
		case i := <-done:
			require.GreaterOrEqual(t, i, 0, "an etcd member did not start")
		case <-time.After(60 * time.Second):
			t.Fatal("etcd did not become ready")
		}
	}
	t.Cleanup(func() {
		for _, m := range members {
			m.stop()
		}
	})
	return members, clients
}

func client(t testing.TB, endpoints []string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
