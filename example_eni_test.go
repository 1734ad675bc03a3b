package stevedore_test

import (
	"context"
	"fmt"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// awsvpc tasks each attach an ENI to their instance: a c5.large runs two,
// and ten once awsvpcTrunking is enabled before it registers.
func ExampleClient_PutAccountSetting() {
	ctx := context.Background()
	ecs, _ := stevedore.New(stevedore.Options{})
	ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "web"})
	ecs.RegisterTaskDefinition(ctx, &stevedore.RegisterTaskDefinitionInput{TaskDefinition: taskdef.TaskDefinition{
		Family: "api", NetworkMode: taskdef.NetworkModeAwsvpc,
		ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "api", Image: "api", CPU: 64, Memory: 128}},
	}})
	register := func() {
		ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "web",
			TotalResources:           stevedore.TotalResources(2048, 3700),
			InstanceIdentityDocument: stevedore.IdentityDocument("", "c5.large", "us-east-1a")})
	}
	net := &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	run := func() {
		out, _ := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "web", TaskDefinition: "api", Count: 10, NetworkConfiguration: net})
		reasons := map[string]int{}
		for _, f := range out.Failures {
			reasons[f.Reason]++
		}
		fmt.Println("placed", len(out.Tasks), "failed", reasons)
	}
	register()
	run()
	ecs.PutAccountSetting(ctx, &stevedore.PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled"})
	register()
	run()
	run()
	// Output:
	// placed 2 failed map[RESOURCE:ENI:8]
	// placed 10 failed map[]
	// placed 0 failed map[RESOURCE:ENI:10]
}
