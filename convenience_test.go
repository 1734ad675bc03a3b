package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func TestRunTaskAll(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	for _, tc := range []struct {
		name  string
		count int
		want  int
	}{{"0 means 1", 0, 1}, {"one call", 7, 7}, {"three calls", 23, 23}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.RunTaskAll(t.Context(), &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: tc.count})
			require.NoError(t, err)
			assert.Len(t, out.Tasks, tc.want)
			assert.Empty(t, out.Failures)
			for _, task := range out.Tasks {
				_, err := c.StopTask(t.Context(), &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn})
				require.NoError(t, err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		in   stevedore.RunTaskInput
	}{
		{"negative count", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: -1}},
		{"count over the bound", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web", Count: stevedore.MaxTasksPerRunTaskAll + 1}},
		{"unknown task definition", stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "nope", Count: 30}},
		{"unknown cluster", stevedore.RunTaskInput{Cluster: "nope", TaskDefinition: "web", Count: 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			out, err := c.RunTaskAll(t.Context(), &tc.in)
			require.Error(t, err)
			assert.Nil(t, out)
			var apiErr stevedore.APIError
			assert.ErrorAs(t, err, &apiErr, "an input error is ECS's exception")
			assert.Equal(t, before, snapshot(t, c), "an input error changes nothing")
		})
	}
}

func TestTaskAvailabilityZone(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	_, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{Cluster: "app01",
		InstanceIdentityDocument: stevedore.IdentityDocument("i-1", "t3.small", "eu-west-1c"), TotalResources: stevedore.TotalResources(1024, 1024)})
	require.NoError(t, err)
	registerInstance(t, c, "app01", resources(1024, 1024)) // no zone
	registerTaskDefinition(t, c, taskDefinition("web", 600, 128))
	tasks := runTask(t, c, "app01", "web", 2)
	zones := map[string]bool{}
	for _, task := range tasks {
		zones[task.AvailabilityZone] = true
		assert.Equal(t, task.AvailabilityZone, describeTask(t, c, "app01", task.TaskArn).AvailabilityZone)
	}
	assert.Equal(t, map[string]bool{"eu-west-1c": true, "": true}, zones, "the zone of each task's instance, none where the instance has none")
}
