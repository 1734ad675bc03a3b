package placement

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
)

// Request asks where one task should go.
type Request struct {
	// Spec is the task: its demand and its group. Required.
	Spec *cluster.TaskSpec
	// Strategies is the chain of strategy rules, at most [MaxStrategies],
	// applied lexicographically: each later rule only orders the
	// candidates the earlier ones rank equal. An empty chain ranks every
	// candidate equal, so only the tie-break decides.
	Strategies []Strategy
	// Constraints must all hold on the chosen instance.
	Constraints Constraints
	// Rand supplies the draws of random strategies; required when the
	// chain has one.
	Rand *rand.Rand
}

// Validate checks the request's limits.
func (r *Request) Validate() error {
	switch {
	case r.Spec == nil || r.Spec.Demand == nil:
		return fmt.Errorf("%w: a request needs a task spec with a demand", ErrInvalid)
	case len(r.Strategies) > MaxStrategies:
		return fmt.Errorf("%w: at most %d placement strategies, got %d", ErrInvalid, MaxStrategies, len(r.Strategies))
	case len(r.Constraints) > MaxConstraints:
		return fmt.Errorf("%w: at most %d placement constraints, got %d", ErrInvalid, MaxConstraints, len(r.Constraints))
	}
	for _, s := range r.Strategies {
		if s.typ == 0 {
			return fmt.Errorf("%w: a zero Strategy; build strategies with ParseStrategy", ErrInvalid)
		}
		if s.typ == Random && r.Rand == nil {
			return fmt.Errorf("%w: a random strategy needs Request.Rand", ErrInvalid)
		}
	}
	for _, c := range r.Constraints {
		if c.typ == 0 {
			return fmt.Errorf("%w: a zero Constraint; build constraints with ParseConstraint", ErrInvalid)
		}
	}
	return nil
}

// Decision is where a task goes, or why it cannot go anywhere.
type Decision struct {
	// Instance is the chosen instance, or nil when no instance can take
	// the task.
	Instance *cluster.Instance
	// Closest and Reason, when Instance is nil, are the closest matching
	// instance — the one whose first failing check comes latest in
	// [cluster.CheckOrder], the first registered on a tie — and that check;
	// Closest is nil when the cluster has no instance that is not
	// INACTIVE.
	Closest *cluster.Instance
	Reason  cluster.Reason
	// Tally, when Instance is nil, counts the instances that failed each
	// check (INACTIVE instances are not counted).
	Tally Tally
}

// Tally counts, per reason, how many instances failed a placement. Its
// String is the detail text of a placement failure.
type Tally [32]int32

// Add counts one instance failing with r.
func (t *Tally) Add(r cluster.Reason) {
	if int(r) < len(t) {
		t[r]++
	}
}

// Count returns how many instances failed with r.
func (t *Tally) Count(r cluster.Reason) int {
	if int(r) < len(t) {
		return int(t[r])
	}
	return 0
}

// String lists the non-zero counts in check order, e.g.
// "RESOURCE:CPU: 3 instances, AGENT: 1 instance".
func (t *Tally) String() string {
	var b strings.Builder
	for _, r := range cluster.CheckOrder {
		n := t.Count(r)
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d instance", r, n)
		if n != 1 {
			b.WriteByte('s')
		}
	}
	return b.String()
}

// SampleTries is how many uniform draws a leading random strategy makes
// before it falls back to a rotation: each draw picks a slot at random and
// takes it if the instance there can take the task, which is exactly
// uniform over the feasible instances. When all draws miss (fewer than
// about 1 in 10 instances can take the task), the pick is the first
// feasible instance in tie-break order after a random rotation — still
// random, no longer exactly uniform. [INF]
const SampleTries = 32

// tieKey is the final tie-break: a fixed pseudo-random order of the
// instances derived from the seed (SplitMix64 of seed ^ slot). Ties after
// it (a 64-bit collision) go to the lower slot.
func tieKey(seed uint64, slot int) uint64 {
	z := seed ^ (uint64(slot) + 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// missingValue stands for "the instance lacks the attribute" when spread
// counts tasks per attribute value: such instances together count as one
// more value. It cannot collide with a real value, which never holds NUL.
const missingValue = "\x00"

func attrValue(in *cluster.Instance, name string) string {
	if v, ok := in.Attribute(name); ok {
		return v
	}
	return missingValue
}
