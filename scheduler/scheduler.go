package scheduler

import (
	"errors"
	"fmt"
	"sync"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// State is what a scheduler needs of a cluster: a consistent read and the
// commit path. It is the seam for the cluster's storage: [*cluster.Cluster]
// implements it in memory, and a store with compare-and-swap transactions
// (etcd) can implement it by reading a revision, and applying a proposal
// as one transaction guarded by the revisions of the instances and tasks it
// touches — re-checking each placement as Apply does, and answering a
// [*cluster.ConflictError] when a guard fails — without any change to
// placement or to the reconciler.
type State interface {
	// Read calls fn with a consistent view, valid during the call.
	Read(fn func(v *cluster.View))
	// Apply commits a proposal all or nothing.
	Apply(p cluster.Proposal) (cluster.Applied, error)
}

// Scheduler decides where tasks go. Decide reads the cluster through v — a
// consistent view, valid only during the call — and writes its decisions
// into plan; it must not modify the cluster. [Execute] runs it and commits
// the plan, so every scheduler, built in or written by a user, goes through
// the same optimistic read–decide–commit cycle.
type Scheduler interface {
	Decide(v *cluster.View, plan *Plan)
}

// Func adapts a function to the [Scheduler] interface.
type Func func(v *cluster.View, plan *Plan)

// Decide calls f.
func (f Func) Decide(v *cluster.View, plan *Plan) { f(v, plan) }

// Failure is a task that could not be placed, in ECS's terms: the ARN of the
// instance it concerns (for RunTask, the closest matching instance) and the
// reason.
type Failure struct {
	ARN    string
	Reason cluster.Reason
	Detail string
	// Tally counts the instances that failed each check, when the
	// scheduler looked at the whole cluster.
	Tally placement.Tally
}

// Plan is what a scheduler decided in one round: tasks to stop, placements
// to commit and tasks it could not place.
type Plan struct {
	// Stops are applied first; Placements may use the room they free.
	// Stops and placements are committed together, all or nothing.
	Stops      []cluster.Stop
	Placements []cluster.Placement
	// Failures are reported to the caller as they are.
	Failures []Failure
	// Pending holds Placements as tentatively applied, so that later
	// decisions of the same round see earlier ones (see [Plan.Place]).
	Pending cluster.Pending

	// sched is the scheduler Execute runs, and decideFn the method value
	// of decide, made once per pooled plan, so that a round allocates no
	// closure.
	sched    Scheduler
	decideFn func(v *cluster.View)
}

// decide runs the plan's scheduler; Execute passes it to State.Read.
func (p *Plan) decide(v *cluster.View) { p.sched.Decide(v, p) }

// Place appends a placement of spec on in and counts it in Pending. A spec
// without a demand is kept for the commit to refuse as an invalid plan
// (Execute's error); a nil instance is refused like an instance that went
// away meanwhile: a conflict, decided again, then a failure.
func (p *Plan) Place(in *cluster.Instance, spec *cluster.TaskSpec) {
	if in == nil || spec == nil || spec.Demand == nil {
		p.Placements = append(p.Placements, cluster.Placement{Spec: spec})
		return
	}
	p.Placements = append(p.Placements, cluster.Placement{InstanceID: in.ID(), Spec: spec, Instance: in})
	p.Pending.Add(in, spec)
}

// Stop appends a stop of t and counts its resources as free in Pending.
// t must be PENDING or RUNNING and not already in the plan.
func (p *Plan) Stop(t *cluster.Task, reason string, code cluster.StopCode) {
	if t == nil { // refused at commit like a task that went away: a conflict
		p.Stops = append(p.Stops, cluster.Stop{Reason: reason, Code: code})
		return
	}
	p.Stops = append(p.Stops, cluster.Stop{TaskID: t.ID(), Reason: reason, Code: code})
	p.Pending.Release(t)
}

// Unstop takes back the plan's last stops of the tasks ts (in reverse
// order of their Stop calls).
func (p *Plan) Unstop(ts ...*cluster.Task) {
	for i := len(ts) - 1; i >= 0; i-- {
		t := ts[i]
		if n := len(p.Stops); n > 0 && p.Stops[n-1].TaskID == t.ID() {
			p.Stops = p.Stops[:n-1]
			p.Pending.Unrelease(t)
		}
	}
}

// Fail appends a failure.
func (p *Plan) Fail(arn string, r cluster.Reason, detail string) {
	p.Failures = append(p.Failures, Failure{ARN: arn, Reason: r, Detail: detail})
}

// FailWith appends a failure explained by a tally of the instances that
// failed each check; its Detail is the tally's text.
func (p *Plan) FailWith(arn string, r cluster.Reason, tally *placement.Tally) {
	p.Failures = append(p.Failures, Failure{ARN: arn, Reason: r, Detail: tally.String(), Tally: *tally})
}

func (p *Plan) reset() {
	// Cleared, not only cut: a pooled plan must not keep instances, specs
	// or tasks alive.
	clear(p.Stops)
	clear(p.Placements)
	clear(p.Failures)
	p.Stops = p.Stops[:0]
	p.Placements = p.Placements[:0]
	p.Failures = p.Failures[:0]
	p.Pending.Reset()
}

// planPool keeps plans, and the memory of their Pending, between rounds.
var planPool = sync.Pool{New: func() any { return new(Plan) }}

// DefaultMaxAttempts is how many times [Execute] decides and commits before
// it gives up on a plan that keeps conflicting with other schedulers.
const DefaultMaxAttempts = 5

// Result is what [Execute] did.
type Result struct {
	// Tasks are the tasks started, in plan order.
	Tasks []cluster.TaskInfo
	// Stopped are the tasks stopped, in plan order.
	Stopped []cluster.TaskInfo
	// Failures are the tasks not placed.
	Failures []Failure
	// Conflicts counts the commits rejected because the state changed
	// between decision and commit.
	Conflicts int
}

// Execute runs one scheduling round: s decides against a consistent view
// of c, and the plan is committed all or nothing. When the commit finds
// that the state moved under the plan (another scheduler took the room),
// the round is decided again against the new state, up to maxAttempts
// times (0 means [DefaultMaxAttempts]); after that every placement of the
// last plan is reported as a failure with the conflict's reason.
func Execute(c State, s Scheduler, maxAttempts int) (Result, error) {
	var res Result
	err := ExecuteTo(c, s, maxAttempts, &res)
	return res, err
}

// ExecuteTo is [Execute] writing into res, whose slices' memory it reuses —
// their old contents are overwritten — so that a caller that keeps res
// between rounds allocates no slices for the task infos when c is a
// [*cluster.Cluster] (which writes them in place, with ApplyTo). Any other
// State, a wrapper of a Cluster included, commits through its Apply, and
// res then holds the slices Apply returned.
func ExecuteTo(c State, s Scheduler, maxAttempts int, res *Result) error {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	*res = Result{Tasks: res.Tasks[:0], Stopped: res.Stopped[:0], Failures: res.Failures[:0]}
	plan := planPool.Get().(*Plan)
	if plan.decideFn == nil {
		plan.decideFn = plan.decide
	}
	plan.sched = s
	defer func() {
		plan.reset()
		plan.sched = nil
		planPool.Put(plan)
	}()
	for attempt := 1; ; attempt++ {
		plan.reset()
		c.Read(plan.decideFn)
		if len(plan.Placements) == 0 && len(plan.Stops) == 0 {
			res.Failures = append(res.Failures, plan.Failures...)
			return nil
		}
		err := commit(c, cluster.Proposal{Stops: plan.Stops, Placements: plan.Placements, Attempt: attempt}, res)
		if err == nil {
			res.Failures = append(res.Failures, plan.Failures...)
			return nil
		}
		var conflict *cluster.ConflictError
		if !errors.As(err, &conflict) {
			return err
		}
		res.Conflicts++
		if attempt >= maxAttempts {
			res.Failures = append(res.Failures, conflictFailures(c, plan.Placements, conflict.Reason, res.Conflicts)...)
			res.Failures = append(res.Failures, plan.Failures...)
			return nil
		}
	}
}

// commit applies p, writing the infos into res's memory when c is a
// Cluster. Only the Cluster type itself is asked, not any State with an
// ApplyTo method: a wrapper that embeds a Cluster to change Apply must not
// be bypassed through the promoted method.
func commit(c State, p cluster.Proposal, res *Result) error {
	if cl, ok := c.(*cluster.Cluster); ok {
		out := cluster.Applied{Stopped: res.Stopped, Started: res.Tasks}
		err := cl.ApplyTo(p, &out)
		res.Stopped, res.Tasks = out.Stopped, out.Started
		return err
	}
	out, err := c.Apply(p)
	res.Stopped, res.Tasks = out.Stopped, out.Started
	return err
}

// conflictFailures reports placements that kept conflicting as failures.
// It is a function of its own so that Execute's common path captures
// nothing in a closure.
func conflictFailures(c State, ps []cluster.Placement, r cluster.Reason, conflicts int) []Failure {
	fs := make([]Failure, len(ps))
	c.Read(func(v *cluster.View) {
		for i, p := range ps {
			fs[i] = Failure{
				ARN: v.InstanceARN(p.InstanceID), Reason: r,
				Detail: fmt.Sprintf("placement conflicted with concurrent changes %d times", conflicts),
			}
		}
	})
	return fs
}
