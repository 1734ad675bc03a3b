package stevedore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// benchCluster returns a client with one cluster of n instances (4 vCPU,
// 8 GiB) and the nginx task definition of the whitepaper.
func benchCluster(b *testing.B, n int) (*stevedore.Client, *stevedore.ManualClock, []string) {
	b.Helper()
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ecs := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	_, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "bench"})
	require.NoError(b, err)
	arns := make([]string, n)
	for i := range n {
		out, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster: "bench",
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 4096},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 8192},
			},
		})
		require.NoError(b, err)
		arns[i] = out.ContainerInstance.ContainerInstanceArn
	}
	in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "nginx", "containerDefinitions": [
		{"name": "nginx", "image": "nginx", "cpu": 256, "memory": 512, "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}`))
	require.NoError(b, err)
	_, err = ecs.RegisterTaskDefinition(ctx, in)
	require.NoError(b, err)
	return ecs, clock, arns
}

// BenchmarkRunTask places one task with RunTask's random spread and stops
// it again, so the cluster stays in a steady state.
func BenchmarkRunTask(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ecs, clock, _ := benchCluster(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				out, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "bench", TaskDefinition: "nginx"})
				if err != nil || len(out.Tasks) != 1 {
					b.Fatalf("RunTask: %v, %+v", err, out)
				}
				if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "bench", Task: out.Tasks[0].TaskArn}); err != nil {
					b.Fatal(err)
				}
				clock.Advance(2 * time.Hour) // stopped tasks leave at the next change
			}
		})
	}
}

// BenchmarkStartTask pins one task to an instance and stops it again.
func BenchmarkStartTask(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ecs, clock, arns := benchCluster(b, n)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				out, err := ecs.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "bench", TaskDefinition: "nginx", ContainerInstances: []string{arns[i%n]}})
				if err != nil || len(out.Tasks) != 1 {
					b.Fatalf("StartTask: %v, %+v", err, out)
				}
				if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "bench", Task: out.Tasks[0].TaskArn}); err != nil {
					b.Fatal(err)
				}
				clock.Advance(2 * time.Hour)
				i++
			}
		})
	}
}
