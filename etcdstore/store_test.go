package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stevedore-go/stevedore/journal"
)

// callTimeout bounds a test's call: a replica that cannot answer fails
// the test instead of hanging it.
const callTimeout = 30 * time.Second

var jopts = journal.Options{Seed: 3, Region: "us-east-1", AccountID: "123456789012", StartDelay: time.Second}

// fakeNow is a replica's clock: each call one millisecond after the last.
func fakeNow() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func open(t testing.TB, cli *clientv3.Client, prefix string) *Replica {
	r, err := Open(context.Background(), cli, Options{Prefix: prefix, Journal: jopts, Now: fakeNow(), SessionTTL: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func do(t require.TestingT, r *Replica, op string, body any) journal.Response {
	b, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := r.Do(ctx, op, b)
	require.NoError(t, err)
	return out
}

func ok(t require.TestingT, r *Replica, op string, body any) map[string]any {
	out := do(t, r, op, body)
	require.Equal(t, http.StatusOK, out.Status, "%s: %s", op, out.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out.Body, &m))
	return m
}

type res = []map[string]any

func resources(cpu, mem int) res {
	return res{{"name": "CPU", "type": "INTEGER", "integerValue": cpu}, {"name": "MEMORY", "type": "INTEGER", "integerValue": mem}}
}

// setUp makes cluster app with n instances of 1,024 CPU / 2,048 MiB and
// task definition web (512 CPU, 256 MiB).
func setUp(t require.TestingT, r *Replica, n int) {
	ok(t, r, "CreateCluster", map[string]any{"clusterName": "app"})
	ok(t, r, "RegisterTaskDefinition", map[string]any{"family": "web", "containerDefinitions": []map[string]any{{"name": "web", "image": "nginx", "cpu": 512, "memory": 256}}})
	for range n {
		ok(t, r, "RegisterContainerInstance", map[string]any{"cluster": "app", "totalResources": resources(1024, 2048)})
	}
}

// view is what a replica describes of cluster app: its instances and its
// tasks, as ECS's JSON.
func view(t require.TestingT, r *Replica) (instances, tasks []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	require.NoError(t, r.Sync(ctx))
	list := ok(t, r, "ListContainerInstances", map[string]any{"cluster": "app"})
	arns := list["containerInstanceArns"]
	d := do(t, r, "DescribeContainerInstances", map[string]any{"cluster": "app", "containerInstances": arns})
	lt := ok(t, r, "ListTasks", map[string]any{"cluster": "app"})
	var dt journal.Response
	if ts, _ := lt["taskArns"].([]any); len(ts) > 0 {
		dt = do(t, r, "DescribeTasks", map[string]any{"cluster": "app", "tasks": ts})
	}
	return d.Body, dt.Body
}

// checkAccounting: on every instance, remaining = registered − the
// demands of its tasks, and nothing below zero.
func checkAccounting(t require.TestingT, r *Replica) {
	instances, tasks := view(t, r)
	var ci struct {
		ContainerInstances []struct {
			ContainerInstanceArn                    string
			RemainingResources, RegisteredResources []struct {
				Name         string
				IntegerValue int64
			}
		}
	}
	require.NoError(t, json.Unmarshal(instances, &ci))
	var dt struct {
		Tasks []struct {
			ContainerInstanceArn, LastStatus, Cpu, Memory string
		}
	}
	if tasks != nil {
		require.NoError(t, json.Unmarshal(tasks, &dt))
	}
	used := map[string][2]int64{}
	for _, tk := range dt.Tasks {
		if tk.LastStatus == "STOPPED" {
			continue
		}
		var cpu, mem int64
		fmt.Sscan(tk.Cpu, &cpu)
		fmt.Sscan(tk.Memory, &mem)
		u := used[tk.ContainerInstanceArn]
		used[tk.ContainerInstanceArn] = [2]int64{u[0] + cpu, u[1] + mem}
	}
	for _, in := range ci.ContainerInstances {
		for k, name := range []string{"CPU", "MEMORY"} {
			var reg, rem int64
			for _, x := range in.RegisteredResources {
				if x.Name == name {
					reg = x.IntegerValue
				}
			}
			for _, x := range in.RemainingResources {
				if x.Name == name {
					rem = x.IntegerValue
				}
			}
			require.GreaterOrEqual(t, rem, int64(0), "no overcommit")
			require.Equal(t, reg-used[in.ContainerInstanceArn][k], rem, "%s %s: remaining = registered − demands", in.ContainerInstanceArn, name)
		}
	}
}

// agree: every replica describes the same instances and tasks.
func agree(t require.TestingT, rs ...*Replica) {
	i0, t0 := view(t, rs[0])
	for _, r := range rs[1:] {
		i, tk := view(t, r)
		require.JSONEq(t, string(i0), string(i), "instances")
		if t0 != nil || tk != nil {
			require.JSONEq(t, string(t0), string(tk), "tasks")
		}
	}
}

// TestReplicasShareState: three replicas, eight goroutines running tasks
// through all of them at once, more than fit. Every acknowledged task is
// seen at once by every replica, exactly the ones that fit were placed,
// and every replica holds the same state with exact accounting.
func TestReplicasShareState(t *testing.T) {
	_, eps := startEtcd(t, 1)
	rs := []*Replica{open(t, client(t, eps), ""), open(t, client(t, eps), ""), open(t, client(t, eps), "")}
	setUp(t, rs[0], 10) // room for 20 tasks of 512 CPU
	var placed sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for g := range 8 {
		placed.Add(1)
		go func() {
			defer placed.Done()
			for i := range 5 { // bounded: 40 calls for 20 places
				r := rs[(g+i)%3]
				out := ok(t, r, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web"})
				tasks, _ := out["tasks"].([]any)
				for _, tk := range tasks {
					arn := tk.(map[string]any)["taskArn"]
					// Read your writes on another replica.
					d := ok(t, rs[(g+i+1)%3], "DescribeTasks", map[string]any{"cluster": "app", "tasks": []any{arn}})
					assert.Len(t, d["tasks"], 1, "an acknowledged task is seen by every replica")
				}
				mu.Lock()
				started += len(tasks)
				mu.Unlock()
			}
		}()
	}
	placed.Wait()
	assert.Equal(t, 20, started, "exactly what fits")
	for _, r := range rs {
		checkAccounting(t, r)
	}
	agree(t, rs...)
}

// TestOpenChecksHeader: a replica with other options is refused.
func TestOpenChecksHeader(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	open(t, cli, "/x/")
	other := jopts
	other.Seed = 4
	_, err := Open(context.Background(), cli, Options{Prefix: "/x/", Journal: other})
	assert.True(t, errors.Is(err, ErrMismatch), "%v", err)
	_, err = Open(context.Background(), nil, Options{})
	assert.Error(t, err)
}

// TestRestartLoads: a replica opened later, or again, loads the same
// state; a closed one refuses calls.
func TestRestartLoads(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := open(t, client(t, eps), "")
	setUp(t, a, 3)
	ok(t, a, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web", "count": 4})
	b := open(t, client(t, eps), "")
	agree(t, a, b)
	require.NoError(t, b.Close())
	_, err := b.Do(context.Background(), "RunTask", []byte(`{}`))
	assert.True(t, errors.Is(err, ErrClosed))
	ok(t, a, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web"})
	c := open(t, client(t, eps), "")
	agree(t, a, c)
	checkAccounting(t, c)
}

// TestRestartLoadsLongLog: a log longer than a page of the load is read
// whole and applied in its order (a task's stop after its start), not in
// its keys' order.
func TestRestartLoadsLongLog(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := open(t, client(t, eps), "")
	setUp(t, a, 1)
	for range 1010 {
		out := ok(t, a, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web"})
		arn := out["tasks"].([]any)[0].(map[string]any)["taskArn"]
		ok(t, a, "StopTask", map[string]any{"cluster": "app", "task": arn})
	}
	ok(t, a, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web"})
	b := open(t, client(t, eps), "")
	agree(t, a, b)
	checkAccounting(t, b)
}

// TestCompactedWatchReloads: a replica whose watch falls behind a
// compaction loads the log again, and agrees.
func TestCompactedWatchReloads(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	a := open(t, cli, "")
	setUp(t, a, 4)
	b := open(t, client(t, eps), "")
	// Stop b's watch, move on without it, compact, and let it watch again
	// from where it was.
	b.cancel()
	<-b.done
	from := b.Revision() + 1
	for range 3 {
		ok(t, a, "RunTask", map[string]any{"cluster": "app", "taskDefinition": "web"})
	}
	resp, err := cli.Get(context.Background(), "x")
	require.NoError(t, err)
	_, err = cli.Compact(context.Background(), resp.Header.Revision)
	require.NoError(t, err)
	wctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go b.follow(wctx, from)
	require.NoError(t, b.Sync(context.Background()))
	assert.Equal(t, 1, b.Reloads(), "the compacted watch made it reload")
	agree(t, a, b)
}
