package stevedore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
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
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	require.NoError(b, err)
	_, err = ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "bench"})
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

// BenchmarkRunTaskParallel: RunTask (random spread) and StopTask from
// b.RunParallel goroutines on one cluster of 5,000 instances. Run it with
// -cpu 1,2; it reports the share of commits that conflicted. Every 64
// operations a goroutine moves the clock past the stopped-task retention,
// so the cluster stays in a steady state (as in BenchmarkRunTask) instead of
// growing with b.N. Read its -cpu 2 figure next to BenchmarkCoreToCore's:
// each operation moves the cluster's lock and bookkeeping between cores,
// so the figure depends on how far apart the machine's cores are.
func BenchmarkRunTaskParallel(b *testing.B) {
	b.Run("instances=5000", func(b *testing.B) {
		ecs, clock, _ := benchCluster(b, 5000)
		ctx := context.Background()
		handoff := coreHandoff(20_000)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				out, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "bench", TaskDefinition: "nginx"})
				if err != nil || len(out.Tasks) != 1 {
					b.Errorf("RunTask: %v, %+v", err, out)
					return
				}
				if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "bench", Task: out.Tasks[0].TaskArn}); err != nil {
					b.Error(err)
					return
				}
				if i%64 == 63 {
					clock.Advance(2 * time.Hour) // stopped tasks leave: a steady state
				}
			}
		})
		out, err := ecs.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: []string{"bench"}, Include: []string{"STATISTICS"}})
		require.NoError(b, err)
		stats := map[string]float64{}
		for _, kv := range out.Clusters[0].Statistics {
			var v float64
			fmt.Sscan(kv.Value, &v)
			stats[kv.Name] = v
		}
		if stats["commits"] > 0 {
			b.ReportMetric(100*stats["commitConflicts"]/(stats["commits"]+stats["commitConflicts"]), "%conflicts")
		}
		b.ReportMetric(handoff, "ns/handoff")
	})
}

// BenchmarkCoreToCore measures the machine, not the library: two
// goroutines hand a token back and forth through one atomic word, so an
// operation is two moves of a cache line between the cores they run on.
// On a virtual machine whose cores are sometimes placed far apart it
// shows which placement a run of BenchmarkRunTaskParallel had (about
// 100 ns/op for near cores, 400 for far ones). With one processor the
// handoff goes through the scheduler instead.
func BenchmarkCoreToCore(b *testing.B) {
	coreHandoff(b.N)
}

// coreHandoff hands a token back and forth n times between two goroutines
// through one atomic word and returns the nanoseconds a round trip took.
// BenchmarkRunTaskParallel reports it (ns/handoff) so that each of its
// runs shows the core placement it had.
func coreHandoff(n int) float64 {
	var word atomic.Int64
	wait := func(v int64) {
		for i := 0; word.Load() != v; i++ {
			if i > 1000 {
				runtime.Gosched()
			}
		}
	}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		for i := range int64(n) {
			wait(2*i + 1)
			word.Store(2*i + 2)
		}
	}()
	for i := range int64(n) {
		wait(2 * i)
		word.Store(2*i + 1)
	}
	<-done
	return float64(time.Since(start).Nanoseconds()) / float64(max(n, 1))
}

// BenchmarkScale registers 100,000 instances and places 1,000,000 tasks
// with binpack (RunTask, count 10), and reports the heap per instance and
// per task and the seconds to place all tasks; then it lists every task
// and instance page by page (100 a page), describes the tasks 100 at a
// time and stops them one by one, and reports the seconds each took.
func BenchmarkScale(b *testing.B) {
	b.Run("instances=100000/tasks=1000000", func(b *testing.B) {
		const instances, tasks = 100_000, 1_000_000
		for b.Loop() {
			ctx := context.Background()
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			ecs, err := stevedore.New(stevedore.Options{Clock: stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Rand: rand.NewPCG(1, 2)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "scale"}); err != nil {
				b.Fatal(err)
			}
			for i := range instances {
				_, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
					Cluster:                  "scale",
					InstanceIdentityDocument: fmt.Sprintf(`{"instanceId": "i-%017d", "availabilityZone": "us-east-1%c", "instanceType": "m5.4xlarge"}`, i, 'a'+i%3),
					TotalResources: []stevedore.Resource{
						{Name: "CPU", Type: "INTEGER", IntegerValue: 16384},
						{Name: "MEMORY", Type: "INTEGER", IntegerValue: 65536},
					},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "app", "containerDefinitions": [
				{"name": "app", "image": "app", "cpu": 256, "memory": 512}]}`))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			perInstance := float64(ms.HeapAlloc-base) / instances
			afterInstances := ms.HeapAlloc
			start := time.Now()
			placed := 0
			for placed < tasks {
				out, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "scale", TaskDefinition: "app", Count: 10,
					PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}})
				if err != nil || len(out.Tasks) != 10 {
					b.Fatalf("RunTask after %d tasks: %v, %d failures", placed, err, len(out.Failures))
				}
				placed += len(out.Tasks)
			}
			seconds := time.Since(start).Seconds()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(perInstance, "B/instance")
			b.ReportMetric(float64(ms.HeapAlloc-afterInstances)/tasks, "B/task")
			b.ReportMetric(seconds, "s/1M-tasks")
			runtime.KeepAlive(ecs)

			// List, describe and stop them all, a page of 100 at a time.
			start = time.Now()
			arns := make([]string, 0, tasks)
			for token := ""; ; {
				out, err := ecs.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "scale", NextToken: token})
				if err != nil {
					b.Fatal(err)
				}
				arns = append(arns, out.TaskArns...)
				if token = out.NextToken; token == "" {
					break
				}
			}
			instancePages := 0
			for token := ""; ; instancePages++ {
				out, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "scale", NextToken: token})
				if err != nil {
					b.Fatal(err)
				}
				if token = out.NextToken; token == "" {
					break
				}
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/list-all")
			if len(arns) != tasks || instancePages != instances/stevedore.DefaultMaxResults-1 {
				b.Fatalf("listed %d tasks, %d instance pages", len(arns), instancePages+1)
			}
			start = time.Now()
			for page := range slices.Chunk(arns, stevedore.DefaultMaxResults) {
				out, err := ecs.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "scale", Tasks: page})
				if err != nil || len(out.Tasks) != len(page) {
					b.Fatalf("DescribeTasks: %v, %d failures", err, len(out.Failures))
				}
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/describe-1M")
			start = time.Now()
			for _, arn := range arns {
				if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "scale", Task: arn}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/stop-1M")
		}
	})
}

// BenchmarkRunTaskCapacityProvider places one task and stops it again on
// 5,000 instances, half of each of two capacity providers: plainly (a
// launch type, any instance) and through a strategy of both providers
// (the task goes to one of them, placed among its 2,500 instances).
func BenchmarkRunTaskCapacityProvider(b *testing.B) {
	const n = 5000
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	require.NoError(b, err)
	_, err = ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "bench"})
	require.NoError(b, err)
	providers := []string{"on-demand", "spot"}
	for _, p := range providers {
		_, err := ecs.CreateAutoScalingGroup(ctx, &stevedore.CreateAutoScalingGroupInput{AutoScalingGroupName: "asg-" + p, Cluster: "bench",
			TotalResources: stevedore.TotalResources(4096, 8192), MaxSize: n})
		require.NoError(b, err)
		_, err = ecs.CreateCapacityProvider(ctx, &stevedore.CreateCapacityProviderInput{Name: p,
			AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: "asg-" + p}})
		require.NoError(b, err)
	}
	_, err = ecs.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "bench", CapacityProviders: providers})
	require.NoError(b, err)
	for i := range n {
		_, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "bench",
			TotalResources: stevedore.TotalResources(4096, 8192), CapacityProviderName: providers[i%2]})
		require.NoError(b, err)
	}
	in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "nginx", "containerDefinitions": [
		{"name": "nginx", "image": "nginx", "cpu": 256, "memory": 512, "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}`))
	require.NoError(b, err)
	_, err = ecs.RegisterTaskDefinition(ctx, in)
	require.NoError(b, err)
	for _, bc := range []struct {
		name string
		in   stevedore.RunTaskInput
	}{
		{"plain", stevedore.RunTaskInput{Cluster: "bench", TaskDefinition: "nginx", LaunchType: "EC2"}},
		{"strategy", stevedore.RunTaskInput{Cluster: "bench", TaskDefinition: "nginx", CapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{
			{CapacityProvider: "on-demand", Base: 1, Weight: 1}, {CapacityProvider: "spot", Weight: 3}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in := bc.in
				out, err := ecs.RunTask(ctx, &in)
				if err != nil || len(out.Tasks) != 1 {
					b.Fatalf("RunTask: %v, %+v", err, out)
				}
				if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "bench", Task: out.Tasks[0].TaskArn}); err != nil {
					b.Fatal(err)
				}
				clock.Advance(2 * time.Hour)
			}
		})
	}
}
