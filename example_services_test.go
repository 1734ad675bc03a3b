package stevedore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stevedore-go/stevedore"
)

// exampleServiceCluster is cluster "web" with three instances in two zones
// (2048 CPU, 2048 MiB each) and the task definition app (revisions 1 and
// 2: 512 CPU, 512 MiB).
func exampleServiceCluster(ctx context.Context) (*stevedore.Client, *stevedore.ManualClock) {
	clock := stevedore.NewManualClock(time.Date(2015, 4, 1, 12, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(2015, 4)})
	if err != nil {
		panic(err)
	}
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "web"}); err != nil {
		panic(err)
	}
	for i, az := range []string{"us-east-1a", "us-east-1b", "us-east-1a"} {
		_, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "web",
			InstanceIdentityDocument: stevedore.IdentityDocument(fmt.Sprintf("i-%08d", i), "m5.large", az),
			TotalResources:           stevedore.TotalResources(2048, 2048)})
		if err != nil {
			panic(err)
		}
	}
	for range 2 {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "app", "containerDefinitions": [{"name": "app", "image": "app", "cpu": 512, "memory": 512}]}`))
		if err != nil {
			panic(err)
		}
		if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
			panic(err)
		}
	}
	return ecs, clock
}

// settle runs the cluster until it is steady: the agents start what is
// placed, the service scheduler steps (see Driver).
func settle(ctx context.Context, ecs *stevedore.Client, clock *stevedore.ManualClock) {
	d := &stevedore.Driver{Client: ecs, Clock: clock, Cluster: "web"}
	if _, err := d.RunUntilSteady(ctx, 10*time.Second, 20); err != nil {
		panic(err)
	}
}

func describe(ctx context.Context, ecs *stevedore.Client) stevedore.Service {
	out, err := ecs.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "web", Services: []string{"api"}})
	if err != nil {
		panic(err)
	}
	return out.Services[0]
}

// A service keeps four tasks running; the service scheduler places them at
// each Reconcile, spread over the zones.
func ExampleClient_CreateService() {
	ctx := context.Background()
	ecs, clock := exampleServiceCluster(ctx)
	out, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "web", ServiceName: "api", TaskDefinition: "app", DesiredCount: new(4)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Service.Status, out.Service.DesiredCount, "desired,", out.Service.RunningCount, "running")
	settle(ctx, ecs, clock)
	s := describe(ctx, ecs)
	fmt.Println(s.RunningCount, "running:", s.Events[0].Message)
	// Output:
	// ACTIVE 4 desired, 0 running
	// 4 running: (service api) has reached a steady state.
}

// A new revision starts a deployment, rolled out within the deployment
// configuration at each Reconcile.
func ExampleClient_UpdateService() {
	ctx := context.Background()
	ecs, clock := exampleServiceCluster(ctx)
	if _, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "web", ServiceName: "api", TaskDefinition: "app:1", DesiredCount: new(2)}); err != nil {
		fmt.Println(err)
		return
	}
	settle(ctx, ecs, clock)
	out, err := ecs.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "web", Service: "api", TaskDefinition: "app:2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range out.Service.Deployments {
		fmt.Println(d.Status, stevedore.ResourceID(d.TaskDefinition), d.RolloutState)
	}
	settle(ctx, ecs, clock)
	for _, d := range describe(ctx, ecs).Deployments {
		fmt.Println(d.Status, stevedore.ResourceID(d.TaskDefinition), d.RolloutState, d.RunningCount, "running")
	}
	// Output:
	// PRIMARY app:2 IN_PROGRESS
	// ACTIVE app:1 COMPLETED
	// PRIMARY app:2 COMPLETED 2 running
}

// Each Reconcile is one deterministic step of the service scheduler; a
// stopped task is replaced at the next one.
func ExampleClient_Reconcile() {
	ctx := context.Background()
	ecs, _ := exampleServiceCluster(ctx)
	if _, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "web", ServiceName: "api", TaskDefinition: "app", DesiredCount: new(2)}); err != nil {
		fmt.Println(err)
		return
	}
	step, err := ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "web"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("started", len(step.Started))
	if _, err := ecs.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "web", Task: step.Started[0].TaskArn}); err != nil {
		fmt.Println(err)
		return
	}
	step, _ = ecs.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "web"})
	fmt.Println("started", len(step.Started), "to replace the stopped task")
	// Output:
	// started 2
	// started 1 to replace the stopped task
}

// Draining an instance moves its service tasks elsewhere, within the
// deployment configuration, and places nothing new on it.
func ExampleClient_UpdateContainerInstancesState() {
	ctx := context.Background()
	ecs, clock := exampleServiceCluster(ctx)
	if _, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "web", ServiceName: "api", TaskDefinition: "app", DesiredCount: new(3)}); err != nil {
		fmt.Println(err)
		return
	}
	settle(ctx, ecs, clock)
	list, _ := ecs.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "web", ServiceName: "api"})
	tasks, _ := ecs.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "web", Tasks: list.TaskArns})
	drained := tasks.Tasks[0].ContainerInstanceArn
	if _, err := ecs.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "web", ContainerInstances: []string{drained}, Status: "DRAINING"}); err != nil {
		fmt.Println(err)
		return
	}
	settle(ctx, ecs, clock)
	d, _ := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "web", ContainerInstances: []string{drained}})
	fmt.Println(d.ContainerInstances[0].Status, d.ContainerInstances[0].RunningTasksCount, "tasks;", describe(ctx, ecs).RunningCount, "running elsewhere")
	// Output: DRAINING 0 tasks; 3 running elsewhere
}

// Errors are ECS's exceptions: match one with errors.As (or errors.AsType),
// or errors.Is against a zero value.
func ExampleAPIError() {
	ctx := context.Background()
	ecs := exampleClient()
	_, err := ecs.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "nope"})
	if e, ok := errors.AsType[*stevedore.ClusterNotFoundException](err); ok {
		fmt.Println("no such cluster:", e.ErrorMessage())
	}
	fmt.Println(errors.Is(err, &stevedore.ClusterNotFoundException{}), errors.Is(err, &stevedore.InvalidParameterException{}))
	var apiErr stevedore.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.ErrorCode())
	}
	// Output:
	// no such cluster: Cluster not found: nope.
	// true false
	// ClusterNotFoundException
}
