package stevedore_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// busyCluster builds a cluster with something of everything: instances in
// two zones, one DRAINING and one deregistered, a GPU instance, standalone
// tasks running, pending and stopped, and a service in the middle of a
// deployment.
func busyCluster(t *testing.T) (*stevedore.Client, *stevedore.ManualClock) {
	t.Helper()
	ctx := t.Context()
	c, clock := newClient(t)
	createCluster(t, c, "app")
	var ids []string
	for i := range 5 {
		in := &stevedore.RegisterContainerInstanceInput{Cluster: "app",
			InstanceIdentityDocument: stevedore.IdentityDocument("i-00000000000000"+string(rune('a'+i)), "m5.large", []string{"us-east-1a", "us-east-1b"}[i%2]),
			TotalResources:           resources(2048, 4096)}
		if i == 4 {
			in.PlatformDevices = []stevedore.PlatformDevice{{Id: "GPU-0", Type: "GPU"}, {Id: "GPU-1", Type: "GPU"}}
		}
		out, err := c.RegisterContainerInstance(ctx, in)
		require.NoError(t, err)
		ids = append(ids, out.ContainerInstance.ContainerInstanceArn)
	}
	web := registerTaskDefinition(t, c, taskDefinition("web", 256, 512, taskdef.PortMapping{ContainerPort: 80, HostPort: 8080}))
	registerTaskDefinition(t, c, taskDefinition("api", 512, 512))
	api2 := registerTaskDefinition(t, c, taskDefinition("api", 512, 768))
	gpu := taskDefinition("ml", 128, 128)
	gpu.ContainerDefinitions[0].ResourceRequirements = []taskdef.ResourceRequirement{{Type: "GPU", Value: "1"}}
	ml := registerTaskDefinition(t, c, gpu)
	_, err := c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: ids[0], Tags: []stevedore.Tag{{Key: "team", Value: "edge"}}})
	require.NoError(t, err)

	runTask(t, c, "app", web, 3)
	_, err = c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app", TaskDefinition: ml, ContainerInstances: []string{ids[4]}})
	require.NoError(t, err)
	gone := runTask(t, c, "app", "api:1", 1)
	_, err = c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: gone[0].TaskArn, Reason: "done"})
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "api", TaskDefinition: "api:1", DesiredCount: new(4)})
	require.NoError(t, err)
	d := &stevedore.Driver{Client: c, Clock: clock, Cluster: "app"}
	_, err = d.RunUntilSteady(ctx, 10*time.Second, 20)
	require.NoError(t, err)
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "api", TaskDefinition: api2})
	require.NoError(t, err)
	_, err = d.Step(ctx, 10*time.Second) // the deployment is under way
	require.NoError(t, err)
	_, err = c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app", ContainerInstances: []string{ids[3]}, Status: "DRAINING"})
	require.NoError(t, err)
	runTask(t, c, "app", web, 1) // PENDING
	return c, clock
}

// described is everything a client describes, with the tasks in ARN order
// (an import numbers tasks afresh, so ListTasks' order may differ).
func described(t *testing.T, c *stevedore.Client) state {
	t.Helper()
	s := snapshot(t, c)
	for name, tasks := range s.Tasks {
		slices.SortFunc(tasks, func(a, b stevedore.Task) int { return strings.Compare(a.TaskArn, b.TaskArn) })
		s.Tasks[name] = tasks
	}
	return s
}

func describeServices(t *testing.T, c *stevedore.Client) []stevedore.Service {
	t.Helper()
	list, err := c.ListServices(t.Context(), &stevedore.ListServicesInput{Cluster: "app"})
	require.NoError(t, err)
	out, err := c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: "app", Services: list.ServiceArns, Include: []string{"TAGS"}})
	require.NoError(t, err)
	return out.Services
}

// TestImportRoundTrip: a client's snapshot, written as the AWS CLI's
// describe-* files and read back, imports into a client that describes
// the same, field for field, and runs on from there.
func TestImportRoundTrip(t *testing.T) {
	c, clock := busyCluster(t)
	snap, err := c.Snapshot(t.Context())
	require.NoError(t, err)
	files, err := snap.Files()
	require.NoError(t, err)
	fsys := fstest.MapFS{}
	for name, b := range files {
		fsys["snap/"+name] = &fstest.MapFile{Data: b}
	}
	assert.Contains(t, files, "describe-task-definition-api-2.json")
	read, err := stevedore.ReadSnapshot(fsys)
	require.NoError(t, err)
	got, rep, err := stevedore.Import(t.Context(), read, stevedore.Options{Clock: stevedore.NewManualClock(clock.Now())})
	require.NoError(t, err)
	assert.Empty(t, rep.Skipped)
	assert.Empty(t, rep.Drift, "remaining resources recomputed from the tasks are the described ones")
	assert.Empty(t, rep.Unmodelled)
	assert.Equal(t, 1, rep.Clusters)
	assert.Equal(t, 5, rep.ContainerInstances)
	assert.Equal(t, 4, rep.TaskDefinitions)

	assert.Equal(t, described(t, c), described(t, got))
	assert.Equal(t, describeServices(t, c), describeServices(t, got))
	tags, err := got.ListTagsForResource(t.Context(), &stevedore.ListTagsForResourceInput{ResourceArn: snap.ContainerInstances[0].ContainerInstanceArn})
	require.NoError(t, err)
	assert.Equal(t, []stevedore.Tag{{Key: "team", Value: "edge"}}, tags.Tags)

	// Both run on the same way.
	for _, cl := range []*stevedore.Client{c, got} {
		d := &stevedore.Driver{Client: cl, Clock: cl.Clock().(*stevedore.ManualClock), Cluster: "app"}
		_, err := d.RunUntilSteady(t.Context(), 10*time.Second, 50)
		require.NoError(t, err)
	}
	svcs := describeServices(t, got)
	require.Len(t, svcs, 1)
	assert.Len(t, svcs[0].Deployments, 1, "the imported deployment completed")
	assert.Equal(t, 4, svcs[0].RunningCount)
}

// TestImportDrift: what ECS described and Stevedore cannot hold is
// reported, not refused.
func TestImportDrift(t *testing.T) {
	c, _ := busyCluster(t)
	snap, err := c.Snapshot(t.Context())
	require.NoError(t, err)
	snap.ContainerInstances[0].RemainingResources[0].IntegerValue += 100 // CPU
	fargate := snap.Tasks[0]
	fargate.TaskArn, fargate.LaunchType, fargate.ContainerInstanceArn = fargate.TaskArn[:len(fargate.TaskArn)-1]+"0", "FARGATE", ""
	orphan := snap.Tasks[1]
	orphan.TaskArn = orphan.TaskArn[:len(orphan.TaskArn)-1] + "1"
	orphan.TaskDefinitionArn = arnPrefix + "task-definition/gone:3"
	snap.Tasks = append(snap.Tasks, fargate, orphan)
	_, rep, err := stevedore.Import(t.Context(), snap, stevedore.Options{})
	require.NoError(t, err)
	require.Len(t, rep.Drift, 1)
	assert.Equal(t, stevedore.ResourceDrift{ContainerInstanceArn: snap.ContainerInstances[0].ContainerInstanceArn, Resource: "CPU",
		Described: itoa(snap.ContainerInstances[0].RemainingResources[0].IntegerValue), Computed: itoa(snap.ContainerInstances[0].RemainingResources[0].IntegerValue - 100)}, rep.Drift[0])
	require.Len(t, rep.Skipped, 2)
	assert.Equal(t, "Fargate tasks are not modelled", rep.Skipped[0].Reason)
	assert.Contains(t, rep.Skipped[1].Reason, "task definition")
	assert.Equal(t, 1, rep.Unmodelled["tasks: FARGATE (not imported)"])
	assert.Contains(t, rep.String(), "drift (described vs computed) on 1 resources")
}

func TestImportRefuses(t *testing.T) {
	c, _ := busyCluster(t)
	snap, err := c.Snapshot(t.Context())
	require.NoError(t, err)
	other := *snap
	other.Clusters = slices.Clone(snap.Clusters)
	other.Clusters[0].ClusterArn = strings.Replace(other.Clusters[0].ClusterArn, "123456789012", "210987654321", 1)
	_, _, err = stevedore.Import(t.Context(), &other, stevedore.Options{})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.Contains(t, err.Error(), "one region and account")

	_, _, err = stevedore.Import(t.Context(), snap, stevedore.Options{Region: "eu-west-1"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
