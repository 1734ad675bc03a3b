package placement

import (
	"math/bits"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
)

// A census is the fit of one task shape — a demand, a group and a set of
// constraints — over every instance of the cluster: each slot's first
// failing check (ReasonNone where the task fits), the slots of each reason
// as bit sets and their tally. The engine keeps a few, follows the change
// feed for them and brings one up to date when it is used, so that
// explaining a task that fits nowhere, and RunTask's pass over the
// feasible instances, cost the instances that changed since the census was
// last used rather than the cluster. A slot's reason depends on its
// instance alone (status, resources, ports, GPUs, attributes, agent, the
// instance's tasks for distinctInstance and task:group), so re-testing the
// changed instances is exact.
type census struct {
	key     censusKey
	reasons []cluster.Reason // per slot; skipSlot for one not counted
	sets    [numCensusSets]slotSet
	tally   Tally
	pos     uint64 // the change-log position applied
	used    uint64 // the engine's use counter when last used
}

// censusKey names a task shape: demands are shared by the tasks of one
// task definition, so the pointer identifies one.
type censusKey struct {
	demand      *cluster.Demand
	group       string
	constraints string
}

const (
	// maxCensuses bounds the task shapes the engine keeps a census of;
	// the least recently used goes first.
	maxCensuses = 8
	// skipSlot marks a slot explain does not count: no instance, or an
	// INACTIVE one.
	skipSlot      cluster.Reason = 255
	numCensusSets                = 16
)

// maxChangeLog bounds the change log; past it the log restarts and the
// censuses behind it are rebuilt when next used (an O(n) pass per that many
// changes). A variable so that the tests can make it small.
var maxChangeLog = 1 << 16

// Every reason has a set: numCensusSets exceeds the last reason.
const _ = uint(numCensusSets - len(cluster.CheckOrder) - 1)

// slotSet is a bit set of slots.
type slotSet []uint64

func (s *slotSet) set(i int) {
	for i>>6 >= len(*s) {
		*s = append(*s, 0)
	}
	(*s)[i>>6] |= 1 << (i & 63)
}

func (s slotSet) clear(i int) {
	if i>>6 < len(s) {
		s[i>>6] &^= 1 << (i & 63)
	}
}

func (s slotSet) has(i int) bool { return i>>6 < len(s) && s[i>>6]&(1<<(i&63)) != 0 }

// keyOf returns the census key of req.
func keyOf(req *Request) censusKey {
	k := censusKey{demand: req.Spec.Demand, group: req.Spec.Group}
	if len(req.Constraints) > 0 {
		var b strings.Builder
		for _, c := range req.Constraints {
			b.WriteString(c.Type().String())
			b.WriteByte(0)
			b.WriteString(c.Text())
			b.WriteByte(0)
		}
		k.constraints = b.String()
	}
	return k
}

// logChange records that slot s changed, for the censuses. It runs in
// Observe, under the cluster's write lock.
func (e *Engine) logChange(s int32) {
	if !e.logging {
		return
	}
	if len(e.changeLog) >= maxChangeLog {
		e.logBase += uint64(len(e.changeLog))
		e.changeLog = e.changeLog[:0]
	}
	e.changeLog = append(e.changeLog, s)
}

// censusOf returns req's census, up to date with v. Call it with
// e.censusMu held, inside a Read.
func (e *Engine) censusOf(v *cluster.View, req *Request) *census {
	e.censusUses++
	k := keyOf(req)
	var c *census
	for _, x := range e.censuses {
		if x.key == k {
			c = x
		}
	}
	var t target
	switch {
	case c == nil:
		c = &census{key: k}
		if len(e.censuses) < maxCensuses {
			e.censuses = append(e.censuses, c)
		} else {
			oldest := 0
			for i, x := range e.censuses {
				if x.used < e.censuses[oldest].used {
					oldest = i
				}
			}
			e.censuses[oldest] = c
		}
		e.logging = true
		c.rebuild(v, req, &t, e.logBase+uint64(len(e.changeLog)))
	case c.pos < e.logBase:
		c.rebuild(v, req, &t, e.logBase+uint64(len(e.changeLog)))
	default:
		for _, s := range e.changeLog[c.pos-e.logBase:] {
			c.update(v, req, int(s), &t)
		}
		c.pos = e.logBase + uint64(len(e.changeLog))
		for s := len(c.reasons); s < v.NumSlots(); s++ {
			c.update(v, req, s, &t) // registered before the log began
		}
	}
	c.used = e.censusUses
	return c
}

func (c *census) rebuild(v *cluster.View, req *Request, t *target, pos uint64) {
	c.reasons = c.reasons[:0]
	for i := range c.sets {
		clear(c.sets[i])
	}
	c.tally = Tally{}
	for s := range v.NumSlots() {
		c.update(v, req, s, t)
	}
	c.pos = pos
}

// update re-tests slot s.
func (c *census) update(v *cluster.View, req *Request, s int, t *target) {
	for s >= len(c.reasons) {
		c.reasons = append(c.reasons, skipSlot)
	}
	r := skipSlot
	if in := v.InstanceAt(s); in != nil && in.Status() != cluster.InstanceInactive {
		r = reason(in, req, nil, t)
	}
	old := c.reasons[s]
	if old == r {
		return
	}
	if old != skipSlot {
		c.sets[old].clear(s)
		c.tally[old]--
	}
	if r != skipSlot {
		c.sets[r].set(s)
		c.tally[r]++
	}
	c.reasons[s] = r
}

// touchedFit is an instance the call's pending placements touch, with its
// exact reason.
type touchedFit struct {
	in     *cluster.Instance
	reason cluster.Reason // skipSlot for an INACTIVE one
}

// exact returns the tally with the pending placements' instances tested
// exactly, and those instances with their reasons.
func (c *census) exact(req *Request, p *cluster.Pending, t *target, touched []touchedFit) (Tally, []touchedFit) {
	tally := c.tally
	for in := range p.Instances() {
		s := in.Slot()
		if s < len(c.reasons) && c.reasons[s] != skipSlot {
			tally[c.reasons[s]]--
		}
		r := skipSlot
		if in.Status() != cluster.InstanceInactive {
			r = reason(in, req, p, t)
			tally.Add(r)
		}
		touched = append(touched, touchedFit{in: in, reason: r})
	}
	return tally, touched
}

// explainCensus is explain from the census: the same tally and closest
// instance, at the cost of the changes since the census was last used.
func (e *Engine) explainCensus(v *cluster.View, req *Request, p *cluster.Pending) Decision {
	e.censusMu.Lock()
	defer e.censusMu.Unlock()
	c := e.censusOf(v, req)
	var t target
	var d Decision
	d.Tally, e.touched = c.exact(req, p, &t, e.touched[:0])
	d.Closest, d.Reason = c.closest(v, p, e.touched)
	return d
}

// closest returns the instance whose first failing check comes latest in
// the check order, the lowest slot on a tie, with the pending placements'
// instances at their exact reasons.
func (c *census) closest(v *cluster.View, p *cluster.Pending, touched []touchedFit) (*cluster.Instance, cluster.Reason) {
	var best *cluster.Instance
	var bestReason cluster.Reason
	better := func(in *cluster.Instance, r cluster.Reason) bool {
		return best == nil || r.Closeness() > bestReason.Closeness() ||
			r.Closeness() == bestReason.Closeness() && in.Slot() < best.Slot()
	}
	for _, tf := range touched {
		if tf.reason != skipSlot && better(tf.in, tf.reason) {
			best, bestReason = tf.in, tf.reason
		}
	}
	// The best untouched slot: the first of the closest reason that has
	// one. Reasons rank by closeness: ReasonNone first, then from the last
	// check of the order back.
	for i := 0; i < numCensusSets; i++ {
		r := cluster.ReasonNone
		if i > 0 {
			r = cluster.Reason(numCensusSets - i)
		}
		if c.tally[r] == 0 {
			continue
		}
		for w, word := range c.sets[r] {
			for word != 0 {
				s := w<<6 + bits.TrailingZeros64(word)
				word &= word - 1
				in := v.InstanceAt(s)
				if p.Touched(in) {
					continue
				}
				if better(in, r) {
					best, bestReason = in, r
				}
				return best, bestReason
			}
		}
	}
	return best, bestReason
}

// Feasible answers RunTask's random spread when sampling found too few
// instances that can take the task: it counts the feasible instances
// (those the request fits, with the pending placements p counted) and
// returns the a-th and the b-th of them in slot order for the (a, b) that
// pick draws from their number n (b < 0: no second). When none is
// feasible it returns nils and the failure's Decision, as [Engine.Place]
// explains one. Cost: the instances changed since the request's task
// shape was last surveyed, plus O(n/64) to select; the first survey of a
// shape is O(n). Call it inside [cluster.Cluster.Read].
func (e *Engine) Feasible(v *cluster.View, req *Request, p *cluster.Pending, pick func(n int) (a, b int)) (first, second *cluster.Instance, failure Decision) {
	e.censusMu.Lock()
	defer e.censusMu.Unlock()
	c := e.censusOf(v, req)
	var t target
	tally, touched := c.exact(req, p, &t, e.touched[:0])
	e.touched = touched
	n := tally.Count(cluster.ReasonNone)
	if n == 0 {
		failure.Tally = tally
		failure.Closest, failure.Reason = c.closest(v, p, touched)
		return nil, nil, failure
	}
	a, b := pick(n)
	return c.nth(v, p, touched, a), c.nth(v, p, touched, b), Decision{}
}

// nth returns the k-th feasible instance in slot order (k < 0: nil): the
// census's feasible slots less the touched ones, plus the touched ones
// that are exactly feasible.
func (c *census) nth(v *cluster.View, p *cluster.Pending, touched []touchedFit, k int) *cluster.Instance {
	if k < 0 {
		return nil
	}
	feasible := c.sets[cluster.ReasonNone]
	words := max(len(feasible), (v.NumSlots()+63)>>6)
	for w := range words {
		var word uint64
		if w < len(feasible) {
			word = feasible[w]
		}
		for _, tf := range touched {
			if s := tf.in.Slot(); s>>6 == w {
				word &^= 1 << (s & 63)
				if tf.reason == cluster.ReasonNone {
					word |= 1 << (s & 63)
				}
			}
		}
		if n := bits.OnesCount64(word); k >= n {
			k -= n
			continue
		}
		for ; k > 0; k-- {
			word &= word - 1
		}
		return v.InstanceAt(w<<6 + bits.TrailingZeros64(word))
	}
	return nil
}
