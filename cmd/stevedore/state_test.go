package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

var stateConfig = serveConfig{seed: 7, region: "us-east-1", account: "123456789012", startDelay: time.Second}

// newRecorder is serve's recorder over a fresh Client, with the state file
// at path replayed and opened.
func newRecorder(t *testing.T, path string) (*recorder, string) {
	t.Helper()
	clock := stevedore.NewManualClock(time.Unix(0, 0).UTC())
	c, err := stevedore.New(stevedore.Options{Region: stateConfig.region, AccountID: stateConfig.account, Clock: clock, Rand: rand.NewPCG(stateConfig.seed, stateConfig.seed^0x5eed)})
	require.NoError(t, err)
	rec := &recorder{clock: clock, inner: ecsapi.NewHandler(c, ecsapi.Options{}), agents: agents{ecs: c, startDelay: stateConfig.startDelay},
		failed: make(chan error, 1), maxBody: ecsapi.DefaultMaxBodyBytes}
	cfg := stateConfig
	cfg.state = path
	var log bytes.Buffer
	require.NoError(t, rec.open(t.Context(), cfg, &log))
	t.Cleanup(func() { rec.journal.f.Close() })
	return rec, log.String()
}

func sdkClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), Retryer: aws.NopRetryer{},
		HTTPClient: sdkHTTP(http.DefaultTransport.(*http.Transport).Clone())})
}

// everything reads the whole state through the API: clusters, instances,
// task definitions, tasks (every status) and services.
func everything(t *testing.T, client *ecs.Client) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	add := func(v any, err error) {
		require.NoError(t, err)
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(fmtJSON(v)), "\n", " "))
		b.WriteByte('\n')
	}
	cl, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	require.NoError(t, err)
	add(client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: cl.ClusterArns}))
	add(client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}))
	for _, c := range cl.ClusterArns {
		ci, err := client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(c)})
		require.NoError(t, err)
		if len(ci.ContainerInstanceArns) > 0 {
			add(client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(c), ContainerInstances: ci.ContainerInstanceArns}))
		}
		for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
			tl, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(c), DesiredStatus: status})
			require.NoError(t, err)
			if len(tl.TaskArns) > 0 {
				add(client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(c), Tasks: tl.TaskArns}))
			}
		}
		sl, err := client.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(c)})
		require.NoError(t, err)
		if len(sl.ServiceArns) > 0 {
			add(client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c), Services: sl.ServiceArns}))
		}
	}
	return b.String()
}

// story makes calls of every kind, with agent ticks between them.
func story(t *testing.T, client *ecs.Client, tick func(at time.Time)) {
	t.Helper()
	ctx := t.Context()
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("app")})
	require.NoError(t, err)
	for i := range 3 {
		_, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("app"),
			InstanceIdentityDocument: aws.String(stevedore.IdentityDocument("i-0000000"+string(rune('a'+i)), "m5.large", "us-east-1a")),
			TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096}}})
		require.NoError(t, err)
	}
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Cpu: 256, Memory: aws.Int32(256)}}})
	require.NoError(t, err)
	_, err = client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("app"), TaskDefinition: aws.String("web"), Count: aws.Int32(3)})
	require.NoError(t, err)
	_, err = client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String("web")})
	require.Error(t, err, "a refused call is journaled too, and refused again on replay")
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("app"), ServiceName: aws.String("api"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	require.NoError(t, err)
	tick(time.Now().Add(2 * time.Second))
	tick(time.Now().Add(4 * time.Second))
	tasks, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("app")})
	require.NoError(t, err)
	_, err = client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("app"), Task: aws.String(tasks.TaskArns[0]), Reason: aws.String("done")})
	require.NoError(t, err)
	tick(time.Now().Add(6 * time.Second))
}

// TestJournalReplays: a state file replayed into a fresh Client gives the
// same state, ARNs, tasks, services and events included, and later calls
// go on as they would have.
func TestJournalReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.jsonl")
	rec, log := newRecorder(t, path)
	assert.Contains(t, log, "new state file")
	srv := httptest.NewServer(rec)
	client := sdkClient(srv.URL)
	story(t, client, func(at time.Time) { require.NoError(t, rec.tick(t.Context(), at)) })
	before := everything(t, client)
	srv.Close()

	again, log := newRecorder(t, path) // as after a crash: nothing but the file
	assert.Contains(t, log, "entries replayed")
	srv2 := httptest.NewServer(again)
	defer srv2.Close()
	client2 := sdkClient(srv2.URL)
	assert.Equal(t, before, everything(t, client2))
	// And both carry on alike: the next task has the same ARN.
	out, err := client2.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String("app"), TaskDefinition: aws.String("web")})
	require.NoError(t, err)
	require.Len(t, out.Tasks, 1)
}

// TestJournalRefused: a state file that does not parse, or that other
// flags wrote, is an error at start, never an empty state.
func TestJournalRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.jsonl")
	rec, _ := newRecorder(t, path)
	srv := httptest.NewServer(rec)
	_, err := sdkClient(srv.URL).CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("app")})
	require.NoError(t, err)
	srv.Close()
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	for name, content := range map[string][]byte{
		"a torn last line": append(bytes.Clone(good), []byte(`{"t": 9999999999999999999, "op": "Run`)...),
		"garbage":          []byte("not a journal\n"),
		"time going back":  append(bytes.Clone(good), []byte(`{"t": 1, "op": "tick"}`+"\n")...),
	} {
		t.Run(name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(bad, content, 0o644))
			clock := stevedore.NewManualClock(time.Unix(0, 0).UTC())
			c, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(7, 7^0x5eed)})
			require.NoError(t, err)
			r := &recorder{clock: clock, inner: ecsapi.NewHandler(c, ecsapi.Options{}), agents: agents{ecs: c, startDelay: time.Second}, failed: make(chan error, 1), maxBody: 1 << 20}
			cfg := stateConfig
			cfg.state = bad
			err = r.open(t.Context(), cfg, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), bad)
		})
	}
	t.Run("other flags", func(t *testing.T) {
		clock := stevedore.NewManualClock(time.Unix(0, 0).UTC())
		c, err := stevedore.New(stevedore.Options{Clock: clock})
		require.NoError(t, err)
		r := &recorder{clock: clock, inner: ecsapi.NewHandler(c, ecsapi.Options{}), agents: agents{ecs: c}, failed: make(chan error, 1), maxBody: 1 << 20}
		cfg := stateConfig
		cfg.state, cfg.seed = path, 8
		err = r.open(t.Context(), cfg, &bytes.Buffer{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "restart with the same flags")
	})
}

// TestServeSurvivesSIGKILL: the binary serving with --state is killed with
// SIGKILL after its calls were answered; restarted on the same file it
// shows every one of them.
func TestServeSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "stevedore")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	state := filepath.Join(dir, "state.jsonl")
	start := func() (*exec.Cmd, *ecs.Client) {
		cmd := exec.CommandContext(t.Context(), bin, "serve", "--addr", "127.0.0.1:0", "--state", state, "--seed", "7", "--tick", "1h")
		// A pipe of our own, so that Wait never races the reader.
		r, w, err := os.Pipe()
		require.NoError(t, err)
		cmd.Stdout = w
		require.NoError(t, cmd.Start())
		require.NoError(t, w.Close())
		lines := bufio.NewScanner(r)
		for lines.Scan() { // blocks until the server says where it listens
			if _, addr, ok := strings.Cut(lines.Text(), "serving ECS on "); ok {
				url, _, _ := strings.Cut(addr, ";")
				go func() {
					defer r.Close()
					for lines.Scan() {
					}
				}()
				return cmd, sdkClient(url)
			}
		}
		t.Fatalf("stevedore serve did not start: %v", lines.Err())
		return nil, nil
	}
	cmd, client := start()
	story(t, client, func(time.Time) {}) // no ticks: the server's tick is an hour
	before := everything(t, client)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	cmd2, client2 := start()
	defer func() {
		_ = cmd2.Process.Signal(syscall.SIGTERM)
		_ = cmd2.Wait()
	}()
	assert.Equal(t, before, everything(t, client2), "nothing acknowledged is lost")
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestJournalBigAndCancelled: a body of characters JSON may escape, and a
// call whose caller gave up, replay as they were served.
func TestJournalBigAndCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.jsonl")
	rec, _ := newRecorder(t, path)
	post := func(ctx context.Context, op, body string) int {
		req := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+"."+op)
		w := httptest.NewRecorder()
		rec.ServeHTTP(w, req)
		return w.Code
	}
	name := strings.Repeat("<", 400<<10) // refused (not a cluster name), journaled, six times its size if escaped
	assert.Equal(t, 400, post(t.Context(), "CreateCluster", `{"clusterName": "`+name+`"}`))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, fi.Size(), int64(500<<10), "a body's < > & are written as they are")
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	assert.Equal(t, 200, post(gone, "CreateCluster", `{"clusterName": "ghost"}`), "a journaled call runs to its end")
	srv := httptest.NewServer(rec)
	before := everything(t, sdkClient(srv.URL))
	srv.Close()
	require.Contains(t, before, "cluster/ghost")

	again, _ := newRecorder(t, path)
	srv2 := httptest.NewServer(again)
	defer srv2.Close()
	assert.Equal(t, before, everything(t, sdkClient(srv2.URL)))
}
