package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/etcdstore/etcdtest"
)

// embeddedEtcd starts a one-member etcd on 127.0.0.1 and returns its
// client address (HOST:PORT).
func embeddedEtcd(t *testing.T) string {
	ec := etcdtest.New(t, etcdtest.Options{NoFsync: true})
	return strings.TrimPrefix(ec.Endpoints()[0], "http://")
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// readySignal closes ready at the first write: serve's "serving" line.
type readySignal struct {
	once  sync.Once
	ready chan struct{}
	mu    sync.Mutex
	b     strings.Builder
}

func (s *readySignal) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b.Write(p)
	s.mu.Unlock()
	s.once.Do(func() { close(s.ready) })
	return len(p), nil
}

// replica runs `stevedore serve --store` in the test and returns its URL.
func replica(t *testing.T, store string, seed uint64) (string, chan error) {
	cfg := serveConfig{addr: freeAddr(t), region: "us-east-1", account: "123456789012", seed: seed, startDelay: 0, tick: 20 * time.Millisecond, store: store}
	ctx, cancel := context.WithCancel(context.Background())
	out := &readySignal{ready: make(chan struct{})}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- serve(ctx, cfg, out)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	select {
	case <-out.ready:
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return "http://" + cfg.addr, done
}

// TestServeShared: two `serve --store` replicas on one etcd, driven
// through aws-sdk-go-v2: what one is told the other describes, the
// service scheduler runs in one of them, and a replica with another seed
// is refused.
func TestServeShared(t *testing.T) {
	store := "etcd://" + embeddedEtcd(t)
	urlA, _ := replica(t, store, 9)
	urlB, _ := replica(t, store, 9)
	a, b := sdkClient(urlA), sdkClient(urlB)
	ctx := t.Context()
	_, err := a.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("shared")})
	require.NoError(t, err)
	d, err := b.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"shared"}})
	require.NoError(t, err)
	require.Len(t, d.Clusters, 1, "B describes what A made")
	for range 2 {
		_, err = b.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("shared"), TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024}, {Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 2048}}})
		require.NoError(t, err)
	}
	_, err = a.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Cpu: 256, Memory: aws.Int32(256)}}})
	require.NoError(t, err)
	_, err = b.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("shared"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(3)})
	require.NoError(t, err)
	// The elected replica's ticks start and run the tasks: read them from
	// A until they run (bounded).
	var running int32
	for range 20000 {
		s, err := a.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("shared"), Services: []string{"web"}})
		require.NoError(t, err)
		if running = s.Services[0].RunningCount; running == 3 {
			break
		}
	}
	assert.Equal(t, int32(3), running, "the service converged through the elected scheduler")
	ta, err := a.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("shared")})
	require.NoError(t, err)
	tb, err := b.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("shared")})
	require.NoError(t, err)
	assert.ElementsMatch(t, ta.TaskArns, tb.TaskArns, "both replicas hold the same tasks")

	_, done := replica(t, store, 10)
	err = <-done
	require.Error(t, err)
	assert.Contains(t, err.Error(), "other options")
}

func TestStoreFlag(t *testing.T) {
	for _, bad := range []string{"http://x:1", "etcd://", "etcd://nohostport", "etcd://a:1,b"} {
		_, err := storeEndpoints(bad)
		assert.Error(t, err, bad)
	}
	eps, err := storeEndpoints("etcd://127.0.0.1:2379,10.0.0.2:2379")
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:2379", "http://10.0.0.2:2379"}, eps)
	err = serve(context.Background(), serveConfig{tick: time.Second, store: "etcd://a:1", state: "x"}, &strings.Builder{})
	assert.ErrorContains(t, err, "exclude")
}
