package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// placementCluster has three instances with 1, 2 and 4 GiB of memory, in
// AZs a, b and a.
func placementCluster(t *testing.T) (*stevedore.Client, []stevedore.ContainerInstance) {
	t.Helper()
	c, _ := newClient(t)
	createCluster(t, c, "p")
	var cis []stevedore.ContainerInstance
	for i, mem := range []int64{1024, 2048, 4096} {
		out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
			Cluster:        "p",
			TotalResources: resources(4096, mem),
			Attributes:     []stevedore.Attribute{{Name: "ecs.availability-zone", Value: []string{"us-east-1a", "us-east-1b", "us-east-1a"}[i]}},
		})
		require.NoError(t, err)
		cis = append(cis, out.ContainerInstance)
	}
	registerTaskDefinition(t, c, taskDefinition("web", 256, 512))
	return c, cis
}

func TestRunTaskPlacementStrategy(t *testing.T) {
	tests := []struct {
		name       string
		strategies []stevedore.PlacementStrategy
		count      int
		want       []int // instance index of each task
	}{
		{"binpack memory fills the smallest instance first", []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}, 3, []int{0, 0, 1}},
		{"spread instanceId puts one task on each", []stevedore.PlacementStrategy{{Type: "spread", Field: "instanceId"}}, 3, nil},
		{"spread AZ then binpack memory", []stevedore.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}, {Type: "binpack", Field: "memory"}}, 2, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cis := placementCluster(t)
			out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "p", TaskDefinition: "web", Count: tt.count, PlacementStrategy: tt.strategies})
			require.NoError(t, err)
			require.Empty(t, out.Failures)
			require.Len(t, out.Tasks, tt.count)
			got := map[string]int{}
			for _, task := range out.Tasks {
				got[task.ContainerInstanceArn]++
			}
			if tt.want == nil {
				assert.Len(t, got, tt.count, "every task on its own instance")
				return
			}
			for i, task := range out.Tasks {
				assert.Equal(t, cis[tt.want[i]].ContainerInstanceArn, task.ContainerInstanceArn, "task %d", i)
			}
		})
	}
}

func TestRunTaskPlacementConstraints(t *testing.T) {
	c, cis := placementCluster(t)
	out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{
		Cluster: "p", TaskDefinition: "web", Count: 4,
		PlacementConstraints: []stevedore.PlacementConstraint{{Type: "distinctInstance"}},
	})
	require.NoError(t, err)
	assert.Len(t, out.Tasks, 3, "one task per instance")
	require.Len(t, out.Failures, 1)
	assert.Equal(t, "DistinctInstance placement constraint unsatisfied.", out.Failures[0].Reason)
	assert.Equal(t, map[stevedore.FailureReason]int{stevedore.ReasonDistinctInstance: 3}, out.Failures[0].Checks)

	out, err = c.RunTask(t.Context(), &stevedore.RunTaskInput{
		Cluster: "p", TaskDefinition: "web", Count: 2,
		PlacementConstraints: []stevedore.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.availability-zone == us-east-1b"}},
	})
	require.NoError(t, err)
	require.Len(t, out.Tasks, 2)
	for _, task := range out.Tasks {
		assert.Equal(t, cis[1].ContainerInstanceArn, task.ContainerInstanceArn)
	}
}

func TestRunTaskTaskDefinitionConstraint(t *testing.T) {
	c, cis := placementCluster(t)
	in := taskDefinition("pinned", 128, 128)
	in.PlacementConstraints = []taskdef.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.availability-zone == us-east-1b"}}
	registerTaskDefinition(t, c, in)
	for range 3 {
		tasks := runTask(t, c, "p", "pinned", 1)
		assert.Equal(t, cis[1].ContainerInstanceArn, tasks[0].ContainerInstanceArn, "the task definition's memberOf applies to RunTask's random spread")
	}
}

func TestRunTaskPlacementInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   stevedore.RunTaskInput
	}{
		{"six strategies", stevedore.RunTaskInput{PlacementStrategy: make([]stevedore.PlacementStrategy, 6)}},
		{"eleven constraints", stevedore.RunTaskInput{PlacementConstraints: make([]stevedore.PlacementConstraint, 11)}},
		{"binpack on ports", stevedore.RunTaskInput{PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "ports"}}}},
		{"unknown strategy", stevedore.RunTaskInput{PlacementStrategy: []stevedore.PlacementStrategy{{Type: "roundRobin"}}}},
		{"distinctInstance with expression", stevedore.RunTaskInput{PlacementConstraints: []stevedore.PlacementConstraint{{Type: "distinctInstance", Expression: "x"}}}},
		{"bad expression", stevedore.RunTaskInput{PlacementConstraints: []stevedore.PlacementConstraint{{Type: "memberOf", Expression: "attribute:x =="}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := placementCluster(t)
			before := snapshot(t, c)
			in := tt.in
			in.Cluster, in.TaskDefinition = "p", "web"
			_, err := c.RunTask(t.Context(), &in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}
