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

// Costs that must not grow with the cluster when its state is unchanged,
// swept over cluster sizes up to 100,000 instances and 1,000,000
// task-definition revisions.

var scaleSizes = []int{1_000, 10_000, 100_000}

// scaleCluster returns a client with cluster "scale" of n instances (4
// vCPU, 8 GiB, over three zones) and the definitions small (256 CPU,
// 512 MiB) and huge (8 vCPU: it fits no instance).
func scaleCluster(b *testing.B, n int) (*stevedore.Client, *stevedore.ManualClock) {
	b.Helper()
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	require.NoError(b, err)
	_, err = ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "scale"})
	require.NoError(b, err)
	for i := range n {
		_, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "scale",
			InstanceIdentityDocument: fmt.Sprintf(`{"instanceId": "i-%017d", "availabilityZone": "us-east-1%c", "instanceType": "m5.xlarge"}`, i, 'a'+i%3),
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 4096},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 8192},
			},
		})
		require.NoError(b, err)
	}
	for _, js := range []string{
		`{"family": "small", "containerDefinitions": [{"name": "app", "image": "app", "cpu": 256, "memory": 512}]}`,
		`{"family": "huge", "containerDefinitions": [{"name": "app", "image": "app", "cpu": 8192, "memory": 512}]}`,
	} {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(js))
		require.NoError(b, err)
		_, err = ecs.RegisterTaskDefinition(ctx, in)
		require.NoError(b, err)
	}
	return ecs, clock
}

// BenchmarkRunTaskFitsNowhere: a RunTask whose task fits no instance, on
// an unchanged cluster; with RunTask's random spread and with binpack.
func BenchmarkRunTaskFitsNowhere(b *testing.B) {
	for _, strategy := range []string{"random-spread", "binpack"} {
		for _, n := range scaleSizes {
			b.Run(fmt.Sprintf("%s/instances=%d", strategy, n), func(b *testing.B) {
				ecs, _ := scaleCluster(b, n)
				ctx := context.Background()
				in := &stevedore.RunTaskInput{Cluster: "scale", TaskDefinition: "huge"}
				if strategy == "binpack" {
					in.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}
				}
				out, err := ecs.RunTask(ctx, in)
				require.NoError(b, err)
				require.Len(b, out.Failures, 1)
				require.Equal(b, "RESOURCE:CPU", out.Failures[0].Reason)
				require.Equal(b, n, out.Failures[0].Checks[stevedore.ReasonResourceCPU])
				b.ReportAllocs()
				for b.Loop() {
					out, err := ecs.RunTask(ctx, in)
					if err != nil || len(out.Failures) != 1 {
						b.Fatalf("RunTask: %v, %+v", err, out)
					}
				}
			})
		}
	}
}

// BenchmarkBinpackFirstUse: the first binpack RunTask of ten tasks on a
// cluster, which builds the placement engine's index, then the same call
// once the index exists (its tasks stopped again).
func BenchmarkBinpackFirstUse(b *testing.B) {
	binpack := func(ecs *stevedore.Client) *stevedore.RunTaskOutput {
		out, err := ecs.RunTask(context.Background(), &stevedore.RunTaskInput{Cluster: "scale", TaskDefinition: "small", Count: 10,
			PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}})
		if err != nil || len(out.Tasks) != 10 {
			b.Fatalf("RunTask: %v, %+v", err, out)
		}
		return out
	}
	stop := func(ecs *stevedore.Client, out *stevedore.RunTaskOutput) {
		for _, t := range out.Tasks {
			if _, err := ecs.StopTask(context.Background(), &stevedore.StopTaskInput{Cluster: "scale", Task: t.TaskArn}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("first/instances=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				ecs, _ := scaleCluster(b, n)
				b.StartTimer()
				binpack(ecs)
			}
		})
		b.Run(fmt.Sprintf("then/instances=%d", n), func(b *testing.B) {
			ecs, clock := scaleCluster(b, n)
			stop(ecs, binpack(ecs))
			b.ReportAllocs()
			for b.Loop() {
				stop(ecs, binpack(ecs))
				clock.Advance(2 * time.Hour)
			}
		})
	}
}

// BenchmarkDaemonReconcile: a Reconcile of a DAEMON service that runs its
// task on every instance, when nothing changed since the last one.
func BenchmarkDaemonReconcile(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			ecs, _ := scaleCluster(b, n)
			ctx := context.Background()
			_, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "scale", ServiceName: "agent", TaskDefinition: "small", SchedulingStrategy: "DAEMON"})
			require.NoError(b, err)
			_, err = ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "scale"})
			require.NoError(b, err)
			_, err = ecs.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: "scale"})
			require.NoError(b, err)
			for range 2 { // the steady-state event, then a step that changes nothing
				_, err = ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "scale"})
				require.NoError(b, err)
			}
			d, err := ecs.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "scale", Services: []string{"agent"}})
			require.NoError(b, err)
			require.Equal(b, n, d.Services[0].RunningCount)
			b.Run("unchanged", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					out, err := ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "scale"})
					if err != nil || len(out.Started)+len(out.Stopped)+len(out.Failures) > 0 {
						b.Fatalf("Reconcile: %v, %+v", err, out)
					}
				}
			})
			// One instance's attribute changes before each step: the step
			// is decided again over the whole service.
			l, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "scale", MaxResults: 1})
			require.NoError(b, err)
			b.Run("one-instance-changed", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					_, err := ecs.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "scale", Attributes: []stevedore.Attribute{
						{Name: "tick", Value: fmt.Sprint(i % 2), TargetId: l.ContainerInstanceArns[0]}}})
					if err != nil {
						b.Fatal(err)
					}
					out, err := ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "scale"})
					if err != nil || len(out.Started)+len(out.Stopped)+len(out.Failures) > 0 {
						b.Fatalf("Reconcile: %v, %+v", err, out)
					}
				}
			})
		})
	}
}

// BenchmarkListTaskDefinitions: one page of 100 ARNs out of a family of
// many revisions: the first page, one from the middle, and the first
// ACTIVE page when all but the last 100 revisions are INACTIVE.
func BenchmarkListTaskDefinitions(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		ctx := context.Background()
		ecs, err := stevedore.New(stevedore.Options{Clock: stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
		require.NoError(b, err)
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "app", "containerDefinitions": [{"name": "app", "image": "app", "cpu": 256, "memory": 512}]}`))
		require.NoError(b, err)
		var middle string
		for i := range n {
			_, err := ecs.RegisterTaskDefinition(ctx, in)
			require.NoError(b, err)
			if i == n/2 {
				l, err := ecs.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{})
				require.NoError(b, err)
				middle = l.NextToken // after revision 100 of the first n/2+1
			}
		}
		page := func(b *testing.B, in *stevedore.ListTaskDefinitionsInput) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := ecs.ListTaskDefinitions(ctx, in)
				if err != nil || len(out.TaskDefinitionArns) != 100 {
					b.Fatalf("ListTaskDefinitions: %v, %d ARNs", err, len(out.TaskDefinitionArns))
				}
			}
		}
		b.Run(fmt.Sprintf("first/revisions=%d", n), func(b *testing.B) { page(b, &stevedore.ListTaskDefinitionsInput{}) })
		b.Run(fmt.Sprintf("middle/revisions=%d", n), func(b *testing.B) { page(b, &stevedore.ListTaskDefinitionsInput{NextToken: middle}) })
		b.Run(fmt.Sprintf("desc/revisions=%d", n), func(b *testing.B) { page(b, &stevedore.ListTaskDefinitionsInput{Sort: "DESC"}) })
		for rev := 1; rev <= n-100; rev++ {
			_, err := ecs.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: fmt.Sprintf("app:%d", rev)})
			require.NoError(b, err)
		}
		b.Run(fmt.Sprintf("active-after-inactive/revisions=%d", n), func(b *testing.B) { page(b, &stevedore.ListTaskDefinitionsInput{}) })
	}
}
