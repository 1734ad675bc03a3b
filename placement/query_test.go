package placement

import (
	"errors"
	"fmt"
	"maps"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// fakeInstance is a QueryTarget for tests.
type fakeInstance struct {
	name       string // for failure messages
	attrs      map[string]string
	connected  bool
	version    string
	ec2ID      string
	registered time.Time
	running    int
	groups     []string
}

func (f *fakeInstance) Attribute(name string) (string, bool) {
	v, ok := f.attrs[name]
	return v, ok
}
func (f *fakeInstance) AgentConnected() bool           { return f.connected }
func (f *fakeInstance) AgentVersion() string           { return f.version }
func (f *fakeInstance) EC2InstanceID() string          { return f.ec2ID }
func (f *fakeInstance) RegisteredAt() time.Time        { return f.registered }
func (f *fakeInstance) RunningTasksCount() int         { return f.running }
func (f *fakeInstance) HasTaskGroup(group string) bool { return slices.Contains(f.groups, group) }
func (f *fakeInstance) String() string                 { return f.name }
func (f *fakeInstance) with(k, v string) *fakeInstance {
	return f.set(func(g *fakeInstance) { g.attrs[k] = v })
}
func (f *fakeInstance) without(k string) *fakeInstance {
	return f.set(func(g *fakeInstance) { delete(g.attrs, k) })
}
func (f *fakeInstance) named(name string) *fakeInstance {
	return f.set(func(g *fakeInstance) { g.name = name })
}

// set returns a copy of f changed by change.
func (f *fakeInstance) set(change func(*fakeInstance)) *fakeInstance {
	g := *f
	g.attrs = make(map[string]string, len(f.attrs))
	maps.Copy(g.attrs, f.attrs)
	g.groups = slices.Clone(f.groups)
	change(&g)
	return &g
}

// base is a typical instance: t2.small in us-east-1a, agent 1.14.5.
var base = &fakeInstance{
	name: "base",
	attrs: map[string]string{
		"ecs.instance-type":     "t2.small",
		"ecs.availability-zone": "us-east-1a",
		"ecs.os-family":         "LINUX",
		"stack":                 "dev",
	},
	connected:  true,
	version:    "1.14.5",
	ec2ID:      "i-abcd1234",
	registered: time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC),
	running:    1,
	groups:     []string{"service:production"},
}

type matchCase struct {
	expr string
	on   *fakeInstance
	want bool
}

func checkMatches(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.expr+" on "+c.on.name, func(t *testing.T) {
			e, err := ParseExpression(c.expr)
			require.NoError(t, err)
			assert.Equal(t, c.want, e.Match(c.on), "Match(%s) of %q (canonical %q)", c.on.name, c.expr, e.String())
		})
	}
}

// TestExpressionDocumentedExamples evaluates every example of
// docs/semantics.md §3.4 on instances that match it and instances that do not.
func TestExpressionDocumentedExamples(t *testing.T) {
	gpu := base.with("ecs.instance-type", "g2.2xlarge").named("g2.2xlarge")
	gpuD := gpu.with("ecs.availability-zone", "us-east-1d").named("g2 in us-east-1d")
	checkMatches(t, []matchCase{
		{"attribute:ecs.instance-type == t2.small", base, true},
		{"attribute:ecs.instance-type == t2.small", gpu, false},
		{"attribute:ecs.instance-type == t2.small", base.without("ecs.instance-type").named("no type"), false},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", base, true},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", base.with("ecs.availability-zone", "us-east-1b").named("1b"), true},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", base.with("ecs.availability-zone", "us-east-1c").named("1c"), false},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", gpu, true},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", gpuD, false},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", base, false},
		{"task:group == service:production", base, true},
		{"task:group == service:production", base.set(func(f *fakeInstance) { f.groups = nil }).named("idle"), false},
		{"not(task:group == database)", base, true},
		{"not(task:group == database)", base.set(func(f *fakeInstance) { f.groups = []string{"database"} }).named("db"), false},
		{"runningTasksCount == 1", base, true},
		{"runningTasksCount == 1", base.set(func(f *fakeInstance) { f.running = 2 }).named("2 tasks"), false},
		{"agentVersion < 1.14.5", base, false},
		{"agentVersion < 1.14.5", base.set(func(f *fakeInstance) { f.version = "1.9.0" }).named("1.9.0"), true},
		{"registeredAt < 2018-02-13", base, false},
		{"registeredAt < 2018-02-13", base.set(func(f *fakeInstance) { f.registered = time.Date(2018, 2, 12, 23, 59, 59, 0, time.UTC) }).named("Feb 12"), true},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", base, true},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", base.set(func(f *fakeInstance) { f.ec2ID = "i-00000000" }).named("other id"), false},
		{"attribute:stack != prod", base, true},
		{"attribute:stack != prod", base.with("stack", "prod").named("prod"), false},
		{"attribute:stack != prod", base.without("stack").named("no stack"), false},
		{"attribute:ecs.os-family == WINDOWS_SERVER_2019_FULL", base.with("ecs.os-family", "WINDOWS_SERVER_2019_FULL").named("windows"), true},
		{"attribute:ecs.os-family == WINDOWS_SERVER_2019_FULL", base, false},
	})
}

// TestExpressionOperatorAliases checks that each word alias means the same
// as its symbol: same canonical form, same results.
func TestExpressionOperatorAliases(t *testing.T) {
	instances := []*fakeInstance{
		base,
		base.with("stack", "prod").named("prod"),
		base.without("stack").named("no stack"),
		base.with("stack", "5").named("stack 5"),
	}
	for o, spellings := range operatorSpellings {
		op := operator(o)
		value := " prod"
		switch {
		case op.noValue():
			value = ""
		case op.takesList():
			value = " [prod, dev]"
		}
		canonical := "attribute:stack " + spellings[0] + value
		want, err := ParseExpression(canonical)
		require.NoError(t, err)
		assert.Equal(t, canonical, want.String())
		for _, alias := range spellings[1:] {
			got, err := ParseExpression("attribute:stack " + alias + value)
			require.NoError(t, err, alias)
			assert.Equal(t, canonical, got.String(), alias)
			for _, inst := range instances {
				assert.Equal(t, want.Match(inst), got.Match(inst), "%s on %s", alias, inst.name)
			}
		}
	}
	for _, pair := range [][2]string{
		{"attribute:stack == dev && runningTasksCount == 1", "attribute:stack == dev and runningTasksCount == 1"},
		{"attribute:stack == prod || runningTasksCount == 1", "attribute:stack == prod or runningTasksCount == 1"},
		{"!(attribute:stack == prod)", "not(attribute:stack == prod)"},
		{"! attribute:stack == prod", "not attribute:stack == prod"},
	} {
		a, err := ParseExpression(pair[0])
		require.NoError(t, err)
		b, err := ParseExpression(pair[1])
		require.NoError(t, err)
		assert.Equal(t, b.String(), a.String())
		for _, inst := range instances {
			assert.Equal(t, b.Match(inst), a.Match(inst), "%s on %s", pair[0], inst.name)
		}
	}
}

// TestExpressionPrecedence: not binds tighter than and, and than or.
func TestExpressionPrecedence(t *testing.T) {
	const (
		a = "attribute:a exists"
		b = "attribute:b exists"
		c = "attribute:c exists"
	)
	inst := func(attrs string) *fakeInstance {
		f := &fakeInstance{name: "{" + attrs + "}", attrs: map[string]string{}}
		for _, r := range attrs {
			f.attrs[string(r)] = ""
		}
		return f
	}
	all := []string{"", "a", "b", "c", "ab", "ac", "bc", "abc"}
	has := func(attrs string, r string) bool { return strings.Contains(attrs, r) }
	for _, c := range []struct {
		expr, canonical string
		want            func(string) bool
	}{
		{a + " or " + b + " and " + c, a + " or " + b + " and " + c,
			func(s string) bool { return has(s, "a") || has(s, "b") && has(s, "c") }},
		{"(" + a + " or " + b + ") and " + c, "(" + a + " or " + b + ") and " + c,
			func(s string) bool { return (has(s, "a") || has(s, "b")) && has(s, "c") }},
		{"not " + a + " and " + b, "not(" + a + ") and " + b,
			func(s string) bool { return !has(s, "a") && has(s, "b") }},
		{"not(" + a + " and " + b + ")", "not(" + a + " and " + b + ")",
			func(s string) bool { return !(has(s, "a") && has(s, "b")) }},
		{"!" + a + " || " + b + " && !" + c, "not(" + a + ") or " + b + " and not(" + c + ")",
			func(s string) bool { return !has(s, "a") || has(s, "b") && !has(s, "c") }},
		{"((" + a + ") and (" + b + " and " + c + "))", a + " and " + b + " and " + c,
			func(s string) bool { return has(s, "a") && has(s, "b") && has(s, "c") }},
		{"not not " + a, "not(not(" + a + "))",
			func(s string) bool { return has(s, "a") }},
	} {
		t.Run(c.expr, func(t *testing.T) {
			e, err := ParseExpression(c.expr)
			require.NoError(t, err)
			assert.Equal(t, c.canonical, e.String())
			for _, s := range all {
				assert.Equal(t, c.want(s), e.Match(inst(s)), "on %s", s)
			}
		})
	}
}

// TestExpressionRegisteredAt covers the four formats and the precision rule.
func TestExpressionRegisteredAt(t *testing.T) {
	at := func(s string) *fakeInstance {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return base.set(func(f *fakeInstance) { f.registered = tm }).named(s)
	}
	exact := at("2018-06-18T22:28:28Z")
	withinSecond := at("2018-06-18T22:28:28.999Z")
	nextSecond := at("2018-06-18T22:28:29Z")
	sameInstant := at("2018-06-19T00:28:28+02:00")
	midnight := at("2018-06-18T00:00:00Z")
	lastNano := at("2018-06-18T23:59:59.999999999Z")
	nextDay := at("2018-06-19T00:00:00Z")
	dayBefore := at("2018-06-17T23:59:59Z")
	checkMatches(t, []matchCase{
		{"registeredAt == 2018-06-18T22:28:28+00:00", exact, true},
		{"registeredAt == 2018-06-18T22:28:28Z", exact, true},
		{"registeredAt == 2018-06-18T22:28:28", exact, true},
		{"registeredAt == 2018-06-18T23:28:28+01:00", exact, true},
		{"registeredAt == 2018-06-18T22:28:28Z", sameInstant, true},
		{"registeredAt == 2018-06-18T22:28:28Z", withinSecond, true},
		{"registeredAt == 2018-06-18T22:28:28Z", nextSecond, false},
		{"registeredAt > 2018-06-18T22:28:28Z", withinSecond, false},
		{"registeredAt > 2018-06-18T22:28:28Z", nextSecond, true},
		{"registeredAt >= 2018-06-18T22:28:28", exact, true},
		{"registeredAt < 2018-06-18T22:28:28", exact, false},
		{"registeredAt <= 2018-06-18T22:28:28", withinSecond, true},
		{"registeredAt != 2018-06-18T22:28:28", nextSecond, true},
		// A date alone is a whole UTC day.
		{"registeredAt == 2018-06-18", midnight, true},
		{"registeredAt == 2018-06-18", exact, true},
		{"registeredAt == 2018-06-18", lastNano, true},
		{"registeredAt == 2018-06-18", nextDay, false},
		{"registeredAt == 2018-06-18", dayBefore, false},
		{"registeredAt != 2018-06-18", exact, false},
		{"registeredAt != 2018-06-18", nextDay, true},
		{"registeredAt < 2018-06-18", dayBefore, true},
		{"registeredAt < 2018-06-18", midnight, false},
		{"registeredAt >= 2018-06-18", midnight, true},
		{"registeredAt >= 2018-06-18", dayBefore, false},
		{"registeredAt > 2018-06-18", lastNano, false},
		{"registeredAt > 2018-06-18", nextDay, true},
		{"registeredAt <= 2018-06-18", lastNano, true},
		{"registeredAt <= 2018-06-18", nextDay, false},
	})
}

func TestExpressionAttributes(t *testing.T) {
	missing := base.without("stack").named("no stack")
	empty := base.with("stack", "").named("empty stack")
	checkMatches(t, []matchCase{
		// Every operator but !exists requires the attribute.
		{"attribute:stack exists", base, true},
		{"attribute:stack exists", empty, true},
		{"attribute:stack exists", missing, false},
		{"attribute:stack !exists", missing, true},
		{"attribute:stack not_exists", base, false},
		{"attribute:stack == ''", empty, true},
		{"attribute:stack == ''", missing, false},
		{"attribute:stack != prod", missing, false},
		{"attribute:stack not_in [prod]", missing, false},
		{"attribute:stack not_in [prod]", base, true},
		{"attribute:stack !~ prod.*", missing, false},
		{"attribute:stack !~ prod.*", base, true},
		{"attribute:stack > a", missing, false},
		{"attribute:stack <= zzz", missing, false},
		{"not(attribute:stack == prod)", missing, true},
		{"not(attribute:stack != prod)", missing, true},
		// Full match.
		{"attribute:stack =~ de", base, false},
		{"attribute:stack =~ 'd.|x'", base, false},
		{"attribute:stack =~ 'de.|x'", base, true},
		{"attribute:stack =~ '(?i)DEV'", base, true},
		{`attribute:stack =~ '\Qd\E.*'`, base, true},
		{`attribute:stack =~ '\Qde'`, base, false},
		// Exact string equality.
		{"attribute:stack == DEV", base, false},
		{"attribute:n == 1.0", base.with("n", "1").named("n=1"), false},
		// Ordering: numeric when both are numbers, else bytewise.
		{"attribute:n > 9", base.with("n", "10").named("n=10"), true},
		{"attribute:n > 9", base.with("n", "9.5").named("n=9.5"), true},
		{"attribute:n >= 1.0", base.with("n", "1").named("n=1"), true},
		{"attribute:n <= 1.0", base.with("n", "1").named("n=1"), true},
		{"attribute:n < 0", base.with("n", "-0.5").named("n=-0.5"), true},
		{"attribute:n == 0", base.with("n", "-0").named("n=-0"), false},
		{"attribute:n >= 0", base.with("n", "-0").named("n=-0"), true},
		{"attribute:n > -2", base.with("n", "-10").named("n=-10"), false},
		{"attribute:n < 9x", base.with("n", "10").named("n=10"), true},
		{"attribute:n greater_than 9", base.with("n", "9x").named("n=9x"), true},
		{"attribute:n less_than b", base.with("n", "a").named("n=a"), true},
		{"attribute:n less_than_equal 1.", base.with("n", "1.").named("n=1."), true},
		// Large lists are sets.
		{"attribute:stack in [a, b, c, d, e, f, g, h, i, dev]", base, true},
		{"attribute:stack in [a, b, c, d, e, f, g, h, i, j]", base, false},
		{"attribute:stack not_in [a, b, c, d, e, f, g, h, i, j]", base, true},
		{"attribute:stack in [a, a, a, a, a, a, a, a, a, dev]", base, true},
	})
}

func TestExpressionOtherSubjects(t *testing.T) {
	disconnected := base.set(func(f *fakeInstance) { f.connected = false }).named("disconnected")
	version := func(v string) *fakeInstance {
		return base.set(func(f *fakeInstance) { f.version = v }).named("agent " + v)
	}
	groups := func(g ...string) *fakeInstance {
		return base.set(func(f *fakeInstance) { f.groups = g }).named(fmt.Sprint(g))
	}
	checkMatches(t, []matchCase{
		{"agentConnected == true", base, true},
		{"agentConnected == true", disconnected, false},
		{"agentConnected != true", disconnected, true},
		{"agentConnected in [false]", disconnected, true},
		{"agentConnected not_in [true, false]", base, false},
		{"agentConnected =~ t.*", base, true},
		{"agentConnected !~ t.*", disconnected, true},

		{"agentVersion == 1.14.5", base, true},
		{"agentVersion > 1.9.0", base, true},
		{"agentVersion >= 1.14", base, true},
		{"agentVersion <= 1.14", base, false},
		{"agentVersion == 1.14.5.0", base, true},
		{"agentVersion == 01.014.5", base, true},
		{"agentVersion == 1.14.5", version("1.14.5-dev"), true},
		{"agentVersion == 1.14.5", version("v1.14.5"), true},
		{"agentVersion > 1.14.4", version("1.14.5+build.7"), true},
		{"agentVersion < 1.10", version("1.9.99"), true},
		{"agentVersion > 99999999999999999999", version("100000000000000000000"), true},
		{"agentVersion != 1.0", version(""), false},
		{"agentVersion != 1.0", version("unknown"), false},
		{"not(agentVersion == 1.0)", version("unknown"), true},

		{"ec2InstanceId == i-abcd1234", base, true},
		{"ec2InstanceId != i-abcd1234", base, false},
		{"ec2InstanceId =~ 'i-[a-f0-9]{8}'", base, true},
		{"ec2InstanceId not_matches 'i-[0-9]+'", base, true},
		{"ec2InstanceId =~ i-abcd.*", base, true},
		{"ec2InstanceId not_in [i-wxyx7890]", base, true},

		{"runningTasksCount > 0", base, true},
		{"runningTasksCount >= 2", base, false},
		{"runningTasksCount < 2", base, true},
		{"runningTasksCount <= 0", base, false},
		{"runningTasksCount != 1", base, false},
		{"runningTasksCount == +1", base, true},
		{"runningTasksCount > -1", base, true},

		{"task:group != service:production", base, false},
		{"task:group != database", base, true},
		{"task:group in [database, service:production]", base, true},
		{"task:group in [database, cache]", base, false},
		{"task:group not_in [database, cache]", base, true},
		{"task:group not_in [database, service:production]", groups("service:production", "database"), false},
		{"task:group == database", groups("service:production", "database"), true},
		{"task:group != database", groups(), true},
	})
}

// TestExpressionString checks the canonical form.
func TestExpressionString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"attribute:ecs.instance-type==t2.small", "attribute:ecs.instance-type == t2.small"},
		{"  attribute:a   equals\t'x'  ", "attribute:a == x"},
		{"attribute:a in[x,'y z',   '']", "attribute:a in [x, 'y z', '']"},
		{"attribute:a == 'it''s'", "attribute:a == 'it''s'"},
		{"attribute:a == 'a,b'", "attribute:a == 'a,b'"},
		{"attribute:a == 'and'", "attribute:a == and"},
		{"attribute:a == and and attribute:b == or", "attribute:a == and and attribute:b == or"},
		{"attribute:a == x&&y", "attribute:a == x&&y"},
		{"attribute:a =~ '(a|b)*'", "attribute:a =~ '(a|b)*'"},
		{"attribute:a not_exists", "attribute:a !exists"},
		{"attribute:a not_in [x]", "attribute:a !in [x]"},
		{"attribute:a !in[x]", "attribute:a !in [x]"},
		{"not(task:group == database)", "not(task:group == database)"},
		{"not(not(task:group == database))", "not(not(task:group == database))"},
		{"((runningTasksCount == 1))", "runningTasksCount == 1"},
		{"(a:b == 1)", ""}, // not a subject: see TestParseExpressionSyntaxErrors
		{"attribute:a == é", "attribute:a == é"},
	} {
		e, err := ParseExpression(c.in)
		if c.want == "" {
			assert.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, e.String(), c.in)
		again, err := ParseExpression(e.String())
		require.NoError(t, err, c.want)
		assert.Equal(t, c.want, again.String())
	}
}

func TestParseExpressionSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		in       string
		column   int
		expected string
		found    string
	}{
		{"", 1, expectedSubject, ""},
		{"   ", 4, expectedSubject, ""},
		{"attribute:ecs.instance-type ==", 31, `a value after "=="`, ""},
		{"attribute:ecs.instance-type ==   ", 34, `a value after "=="`, ""},
		{"attribute:a == )", 16, `a value after "=="`, ")"},
		{"attribute:a == b c", 18, `"and", "or" or end of expression`, "c"},
		{"attribute:a == b AND attribute:c exists", 18, `"and", "or" or end of expression`, "AND"},
		{"attribute:a == b)", 17, `"and", "or" or end of expression`, ")"},
		{"(attribute:a == b", 18, `"and", "or" or ")"`, ""},
		{"(attribute:a == b]", 18, `"and", "or" or ")"`, "]"},
		{"Attribute:a == b", 1, expectedSubject, "Attribute:a"},
		{"runningTaskCount == 1", 1, expectedSubject, "runningTaskCount"},
		{"a:b == 1", 1, expectedSubject, "a:b"},
		{"attribute: == 1", 11, `an attribute name after "attribute:"`, " "},
		{"attribute:== 1", 11, `an attribute name after "attribute:"`, "=="},
		{"attribute:a:b == 1", 12, `an attribute name of letters, digits, "-", "_", "/", "\" and "."`, ":"},
		{"attribute:a", 12, "an operator valid for attribute:a (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal, exists, !exists, not_exists, in, !in, not_in, =~, matches, !~, not_matches)", ""},
		{"attribute:a EQUALS b", 13, "an operator valid for attribute:a (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal, exists, !exists, not_exists, in, !in, not_in, =~, matches, !~, not_matches)", "EQUALS"},
		{"agentVersion in [1.0]", 14, "an operator valid for agentVersion (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal)", "in"},
		{"agentConnected > true", 16, "an operator valid for agentConnected (==, equals, !=, not_equals, in, !in, not_in, =~, matches, !~, not_matches)", ">"},
		{"task:group =~ db.*", 12, "an operator valid for task:group (==, equals, !=, not_equals, in, !in, not_in)", "=~"},
		{"runningTasksCount exists", 19, "an operator valid for runningTasksCount (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal)", "exists"},
		{"registeredAt matches 2018.*", 14, "an operator valid for registeredAt (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal)", "matches"},
		{"ec2InstanceId > i-1", 15, "an operator valid for ec2InstanceId (==, equals, !=, not_equals, in, !in, not_in, =~, matches, !~, not_matches)", ">"},
		{"attribute:a in x", 16, `"[" to start a list after "in"`, "x"},
		{"attribute:a in []", 17, `a value after "["`, "]"},
		{"attribute:a in [x,]", 19, `a value after ","`, "]"},
		{"attribute:a in [x y]", 19, `"," or "]"`, "y"},
		{"attribute:a in [x", 18, `"," or "]"`, ""},
		{"attribute:a == 'x", 18, `"'" to end the value quoted at column 16`, ""},
		{"attribute:a == 'it''s", 22, `"'" to end the value quoted at column 16`, ""},
		{"attribute:a =~ 'g2.('", 16, "a valid regular expression (Go RE2 syntax)", "g2.("},
		{"attribute:a =~ g2.(", 19, `"and", "or" or end of expression`, "("},
		{"attribute:a =~ [a-z]", 16, `a value after "=~"`, "["},
		{`attribute:a =~ '(a)\1'`, 16, "a valid regular expression (Go RE2 syntax)", `(a)\1`},
		{"attribute:a =~ '(?=a)'", 16, "a valid regular expression (Go RE2 syntax)", "(?=a)"},
		{"attribute:a =~ a*+", 16, "a valid regular expression (Go RE2 syntax)", "a*+"},
		{"agentConnected == yes", 19, "true or false", "yes"},
		{"agentConnected in [true, TRUE]", 26, "true or false", "TRUE"},
		{"agentVersion < 1.14.x", 16, "a version such as 1.14.5", "1.14.x"},
		{"agentVersion < 1..2", 16, "a version such as 1.14.5", "1..2"},
		{"agentVersion < v1.2", 16, "a version such as 1.14.5", "v1.2"},
		{"registeredAt < 2018-02-30", 16, "a time such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", "2018-02-30"},
		{"registeredAt < 2018-06-18T22:28", 16, "a time such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", "2018-06-18T22:28"},
		{"registeredAt < 2018-06-18T22:28:28.5Z", 16, "a time such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", "2018-06-18T22:28:28.5Z"},
		{"registeredAt < 2018-06-18T22:28:28.123Z", 16, "a time such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", "2018-06-18T22:28:28.123Z"},
		{"registeredAt < 2018-06-18 22:28:28", 27, `"and", "or" or end of expression`, "22:28:28"},
		{"runningTasksCount == 1.5", 22, "an integer", "1.5"},
		{"runningTasksCount == 99999999999999999999", 22, "an integer", "99999999999999999999"},
		{"not", 4, expectedSubject, ""},
		{"not()", 5, expectedSubject, ")"},
		{"attribute:a exists and", 23, expectedSubject, ""},
		{"attribute:a exists && || attribute:b exists", 23, expectedSubject, "||"},
		{"attribute:a exists andattribute:b exists", 20, `"and", "or" or end of expression`, "andattribute:b"},
		{"attribute:é == 1", 11, `an attribute name after "attribute:"`, "é"},
		{"attribute:aé == 1", 12, "an operator valid for attribute:a (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal, exists, !exists, not_exists, in, !in, not_in, =~, matches, !~, not_matches)", "é"},
		{"attribute:a == 'é' x", 20, `"and", "or" or end of expression`, "x"},
	} {
		t.Run(c.in, func(t *testing.T) {
			e, err := ParseExpression(c.in)
			assert.Nil(t, e)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, c.in, se.Expr)
			assert.Equal(t, c.column, se.Column, "column in %q", se.Error())
			assert.Equal(t, c.expected, se.Expected)
			assert.Equal(t, c.found, se.Found)
		})
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := ParseExpression("attribute:ecs.instance-type ==")
	require.Error(t, err)
	assert.EqualError(t, err, `column 31: expected a value after "==", found end of expression`)

	_, err = ParseExpression("attribute:a == b AND c")
	assert.EqualError(t, err, `column 18: expected "and", "or" or end of expression, found "AND"`)

	_, err = ParseExpression(`attribute:a =~ '(a)\1'`)
	var cause *syntax.Error
	require.ErrorAs(t, err, &cause, "the regexp error is the cause")
	assert.Equal(t, syntax.ErrInvalidEscape, cause.Code)
	assert.EqualError(t, err, `column 16: expected a valid regular expression (Go RE2 syntax), found "(a)\\1": error parsing regexp: invalid escape sequence: `+"`\\1`")

	_, err = ParseExpression("runningTasksCount == 99999999999999999999")
	assert.ErrorIs(t, err, strconv.ErrRange)
}

func TestExpressionLimits(t *testing.T) {
	cond := "attribute:a == "
	longest := cond + strings.Repeat("x", MaxExpressionLength-len(cond))
	e, err := ParseExpression(longest)
	require.NoError(t, err)
	assert.Equal(t, longest, e.String())

	_, err = ParseExpression(longest + "x")
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, MaxExpressionLength+1, se.Column)
	assert.Equal(t, "at most 2000 characters", se.Expected)

	// Characters, not bytes.
	wide := cond + "'" + strings.Repeat("é", MaxExpressionLength-len(cond)-2) + "'"
	_, err = ParseExpression(wide)
	require.NoError(t, err)

	deepest := strings.Repeat("(", MaxExpressionDepth) + "attribute:a exists" + strings.Repeat(")", MaxExpressionDepth)
	e, err = ParseExpression(deepest)
	require.NoError(t, err)
	assert.Equal(t, "attribute:a exists", e.String())

	_, err = ParseExpression("(" + deepest + ")")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, MaxExpressionDepth+1, se.Column)
	assert.Equal(t, "at most 100 levels of parentheses and not", se.Expected)

	// not(...) is one level, so the canonical form of deeply nested nots
	// parses again.
	for _, not := range []string{"not ", "!", "not(", "! ("} {
		s := strings.Repeat(not, MaxExpressionDepth) + "attribute:a exists" + strings.Repeat(")", strings.Count(not, "(")*MaxExpressionDepth)
		e, err := ParseExpression(s)
		require.NoError(t, err, not)
		_, err = ParseExpression(e.String())
		require.NoError(t, err, not)
		_, err = ParseExpression("(" + s + ")")
		require.ErrorAs(t, err, &se, not)
		assert.Equal(t, "at most 100 levels of parentheses and not", se.Expected)
	}
	_, err = ParseExpression(strings.Repeat("!", MaxExpressionDepth+1) + "attribute:a exists")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, MaxExpressionDepth+1, se.Column)

	// Long flat chains are not nesting.
	chain := strings.Repeat("attribute:a exists or ", 90) + "attribute:a exists"
	_, err = ParseExpression(chain)
	require.NoError(t, err)
}

func TestExpressionAttributeEquals(t *testing.T) {
	for _, c := range []struct {
		expr   string
		name   string
		values []string
		exact  bool
		ok     bool
	}{
		{"attribute:ecs.instance-type == t2.small", "ecs.instance-type", []string{"t2.small"}, true, true},
		{"attribute:zone in [b, a, b]", "zone", []string{"a", "b"}, true, true},
		{"attribute:zone in [b, a] and runningTasksCount == 0", "zone", []string{"a", "b"}, false, true},
		{"attribute:zone in [b, a] and attribute:type == t2.small", "type", []string{"t2.small"}, false, true},
		{"attribute:zone in [b, a] or attribute:type == t2.small", "", nil, false, false},
		{"attribute:zone != a", "", nil, false, false},
		{"not(attribute:zone == a)", "", nil, false, false},
		{"attribute:zone exists and runningTasksCount == 0", "", nil, false, false},
		{"task:group == a", "", nil, false, false},
	} {
		t.Run(c.expr, func(t *testing.T) {
			e := MustParseExpression(c.expr)
			name, values, exact, ok := e.AttributeEquals()
			assert.Equal(t, c.name, name)
			assert.Equal(t, c.values, values)
			assert.Equal(t, c.exact, exact)
			assert.Equal(t, c.ok, ok)
		})
	}
	// The values are the caller's.
	e := MustParseExpression("attribute:zone in [a, b]")
	_, values, _, _ := e.AttributeEquals()
	values[0] = "changed"
	_, values, _, _ = e.AttributeEquals()
	assert.Equal(t, []string{"a", "b"}, values)
}

func TestZeroExpression(t *testing.T) {
	var zero Expression
	assert.True(t, zero.Match(base))
	assert.Empty(t, zero.String())
	_, _, _, ok := zero.AttributeEquals()
	assert.False(t, ok)
	var nilExpr *Expression
	assert.True(t, nilExpr.Match(base))
}

func TestMustParseExpression(t *testing.T) {
	assert.Equal(t, "runningTasksCount == 0", MustParseExpression("runningTasksCount == 0").String())
	assert.PanicsWithValue(t,
		`placement: MustParseExpression("runningTasksCount == x"): column 22: expected an integer, found "x": strconv.Atoi: parsing "x": invalid syntax`,
		func() { MustParseExpression("runningTasksCount == x") })
}

// TestExpressionConcurrentMatch shares one expression between goroutines
// (run with -race).
func TestExpressionConcurrentMatch(t *testing.T) {
	e := MustParseExpression("attribute:ecs.instance-type =~ t2.* and ec2InstanceId in [a, b, c, d, e, f, g, h, i, i-abcd1234]")
	var wg sync.WaitGroup
	results := make([]bool, 8)
	for i := range results {
		wg.Go(func() {
			for range 100 {
				results[i] = e.Match(base)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, []bool{true, true, true, true, true, true, true, true}, results)
}

func BenchmarkMatch(b *testing.B) {
	for _, c := range []struct{ name, expr string }{
		{"equals", "attribute:ecs.instance-type == t2.small"},
		{"in-small", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		{"in-large", "attribute:ecs.availability-zone in [a, b, c, d, e, f, g, h, i, j, us-east-1a]"},
		{"regex-and", "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d"},
		{"not-group", "not(task:group == database)"},
		{"numeric", "attribute:cores >= 4 and runningTasksCount < 10"},
		{"version-time", "agentVersion >= 1.14.5 and registeredAt < 2019-01-01"},
		{"ec2-in", "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']"},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, err := ParseExpression(c.expr)
			require.NoError(b, err)
			inst := base.with("cores", "8")
			require.True(b, e.Match(inst), "the benchmark should take the matching path")
			b.ReportAllocs()
			for b.Loop() {
				e.Match(inst)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	inst := base.with("cores", "8")
	for _, expr := range []string{
		"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
		"attribute:cores >= 4 and attribute:cores < x and runningTasksCount < 10",
		"agentVersion >= 1.14.5 and registeredAt < 2019-01-01 or agentConnected == false",
		"attribute:ecs.availability-zone in [a, b, c, d, e, f, g, h, i, j, us-east-1a]",
		"task:group not_in [a, b, c] and not(task:group in [d, e, service:production])",
	} {
		e := MustParseExpression(expr)
		assert.Zero(t, testing.AllocsPerRun(100, func() { e.Match(inst) }), expr)
	}
}

// Generators for the round-trip property: expression trees valid by
// construction, and instances drawn from the same values so that they match
// some of the time.
var (
	attrNames   = []string{"stack", "ecs.instance-type", "n"}
	attrValues  = []string{"prod", "t2.small", "g2.2xlarge", "8", "10", "9x", "-1.50", "", "it's", "a b", "x,y", "(p)", "and", "'"}
	attrRegexes = []string{"g2.*", `t2\..*`, "[0-9]+", "(a|b)", "", ".*", `\Qa)\E`, "it's.*", "(?i)PROD"}
	versions    = []string{"1.14.5", "1.9", "1.14", "2", "1.14.05", "0"}
	instVersion = []string{"1.14.5", "1.9.0", "1.14.5-dev", "v2.0", "", "unknown", "1.14"}
	ec2IDs      = []string{"i-abcd1234", "i-wxyx7890", ""}
	ec2Regexes  = []string{"i-.*", "i-abcd[0-9]+", "i-(abcd|wxyx)[0-9]{4}"}
	timeValues  = []string{"2018-06-18T22:28:28+00:00", "2018-06-18T22:28:28Z", "2018-06-18T22:28:28", "2018-06-18", "2018-02-13", "2018-06-18T23:28:28+01:00"}
	instTimes   = []time.Time{
		time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC),
		time.Date(2018, 6, 18, 22, 28, 28, 500, time.UTC),
		time.Date(2018, 6, 18, 0, 0, 0, 0, time.UTC),
		time.Date(2018, 6, 19, 0, 0, 0, 0, time.UTC),
		time.Date(2018, 2, 12, 23, 0, 0, 0, time.UTC),
	}
	countValues = []string{"0", "1", "2", "-1", "+3", "01"}
	groupValues = []string{"service:production", "database", "family:web", "it's"}

	condGen = rapid.Custom(drawCond)
	exprGen = rapid.Custom(func(t *rapid.T) *node { return drawNode(t, 3) })
	instGen = rapid.Custom(func(t *rapid.T) *fakeInstance {
		f := &fakeInstance{name: "generated", attrs: map[string]string{}}
		for _, name := range attrNames {
			if rapid.Bool().Draw(t, "has "+name) {
				f.attrs[name] = rapid.SampledFrom(attrValues).Draw(t, name)
			}
		}
		f.connected = rapid.Bool().Draw(t, "connected")
		f.version = rapid.SampledFrom(instVersion).Draw(t, "version")
		f.ec2ID = rapid.SampledFrom(ec2IDs).Draw(t, "ec2InstanceId")
		f.registered = rapid.SampledFrom(instTimes).Draw(t, "registeredAt")
		f.running = rapid.IntRange(0, 3).Draw(t, "runningTasksCount")
		f.groups = rapid.SliceOfNDistinct(rapid.SampledFrom(groupValues), 0, 2, rapid.ID).Draw(t, "groups")
		return f
	})
)

func drawNode(t *rapid.T, depth int) *node {
	if depth == 0 || rapid.IntRange(0, 2).Draw(t, "leaf") == 0 {
		return condGen.Draw(t, "cond")
	}
	switch kind := rapid.SampledFrom([]nodeKind{kindAnd, kindOr, kindNot}).Draw(t, "kind"); kind {
	case kindNot:
		return &node{kind: kindNot, kids: []*node{drawNode(t, depth-1)}}
	default:
		n := &node{kind: kind}
		for range rapid.IntRange(2, 3).Draw(t, "operands") {
			n.kids = append(n.kids, drawNode(t, depth-1))
		}
		return n
	}
}

func drawCond(t *rapid.T) *node {
	n := &node{kind: kindCond}
	n.subj = subject(rapid.IntRange(0, len(subjectNames)-1).Draw(t, "subject"))
	n.op = rapid.SampledFrom(validOperators[n.subj]).Draw(t, "operator")
	values := map[subject][]string{
		subjAttribute:         attrValues,
		subjAgentConnected:    {"true", "false"},
		subjAgentVersion:      versions,
		subjEC2InstanceID:     ec2IDs,
		subjRegisteredAt:      timeValues,
		subjRunningTasksCount: countValues,
		subjTaskGroup:         groupValues,
	}[n.subj]
	var regexes []string
	switch n.subj {
	case subjAttribute:
		n.attr = rapid.SampledFrom(attrNames).Draw(t, "attribute")
		regexes = attrRegexes
	case subjAgentConnected:
		regexes = []string{"true", "t.*", "f.*|x"}
	case subjEC2InstanceID:
		regexes = ec2Regexes
	}
	switch {
	case n.op.noValue():
	case n.op.takesList():
		n.values = rapid.SliceOfN(rapid.SampledFrom(values), 1, 10).Draw(t, "values")
	case n.op == opMatches || n.op == opNotMatches:
		n.values = []string{rapid.SampledFrom(regexes).Draw(t, "regex")}
	default:
		n.values = []string{rapid.SampledFrom(values).Draw(t, "value")}
	}
	if _, expected, err := compileCond(n); expected != "" {
		t.Fatalf("generated an invalid condition: expected %s: %v", expected, err)
	}
	return n
}

// TestExpressionStringRoundTrip: a generated expression printed with String
// parses back to an expression with the same String that matches the same
// instances; AttributeEquals is consistent with Match.
func TestExpressionStringRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := newExpression(exprGen.Draw(t, "expression"))
		again, err := ParseExpression(e.String())
		if err != nil {
			t.Fatalf("String() = %q does not parse: %v", e.String(), err)
		}
		if again.String() != e.String() {
			t.Fatalf("String() of the reparsed expression: want %q, got %q", e.String(), again.String())
		}
		for i := range rapid.IntRange(1, 5).Draw(t, "instances") {
			inst := instGen.Draw(t, fmt.Sprint("instance ", i))
			if want, got := e.Match(inst), again.Match(inst); want != got {
				t.Fatalf("Match of %q on %+v: generated %v, reparsed %v", e.String(), inst, want, got)
			}
			checkAttributeEquals(t, again, inst)
		}
	})
}

// checkAttributeEquals checks that AttributeEquals describes e correctly on
// inst.
func checkAttributeEquals(t interface{ Fatalf(string, ...any) }, e *Expression, inst QueryTarget) {
	name, values, exact, ok := e.AttributeEquals()
	if !ok {
		return
	}
	v, has := inst.Attribute(name)
	in := has && slices.Contains(values, v)
	if e.Match(inst) && !in {
		t.Fatalf("%q matches an instance whose %s (%q, %v) is not in %q", e, name, v, has, values)
	}
	if exact && e.Match(inst) != in {
		t.Fatalf("%q: Match = %v, but %s (%q, %v) in %q = %v", e, e.Match(inst), name, v, has, values, in)
	}
}

func TestExpressionErrorsAreTyped(t *testing.T) {
	_, err := ParseExpression("bogus")
	se, ok := errors.AsType[*SyntaxError](err)
	require.True(t, ok, "want a *SyntaxError, got %T", err)
	assert.Equal(t, 1, se.Column)
	assert.NoError(t, se.Unwrap())
}
