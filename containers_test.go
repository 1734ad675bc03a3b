package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// TestTaskContainers: a task describes its containers in ECS's shape: a
// stable ARN each, the task's status, the static host ports bound once
// the task runs (none for dynamic ports or awsvpc), the overrides' amounts
// and the task's GPUs given out in container order.
func TestTaskContainers(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app", TotalResources: resources(4096, 8192),
		PlatformDevices: []stevedore.PlatformDevice{{Id: "GPU-0", Type: "GPU"}, {Id: "GPU-1", Type: "GPU"}, {Id: "GPU-2", Type: "GPU"}}})
	require.NoError(t, err)
	in := &stevedore.RegisterTaskDefinitionInput{TaskDefinition: taskdef.TaskDefinition{Family: "app", ContainerDefinitions: []taskdef.ContainerDefinition{
		{Name: "web", Image: "nginx", CPU: 256, Memory: 512, PortMappings: []taskdef.PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 9000}}},
		{Name: "dns", Image: "coredns", MemoryReservation: 128, PortMappings: []taskdef.PortMapping{{ContainerPort: 53, HostPort: 53, Protocol: "udp"}},
			ResourceRequirements: []taskdef.ResourceRequirement{{Type: "GPU", Value: "2"}}},
	}}}
	td := registerTaskDefinition(t, c, in)
	cpu := 512
	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td,
		Overrides: &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: "web", CPU: &cpu}}}})
	require.NoError(t, err)
	require.Len(t, out.Tasks, 1)
	task := out.Tasks[0]
	require.Len(t, task.Containers, 2)
	web, dns := task.Containers[0], task.Containers[1]
	assert.Equal(t, "web", web.Name)
	assert.Equal(t, "512", web.Cpu, "the override's cpu")
	assert.Equal(t, "512", web.Memory)
	assert.Equal(t, "0", dns.Cpu)
	assert.Equal(t, "128", dns.MemoryReservation)
	assert.Equal(t, "PENDING", web.LastStatus)
	assert.Empty(t, web.NetworkBindings, "bound once the container starts")
	assert.Empty(t, web.GpuIds)
	assert.Equal(t, []string{"GPU-0", "GPU-1"}, dns.GpuIds)
	assert.NotEqual(t, web.ContainerArn, dns.ContainerArn)

	startPending(t, c, clock, "app")
	d := describeTask(t, c, "app", task.TaskArn)
	assert.Equal(t, web.ContainerArn, d.Containers[0].ContainerArn, "the same ARN in every description")
	assert.Equal(t, "RUNNING", d.Containers[0].LastStatus)
	assert.Equal(t, []stevedore.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}, d.Containers[0].NetworkBindings, "the dynamic port 9000 is not bound by the model")
	assert.Equal(t, []stevedore.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: 53, HostPort: 53, Protocol: "udp"}}, d.Containers[1].NetworkBindings)

	// awsvpc binds no host port.
	registerTyped(t, c, "app", "x9.unknown")
	vpc := awsvpcDefinition(t, c, "vpc")
	run, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: vpc, NetworkConfiguration: awsvpcNetwork})
	require.NoError(t, err)
	require.Len(t, run.Tasks, 1)
	startPending(t, c, clock, "app")
	assert.Empty(t, describeTask(t, c, "app", run.Tasks[0].TaskArn).Containers[0].NetworkBindings)
}
