package placement

import (
	"cmp"

	"github.com/stevedore-go/stevedore/cluster"
)

// reason runs the whole test for one instance: the fit test, then the
// constraints. ReasonNone means the task can go there.
func reason(in *cluster.Instance, req *Request, p *cluster.Pending, t *target) cluster.Reason {
	r := in.Fits(req.Spec.Demand, p)
	if r == cluster.ReasonNone {
		r = req.Constraints.check(in, req.Spec.Group, p, t)
	}
	return r
}

// Reference is the placement rule written as plainly as possible: test
// every instance, rank the feasible ones by the strategy chain, take the
// best. It is the oracle the [Engine] is tested against and the baseline
// its benchmarks beat; it is correct, not fast. Cost: O(n) per placement,
// on purpose, plus O(n) per spread-on-attribute strategy. seed is the
// tie-break seed (the same as the Engine's).
//
// The ranking, for each feasible instance, is the tuple of its keys, one
// per strategy, compared lexicographically, lower first:
//
//   - binpack(cpu|memory): the instance's remaining CPU or memory (the
//     least that still fits wins);
//   - spread(instanceId|host): the number of the group's tasks on the
//     instance;
//   - spread(attribute:NAME): the number of the group's tasks on all
//     instances sharing the instance's value of NAME (instances lacking
//     NAME share one value of their own) [INF];
//   - random, not first: a random rotation of the tie-break order, which
//     decides everything after it.
//
// Tasks placed earlier in the same call (p) count as placed. Remaining
// ties go to the fixed pseudo-random tie-break order of the seed. A leading
// random strategy draws instances uniformly instead (see [SampleTries]).
func Reference(v *cluster.View, req *Request, p *cluster.Pending, seed uint64) Decision {
	var t target
	n := v.NumSlots()
	feasible := func(in *cluster.Instance) bool {
		return in != nil && reason(in, req, p, &t) == cluster.ReasonNone
	}
	if len(req.Strategies) > 0 && req.Strategies[0].typ == Random {
		// Test every instance first, then draw as the engine draws.
		ok := make([]bool, n)
		feasibleAny := false
		for in := range v.Instances() {
			ok[in.Slot()] = feasible(in)
			feasibleAny = feasibleAny || ok[in.Slot()]
		}
		for range SampleTries {
			if s := req.Rand.IntN(max(n, 1)); s < n && ok[s] {
				return Decision{Instance: v.InstanceAt(s)}
			}
		}
		offset := req.Rand.Uint64()
		var best *cluster.Instance
		for in := range v.Instances() {
			if ok[in.Slot()] && (best == nil || tieKey(seed, in.Slot())-offset < tieKey(seed, best.Slot())-offset) {
				best = in
			}
		}
		if feasibleAny {
			return Decision{Instance: best}
		}
		return explain(v, req, p)
	}

	rk := newRanker(req, p, seed)
	if rk.hasRandom {
		rk.offset = req.Rand.Uint64()
	}
	group := req.Spec.Group
	for i, s := range req.Strategies {
		if s.typ == Spread && s.field == fieldAttribute {
			m := map[string]int{}
			for in := range v.Instances() {
				m[attrValue(in, s.attr)] += in.GroupCount(group) + p.GroupCount(in, group)
			}
			rk.counts[i] = m
		}
	}
	var best *cluster.Instance
	for in := range v.Instances() {
		if feasible(in) && (best == nil || rk.compare(in, best) < 0) {
			best = in
		}
	}
	if best != nil {
		return Decision{Instance: best}
	}
	return explain(v, req, p)
}

// ranker orders feasible instances by a request's strategy chain; see
// [Reference] for the rule. counts holds, for each spread(attribute:X)
// strategy, the group's task count per value of X.
type ranker struct {
	req       *Request
	p         *cluster.Pending
	seed      uint64
	offset    uint64
	hasRandom bool
	counts    []map[string]int // the reference's spread counts, by strategy
	vecs      []*spreadView    // the engine's, by strategy
}

func newRanker(req *Request, p *cluster.Pending, seed uint64) ranker {
	return ranker{req: req, p: p, seed: seed, hasRandom: slicesContainsRandom(req.Strategies),
		counts: make([]map[string]int, len(req.Strategies))}
}

// key is in's key under strategy i (lower ranks first).
func (rk *ranker) key(in *cluster.Instance, i int) int64 {
	s, group, p := rk.req.Strategies[i], rk.req.Spec.Group, rk.p
	switch {
	case s.typ == Binpack && s.field == fieldCPU:
		cpu, _, _ := p.Resources(in)
		return in.RemainingCPU() - cpu
	case s.typ == Binpack:
		_, mem, _ := p.Resources(in)
		return in.RemainingMemory() - mem
	case s.typ == Spread && s.field == fieldInstance:
		return int64(in.GroupCount(group) + p.GroupCount(in, group))
	case s.typ == Spread && rk.vecs != nil && rk.vecs[i] != nil:
		return rk.vecs[i].of(in)
	case s.typ == Spread:
		return int64(rk.counts[i][attrValue(in, s.attr)])
	}
	return 0 // random: see compare
}

// compare orders a and b: the strategy keys lexicographically, a random
// strategy by a rotation of the tie-break order (which decides), then the
// tie-break order, then the slot.
func (rk *ranker) compare(a, b *cluster.Instance) int {
	for i, s := range rk.req.Strategies {
		if s.typ == Random {
			return cmp.Compare(tieKey(rk.seed, a.Slot())-rk.offset, tieKey(rk.seed, b.Slot())-rk.offset)
		}
		if c := cmp.Compare(rk.key(a, i), rk.key(b, i)); c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(tieKey(rk.seed, a.Slot()), tieKey(rk.seed, b.Slot())), cmp.Compare(a.Slot(), b.Slot()))
}

func slicesContainsRandom(ss []Strategy) bool {
	for _, s := range ss {
		if s.typ == Random {
			return true
		}
	}
	return false
}

// explain builds the failure of a task that fits nowhere: the tally of
// first failing checks and the closest instance. Cost: O(n).
func explain(v *cluster.View, req *Request, p *cluster.Pending) Decision {
	var d Decision
	var t target
	for in := range v.Instances() {
		if in.Status() == cluster.InstanceInactive {
			continue
		}
		r := reason(in, req, p, &t)
		d.Tally.Add(r)
		if d.Closest == nil || r.Closeness() > d.Reason.Closeness() {
			d.Closest, d.Reason = in, r
		}
	}
	return d
}
