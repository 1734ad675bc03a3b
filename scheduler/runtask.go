package scheduler

import (
	"math/rand/v2"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// RandomSpread is RunTask's scheduler when the call names no placement
// strategy: the "random spread" of the ECS whitepaper, which places tasks at
// random among the instances that can take them while keeping any single
// instance from getting a disproportionate share.
//
// The rule is the power of two choices: for each task, draw two distinct
// instances uniformly at random from those that pass the fit test (and the
// constraints), and place
// the task on the one with fewer tasks (PENDING and RUNNING, every group,
// this call's earlier tasks included); on a tie, the first drawn. With one
// feasible instance it is chosen. Uniform random placement of 10,000 tasks on
// 100 equal instances leaves the fullest instance about 1.3 × the mean; two
// choices keep it within a few tasks of the mean (see the property test).
//
// Tasks of one call are placed one after another, each against the state
// the earlier ones leave. A task that fits nowhere becomes a [Failure]
// naming the closest matching instance — the one whose first failing check
// comes latest in [cluster.CheckOrder], the first registered on a tie — and
// its reason; its Detail counts the instances that failed each check.
type RandomSpread struct {
	Spec  *cluster.TaskSpec
	Count int
	Rand  *rand.Rand
	// Constraints, if any, must hold on every instance chosen.
	Constraints placement.Constraints
	// Survey, if set, answers the full pass over the instances from the
	// cluster's placement engine, at the cost of what changed since the
	// task's shape was last surveyed; nil means the plain O(n) pass. Both
	// choose the same instances.
	Survey Surveyor

	req placement.Request // Survey's request, kept to allocate nothing
}

// Surveyor counts and selects the instances a task fits, or explains why
// it fits none, over a whole cluster; [placement.Engine] implements it
// (see [placement.Engine.Feasible]).
type Surveyor interface {
	Feasible(v *cluster.View, req *placement.Request, p *cluster.Pending, pick func(n int) (a, b int)) (first, second *cluster.Instance, failure placement.Decision)
}

// Decide implements [Scheduler]. Each of the two choices is drawn by
// rejection sampling — a uniformly random slot, kept if its instance can
// take the task — which is exactly uniform over the feasible instances and
// costs O(1) while a fair share of the cluster has room. After
// [placement.SampleTries] misses it falls back to two passes over the
// instances, O(n), which also explain a task that fits nowhere.
func (s *RandomSpread) Decide(v *cluster.View, plan *Plan) {
	for range s.Count {
		first := s.sample(v, &plan.Pending, nil)
		var second *cluster.Instance
		if first != nil {
			second = s.sample(v, &plan.Pending, first)
		}
		if first == nil || second == nil {
			first, second = s.scan(v, plan)
			if first == nil {
				continue
			}
		}
		chosen := first
		if second != nil && load(second, plan) < load(first, plan) {
			chosen = second
		}
		plan.Place(chosen, s.Spec)
	}
}

// sample draws up to placement.SampleTries random slots and returns the
// first instance there that can take the task and is not other, or nil.
func (s *RandomSpread) sample(v *cluster.View, p *cluster.Pending, other *cluster.Instance) *cluster.Instance {
	n := v.NumSlots()
	if n == 0 {
		return nil
	}
	for range placement.SampleTries {
		in := v.InstanceAt(s.Rand.IntN(n))
		if in != other && in.Status() == cluster.InstanceActive && s.reason(in, p) == cluster.ReasonNone {
			return in
		}
	}
	return nil
}

// scan draws the two choices from a full pass: two distinct feasible
// instances uniformly at random (the second nil when only one is
// feasible). When none is feasible it records the failure and returns nils.
func (s *RandomSpread) scan(v *cluster.View, plan *Plan) (first, second *cluster.Instance) {
	if s.Survey != nil {
		s.req = placement.Request{Spec: s.Spec, Constraints: s.Constraints}
		first, second, failure := s.Survey.Feasible(v, &s.req, &plan.Pending, s.pick)
		switch {
		case first != nil:
		case failure.Closest == nil:
			plan.Fail("", cluster.ReasonMissing, "no container instances")
		default:
			plan.FailWith(failure.Closest.ARN(), failure.Reason, &failure.Tally)
		}
		return first, second
	}
	feasible := 0
	var closest *cluster.Instance
	var closestReason cluster.Reason
	var tally placement.Tally
	for in := range v.Instances() {
		if in.Status() == cluster.InstanceInactive {
			continue
		}
		r := s.reason(in, &plan.Pending)
		if r == cluster.ReasonNone {
			feasible++
			continue
		}
		tally.Add(r)
		if closest == nil || r.Closeness() > closestReason.Closeness() {
			closest, closestReason = in, r
		}
	}
	if feasible == 0 {
		if closest == nil {
			plan.Fail("", cluster.ReasonMissing, "no container instances")
		} else {
			plan.FailWith(closest.ARN(), closestReason, &tally)
		}
		return nil, nil
	}
	a, b := s.pick(feasible)
	k := 0
	for in := range v.Instances() {
		if in.Status() == cluster.InstanceInactive || s.reason(in, &plan.Pending) != cluster.ReasonNone {
			continue
		}
		if k == a {
			first = in
		}
		if k == b {
			second = in
		}
		k++
	}
	return first, second
}

// pick draws the two choices' positions among n feasible instances: two
// distinct ones, or one (b < 0) when n is 1.
func (s *RandomSpread) pick(n int) (a, b int) {
	a, b = s.Rand.IntN(n), -1
	if n > 1 {
		b = s.Rand.IntN(n - 1)
		if b >= a {
			b++
		}
	}
	return a, b
}

func (s *RandomSpread) reason(in *cluster.Instance, p *cluster.Pending) cluster.Reason {
	r := in.Fits(s.Spec.Demand, p)
	if r == cluster.ReasonNone {
		r = s.Constraints.Reason(in, s.Spec.Group, p)
	}
	return r
}

func load(in *cluster.Instance, plan *Plan) int {
	return in.TaskCount() + plan.Pending.TaskCount(in)
}

// Pin is StartTask's scheduler: one task on each named instance, in order.
// The instances still pass the fit test; an unknown instance fails with
// MISSING, a deregistered one with INACTIVE, a draining one with DRAINING
// [INF], others with the first failing check. Naming an instance twice
// places two tasks there if both fit.
type Pin struct {
	Spec      *cluster.TaskSpec
	Instances []string
}

// Decide implements [Scheduler].
func (s *Pin) Decide(v *cluster.View, plan *Plan) {
	for _, ref := range s.Instances {
		in, ok := v.Instance(ref)
		if !ok {
			plan.Fail(v.InstanceARN(ref), cluster.ReasonMissing, "")
			continue
		}
		r := in.Fits(s.Spec.Demand, &plan.Pending)
		if r == cluster.ReasonNone && s.Spec.Guard != nil {
			// Constraints see this plan's earlier placements, as the
			// commit's re-check will.
			if cs, ok := s.Spec.Guard.(placement.Constraints); ok {
				r = cs.Reason(in, s.Spec.Group, &plan.Pending)
			} else {
				r = s.Spec.Guard.Check(in, s.Spec)
			}
		}
		if r != cluster.ReasonNone {
			plan.Fail(in.ARN(), r, "")
			continue
		}
		plan.Place(in, s.Spec)
	}
}

// Placer decides one task: an indexed engine or the reference scan of
// package placement.
type Placer func(v *cluster.View, req *placement.Request, p *cluster.Pending) placement.Decision

// Strategic is RunTask's scheduler when the call names placement
// strategies: each of Count tasks goes where Place ranks best under the
// request's strategy chain and constraints, one after another.
type Strategic struct {
	Request placement.Request
	Count   int
	Place   Placer
}

// Decide implements [Scheduler].
func (s *Strategic) Decide(v *cluster.View, plan *Plan) {
	for range s.Count {
		d := s.Place(v, &s.Request, &plan.Pending)
		switch {
		case d.Instance != nil:
			plan.Place(d.Instance, s.Request.Spec)
		case d.Closest != nil:
			plan.FailWith(d.Closest.ARN(), d.Reason, &d.Tally)
		default:
			plan.Fail("", cluster.ReasonMissing, "no container instances")
		}
	}
}
