package stevedore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func TestDriver(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
	registerAZInstance(t, c, "app01", "i-0000000b", "b", 2048, 2048)
	registerTaskDefinition(t, c, taskDefinition("web", 512, 512))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "api", TaskDefinition: "web", DesiredCount: new(3)})
	d := &stevedore.Driver{Client: c, Clock: clock, Cluster: "app01", StartDelay: 20 * time.Second}

	first, err := d.Step(ctx, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(10*time.Second), first.Time)
	assert.Len(t, first.Started, 3, "the service scheduler places the tasks")
	assert.Empty(t, first.Running, "nothing was PENDING yet")
	require.Len(t, first.Events, 1)
	assert.Contains(t, first.Events[0].Message, "has started 3 tasks")

	second, err := d.Step(ctx, 10*time.Second)
	require.NoError(t, err)
	assert.Empty(t, second.Running, "10 s of the 20 s start delay")
	third, err := d.Step(ctx, 10*time.Second)
	require.NoError(t, err)
	assert.Len(t, third.Running, 3, "after the start delay the agents report RUNNING")
	require.NotEmpty(t, third.Events)
	assert.Equal(t, "(service api) has reached a steady state.", third.Events[len(third.Events)-1].Message)

	steps, err := d.RunUntilSteady(ctx, 10*time.Second, 5)
	require.NoError(t, err)
	assert.Len(t, steps, 1, "already steady: one quiet step")

	// A step that moves nothing with nothing PENDING is steady even when
	// a placement fails: the failure is in the output.
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", DesiredCount: new(10)})
	require.NoError(t, err)
	steps, err = d.RunUntilSteady(ctx, 10*time.Second, 10)
	require.NoError(t, err)
	last := steps[len(steps)-1]
	assert.NotEmpty(t, last.Failures, "the tasks that fit nowhere are failures")

	// A limit too short to settle is ErrNotSteady.
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", DesiredCount: new(2)})
	require.NoError(t, err)
	d.StartDelay = time.Hour
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "slow", TaskDefinition: "web", DesiredCount: new(1)})
	_, err = d.RunUntilSteady(ctx, time.Second, 3)
	require.ErrorIs(t, err, stevedore.ErrNotSteady)

	_, err = (&stevedore.Driver{}).Step(ctx, time.Second)
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
}

// A service rolled out step by step: the driver moves the clock, lets the
// agents start the placed tasks after their start delay and has the
// service scheduler take its step.
func ExampleDriver() {
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	ecs, _ := stevedore.New(stevedore.Options{Clock: clock})
	for range 2 {
		_, _ = ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{TotalResources: stevedore.TotalResources(2048, 2048)})
	}
	td, _ := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 512, "memory": 512}]}`))
	_, _ = ecs.RegisterTaskDefinition(ctx, td)
	_, _ = ecs.CreateService(ctx, &stevedore.CreateServiceInput{ServiceName: "web", TaskDefinition: "web", DesiredCount: new(2)})
	d := &stevedore.Driver{Client: ecs, Clock: clock, StartDelay: 15 * time.Second}
	steps, err := d.RunUntilSteady(ctx, 10*time.Second, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range steps {
		for _, e := range s.Events {
			fmt.Println(s.Time.Format("15:04:05"), e.Message)
		}
	}
	// Output:
	// 09:00:10 (service web) has started 2 tasks: (task ec3ab0a33cf9bc5a7e11c78fcf2ff00a) (task 3ce3924a3e95549768fedeca6e49377c).
	// 09:00:30 (service web) has reached a steady state.
}
