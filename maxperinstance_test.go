package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// TestMaxPerInstance: Stevedore's maxPerInstance constraint caps the tasks
// of a group on one instance, on RunTask and on a service, and is checked
// as ECS checks its constraints.
func TestMaxPerInstance(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	for _, az := range []string{"a", "b"} {
		registerAZInstance(t, c, "app", "i-"+az, az, 8192, 16384)
	}
	td := registerTaskDefinition(t, c, taskDefinition("web", 64, 64))
	two := []stevedore.PlacementConstraint{{Type: "maxPerInstance", Expression: "2"}}

	out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: 6, PlacementConstraints: two})
	require.NoError(t, err)
	assert.Len(t, out.Tasks, 4, "two per instance")
	require.Len(t, out.Failures, 2)
	assert.Equal(t, "MaxPerInstance placement constraint unsatisfied.", out.Failures[0].Reason)
	assert.Equal(t, map[stevedore.FailureReason]int{stevedore.ReasonMaxPerInstance: 2}, out.Failures[0].Checks)
	perInstance := map[string]int{}
	for _, tk := range out.Tasks {
		perInstance[tk.ContainerInstanceArn]++
	}
	for arn, n := range perInstance {
		assert.Equal(t, 2, n, arn)
	}

	// A service: desired 5 on two instances with at most 2 each places 4.
	svc := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "api", TaskDefinition: td, DesiredCount: intOf(5), PlacementConstraints: two})
	assert.Equal(t, two, svc.PlacementConstraints)
	settleServices(t, c, clock, "app")
	s := describeService(t, c, "app", "api")
	assert.Equal(t, 4, s.RunningCount)
	assert.Contains(t, messages(s)[0], `encountered error "MaxPerInstance placement constraint unsatisfied."`)
	registerAZInstance(t, c, "app", "i-c", "c", 8192, 16384)
	settleServices(t, c, clock, "app")
	assert.Equal(t, 5, describeService(t, c, "app", "api").RunningCount, "a new instance takes the fifth")

	for _, bad := range []string{"", "0", "-1", "two", "1048577"} {
		_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, PlacementConstraints: []stevedore.PlacementConstraint{{Type: "maxPerInstance", Expression: bad}}})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
		assert.ErrorContains(t, err, "maxPerInstance")
	}
	// Not in a task definition: only memberOf is.
	in := taskDefinition("capped", 64, 64)
	in.TaskDefinition.PlacementConstraints = []taskdef.PlacementConstraint{{Type: "maxPerInstance", Expression: "2"}}
	_, err = c.RegisterTaskDefinition(ctx, in)
	require.Error(t, err)
	assert.ErrorContains(t, err, "Valid value: memberOf")
}
