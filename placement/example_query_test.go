package placement_test

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stevedore-go/stevedore/placement"
)

// instance is a container instance as far as the query language sees it.
type instance struct {
	id        string
	attrs     map[string]string
	version   string
	groups    []string
	running   int
	connected bool
}

func (i instance) Attribute(name string) (string, bool) {
	v, ok := i.attrs[name]
	return v, ok
}
func (i instance) AgentConnected() bool           { return i.connected }
func (i instance) AgentVersion() string           { return i.version }
func (i instance) EC2InstanceID() string          { return i.id }
func (i instance) RegisteredAt() time.Time        { return time.Date(2018, 6, 18, 22, 28, 28, 0, time.UTC) }
func (i instance) RunningTasksCount() int         { return i.running }
func (i instance) HasTaskGroup(group string) bool { return slices.Contains(i.groups, group) }

var instances = []instance{
	{id: "i-0001", attrs: map[string]string{"ecs.instance-type": "g2.2xlarge", "ecs.availability-zone": "us-east-1a"}, version: "1.14.5", connected: true},
	{id: "i-0002", attrs: map[string]string{"ecs.instance-type": "g2.8xlarge", "ecs.availability-zone": "us-east-1d"}, version: "1.9.0", connected: true},
	{id: "i-0003", attrs: map[string]string{"ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1b", "stack": "prod"},
		version: "1.14.5", groups: []string{"database"}, running: 1, connected: true},
}

func ExampleParseExpression() {
	e, err := placement.ParseExpression("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, i := range instances {
		fmt.Println(i.id, e.Match(i))
	}
	// Output:
	// i-0001 true
	// i-0002 false
	// i-0003 false
}

func ExampleExpression_Match() {
	for _, s := range []string{
		"not(task:group == database)", // anti-affinity
		"attribute:stack != prod",     // instances without stack do not match
		"not(attribute:stack == prod)",
		"agentVersion < 1.14.5",
		"runningTasksCount == 1",
	} {
		e := placement.MustParseExpression(s)
		var ids []string
		for _, i := range instances {
			if e.Match(i) {
				ids = append(ids, i.id)
			}
		}
		fmt.Printf("%s: %v\n", s, ids)
	}
	// Output:
	// not(task:group == database): [i-0001 i-0002]
	// attribute:stack != prod: []
	// not(attribute:stack == prod): [i-0001 i-0002]
	// agentVersion < 1.14.5: [i-0002]
	// runningTasksCount == 1: [i-0003]
}

func ExampleExpression_String() {
	e := placement.MustParseExpression("!(task:group equals database) && (ec2InstanceId in ['i-0001','i 2'] || agentConnected==false)")
	fmt.Println(e)
	// Output:
	// not(task:group == database) and (ec2InstanceId in [i-0001, 'i 2'] or agentConnected == false)
}

func ExampleExpression_AttributeEquals() {
	e := placement.MustParseExpression("attribute:ecs.availability-zone in [us-east-1b, us-east-1a] and runningTasksCount < 10")
	name, values, exact, ok := e.AttributeEquals()
	fmt.Println(name, values, exact, ok)
	// Output:
	// ecs.availability-zone [us-east-1a us-east-1b] false true
}

func ExampleMustParseExpression() {
	memberOf := placement.MustParseExpression("attribute:ecs.instance-type == t2.small")
	fmt.Println(memberOf.Match(instances[2]))
	// Output:
	// true
}

func ExampleSyntaxError() {
	_, err := placement.ParseExpression("agentVersion in [1.14.5]")
	if se, ok := errors.AsType[*placement.SyntaxError](err); ok {
		fmt.Println(se.Column, se.Found)
		fmt.Println(se)
	}
	// Output:
	// 14 in
	// column 14: expected an operator valid for agentVersion (==, equals, !=, not_equals, >, greater_than, >=, greater_than_equal, <, less_than, <=, less_than_equal), found "in"
}
