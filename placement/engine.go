package placement

import (
	"sync"

	"github.com/stevedore-go/stevedore/cluster"
)

// Engine is the indexed placement engine of one cluster. It picks exactly
// what [Reference] picks with the same seed, without testing every
// instance. It follows the cluster through its change feed: subscribe it
// with [cluster.Cluster.Subscribe] before the first Place, and never update
// it by hand.
//
// # Index
//
// Three treaps over the instances that can take tasks at all (ACTIVE,
// agent connected), keyed by remaining memory, by remaining CPU, and by the
// tie-break order alone; every node carries the most CPU, memory and GPUs
// left in its subtree, so a search skips subtrees with no room. Per task
// group, the instances hosting it and their counts, for spread.
//
// # Plans
//
// Place recognises the chains it can answer from the index and falls back
// to the reference scan for the rest (the answer is the same, only slower):
//
//   - [spread(attribute)] [spread(instanceId)] [binpack(cpu|memory)], each
//     part optional, in that order, and the empty chain: a walk of the
//     binpack field's tree (or the tie-break tree) for the first instance
//     that fits, lies at the lowest spread level (no task of the group on it
//     or on its attribute value) and satisfies the constraints. Cost:
//     O(log n) per instance visited. When no instance at the lowest level
//     fits, the reference scan decides.
//   - binpack first, then anything without random: the same walk finds the
//     least remaining amount that fits; the instances tied on it are ranked
//     by the rest of the chain.
//   - random first: uniform draws, as the reference makes them.
//
// Instances touched by the current call's undecided placements (the
// Pending) are ranked one by one with their exact keys, so sequential
// placement stays exact.
//
// # Concurrency
//
// Observe runs under the cluster's write lock, Place under its read lock
// (inside [cluster.Cluster.Read]); the engine needs no lock of its own. Any
// number of Place calls may run at once.
type Engine struct {
	seed       uint64
	sl         slots
	inTree     []bool
	trees      [3]tree
	groupSlots map[string]map[int32]int32 // group -> slot -> tasks of the group
	slotGroups [][]groupCount             // per slot, the groups last seen
	pool       sync.Pool
}

type groupCount struct {
	group string
	n     int32
}

// scratch is per-Place working memory, pooled so that a steady-state Place
// allocates nothing.
type scratch struct {
	target  target
	stack   []int32
	counts  []map[string]int
	ranker  ranker
	visited int
}

// NewEngine returns an empty engine whose tie-break order comes from seed.
func NewEngine(seed uint64) *Engine {
	e := &Engine{seed: seed, groupSlots: map[string]map[int32]int32{}}
	for i := range e.trees {
		e.trees[i] = tree{kind: treeKind(i), root: -1}
	}
	e.pool.New = func() any { return &scratch{} }
	return e
}

// Observe implements [cluster.Observer]: it re-keys the changed instance in
// every tree and updates the group counts. Cost: O(log n) plus the
// instance's groups.
func (e *Engine) Observe(ch cluster.Change) {
	in := ch.Instance
	s := int32(in.Slot())
	for int(s) >= len(e.inTree) {
		slot := len(e.inTree)
		e.inTree = append(e.inTree, false)
		e.sl.cpu = append(e.sl.cpu, 0)
		e.sl.mem = append(e.sl.mem, 0)
		e.sl.gpu = append(e.sl.gpu, 0)
		e.sl.tie = append(e.sl.tie, tieKey(e.seed, slot))
		e.sl.prio = append(e.sl.prio, uint32(tieKey(^e.seed, slot)>>32))
		e.slotGroups = append(e.slotGroups, nil)
		for i := range e.trees {
			e.trees[i].grow(len(e.inTree))
		}
	}
	if e.inTree[s] {
		for i := range e.trees {
			e.trees[i].remove(&e.sl, s)
		}
	}
	e.sl.cpu[s], e.sl.mem[s], e.sl.gpu[s] = in.RemainingCPU(), in.RemainingMemory(), int64(in.FreeGPUs())
	e.inTree[s] = in.Status() == cluster.InstanceActive && in.AgentConnected()
	if e.inTree[s] {
		for i := range e.trees {
			e.trees[i].insert(&e.sl, s)
		}
	}
	e.updateGroups(in, s)
}

func (e *Engine) updateGroups(in *cluster.Instance, s int32) {
	old := e.slotGroups[s]
	for _, g := range old {
		if in.GroupCount(g.group) == 0 {
			if m := e.groupSlots[g.group]; m != nil {
				delete(m, s)
				if len(m) == 0 {
					delete(e.groupSlots, g.group)
				}
			}
		}
	}
	old = old[:0]
	for g, n := range in.Groups() {
		m := e.groupSlots[g]
		if m == nil {
			m = map[int32]int32{}
			e.groupSlots[g] = m
		}
		m[s] = int32(n)
		old = append(old, groupCount{group: g, n: int32(n)})
	}
	e.slotGroups[s] = old
}

// Place decides where the task of req goes, with the undecided placements
// p (may be nil) counted as placed. Call it inside [cluster.Cluster.Read]
// of the cluster the engine follows. It picks what [Reference] picks.
func (e *Engine) Place(v *cluster.View, req *Request, p *cluster.Pending) Decision {
	sc := e.pool.Get().(*scratch)
	defer e.pool.Put(sc)
	ss := req.Strategies
	if len(ss) > 0 && ss[0].typ == Random {
		return e.placeRandom(v, req, p, sc)
	}
	sc.ranker = ranker{req: req, p: p, seed: e.seed}
	if cap(sc.counts) < len(ss) {
		sc.counts = make([]map[string]int, len(ss))
	}
	sc.counts = sc.counts[:len(ss)]
	sc.ranker.counts = sc.counts
	for i, s := range ss {
		if s.typ == Random {
			return Reference(v, req, p, e.seed)
		}
		if s.typ == Spread && s.field == fieldAttribute {
			e.spreadCounts(v, req, p, s.attr, sc, i)
		}
	}
	if d, ok := e.placeWalk(v, req, p, sc); ok {
		return d
	}
	return Reference(v, req, p, e.seed)
}

// spreadCounts fills sc.counts[i] with the group's task count per value of
// attr, from the group's instances and the pending placements. Cost:
// O(instances hosting the group).
func (e *Engine) spreadCounts(v *cluster.View, req *Request, p *cluster.Pending, attr string, sc *scratch, i int) {
	m := sc.counts[i]
	if m == nil {
		m = map[string]int{}
		sc.counts[i] = m
	}
	clear(m)
	group := req.Spec.Group
	for s, n := range e.groupSlots[group] {
		m[attrValue(v.InstanceAt(int(s)), attr)] += int(n)
	}
	for in := range p.Instances() {
		if n := p.GroupCount(in, group); n > 0 {
			m[attrValue(in, attr)] += n
		}
	}
}

// placeWalk answers the chains the trees can: see [Engine]. ok is false
// when the reference must decide.
func (e *Engine) placeWalk(v *cluster.View, req *Request, p *cluster.Pending, sc *scratch) (Decision, bool) {
	ss := req.Strategies
	sA, sI, b := -1, -1, -1
	i := 0
	if i < len(ss) && ss[i].typ == Spread && ss[i].field == fieldAttribute {
		sA, i = i, i+1
	}
	if i < len(ss) && ss[i].typ == Spread && ss[i].field == fieldInstance {
		sI, i = i, i+1
	}
	if i < len(ss) && ss[i].typ == Binpack {
		b, i = i, i+1
	}
	tieClass := false
	if i < len(ss) {
		if sA >= 0 || sI >= 0 || b != 0 {
			return Decision{}, false
		}
		tieClass = true // binpack first, then more: rank the tied instances
	}
	d := req.Spec.Demand
	rk := &sc.ranker
	t := &e.trees[byTie]
	lo := int64(-1 << 63)
	if b >= 0 {
		if ss[b].field == fieldCPU {
			t, lo = &e.trees[byCPU], d.CPU()
		} else {
			t, lo = &e.trees[byMemory], d.Memory()
		}
	}
	levelZero := func(in *cluster.Instance) bool {
		return (sA < 0 || rk.key(in, sA) == 0) && (sI < 0 || rk.key(in, sI) == 0)
	}
	var best *cluster.Instance
	consider := func(in *cluster.Instance) {
		if best == nil || rk.compare(in, best) < 0 {
			best = in
		}
	}
	group := req.Spec.Group
	var tieKeyValue int64
	found := false
	sc.stack = t.walk(&e.sl, lo, d.CPU(), d.Memory(), int64(d.GPUs()), sc.stack, func(s int32) bool {
		in := v.InstanceAt(int(s))
		if p.TaskCount(in) > 0 {
			return false // ranked below with its exact keys
		}
		if found && t.key(&e.sl, s) != tieKeyValue {
			return true // past the tied instances
		}
		if sI >= 0 && in.GroupCount(group) > 0 {
			return false
		}
		if sA >= 0 && rk.key(in, sA) != 0 {
			return false
		}
		if reason(in, req, nil, &sc.target) != cluster.ReasonNone {
			return false
		}
		consider(in)
		if !tieClass {
			return true
		}
		found, tieKeyValue = true, t.key(&e.sl, s)
		return false
	})
	for in := range p.Instances() {
		if reason(in, req, p, &sc.target) == cluster.ReasonNone && (tieClass || levelZero(in)) {
			consider(in)
		}
	}
	if best != nil {
		return Decision{Instance: best}, true
	}
	if sA >= 0 || sI >= 0 {
		return Decision{}, false // nothing at the lowest level: the reference ranks the rest
	}
	return explain(v, req, p), true
}

// placeRandom is a leading random strategy, drawn exactly as the reference
// draws it.
func (e *Engine) placeRandom(v *cluster.View, req *Request, p *cluster.Pending, sc *scratch) Decision {
	n := v.NumSlots()
	for range SampleTries {
		if in := v.InstanceAt(req.Rand.IntN(max(n, 1))); in != nil && reason(in, req, p, &sc.target) == cluster.ReasonNone {
			return Decision{Instance: in}
		}
	}
	offset := req.Rand.Uint64()
	var best *cluster.Instance
	for in := range v.Instances() {
		if reason(in, req, p, &sc.target) == cluster.ReasonNone &&
			(best == nil || tieKey(e.seed, in.Slot())-offset < tieKey(e.seed, best.Slot())-offset) {
			best = in
		}
	}
	if best != nil {
		return Decision{Instance: best}
	}
	return explain(v, req, p)
}
