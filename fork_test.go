package stevedore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
)

// apply makes the calls of ch on c, as the AWS CLI would on a real
// cluster.
func apply(t *testing.T, c *stevedore.Client, ch *stevedore.Changes) {
	t.Helper()
	ctx := t.Context()
	for _, call := range ch.Calls {
		var err error
		decode := func(v any) { require.NoError(t, json.Unmarshal(call.Input, v), call.String()) }
		switch call.Command {
		case "start-task":
			var in stevedore.StartTaskInput
			decode(&in)
			var out *stevedore.StartTaskOutput
			out, err = c.StartTask(ctx, &in)
			if err == nil {
				require.Empty(t, out.Failures, call.String())
			}
		case "stop-task":
			var in stevedore.StopTaskInput
			decode(&in)
			_, err = c.StopTask(ctx, &in)
		case "update-service":
			in, derr := stevedore.DecodeUpdateServiceInput(call.Input)
			require.NoError(t, derr)
			_, err = c.UpdateService(ctx, in)
		case "update-container-instances-state":
			var in stevedore.UpdateContainerInstancesStateInput
			decode(&in)
			_, err = c.UpdateContainerInstancesState(ctx, &in)
		default:
			t.Fatalf("unexpected call %s", call)
		}
		require.NoError(t, err, call.String())
	}
}

// TestForkAndDiff: a custom scheduler's decision made on a fork leaves
// the original alone; Diff gives the calls that make it real, and making
// them on the original gives the fork's placements.
func TestForkAndDiff(t *testing.T) {
	ctx := t.Context()
	c, _ := busyCluster(t)
	before := described(t, c)
	fork, err := c.Fork(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, described(t, fork), "a fork starts equal")

	snap, err := fork.Snapshot(ctx)
	require.NoError(t, err)
	var standalone, target string
	for _, tk := range snap.Tasks {
		if tk.Group == "family:web" && tk.LastStatus == "RUNNING" && standalone == "" {
			standalone = tk.TaskArn
		}
	}
	for _, in := range snap.ContainerInstances {
		if in.Status == "ACTIVE" && target == "" && in.Ec2InstanceId != snap.ContainerInstances[4].Ec2InstanceId {
			target = in.ContainerInstanceArn
		}
	}
	_, err = fork.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: standalone, Reason: "rebalanced"})
	require.NoError(t, err)
	_, err = fork.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app", TaskDefinition: "api:2", ContainerInstances: []string{target}, StartedBy: "rebalancer"})
	require.NoError(t, err)
	_, err = fork.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "api", DesiredCount: new(2)})
	require.NoError(t, err)
	_, err = fork.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app", ContainerInstances: []string{snap.ContainerInstances[0].ContainerInstanceArn}, Status: "DRAINING"})
	require.NoError(t, err)
	d := &stevedore.Driver{Client: fork, Clock: fork.Clock().(*stevedore.ManualClock), Cluster: "app"}
	_, err = d.Step(ctx, time.Second)
	require.NoError(t, err)
	assert.Equal(t, before, described(t, c), "nothing done to the fork shows in the original")

	ch, err := stevedore.Diff(ctx, c, fork)
	require.NoError(t, err)
	var cmds []string
	for _, call := range ch.Calls {
		cmds = append(cmds, call.Command)
	}
	assert.Equal(t, []string{"update-service", "stop-task", "start-task", "update-container-instances-state"}, cmds)
	assert.JSONEq(t, `{"cluster":"app","service":"api","desiredCount":2}`, string(ch.Calls[0].Input))
	assert.JSONEq(t, `{"cluster":"app","task":"`+standalone+`","reason":"rebalanced"}`, string(ch.Calls[1].Input))
	assert.JSONEq(t, `{"cluster":"app","taskDefinition":"`+arnPrefix+`task-definition/api:2","containerInstances":["`+target+`"],"startedBy":"rebalancer"}`, string(ch.Calls[2].Input))
	assert.Contains(t, ch.Script(), "aws ecs stop-task --cli-input-json '{")

	apply(t, c, ch)
	after, err := c.Snapshot(ctx)
	require.NoError(t, err)
	forked, err := fork.Snapshot(ctx)
	require.NoError(t, err)
	placed := func(s *stevedore.Snapshot) map[string]int { // live standalone tasks by instance and definition
		m := map[string]int{}
		for _, tk := range s.Tasks {
			if tk.LastStatus != "STOPPED" && tk.Group != "service:api" {
				m[tk.ContainerInstanceArn+" "+tk.TaskDefinitionArn]++
			}
		}
		return m
	}
	assert.Equal(t, placed(forked), placed(after), "the calls reproduce the fork's standalone placements")
	statuses := func(s *stevedore.Snapshot) []string {
		var out []string
		for _, in := range s.ContainerInstances {
			out = append(out, in.Status)
		}
		return out
	}
	assert.Equal(t, statuses(forked), statuses(after))
	assert.Equal(t, forked.Services[0].DesiredCount, after.Services[0].DesiredCount)
}

// TestForkIsolation: whatever runs on a fork never changes the original,
// and what runs on the original later never shows in the fork.
func TestForkIsolation(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		c, _ := busyCluster(t)
		fork, err := c.Fork(ctx)
		require.NoError(rt, err)
		act := func(cl *stevedore.Client, label string) {
			snap, err := cl.Snapshot(ctx)
			require.NoError(rt, err)
			switch rapid.IntRange(0, 4).Draw(rt, label+" op") {
			case 0:
				_, _ = cl.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: "api", Count: rapid.IntRange(1, 5).Draw(rt, "count")})
			case 1:
				tk := snap.Tasks[rapid.IntRange(0, len(snap.Tasks)-1).Draw(rt, "task")]
				_, _ = cl.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: tk.TaskArn})
			case 2:
				in := snap.ContainerInstances[rapid.IntRange(0, len(snap.ContainerInstances)-1).Draw(rt, "instance")]
				_, _ = cl.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app", ContainerInstances: []string{in.ContainerInstanceArn}, Status: rapid.SampledFrom([]string{"ACTIVE", "DRAINING"}).Draw(rt, "status")})
			case 3:
				_, _ = cl.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "api", DesiredCount: new(rapid.IntRange(0, 8).Draw(rt, "desired"))})
			case 4:
				d := &stevedore.Driver{Client: cl, Clock: cl.Clock().(*stevedore.ManualClock), Cluster: "app", StartDelay: time.Second}
				_, _ = d.Step(ctx, time.Duration(rapid.IntRange(1, 30).Draw(rt, "seconds"))*time.Second)
			}
		}
		for range rapid.IntRange(1, 8).Draw(rt, "steps") {
			origBefore, forkBefore := described(t, c), described(t, fork)
			if rapid.Bool().Draw(rt, "on the fork") {
				act(fork, "fork")
				require.Equal(rt, origBefore, described(t, c), "the fork's change showed in the original")
			} else {
				act(c, "original")
				require.Equal(rt, forkBefore, described(t, fork), "the original's change showed in the fork")
			}
		}
	})
}
