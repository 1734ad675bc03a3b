package planner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// BatchItem is Count tasks of one task definition, placed as RunTask
// places them.
type BatchItem struct {
	// TaskDefinition is a family (latest ACTIVE revision),
	// family:revision or an ARN.
	TaskDefinition string
	Count          int
	// Group, StartedBy, NetworkConfiguration and Overrides are RunTask's.
	Group                string
	StartedBy            string
	NetworkConfiguration *stevedore.NetworkConfiguration
	Overrides            *stevedore.TaskOverride
	// PlacementStrategy and PlacementConstraints are RunTask's; the task
	// definition's memberOf constraints apply too. No strategy means
	// RunTask's default, random.
	PlacementStrategy    []stevedore.PlacementStrategy
	PlacementConstraints []stevedore.PlacementConstraint
}

// BatchMode says what a batch does when some task fits nowhere.
type BatchMode int

// The batch modes.
const (
	// AllOrNothing places every task or none.
	AllOrNothing BatchMode = iota
	// BestEffort places every task that fits.
	BestEffort
)

// BatchInput is the input of [PlaceBatch].
type BatchInput struct {
	Cluster string
	Items   []BatchItem
	Mode    BatchMode
	// Seed seeds the random strategies' draws.
	Seed uint64
}

// BatchOutput is what [PlaceBatch] did.
type BatchOutput struct {
	// Tasks are the tasks started (PENDING), item by item.
	Tasks []stevedore.Task
	// Unplaced has, per item with tasks that fit nowhere, how many and
	// why (the first that failed, with its closest instance).
	Unplaced []Unplaced
	// Conflicts counts the commits refused because the cluster changed
	// meanwhile; each was decided again.
	Conflicts int
}

// Unplaced is the tasks of one batch item that fit nowhere.
type Unplaced struct {
	Item  int
	Count int
	// Reason is ECS's failure reason for the first of them, Arn its
	// closest instance (empty with no instance at all).
	Reason string
	Arn    string
	// Checks counts the instances that failed each check.
	Checks map[string]int
}

// ErrBatch is wrapped by the errors of an invalid batch.
var ErrBatch = errors.New("planner: invalid batch")

// MaxBatchTasks bounds the tasks of one batch.
const MaxBatchTasks = 1_000_000

// RoundSize is how many of a batch's tasks one round of its planning
// decides before the round is committed (on the fork, see PlaceBatch):
// the placement engine counts a decision's undecided placements on every
// instance they touch, so rounds keep that small.
const RoundSize = 256

// MaxBatchAttempts is how many times PlaceBatch plans again when the
// cluster changed between the plan and its commit.
const MaxBatchAttempts = 3

// PlaceBatch places a batch of tasks on a Client's cluster, all of them in
// one commit: every task placed with the placement engine exactly as
// RunTask places one (every instance considered, its strategies and
// constraints honoured, host ports, GPUs and ENIs accounted, the batch's
// earlier tasks counted as placed). The batch is planned on a fork of the
// Client, in rounds of [RoundSize] tasks committed there; then the plan's
// placements, pinned to their instances, are committed on the cluster in
// one commit that re-checks each of them and is all or nothing. With
// AllOrNothing, a task that fits nowhere leaves the cluster unchanged;
// with BestEffort the tasks that fit start. When the cluster changed
// between the plan and the commit, the batch is planned again, up to
// [MaxBatchAttempts] times. Cost: a fork, one placement per task, one
// commit.
func PlaceBatch(ctx context.Context, c *stevedore.Client, in *BatchInput) (*BatchOutput, error) {
	if in == nil {
		in = &BatchInput{}
	}
	if _, err := c.Placer(ctx, in.Cluster); err != nil {
		return nil, err // the cluster exists
	}
	var items []batchItem
	total := 0
	for i, it := range in.Items {
		if it.Count < 0 {
			return nil, fmt.Errorf("%w: items[%d].Count is %d", ErrBatch, i, it.Count)
		}
		if it.Count > MaxBatchTasks-total { // not total+Count: it could wrap
			return nil, fmt.Errorf("%w: more than %d tasks", ErrBatch, MaxBatchTasks)
		}
		total += it.Count
		req, err := request(ctx, c, it)
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		items = append(items, batchItem{req: req, count: it.Count})
	}
	out := &BatchOutput{}
	for attempt := range MaxBatchAttempts {
		pins, unplaced, err := planBatch(ctx, c, in, items)
		if err != nil {
			return nil, err
		}
		out.Unplaced = unplaced
		if in.Mode == AllOrNothing && len(unplaced) > 0 {
			return out, nil
		}
		res, err := c.Schedule(ctx, &stevedore.ScheduleInput{Cluster: in.Cluster, Scheduler: &pinned{pins: pins, items: items}})
		if err != nil {
			return nil, err
		}
		out.Conflicts += res.Conflicts
		if len(res.Failures) == 0 {
			out.Tasks = res.Tasks
			return out, nil
		}
		if attempt == MaxBatchAttempts-1 {
			out.Unplaced = append(out.Unplaced, Unplaced{Item: -1, Count: len(res.Failures), Reason: res.Failures[0].Reason})
		}
	}
	return out, nil
}

// pin is one planned task: its item and its instance.
type pin struct {
	item     int
	instance string
}

// planBatch plans the batch on a fork of c, in rounds, and returns where
// each placed task goes and what did not fit.
func planBatch(ctx context.Context, c *stevedore.Client, in *BatchInput, items []batchItem) ([]pin, []Unplaced, error) {
	f, err := c.Fork(ctx)
	if err != nil {
		return nil, nil, err
	}
	place, err := f.Placer(ctx, in.Cluster)
	if err != nil {
		return nil, nil, err
	}
	b := &batch{place: place, rnd: rand.New(rand.NewPCG(in.Seed, 0x5eed))}
	var pins []pin
	var unplaced []Unplaced
	for i := range items {
		left := items[i].count
		for left > 0 {
			n := min(left, RoundSize)
			b.item, b.req, b.count = i, &items[i].req, n
			res, err := f.Schedule(ctx, &stevedore.ScheduleInput{Cluster: in.Cluster, Scheduler: b})
			if err != nil {
				return nil, nil, err
			}
			for _, t := range res.Tasks {
				pins = append(pins, pin{item: i, instance: t.ContainerInstanceArn})
			}
			left -= len(res.Tasks)
			if b.failed != nil {
				u := *b.failed
				u.Count = left
				unplaced = append(unplaced, u)
				break
			}
			if len(res.Tasks) == 0 { // the fork's commit kept conflicting: cannot happen on a private fork
				unplaced = append(unplaced, Unplaced{Item: i, Count: left, Reason: "commit conflict"})
				break
			}
		}
	}
	return pins, unplaced, nil
}

type batchItem struct {
	req   placement.Request
	count int
}

// batch is one round of one item as a scheduler.Scheduler: up to count
// tasks, stopping at the first that fits nowhere.
type batch struct {
	place  scheduler.Placer
	rnd    *rand.Rand
	item   int
	req    *placement.Request
	count  int
	failed *Unplaced
}

func request(ctx context.Context, c *stevedore.Client, it BatchItem) (placement.Request, error) {
	spec, err := c.TaskSpec(ctx, &stevedore.TaskSpecInput{TaskDefinition: it.TaskDefinition, Group: it.Group, StartedBy: it.StartedBy,
		NetworkConfiguration: it.NetworkConfiguration, Overrides: it.Overrides})
	if err != nil {
		return placement.Request{}, err
	}
	td, err := c.DescribeTaskDefinition(ctx, &stevedore.DescribeTaskDefinitionInput{TaskDefinition: spec.TaskDefinitionARN})
	if err != nil {
		return placement.Request{}, err
	}
	var cs placement.Constraints
	for _, pc := range td.TaskDefinition.PlacementConstraints {
		con, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return placement.Request{}, err
		}
		cs = append(cs, con)
	}
	for _, pc := range it.PlacementConstraints {
		con, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return placement.Request{}, err
		}
		cs = append(cs, con)
	}
	var ss []placement.Strategy
	for _, ps := range it.PlacementStrategy {
		st, err := placement.ParseStrategy(ps.Type, ps.Field)
		if err != nil {
			return placement.Request{}, err
		}
		ss = append(ss, st)
	}
	if len(ss) == 0 {
		ss = []placement.Strategy{placement.MustParseStrategy("random", "")}
	}
	if len(cs) > 0 {
		spec.Guard = cs // the commit re-checks them
	}
	req := placement.Request{Spec: spec, Strategies: ss, Constraints: cs, Rand: rand.New(rand.NewPCG(0, 0))} // Decide sets the call's own
	if err := req.Validate(); err != nil {
		return placement.Request{}, err
	}
	return req, nil
}

// Decide implements scheduler.Scheduler.
func (b *batch) Decide(v *cluster.View, plan *scheduler.Plan) {
	b.failed = nil
	b.req.Rand = b.rnd
	for range b.count {
		dec := b.place(v, b.req, &plan.Pending)
		if dec.Instance != nil {
			plan.Place(dec.Instance, b.req.Spec)
			continue
		}
		u := Unplaced{Item: b.item, Reason: dec.Reason.String(), Checks: map[string]int{}}
		if dec.Closest != nil {
			u.Arn = dec.Closest.ARN()
		} else {
			u.Reason = cluster.ReasonMissing.String()
		}
		for _, r := range cluster.CheckOrder {
			if k := dec.Tally.Count(r); k > 0 {
				u.Checks[r.String()] = k
			}
		}
		b.failed = &u
		return
	}
}

// pinned commits a planned batch: each task on the instance the plan
// chose. The commit re-checks every placement.
type pinned struct {
	pins  []pin
	items []batchItem
}

// Decide implements scheduler.Scheduler.
func (p *pinned) Decide(v *cluster.View, plan *scheduler.Plan) {
	for _, pn := range p.pins {
		in, _ := v.Instance(pn.instance) // nil if it went away: refused at commit
		plan.Place(in, p.items[pn.item].req.Spec)
	}
}
