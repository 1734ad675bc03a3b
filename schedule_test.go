package stevedore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// mostMemory places n tasks, each on the ACTIVE instance with the most
// memory left after the round's earlier tasks.
type mostMemory struct {
	spec *cluster.TaskSpec
	n    int
}

func (s mostMemory) Decide(v *cluster.View, plan *scheduler.Plan) {
	for range s.n {
		var best *cluster.Instance
		var bestLeft int64
		for in := range v.Instances() {
			_, mem, _ := plan.Pending.Resources(in)
			if left := in.RemainingMemory() - mem; in.Status() == cluster.InstanceActive && (best == nil || left > bestLeft) {
				best, bestLeft = in, left
			}
		}
		if best == nil {
			plan.Fail("", cluster.ReasonMissing, "no instance")
			return
		}
		plan.Place(best, s.spec)
	}
}

// A custom scheduler on the Client's cluster: its plan is committed with
// every placement re-checked, so the task that no longer fits is a failure.
func ExampleClient_Schedule() {
	ctx := context.Background()
	ecs := exampleClient()
	exampleWalkthrough(ctx, ecs) // two instances of 1024 CPU, 996 MiB
	spec, err := ecs.TaskSpec(ctx, &stevedore.TaskSpecInput{TaskDefinition: "whitepaper", StartedBy: "my-scheduler"})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := ecs.Schedule(ctx, &stevedore.ScheduleInput{Cluster: "Walkthrough", Scheduler: mostMemory{spec: spec, n: 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Tasks), "started by", out.Tasks[0].StartedBy, "on", out.Tasks[0].ContainerInstanceArn != out.Tasks[1].ContainerInstanceArn, "different instances")
	// Output: 2 started by my-scheduler on true different instances
}

func TestSchedule(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app01")
	a := registerInstance(t, c, "app01", resources(1024, 1024))
	registerTaskDefinition(t, c, taskDefinition("web", 600, 128))
	spec, err := c.TaskSpec(t.Context(), &stevedore.TaskSpecInput{TaskDefinition: "web"})
	require.NoError(t, err)

	t.Run("the commit re-checks the fit", func(t *testing.T) {
		out, err := c.Schedule(t.Context(), &stevedore.ScheduleInput{Cluster: "app01", Scheduler: scheduler.Func(func(v *cluster.View, plan *scheduler.Plan) {
			in, _ := v.Instance(a.ContainerInstanceArn)
			plan.Place(in, spec)
			plan.Place(in, spec) // 1,200 CPU on 1,024: the commit refuses the plan
		})})
		require.NoError(t, err)
		assert.Empty(t, out.Tasks, "all or nothing")
		require.NotEmpty(t, out.Failures)
		assert.Equal(t, "RESOURCE:CPU", out.Failures[0].Reason)
		assert.Positive(t, out.Conflicts)
	})
	// A plan naming no instance or no task is refused like one whose
	// instance or task went away meanwhile: failures, nothing changed.
	for name, decide := range map[string]scheduler.Func{
		"a placement without an instance": func(v *cluster.View, plan *scheduler.Plan) { plan.Place(nil, spec) },
		"a stop of no task":               func(v *cluster.View, plan *scheduler.Plan) { plan.Stop(nil, "", cluster.StopUserInitiated) },
	} {
		t.Run(name, func(t *testing.T) {
			before := snapshot(t, c)
			out, err := c.Schedule(t.Context(), &stevedore.ScheduleInput{Cluster: "app01", Scheduler: decide})
			require.NoError(t, err)
			assert.Empty(t, out.Tasks)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"no scheduler", func() error {
			_, err := c.Schedule(t.Context(), &stevedore.ScheduleInput{Cluster: "app01"})
			return err
		}},
		{"unknown cluster", func() error {
			_, err := c.Schedule(t.Context(), &stevedore.ScheduleInput{Cluster: "nope", Scheduler: mostMemory{spec: spec, n: 1}})
			return err
		}},
		{"a placement without a spec", func() error {
			_, err := c.Schedule(t.Context(), &stevedore.ScheduleInput{Cluster: "app01", Scheduler: scheduler.Func(func(v *cluster.View, plan *scheduler.Plan) {
				in, _ := v.Instance(a.ContainerInstanceArn)
				plan.Place(in, nil)
			})})
			return err
		}},
		{"unknown task definition", func() error {
			_, err := c.TaskSpec(t.Context(), &stevedore.TaskSpecInput{TaskDefinition: "nope"})
			return err
		}},
		{"bad startedBy", func() error {
			_, err := c.TaskSpec(t.Context(), &stevedore.TaskSpecInput{TaskDefinition: "web", StartedBy: "no spaces"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			err := tc.call()
			var apiErr stevedore.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}
