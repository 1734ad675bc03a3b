// Package etcdtest runs real etcd servers inside a test process, for
// tests of code that shares state through etcd (package etcdstore, or a
// custom scheduler on it). Its members listen on 127.0.0.1 only, on ports
// the system picks, with their data in temporary directories; a member
// can be stopped and started again on the same address and data, and a
// cluster of several members can have its leader moved, for fault tests.
//
// It embeds etcd's server (go.etcd.io/etcd/server/v3/embed): import it
// from tests only.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Options configure [Start].
type Options struct {
	// Members is the number of members; 0 means 1.
	Members int
	// MaxTxnOps is the servers' --max-txn-ops; 0 means etcd's default, 128.
	MaxTxnOps uint
	// NoFsync makes the servers skip fsync: faster, and still safe for a
	// member that is stopped and started again (its files are closed, not
	// lost). Leave it off to measure etcd as it runs in production.
	NoFsync bool
	// ReadyTimeout bounds the wait for the members to be ready; 0 means
	// one minute.
	ReadyTimeout time.Duration
}

// Cluster is a running etcd cluster of embedded members.
type Cluster struct {
	// Members are the cluster's members, in the order of Endpoints.
	Members []*Member

	mu   sync.Mutex
	dirs []string
}

// Member is one embedded etcd server.
type Member struct {
	cfg     *embed.Config
	timeout time.Duration

	mu     sync.Mutex
	e      *embed.Etcd
	closed bool // its cluster is closed, its data removed
}

// Start starts an etcd cluster and waits until every member is ready. Call
// Close when done.
//
// Ports are picked free, then bound by etcd: when another process takes
// one in between, the cluster is started again on other ports (up to
// three times).
func Start(opts Options) (*Cluster, error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = time.Minute
	}
	for try := 1; ; try++ {
		c, err := start(opts)
		if err == nil || try == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			return c, err
		}
	}
}

func start(opts Options) (*Cluster, error) {
	n := max(opts.Members, 1)
	c := &Cluster{}
	names := make([]string, n)
	peers := make([]*url.URL, n)
	clients := make([]*url.URL, n)
	initial := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("m%d", i)
		var err error
		if peers[i], err = freeURL(); err != nil {
			return nil, err
		}
		if clients[i], err = freeURL(); err != nil {
			return nil, err
		}
		initial[i] = names[i] + "=" + peers[i].String()
	}
	for i := range n {
		dir, err := os.MkdirTemp("", "etcdtest-")
		if err != nil {
			c.Close()
			return nil, err
		}
		c.dirs = append(c.dirs, dir)
		cfg := embed.NewConfig()
		cfg.Name = names[i]
		cfg.Dir = dir
		cfg.Logger = "zap"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peers[i]}, []url.URL{*peers[i]}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clients[i]}, []url.URL{*clients[i]}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "etcdtest"
		if opts.MaxTxnOps > 0 {
			cfg.MaxTxnOps = opts.MaxTxnOps
		}
		cfg.UnsafeNoFsync = opts.NoFsync
		c.Members = append(c.Members, &Member{cfg: cfg, timeout: opts.ReadyTimeout})
	}
	// The members of a new cluster wait for each other: start them together.
	if err := c.Start(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Start starts the given members (every stopped member when none is
// given) together, and waits until each is ready: members that have
// lost their quorum can only start together.
func (c *Cluster) Start(ms ...*Member) error {
	if len(ms) == 0 {
		ms = c.Members
	}
	errs := make(chan error, len(ms))
	for _, m := range ms {
		go func() { errs <- m.Start() }()
	}
	var err error
	for range ms {
		err = errors.Join(err, <-errs)
	}
	return err
}

// New starts an etcd cluster for a test or benchmark, failing it if etcd
// does not start, and closes the cluster when the test ends.
func New(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Endpoints are the members' client URLs ("http://127.0.0.1:PORT").
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Endpoint()
	}
	return out
}

// Close stops every member and removes their data; the members cannot
// start again. Closing a closed cluster does nothing.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		m.mu.Lock()
		if m.e != nil {
			m.e.Close()
			m.e = nil
		}
		m.closed = true
		m.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.dirs {
		_ = os.RemoveAll(d)
	}
	c.dirs = nil
}

// Endpoint is the member's client URL ("http://127.0.0.1:PORT").
func (m *Member) Endpoint() string { return m.cfg.AdvertiseClientUrls[0].String() }

// Start starts the member (again, after Stop: on the same address, with
// the same data) and waits until it is ready. Starting a running member
// does nothing.
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.e != nil {
		return nil
	}
	if m.closed {
		return fmt.Errorf("etcdtest: member %s: its cluster is closed", m.cfg.Name)
	}
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("etcdtest: member %s: %w", m.cfg.Name, err)
	}
	t := time.NewTimer(m.timeout)
	defer t.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Server.Stop() // Close waits for a server that is not ready to stop
		e.Close()
		return fmt.Errorf("etcdtest: member %s: %w", m.cfg.Name, err)
	case <-t.C:
		e.Server.Stop()
		e.Close()
		return fmt.Errorf("etcdtest: member %s: not ready within %v (a member needs a quorum running: start stopped members together with Cluster.Start)", m.cfg.Name, m.timeout)
	}
	m.e = e
	return nil
}

// Stop stops the member; its data stays for Start. Stopping a stopped
// member does nothing.
func (m *Member) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.e != nil {
		m.e.Close()
		m.e = nil
	}
}

// Running reports whether the member is started.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.e != nil
}

// IsLeader reports whether the member is running and leads the cluster.
func (m *Member) IsLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.e != nil && m.e.Server.Leader() == m.e.Server.MemberID()
}

// MoveLeader hands the cluster's leadership from its leader to another
// running member, and returns that member.
func (c *Cluster) MoveLeader(ctx context.Context) (*Member, error) {
	var from *Member
	for _, m := range c.Members {
		if m.IsLeader() {
			from = m
		}
	}
	if from == nil {
		return nil, errors.New("etcdtest: no running member leads")
	}
	for _, to := range c.Members {
		if to == from {
			continue
		}
		to.mu.Lock()
		running := to.e != nil
		var id uint64
		if running {
			id = uint64(to.e.Server.MemberID())
		}
		to.mu.Unlock()
		if !running {
			continue
		}
		from.mu.Lock()
		if from.e == nil {
			from.mu.Unlock()
			return nil, errors.New("etcdtest: the leader stopped")
		}
		s := from.e.Server
		from.mu.Unlock()
		if err := s.MoveLeader(ctx, s.Lead(), id); err != nil {
			return nil, fmt.Errorf("etcdtest: moving the leader to %s: %w", to.cfg.Name, err)
		}
		return to, nil
	}
	return nil, errors.New("etcdtest: no other running member")
}

func freeURL() (*url.URL, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}, nil
}
