package stevedore

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Snapshot describes everything the Client holds, as [ReadSnapshot] would
// read it from the AWS CLI's describe-* output: its ACTIVE clusters with
// their tags, every container instance, every retained task (STOPPED ones
// included), every service that is not INACTIVE, and every task
// definition revision. [Import] of it gives a Client in the same state.
// The Snapshot shares no memory with the Client.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s := &Snapshot{}
	for _, arn := range c.registry.List("", taskdef.StatusAll, false) {
		e, err := c.registry.Resolve(arn)
		if err != nil {
			continue // deleted meanwhile
		}
		s.TaskDefinitions = append(s.TaskDefinitions, e.Definition())
	}
	c.mu.RLock()
	entries := make([]*clusterEntry, 0, len(c.clusters))
	for _, e := range c.clusters {
		if e.active {
			entries = append(entries, e)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(entries, func(a, b *clusterEntry) int { return compareStrings(a.c.Name(), b.c.Name()) })
	c.tagsMu.Lock()
	tags := make(map[string][]Tag, len(c.tags))
	for k, v := range c.tags {
		tags[k] = slices.Clone(v)
	}
	c.tagsMu.Unlock()
	for _, e := range entries {
		d := e.describe()
		s.Clusters = append(s.Clusters, SnapshotCluster{
			ClusterArn: d.ClusterArn, ClusterName: d.ClusterName, Status: d.Status,
			RegisteredContainerInstancesCount: d.RegisteredContainerInstancesCount,
			RunningTasksCount:                 d.RunningTasksCount, PendingTasksCount: d.PendingTasksCount,
			ActiveServicesCount: d.ActiveServicesCount, Tags: d.Tags,
		})
		e.c.Read(func(v *cluster.View) {
			for in := range v.Instances() {
				ci := containerInstance(in.Info())
				s.ContainerInstances = append(s.ContainerInstances, SnapshotContainerInstance{
					ContainerInstanceArn: ci.ContainerInstanceArn, Ec2InstanceId: ci.Ec2InstanceId,
					Version: ci.Version, VersionInfo: ci.VersionInfo,
					RemainingResources: ci.RemainingResources, RegisteredResources: ci.RegisteredResources,
					Status: ci.Status, AgentConnected: ci.AgentConnected,
					RunningTasksCount: ci.RunningTasksCount, PendingTasksCount: ci.PendingTasksCount,
					Attributes: ci.Attributes, RegisteredAt: Timestamp{ci.RegisteredAt},
					Tags: tags[ci.ContainerInstanceArn],
				})
			}
			for t := range v.Tasks() {
				tk := c.task(v.TaskInfo(t))
				s.Tasks = append(s.Tasks, SnapshotTask{
					TaskArn: tk.TaskArn, ClusterArn: tk.ClusterArn, TaskDefinitionArn: tk.TaskDefinitionArn,
					ContainerInstanceArn: tk.ContainerInstanceArn, LastStatus: tk.LastStatus, DesiredStatus: tk.DesiredStatus,
					Cpu: tk.Cpu, Memory: tk.Memory, Group: tk.Group, StartedBy: tk.StartedBy, LaunchType: tk.LaunchType,
					Version: tk.Version, AvailabilityZone: tk.AvailabilityZone, GpuIds: tk.GpuIds,
					CreatedAt: Timestamp{tk.CreatedAt}, StartedAt: Timestamp{tk.StartedAt},
					StoppingAt: Timestamp{tk.StoppingAt}, StoppedAt: Timestamp{tk.StoppedAt},
					StoppedReason: tk.StoppedReason, StopCode: tk.StopCode, Tags: tags[tk.TaskArn],
					Overrides: tk.Overrides,
				})
			}
		})
		for _, name := range e.services.Names(true) {
			svc, ok := e.services.Describe(name)
			if !ok || svc.Status == "INACTIVE" {
				continue
			}
			s.Services = append(s.Services, snapshotService(e.describeService(svc, true)))
		}
	}
	return s, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// snapshotService is a described service in the snapshot's shape.
func snapshotService(d Service) SnapshotService {
	out := SnapshotService{
		ServiceArn: d.ServiceArn, ServiceName: d.ServiceName, ClusterArn: d.ClusterArn,
		LoadBalancers: d.LoadBalancers, Status: d.Status, DesiredCount: d.DesiredCount,
		RunningCount: d.RunningCount, PendingCount: d.PendingCount, LaunchType: d.LaunchType,
		TaskDefinition: d.TaskDefinition, DeploymentConfiguration: d.DeploymentConfiguration,
		RoleArn: d.RoleArn, CreatedAt: Timestamp{d.CreatedAt},
		PlacementConstraints: d.PlacementConstraints, PlacementStrategy: d.PlacementStrategy,
		SchedulingStrategy: d.SchedulingStrategy, NetworkConfiguration: d.NetworkConfiguration,
		AvailabilityZoneRebalancing:   d.AvailabilityZoneRebalancing,
		HealthCheckGracePeriodSeconds: d.HealthCheckGracePeriodSeconds, Tags: d.Tags,
	}
	for _, dep := range d.Deployments {
		out.Deployments = append(out.Deployments, SnapshotDeployment{
			Id: dep.Id, Status: dep.Status, TaskDefinition: dep.TaskDefinition, DesiredCount: dep.DesiredCount,
			PendingCount: dep.PendingCount, RunningCount: dep.RunningCount, FailedTasks: dep.FailedTasks,
			CreatedAt: Timestamp{dep.CreatedAt}, UpdatedAt: Timestamp{dep.UpdatedAt}, LaunchType: dep.LaunchType,
			RolloutState: dep.RolloutState, RolloutStateReason: dep.RolloutStateReason,
		})
	}
	for _, ev := range d.Events {
		out.Events = append(out.Events, SnapshotEvent{Id: ev.Id, CreatedAt: Timestamp{ev.CreatedAt}, Message: ev.Message})
	}
	return out
}

// Fork returns a copy of the Client that shares nothing with it: RunTask,
// UpdateService, draining, Reconcile and a [Driver] on the fork leave the
// original as it was, and the original's later changes do not show in the
// fork. It is [Import] of [Client.Snapshot], so every id and ARN is the
// original's; [Diff] of the two gives the calls that would make the fork's
// changes real.
//
// The fork has the original's options, except its clock and random
// source: a [*ManualClock] is copied (standing where the original's
// stands), any other clock is shared, and the fork's random source is
// seeded from the original's, so that a seeded run forks the same way
// every time. Cost: linear in the tasks and instances, see the package
// benchmarks.
func (c *Client) Fork(ctx context.Context) (*Client, error) {
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	opts := c.opts
	if mc, ok := c.clock.(*ManualClock); ok {
		opts.Clock = NewManualClock(mc.Now())
	}
	r := c.childRand()
	opts.Rand = rand.NewPCG(r.Uint64(), r.Uint64())
	fork, _, err := Import(ctx, snap, opts)
	return fork, err
}

// Clock returns the Client's clock: Options.Clock, or the wall clock.
func (c *Client) Clock() Clock { return c.clock }
