package stevedore_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// t0 is where every test's manual clock starts.
var t0 = time.Date(2015, 4, 1, 12, 0, 0, 0, time.UTC)

// arnPrefix is the ARN prefix of a client with the default options.
const arnPrefix = "arn:aws:ecs:us-east-1:123456789012:"

// defaultReservedPorts are the agent's reserved TCP ports when PORTS is
// absent, as DescribeContainerInstances renders them.
var defaultReservedPorts = []string{"22", "2375", "2376", "51678", "51679"}

// newClient returns a client on a manual clock standing at t0 with a
// seeded random source, so every test replays.
func newClient(t *testing.T) (*stevedore.Client, *stevedore.ManualClock) {
	t.Helper()
	clock := stevedore.NewManualClock(t0)
	c, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(1, 2)})
	require.NoError(t, err)
	return c, clock
}

// fixture returns the bytes of testdata/name.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// whitepaperResources returns the registeredResources of the whitepaper's
// describe-container-instances output: CPU 1024, MEMORY 996 and the
// reserved PORTS 22, 2375, 2376, 51678.
func whitepaperResources(t *testing.T) []stevedore.Resource {
	t.Helper()
	var out stevedore.DescribeContainerInstancesOutput
	require.NoError(t, json.Unmarshal(fixture(t, "whitepaper-describe-container-instances.json"), &out))
	require.Len(t, out.ContainerInstances, 1)
	return out.ContainerInstances[0].RegisteredResources
}

// fixtureTaskDefinition decodes a register-task-definition fixture.
func fixtureTaskDefinition(t *testing.T, name string) *stevedore.RegisterTaskDefinitionInput {
	t.Helper()
	in, err := stevedore.DecodeRegisterTaskDefinitionInput(fixture(t, name))
	require.NoError(t, err)
	return in
}

// resources returns CPU and MEMORY and, if ports is not nil, PORTS.
func resources(cpu, memory int64, ports ...string) []stevedore.Resource {
	rs := []stevedore.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: memory},
	}
	if ports != nil {
		rs = append(rs, stevedore.Resource{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports})
	}
	return rs
}

// remaining returns the named remaining resource of ci.
func remaining(t *testing.T, ci stevedore.ContainerInstance, name string) stevedore.Resource {
	t.Helper()
	i := slices.IndexFunc(ci.RemainingResources, func(r stevedore.Resource) bool { return r.Name == name })
	require.GreaterOrEqualf(t, i, 0, "remainingResources has no %s: %+v", name, ci.RemainingResources)
	return ci.RemainingResources[i]
}

// identity returns an EC2 instance identity document.
func identity(instanceID, instanceType string) string {
	return `{"instanceId": "` + instanceID + `", "availabilityZone": "us-east-1a", "instanceType": "` + instanceType + `", "imageId": "ami-12345678"}`
}

// createCluster creates a cluster and fails the test if it cannot.
func createCluster(t *testing.T, c *stevedore.Client, name string) stevedore.Cluster {
	t.Helper()
	out, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: name})
	require.NoError(t, err)
	return out.Cluster
}

// registerInstance registers an instance with the given resources into
// cluster and returns it.
func registerInstance(t *testing.T, c *stevedore.Client, cluster string, rs []stevedore.Resource) stevedore.ContainerInstance {
	t.Helper()
	out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{Cluster: cluster, TotalResources: rs})
	require.NoError(t, err)
	return out.ContainerInstance
}

// taskDefinition returns a one-container task definition (bridge mode)
// with the given cpu, memory and port mappings.
func taskDefinition(family string, cpu, memory int, mappings ...taskdef.PortMapping) *stevedore.RegisterTaskDefinitionInput {
	return &stevedore.RegisterTaskDefinitionInput{TaskDefinition: taskdef.TaskDefinition{
		Family: family,
		ContainerDefinitions: []taskdef.ContainerDefinition{{
			Name: family, Image: "busybox", CPU: cpu, Memory: memory, PortMappings: mappings,
		}},
	}}
}

// registerTaskDefinition registers in and returns its ARN.
func registerTaskDefinition(t *testing.T, c *stevedore.Client, in *stevedore.RegisterTaskDefinitionInput) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(t.Context(), in)
	require.NoError(t, err)
	return out.TaskDefinition.TaskDefinitionArn
}

// runTask runs count tasks and requires them all to be placed.
func runTask(t *testing.T, c *stevedore.Client, cluster, taskDef string, count int) []stevedore.Task {
	t.Helper()
	out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: cluster, TaskDefinition: taskDef, Count: count})
	require.NoError(t, err)
	require.Emptyf(t, out.Failures, "RunTask %s count %d", taskDef, count)
	require.Len(t, out.Tasks, count)
	return out.Tasks
}

// describeInstance describes one container instance.
func describeInstance(t *testing.T, c *stevedore.Client, cluster, ref string) stevedore.ContainerInstance {
	t.Helper()
	out, err := c.DescribeContainerInstances(t.Context(), &stevedore.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: []string{ref}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	require.Len(t, out.ContainerInstances, 1)
	return out.ContainerInstances[0]
}

// describeTask describes one task.
func describeTask(t *testing.T, c *stevedore.Client, cluster, ref string) stevedore.Task {
	t.Helper()
	out, err := c.DescribeTasks(t.Context(), &stevedore.DescribeTasksInput{Cluster: cluster, Tasks: []string{ref}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	require.Len(t, out.Tasks, 1)
	return out.Tasks[0]
}

// describeCluster describes one cluster, INACTIVE ones included.
func describeCluster(t *testing.T, c *stevedore.Client, name string) stevedore.Cluster {
	t.Helper()
	out, err := c.DescribeClusters(t.Context(), &stevedore.DescribeClustersInput{Clusters: []string{name}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	require.Len(t, out.Clusters, 1)
	return out.Clusters[0]
}

// requireErrorAs requires err to be an E (checked with errors.AsType) and
// returns it.
func requireErrorAs[E error](t *testing.T, err error) E {
	t.Helper()
	require.Error(t, err)
	e, ok := errors.AsType[E](err)
	require.Truef(t, ok, "want a %T, got %T: %v", *new(E), err, err)
	return e
}

// state is everything a client shows through its read operations: the
// ACTIVE clusters, their container instances of every status, their tasks
// (desired RUNNING and STOPPED) and the task definitions. Two equal states
// mean nothing observable changed.
type state struct {
	Clusters        []stevedore.Cluster
	Instances       map[string][]stevedore.ContainerInstance
	Tasks           map[string][]stevedore.Task
	TaskDefinitions map[string][]string
}

// snapshot reads the whole state of c.
func snapshot(t *testing.T, c *stevedore.Client) state {
	t.Helper()
	ctx := t.Context()
	s := state{
		Instances:       map[string][]stevedore.ContainerInstance{},
		Tasks:           map[string][]stevedore.Task{},
		TaskDefinitions: map[string][]string{},
	}
	clusters, err := c.ListClusters(ctx, &stevedore.ListClustersInput{})
	require.NoError(t, err)
	if len(clusters.ClusterArns) > 0 {
		d, err := c.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: clusters.ClusterArns})
		require.NoError(t, err)
		s.Clusters = d.Clusters
	}
	for _, cl := range s.Clusters {
		var arns []string
		for _, status := range []string{"ACTIVE", "DRAINING", "INACTIVE"} {
			l, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: cl.ClusterArn, Status: status})
			require.NoError(t, err)
			arns = append(arns, l.ContainerInstanceArns...)
		}
		if len(arns) > 0 {
			d, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: cl.ClusterArn, ContainerInstances: arns})
			require.NoError(t, err)
			s.Instances[cl.ClusterName] = d.ContainerInstances
		}
		var tasks []string
		for _, desired := range []string{"RUNNING", "STOPPED"} {
			l, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: cl.ClusterArn, DesiredStatus: desired})
			require.NoError(t, err)
			tasks = append(tasks, l.TaskArns...)
		}
		if len(tasks) > 0 {
			d, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: cl.ClusterArn, Tasks: tasks})
			require.NoError(t, err)
			s.Tasks[cl.ClusterName] = d.Tasks
		}
	}
	for _, status := range []string{"ACTIVE", "INACTIVE"} {
		l, err := c.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{Status: status})
		require.NoError(t, err)
		s.TaskDefinitions[status] = l.TaskDefinitionArns
	}
	return s
}

// ports returns n distinct port numbers as strings, starting at from.
func ports(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(from + i)
	}
	return out
}
