package planner_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/planner"
)

func register(t require.TestingT, c *stevedore.Client, n int, zone string, cpu, mem int64) {
	for range n {
		_, err := c.RegisterContainerInstance(context.Background(), &stevedore.RegisterContainerInstanceInput{Cluster: "app",
			TotalResources: stevedore.TotalResources(cpu, mem), InstanceIdentityDocument: stevedore.IdentityDocument("", "x9.unknown", zone)})
		require.NoError(t, err)
	}
}

func service(t require.TestingT, c *stevedore.Client, name, td string, desired, maxPct int) {
	_, err := c.CreateService(context.Background(), &stevedore.CreateServiceInput{Cluster: "app", ServiceName: name, TaskDefinition: td,
		DesiredCount: &desired, DeploymentConfiguration: &stevedore.DeploymentConfiguration{MaximumPercent: &maxPct, MinimumHealthyPercent: new(100)}})
	require.NoError(t, err)
}

func settle(t require.TestingT, c *stevedore.Client) {
	ctx := context.Background()
	for range 6 {
		_, err := c.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "app"})
		require.NoError(t, err)
		_, err = c.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: "app"})
		require.NoError(t, err)
	}
}

func perWaveOK(t require.TestingT, plan *planner.RebalancePlan, limit map[string]int) {
	for w, wave := range plan.Waves {
		n := map[string]int{}
		for _, m := range wave {
			n[m.Group]++
			require.NotEqual(t, m.From, m.To)
		}
		for g, k := range n {
			if l, ok := limit[g]; ok {
				require.LessOrEqual(t, k, l, "wave %d moves %d tasks of %s at once", w, k, g)
			}
		}
	}
}

// TestRebalanceSpread: a service crowded into one zone is spread over the
// two, in waves that stay within maximumPercent; the original Client is
// not changed, and Diff gives the calls.
func TestRebalanceSpread(t *testing.T) {
	ctx := t.Context()
	c := batchClient(t, 0, 0, 0)
	register(t, c, 3, "us-east-1a", 4096, 8192)
	define(t, c, "web", 256, 512)
	service(t, c, "web", "web", 6, 150)
	settle(t, c)
	register(t, c, 3, "us-east-1b", 4096, 8192)

	plan, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: planner.Spread})
	require.NoError(t, err)
	assert.Equal(t, 6, plan.Before.ZoneSkew)
	assert.LessOrEqual(t, plan.After.ZoneSkew, 1)
	moves := 0
	for _, w := range plan.Waves {
		moves += len(w)
	}
	assert.Equal(t, 3, moves, "6/0 to 3/3")
	perWaveOK(t, plan, map[string]int{"service:web": 3})
	require.Len(t, plan.Waves, 1, "three moves at once: 150 % of 6 is 9")

	// The original still has all six in us-east-1a.
	again, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: planner.Spread, MaxMoves: 1})
	require.NoError(t, err)
	assert.Equal(t, 6, again.Before.ZoneSkew, "planning changes nothing")
	require.Len(t, again.Waves, 1)
	assert.Len(t, again.Waves[0], 1, "MaxMoves")
	changes, err := stevedore.Diff(ctx, c, plan.Fork)
	require.NoError(t, err)
	assert.NotEmpty(t, changes.Calls)
}

// TestRebalanceConsolidate: tasks spread thin over four instances end on
// one, the others free; a 100/100 service is held.
func TestRebalanceConsolidate(t *testing.T) {
	ctx := t.Context()
	c := batchClient(t, 0, 0, 0)
	register(t, c, 4, "us-east-1a", 4096, 8192)
	define(t, c, "api", 512, 1024)
	define(t, c, "pinned", 128, 128)
	service(t, c, "api", "api", 4, 200)
	service(t, c, "pinned", "pinned", 2, 100)
	settle(t, c)
	plan, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: planner.Consolidate})
	require.NoError(t, err)
	assert.Equal(t, 4, plan.Before.Busy)
	t.Logf("busy %d → %d, held %d, waves %d", plan.Before.Busy, plan.After.Busy, plan.Held, len(plan.Waves))
	assert.Less(t, plan.After.Busy, plan.Before.Busy, "instances freed")
	for _, w := range plan.Waves {
		for _, m := range w {
			assert.NotEqual(t, "service:pinned", m.Group, "100/100 allows no move")
		}
	}
	perWaveOK(t, plan, map[string]int{"service:api": 4})
}

// TestRebalanceProperty: on random clusters, every wave stays within its
// services' bounds, the fork is not overcommitted, and the goal's metric
// never gets worse.
func TestRebalanceProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		c := batchClient(t, 0, 0, 0)
		for z, zone := range []string{"us-east-1a", "us-east-1b"} {
			register(t, c, rapid.IntRange(z, 4).Draw(t, "instances"), zone, 4096, 8192)
		}
		define(t, c, "a", 256, 512)
		define(t, c, "b", 1024, 2048)
		limit := map[string]int{}
		movable := map[string]bool{}
		for i := range rapid.IntRange(1, 3).Draw(t, "services") {
			desired := rapid.IntRange(0, 8).Draw(t, "desired")
			maxPct := rapid.SampledFrom([]int{100, 150, 200}).Draw(t, "max")
			name := fmt.Sprintf("s%d", i)
			service(t, c, name, rapid.SampledFrom([]string{"a", "b"}).Draw(t, "td"), desired, maxPct)
			limit["service:"+name] = max(desired*maxPct/100-desired, 1)
			movable["service:"+name] = desired*maxPct/100-desired > 0
		}
		settle(t, c)
		register(t, c, rapid.IntRange(0, 3).Draw(t, "later"), "us-east-1b", 4096, 8192)
		goal := rapid.SampledFrom([]planner.RebalanceGoal{planner.Spread, planner.Consolidate}).Draw(t, "goal")
		maxMoves := rapid.IntRange(0, 20).Draw(t, "maxMoves")
		plan, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: goal, MaxMoves: maxMoves})
		require.NoError(t, err)
		perWaveOK(t, plan, limit)
		switch goal {
		case planner.Spread:
			require.LessOrEqual(t, plan.After.ZoneSkew, plan.Before.ZoneSkew)
		default:
			require.LessOrEqual(t, plan.After.Busy, plan.Before.Busy)
		}
		goalReached(t, c, plan, goal, maxMoves, movable)
		list, err := plan.Fork.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app"})
		require.NoError(t, err)
		if len(list.ContainerInstanceArns) == 0 {
			return
		}
		d, err := plan.Fork.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "app", ContainerInstances: list.ContainerInstanceArns})
		require.NoError(t, err)
		for _, ci := range d.ContainerInstances {
			for _, name := range []string{"CPU", "MEMORY"} {
				r, _ := ci.Remaining(name)
				require.GreaterOrEqual(t, r.IntegerValue, int64(0), "no overcommit on the fork")
			}
		}
	})
}

// TestRebalanceReachesGoalWithRoom: with room everywhere and every
// service free to move, Spread holds nothing back and reaches skew ≤ 1.
func TestRebalanceReachesGoalWithRoom(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		c := batchClient(t, 0, 0, 0)
		register(t, c, rapid.IntRange(1, 4).Draw(t, "a"), "us-east-1a", 65536, 131072)
		define(t, c, "a", 256, 512)
		movable := map[string]bool{}
		for i := range rapid.IntRange(1, 3).Draw(t, "services") {
			name := fmt.Sprintf("s%d", i)
			service(t, c, name, "a", rapid.IntRange(1, 12).Draw(t, "desired"), 200)
			movable["service:"+name] = true
		}
		settle(t, c)
		register(t, c, rapid.IntRange(1, 4).Draw(t, "b"), "us-east-1b", 65536, 131072)
		register(t, c, rapid.IntRange(0, 2).Draw(t, "more a"), "us-east-1a", 65536, 131072)
		plan, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: planner.Spread})
		require.NoError(t, err)
		require.Zero(t, plan.Held, "nothing held with room everywhere")
		goalReached(t, c, plan, planner.Spread, 1000, movable)
	})
}

// goalReached checks, from the fork's own description, that a plan that
// neither ran out of moves nor held anything back reached its goal. Spread:
// each service's tasks differ by at most one between the zones with ACTIVE
// instances, and between the ACTIVE instances of each zone. Consolidate:
// no busy instance holds a single task of a movable service that another
// busy instance has room for (the tasks the plan started do not move
// again, and are not counted).
func goalReached(t require.TestingT, original *stevedore.Client, plan *planner.RebalancePlan, goal planner.RebalanceGoal, maxMoves int, movable map[string]bool) {
	if maxMoves == 0 {
		maxMoves = 1000
	}
	moves := 0
	for _, w := range plan.Waves {
		moves += len(w)
	}
	if moves >= maxMoves || goal == planner.Spread && plan.Held > 0 {
		return
	}
	ctx := context.Background()
	before, err := original.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app"})
	require.NoError(t, err)
	started := map[string]bool{}
	tasks := describeAll(t, plan.Fork)
	for _, tk := range tasks {
		started[tk.TaskArn] = !slices.Contains(before.TaskArns, tk.TaskArn)
	}
	list, err := plan.Fork.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app"})
	require.NoError(t, err)
	if len(list.ContainerInstanceArns) == 0 {
		return
	}
	d, err := plan.Fork.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "app", ContainerInstances: list.ContainerInstanceArns})
	require.NoError(t, err)
	zone := map[string]string{}
	byZone := map[string][]string{}
	room := map[string][2]int64{}
	for _, ci := range d.ContainerInstances {
		if ci.Status != "ACTIVE" {
			continue
		}
		for _, a := range ci.Attributes {
			if a.Name == "ecs.availability-zone" {
				zone[ci.ContainerInstanceArn] = a.Value
			}
		}
		z := zone[ci.ContainerInstanceArn]
		byZone[z] = append(byZone[z], ci.ContainerInstanceArn)
		cpu, _ := ci.Remaining("CPU")
		mem, _ := ci.Remaining("MEMORY")
		room[ci.ContainerInstanceArn] = [2]int64{cpu.IntegerValue, mem.IntegerValue}
	}
	onInstance := map[string][]stevedore.Task{}
	perZone := map[string]map[string]int{}
	perInstance := map[string]map[string]int{}
	for _, tk := range tasks {
		if tk.LastStatus == "STOPPED" || tk.DesiredStatus == "STOPPED" || tk.ContainerInstanceArn == "" {
			continue
		}
		onInstance[tk.ContainerInstanceArn] = append(onInstance[tk.ContainerInstanceArn], tk)
		if perZone[tk.Group] == nil {
			perZone[tk.Group], perInstance[tk.Group] = map[string]int{}, map[string]int{}
		}
		perZone[tk.Group][zone[tk.ContainerInstanceArn]]++
		perInstance[tk.Group][tk.ContainerInstanceArn]++
	}
	spread := func(count map[string]int, keys []string) int {
		lo, hi := -1, 0
		for _, k := range keys {
			if lo < 0 || count[k] < lo {
				lo = count[k]
			}
			hi = max(hi, count[k])
		}
		return hi - lo
	}
	switch goal {
	case planner.Spread:
		zones := slices.Collect(maps.Keys(byZone))
		for g := range perZone {
			require.LessOrEqual(t, spread(perZone[g], zones), 1, "%s over the zones %v", g, perZone[g])
			for z, arns := range byZone {
				require.LessOrEqual(t, spread(perInstance[g], arns), 1, "%s over the instances of %s", g, z)
			}
		}
	default:
		for arn, ts := range onInstance {
			if len(ts) != 1 || started[ts[0].TaskArn] || !movable[ts[0].Group] || zone[arn] == "" && room[arn] == [2]int64{} {
				continue
			}
			cpu, _ := strconv.ParseInt(ts[0].Cpu, 10, 64)
			mem, _ := strconv.ParseInt(ts[0].Memory, 10, 64)
			for other, r := range room {
				if other != arn && len(onInstance[other]) > 0 {
					require.False(t, r[0] >= cpu && r[1] >= mem, "%s's one task fits on busy %s: not consolidated", arn, other)
				}
			}
		}
	}
}

func describeAll(t require.TestingT, c *stevedore.Client) []stevedore.Task {
	ctx := context.Background()
	var arns []string
	for _, status := range []string{"RUNNING", "PENDING", "STOPPED"} {
		l, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app", DesiredStatus: status})
		require.NoError(t, err)
		arns = append(arns, l.TaskArns...)
	}
	slices.Sort(arns)
	arns = slices.Compact(arns)
	var out []stevedore.Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		d, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "app", Tasks: arns[:n]})
		require.NoError(t, err)
		out = append(out, d.Tasks...)
		arns = arns[n:]
	}
	return out
}

// BenchmarkPlanRebalance plans the consolidation of a 5,000-instance
// cluster whose 2,500-task service is spread thin, up to 500 moves.
func BenchmarkPlanRebalance(b *testing.B) {
	c := batchClient(b, 0, 0, 0)
	for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		register(b, c, 5000/3+1, z, 4096, 8192)
	}
	define(b, c, "web", 256, 512)
	service(b, c, "web", "web", 2500, 200)
	ctx := context.Background()
	for range 200 { // the service scheduler starts them in rounds
		if _, err := c.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "app"}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: "app"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		plan, err := planner.PlanRebalance(ctx, c, &planner.RebalanceInput{Cluster: "app", Goal: planner.Consolidate, MaxMoves: 500})
		if err != nil || plan.After.Busy >= plan.Before.Busy {
			b.Fatalf("%v: busy %d → %d", err, plan.Before.Busy, plan.After.Busy)
		}
	}
}
