package stevedore

import (
	"context"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// Custom schedulers on a Client's cluster: the same read, decide, commit
// cycle RunTask and the service scheduler use, open to a program's own
// scheduler.Scheduler.

// TaskSpecInput is the input of [Client.TaskSpec].
type TaskSpecInput struct {
	// TaskDefinition is a family (latest ACTIVE revision),
	// family:revision or ARN. Required.
	TaskDefinition string
	// Group is the tasks' group; empty means "family:<family>".
	Group string
	// StartedBy tags the tasks: up to 128 letters, digits, '-', '/' and
	// '_'.
	StartedBy string
	// NetworkConfiguration is required for an awsvpc task definition.
	NetworkConfiguration *NetworkConfiguration
	// Overrides change the task definition as on RunTask.
	Overrides *TaskOverride
}

// TaskSpec returns the spec of the tasks a custom scheduler places with
// scheduler.Plan.Place: the task definition's demand (CPU, memory, host
// ports, GPUs, required attributes), its ARN, family, group and startedBy,
// checked as RunTask checks them. The spec is the caller's own copy. The task definition's
// memberOf constraints are the scheduler's to honour (see
// placement.ParseConstraint and placement.Constraints); Schedule's commit
// re-checks only the fit, as StartTask does. (Not an ECS operation.)
func (c *Client) TaskSpec(ctx context.Context, in *TaskSpecInput) (*cluster.TaskSpec, error) {
	if in == nil {
		in = &TaskSpecInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := checkStartedBy(in.StartedBy, 128); err != nil {
		return nil, err
	}
	spec, _, err := c.taskSpec(in.TaskDefinition, in.Group, in.StartedBy, in.NetworkConfiguration, in.Overrides)
	if err != nil {
		return nil, err
	}
	own := *spec // the default spec is shared with RunTask's calls
	return &own, nil
}

// ScheduleInput is the input of [Client.Schedule].
type ScheduleInput struct {
	Cluster string
	// Scheduler decides the round: it reads the cluster through the
	// consistent view it is given and writes its placements and stops into
	// the plan (see scheduler.Scheduler). Required.
	Scheduler scheduler.Scheduler
}

// ScheduleOutput is the output of [Client.Schedule]. A plan whose
// placements or stops name no instance or task is not an error: the commit
// refuses it as a conflict, decides again, and reports its placements as
// failures.
type ScheduleOutput struct {
	// Tasks are the tasks started, in the order the plan placed them.
	Tasks []Task
	// Stopped are the tasks stopped, in the plan's order.
	Stopped []Task
	// Failures are the plan's own failures and, when its commit kept
	// conflicting, its placements.
	Failures []Failure
	// Conflicts counts the commits refused because the cluster changed
	// between the decision and the commit; each was decided again.
	Conflicts int
}

// Schedule runs a custom scheduler on a cluster, as RunTask runs its own:
// in.Scheduler decides against a consistent view of the cluster; the plan
// is committed with every placement re-checked (does the task still fit on
// that instance, do its ports still not collide) and applied all or
// nothing; when the cluster changed meanwhile the scheduler decides again,
// up to Options.MaxCommitAttempts times, and after that the plan's
// placements are failures. The scheduler may be called more than once, so
// it must start each decision afresh. (Not an ECS operation: ECS runs
// custom schedulers outside, through StartTask; this is the same cycle
// without the round trips.)
func (c *Client) Schedule(ctx context.Context, in *ScheduleInput) (*ScheduleOutput, error) {
	if in == nil || in.Scheduler == nil {
		return nil, invalidParameter(nil, "scheduler is required.")
	}
	var out *ScheduleOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		res, err := scheduler.Execute(e.c, in.Scheduler, c.opts.MaxCommitAttempts)
		if err != nil {
			// The plan itself was wrong: a placement without a spec or a
			// demand. (A placement on no instance, or a stop of no task,
			// is refused like one whose instance or task went away: a
			// conflict, decided again, then a failure.)
			return invalidParameter(err, "the scheduler's plan cannot be applied: %v", err)
		}
		out = &ScheduleOutput{Tasks: c.tasks(res.Tasks), Stopped: c.tasks(res.Stopped), Failures: failures(res.Failures), Conflicts: res.Conflicts}
		return nil
	})
	return out, err
}

// Placer returns the placement engine of a cluster, for a custom
// scheduler run by [Client.Schedule] on the same cluster: called from its
// Decide, with the view Decide was given, it places one task exactly as
// RunTask does (every instance considered, strategies and constraints
// honoured, the plan's earlier placements counted through its Pending).
// Calling it with another cluster's view, or outside Decide, is wrong.
// (Not an ECS operation.)
func (c *Client) Placer(ctx context.Context, clusterRef string) (scheduler.Placer, error) {
	var out scheduler.Placer
	err := c.withCluster(ctx, clusterRef, func(e *clusterEntry) error {
		out = e.engine.Place
		return nil
	})
	return out, err
}
