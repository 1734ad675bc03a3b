package stevedore_test

import (
	"context"
	"fmt"

	"github.com/stevedore-go/stevedore"
)

// Registering an instance by its type, zone and size, then reading what
// it has left by name.
func ExampleIdentityDocument() {
	ctx := context.Background()
	ecs := exampleClient()
	out, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
		InstanceIdentityDocument: stevedore.IdentityDocument("i-0123456789abcdef0", "m5.large", "us-east-1a"),
		TotalResources:           stevedore.TotalResources(2048, 7680),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ci := out.ContainerInstance
	memory, _ := ci.Remaining("MEMORY")
	ports, _ := ci.Remaining("PORTS")
	fmt.Println(ci.Ec2InstanceId, memory.IntegerValue, ports.StringSetValue)
	// Output: i-0123456789abcdef0 7680 [22 2375 2376 51678 51679]
}

func ExampleContainerInstance_Remaining() {
	ctx := context.Background()
	ecs := exampleClient()
	exampleWalkthrough(ctx, ecs)
	run, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper"})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{
		Cluster: "Walkthrough", ContainerInstances: []string{run.Tasks[0].ContainerInstanceArn}})
	cpu, _ := d.ContainerInstances[0].Remaining("CPU")
	registered, _ := d.ContainerInstances[0].Registered("CPU")
	fmt.Println(registered.IntegerValue, "registered,", cpu.IntegerValue, "left")
	// Output: 1024 registered, 24 left
}

func ExampleResourceID() {
	fmt.Println(stevedore.ResourceID("arn:aws:ecs:us-east-1:123456789012:container-instance/Walkthrough/4b6d45ea8c0449b0b4bd4d4b1d0e7d3f"))
	fmt.Println(stevedore.ResourceID("arn:aws:ecs:us-east-1:123456789012:task-definition/nginx:3"))
	fmt.Println(stevedore.ResourceID("4b6d45ea8c0449b0b4bd4d4b1d0e7d3f"))
	// Output:
	// 4b6d45ea8c0449b0b4bd4d4b1d0e7d3f
	// nginx:3
	// 4b6d45ea8c0449b0b4bd4d4b1d0e7d3f
}

// Twenty-five tasks: three RunTask calls of 10, 10 and 5.
func ExampleClient_RunTaskAll() {
	ctx := context.Background()
	ecs := exampleClient()
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "batch"}); err != nil {
		fmt.Println(err)
		return
	}
	for range 4 {
		if _, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "batch", TotalResources: stevedore.TotalResources(4096, 8192)}); err != nil {
			fmt.Println(err)
			return
		}
	}
	in, _ := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "job", "containerDefinitions": [{"name": "job", "image": "busybox", "cpu": 512, "memory": 1024}]}`))
	if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
		fmt.Println(err)
		return
	}
	out, err := ecs.RunTaskAll(ctx, &stevedore.RunTaskInput{Cluster: "batch", TaskDefinition: "job", Count: 40})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Tasks), "started,", len(out.Failures), "failed:", out.Failures[0].Reason)
	// Output: 32 started, 8 failed: RESOURCE:CPU
}
