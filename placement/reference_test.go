package placement_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/clustergen"
	"github.com/stevedore-go/stevedore/placement"
)

// refSeeds are the tie-break seeds every table case runs with: a rule that
// ECS documents must not depend on how ties fall.
const refSeeds = 32

// refFixture is a hand-built cluster for the table tests. Instances are
// named by their EC2 instance id, so a decision reads as "i-b".
type refFixture struct {
	t   *testing.T
	c   *cluster.Cluster
	ids map[string]string // name -> container instance id
}

func newRefFixture(t *testing.T) *refFixture {
	t.Helper()
	clock := cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return &refFixture{
		t:   t,
		c:   cluster.New("ref", cluster.Options{Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}),
		ids: map[string]string{},
	}
}

// add registers an instance named name with cpu units, MiB of memory and
// attributes written "name=value" (or "name" for one without a value).
func (f *refFixture) add(name string, cpu, mem int64, attrs ...string) {
	f.t.Helper()
	spec := cluster.InstanceSpec{EC2InstanceID: name, CPU: cpu, Memory: mem}
	for _, a := range attrs {
		k, v, _ := strings.Cut(a, "=")
		spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: k, Value: v})
	}
	f.addSpec(name, spec)
}

func (f *refFixture) addSpec(name string, spec cluster.InstanceSpec) {
	f.t.Helper()
	spec.EC2InstanceID = name
	info, err := f.c.RegisterInstance(spec)
	require.NoError(f.t, err)
	f.ids[name] = info.ID
}

// run commits n tasks of group with demand d (nil: no resources) on the
// instance name and returns their ids.
func (f *refFixture) run(name, group string, n int, d *cluster.Demand) []string {
	f.t.Helper()
	if d == nil {
		d = refDemand(f.t, 0, 0)
	}
	spec := &cluster.TaskSpec{Demand: d, Group: group}
	proposal := make([]cluster.Placement, n)
	for i := range proposal {
		proposal[i] = cluster.Placement{InstanceID: f.ids[name], Spec: spec}
	}
	tasks, err := f.c.Commit(proposal)
	require.NoError(f.t, err)
	ids := make([]string, len(tasks))
	for i, task := range tasks {
		ids[i] = task.ID
	}
	return ids
}

// refOutcome is what a call placing several tasks in turn decided: the
// instances picked, then, if a task could not be placed, its failure.
type refOutcome struct {
	Picks   []string
	Failed  bool
	Closest string
	Reason  cluster.Reason
	Tally   string
}

// decide places up to count tasks of req one after another, each counted
// as placed (in a cluster.Pending) for the next, and stops at the first
// failure.
func (f *refFixture) decide(req *placement.Request, count int, seed uint64) refOutcome {
	f.t.Helper()
	require.NoError(f.t, req.Validate())
	var out refOutcome
	f.c.Read(func(v *cluster.View) {
		var p cluster.Pending
		for range count {
			d := placement.Reference(v, req, &p, seed)
			if d.Instance == nil {
				out.Failed, out.Closest, out.Reason, out.Tally = true, refName(d.Closest), d.Reason, d.Tally.String()
				return
			}
			out.Picks = append(out.Picks, refName(d.Instance))
			p.Add(d.Instance, req.Spec)
		}
	})
	return out
}

// pick is the instance one task of req goes to ("" for none).
func (f *refFixture) pick(req *placement.Request, seed uint64) string {
	f.t.Helper()
	out := f.decide(req, 1, seed)
	if out.Failed {
		return ""
	}
	return out.Picks[0]
}

// matching returns the instances whose constraints of req hold for a task
// of its group, in registration order.
func (f *refFixture) matching(req *placement.Request, p *cluster.Pending) []string {
	var out []string
	f.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			if req.Constraints.Reason(in, req.Spec.Group, p) == cluster.ReasonNone {
				out = append(out, refName(in))
			}
		}
	})
	return out
}

func refName(in *cluster.Instance) string {
	if in == nil {
		return ""
	}
	return in.EC2InstanceID()
}

func refDemand(t testing.TB, cpu, mem int64, ports ...uint16) *cluster.Demand {
	t.Helper()
	d, err := cluster.NewDemand(cpu, mem, ports, nil, 0)
	require.NoError(t, err)
	return d
}

// refRequest builds a request for a task of group with demand d. Each
// strategy is "type" or "type field"; each constraint "distinctInstance"
// or "memberOf EXPRESSION".
func refRequest(t testing.TB, d *cluster.Demand, group string, strategies []string, constraints ...string) *placement.Request {
	t.Helper()
	req := &placement.Request{Spec: &cluster.TaskSpec{Demand: d, Group: group}, Rand: rand.New(rand.NewPCG(7, 0))}
	for _, s := range strategies {
		typ, field, _ := strings.Cut(s, " ")
		st, err := placement.ParseStrategy(typ, field)
		require.NoError(t, err)
		req.Strategies = append(req.Strategies, st)
	}
	for _, c := range constraints {
		typ, expr, _ := strings.Cut(c, " ")
		ct, err := placement.ParseConstraint(typ, expr)
		require.NoError(t, err)
		req.Constraints = append(req.Constraints, ct)
	}
	req.Spec.Guard = req.Constraints
	return req
}

const az = "ecs.availability-zone"

// TestReferenceBinpack pins binpack (docs/semantics.md §3.2): "the instance
// with the least amount of remaining memory but still enough to run the
// task", and likewise for CPU.
func TestReferenceBinpack(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a", 4096, 4096)
	f.add("i-b", 1024, 1024)
	f.add("i-c", 2048, 2048)
	f.add("i-d", 512, 512)
	f.add("i-e", 8192, 8192)
	f.run("i-e", "family:other", 1, refDemand(t, 7000, 7000)) // remaining 1192 of each

	tests := []struct {
		name     string
		strategy string
		cpu, mem int64
		want     string
	}{
		{"memory: least remaining that fits", "binpack memory", 0, 768, "i-b"},
		{"memory: remaining, not registered", "binpack memory", 0, 1100, "i-e"},
		{"memory: skips what is too small", "binpack memory", 0, 1500, "i-c"},
		{"memory: exact fit", "binpack memory", 0, 512, "i-d"},
		{"memory: only the largest fits", "binpack memory", 0, 4096, "i-a"},
		{"memory: nothing fits", "binpack memory", 0, 5000, ""},
		{"cpu: least remaining that fits", "binpack cpu", 768, 0, "i-b"},
		{"cpu: remaining, not registered", "binpack cpu", 1100, 0, "i-e"},
		{"cpu: skips what is too small", "binpack cpu", 1500, 0, "i-c"},
		{"cpu: nothing fits", "binpack cpu", 5000, 0, ""},
		{"field is case-insensitive", "binpack MEMORY", 0, 768, "i-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := refRequest(t, refDemand(t, tt.cpu, tt.mem), "family:web", []string{tt.strategy})
			for seed := range uint64(refSeeds) {
				assert.Equal(t, tt.want, f.pick(req, seed), "seed %d", seed)
			}
		})
	}
}

// TestReferenceBinpackCountsThePendingTasks: the second task of a call sees
// the memory the first one took.
func TestReferenceBinpackCountsThePendingTasks(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a", 4096, 2048)
	f.add("i-b", 4096, 1024)
	req := refRequest(t, refDemand(t, 0, 600), "family:web", []string{"binpack memory"})
	for seed := range uint64(refSeeds) {
		out := f.decide(req, 5, seed)
		assert.Equal(t, refOutcome{
			Picks:  []string{"i-b", "i-a", "i-a", "i-a"},
			Failed: true, Closest: "i-a", Reason: cluster.ReasonMemory,
			Tally: "RESOURCE:MEMORY: 2 instances",
		}, out, "seed %d", seed)
	}
}

// countBy counts the picks per value of key.
func countBy(picks []string, key map[string]string) map[string]int {
	m := map[string]int{}
	for _, p := range picks {
		m[key[p]]++
	}
	return m
}

// TestReferenceSpreadAZ: spread(attribute:ecs.availability-zone) places
// tasks of the group evenly over the zones, counting the ones already
// there.
func TestReferenceSpreadAZ(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a1", 4096, 4096, az+"=us-east-1a")
	f.add("i-a2", 4096, 4096, az+"=us-east-1a")
	f.add("i-b1", 4096, 4096, az+"=us-east-1b")
	f.add("i-c1", 4096, 4096, az+"=us-east-1c")
	f.run("i-a1", "family:web", 1, nil)
	f.run("i-a2", "family:web", 1, nil)
	zone := map[string]string{"i-a1": "a", "i-a2": "a", "i-b1": "b", "i-c1": "c"}
	req := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"spread attribute:" + az})
	for seed := range uint64(refSeeds) {
		out := f.decide(req, 7, seed)
		require.Len(t, out.Picks, 7)
		assert.Equal(t, map[string]int{"b": 2, "c": 2}, countBy(out.Picks[:4], zone), "seed %d: b and c catch up with a first", seed)
		assert.Equal(t, map[string]int{"a": 1, "b": 3, "c": 3}, countBy(out.Picks, zone), "seed %d: then every zone in turn", seed)
	}
}

// TestReferenceSpreadAZThenInstance: [spread AZ, spread instanceId]
// "distributes tasks evenly across Availability Zones and then ... across
// the instances within each Availability Zone".
func TestReferenceSpreadAZThenInstance(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a1", 4096, 4096, az+"=us-east-1a")
	f.add("i-a2", 4096, 4096, az+"=us-east-1a")
	f.add("i-a3", 4096, 4096, az+"=us-east-1a")
	f.add("i-b1", 4096, 4096, az+"=us-east-1b")
	f.add("i-b2", 4096, 4096, az+"=us-east-1b")
	f.add("i-b3", 4096, 4096, az+"=us-east-1b")
	f.run("i-a1", "family:web", 1, nil)
	zone := map[string]string{"i-a1": "a", "i-a2": "a", "i-a3": "a", "i-b1": "b", "i-b2": "b", "i-b3": "b"}
	self := map[string]string{}
	for name := range zone {
		self[name] = name
	}
	req := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"spread attribute:" + az, "spread instanceId"})
	for seed := range uint64(refSeeds) {
		out := f.decide(req, 5, seed)
		require.Len(t, out.Picks, 5)
		assert.Equal(t, "b", zone[out.Picks[0]], "seed %d: zone b has none", seed)
		for i := 1; i < 5; i += 2 {
			assert.Equal(t, map[string]int{"a": 1, "b": 1}, countBy(out.Picks[i:i+2], zone), "seed %d: picks %v alternate zones", seed, out.Picks)
		}
		assert.Equal(t, map[string]int{"i-a2": 1, "i-a3": 1, "i-b1": 1, "i-b2": 1, "i-b3": 1}, countBy(out.Picks, self),
			"seed %d: every instance but the one already running a task gets one", seed)
	}
}

// TestReferenceSpreadAZThenBinpack: [spread AZ, binpack memory] bin packs
// within the least-loaded zone.
func TestReferenceSpreadAZThenBinpack(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a1", 4096, 4096, az+"=us-east-1a")
	f.add("i-a2", 4096, 512, az+"=us-east-1a") // the least memory overall
	f.add("i-b1", 4096, 3072, az+"=us-east-1b")
	f.add("i-b2", 4096, 1024, az+"=us-east-1b")
	f.add("i-b3", 4096, 2048, az+"=us-east-1b")
	f.run("i-a1", "service:api", 1, nil)
	chain := []string{"spread attribute:" + az, "binpack memory"}
	for seed := range uint64(refSeeds) {
		assert.Equal(t, "i-b2", f.pick(refRequest(t, refDemand(t, 0, 256), "service:api", chain), seed),
			"seed %d: the least memory in zone b, not i-a2 in the busier zone a", seed)
		assert.Equal(t, "i-b3", f.pick(refRequest(t, refDemand(t, 0, 1500), "service:api", chain), seed),
			"seed %d: i-b2 is too small", seed)
		assert.Equal(t, "i-b1", f.pick(refRequest(t, refDemand(t, 0, 2500), "service:api", chain), seed),
			"seed %d: only i-b1 fits in zone b", seed)
		assert.Equal(t, "i-a1", f.pick(refRequest(t, refDemand(t, 0, 4000), "service:api", chain), seed),
			"seed %d: nothing in zone b fits: spread is best effort", seed)
	}
}

// TestReferenceSpreadInstanceThenBinpack: [spread instanceId, binpack
// memory] evens the group over instances, then bin packs among the least
// loaded ones.
func TestReferenceSpreadInstanceThenBinpack(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-1", 4096, 1024)
	f.add("i-2", 4096, 2048)
	f.add("i-3", 4096, 4096)
	f.run("i-1", "family:web", 1, nil)
	req := refRequest(t, refDemand(t, 0, 512), "family:web", []string{"spread instanceId", "binpack memory"})
	for seed := range uint64(refSeeds) {
		out := f.decide(req, 4, seed)
		assert.Equal(t, []string{"i-2", "i-3", "i-1", "i-2"}, out.Picks,
			"seed %d: i-2 and i-3 have none; then all have one and i-1 has the least memory left (1024 < 1536 < 3584); then i-2 (1536 < 3584)", seed)
	}
	// spread(host) is the same field.
	hostReq := refRequest(t, refDemand(t, 0, 512), "family:web", []string{"spread host", "binpack memory"})
	assert.Equal(t, f.decide(req, 4, 1), f.decide(hostReq, 4, 1))
}

// TestReferenceSpreadCountsOnlyTheGroup: "Service tasks are spread based on
// the tasks from that service. Standalone tasks are spread based on the
// tasks from the same task group."
func TestReferenceSpreadCountsOnlyTheGroup(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-a", 4096, 4096, az+"=us-east-1a")
	f.add("i-b", 4096, 4096, az+"=us-east-1b")
	f.run("i-a", "service:api", 2, nil)
	f.run("i-b", "family:web", 5, nil)
	f.run("i-b", "service:other", 3, nil)
	stopped := f.run("i-b", "service:api", 4, nil)
	for _, id := range stopped {
		_, err := f.c.StopTask(id, "", cluster.StopUserInitiated)
		require.NoError(t, err)
	}
	for seed := range uint64(refSeeds) {
		for _, field := range []string{"attribute:" + az, "instanceId"} {
			api := refRequest(t, refDemand(t, 0, 0), "service:api", []string{"spread " + field})
			web := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"spread " + field})
			other := refRequest(t, refDemand(t, 0, 0), "service:new", []string{"spread " + field, "binpack memory"})
			assert.Equal(t, "i-b", f.pick(api, seed), "seed %d, %s: i-b runs 8 other tasks and 4 stopped ones of service:api, none that count", seed, field)
			assert.Equal(t, "i-a", f.pick(web, seed), "seed %d, %s", seed, field)
			assert.Contains(t, []string{"i-a", "i-b"}, f.pick(other, seed), "seed %d, %s: a new group ties everywhere", seed, field)
		}
	}
}

// TestReferenceSpreadMissingAttribute: instances lacking the spread
// attribute count together as one more value [INF].
func TestReferenceSpreadMissingAttribute(t *testing.T) {
	chain := []string{"spread attribute:" + az, "binpack memory"}
	t.Run("they share one count", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-a", 4096, 4096, az+"=us-east-1a")
		f.add("i-b", 4096, 2048, az+"=us-east-1b")
		f.add("i-m1", 4096, 1024) // the least memory: binpack would pick it
		f.add("i-m2", 4096, 8192)
		for _, name := range []string{"i-a", "i-b", "i-m1", "i-m2"} {
			f.run(name, "family:web", 1, nil)
		}
		for seed := range uint64(refSeeds) {
			assert.Equal(t, "i-b", f.pick(refRequest(t, refDemand(t, 0, 0), "family:web", chain), seed),
				"seed %d: the missing value has 2 tasks, a and b 1 each", seed)
		}
	})
	t.Run("they are a value like any other", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-a", 4096, 4096, az+"=us-east-1a")
		f.add("i-b", 4096, 2048, az+"=us-east-1b")
		f.add("i-m1", 4096, 8192)
		f.run("i-a", "family:web", 1, nil)
		f.run("i-b", "family:web", 1, nil)
		for seed := range uint64(refSeeds) {
			assert.Equal(t, "i-m1", f.pick(refRequest(t, refDemand(t, 0, 0), "family:web", chain), seed), "seed %d", seed)
		}
	})
	t.Run("an attribute no instance has ranks all equal", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-a", 4096, 4096, az+"=us-east-1a")
		f.add("i-b", 4096, 2048, az+"=us-east-1b")
		f.run("i-b", "family:web", 3, nil)
		req := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"spread attribute:missing", "binpack memory"})
		for seed := range uint64(refSeeds) {
			assert.Equal(t, "i-b", f.pick(req, seed), "seed %d: binpack decides", seed)
		}
	})
}

// TestReferenceDistinctInstance: distinctInstance counts the group's tasks
// that are not stopped (PENDING or RUNNING) and those placed earlier in
// the same call; other groups and stopped tasks do not count.
func TestReferenceDistinctInstance(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-1", 4096, 4096)
	f.add("i-2", 4096, 4096)
	f.add("i-3", 4096, 4096)
	f.add("i-4", 4096, 4096)
	running := f.run("i-1", "family:web", 1, nil)
	_, err := f.c.TaskStarted(running[0])
	require.NoError(t, err)
	f.run("i-2", "family:web", 1, nil) // PENDING
	f.run("i-3", "family:db", 2, nil)
	stopped := f.run("i-4", "family:web", 1, nil)
	_, err = f.c.StopTask(stopped[0], "", cluster.StopUserInitiated)
	require.NoError(t, err)

	req := refRequest(t, refDemand(t, 0, 0), "family:web", nil, "distinctInstance")
	assert.Equal(t, []string{"i-3", "i-4"}, f.matching(req, nil))
	for seed := range uint64(refSeeds) {
		out := f.decide(req, 3, seed)
		require.Len(t, out.Picks, 2, "seed %d", seed)
		assert.ElementsMatch(t, []string{"i-3", "i-4"}, out.Picks, "seed %d", seed)
		assert.Equal(t, refOutcome{
			Picks:  out.Picks,
			Failed: true, Closest: "i-1", Reason: cluster.ReasonDistinctInstance,
			Tally: "DistinctInstance placement constraint unsatisfied.: 4 instances",
		}, out, "seed %d: the third task has nowhere to go; the first registered is the closest", seed)
	}

	// A pending placement of another group does not count.
	f.c.Read(func(v *cluster.View) {
		in3, ok := v.Instance(f.ids["i-3"])
		require.True(t, ok)
		var p cluster.Pending
		p.Add(in3, &cluster.TaskSpec{Demand: refDemand(t, 0, 0), Group: "family:db"})
		assert.Equal(t, cluster.ReasonNone, req.Constraints.Reason(in3, "family:web", &p))
		p.Add(in3, &cluster.TaskSpec{Demand: refDemand(t, 0, 0), Group: "family:web"})
		assert.Equal(t, cluster.ReasonDistinctInstance, req.Constraints.Reason(in3, "family:web", &p))
		assert.Equal(t, cluster.ReasonNone, req.Constraints.Reason(in3, "family:web", nil), "a nil Pending has no tasks")
	})
}

// TestReferenceMemberOf pins the documented memberOf expressions
// (docs/semantics.md §3.4) as filters on a real cluster.
func TestReferenceMemberOf(t *testing.T) {
	f := newRefFixture(t)
	v1145 := cluster.VersionInfo{AgentVersion: "1.14.5"}
	f.addSpec("i-1", cluster.InstanceSpec{CPU: 4096, Memory: 4096, Version: v1145, Attributes: []cluster.Attribute{
		{Name: "ecs.instance-type", Value: "t2.small"}, {Name: az, Value: "us-east-1a"}, {Name: "stack", Value: "prod"}}})
	f.addSpec("i-2", cluster.InstanceSpec{CPU: 4096, Memory: 4096, Version: v1145, Attributes: []cluster.Attribute{
		{Name: "ecs.instance-type", Value: "g2.2xlarge"}, {Name: az, Value: "us-east-1b"}}})
	f.addSpec("i-3", cluster.InstanceSpec{CPU: 4096, Memory: 4096, Version: v1145, Attributes: []cluster.Attribute{
		{Name: "ecs.instance-type", Value: "g2.8xlarge"}, {Name: az, Value: "us-east-1d"}, {Name: "stack", Value: "dev"}}})
	f.addSpec("i-4", cluster.InstanceSpec{CPU: 4096, Memory: 4096, Version: cluster.VersionInfo{AgentVersion: "1.9.0"}, Attributes: []cluster.Attribute{
		{Name: "ecs.instance-type", Value: "m5.large"}, {Name: az, Value: "us-east-1c"}}})
	db := f.run("i-1", "database", 1, nil)
	_, err := f.c.TaskStarted(db[0])
	require.NoError(t, err)
	f.run("i-3", "service:production", 1, nil) // PENDING: not in runningTasksCount

	tests := []struct {
		expr string
		want []string
	}{
		{"attribute:ecs.instance-type == t2.small", []string{"i-1"}},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", []string{"i-1", "i-2"}},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", []string{"i-2"}},
		{"task:group == service:production", []string{"i-3"}},
		{"not(task:group == database)", []string{"i-2", "i-3", "i-4"}},
		{"runningTasksCount == 1", []string{"i-1"}},
		{"agentVersion < 1.14.5", []string{"i-4"}},
		{"ec2InstanceId in ['i-1', 'i-4']", []string{"i-1", "i-4"}},
		{"attribute:stack != prod", []string{"i-3"}}, // instances without stack do not match
		{"not(attribute:stack == prod)", []string{"i-2", "i-3", "i-4"}},
		{"attribute:stack exists", []string{"i-1", "i-3"}},
		{"attribute:ecs.instance-type =~ g2", nil}, // the regex must match the whole value
		{"attribute:ecs.availability-zone == us-east-1e", nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			req := refRequest(t, refDemand(t, 0, 0), "family:web", nil, "memberOf "+tt.expr)
			assert.Equal(t, tt.want, f.matching(req, nil))
			for seed := range uint64(refSeeds) {
				out := f.decide(req, 1, seed)
				if tt.want == nil {
					assert.Equal(t, refOutcome{Failed: true, Closest: "i-1", Reason: cluster.ReasonMemberOf,
						Tally: "MemberOf placement constraint unsatisfied.: 4 instances"}, out, "seed %d", seed)
					continue
				}
				require.Len(t, out.Picks, 1, "seed %d", seed)
				assert.Contains(t, tt.want, out.Picks[0], "seed %d", seed)
			}
		})
	}

	t.Run("task:group sees the call's earlier placements", func(t *testing.T) {
		affinity := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"binpack memory"}, "memberOf task:group == family:web")
		anti := refRequest(t, refDemand(t, 0, 0), "family:web", nil, "memberOf not(task:group == family:web)")
		f.c.Read(func(v *cluster.View) {
			in4, ok := v.Instance(f.ids["i-4"])
			require.True(t, ok)
			var p cluster.Pending
			assert.Nil(t, placement.Reference(v, affinity, &p, 1).Instance, "no instance runs family:web yet")
			p.Add(in4, affinity.Spec)
			for seed := range uint64(refSeeds) {
				assert.Equal(t, "i-4", refName(placement.Reference(v, affinity, &p, seed).Instance), "seed %d", seed)
				assert.NotEqual(t, "i-4", refName(placement.Reference(v, anti, &p, seed).Instance), "seed %d", seed)
			}
		})
	})
}

// TestReferenceFailures: when no instance can take the task, the decision
// names the closest instance (the one whose first failing check comes
// latest in cluster.CheckOrder, the first registered on a tie) and tallies
// the first failing check of every instance that is not INACTIVE.
func TestReferenceFailures(t *testing.T) {
	t.Run("the closest instance by check order", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-cpu", 256, 8192)
		f.add("i-inactive", 8192, 8192)
		f.add("i-mem", 8192, 256)
		f.addSpec("i-ports", cluster.InstanceSpec{CPU: 8192, Memory: 8192, Ports: []uint16{22, 80}})
		f.add("i-draining", 8192, 8192)
		f.add("i-agent", 8192, 8192)
		f.add("i-mem2", 8192, 256)
		_, err := f.c.DeregisterInstance(f.ids["i-inactive"], false)
		require.NoError(t, err)
		_, err = f.c.SetInstanceStatus(f.ids["i-draining"], cluster.InstanceDraining)
		require.NoError(t, err)
		_, err = f.c.SetAgentConnected(f.ids["i-agent"], false)
		require.NoError(t, err)
		req := refRequest(t, refDemand(t, 512, 512, 80), "family:web", []string{"binpack memory"})
		for seed := range uint64(refSeeds) {
			assert.Equal(t, refOutcome{
				Failed: true, Closest: "i-agent", Reason: cluster.ReasonAgent,
				Tally: "DRAINING: 1 instance, RESOURCE:CPU: 1 instance, RESOURCE:MEMORY: 2 instances, RESOURCE:PORTS: 1 instance, AGENT: 1 instance",
			}, f.decide(req, 1, seed), "seed %d", seed)
		}
	})
	t.Run("ties go to the first registered", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-1", 256, 8192)
		f.add("i-2", 8192, 256)
		f.add("i-3", 8192, 256)
		req := refRequest(t, refDemand(t, 512, 512), "family:web", []string{"spread instanceId"})
		for seed := range uint64(refSeeds) {
			assert.Equal(t, refOutcome{Failed: true, Closest: "i-2", Reason: cluster.ReasonMemory,
				Tally: "RESOURCE:CPU: 1 instance, RESOURCE:MEMORY: 2 instances"}, f.decide(req, 1, seed), "seed %d", seed)
		}
	})
	t.Run("resources before constraints", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-1", 256, 8192)
		f.add("i-2", 256, 8192)
		f.add("i-3", 8192, 8192)
		f.run("i-3", "family:web", 1, nil)
		for _, strategies := range [][]string{nil, {"binpack cpu"}, {"random"}, {"random", "binpack memory"}} {
			req := refRequest(t, refDemand(t, 512, 512), "family:web", strategies, "distinctInstance")
			for seed := range uint64(refSeeds) {
				assert.Equal(t, refOutcome{
					Failed: true, Closest: "i-3", Reason: cluster.ReasonDistinctInstance,
					Tally: "RESOURCE:CPU: 2 instances, DistinctInstance placement constraint unsatisfied.: 1 instance",
				}, f.decide(req, 1, seed), "strategies %v, seed %d", strategies, seed)
			}
		}
	})
	t.Run("constraints are checked in check order, not request order", func(t *testing.T) {
		// i-1 fails only distinctInstance; i-2 fails distinctInstance and
		// memberOf. cluster.CheckOrder puts distinctInstance before
		// memberOf, so both first fail distinctInstance and i-1, the first
		// registered, is the closest, whatever order the request lists the
		// constraints in. Listing memberOf first must not make i-2, which
		// fails more, look closer.
		f := newRefFixture(t)
		f.add("i-1", 4096, 4096, "rack=r1")
		f.add("i-2", 4096, 4096, "rack=r2")
		f.run("i-1", "family:web", 1, nil)
		f.run("i-2", "family:web", 1, nil)
		want := refOutcome{Failed: true, Closest: "i-1", Reason: cluster.ReasonDistinctInstance,
			Tally: "DistinctInstance placement constraint unsatisfied.: 2 instances"}
		for _, constraints := range [][]string{
			{"distinctInstance", "memberOf attribute:rack == r1"},
			{"memberOf attribute:rack == r1", "distinctInstance"},
		} {
			req := refRequest(t, refDemand(t, 0, 0), "family:web", nil, constraints...)
			for seed := range uint64(refSeeds) {
				if !assert.Equal(t, want, f.decide(req, 1, seed), "constraints %q, seed %d", constraints, seed) {
					break
				}
			}
			f.c.Read(func(v *cluster.View) {
				in2, _ := v.Instance(f.ids["i-2"])
				assert.Equal(t, cluster.ReasonDistinctInstance, req.Constraints.Reason(in2, "family:web", nil), "constraints %q", constraints)
			})
		}
	})
	t.Run("a call's earlier placements use up the ports", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-1", 8192, 8192)
		f.add("i-2", 8192, 8192)
		req := refRequest(t, refDemand(t, 0, 0, 80), "family:web", []string{"binpack memory"})
		for seed := range uint64(refSeeds) {
			out := f.decide(req, 3, seed)
			assert.ElementsMatch(t, []string{"i-1", "i-2"}, out.Picks, "seed %d", seed)
			assert.Equal(t, "RESOURCE:PORTS: 2 instances", out.Tally, "seed %d", seed)
		}
	})
	t.Run("no instances", func(t *testing.T) {
		f := newRefFixture(t)
		req := refRequest(t, refDemand(t, 0, 0), "family:web", []string{"random"})
		f.c.Read(func(v *cluster.View) {
			assert.Equal(t, placement.Decision{}, placement.Reference(v, req, nil, 1))
		})
	})
	t.Run("only INACTIVE instances", func(t *testing.T) {
		f := newRefFixture(t)
		f.add("i-1", 8192, 8192)
		_, err := f.c.DeregisterInstance(f.ids["i-1"], false)
		require.NoError(t, err)
		for _, strategies := range [][]string{nil, {"random"}} {
			req := refRequest(t, refDemand(t, 0, 0), "family:web", strategies)
			f.c.Read(func(v *cluster.View) {
				assert.Equal(t, placement.Decision{}, placement.Reference(v, req, nil, 1), "strategies %v", strategies)
			})
		}
	})
}

// TestReferenceRandom: a leading random strategy picks any feasible
// instance and, over many draws, each of them; a later random strategy
// decides only among the instances the earlier ones rank equal.
func TestReferenceRandom(t *testing.T) {
	f := newRefFixture(t)
	f.add("i-1", 4096, 1024)
	f.add("i-2", 4096, 1024)
	f.add("i-3", 4096, 2048)
	f.add("i-small", 128, 128)
	f.add("i-4", 4096, 2048)
	_, err := f.c.SetInstanceStatus(f.ids["i-4"], cluster.InstanceDraining)
	require.NoError(t, err)

	leading := refRequest(t, refDemand(t, 512, 512), "family:web", []string{"random"})
	later := refRequest(t, refDemand(t, 512, 512), "family:web", []string{"binpack memory", "random"})
	seenLeading, seenLater := map[string]int{}, map[string]int{}
	for i := range uint64(200) {
		leading.Rand = rand.New(rand.NewPCG(i, 0))
		later.Rand = rand.New(rand.NewPCG(i, 0))
		seenLeading[f.pick(leading, 1)]++
		seenLater[f.pick(later, 1)]++
	}
	assert.ElementsMatch(t, []string{"i-1", "i-2", "i-3"}, slices.Collect(maps.Keys(seenLeading)), "counts %v", seenLeading)
	assert.ElementsMatch(t, []string{"i-1", "i-2"}, slices.Collect(maps.Keys(seenLater)), "counts %v", seenLater)
}

// TestReferenceTieBreak: with no strategy only the seeded tie-break decides:
// the same seed always picks the same instance, and different seeds spread
// the picks.
func TestReferenceTieBreak(t *testing.T) {
	f := newRefFixture(t)
	for i := range 8 {
		f.add(fmt.Sprintf("i-%d", i), 4096, 4096)
	}
	req := refRequest(t, refDemand(t, 0, 0), "family:web", nil)
	seen := map[string]bool{}
	for seed := range uint64(64) {
		first := f.pick(req, seed)
		assert.Equal(t, first, f.pick(req, seed), "seed %d", seed)
		seen[first] = true
	}
	assert.Greater(t, len(seen), 4, "64 seeds picked only %v", seen)
}

// --- Properties over random clusters (internal/clustergen) ---

// refCall is the state of one placement call in a property: the tasks
// decided so far and the tasks the call stops (as a rolling update does),
// counted twice — by the cluster.Pending the Reference is given and by the
// test itself.
type refCall struct {
	v        *cluster.View
	req      *placement.Request
	p        cluster.Pending
	extra    map[*cluster.Instance][]*cluster.TaskSpec
	released map[*cluster.Task]bool
}

func newRefCall(v *cluster.View, req *placement.Request) *refCall {
	return &refCall{v: v, req: req, extra: map[*cluster.Instance][]*cluster.TaskSpec{}, released: map[*cluster.Task]bool{}}
}

// release records the call stopping task.
func (c *refCall) release(task *cluster.Task) {
	if !c.released[task] {
		c.p.Release(task)
		c.released[task] = true
	}
}

func (c *refCall) add(in *cluster.Instance) {
	c.p.Add(in, c.req.Spec)
	c.extra[in] = append(c.extra[in], c.req.Spec)
}

// groupTasks counts the group's tasks on in: its non-stopped tasks and the
// call's.
func (c *refCall) groupTasks(in *cluster.Instance, group string) int {
	n := 0
	for task := range c.v.InstanceTasks(in) {
		if task.LastStatus() != cluster.TaskStopped && task.Group() == group && !c.released[task] {
			n++
		}
	}
	for _, spec := range c.extra[in] {
		if spec.Group == group {
			n++
		}
	}
	return n
}

// remaining is in's registered CPU and memory minus the demands of its
// non-stopped tasks the call does not stop and of the call's.
func (c *refCall) remaining(in *cluster.Instance) (cpu, mem int64) {
	cpu, mem = in.RegisteredCPU(), in.RegisteredMemory()
	for task := range c.v.InstanceTasks(in) {
		if c.released[task] {
			continue
		}
		cpu -= task.Demand().CPU()
		mem -= task.Demand().Memory()
	}
	for _, spec := range c.extra[in] {
		cpu -= spec.Demand.CPU()
		mem -= spec.Demand.Memory()
	}
	return cpu, mem
}

// refValue is in's value of attr, or "\x00missing" when it lacks it.
func refValue(in *cluster.Instance, attr string) string {
	if v, ok := in.Attribute(attr); ok {
		return v
	}
	return "\x00missing"
}

// valueTasks counts the group's tasks on every instance sharing in's value
// of attr.
func (c *refCall) valueTasks(in *cluster.Instance, attr, group string) int {
	n, val := 0, refValue(in, attr)
	for other := range c.v.Instances() {
		if refValue(other, attr) == val {
			n += c.groupTasks(other, group)
		}
	}
	return n
}

// refTarget is an instance as the query language sees it, computed by the
// test: task:group counts the call's placements and not the tasks it
// stops; runningTasksCount is the cluster's (a task the call stops is still
// RUNNING while it decides).
type refTarget struct {
	c  *refCall
	in *cluster.Instance
}

func (t refTarget) Attribute(name string) (string, bool) { return t.in.Attribute(name) }
func (t refTarget) AgentConnected() bool                 { return t.in.AgentConnected() }
func (t refTarget) AgentVersion() string                 { return t.in.AgentVersion() }
func (t refTarget) EC2InstanceID() string                { return t.in.EC2InstanceID() }
func (t refTarget) RegisteredAt() time.Time              { return t.in.RegisteredAt() }
func (t refTarget) HasTaskGroup(g string) bool           { return t.c.groupTasks(t.in, g) > 0 }
func (t refTarget) RunningTasksCount() int {
	n := 0
	for task := range t.c.v.InstanceTasks(t.in) {
		if task.LastStatus() == cluster.TaskRunning {
			n++
		}
	}
	return n
}

// reason is the brute-force first failing check of in in cluster.CheckOrder:
// the fit test, then distinctInstance, then memberOf, whatever order the
// request lists its constraints in.
func (c *refCall) reason(in *cluster.Instance) cluster.Reason {
	if r := in.Fits(c.req.Spec.Demand, &c.p); r != cluster.ReasonNone {
		return r
	}
	for _, con := range c.req.Constraints {
		if con.Type() == placement.DistinctInstance && c.groupTasks(in, c.req.Spec.Group) > 0 {
			return cluster.ReasonDistinctInstance
		}
	}
	for _, con := range c.req.Constraints {
		if con.Type() == placement.MemberOf && !con.Expression().Match(refTarget{c, in}) {
			return cluster.ReasonMemberOf
		}
	}
	return cluster.ReasonNone
}

func (c *refCall) feasible() []*cluster.Instance {
	var out []*cluster.Instance
	for in := range c.v.Instances() {
		if c.reason(in) == cluster.ReasonNone {
			out = append(out, in)
		}
	}
	return out
}

// key is in's key under strategy s, computed by the test; random has none.
func (c *refCall) key(in *cluster.Instance, s placement.Strategy) (int64, bool) {
	group := c.req.Spec.Group
	cpu, mem := c.remaining(in)
	switch {
	case s.Type() == placement.Binpack && strings.EqualFold(s.Field(), "cpu"):
		return cpu, true
	case s.Type() == placement.Binpack:
		return mem, true
	case s.Type() == placement.Spread && (s.Field() == "instanceId" || s.Field() == "host"):
		return int64(c.groupTasks(in, group)), true
	case s.Type() == placement.Spread:
		return int64(c.valueTasks(in, strings.TrimPrefix(s.Field(), "attribute:"), group)), true
	}
	return 0, false
}

// keys is in's key tuple up to the first random strategy.
func (c *refCall) keys(in *cluster.Instance) []int64 {
	var out []int64
	for _, s := range c.req.Strategies {
		k, ok := c.key(in, s)
		if !ok {
			break
		}
		out = append(out, k)
	}
	return out
}

// refRun is one drawn placement call: a cluster, a request, a tie-break
// seed, how many tasks to place and which existing tasks the call stops
// first (indexes into the cluster's non-stopped tasks sorted by id, modulo
// their number).
type refRun struct {
	c        *cluster.Cluster
	req      *placement.Request
	seed     uint64
	count    int
	releases []int
}

// refWorld draws a placement call; its request's first strategy is
// replaced by one from first, if first is not nil.
func refWorld(t *rapid.T, first *rapid.Generator[placement.Strategy]) refRun {
	w := clustergen.Cluster().Draw(t, "cluster")
	req := clustergen.Request().Draw(t, "request")
	if first != nil {
		s := first.Draw(t, "first")
		if len(req.Strategies) == 0 {
			req.Strategies = []placement.Strategy{s}
		} else {
			req.Strategies[0] = s
		}
	}
	require.NoError(t, req.Validate())
	t.Logf("request: %s", clustergen.Describe(req))
	return refRun{
		c: w.Cluster, req: req,
		seed:     rapid.Uint64().Draw(t, "seed"),
		count:    rapid.IntRange(1, 4).Draw(t, "count"),
		releases: rapid.SliceOfN(rapid.IntRange(0, 1<<10), 0, 3).Draw(t, "releases"),
	}
}

// place runs the call: it releases the tasks to stop, then decides count
// tasks one after another, checking each decision with check and adding
// each pick to the call.
func (r refRun) place(t *rapid.T, check func(call *refCall, d placement.Decision)) {
	r.c.Read(func(v *cluster.View) {
		call := newRefCall(v, r.req)
		var live []*cluster.Task
		for task := range v.Tasks() {
			if task.LastStatus() != cluster.TaskStopped {
				live = append(live, task)
			}
		}
		slices.SortFunc(live, func(a, b *cluster.Task) int { return strings.Compare(a.ID(), b.ID()) })
		for _, i := range r.releases {
			if len(live) > 0 {
				task := live[i%len(live)]
				t.Logf("release %s task on %s", task.Group(), refName(task.Instance()))
				call.release(task)
			}
		}
		for range r.count {
			d := placement.Reference(v, r.req, &call.p, r.seed)
			check(call, d)
			if d.Instance == nil {
				return
			}
			call.add(d.Instance)
		}
	})
}

// TestReferencePickIsFeasible: the pick passes the fit test and every
// constraint; no pick means no instance does, and then the failure names
// the closest instance and tallies every instance's first failing check,
// as computed by brute force.
func TestReferencePickIsFeasible(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		run := refWorld(t, nil)
		run.place(t, func(call *refCall, d placement.Decision) {
			if d.Instance != nil {
				require.Equal(t, cluster.ReasonNone, call.reason(d.Instance), "the pick %s is not feasible", refName(d.Instance))
				require.Equal(t, placement.Decision{Instance: d.Instance}, d, "a pick has no failure")
				return
			}
			require.Empty(t, call.feasible(), "no pick, yet instances are feasible")
			var want placement.Decision
			for in := range call.v.Instances() {
				if in.Status() == cluster.InstanceInactive {
					continue
				}
				r := call.reason(in)
				want.Tally.Add(r)
				if want.Closest == nil || r.Closeness() > want.Reason.Closeness() {
					want.Closest, want.Reason = in, r
				}
			}
			require.Equal(t, want.Tally.String(), d.Tally.String())
			require.Equal(t, want.Tally, d.Tally)
			require.Equal(t, refName(want.Closest), refName(d.Closest))
			require.Equal(t, want.Reason, d.Reason)
		})
	})
}

var binpackGen = rapid.SampledFrom([]placement.Strategy{
	placement.MustParseStrategy("binpack", "cpu"),
	placement.MustParseStrategy("binpack", "memory"),
})

// TestReferenceBinpackPicksLeastRemaining: with binpack first, no feasible
// instance has less of the field remaining than the pick.
func TestReferenceBinpackPicksLeastRemaining(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		run := refWorld(t, binpackGen)
		first := run.req.Strategies[0]
		run.place(t, func(call *refCall, d placement.Decision) {
			if d.Instance == nil {
				return
			}
			got, _ := call.key(d.Instance, first)
			for _, in := range call.feasible() {
				k, _ := call.key(in, first)
				require.GreaterOrEqual(t, k, got, "%s: %s has %d remaining, less than the pick %s with %d",
					first, refName(in), k, refName(d.Instance), got)
			}
		})
	})
}

var spreadGen = rapid.SampledFrom([]placement.Strategy{
	placement.MustParseStrategy("spread", "instanceId"),
	placement.MustParseStrategy("spread", "host"),
	placement.MustParseStrategy("spread", "attribute:"+clustergen.AttrAZ),
	placement.MustParseStrategy("spread", "attribute:"+clustergen.AttrRack),
	placement.MustParseStrategy("spread", "attribute:"+clustergen.AttrMissing),
})

// TestReferenceSpreadPicksLeastLoaded: with spread first, no feasible
// instance has fewer of the group's tasks (on itself, or on all instances
// sharing its value of the attribute, those lacking it sharing one) than
// the pick.
func TestReferenceSpreadPicksLeastLoaded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		run := refWorld(t, spreadGen)
		first, req := run.req.Strategies[0], run.req
		run.place(t, func(call *refCall, d placement.Decision) {
			if d.Instance == nil {
				return
			}
			got, _ := call.key(d.Instance, first)
			for _, in := range call.feasible() {
				k, _ := call.key(in, first)
				require.GreaterOrEqual(t, k, got, "%s for %s: %s counts %d tasks, fewer than the pick %s with %d",
					first, req.Spec.Group, refName(in), k, refName(d.Instance), got)
			}
		})
	})
}

// TestReferenceRanksLexicographically: the pick's key tuple (up to the
// first random strategy) is the least among the feasible instances.
func TestReferenceRanksLexicographically(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		run := refWorld(t, nil)
		req := run.req
		run.place(t, func(call *refCall, d placement.Decision) {
			if d.Instance == nil || (len(req.Strategies) > 0 && req.Strategies[0].Type() == placement.Random) {
				return
			}
			got := call.keys(d.Instance)
			for _, in := range call.feasible() {
				k := call.keys(in)
				require.GreaterOrEqual(t, slices.Compare(k, got), 0, "strategies %v: %s has keys %v, before the pick %s with %v",
					req.Strategies, refName(in), k, refName(d.Instance), got)
			}
		})
	})
}

// TestReferenceIsDeterministic: the same cluster, request seed and
// tie-break seed give the same decisions.
func TestReferenceIsDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		run := refWorld(t, nil)
		randSeed := rapid.Uint64().Draw(t, "randSeed")
		decide := func() []string {
			run.req.Rand = rand.New(rand.NewPCG(randSeed, 0))
			var out []string
			run.place(t, func(_ *refCall, d placement.Decision) {
				out = append(out, cmp.Or(refID(d.Instance), "closest "+refID(d.Closest)+" "+d.Reason.String()+" "+d.Tally.String()))
			})
			return out
		}
		first := decide()
		require.Equal(t, first, decide())
	})
}

func refID(in *cluster.Instance) string {
	if in == nil {
		return ""
	}
	return in.ID()
}
