package placement_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		typ, field string
		wantType   placement.StrategyType
		wantString string
	}{
		{"binpack", "cpu", placement.Binpack, "binpack(cpu)"},
		{"binpack", "memory", placement.Binpack, "binpack(memory)"},
		{"binpack", "MEMORY", placement.Binpack, "binpack(MEMORY)"}, // binpack's fields are case-insensitive
		{"binpack", "Cpu", placement.Binpack, "binpack(Cpu)"},
		{"spread", "instanceId", placement.Spread, "spread(instanceId)"},
		{"spread", "host", placement.Spread, "spread(host)"},
		{"spread", "attribute:ecs.availability-zone", placement.Spread, "spread(attribute:ecs.availability-zone)"},
		{"spread", "attribute:rack", placement.Spread, "spread(attribute:rack)"},
		{"random", "", placement.Random, "random"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.field, func(t *testing.T) {
			s, err := placement.ParseStrategy(tt.typ, tt.field)
			require.NoError(t, err)
			assert.Equal(t, tt.wantType, s.Type())
			assert.Equal(t, tt.typ, s.Type().String())
			assert.Equal(t, tt.field, s.Field(), "Field returns the field as given")
			assert.Equal(t, tt.wantString, s.String())
			assert.Equal(t, s, placement.MustParseStrategy(tt.typ, tt.field))
		})
	}
}

func TestParseStrategyInvalid(t *testing.T) {
	tests := []struct {
		name, typ, field string
		wantInMessage    string
	}{
		{"binpack without field", "binpack", "", "binpack field must be cpu or memory"},
		{"binpack on gpu", "binpack", "gpu", `not "gpu"`},
		{"binpack on an attribute", "binpack", "attribute:ecs.availability-zone", "binpack field"},
		{"spread without field", "spread", "", "spread field must be instanceId, host or attribute:<name>"},
		{"spread field is case-sensitive", "spread", "instanceid", `not "instanceid"`},
		{"spread on attribute without name", "spread", "attribute:", `not "attribute:"`},
		{"spread on cpu", "spread", "cpu", "spread field"},
		{"random with a field", "random", "instanceId", `random takes no field, got "instanceId"`},
		{"unknown type", "pack", "cpu", `binpack, spread or random, not "pack"`},
		{"type is case-sensitive", "Binpack", "cpu", `not "Binpack"`},
		{"empty type", "", "", "strategy type must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := placement.ParseStrategy(tt.typ, tt.field)
			require.ErrorIs(t, err, placement.ErrInvalid)
			assert.Contains(t, err.Error(), tt.wantInMessage)
			assert.Equal(t, placement.Strategy{}, s, "a failed parse returns the zero Strategy")
			assert.Panics(t, func() { placement.MustParseStrategy(tt.typ, tt.field) })
		})
	}
}

func TestStrategyTypeString(t *testing.T) {
	assert.Equal(t, "binpack", placement.Binpack.String())
	assert.Equal(t, "spread", placement.Spread.String())
	assert.Equal(t, "random", placement.Random.String())
	assert.Empty(t, placement.StrategyType(0).String())
	assert.Empty(t, placement.Strategy{}.String(), "the zero Strategy has no name")
}

func TestParseConstraint(t *testing.T) {
	tests := []struct {
		typ, expression string
		wantType        placement.ConstraintType
		wantExpression  string // canonical form; "" for none
	}{
		{"distinctInstance", "", placement.DistinctInstance, ""},
		{"memberOf", "attribute:ecs.instance-type == t2.small", placement.MemberOf, "attribute:ecs.instance-type == t2.small"},
		{"memberOf", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", placement.MemberOf, "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		{"memberOf", "not(task:group == database)", placement.MemberOf, "not(task:group == database)"},
		{"memberOf", "task:group equals service:production", placement.MemberOf, "task:group == service:production"},
		{"memberOf", "runningTasksCount == 1", placement.MemberOf, "runningTasksCount == 1"},
		{"memberOf", "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", placement.MemberOf, "ec2InstanceId in [i-abcd1234, i-wxyx7890]"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.expression, func(t *testing.T) {
			c, err := placement.ParseConstraint(tt.typ, tt.expression)
			require.NoError(t, err)
			assert.Equal(t, tt.wantType, c.Type())
			assert.Equal(t, tt.typ, c.Type().String())
			if tt.wantExpression == "" {
				assert.Nil(t, c.Expression())
			} else {
				require.NotNil(t, c.Expression())
				assert.Equal(t, tt.wantExpression, c.Expression().String())
			}
			assert.Equal(t, c, placement.MustParseConstraint(tt.typ, tt.expression))
		})
	}
}

func TestParseConstraintInvalid(t *testing.T) {
	tests := []struct {
		name, typ, expression string
		wantInMessage         string
		wantSyntaxError       bool
	}{
		{"distinctInstance with an expression", "distinctInstance", "runningTasksCount == 0",
			"You can't specify an expression if the constraint type is distinctInstance", false},
		{"memberOf without expression", "memberOf", "", "memberOf requires an expression", false},
		{"memberOf with a malformed expression", "memberOf", "attribute:rack ==", "memberOf expression: column", true},
		{"memberOf with an invalid regex", "memberOf", `attribute:x =~ (a)\1`, "memberOf expression", true},
		{"memberOf too long", "memberOf", "attribute:x == " + strings.Repeat("a", placement.MaxExpressionLength), "memberOf expression", true},
		{"unknown type", "member", "attribute:rack == r1", `distinctInstance or memberOf (or Stevedore's maxPerInstance), not "member"`, false},
		{"type is case-sensitive", "DistinctInstance", "", `not "DistinctInstance"`, false},
		{"maxPerInstance without a number", "maxPerInstance", "", "whole number from 1 to", false},
		{"maxPerInstance of 0", "maxPerInstance", "0", "whole number from 1 to", false},
		{"maxPerInstance of words", "maxPerInstance", "two", "whole number from 1 to", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := placement.ParseConstraint(tt.typ, tt.expression)
			require.ErrorIs(t, err, placement.ErrInvalid)
			assert.Contains(t, err.Error(), tt.wantInMessage)
			_, isSyntax := errors.AsType[*placement.SyntaxError](err)
			assert.Equal(t, tt.wantSyntaxError, isSyntax, "a bad expression's *SyntaxError stays reachable with errors.As")
			assert.Equal(t, placement.Constraint{}, c)
			assert.Panics(t, func() { placement.MustParseConstraint(tt.typ, tt.expression) })
		})
	}
}

func TestConstraintTypeString(t *testing.T) {
	assert.Equal(t, "distinctInstance", placement.DistinctInstance.String())
	assert.Equal(t, "memberOf", placement.MemberOf.String())
	assert.Empty(t, placement.ConstraintType(0).String())
}

func TestRequestValidate(t *testing.T) {
	d, err := cluster.NewDemand(256, 512, nil, nil, 0)
	require.NoError(t, err)
	spec := &cluster.TaskSpec{Demand: d, Group: "family:web"}
	binpack := placement.MustParseStrategy("binpack", "memory")
	random := placement.MustParseStrategy("random", "")
	distinct := placement.MustParseConstraint("distinctInstance", "")
	rnd := rand.New(rand.NewPCG(1, 0))
	strategies := func(n int) []placement.Strategy {
		out := make([]placement.Strategy, n)
		for i := range out {
			out[i] = binpack
		}
		return out
	}
	constraints := func(n int) placement.Constraints {
		out := make(placement.Constraints, n)
		for i := range out {
			out[i] = distinct
		}
		return out
	}
	tests := []struct {
		name          string
		req           placement.Request
		wantInMessage string // "" for valid
	}{
		{"empty chain", placement.Request{Spec: spec}, ""},
		{"5 strategies", placement.Request{Spec: spec, Strategies: strategies(5)}, ""},
		{"6 strategies", placement.Request{Spec: spec, Strategies: strategies(6)}, "at most 5 placement strategies, got 6"},
		{"10 constraints", placement.Request{Spec: spec, Constraints: constraints(10)}, ""},
		{"11 constraints", placement.Request{Spec: spec, Constraints: constraints(11)}, "at most 10 placement constraints, got 11"},
		{"random with Rand", placement.Request{Spec: spec, Strategies: []placement.Strategy{binpack, random}, Rand: rnd}, ""},
		{"random without Rand", placement.Request{Spec: spec, Strategies: []placement.Strategy{binpack, random}}, "a random strategy needs Request.Rand"},
		{"no spec", placement.Request{}, "a request needs a task spec with a demand"},
		{"no demand", placement.Request{Spec: &cluster.TaskSpec{Group: "family:web"}}, "a request needs a task spec with a demand"},
		{"zero strategy", placement.Request{Spec: spec, Strategies: []placement.Strategy{{}}}, "a zero Strategy"},
		{"zero constraint", placement.Request{Spec: spec, Constraints: placement.Constraints{{}}}, "a zero Constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.wantInMessage == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, placement.ErrInvalid)
			assert.Contains(t, err.Error(), tt.wantInMessage)
		})
	}
	assert.Equal(t, 5, placement.MaxStrategies)
	assert.Equal(t, 10, placement.MaxConstraints)
}

func TestTallyString(t *testing.T) {
	tests := []struct {
		name string
		add  []cluster.Reason
		want string
	}{
		{"empty", nil, ""},
		{"one instance", []cluster.Reason{cluster.ReasonAgent}, "AGENT: 1 instance"},
		{"plural", []cluster.Reason{cluster.ReasonCPU, cluster.ReasonCPU, cluster.ReasonCPU}, "RESOURCE:CPU: 3 instances"},
		{"check order, not insertion order",
			[]cluster.Reason{cluster.ReasonAgent, cluster.ReasonCPU, cluster.ReasonCPU, cluster.ReasonCPU},
			"RESOURCE:CPU: 3 instances, AGENT: 1 instance"},
		{"every reason",
			[]cluster.Reason{
				cluster.ReasonMemberOf, cluster.ReasonDistinctInstance, cluster.ReasonAgent, cluster.ReasonAttribute,
				cluster.ReasonGPU, cluster.ReasonPortsUDP, cluster.ReasonPorts, cluster.ReasonMemory, cluster.ReasonCPU,
				cluster.ReasonDraining, cluster.ReasonInactive, cluster.ReasonMissing,
			},
			"MISSING: 1 instance, INACTIVE: 1 instance, DRAINING: 1 instance, RESOURCE:CPU: 1 instance, " +
				"RESOURCE:MEMORY: 1 instance, RESOURCE:PORTS: 1 instance, RESOURCE:PORTS_UDP: 1 instance, " +
				"RESOURCE:GPU: 1 instance, ATTRIBUTE: 1 instance, AGENT: 1 instance, " +
				"DistinctInstance placement constraint unsatisfied.: 1 instance, " +
				"MemberOf placement constraint unsatisfied.: 1 instance"},
		{"a distinctInstance failure",
			[]cluster.Reason{cluster.ReasonDistinctInstance, cluster.ReasonCPU, cluster.ReasonCPU},
			"RESOURCE:CPU: 2 instances, DistinctInstance placement constraint unsatisfied.: 1 instance"},
		{"ReasonNone is not listed", []cluster.Reason{cluster.ReasonNone, cluster.ReasonMemory}, "RESOURCE:MEMORY: 1 instance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tally placement.Tally
			for _, r := range tt.add {
				tally.Add(r)
			}
			assert.Equal(t, tt.want, tally.String())
		})
	}
}

func TestTallyCount(t *testing.T) {
	var tally placement.Tally
	tally.Add(cluster.ReasonMemory)
	tally.Add(cluster.ReasonMemory)
	tally.Add(cluster.Reason(200)) // out of range: ignored, not a panic
	assert.Equal(t, 2, tally.Count(cluster.ReasonMemory))
	assert.Equal(t, 0, tally.Count(cluster.ReasonCPU))
	assert.Equal(t, 0, tally.Count(cluster.Reason(200)))
}
