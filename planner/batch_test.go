package planner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/planner"
	"github.com/stevedore-go/stevedore/taskdef"
)

func batchClient(t require.TestingT, instances int, cpu, mem int64) *stevedore.Client {
	ctx := context.Background()
	c, err := stevedore.New(stevedore.Options{Clock: stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	_, err = c.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "app"})
	require.NoError(t, err)
	for i := range instances {
		_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app",
			TotalResources:           stevedore.TotalResources(cpu, mem),
			InstanceIdentityDocument: stevedore.IdentityDocument(fmt.Sprintf("i-%017x", i+1), "x9.unknown", []string{"us-east-1a", "us-east-1b"}[i%2])})
		require.NoError(t, err)
	}
	return c
}

func define(t require.TestingT, c *stevedore.Client, family string, cpu, mem int, ports ...int) {
	td := taskdef.TaskDefinition{Family: family, ContainerDefinitions: []taskdef.ContainerDefinition{{Name: family, Image: "x", CPU: cpu, Memory: mem}}}
	for _, p := range ports {
		td.ContainerDefinitions[0].PortMappings = append(td.ContainerDefinitions[0].PortMappings, taskdef.PortMapping{ContainerPort: p, HostPort: p})
	}
	_, err := c.RegisterTaskDefinition(context.Background(), &stevedore.RegisterTaskDefinitionInput{TaskDefinition: td})
	require.NoError(t, err)
}

func liveTasks(t require.TestingT, c *stevedore.Client) int {
	l, err := c.ListTasks(context.Background(), &stevedore.ListTasksInput{Cluster: "app"})
	require.NoError(t, err)
	return len(l.TaskArns)
}

// TestPlaceBatch: best effort places what fits and reports the rest with
// its reason; all or nothing changes nothing when one task does not fit;
// host ports and distinctInstance hold across the batch's own tasks.
func TestPlaceBatch(t *testing.T) {
	ctx := t.Context()
	c := batchClient(t, 2, 2048, 4096)
	define(t, c, "web", 512, 512)
	define(t, c, "edge", 64, 64, 80)

	out, err := planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "app", Mode: planner.AllOrNothing,
		Items: []planner.BatchItem{{TaskDefinition: "web", Count: 9}}})
	require.NoError(t, err)
	assert.Empty(t, out.Tasks)
	require.Len(t, out.Unplaced, 1)
	assert.Equal(t, planner.Unplaced{Item: 0, Count: 1, Reason: "RESOURCE:CPU", Arn: out.Unplaced[0].Arn, Checks: map[string]int{"RESOURCE:CPU": 2}}, out.Unplaced[0])
	assert.Zero(t, liveTasks(t, c), "all or nothing: nothing started")

	out, err = planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "app", Mode: planner.BestEffort, Items: []planner.BatchItem{
		{TaskDefinition: "edge", Count: 3},
		{TaskDefinition: "web", Count: 3, PlacementConstraints: []stevedore.PlacementConstraint{{Type: "distinctInstance"}}},
	}})
	require.NoError(t, err)
	assert.Len(t, out.Tasks, 4, "two edges (port 80 once per instance), two webs (one per instance)")
	require.Len(t, out.Unplaced, 2)
	assert.Equal(t, "RESOURCE:PORTS", out.Unplaced[0].Reason)
	assert.Equal(t, "DistinctInstance placement constraint unsatisfied.", out.Unplaced[1].Reason)
	assert.Equal(t, 4, liveTasks(t, c))

	_, err = planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "app", Items: []planner.BatchItem{{TaskDefinition: "web", Count: -1}}})
	assert.ErrorIs(t, err, planner.ErrBatch)
	_, err = planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "app", Items: []planner.BatchItem{{TaskDefinition: "nope", Count: 1}}})
	assert.Error(t, err)
	_, err = planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "missing", Items: nil})
	require.ErrorAs(t, err, new(*stevedore.ClusterNotFoundException))
}

// TestPlaceBatchProperty: on random clusters and batches, no instance is
// overcommitted, every task is placed or reported, and all or nothing
// starts all of a batch or none.
func TestPlaceBatchProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		c := batchClient(t, rapid.IntRange(1, 6).Draw(t, "instances"), 2048, 4096)
		define(t, c, "a", 256, 512)
		define(t, c, "b", 512, 1024, 8080)
		define(t, c, "c", 1024, 256)
		var items []planner.BatchItem
		want := 0
		for range rapid.IntRange(1, 4).Draw(t, "items") {
			it := planner.BatchItem{TaskDefinition: rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "td"), Count: rapid.IntRange(0, 12).Draw(t, "count")}
			if rapid.Bool().Draw(t, "binpack") {
				it.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}
			}
			items = append(items, it)
			want += it.Count
		}
		mode := rapid.SampledFrom([]planner.BatchMode{planner.AllOrNothing, planner.BestEffort}).Draw(t, "mode")
		out, err := planner.PlaceBatch(ctx, c, &planner.BatchInput{Cluster: "app", Items: items, Mode: mode, Seed: rapid.Uint64().Draw(t, "seed")})
		require.NoError(t, err)
		unplaced := 0
		for _, u := range out.Unplaced {
			unplaced += u.Count
		}
		switch mode {
		case planner.AllOrNothing:
			require.True(t, len(out.Tasks) == want || len(out.Tasks) == 0, "all or nothing: %d of %d", len(out.Tasks), want)
			require.Equal(t, len(out.Unplaced) == 0, len(out.Tasks) == want)
		default:
			require.Equal(t, want, len(out.Tasks)+unplaced, "every task placed or reported")
		}
		require.Equal(t, len(out.Tasks), liveTasks(t, c))
		list, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app"})
		require.NoError(t, err)
		d, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "app", ContainerInstances: list.ContainerInstanceArns})
		require.NoError(t, err)
		for _, ci := range d.ContainerInstances {
			for _, name := range []string{"CPU", "MEMORY"} {
				r, _ := ci.Remaining(name)
				require.GreaterOrEqual(t, r.IntegerValue, int64(0), "no overcommit")
			}
		}
	})
}

// BenchmarkPlaceBatch places 100,000 small tasks on 5,000 instances in
// one batch (best effort; they all fit) and reports ns per task.
func BenchmarkPlaceBatch(b *testing.B) {
	const tasks = 100_000
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c := batchClient(b, 5000, 8192, 16384)
		define(b, c, "a", 128, 256)
		define(b, c, "b", 256, 512)
		b.StartTimer()
		out, err := planner.PlaceBatch(b.Context(), c, &planner.BatchInput{Cluster: "app", Mode: planner.BestEffort, Items: []planner.BatchItem{
			{TaskDefinition: "a", Count: tasks / 2},
			{TaskDefinition: "b", Count: tasks / 2, PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}},
		}})
		if err != nil || len(out.Tasks) != tasks {
			b.Fatalf("placed %d: %v", len(out.Tasks), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tasks), "ns/task")
}
