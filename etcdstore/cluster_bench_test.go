package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// BenchmarkClusterRunStopTask places a task with RunTask's random spread
// (scheduler.Execute) and stops it, from 4 callers, on 100 instances:
// through the etcd-backed Cluster with 1, 2 and 4 processes' copies (the
// callers spread over them), and through one in-memory cluster.Cluster,
// in the same run. It reports placements per second, the p99 of a
// place+stop pair, and the conflict share: the commits a guard refused
// (another copy had committed on the instance) per commit.
func BenchmarkClusterRunStopTask(b *testing.B) {
	instance := cluster.InstanceSpec{CPU: 4096, Memory: 8192}
	b.Run("memory", func(b *testing.B) {
		c := cluster.New("app", cluster.Options{Clock: clusterClock})
		for range 100 {
			if _, err := c.RegisterInstance(instance); err != nil {
				b.Fatal(err)
			}
		}
		benchPlaceStop(b, func(int) scheduler.State { return c }, func(id string) error {
			_, err := c.StopTask(id, "done", cluster.StopUserInitiated)
			return err
		}, func() float64 {
			s := c.Stats()
			return float64(s.Conflicts) / float64(max(s.Commits, 1))
		})
	})
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("etcd/copies=%d", n), func(b *testing.B) {
			_, eps := startEtcd(b, 1)
			var cs []*Cluster
			for i := range n {
				cs = append(cs, openCluster(b, client(b, eps), "app", uint64(i+1)))
			}
			for range 100 {
				if _, err := cs[0].RegisterInstance(context.Background(), instance); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range cs {
				if err := c.Sync(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			var mu sync.Mutex
			owner := map[string]*Cluster{}
			benchPlaceStop(b, func(i int) scheduler.State {
				return cs[i%n]
			}, func(id string) error {
				mu.Lock()
				c := owner[id]
				mu.Unlock()
				_, err := c.StopTask(context.Background(), id, "done", cluster.StopUserInitiated)
				return err
			}, func() float64 {
				var commits, conflicts int64
				for _, c := range cs {
					s := c.Stats()
					commits += s.Commits
					conflicts += s.Conflicts
				}
				return float64(conflicts) / float64(max(commits, 1))
			}, func(id string, i int) {
				mu.Lock()
				owner[id] = cs[i%n]
				mu.Unlock()
			})
			var commits, txns int64
			for _, c := range cs {
				s := c.Stats()
				commits, txns = commits+s.Commits, txns+s.Transactions
			}
			b.ReportMetric(float64(commits)/float64(max(txns, 1)), "commits/txn")
		})
	}
}

// benchPlaceStop runs b.N place+stop pairs from 4 callers; caller i
// places through state(i) and stops through stop. placed, if given,
// learns which caller placed each task.
func benchPlaceStop(b *testing.B, state func(i int) scheduler.State, stop func(id string) error, share func() float64, placed ...func(id string, i int)) {
	spec := &cluster.TaskSpec{Demand: must(cluster.NewDemand(16, 16, nil, nil, 0)), Family: "web", Group: "family:web"}
	runPairs(b, func(i int) func() bool {
		st := state(i)
		s := &scheduler.RandomSpread{Spec: spec, Count: 1, Rand: rand.New(rand.NewPCG(uint64(i), 9))}
		return func() bool {
			res, err := scheduler.Execute(st, s, 0)
			if err != nil || len(res.Tasks) != 1 {
				b.Errorf("placing: %v %v", err, res.Failures)
				return false
			}
			id := res.Tasks[0].ID
			for _, f := range placed {
				f(id, i)
			}
			if err := stop(id); err != nil {
				b.Errorf("stopping: %v", err)
				return false
			}
			return true
		}
	}, share)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkCluster100k measures a cluster of 100,000 instances on etcd:
// "open" loads every record into a new copy (what a process that starts
// or reloads after compaction does), "place-stop" is the place+stop pair
// of BenchmarkClusterRunStopTask from 4 callers over 2 copies.
func BenchmarkCluster100k(b *testing.B) {
	const instances = 100_000
	_, eps := startEtcd(b, 1)
	cli := client(b, eps)
	ctx := context.Background()
	seedCopy := openCluster(b, cli, "big", 99)
	spec := cluster.InstanceSpec{CPU: 4096, Memory: 8192}
	var ops []clientv3.Op
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range instances {
		id := fmt.Sprintf("%032x", i+1)
		body, _ := json.Marshal(instanceRecord{
			ARN:    "arn:aws:ecs:us-east-1:123456789012:container-instance/big/" + id,
			Status: "ACTIVE", AgentConnected: true, EC2InstanceID: fmt.Sprintf("i-%017x", i+1),
			RegisteredAt: clusterClock.Now(), Spec: spec,
		})
		ops = append(ops, clientv3.OpPut(seedCopy.instanceKey(id), string(body)))
		if len(ops) == 1000 {
			flush()
		}
	}
	flush()
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := OpenCluster(ctx, cli, "big", ClusterOptions{Clock: clusterClock})
			if err != nil {
				b.Fatal(err)
			}
			var n int
			c.Read(func(v *cluster.View) { n, _, _ = v.Counts() })
			if n != instances {
				b.Fatalf("loaded %d instances", n)
			}
			_ = c.Close()
		}
		b.ReportMetric(float64(instances)*float64(b.N)/b.Elapsed().Seconds(), "instances/s")
	})
	b.Run("place-stop", func(b *testing.B) {
		cs := []*Cluster{openCluster(b, client(b, eps), "big", 1), openCluster(b, client(b, eps), "big", 2)}
		var mu sync.Mutex
		owner := map[string]*Cluster{}
		benchPlaceStop(b, func(i int) scheduler.State { return cs[i%2] }, func(id string) error {
			mu.Lock()
			c := owner[id]
			mu.Unlock()
			_, err := c.StopTask(ctx, id, "done", cluster.StopUserInitiated)
			return err
		}, func() float64 {
			s0, s1 := cs[0].Stats(), cs[1].Stats()
			return float64(s0.Conflicts+s1.Conflicts) / float64(max(s0.Commits+s1.Commits, 1))
		}, func(id string, i int) {
			mu.Lock()
			owner[id] = cs[i%2]
			mu.Unlock()
		})
	})
}
