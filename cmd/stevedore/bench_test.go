package main

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/ecsapi"
)

// BenchmarkSDKRunTaskStopTask: RunTask then StopTask through aws-sdk-go-v2's
// ECS client over loopback HTTP, on a cluster of 100 instances, with and
// without SigV4 verification. It reports the calls per second and the
// p50 and p99 latency of one RunTask+StopTask pair.
func BenchmarkSDKRunTaskStopTask(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := "unsigned"
		opts := ecsapi.Options{}
		if signed {
			name = "sigv4"
			opts = ecsapi.Options{Credentials: map[string]string{"AKIDBENCH": "bench-secret"}}
		}
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			client, _, clock := endpoint(b, opts, "AKIDBENCH", "bench-secret")
			_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")})
			require.NoError(b, err)
			for range 100 {
				_, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("bench"), TotalResources: []types.Resource{
					{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
					{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 8192},
				}})
				require.NoError(b, err)
			}
			_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Cpu: 256, Memory: aws.Int32(512)}}})
			require.NoError(b, err)
			var lat []time.Duration
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				t0 := time.Now()
				out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("web")})
				if err != nil || len(out.Tasks) != 1 {
					b.Fatalf("RunTask: %v", err)
				}
				if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("bench"), Task: out.Tasks[0].TaskArn}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if len(lat)%64 == 0 {
					clock.Advance(2 * time.Hour) // stopped tasks leave: a steady state
				}
			}
			elapsed := time.Since(start)
			slices.Sort(lat)
			b.ReportMetric(float64(2*len(lat))/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/pair")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs/pair")
		})
	}
}
