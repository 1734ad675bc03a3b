package placement

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stevedore-go/stevedore/cluster"
)

// MaxGroupTrees bounds how many task groups get a tree of their own for
// spread(instanceId); past it, such placements use the reference scan.
const MaxGroupTrees = 256

// Engine is the indexed placement engine of one cluster. It picks exactly
// what [Reference] picks with the same seed, without testing every
// instance. It follows the cluster through its change feed: subscribe it
// with [cluster.Cluster.Subscribe] before the first Place, and never update
// it by hand.
//
// # Index
//
// Treaps over the instances that can take tasks at all (ACTIVE, agent
// connected), ordered by (level, primary, tie-break key). Every node
// carries the most CPU, memory and GPUs left in its subtree, so a search
// skips subtrees with no room — whatever the correlation between CPU and
// memory. The global trees (built, like all trees, on first use) have one
// level and a primary of none, remaining CPU or remaining memory. An attribute tree's level is the instance's
// value of the attribute: an ordered posting list per value, for memberOf
// equality and spread on attributes. A group tree's level is the number of
// the group's tasks on the instance, for spread(instanceId). Attribute and
// group trees are built on first use and kept current from then on, as are
// the group's task counts per attribute value (the least-loaded value is
// read, not counted).
//
// # Plans
//
// Place answers from the index the chains of the form [spread(attribute)]
// [spread(instanceId)] [binpack(cpu|memory)] — each part optional, in that
// order — with any constraints, and binpack first followed by anything
// without random (the instances tied on the binpack key are ranked by the
// rest); a leading random strategy draws as the reference draws. Other
// chains use the reference scan (same answer, O(n)). Instances touched by
// the current call's undecided placements (the Pending) are ranked one by
// one with their exact keys.
//
// # Failures
//
// A task that fits nowhere is explained — the tally of first failing checks
// and the closest instance, as [Reference] explains it — from a census of
// its task shape (its demand, group and constraints): each instance's
// first failing check, kept for the few shapes asked about last and
// brought up to date from the change feed when next used. A failure costs
// the instances changed since its shape's last census, not the cluster;
// the first for a shape costs one pass. [Engine.Feasible] answers RunTask's
// random spread from the same censuses.
//
// # Concurrency
//
// Observe runs under the cluster's write lock, Place under its read lock
// (inside [cluster.Cluster.Read]). Trees built on first use are built under
// the engine's own mutex and published copy-on-write, so any number of
// Place calls may run at once. Until the first Place the engine only notes
// which instances changed; the first Place catches up, under the mutex.
type Engine struct {
	seed       uint64
	sl         slots
	eligible   []bool
	groupSlots map[string]map[int32]int32 // group -> slot -> tasks of the group
	slotGroups [][]groupCount             // per slot, the groups last seen
	attrEpoch  []int64                    // per slot, the attributes epoch last seen, -1 for none
	// groupScratch is Observe's working memory (Observe runs under the
	// cluster's write lock, one at a time).
	groupScratch []groupCount
	// tracking is set once a structure needs the group counts; until
	// then the change feed skips them (most commits need no such index).
	tracking bool
	// Until its first Place the engine is dormant: Observe only notes the
	// slots that changed (dirty, once each), and the first Place brings
	// them up to date (wake) before it reads anything. A cluster that never
	// places by strategy — RunTask's random spread — never pays for the
	// index in its commits' write-locked sections.
	awake   atomic.Bool
	dirty   []int32
	isDirty []bool

	mu   sync.Mutex // serialises building of hot structures
	hot  atomic.Pointer[hotSet]
	pool sync.Pool

	// The censuses of task shapes that failed or were surveyed (census.go)
	// and the log of changed slots they follow. Observe appends to the
	// log under the cluster's write lock once logging is set; the rest is
	// guarded by censusMu, taken inside a Read.
	censusMu   sync.Mutex
	censuses   []*census
	censusUses uint64
	touched    []touchedFit
	logging    bool
	changeLog  []int32
	logBase    uint64
}

type groupCount struct {
	group string
	n     int32
}

// hotSet is the index built on demand; the maps are copied on write.
type hotSet struct {
	attrs  map[string]*attrIndex
	trees  map[treeKey]*tree
	counts map[countKey]*spreadCount
	pairs  map[[2]string]*pairCount
	groups int // group trees among trees
}

// pairCount counts the instances per pair of values of two attributes: a
// spread attribute and a memberOf attribute. A spread value none of whose
// instances has an allowed memberOf value is skipped without a walk.
type pairCount struct {
	a, m   *attrIndex
	counts map[[2]int32]int32
	slot   []int64 // per slot, the pair it is counted under, or -1
}

func pairOf(a, m int32) [2]int32 { return [2]int32{a, m} }

func (pc *pairCount) recount(s int32) {
	for int(s) >= len(pc.slot) {
		pc.slot = append(pc.slot, -1)
	}
	if old := pc.slot[s]; old >= 0 {
		k := pairOf(int32(old>>32), int32(old&0xffffffff))
		if pc.counts[k]--; pc.counts[k] == 0 {
			delete(pc.counts, k)
		}
	}
	a, m := pc.a.slot[s], pc.m.slot[s]
	pc.counts[pairOf(a, m)]++
	pc.slot[s] = int64(a)<<32 | int64(m)
}

// treeKey names a tree built on demand. Its level is, for an attribute
// tree (attr only), the id of the instance's value of attr; for a group
// tree (group only), the group's task count on the instance; for a
// group-attribute tree (both), value id << 32 | count, so that the
// instances of one value come together, least loaded first.
type treeKey struct {
	grouped     bool // a group or group-attribute tree (group may be "")
	group, attr string
	p           primary
}

// levelOf computes slot s's level in the tree k.
func (e *Engine) levelOf(h *hotSet, k treeKey, s int32) int64 {
	var count, id int64
	if k.grouped {
		count = int64(e.groupSlots[k.group][s])
	}
	if k.attr != "" {
		id = int64(h.attrs[k.attr].slot[s])
	}
	switch {
	case !k.grouped:
		return id
	case k.attr == "":
		return count
	}
	return id<<32 | count
}

type countKey struct{ group, attr string }

// attrIndex numbers the values of one attribute; id 0 is "missing".
type attrIndex struct {
	name   string
	ids    map[string]int32
	values []string
	slot   []int32 // per slot, the id of its value
	built  []bool  // per slot, whether slot holds its value yet
}

func (ai *attrIndex) id(value string) int32 {
	if id, ok := ai.ids[value]; ok {
		return id
	}
	id := int32(len(ai.values))
	ai.ids[value] = id
	ai.values = append(ai.values, value)
	return id
}

// spreadCount is one group's task count per value of one attribute.
type spreadCount struct {
	ai     *attrIndex
	counts []int64 // by value id
}

// spreadView is a spreadCount as one Place sees it: with the pending
// placements and releases of the call added, per value id.
type spreadView struct {
	c   *spreadCount
	adj map[int32]int64
}

func (sv *spreadView) reset(c *spreadCount, p *cluster.Pending, group string) {
	sv.c = c
	if sv.adj == nil {
		sv.adj = map[int32]int64{}
	}
	clear(sv.adj)
	for pi := range p.Instances() {
		if n := p.GroupCount(pi, group); n != 0 {
			sv.adj[c.ai.slot[pi.Slot()]] += int64(n)
		}
	}
}

// of returns the group's tasks on in's value, the pending ones included.
func (sv *spreadView) of(in *cluster.Instance) int64 {
	return sv.byID(sv.c.ai.slot[in.Slot()])
}

func (sv *spreadView) byID(id int32) int64 {
	return sv.c.base(id) + sv.adj[id]
}

func (c *spreadCount) add(id int32, n int64) {
	for int(id) >= len(c.counts) {
		c.counts = append(c.counts, 0)
	}
	c.counts[id] += n
}

func (c *spreadCount) base(id int32) int64 {
	if int(id) < len(c.counts) {
		return c.counts[id]
	}
	return 0
}

// scratch is per-Place working memory, pooled so that a steady-state Place
// allocates nothing.
type scratch struct {
	mIDs   []int32
	target target
	stack  []int32
	views  []spreadView
	vecs   []*spreadView
	levels []levelEntry
	ranker ranker
}

type levelEntry struct {
	count int64
	id    int32
}

// NewEngine returns an empty engine whose tie-break order comes from seed.
func NewEngine(seed uint64) *Engine {
	e := &Engine{seed: seed, groupSlots: map[string]map[int32]int32{}}
	e.hot.Store(&hotSet{attrs: map[string]*attrIndex{}, trees: map[treeKey]*tree{}, counts: map[countKey]*spreadCount{}, pairs: map[[2]string]*pairCount{}})
	e.pool.New = func() any { return &scratch{} }
	return e
}

func (e *Engine) growTo(n int, h *hotSet) {
	if more := n - len(e.eligible); more > 0 {
		e.eligible = slices.Grow(e.eligible, more)
		e.sl.cpu, e.sl.mem, e.sl.gpu = slices.Grow(e.sl.cpu, more), slices.Grow(e.sl.mem, more), slices.Grow(e.sl.gpu, more)
		e.sl.eni = slices.Grow(e.sl.eni, more)
		e.sl.tie, e.sl.prio = slices.Grow(e.sl.tie, more), slices.Grow(e.sl.prio, more)
		e.slotGroups, e.attrEpoch = slices.Grow(e.slotGroups, more), slices.Grow(e.attrEpoch, more)
	}
	for len(e.eligible) < n {
		slot := len(e.eligible)
		e.eligible = append(e.eligible, false)
		e.sl.cpu = append(e.sl.cpu, 0)
		e.sl.mem = append(e.sl.mem, 0)
		e.sl.gpu = append(e.sl.gpu, 0)
		e.sl.eni = append(e.sl.eni, 0)
		e.sl.tie = append(e.sl.tie, tieKey(e.seed, slot))
		e.sl.prio = append(e.sl.prio, uint32(tieKey(^e.seed, slot)>>32))
		e.slotGroups = append(e.slotGroups, nil)
		e.attrEpoch = append(e.attrEpoch, -1)
	}
	if len(h.trees) == 0 && len(h.attrs) == 0 {
		return // nothing built yet: the common case of RunTask's random spread
	}
	for _, t := range h.trees {
		t.grow(n)
	}
	for _, ai := range h.attrs {
		for len(ai.slot) < n {
			ai.slot = append(ai.slot, 0)
			ai.built = append(ai.built, false)
		}
	}
}

func (e *Engine) eachTree(h *hotSet, f func(*tree)) {
	for _, t := range h.trees {
		f(t)
	}
}

// Observe implements [cluster.Observer]: it re-keys the changed instance in
// every tree and updates the group counts. Cost: O(log n) per tree, plus
// the instance's groups times the indexed attributes; O(1) until the
// engine's first Place.
func (e *Engine) Observe(ch cluster.Change) {
	e.logChange(int32(ch.Instance.Slot()))
	if e.awake.Load() {
		e.observe(ch.Instance)
		return
	}
	s := ch.Instance.Slot()
	for s >= len(e.isDirty) {
		e.isDirty = append(e.isDirty, false)
	}
	if !e.isDirty[s] {
		e.isDirty[s] = true
		e.dirty = append(e.dirty, int32(s))
	}
}

// wake brings a dormant engine up to date with the instances that changed
// since it was made, once. Call it inside a Read: the instances do not
// change meanwhile, and concurrent Places wait on e.mu until it is done.
func (e *Engine) wake(v *cluster.View) {
	if e.awake.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.awake.Load() {
		return
	}
	e.growTo(v.NumSlots(), e.hot.Load()) // once, not slot by slot
	for _, s := range e.dirty {          // each slot's state depends on its instance only
		if in := v.InstanceAt(int(s)); in != nil {
			e.observe(in)
		}
	}
	e.dirty, e.isDirty = nil, nil
	e.awake.Store(true)
}

// observe brings slot in.Slot() up to date with in.
func (e *Engine) observe(in *cluster.Instance) {
	s := int32(in.Slot())
	h := e.hot.Load()
	e.growTo(int(s)+1, h)
	if e.eligible[s] && len(h.trees) > 0 {
		e.eachTree(h, func(t *tree) { t.remove(&e.sl, s) })
	}
	e.sl.cpu[s], e.sl.mem[s], e.sl.gpu[s] = in.RemainingCPU(), in.RemainingMemory(), int64(in.FreeGPUs())
	e.sl.eni[s] = int64(in.FreeENIs())

	// Attribute values: move the slot's group counts to its new value
	// (only when the attributes changed: most changes are resources).
	attrsChanged := e.attrEpoch[s] != in.AttributesEpoch()
	e.attrEpoch[s] = in.AttributesEpoch()
	for name, ai := range h.attrs {
		if !attrsChanged && ai.built[s] {
			continue
		}
		ai.built[s] = true
		old, nw := ai.slot[s], ai.id(attrValue(in, name))
		if old == nw {
			continue
		}
		ai.slot[s] = nw
		for k, c := range h.counts {
			if k.attr != name {
				continue
			}
			for _, g := range e.slotGroups[s] {
				if g.group == k.group {
					c.add(old, -int64(g.n))
					c.add(nw, int64(g.n))
				}
			}
		}
	}
	// Group counts: apply the differences — once something needs them.
	if e.tracking {
		e.observeGroups(h, in, s)
	}
	for _, pc := range h.pairs {
		if attrsChanged || int(s) >= len(pc.slot) || pc.slot[s] < 0 {
			pc.recount(s)
		}
	}
	for k, t := range h.trees {
		t.level[s] = e.levelOf(h, k, s)
	}

	e.eligible[s] = in.Status() == cluster.InstanceActive && in.AgentConnected()
	if e.eligible[s] && len(h.trees) > 0 {
		e.eachTree(h, func(t *tree) { t.insert(&e.sl, s) })
	}
}

// observeGroups applies the changes of slot s's group counts.
func (e *Engine) observeGroups(h *hotSet, in *cluster.Instance, s int32) {
	old := e.slotGroups[s]
	for _, g := range old {
		if in.GroupCount(g.group) == 0 {
			e.groupDelta(h, s, g.group, -int64(g.n), 0)
		}
	}
	fresh := e.groupScratch[:0]
	for g, n := range in.Groups() {
		was := int64(0)
		for _, o := range old {
			if o.group == g {
				was = int64(o.n)
			}
		}
		if int64(n) != was {
			e.groupDelta(h, s, g, int64(n)-was, int64(n))
		}
		fresh = append(fresh, groupCount{group: g, n: int32(n)})
	}
	e.slotGroups[s] = append(old[:0], fresh...) // reuse the slot's memory
	e.groupScratch = fresh
}

// groupDelta records that slot s now has n tasks of group, delta more than
// before.
func (e *Engine) groupDelta(h *hotSet, s int32, group string, delta, n int64) {
	m := e.groupSlots[group]
	if m == nil {
		m = map[int32]int32{}
		e.groupSlots[group] = m
	}
	if n == 0 {
		delete(m, s)
		if len(m) == 0 {
			delete(e.groupSlots, group)
		}
	} else {
		m[s] = int32(n)
	}
	for k, c := range h.counts {
		if k.group == group {
			c.add(c.ai.slot[s], delta)
		}
	}
}

// startTracking fills the group counts from the view and has the change
// feed keep them from now on. Call it under e.mu, inside a Read.
func (e *Engine) startTracking(v *cluster.View) {
	if e.tracking {
		return
	}
	clear(e.groupSlots)
	for i := range e.slotGroups {
		in := v.InstanceAt(i)
		if in == nil {
			continue
		}
		var gs []groupCount
		for g, n := range in.Groups() {
			gs = append(gs, groupCount{group: g, n: int32(n)})
			m := e.groupSlots[g]
			if m == nil {
				m = map[int32]int32{}
				e.groupSlots[g] = m
			}
			m[int32(i)] = int32(n)
		}
		e.slotGroups[i] = gs
	}
	e.tracking = true
}

// publish builds what f adds to a copy of the hot set and publishes it.
// It runs under the cluster's read lock, so the instances do not change.
func (e *Engine) publish(f func(h *hotSet)) *hotSet {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.hot.Load()
	h := &hotSet{
		attrs:  make(map[string]*attrIndex, len(old.attrs)+1),
		trees:  make(map[treeKey]*tree, len(old.trees)+1),
		counts: make(map[countKey]*spreadCount, len(old.counts)+1),
		pairs:  make(map[[2]string]*pairCount, len(old.pairs)+1),
		groups: old.groups,
	}
	for k, v := range old.pairs {
		h.pairs[k] = v
	}
	for k, v := range old.attrs {
		h.attrs[k] = v
	}
	for k, v := range old.trees {
		h.trees[k] = v
	}
	for k, v := range old.counts {
		h.counts[k] = v
	}
	f(h)
	e.hot.Store(h)
	return h
}

func (e *Engine) attrIndexLocked(v *cluster.View, h *hotSet, name string) *attrIndex {
	if ai := h.attrs[name]; ai != nil {
		return ai
	}
	ai := &attrIndex{name: name, ids: map[string]int32{missingValue: 0}, values: []string{missingValue}}
	ai.slot = make([]int32, len(e.eligible))
	ai.built = make([]bool, len(e.eligible))
	for i := range ai.slot {
		if in := v.InstanceAt(i); in != nil {
			ai.slot[i] = ai.id(attrValue(in, name))
			ai.built[i] = true
		}
	}
	h.attrs[name] = ai
	return ai
}

// tree returns the tree k, building it; nil when k needs a group and
// MaxGroupTrees such trees exist.
func (e *Engine) tree(v *cluster.View, k treeKey) *tree {
	h := e.hot.Load()
	if t := h.trees[k]; t != nil || (k.grouped && h.groups >= MaxGroupTrees) {
		return t
	}
	h = e.publish(func(h *hotSet) {
		if h.trees[k] != nil || (k.grouped && h.groups >= MaxGroupTrees) {
			return
		}
		if k.attr != "" {
			e.attrIndexLocked(v, h, k.attr)
		}
		if k.grouped {
			e.startTracking(v)
		}
		t := newTree(k.p, true)
		t.grow(len(e.eligible))
		var members []int32
		for s := range e.eligible {
			t.level[s] = e.levelOf(h, k, int32(s))
			if e.eligible[s] {
				members = append(members, int32(s))
			}
		}
		t.build(&e.sl, members)
		h.trees[k] = t
		if k.grouped {
			h.groups++
		}
	})
	return h.trees[k]
}

// pairCounts returns the value pair counts of attributes a and m, building
// them.
func (e *Engine) pairCounts(v *cluster.View, a, m string) *pairCount {
	k := [2]string{a, m}
	h := e.hot.Load()
	if pc := h.pairs[k]; pc != nil {
		return pc
	}
	h = e.publish(func(h *hotSet) {
		if h.pairs[k] != nil {
			return
		}
		pc := &pairCount{a: e.attrIndexLocked(v, h, a), m: e.attrIndexLocked(v, h, m), counts: map[[2]int32]int32{}}
		for s := range e.eligible {
			pc.recount(int32(s))
		}
		h.pairs[k] = pc
	})
	return h.pairs[k]
}

// spreadCounts returns group's task counts per value of attr, building them.
func (e *Engine) spreadCounts(v *cluster.View, group, attr string) *spreadCount {
	k := countKey{group: group, attr: attr}
	h := e.hot.Load()
	if c := h.counts[k]; c != nil {
		return c
	}
	h = e.publish(func(h *hotSet) {
		if h.counts[k] != nil {
			return
		}
		ai := e.attrIndexLocked(v, h, attr)
		e.startTracking(v)
		c := &spreadCount{ai: ai}
		for s, n := range e.groupSlots[group] {
			c.add(ai.slot[s], int64(n))
		}
		h.counts[k] = c
	})
	return h.counts[k]
}

// Place decides where the task of req goes, with the undecided placements
// p (may be nil) counted as placed. Call it inside [cluster.Cluster.Read]
// of the cluster the engine follows. It picks what [Reference] picks.
func (e *Engine) Place(v *cluster.View, req *Request, p *cluster.Pending) Decision {
	e.wake(v)
	ss := req.Strategies
	if slicesContainsRandom(ss) && ss[0].typ != Random {
		return Reference(v, req, p, e.seed)
	}
	sc := e.pool.Get().(*scratch)
	defer e.pool.Put(sc)
	if len(ss) > 0 && ss[0].typ == Random {
		return e.placeRandom(v, req, p, sc)
	}
	if len(sc.views) < len(ss) {
		sc.views = make([]spreadView, len(ss))
	}
	sc.vecs = slices.Grow(sc.vecs[:0], len(ss))[:len(ss)]
	clear(sc.vecs)
	for i, s := range ss {
		if s.typ == Spread && s.field == fieldAttribute {
			sc.views[i].reset(e.spreadCounts(v, req.Spec.Group, s.attr), p, req.Spec.Group)
			sc.vecs[i] = &sc.views[i]
		}
	}
	sc.ranker = ranker{req: req, p: p, seed: e.seed, vecs: sc.vecs}
	if d, ok := e.placeIndexed(v, req, p, sc); ok {
		return d
	}
	return Reference(v, req, p, e.seed)
}

// best tracks the best candidate of a placement by the request's ranking.
type best struct {
	rk *ranker
	in *cluster.Instance
}

func (b *best) consider(in *cluster.Instance) {
	if b.in == nil || b.rk.compare(in, b.in) < 0 {
		b.in = in
	}
}

// placeIndexed answers the chains the index can (see [Engine]); ok is false
// when the reference must decide.
func (e *Engine) placeIndexed(v *cluster.View, req *Request, p *cluster.Pending, sc *scratch) (Decision, bool) {
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
	d := req.Spec.Demand
	prim, primLo := primaryNone, int64(0)
	if b >= 0 {
		prim, primLo = primaryMemory, d.Memory()
		if ss[b].field == fieldCPU {
			prim, primLo = primaryCPU, d.CPU()
		}
	}
	bst := best{rk: &sc.ranker}
	if i < len(ss) {
		if b != 0 {
			return Decision{}, false
		}
		e.tieClass(v, req, p, sc, prim, primLo, &bst)
		return e.decide(v, req, p, bst.in), true
	}
	group := req.Spec.Group
	first := func(t *tree, sp span, filter func(*cluster.Instance) bool) {
		sc.stack = t.walk(&e.sl, sp, d.CPU(), d.Memory(), int64(d.GPUs()), int64(d.ENIs()), sc.stack, func(s int32) bool {
			in := v.InstanceAt(int(s))
			if p.Touched(in) || (filter != nil && !filter(in)) || reason(in, req, nil, &sc.target) != cluster.ReasonNone {
				return false
			}
			bst.consider(in)
			return true
		})
	}
	pendingAt := func(filter func(*cluster.Instance) bool) {
		for in := range p.Instances() {
			if bst.in != nil && sc.ranker.compare(in, bst.in) >= 0 {
				continue // cannot win: skip the fit test
			}
			if (filter == nil || filter(in)) && reason(in, req, p, &sc.target) == cluster.ReasonNone {
				bst.consider(in)
			}
		}
	}
	// memberOf pinning an attribute to a few values: walk only those.
	mName, mValues, _, mOK := memberOfEquals(req.Constraints)
	byMember := func(filter func(*cluster.Instance) bool) {
		t := e.tree(v, treeKey{attr: mName, p: prim})
		ai := e.hot.Load().attrs[mName]
		for _, val := range mValues {
			if id, ok := ai.ids[val]; ok {
				first(t, span{lo: int64(id), hi: int64(id), primLo: primLo}, filter)
			}
		}
	}
	if sA < 0 {
		switch {
		case sI >= 0:
			gt := e.tree(v, treeKey{grouped: true, group: group, p: prim})
			if gt == nil {
				return Decision{}, false
			}
			first(gt, allLevels, nil)
		case mOK:
			byMember(nil)
		default:
			first(e.tree(v, treeKey{p: prim}), span{lo: 0, hi: 0, primLo: primLo}, nil)
		}
		pendingAt(nil)
		return e.decide(v, req, p, bst.in), true
	}

	// Spread over an attribute first: its values in levels of equal task
	// counts, the least loaded first.
	vec := sc.vecs[sA]
	ai := vec.c.ai
	attr := ss[sA].attr
	var gat, at *tree
	if sI >= 0 {
		if gat = e.tree(v, treeKey{grouped: true, group: group, attr: attr, p: prim}); gat == nil {
			return Decision{}, false
		}
	} else if !mOK || mName == attr {
		at = e.tree(v, treeKey{attr: attr, p: prim})
	}
	var pc *pairCount
	var mIDs []int32
	if gat == nil && at == nil {
		pc = e.pairCounts(v, attr, mName)
		mIDs = sc.mIDs[:0]
		for _, val := range mValues {
			if id, ok := pc.m.ids[val]; ok {
				mIDs = append(mIDs, id)
			}
		}
		sc.mIDs = mIDs
	}
	sc.levels = sc.levels[:0]
	for id := range ai.values {
		sc.levels = append(sc.levels, levelEntry{count: vec.byID(int32(id)), id: int32(id)})
	}
	slices.SortFunc(sc.levels, func(a, b levelEntry) int { return cmp.Or(cmp.Compare(a.count, b.count), cmp.Compare(a.id, b.id)) })
	for lo := 0; lo < len(sc.levels); {
		hi := lo
		for hi < len(sc.levels) && sc.levels[hi].count == sc.levels[lo].count {
			hi++
		}
		level := sc.levels[lo:hi]
		inLevel := func(in *cluster.Instance) bool {
			id := ai.slot[in.Slot()]
			for _, l := range level {
				if l.id == id {
					return true
				}
			}
			return false
		}
		switch {
		case gat != nil:
			for _, l := range level {
				base := int64(l.id) << 32
				first(gat, span{lo: base, hi: base | 0xffffffff, primLo: primLo}, nil)
			}
		case at != nil:
			for _, l := range level {
				first(at, span{lo: int64(l.id), hi: int64(l.id), primLo: primLo}, nil)
			}
		case pc != nil && !pc.anyAllowed(level, mIDs):
			// no instance of these values may run the task
		default:
			byMember(inLevel)
		}
		pendingAt(inLevel)
		if bst.in != nil {
			return Decision{Instance: bst.in}, true
		}
		lo = hi
	}
	return e.decide(v, req, p, nil), true
}

// tieClass handles binpack first followed by more rules: the least amount
// that fits, then the instances tied on it ranked by the rest.
func (e *Engine) tieClass(v *cluster.View, req *Request, p *cluster.Pending, sc *scratch, prim primary, primLo int64, bst *best) {
	d := req.Spec.Demand
	t := e.tree(v, treeKey{p: prim})
	found, tied := false, int64(0)
	sc.stack = t.walk(&e.sl, span{lo: 0, hi: 0, primLo: primLo}, d.CPU(), d.Memory(), int64(d.GPUs()), int64(d.ENIs()), sc.stack, func(s int32) bool {
		in := v.InstanceAt(int(s))
		if found && t.prim(&e.sl, s) != tied {
			return true
		}
		if p.Touched(in) || reason(in, req, nil, &sc.target) != cluster.ReasonNone {
			return false
		}
		bst.consider(in)
		found, tied = true, t.prim(&e.sl, s)
		return false
	})
	for in := range p.Instances() {
		if (bst.in == nil || sc.ranker.compare(in, bst.in) < 0) && reason(in, req, p, &sc.target) == cluster.ReasonNone {
			bst.consider(in)
		}
	}
}

func (e *Engine) decide(v *cluster.View, req *Request, p *cluster.Pending, in *cluster.Instance) Decision {
	if in != nil {
		return Decision{Instance: in}
	}
	return e.explainCensus(v, req, p)
}

// memberOfEquals finds a memberOf constraint that pins an attribute to a
// few values, so the attribute tree can answer it.
func memberOfEquals(cs Constraints) (string, []string, bool, bool) {
	for _, c := range cs {
		if c.typ != MemberOf {
			continue
		}
		if name, values, exact, ok := c.expr.attributeEquals(); ok {
			return name, values, exact, true
		}
	}
	return "", nil, false, false
}

// placeRandom is a leading random strategy, drawn exactly as the reference
// draws it.
func (e *Engine) placeRandom(v *cluster.View, req *Request, p *cluster.Pending, sc *scratch) Decision {
	t := &sc.target
	n := v.NumSlots()
	d := req.Spec.Demand
	for range SampleTries {
		s := req.Rand.IntN(max(n, 1))
		in := v.InstanceAt(s)
		if in == nil {
			continue
		}
		// The engine's compact arrays reject most misses without touching
		// the instance record; an instance the call touched (a release
		// frees room) gets the full test.
		if !p.Touched(in) && (s >= len(e.eligible) || !e.eligible[s] || e.sl.cpu[s] < d.CPU() || e.sl.mem[s] < d.Memory()) {
			continue
		}
		if reason(in, req, p, t) == cluster.ReasonNone {
			return Decision{Instance: in}
		}
	}
	offset := req.Rand.Uint64()
	var found *cluster.Instance
	for in := range v.Instances() {
		if reason(in, req, p, t) == cluster.ReasonNone &&
			(found == nil || tieKey(e.seed, in.Slot())-offset < tieKey(e.seed, found.Slot())-offset) {
			found = in
		}
	}
	return e.decide(v, req, p, found)
}

// anyAllowed reports whether some instance has one of the level's values
// of the spread attribute and one of the allowed values of the memberOf
// attribute.
func (pc *pairCount) anyAllowed(level []levelEntry, allowed []int32) bool {
	for _, l := range level {
		for _, m := range allowed {
			if pc.counts[pairOf(l.id, m)] > 0 {
				return true
			}
		}
	}
	return false
}
