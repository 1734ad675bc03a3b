package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// load is an instance as the test models it, read straight from
// DescribeContainerInstances.
type load struct {
	AZ          string
	Tasks       int
	CPU, Memory int64
}

// describeAll reads every ACTIVE instance of the cluster, by ARN.
func describeAll(t *testing.T, ecs *stevedore.Client) (map[string]load, map[string]string) {
	t.Helper()
	list, err := ecs.ListContainerInstances(t.Context(), &stevedore.ListContainerInstancesInput{Cluster: clusterName})
	require.NoError(t, err)
	require.Len(t, list.ContainerInstanceArns, len(hosts))
	out, err := ecs.DescribeContainerInstances(t.Context(), &stevedore.DescribeContainerInstancesInput{Cluster: clusterName, ContainerInstances: list.ContainerInstanceArns})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	loads, ec2 := map[string]load{}, map[string]string{}
	for _, ci := range out.ContainerInstances {
		var l load
		for _, a := range ci.Attributes {
			if a.Name == "ecs.availability-zone" {
				l.AZ = a.Value
			}
		}
		for _, r := range ci.RemainingResources {
			switch r.Name {
			case "CPU":
				l.CPU = r.IntegerValue
			case "MEMORY":
				l.Memory = r.IntegerValue
			}
		}
		l.Tasks = ci.RunningTasksCount + ci.PendingTasksCount
		loads[ci.ContainerInstanceArn] = l
		ec2[ci.ContainerInstanceArn] = ci.Ec2InstanceId
	}
	return loads, ec2
}

// checkRule replays the placements on the model: each must go to an
// instance of targetAZ with room for the task and, among those, one with
// the fewest tasks and then the most memory left. It returns the model
// after the placements.
func checkRule(t *testing.T, model map[string]load, placed []placement) map[string]load {
	t.Helper()
	for i, p := range placed {
		got, ok := model[p.instanceArn]
		require.Truef(t, ok, "task %d went to an unknown instance %s", i+1, p.instanceArn)
		assert.Equalf(t, targetAZ, got.AZ, "task %d: zone of %s", i+1, p.ec2)
		assert.GreaterOrEqualf(t, got.Memory, demand.memory, "task %d: memory left on %s", i+1, p.ec2)
		assert.GreaterOrEqualf(t, got.CPU, demand.cpu, "task %d: CPU left on %s", i+1, p.ec2)
		for arn, other := range model {
			if other.AZ != targetAZ || other.Memory < demand.memory || other.CPU < demand.cpu || arn == p.instanceArn {
				continue
			}
			assert.LessOrEqualf(t, got.Tasks, other.Tasks, "task %d: %s has %d tasks, a qualifying instance has %d", i+1, p.ec2, got.Tasks, other.Tasks)
			if got.Tasks == other.Tasks {
				assert.GreaterOrEqualf(t, got.Memory, other.Memory, "task %d: tie on %d tasks broken by the most memory left", i+1, got.Tasks)
			}
		}
		got.Tasks++
		got.CPU -= demand.cpu
		got.Memory -= demand.memory
		model[p.instanceArn] = got
	}
	return model
}

func TestSchedule(t *testing.T) {
	ctx := t.Context()
	ecs, err := newCluster(ctx)
	require.NoError(t, err)
	before, ec2 := describeAll(t, ecs)

	placed, err := schedule(ctx, ecs, io.Discard, tasksToStart)
	require.NoError(t, err)
	require.Len(t, placed, tasksToStart)

	var order []string
	for _, p := range placed {
		order = append(order, ec2[p.instanceArn])
	}
	// Worked by hand from the hosts: 1b-1 and 1b-3 start empty, 1b-2 has
	// two sidecars; 1b-3 is full after two workers, then 1b-2 joins.
	assert.Equal(t, []string{
		"i-1b000001", "i-1b000003", "i-1b000001", "i-1b000003",
		"i-1b000002", "i-1b000001", "i-1b000002", "i-1b000001",
	}, order)

	want := checkRule(t, before, placed)
	after, _ := describeAll(t, ecs)
	assert.Equal(t, want, after, "DescribeContainerInstances agrees with the replayed placements")

	arns := make([]string, len(placed))
	for i, p := range placed {
		arns[i] = p.taskArn
	}
	tasks, err := ecs.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: clusterName, Tasks: arns})
	require.NoError(t, err)
	require.Empty(t, tasks.Failures)
	require.Len(t, tasks.Tasks, len(placed))
	for i, task := range tasks.Tasks {
		assert.Equal(t, placed[i].instanceArn, task.ContainerInstanceArn)
		assert.Equal(t, startedBy, task.StartedBy)
		assert.Equal(t, "family:worker", task.Group)
		assert.True(t, strings.HasSuffix(task.TaskDefinitionArn, ":task-definition/worker:1"), task.TaskDefinitionArn)
	}
}

func TestScheduleUntilFull(t *testing.T) {
	ctx := t.Context()
	ecs, err := newCluster(ctx)
	require.NoError(t, err)
	before, _ := describeAll(t, ecs)
	var buf bytes.Buffer
	placed, err := schedule(ctx, ecs, &buf, 20)
	require.NoError(t, err)
	// 2048/512 + 3584/512 + 1024/512 workers fit in us-east-1b.
	assert.Len(t, placed, 4+7+2)
	assert.Contains(t, buf.String(), "task 14: no ACTIVE instance in us-east-1b has 256 CPU and 512 MiB left; stopping")
	after := checkRule(t, before, placed)
	for arn, l := range after {
		if l.AZ == targetAZ {
			assert.Less(t, l.Memory, demand.memory, "every instance of %s is full: %s", targetAZ, arn)
		} else {
			assert.Equal(t, before[arn], l, "instances of other zones are untouched")
		}
	}
}

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	out := buf.String()
	lines := regexp.MustCompile(`(?m)^task (\d+) -> (i-[0-9a-f]+): [0-9a-f]{32} \(candidates: .*\)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, lines, tasksToStart, out)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l[2], "i-1b"), "%s is in %s", l[0], targetAZ)
	}
	assert.Contains(t, out, "== started 8 of 8 tasks")
	// The describe output after scheduling.
	for _, row := range []string{
		"instance    zone        tasks CPU left MEMORY left",
		"i-1a000001  us-east-1a      0     2048        4096",
		"i-1a000002  us-east-1a      0     2048        4096",
		"i-1b000001  us-east-1b      4     1024           0",
		"i-1b000002  us-east-1b      4     1280        2560",
		"i-1b000003  us-east-1b      2     1536           0",
	} {
		assert.Contains(t, out, row+"\n")
	}
}
