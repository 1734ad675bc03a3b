package main

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

// TestCapacityProvidersThroughTheSDK: the capacity provider operations as
// the SDK sends and reads them, and RunTask with a strategy whose task
// waits in PROVISIONING until the group's instance arrives.
func TestCapacityProvidersThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, sd, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("batch")})
	require.NoError(t, err)
	// The Auto Scaling group is the model's, made on the Client.
	g, err := sd.CreateAutoScalingGroup(ctx, &stevedore.CreateAutoScalingGroupInput{AutoScalingGroupName: "asg", Cluster: "batch",
		TotalResources: stevedore.TotalResources(2048, 4096), MaxSize: 4})
	require.NoError(t, err)

	cp, err := client.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("cp"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String(g.AutoScalingGroup.AutoScalingGroupARN),
			ManagedScaling:      &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100)},
		}})
	require.NoError(t, err)
	assert.Equal(t, types.CapacityProviderStatusActive, cp.CapacityProvider.Status)
	assert.Equal(t, int32(10000), aws.ToInt32(cp.CapacityProvider.AutoScalingGroupProvider.ManagedScaling.MaximumScalingStepSize))
	assert.Equal(t, types.ManagedDrainingEnabled, cp.CapacityProvider.AutoScalingGroupProvider.ManagedDraining)

	_, err = client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("batch"),
		CapacityProviders:               []string{"cp"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp"), Weight: 1}}})
	require.NoError(t, err)
	d, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"batch"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"cp"}, d.Clusters[0].CapacityProviders)

	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("job"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String("busybox"), Cpu: 1024, Memory: aws.Int32(1024)}}})
	require.NoError(t, err)
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("job"),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp"), Weight: 1}}})
	require.NoError(t, err)
	require.Len(t, run.Tasks, 1)
	assert.Equal(t, "PROVISIONING", aws.ToString(run.Tasks[0].LastStatus))
	assert.Equal(t, "cp", aws.ToString(run.Tasks[0].CapacityProviderName))

	m, err := sd.ManageCapacity(ctx, &stevedore.ManageCapacityInput{Cluster: "batch"})
	require.NoError(t, err)
	require.Len(t, m.Placed, 1)
	tasks, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}})
	require.NoError(t, err)
	assert.Equal(t, "PENDING", aws.ToString(tasks.Tasks[0].LastStatus))
	require.Len(t, tasks.Tasks[0].Containers, 1, "the task's containers, as the SDK reads them")
	assert.Equal(t, "main", aws.ToString(tasks.Tasks[0].Containers[0].Name))
	assert.Equal(t, aws.ToString(run.Tasks[0].TaskArn), aws.ToString(tasks.Tasks[0].Containers[0].TaskArn))
	assert.Contains(t, aws.ToString(tasks.Tasks[0].Containers[0].ContainerArn), ":container/batch/")
	ci, err := client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("batch"), ContainerInstances: []string{aws.ToString(tasks.Tasks[0].ContainerInstanceArn)}})
	require.NoError(t, err)
	assert.Equal(t, "cp", aws.ToString(ci.ContainerInstances[0].CapacityProviderName))

	// A service takes the cluster's default strategy and describes it,
	// without a launch type, as ECS does.
	svc, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("batch"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("job"), DesiredCount: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, svc.Service.CapacityProviderStrategy, 1)
	assert.Equal(t, "cp", aws.ToString(svc.Service.CapacityProviderStrategy[0].CapacityProvider))
	assert.Empty(t, svc.Service.LaunchType)
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("batch"), Service: aws.String("web"),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp"), Base: 1, Weight: 2}}})
	require.NoError(t, err)
	ds, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("batch"), Services: []string{"web"}})
	require.NoError(t, err)
	assert.Equal(t, int32(2), ds.Services[0].CapacityProviderStrategy[0].Weight)
	assert.Equal(t, int32(1), ds.Services[0].CapacityProviderStrategy[0].Base)

	_, err = client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("cp")})
	var inUse *types.ResourceInUseException
	require.True(t, errors.As(err, &inUse), "%v", err)
	dp, err := client.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"cp", "ghost"}})
	require.NoError(t, err)
	require.Len(t, dp.CapacityProviders, 1)
	require.Len(t, dp.Failures, 1)
	assert.Equal(t, "MISSING", aws.ToString(dp.Failures[0].Reason))
}

// TestAccountSettingsThroughTheSDK: awsvpcTrunking as the SDK sets and
// lists it, and an awsvpc task's RESOURCE:ENI failure as the SDK reads it.
func TestAccountSettingsThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, _, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	set, err := client.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameAwsvpcTrunking, Value: aws.String("enabled")})
	require.NoError(t, err)
	assert.Equal(t, types.SettingNameAwsvpcTrunking, set.Setting.Name)
	assert.Equal(t, types.SettingTypeUser, set.Setting.Type)
	list, err := client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{})
	require.NoError(t, err)
	require.Len(t, list.Settings, 1)
	assert.Equal(t, "enabled", aws.ToString(list.Settings[0].Value))

	_, err = client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	require.NoError(t, err)
	reg, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("web"),
		InstanceIdentityDocument: aws.String(stevedore.IdentityDocument("i-0abc", "m4.large", "us-east-1a")),
		TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 7000}}})
	require.NoError(t, err)
	for _, a := range reg.ContainerInstance.Attributes {
		assert.NotEqual(t, stevedore.TrunkAttribute, aws.ToString(a.Name), "an m4.large has no trunk")
	}
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api"), Cpu: 64, Memory: aws.Int32(128)}}})
	require.NoError(t, err)
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("api"), Count: aws.Int32(2),
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	require.NoError(t, err)
	assert.Len(t, run.Tasks, 1)
	require.Len(t, run.Failures, 1)
	assert.Equal(t, "RESOURCE:ENI", aws.ToString(run.Failures[0].Reason))
}
