package stevedore_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// zoneCounts counts a service's RUNNING tasks by Availability Zone.
func zoneCounts(t *testing.T, c *stevedore.Client, cluster, name string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tk := range serviceTasks(t, c, cluster, name) {
		if tk.LastStatus == "RUNNING" && tk.DesiredStatus == "RUNNING" {
			out[tk.AvailabilityZone]++
		}
	}
	return out
}

// TestAvailabilityZoneRebalancing: a steady service whose tasks are not
// spread evenly over the zones moves one task at a time — a start in the
// zone with the fewest, then a stop in the zone with the most — until the
// zones differ by at most one, with ECS's events.
func TestAvailabilityZoneRebalancing(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	registerAZInstance(t, c, "app", "i-a", "a", 4096, 8192)
	registerAZInstance(t, c, "app", "i-b", "b", 4096, 8192)
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	svc := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: td, DesiredCount: intOf(6)})
	assert.Equal(t, "ENABLED", svc.AvailabilityZoneRebalancing, "the default for a service that spreads over zones")
	settleServices(t, c, clock, "app")
	assert.Equal(t, map[string]int{"us-east-1a": 3, "us-east-1b": 3}, zoneCounts(t, c, "app", "web"))

	// A third zone: 3/3/0 is not balanced.
	registerAZInstance(t, c, "app", "i-c", "c", 4096, 8192)
	for range 8 {
		settleServices(t, c, clock, "app")
	}
	assert.Equal(t, map[string]int{"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}, zoneCounts(t, c, "app", "web"))
	s := describeService(t, c, "app", "web")
	assert.Equal(t, 6, s.RunningCount)
	msgs := messages(s)
	assert.Contains(t, msgs, "service (web) is not AZ balanced with 3 tasks in us-east-1a, 3 in us-east-1b, and 0 in us-east-1c. AZ Rebalancing in progress.")
	assert.Contains(t, msgs, "service (web) is AZ balanced with 2 tasks in us-east-1a, 2 tasks in us-east-1b, and 2 tasks in us-east-1c.")
	moves := 0
	for _, m := range msgs {
		if matched(`^web has started 1 tasks in us-east-1c to AZ Rebalance: \(task [0-9a-f]{32}\)\.$`, m) {
			moves++
		}
	}
	assert.Equal(t, 2, moves, "two moves")
	stops := 0
	for _, m := range msgs {
		if matched(`^web has stopped 1 running tasks in us-east-1[ab] due to AZ rebalancing: \(task [0-9a-f]{32}\)\.$`, m) {
			stops++
		}
	}
	assert.Equal(t, 2, stops)
	assert.Equal(t, "service (web) is AZ balanced with 2 tasks in us-east-1a, 2 tasks in us-east-1b, and 2 tasks in us-east-1c.", firstRebalancing(msgs), "the last rebalancing event")

	// Balanced: further steps move nothing.
	r := reconcile(t, c, clock, "app")
	assert.Empty(t, r.Started)
	assert.Empty(t, r.Stopped)
	_, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", AvailabilityZoneRebalancing: "DISABLED"})
	require.NoError(t, err)
	assert.Equal(t, "DISABLED", describeService(t, c, "app", "web").AvailabilityZoneRebalancing)
}

// TestAvailabilityZoneRebalancingOff: DISABLED, maximumPercent 100 and a
// zone without room leave the tasks where they are; ENABLED needs a
// placement that spreads over zones first.
func TestAvailabilityZoneRebalancingOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    stevedore.CreateServiceInput
		small bool // the new zone's instance has no room
		event string
	}{
		{name: "disabled", in: stevedore.CreateServiceInput{AvailabilityZoneRebalancing: "DISABLED"}},
		{name: "maximumPercent 100", in: stevedore.CreateServiceInput{DeploymentConfiguration: &stevedore.DeploymentConfiguration{MaximumPercent: intOf(100), MinimumHealthyPercent: intOf(50)}}},
		{name: "no room in the zone", small: true, event: "service (web) is unable to place a task in Availability Zone us-east-1c because no container instance met all of its requirements."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clock := newClient(t)
			createCluster(t, c, "app")
			registerAZInstance(t, c, "app", "i-a", "a", 4096, 8192)
			registerAZInstance(t, c, "app", "i-b", "b", 4096, 8192)
			in := tc.in
			in.Cluster, in.ServiceName, in.DesiredCount = "app", "web", intOf(4)
			in.TaskDefinition = registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
			createService(t, c, in)
			settleServices(t, c, clock, "app")
			cpu := int64(4096)
			if tc.small {
				cpu = 128
			}
			registerAZInstance(t, c, "app", "i-c", "c", cpu, 8192)
			for range 4 {
				settleServices(t, c, clock, "app")
			}
			assert.Equal(t, map[string]int{"us-east-1a": 2, "us-east-1b": 2}, zoneCounts(t, c, "app", "web"))
			if tc.event != "" {
				assert.Contains(t, messages(describeService(t, c, "app", "web")), tc.event)
			}
		})
	}

	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	td := registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	binpack := []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}
	_, err := c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "a", TaskDefinition: td, DesiredCount: intOf(1),
		PlacementStrategy: binpack, AvailabilityZoneRebalancing: "ENABLED"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.ErrorContains(t, err, "availabilityZoneRebalancing")
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "a", TaskDefinition: td, DesiredCount: intOf(1), AvailabilityZoneRebalancing: "SOMETIMES"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	s := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "b", TaskDefinition: td, DesiredCount: intOf(1), PlacementStrategy: binpack})
	assert.Equal(t, "DISABLED", s.AvailabilityZoneRebalancing, "binpack cannot rebalance: the default is DISABLED")
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "c", TaskDefinition: td, DesiredCount: intOf(1)})
	up, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "c", PlacementStrategy: binpack})
	require.NoError(t, err)
	assert.Equal(t, "DISABLED", up.Service.AvailabilityZoneRebalancing, "a placement that cannot rebalance turns it off")
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app", Service: "c", AvailabilityZoneRebalancing: "ENABLED"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	d := createService(t, c, stevedore.CreateServiceInput{Cluster: "app", ServiceName: "d", TaskDefinition: td, SchedulingStrategy: "DAEMON"})
	assert.Equal(t, "DISABLED", d.AvailabilityZoneRebalancing)
}

func matched(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// firstRebalancing returns the newest event about AZ balance.
func firstRebalancing(msgs []string) string {
	for _, m := range msgs {
		if strings.Contains(m, "AZ balanced") {
			return m
		}
	}
	return ""
}
