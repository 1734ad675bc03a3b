package stevedore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
)

// capacityMachine drives a cluster of two capacity providers with managed
// scaling (one with termination protection) through RunTask, StopTask,
// a service's desired count and capacity provider strategy, capacity and
// scheduler steps, time and the groups' faults (slow and failing
// launches).
type capacityMachine struct {
	c        *stevedore.Client
	clock    *stevedore.ManualClock
	ctx      context.Context
	shapes   map[string][2]int64 // task definition ARN → cpu, memory
	tasks    []string
	instance map[string]string // container instance ARN → its provider
}

var capacityGroups = []struct {
	provider, group string
	cpu, mem        int64
	protect         bool
}{
	{"od", "asg-od", 2048, 4096, true},
	{"spot", "asg-spot", 4096, 8192, false},
}

func newCapacityMachine(t *rapid.T) *capacityMachine {
	clock := stevedore.NewManualClock(t0)
	c, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 3)})
	require.NoError(t, err)
	m := &capacityMachine{c: c, clock: clock, ctx: context.Background(), shapes: map[string][2]int64{}, instance: map[string]string{}}
	_, err = c.CreateCluster(m.ctx, &stevedore.CreateClusterInput{ClusterName: "app"})
	require.NoError(t, err)
	var names []string
	for _, g := range capacityGroups {
		_, err := c.CreateAutoScalingGroup(m.ctx, &stevedore.CreateAutoScalingGroupInput{AutoScalingGroupName: g.group, Cluster: "app",
			TotalResources: resources(g.cpu, g.mem), MaxSize: 6, AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
			NewInstancesProtectedFromScaleIn: g.protect, LaunchDelay: time.Duration(rapid.IntRange(0, 3).Draw(t, "delay")) * time.Minute})
		require.NoError(t, err)
		asgp := stevedore.AutoScalingGroupProvider{AutoScalingGroupArn: g.group, ManagedScaling: &stevedore.ManagedScaling{
			Status: "ENABLED", TargetCapacity: rapid.IntRange(50, 100).Draw(t, "target"),
			MaximumScalingStepSize: rapid.IntRange(1, 4).Draw(t, "maxStep"),
		}}
		if g.protect {
			asgp.ManagedTerminationProtection = "ENABLED"
		}
		_, err = c.CreateCapacityProvider(m.ctx, &stevedore.CreateCapacityProviderInput{Name: g.provider, AutoScalingGroupProvider: &asgp})
		require.NoError(t, err)
		names = append(names, g.provider)
	}
	_, err = c.PutClusterCapacityProviders(m.ctx, &stevedore.PutClusterCapacityProvidersInput{Cluster: "app", CapacityProviders: names})
	require.NoError(t, err)
	web := registerTaskDefinitionT(t, c, taskDefinition("web", 512, 1024))
	m.shapes[web] = [2]int64{512, 1024}
	_, err = c.CreateService(m.ctx, &stevedore.CreateServiceInput{Cluster: "app", ServiceName: "web", TaskDefinition: web,
		DesiredCount: new(0), CapacityProviderStrategy: drawStrategy(t)})
	require.NoError(t, err)
	for i, shape := range [][2]int64{{512, 1024}, {1024, 2048}, {2048, 2048}, {4096, 4096}} {
		arn := registerTaskDefinitionT(t, c, taskDefinition(fmt.Sprintf("job%d", i), int(shape[0]), int(shape[1])))
		m.shapes[arn] = shape
	}
	return m
}

func registerTaskDefinitionT(t *rapid.T, c *stevedore.Client, in *stevedore.RegisterTaskDefinitionInput) string {
	out, err := c.RegisterTaskDefinition(context.Background(), in)
	require.NoError(t, err)
	return out.TaskDefinition.TaskDefinitionArn
}

func drawStrategy(t *rapid.T) []stevedore.CapacityProviderStrategyItem {
	return []stevedore.CapacityProviderStrategyItem{
		{CapacityProvider: "od", Base: rapid.IntRange(0, 2).Draw(t, "base"), Weight: rapid.IntRange(0, 3).Draw(t, "odWeight")},
		{CapacityProvider: "spot", Weight: rapid.IntRange(1, 3).Draw(t, "spotWeight")},
	}
}

// ScaleService sets the service's desired count and, at times, a new
// strategy.
func (m *capacityMachine) ScaleService(t *rapid.T) {
	in := &stevedore.UpdateServiceInput{Cluster: "app", Service: "web", DesiredCount: new(rapid.IntRange(0, 8).Draw(t, "desired"))}
	if rapid.Bool().Draw(t, "newStrategy") {
		in.CapacityProviderStrategy = drawStrategy(t)
		in.ForceNewDeployment = rapid.Bool().Draw(t, "force")
	}
	_, err := m.c.UpdateService(m.ctx, in)
	require.NoError(t, err)
}

func (m *capacityMachine) RunTask(t *rapid.T) {
	td := rapid.SampledFrom(slices.Sorted(maps.Keys(m.shapes))).Draw(t, "taskDefinition")
	strategy := drawStrategy(t)
	count := rapid.IntRange(1, 10).Draw(t, "count")
	out, err := m.c.RunTask(m.ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: td, Count: count, CapacityProviderStrategy: strategy})
	require.NoError(t, err)
	require.Equal(t, count, len(out.Tasks)+len(out.Failures), "every task is started, waiting or failed")
	for _, tk := range out.Tasks {
		require.Contains(t, []string{"PENDING", "PROVISIONING"}, tk.LastStatus)
		require.Equal(t, tk.LastStatus == "PROVISIONING", tk.ContainerInstanceArn == "")
		m.tasks = append(m.tasks, tk.TaskArn)
	}
}

func (m *capacityMachine) StopTask(t *rapid.T) {
	if len(m.tasks) == 0 {
		return
	}
	arn := rapid.SampledFrom(m.tasks).Draw(t, "task")
	_, err := m.c.StopTask(m.ctx, &stevedore.StopTaskInput{Cluster: "app", Task: arn})
	var gone *stevedore.InvalidParameterException
	if err != nil && !errors.As(err, &gone) { // gone after its retention
		t.Fatalf("StopTask: %v", err)
	}
}

func (m *capacityMachine) Step(t *rapid.T) {
	m.clock.Advance(time.Duration(rapid.IntRange(0, 20).Draw(t, "minutes")) * time.Minute)
	out, err := m.c.ManageCapacity(m.ctx, &stevedore.ManageCapacityInput{Cluster: "app"})
	require.NoError(t, err)
	for _, tk := range out.Placed {
		require.Equal(t, "PENDING", tk.LastStatus)
	}
	for _, tk := range out.Failed {
		require.Equal(t, "TaskFailedToStart", tk.StopCode)
	}
	_, err = m.c.Reconcile(m.ctx, &stevedore.ReconcileInput{Cluster: "app"})
	require.NoError(t, err)
	if _, err := m.c.Agents(m.ctx, "app", m.clock.Now(), 0); err != nil {
		require.NoError(t, err)
	}
}

func (m *capacityMachine) Fault(t *rapid.T) {
	g := rapid.SampledFrom([]string{"asg-od", "asg-spot"}).Draw(t, "group")
	fail := rapid.Bool().Draw(t, "failLaunches")
	delay := time.Duration(rapid.IntRange(0, 10).Draw(t, "launchDelay")) * time.Minute
	_, err := m.c.UpdateAutoScalingGroup(m.ctx, &stevedore.UpdateAutoScalingGroupInput{AutoScalingGroupName: g, FailLaunches: &fail, LaunchDelay: &delay})
	require.NoError(t, err)
}

// Check: no instance overcommitted, a task runs only on its provider's
// instances, PROVISIONING tasks hold nothing and wait at most
// ProvisioningTimeout (as of the last step), groups within their sizes.
func (m *capacityMachine) Check(t *rapid.T) {
	groups, err := m.c.DescribeAutoScalingGroups(m.ctx, nil)
	require.NoError(t, err)
	for _, g := range groups.AutoScalingGroups {
		require.GreaterOrEqual(t, g.DesiredCapacity, g.MinSize)
		require.LessOrEqual(t, g.DesiredCapacity, g.MaxSize)
		require.LessOrEqual(t, len(g.Instances), g.MaxSize+g.MaxSize, "draining instances come on top of the desired ones only")
	}
	list, err := m.c.ListContainerInstances(m.ctx, &stevedore.ListContainerInstancesInput{Cluster: "app"})
	require.NoError(t, err)
	m.followService(t)
	used := map[string][2]int64{}
	if len(m.tasks) > 0 {
		for i := 0; i < len(m.tasks); i += 100 {
			d, err := m.c.DescribeTasks(m.ctx, &stevedore.DescribeTasksInput{Cluster: "app", Tasks: m.tasks[i:min(i+100, len(m.tasks))]})
			require.NoError(t, err)
			for _, tk := range d.Tasks {
				switch tk.LastStatus {
				case "STOPPED":
				case "PROVISIONING":
					require.Empty(t, tk.ContainerInstanceArn)
				default:
					s := m.shapes[tk.TaskDefinitionArn]
					u := used[tk.ContainerInstanceArn]
					used[tk.ContainerInstanceArn] = [2]int64{u[0] + s[0], u[1] + s[1]}
					ci := describeInstanceR(t, m.c, tk.ContainerInstanceArn)
					require.Equal(t, tk.CapacityProviderName, ci.CapacityProviderName, "a task runs on its provider's instance")
				}
			}
		}
	}
	for _, arn := range list.ContainerInstanceArns {
		ci := describeInstanceR(t, m.c, arn)
		reg := [2]int64{}
		rem := [2]int64{}
		for i, name := range []string{"CPU", "MEMORY"} {
			r, _ := ci.Registered(name)
			reg[i] = r.IntegerValue
			x, _ := ci.Remaining(name)
			rem[i] = x.IntegerValue
			require.GreaterOrEqual(t, rem[i], int64(0), "no overcommit")
		}
		u := used[arn]
		require.Equal(t, reg[0]-u[0], rem[0], "%s: remaining CPU = registered − demands", arn)
		require.Equal(t, reg[1]-u[1], rem[1], "%s: remaining MEMORY = registered − demands", arn)
	}
}

// followService adds the service's tasks not yet known to m.tasks.
func (m *capacityMachine) followService(t *rapid.T) {
	l, err := m.c.ListTasks(m.ctx, &stevedore.ListTasksInput{Cluster: "app", ServiceName: "web"})
	require.NoError(t, err)
	for _, arn := range l.TaskArns {
		if !slices.Contains(m.tasks, arn) {
			m.tasks = append(m.tasks, arn)
		}
	}
}

func describeInstanceR(t *rapid.T, c *stevedore.Client, arn string) stevedore.ContainerInstance {
	out, err := c.DescribeContainerInstances(context.Background(), &stevedore.DescribeContainerInstancesInput{Cluster: "app", ContainerInstances: []string{arn}})
	require.NoError(t, err)
	require.Len(t, out.ContainerInstances, 1)
	return out.ContainerInstances[0]
}

// TestCapacityStateMachine runs the capacity machine, then stops the
// RunTask tasks that run and lets the groups launch freely: every
// PROVISIONING task is then placed or failed within the timeout, and the
// service reaches its desired count, each task on its provider.
func TestCapacityStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newCapacityMachine(t)
		t.Repeat(rapid.StateMachineActions(m))
		for _, g := range []string{"asg-od", "asg-spot"} {
			no, zero := false, time.Duration(0)
			_, err := m.c.UpdateAutoScalingGroup(m.ctx, &stevedore.UpdateAutoScalingGroupInput{AutoScalingGroupName: g, FailLaunches: &no, LaunchDelay: &zero})
			require.NoError(t, err)
		}
		m.settle(t)
		m.Check(t)
		for chunk := range slices.Chunk(m.tasks, 100) {
			d, err := m.c.DescribeTasks(m.ctx, &stevedore.DescribeTasksInput{Cluster: "app", Tasks: chunk})
			require.NoError(t, err)
			for _, tk := range d.Tasks {
				require.NotEqual(t, "PROVISIONING", tk.LastStatus, "%s still waits after the groups could launch", tk.TaskArn)
				if tk.Group != "service:web" && tk.LastStatus != "STOPPED" { // room for the service
					_, err := m.c.StopTask(m.ctx, &stevedore.StopTaskInput{Cluster: "app", Task: tk.TaskArn})
					require.NoError(t, err)
				}
			}
		}
		m.settle(t)
		m.Check(t)
		svc, err := m.c.DescribeServices(m.ctx, &stevedore.DescribeServicesInput{Cluster: "app", Services: []string{"web"}})
		require.NoError(t, err)
		// The last step may have begun to replace a task on an instance
		// that drains to scale in: count those on ACTIVE instances.
		l, err := m.c.ListTasks(m.ctx, &stevedore.ListTasksInput{Cluster: "app", ServiceName: "web"})
		require.NoError(t, err)
		running := 0
		for chunk := range slices.Chunk(l.TaskArns, 100) {
			d, err := m.c.DescribeTasks(m.ctx, &stevedore.DescribeTasksInput{Cluster: "app", Tasks: chunk})
			require.NoError(t, err)
			for _, tk := range d.Tasks {
				if tk.LastStatus == "RUNNING" && describeInstanceR(t, m.c, tk.ContainerInstanceArn).Status == "ACTIVE" {
					running++
				}
			}
		}
		require.Equal(t, svc.Services[0].DesiredCount, running, "the service reaches its desired count on ACTIVE instances: %+v", svc.Services[0].Events)
	})
}

// settle runs the capacity manager, the scheduler and the agents a minute
// apart for longer than ProvisioningTimeout (and MaxBackoff).
func (m *capacityMachine) settle(t *rapid.T) {
	for range int(stevedore.ProvisioningTimeout/time.Minute) + 2 {
		m.clock.Advance(time.Minute)
		_, err := m.c.ManageCapacity(m.ctx, &stevedore.ManageCapacityInput{Cluster: "app"})
		require.NoError(t, err)
		_, err = m.c.Reconcile(m.ctx, &stevedore.ReconcileInput{Cluster: "app"})
		require.NoError(t, err)
		_, err = m.c.Agents(m.ctx, "app", m.clock.Now(), 0)
		require.NoError(t, err)
	}
	m.followService(t)
}
