package stevedore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// A cluster that starts empty: its capacity provider's Auto Scaling group
// scales out for the tasks waiting in PROVISIONING, and they are placed
// when the instances register.
func ExampleClient_ManageCapacity() {
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ecs, _ := stevedore.New(stevedore.Options{Clock: clock})
	ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "batch"})
	ecs.CreateAutoScalingGroup(ctx, &stevedore.CreateAutoScalingGroupInput{
		AutoScalingGroupName: "batch-asg", Cluster: "batch", MaxSize: 10,
		TotalResources: stevedore.TotalResources(2048, 4096), LaunchDelay: 2 * time.Minute,
	})
	ecs.CreateCapacityProvider(ctx, &stevedore.CreateCapacityProviderInput{Name: "batch-cp",
		AutoScalingGroupProvider: &stevedore.AutoScalingGroupProvider{
			AutoScalingGroupArn: "batch-asg",
			ManagedScaling:      &stevedore.ManagedScaling{Status: "ENABLED"},
		}})
	ecs.PutClusterCapacityProviders(ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "batch",
		CapacityProviders:               []string{"batch-cp"},
		DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{{CapacityProvider: "batch-cp", Weight: 1}}})
	ecs.RegisterTaskDefinition(ctx, &stevedore.RegisterTaskDefinitionInput{TaskDefinition: taskdef.TaskDefinition{
		Family: "job", ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "job", Image: "busybox", CPU: 1024, Memory: 1024}},
	}})

	run, _ := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Count: 5})
	fmt.Println("tasks:", len(run.Tasks), run.Tasks[0].LastStatus)
	for range 3 {
		m, err := ecs.ManageCapacity(ctx, &stevedore.ManageCapacityInput{Cluster: "batch"})
		if err != nil {
			fmt.Println(err)
			return
		}
		metric := m.Metrics[0]
		fmt.Printf("%s: reservation %.0f, N=%d M=%d, desired %d; launched %d, registered %d, placed %d\n",
			clock.Now().Format("15:04"), metric.CapacityProviderReservation, metric.Instances, metric.InstancesNeeded,
			metric.DesiredCapacity, len(m.Launched), len(m.Registered), len(m.Placed))
		clock.Advance(time.Minute)
	}
	// Output:
	// tasks: 5 PROVISIONING
	// 00:00: reservation 200, N=0 M=3, desired 3; launched 3, registered 0, placed 0
	// 00:01: reservation 100, N=3 M=3, desired 3; launched 0, registered 0, placed 0
	// 00:02: reservation 100, N=3 M=3, desired 3; launched 0, registered 3, placed 5
}
