package stevedore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
)

// Agents reports, as every cluster's ECS agents would, the PENDING tasks
// that have been PENDING for at least delay at now as RUNNING, and returns
// their ARNs in creation order (not an ECS operation: a simulation's
// agents). A task stopped meanwhile is skipped. Cost: a pass over the
// cluster's tasks, and a describe of the PENDING ones.
func (c *Client) Agents(ctx context.Context, cluster string, now time.Time, delay time.Duration) ([]string, error) {
	var arns []string
	for token := ""; ; {
		// PENDING lists the tasks whose last status is PENDING (see
		// ListTasks): only they can start.
		out, err := c.ListTasks(ctx, &ListTasksInput{Cluster: cluster, DesiredStatus: "PENDING", NextToken: token})
		if err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	started := []string{}
	for chunk := range slices.Chunk(arns, 100) {
		d, err := c.DescribeTasks(ctx, &DescribeTasksInput{Cluster: cluster, Tasks: chunk})
		if err != nil {
			return nil, err
		}
		for _, t := range d.Tasks {
			if t.LastStatus != "PENDING" || now.Sub(t.CreatedAt) < delay {
				continue
			}
			_, err := c.SubmitTaskStateChange(ctx, &SubmitTaskStateChangeInput{Cluster: cluster, Task: t.TaskArn, Status: "RUNNING"})
			if errors.As(err, new(*InvalidParameterException)) {
				continue // stopped meanwhile
			}
			if err != nil {
				return nil, err
			}
			started = append(started, t.TaskArn)
		}
	}
	return started, nil
}

// Driver runs a simulated cluster forward: it moves the clock, lets the
// agents report the tasks that have started and has the service scheduler
// take a step, so that programs do not each write that loop (not an ECS
// operation). Its fields are set before the first Step.
type Driver struct {
	// Client holds the cluster; Clock is its Options.Clock.
	Client *Client
	Clock  *ManualClock
	// Cluster is a name or ARN; empty means "default".
	Cluster string
	// StartDelay is how long a placed task stays PENDING before its
	// agent reports it RUNNING; 0 means at the next step.
	StartDelay time.Duration
	// OnStep, if not nil, is called by RunUntilSteady after each step
	// with the step's number (from 1) and output: a progress report.
	OnStep func(n int, out *StepOutput)
}

// StepOutput is what one [Driver.Step] did.
type StepOutput struct {
	// Time is the clock's time after the step.
	Time time.Time `json:"time"`
	// Capacity is what capacity management did first (see
	// Client.ManageCapacity).
	Capacity *ManageCapacityOutput `json:"capacity"`
	// Running are the tasks the agents reported RUNNING.
	Running []string `json:"running"`
	// Started, Stopped and Failures are the service scheduler's step
	// (see Client.Reconcile).
	Started  []Task    `json:"started"`
	Stopped  []Task    `json:"stopped"`
	Failures []Failure `json:"failures"`
	// Events are the service events the step recorded, oldest first.
	Events []ServiceEvent `json:"events"`
}

// quiet reports whether the step moved nothing.
func (o *StepOutput) quiet() bool {
	n := len(o.Running) + len(o.Started) + len(o.Stopped)
	if c := o.Capacity; c != nil {
		n += len(c.Launched) + len(c.Registered) + len(c.Draining) + len(c.Terminated) + len(c.Placed) + len(c.Failed)
	}
	return n == 0
}

// Step advances the clock by dt, runs a step of capacity management
// (Auto Scaling groups, managed scaling, PROVISIONING tasks), has the
// agents report every task that has been PENDING for StartDelay as
// RUNNING, then runs one reconcile step of the cluster's services.
func (d *Driver) Step(ctx context.Context, dt time.Duration) (*StepOutput, error) {
	if d.Client == nil || d.Clock == nil {
		return nil, invalidParameter(nil, "Driver needs its Client and Clock.")
	}
	before, err := d.newestEvents(ctx)
	if err != nil {
		return nil, err
	}
	now := d.Clock.Advance(dt)
	capacity, err := d.Client.ManageCapacity(ctx, &ManageCapacityInput{Cluster: d.Cluster})
	if err != nil {
		return nil, err
	}
	running, err := d.Client.Agents(ctx, d.Cluster, now, d.StartDelay)
	if err != nil {
		return nil, err
	}
	rec, err := d.Client.Reconcile(ctx, &ReconcileInput{Cluster: d.Cluster})
	if err != nil {
		return nil, err
	}
	out := &StepOutput{Time: now, Capacity: capacity, Running: running, Started: rec.Started, Stopped: rec.Stopped, Failures: rec.Failures, Events: []ServiceEvent{}}
	if out.Events, err = d.newEvents(ctx, before); err != nil {
		return nil, err
	}
	return out, nil
}

// ErrNotSteady is what [Driver.RunUntilSteady] returns when the cluster
// did not settle within its limit.
var ErrNotSteady = errors.New("stevedore: the cluster did not reach a steady state")

// RunUntilSteady steps by dt until a step moves nothing (no task reported
// RUNNING, started or stopped, no instance launched, registered, drained
// or terminated) and no task is PENDING or PROVISIONING, at most limit
// steps, and returns every step's output in order. When the limit is
// reached first it returns them with an error wrapping [ErrNotSteady].
func (d *Driver) RunUntilSteady(ctx context.Context, dt time.Duration, limit int) ([]*StepOutput, error) {
	var steps []*StepOutput
	for range limit {
		out, err := d.Step(ctx, dt)
		if err != nil {
			return steps, err
		}
		steps = append(steps, out)
		if d.OnStep != nil {
			d.OnStep(len(steps), out)
		}
		if out.quiet() {
			pending, err := d.pending(ctx)
			if err != nil {
				return steps, err
			}
			if !pending {
				return steps, nil
			}
		}
	}
	return steps, fmt.Errorf("%w in %d steps of %s", ErrNotSteady, limit, dt)
}

func (d *Driver) pending(ctx context.Context) (bool, error) {
	out, err := d.Client.DescribeClusters(ctx, &DescribeClustersInput{Clusters: []string{d.Client.clusterName(d.Cluster)}})
	if err != nil {
		return false, err
	}
	if len(out.Clusters) == 0 {
		return false, nil
	}
	if out.Clusters[0].PendingTasksCount > 0 {
		return true, nil
	}
	// Tasks waiting in PROVISIONING are not steady either.
	waiting := false
	err = d.Client.withCluster(ctx, d.Cluster, func(e *clusterEntry) error {
		e.c.Read(func(v *cluster.View) { waiting = v.ProvisioningCount() > 0 })
		return nil
	})
	return waiting, err
}

// newestEvents returns the id of each service's newest event.
func (d *Driver) newestEvents(ctx context.Context) (map[string]string, error) {
	services, err := d.services(ctx)
	if err != nil {
		return nil, err
	}
	newest := map[string]string{}
	for _, s := range services {
		if len(s.Events) > 0 {
			newest[s.ServiceArn] = s.Events[0].Id
		}
	}
	return newest, nil
}

// newEvents returns the events recorded since before (each service's
// newest event id then), oldest first. A service keeps its last 100
// events, so a step that records more shows the last 100 of them.
func (d *Driver) newEvents(ctx context.Context, before map[string]string) ([]ServiceEvent, error) {
	services, err := d.services(ctx)
	if err != nil {
		return nil, err
	}
	out := []ServiceEvent{}
	for _, s := range services {
		var fresh []ServiceEvent
		for _, e := range s.Events { // newest first
			if e.Id == before[s.ServiceArn] {
				break
			}
			fresh = append(fresh, e)
		}
		slices.Reverse(fresh)
		out = append(out, fresh...)
	}
	slices.SortStableFunc(out, func(a, b ServiceEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// services describes every service of the cluster, DRAINING ones too.
func (d *Driver) services(ctx context.Context) ([]Service, error) {
	var all []Service
	err := d.Client.withCluster(ctx, d.Cluster, func(e *clusterEntry) error {
		for _, name := range e.services.Names(true) {
			s, _ := e.services.Get(name)
			all = append(all, e.describeService(s, false))
		}
		return nil
	})
	return all, err
}
