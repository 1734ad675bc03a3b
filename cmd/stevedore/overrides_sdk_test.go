package main

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

// TestOverridesThroughTheSDK: RunTask's overrides as the SDK sends them
// change the task's demand, and come back in ECS's describe shape.
func TestOverridesThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, _, _ := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	oneInstance(t, client, "batch")
	var err error
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("job"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("main"), Image: aws.String("busybox"), Cpu: 256, Memory: aws.Int32(512)},
			{Name: aws.String("log"), Image: aws.String("fluent-bit"), Cpu: 64, MemoryReservation: aws.Int32(64)},
		},
	})
	require.NoError(t, err)
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("job"), Overrides: &types.TaskOverride{
		ContainerOverrides: []types.ContainerOverride{{Name: aws.String("main"), Cpu: aws.Int32(1024), Memory: aws.Int32(4096),
			Environment: []types.KeyValuePair{{Name: aws.String("SIZE"), Value: aws.String("big")}}}},
	}})
	require.NoError(t, err)
	require.Len(t, out.Tasks, 1)
	task := out.Tasks[0]
	assert.Equal(t, "1088", aws.ToString(task.Cpu))
	assert.Equal(t, "4160", aws.ToString(task.Memory))
	require.NotNil(t, task.Overrides)
	require.Len(t, task.Overrides.ContainerOverrides, 2, "every container is listed, as ECS lists them")
	assert.Equal(t, "main", aws.ToString(task.Overrides.ContainerOverrides[0].Name))
	assert.Equal(t, int32(4096), aws.ToInt32(task.Overrides.ContainerOverrides[0].Memory))
	assert.Equal(t, "log", aws.ToString(task.Overrides.ContainerOverrides[1].Name))
	assert.Nil(t, task.Overrides.ContainerOverrides[1].Memory)

	_, err = client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("job"), Overrides: &types.TaskOverride{
		ContainerOverrides: []types.ContainerOverride{{Name: aws.String("web"), Cpu: aws.Int32(1)}},
	}})
	var invalid *types.InvalidParameterException
	require.True(t, errors.As(err, &invalid), "%v", err)
	assert.Contains(t, invalid.ErrorMessage(), "Override for container named web is not a container in the TaskDefinition.")
}

// TestTaskProtectionThroughTheSDK: UpdateTaskProtection and
// GetTaskProtection as the SDK sends and reads them (expirationDate as an
// epoch timestamp).
func TestTaskProtectionThroughTheSDK(t *testing.T) {
	ctx := t.Context()
	client, c, clock := endpoint(t, ecsapi.Options{}, "AKIDEXAMPLE", "secret")
	oneInstance(t, client, "prod")
	var err error
	_, err = client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Cpu: 256, Memory: aws.Int32(256)}},
	})
	require.NoError(t, err)
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	require.NoError(t, err)
	_, err = c.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "prod"})
	require.NoError(t, err)
	l, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")})
	require.NoError(t, err)
	require.Len(t, l.TaskArns, 1)
	up, err := client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("prod"), Tasks: l.TaskArns, ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(60)})
	require.NoError(t, err)
	require.Len(t, up.ProtectedTasks, 1)
	assert.Equal(t, clock.Now().Add(time.Hour), aws.ToTime(up.ProtectedTasks[0].ExpirationDate).UTC())
	got, err := client.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("prod"), Tasks: append(l.TaskArns, "0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	require.Len(t, got.ProtectedTasks, 1)
	assert.True(t, got.ProtectedTasks[0].ProtectionEnabled)
	require.Len(t, got.Failures, 1)
	assert.Equal(t, "MISSING", aws.ToString(got.Failures[0].Reason))
}

// oneInstance creates a cluster with one m5.large instance of 2,048 CPU
// units and 7,680 MiB through the SDK.
func oneInstance(t *testing.T, client *ecs.Client, name string) {
	t.Helper()
	ctx := t.Context()
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	require.NoError(t, err)
	_, err = client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:                  aws.String(name),
		InstanceIdentityDocument: aws.String(stevedore.IdentityDocument("i-0a1", "m5.large", "us-east-1a")),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 7680},
		},
	})
	require.NoError(t, err)
}
