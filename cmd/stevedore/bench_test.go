package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

// BenchmarkSDKRunTaskStopTask: RunTask then StopTask through aws-sdk-go-v2's
// ECS client over loopback HTTP, on a cluster of 100 instances, with and
// without SigV4 verification. It reports the calls per second and the
// p50 and p99 latency of one RunTask+StopTask pair.
//
// With STEVEDORE_BENCH_MOTO_URL set to the address of a moto server
// (moto_server -H 127.0.0.1 -p PORT), the sub-benchmark "moto" makes the
// same calls against it: bench/moto-compare runs both side by side.
func BenchmarkSDKRunTaskStopTask(b *testing.B) {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017x", i)
	}
	for _, signed := range []bool{false, true} {
		name := "unsigned"
		opts := ecsapi.Options{}
		if signed {
			name = "sigv4"
			opts = ecsapi.Options{Credentials: map[string]string{"AKIDBENCH": "bench-secret"}}
		}
		for _, clients := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				client, _, clock := endpoint(b, opts, "AKIDBENCH", "bench-secret")
				benchPairs(b, client, ids, clients, func() { clock.Advance(2 * time.Hour) })
			})
		}
	}
	url := os.Getenv("STEVEDORE_BENCH_MOTO_URL")
	if url == "" {
		return
	}
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("moto/clients=%d", clients), func(b *testing.B) {
			client := ecs.New(ecs.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(url),
				Credentials:  credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", ""),
				HTTPClient:   sdkHTTP(motoFix{keepAlive(http.DefaultTransport)}),
				Retryer:      aws.NopRetryer{},
			})
			// moto registers only instances its EC2 knows, and keeps
			// stopped tasks: its cost, as its users meet it.
			benchPairs(b, client, motoInstances(b, url, len(ids)), clients, func() {})
		})
	}
}

// keepAlive returns a copy of rt (an *http.Transport) that keeps a
// connection per concurrent client alive, where net/http's default keeps
// two per host and would measure connection setup.
func keepAlive(rt http.RoundTripper) http.RoundTripper {
	t := rt.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// motoFix works around moto's one wire-format bug these calls meet: in
// RunTask's and StopTask's answers it writes a container's cpu, memory and
// memoryReservation as JSON numbers where ECS has strings, which
// aws-sdk-go-v2 refuses ("expected string, got 0"). The rewrite is part of
// moto's measured cost, a few microseconds beside its milliseconds.
type motoFix struct{ next http.RoundTripper }

var motoNumber = regexp.MustCompile(`"(cpu|memory|memoryReservation)": (-?[0-9]+)`)

func (m motoFix) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	op := req.Header.Get("X-Amz-Target")
	if !strings.HasSuffix(op, ".RunTask") && !strings.HasSuffix(op, ".StopTask") {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = motoNumber.ReplaceAll(body, []byte(`"$1": "$2"`))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// motoInstances launches n m5.xlarge instances in moto's EC2 (setup, off
// the timer; a form post, as moto needs no signature) and returns their ids.
func motoInstances(b *testing.B, url string, n int) []string {
	form := fmt.Sprintf("Action=RunInstances&Version=2016-11-15&ImageId=ami-12c6146b&InstanceType=m5.xlarge&MinCount=%d&MaxCount=%d", n, n)
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url, strings.NewReader(form))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261202/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b, err)
	var ids []string
	for _, m := range regexp.MustCompile(`<instanceId>(i-[0-9a-f]+)</instanceId>`).FindAllSubmatch(body, -1) {
		ids = append(ids, string(m[1]))
	}
	require.Len(b, ids, n, "moto's RunInstances answered %s", resp.Status)
	return ids
}

// benchPairs registers a cluster of the instances ids and a task
// definition through client, then times RunTask+StopTask pairs, made by
// one goroutine (clients == 1) or by clients goroutines per GOMAXPROCS at
// once; advance is called every 64 pairs of a goroutine so that stopped
// tasks can leave.
func benchPairs(b *testing.B, client *ecs.Client, ids []string, clients int, advance func()) {
	ctx := b.Context()
	cluster := fmt.Sprintf("bench-%d", b.N) // moto's state outlives a sub-benchmark's rounds
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	require.NoError(b, err)
	for _, id := range ids {
		_, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster:                  aws.String(cluster),
			InstanceIdentityDocument: aws.String(stevedore.IdentityDocument(id, "m5.xlarge", "us-east-1a")),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 8192},
			}})
		require.NoError(b, err)
	}
	// CPU at task level and a memory reservation: moto describes a
	// container's cpu and memory as numbers where ECS has strings (the SDK
	// refuses them), and needs the container's memory for its own sums.
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		Cpu:                  aws.String("256"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), MemoryReservation: aws.Int32(512)}}})
	require.NoError(b, err)
	pair := func(lat *[]time.Duration) {
		t0 := time.Now()
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web")})
		if err != nil {
			b.Errorf("RunTask: %v", err)
			return
		}
		if len(out.Tasks) != 1 {
			b.Errorf("RunTask placed %d tasks: %+v", len(out.Tasks), out.Failures)
			return
		}
		if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: out.Tasks[0].TaskArn}); err != nil {
			b.Errorf("StopTask: %v", err)
			return
		}
		*lat = append(*lat, time.Since(t0))
		if len(*lat)%64 == 0 {
			advance() // stopped tasks leave: a steady state
		}
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	b.ReportAllocs()
	start := time.Now()
	if clients == 1 {
		for b.Loop() {
			pair(&lat)
		}
	} else {
		// clients goroutines per GOMAXPROCS, each with its calls in
		// flight one at a time, as many users of one endpoint.
		b.SetParallelism(clients)
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				pair(&mine)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	elapsed := time.Since(start)
	if len(lat) == 0 {
		b.Fatal("no pair completed")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(2*len(lat))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/pair")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/pair")
}
