package stevedore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// TestConcurrentStress: 8 goroutines run RunTask, StartTask, StopTask,
// Reconcile and Describe/List calls against one cluster, in phases of a
// bounded number of operations. Between phases and at the end: no instance
// overcommitted, no port held twice, remaining = registered − demands,
// every task a call reported as placed exists exactly once, counts agree.
func TestConcurrentStress(t *testing.T) {
	ctx := context.Background()
	m := &stateMachine{ctx: ctx, defs: map[string]smDemand{}, stoppedAt: map[string]time.Time{}}
	m.clock = stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var err error
	m.ecs, err = stevedore.New(stevedore.Options{Clock: m.clock, Rand: rand.NewPCG(8, 8)})
	require.NoError(t, err)
	_, err = m.ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: smCluster})
	require.NoError(t, err)
	for _, d := range smDefinitions {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(d.inputJSON))
		require.NoError(t, err)
		out, err := m.ecs.RegisterTaskDefinition(ctx, in)
		require.NoError(t, err)
		m.defs[out.TaskDefinition.TaskDefinitionArn] = d
		m.defARNs = append(m.defARNs, out.TaskDefinition.TaskDefinitionArn)
	}
	for i := range 16 {
		out, err := m.ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  smCluster,
			InstanceIdentityDocument: fmt.Sprintf(`{"instanceId": "i-%08d", "availabilityZone": "us-east-1%c"}`, i, 'a'+i%3),
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 4096},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 8192},
			},
		})
		require.NoError(t, err)
		m.instances = append(m.instances, out.ContainerInstance.ContainerInstanceArn)
	}
	_, err = m.ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: smCluster, ServiceName: "web", TaskDefinition: "dyn", DesiredCount: new(12)})
	require.NoError(t, err)

	var mu sync.Mutex
	placed := map[string]int{} // task ARN -> times reported placed
	record := func(tasks []stevedore.Task) {
		mu.Lock()
		defer mu.Unlock()
		for _, task := range tasks {
			placed[task.TaskArn]++
		}
	}
	known := func(rnd *rand.Rand) string {
		mu.Lock()
		defer mu.Unlock()
		if len(placed) == 0 {
			return ""
		}
		arns := make([]string, 0, len(placed))
		for arn := range placed {
			arns = append(arns, arn)
		}
		slices.Sort(arns)
		return arns[rnd.IntN(len(arns))]
	}
	const phases, workers, opsPerWorker = 4, 8, 60
	for phase := range phases {
		errs := make(chan error, workers*opsPerWorker)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(uint64(phase), uint64(w)))
				for range opsPerWorker {
					var err error
					switch rnd.IntN(7) {
					case 0, 1:
						var out *stevedore.RunTaskOutput
						def := m.defARNs[rnd.IntN(len(m.defARNs))]
						out, err = m.ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: smCluster, TaskDefinition: def, Count: 1 + rnd.IntN(3), NetworkConfiguration: m.netFor(def),
							PlacementStrategy: [][]stevedore.PlacementStrategy{nil, {{Type: "binpack", Field: "memory"}}, {{Type: "spread", Field: "attribute:ecs.availability-zone"}}}[rnd.IntN(3)]})
						if err == nil {
							record(out.Tasks)
						}
					case 2:
						var out *stevedore.StartTaskOutput
						def := m.defARNs[rnd.IntN(len(m.defARNs))]
						out, err = m.ecs.StartTask(ctx, &stevedore.StartTaskInput{Cluster: smCluster, TaskDefinition: def, NetworkConfiguration: m.netFor(def),
							ContainerInstances: []string{m.instances[rnd.IntN(len(m.instances))]}})
						if err == nil {
							record(out.Tasks)
						}
					case 3:
						if arn := known(rnd); arn != "" {
							_, err = m.ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: smCluster, Task: arn})
						}
					case 4:
						var out *stevedore.ReconcileOutput
						out, err = m.ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: smCluster})
						if err == nil {
							record(out.Started)
						}
					case 5:
						_, err = m.ecs.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: smCluster})
					default:
						_, err = m.ecs.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: []string{smCluster}})
						if err == nil {
							_, err = m.ecs.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: smCluster, MaxResults: 10})
						}
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("phase %d: %v", phase, err)
		}
		// Checkpoint: the state is quiet; check it whole.
		mu.Lock()
		m.tasks = m.tasks[:0]
		for arn, n := range placed {
			assert.Equal(t, 1, n, "task %s reported placed once", arn)
			m.tasks = append(m.tasks, arn)
		}
		slices.Sort(m.tasks)
		mu.Unlock()
		s := m.snapshot(t)
		assert.Empty(t, s.missing, "every task a call reported as placed exists")
		assert.Len(t, s.tasks, len(m.tasks))
		m.check(t)
	}
	out, err := m.ecs.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: []string{smCluster}, Include: []string{"STATISTICS"}})
	require.NoError(t, err)
	require.Len(t, out.Clusters, 1)
	stats := map[string]int{}
	for _, kv := range out.Clusters[0].Statistics {
		n, err := strconv.Atoi(kv.Value)
		require.NoError(t, err, kv.Name)
		stats[kv.Name] = n
	}
	require.Len(t, stats, 5, "commits, commitConflicts, commitRetries, tasksStarted, tasksStopped")
	assert.LessOrEqual(t, stats["commitRetries"], stats["commitConflicts"], "a retry follows a conflict")
	assert.GreaterOrEqual(t, stats["tasksStarted"], len(m.tasks), "every task a call reported was started")
	assert.LessOrEqual(t, stats["tasksStopped"], stats["tasksStarted"])
	t.Logf("statistics: %v", out.Clusters[0].Statistics)
}
