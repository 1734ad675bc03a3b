package placement

import (
	"errors"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzParseExpression checks that ParseExpression never panics, reports
// only *SyntaxError with a column inside the text, and that whatever parses
// has a canonical form that parses again to the same canonical form and
// matches the same instances.
func FuzzParseExpression(f *testing.F) {
	for _, s := range []string{
		"attribute:ecs.instance-type == t2.small",
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
		"task:group == service:production",
		"not(task:group == database)",
		"runningTasksCount == 1",
		"agentVersion < 1.14.5",
		"registeredAt < 2018-02-13",
		"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
		"attribute:stack != prod",
		"attribute:ecs.os-family == WINDOWS_SERVER_2019_FULL",
		"(attribute:a exists || agentConnected equals true) && !attribute:b not_exists",
		"registeredAt >= 2018-06-18T22:28:28+00:00 or registeredAt <= 2018-06-18T22:28:28Z or registeredAt != 2018-06-18T22:28:28",
		"attribute:n greater_than_equal -1.5 and attribute:n less_than_equal 10 and attribute:n not_in [a, 'b''c', '']",
		"agentConnected not_matches 't.*' or ec2InstanceId !~ 'i-[0-9]+' or task:group !in [a]",
		"attribute:a == 'x",
		"attribute:a =~ '(a)\\1'",
		"not not ((attribute:a exists))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpression(s)
		if err != nil {
			se, ok := errors.AsType[*SyntaxError](err)
			if !ok {
				t.Fatalf("ParseExpression(%q): want a *SyntaxError, got %T: %v", s, err, err)
			}
			if se.Expr != s || se.Column < 1 || se.Column > utf8.RuneCountInString(s)+1 || se.Expected == "" {
				t.Fatalf("ParseExpression(%q): bad SyntaxError %+v", s, se)
			}
			return
		}
		canonical := e.String()
		again, err := ParseExpression(canonical)
		if err != nil {
			if se, ok := errors.AsType[*SyntaxError](err); ok && se.Column == MaxExpressionLength+1 {
				return // documented: the canonical form may be longer
			}
			t.Fatalf("ParseExpression(%q) = %q, which does not parse: %v", s, canonical, err)
		}
		if again.String() != canonical {
			t.Fatalf("not a fixpoint: %q -> %q -> %q", s, canonical, again.String())
		}
		for _, inst := range targetsFor(e) {
			if want, got := e.Match(inst), again.Match(inst); want != got {
				t.Fatalf("%q and its canonical form %q disagree on %+v: %v, %v", s, canonical, inst, want, got)
			}
			checkAttributeEquals(t, e, inst)
		}
	})
}

// targetsFor returns instances on the edges of e's conditions: one with
// nothing, and for each condition (up to 16) one whose subject has the
// condition's first value and one just past it.
func targetsFor(e *Expression) []*fakeInstance {
	targets := []*fakeInstance{{name: "empty"}, base}
	var walk func(n *node)
	walk = func(n *node) {
		if len(targets) > 32 {
			return
		}
		for _, k := range n.kids {
			walk(k)
		}
		if n.kind != kindCond {
			return
		}
		v := ""
		if len(n.values) > 0 {
			v = n.values[0]
		}
		at := &fakeInstance{
			name:       "at " + v,
			attrs:      map[string]string{n.attr: v, "n": v, "stack": v},
			connected:  v == "true",
			version:    v,
			ec2ID:      v,
			registered: n.lo,
			running:    n.count,
			groups:     n.values,
		}
		past := at.set(func(f *fakeInstance) {
			f.name = "past " + v
			f.attrs[n.attr] = v + "0"
			f.connected = !f.connected
			f.version = v + ".1"
			f.registered = n.hi
			f.running++
			f.groups = nil
		})
		if _, err := strconv.Atoi(v); err == nil {
			past.attrs[n.attr] = strconv.Itoa(n.count + 1)
		}
		targets = append(targets, at, past)
	}
	walk(e.root)
	return targets
}
