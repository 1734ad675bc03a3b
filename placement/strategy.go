package placement

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
)

// Limits of a placement request (docs/semantics.md §3).
const (
	// MaxStrategies is the most strategy rules in a chain.
	MaxStrategies = 5
	// MaxConstraints is the most constraints on a task, its task
	// definition's and the call's together.
	MaxConstraints = 10
)

// ErrInvalid is wrapped by every error about a malformed strategy,
// constraint or request; the API maps it to InvalidParameterException.
var ErrInvalid = errors.New("invalid placement parameter")

// StrategyType is binpack, spread or random.
type StrategyType uint8

// The strategy types.
const (
	Binpack StrategyType = iota + 1
	Spread
	Random
)

// String returns the ECS name.
func (t StrategyType) String() string {
	switch t {
	case Binpack:
		return "binpack"
	case Spread:
		return "spread"
	case Random:
		return "random"
	}
	return ""
}

// field is what a strategy ranks by.
type field uint8

const (
	fieldNone field = iota
	fieldCPU
	fieldMemory
	fieldInstance  // instanceId or host
	fieldAttribute // attribute:NAME
)

// Strategy is one parsed placement strategy rule. Build it with
// [ParseStrategy]; the zero value is invalid.
type Strategy struct {
	typ   StrategyType
	field field
	attr  string // for fieldAttribute
	text  string // the field as given
}

// ParseStrategy parses an ECS placement strategy: binpack with field cpu or
// memory; spread with field instanceId, host (the same) or attribute:NAME;
// random with no field. Field names are matched as ECS documents them;
// binpack's are case-insensitive.
func ParseStrategy(typ, fieldName string) (Strategy, error) {
	s := Strategy{text: fieldName}
	switch typ {
	case "binpack":
		s.typ = Binpack
		switch strings.ToLower(fieldName) {
		case "cpu":
			s.field = fieldCPU
		case "memory":
			s.field = fieldMemory
		default:
			return Strategy{}, fmt.Errorf("%w: binpack field must be cpu or memory, not %q", ErrInvalid, fieldName)
		}
	case "spread":
		s.typ = Spread
		switch {
		case fieldName == "instanceId" || fieldName == "host":
			s.field = fieldInstance
		case strings.HasPrefix(fieldName, "attribute:") && len(fieldName) > len("attribute:"):
			s.field, s.attr = fieldAttribute, strings.TrimPrefix(fieldName, "attribute:")
		default:
			return Strategy{}, fmt.Errorf("%w: spread field must be instanceId, host or attribute:<name>, not %q", ErrInvalid, fieldName)
		}
	case "random":
		s.typ = Random
		if fieldName != "" {
			return Strategy{}, fmt.Errorf("%w: random takes no field, got %q", ErrInvalid, fieldName)
		}
	default:
		return Strategy{}, fmt.Errorf("%w: strategy type must be binpack, spread or random, not %q", ErrInvalid, typ)
	}
	return s, nil
}

// MustParseStrategy is ParseStrategy for strategies known when the program
// is written; it panics on error.
func MustParseStrategy(typ, fieldName string) Strategy {
	s, err := ParseStrategy(typ, fieldName)
	if err != nil {
		panic(err)
	}
	return s
}

// Type returns the strategy type.
func (s Strategy) Type() StrategyType { return s.typ }

// Field returns the field as given ("memory", "instanceId",
// "attribute:ecs.availability-zone", or "").
func (s Strategy) Field() string { return s.text }

// String returns "type" or "type(field)", e.g. "binpack(memory)".
func (s Strategy) String() string {
	if s.text == "" {
		return s.typ.String()
	}
	return s.typ.String() + "(" + s.text + ")"
}

// ConstraintType is distinctInstance, memberOf or Stevedore's
// maxPerInstance.
type ConstraintType uint8

// The constraint types.
const (
	DistinctInstance ConstraintType = iota + 1
	MemberOf
	// MaxPerInstance is Stevedore's extension: at most N tasks of the
	// task's group on one instance (the expression is N, from 1 to
	// [MaxPerInstanceLimit]); distinctInstance is maxPerInstance 1. ECS
	// has no such constraint: a call that uses it runs only on Stevedore.
	MaxPerInstance
)

// MaxPerInstanceLimit is the largest N a maxPerInstance constraint takes.
const MaxPerInstanceLimit = 1 << 20

// String returns the ECS name.
func (t ConstraintType) String() string {
	switch t {
	case DistinctInstance:
		return "distinctInstance"
	case MemberOf:
		return "memberOf"
	case MaxPerInstance:
		return "maxPerInstance"
	}
	return ""
}

// Constraint is one parsed placement constraint. Build it with
// [ParseConstraint].
type Constraint struct {
	typ   ConstraintType
	expr  *Expression
	text  string // the expression as given
	limit int32  // maxPerInstance's N
}

// ParseConstraint parses an ECS placement constraint: distinctInstance
// (which takes no expression) or memberOf with a cluster query language
// expression of at most 2000 characters; or Stevedore's maxPerInstance,
// whose expression is a whole number from 1 to [MaxPerInstanceLimit].
func ParseConstraint(typ, expression string) (Constraint, error) {
	switch typ {
	case "maxPerInstance":
		n, err := strconv.Atoi(strings.TrimSpace(expression))
		if err != nil || n < 1 || n > MaxPerInstanceLimit {
			return Constraint{}, fmt.Errorf("%w: maxPerInstance needs an expression that is a whole number from 1 to %d, not %q", ErrInvalid, MaxPerInstanceLimit, expression)
		}
		return Constraint{typ: MaxPerInstance, text: strconv.Itoa(n), limit: int32(n)}, nil
	case "distinctInstance":
		if expression != "" {
			return Constraint{}, fmt.Errorf("%w: You can't specify an expression if the constraint type is distinctInstance", ErrInvalid)
		}
		return Constraint{typ: DistinctInstance}, nil
	case "memberOf":
		if expression == "" {
			return Constraint{}, fmt.Errorf("%w: memberOf requires an expression", ErrInvalid)
		}
		e, err := ParseExpression(expression)
		if err != nil {
			return Constraint{}, fmt.Errorf("%w: memberOf expression: %w", ErrInvalid, err)
		}
		return Constraint{typ: MemberOf, expr: e, text: expression}, nil
	}
	return Constraint{}, fmt.Errorf("%w: constraint type must be distinctInstance or memberOf (or Stevedore's maxPerInstance), not %q", ErrInvalid, typ)
}

// MustParseConstraint is ParseConstraint for constraints known when the
// program is written; it panics on error.
func MustParseConstraint(typ, expression string) Constraint {
	c, err := ParseConstraint(typ, expression)
	if err != nil {
		panic(err)
	}
	return c
}

// Type returns the constraint type.
func (c Constraint) Type() ConstraintType { return c.typ }

// Limit returns maxPerInstance's N, or 0 for another type.
func (c Constraint) Limit() int { return int(c.limit) }

// Text returns the memberOf expression as it was given, maxPerInstance's
// N, or "".
func (c Constraint) Text() string { return c.text }

// Expression returns the memberOf expression, or nil.
func (c Constraint) Expression() *Expression { return c.expr }

// Constraints is the set of constraints on one task. All must hold. It
// implements [cluster.Guard], so a commit re-checks them.
type Constraints []Constraint

// check returns the first constraint that in (with the tasks in p counted)
// does not satisfy for a task of group, or ReasonNone. Constraints are
// checked in [cluster.CheckOrder] — distinctInstance, maxPerInstance,
// memberOf — whatever their order in the request, so the reported reason
// does not depend on how the call listed them.
func (cs Constraints) check(in *cluster.Instance, group string, p *cluster.Pending, t *target) cluster.Reason {
	for i := range cs {
		if cs[i].typ == DistinctInstance && in.GroupCount(group)+p.GroupCount(in, group) > 0 {
			return cluster.ReasonDistinctInstance
		}
	}
	for i := range cs {
		if cs[i].typ == MaxPerInstance && in.GroupCount(group)+p.GroupCount(in, group) >= int(cs[i].limit) {
			return cluster.ReasonMaxPerInstance
		}
	}
	for i := range cs {
		if cs[i].typ == MemberOf {
			t.in, t.p = in, p
			if !cs[i].expr.Match(t) {
				return cluster.ReasonMemberOf
			}
		}
	}
	return cluster.ReasonNone
}

// Check implements [cluster.Guard]: at commit time the tasks of the same
// commit placed before this one are already on the instance.
func (cs Constraints) Check(in *cluster.Instance, spec *cluster.TaskSpec) cluster.Reason {
	t := targets.Get().(*target)
	defer targets.Put(t)
	return cs.check(in, spec.Group, nil, t)
}

// targets recycles query targets, which escape to the heap through the
// QueryTarget interface.
var targets = sync.Pool{New: func() any { return new(target) }}

// target is an instance as a query target, with the undecided placements
// of the current call counted as its tasks (task:group sees them).
type target struct {
	in *cluster.Instance
	p  *cluster.Pending
}

func (t *target) Attribute(name string) (string, bool) { return t.in.Attribute(name) }
func (t *target) AgentConnected() bool                 { return t.in.AgentConnected() }
func (t *target) AgentVersion() string                 { return t.in.AgentVersion() }
func (t *target) EC2InstanceID() string                { return t.in.EC2InstanceID() }
func (t *target) RegisteredAt() time.Time              { return t.in.RegisteredAt() }
func (t *target) RunningTasksCount() int               { return t.in.RunningTasksCount() }
func (t *target) HasTaskGroup(group string) bool {
	return t.in.GroupCount(group)+t.p.GroupCount(t.in, group) > 0
}

// Reason returns the first constraint in does not satisfy for a task of
// group, with the undecided placements p (may be nil) counted, or
// cluster.ReasonNone.
func (cs Constraints) Reason(in *cluster.Instance, group string, p *cluster.Pending) cluster.Reason {
	if len(cs) == 0 {
		return cluster.ReasonNone
	}
	t := targets.Get().(*target)
	defer targets.Put(t)
	return cs.check(in, group, p, t)
}
