package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/clustergen"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// testingT is what the helpers need of *testing.T, *testing.B and *rapid.T.
type testingT interface {
	require.TestingT
	Helper()
}

func newCluster(tb testingT, n int, spec cluster.InstanceSpec) *cluster.Cluster {
	tb.Helper()
	c := cluster.New("test", cluster.Options{
		Clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Rand:  rand.New(rand.NewPCG(1, 2)),
	})
	for range n {
		_, err := c.RegisterInstance(spec)
		require.NoError(tb, err)
	}
	return c
}

func taskSpec(tb testingT, cpu, mem int64, ports ...uint16) *cluster.TaskSpec {
	tb.Helper()
	d, err := cluster.NewDemand(cpu, mem, ports, nil, 0)
	require.NoError(tb, err)
	return &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: d}
}

// TestRandomSpreadBalance: 10,000 equal tasks on 100 equal instances leave
// no instance above 1.1 × the mean (uniform random alone leaves about
// 1.3 ×), for every one of 10 seeds. (A rapid property would run 100 seeds of
// 10,000 placements each: too slow under the race detector for no more
// confidence.)
func TestRandomSpreadBalance(t *testing.T) {
	seeds := rand.New(rand.NewPCG(2026, 11))
	for range 10 {
		seed := seeds.Uint64()
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			c := newCluster(t, 100, cluster.InstanceSpec{CPU: 1 << 20, Memory: 1 << 20})
			spec := taskSpec(t, 10, 10)
			rnd := rand.New(rand.NewPCG(seed, 0))
			for range 1000 {
				res, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: spec, Count: 10, Rand: rnd}, 0)
				require.NoError(t, err)
				require.Len(t, res.Tasks, 10)
			}
			most, total := 0, 0
			c.Read(func(v *cluster.View) {
				for in := range v.Instances() {
					most = max(most, in.TaskCount())
					total += in.TaskCount()
				}
			})
			require.Equal(t, 10000, total)
			assert.LessOrEqual(t, float64(most), 1.1*float64(total)/100, "fullest instance holds %d tasks; the mean is %d", most, total/100)
		})
	}
}

// TestUniformRandomIsWorse shows what the two choices buy: the same
// placements made uniformly at random leave the fullest instance well above
// 1.1 × the mean.
func TestUniformRandomIsWorse(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2026, 11))
	counts := make([]int, 100)
	for range 10000 {
		counts[rnd.IntN(100)]++
	}
	assert.Greater(t, float64(slices.Max(counts)), 1.1*100)
}

func TestRandomSpreadFailures(t *testing.T) {
	c := newCluster(t, 2, cluster.InstanceSpec{CPU: 1024, Memory: 996})
	spec := taskSpec(t, 1000, 500, 80)
	res, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: spec, Count: 3, Rand: rand.New(rand.NewPCG(3, 4))}, 0)
	require.NoError(t, err)
	require.Len(t, res.Tasks, 2)
	assert.NotEqual(t, res.Tasks[0].InstanceID, res.Tasks[1].InstanceID, "the second task is checked against the first")
	require.Len(t, res.Failures, 1)
	assert.Equal(t, cluster.ReasonCPU, res.Failures[0].Reason, "CPU is the first check that fails")
	assert.Equal(t, "RESOURCE:CPU: 2 instances", res.Failures[0].Detail)

	// With one instance's agent disconnected and the other full, the
	// closest instance is the disconnected one: it fails only AGENT.
	c2 := newCluster(t, 2, cluster.InstanceSpec{CPU: 1024, Memory: 996})
	var second string
	c2.Read(func(v *cluster.View) { second = v.InstanceAt(1).ID() })
	_, err = c2.SetAgentConnected(second, false)
	require.NoError(t, err)
	res, err = scheduler.Execute(c2, &scheduler.RandomSpread{Spec: spec, Count: 2, Rand: rand.New(rand.NewPCG(3, 4))}, 0)
	require.NoError(t, err)
	require.Len(t, res.Tasks, 1)
	require.Len(t, res.Failures, 1)
	assert.Equal(t, cluster.ReasonAgent, res.Failures[0].Reason)
	assert.Contains(t, res.Failures[0].ARN, second)
}

func TestPin(t *testing.T) {
	c := newCluster(t, 2, cluster.InstanceSpec{CPU: 1024, Memory: 996})
	var a, b string
	c.Read(func(v *cluster.View) { a, b = v.InstanceAt(0).ID(), v.InstanceAt(1).ID() })
	_, err := c.SetInstanceStatus(b, cluster.InstanceDraining)
	require.NoError(t, err)
	spec := taskSpec(t, 500, 100, 80)
	res, err := scheduler.Execute(c, &scheduler.Pin{Spec: spec, Instances: []string{a, a, b, "nope"}}, 0)
	require.NoError(t, err)
	require.Len(t, res.Tasks, 1)
	assert.Equal(t, a, res.Tasks[0].InstanceID)
	reasons := make([]cluster.Reason, len(res.Failures))
	for i, f := range res.Failures {
		reasons[i] = f.Reason
	}
	assert.Equal(t, []cluster.Reason{cluster.ReasonPorts, cluster.ReasonDraining, cluster.ReasonMissing}, reasons)
}

// staleScheduler decides once against a view, then keeps proposing the
// same placement: after the first commit fills the instance, every later
// commit conflicts.
type staleScheduler struct {
	spec     *cluster.TaskSpec
	instance string
	decided  int
}

func (s *staleScheduler) Decide(_ *cluster.View, plan *scheduler.Plan) {
	s.decided++
	plan.Placements = append(plan.Placements, cluster.Placement{InstanceID: s.instance, Spec: s.spec})
}

func TestExecuteRetriesConflicts(t *testing.T) {
	c := newCluster(t, 1, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	var id string
	c.Read(func(v *cluster.View) { id = v.InstanceAt(0).ID() })
	spec := taskSpec(t, 1024, 1)
	s := &staleScheduler{spec: spec, instance: id}
	res, err := scheduler.Execute(c, s, 0)
	require.NoError(t, err)
	require.Len(t, res.Tasks, 1)
	assert.Zero(t, res.Conflicts)

	s.decided = 0
	res, err = scheduler.Execute(c, s, 3)
	require.NoError(t, err)
	assert.Empty(t, res.Tasks)
	assert.Equal(t, 3, res.Conflicts)
	assert.Equal(t, 3, s.decided, "decided again after each conflict, up to the bound")
	require.Len(t, res.Failures, 1)
	assert.Equal(t, cluster.ReasonCPU, res.Failures[0].Reason)
}

func TestTally(t *testing.T) {
	var tally placement.Tally
	tally.Add(cluster.ReasonAgent)
	tally.Add(cluster.ReasonCPU)
	tally.Add(cluster.ReasonCPU)
	assert.Equal(t, "RESOURCE:CPU: 2 instances, AGENT: 1 instance", tally.String())
}

// TestPinConstraintsSeeThePlan: StartTask's pinning checks constraints with
// the plan's earlier placements counted, so a plan never conflicts with
// itself.
func TestPinConstraintsSeeThePlan(t *testing.T) {
	c := newCluster(t, 2, cluster.InstanceSpec{CPU: 4096, Memory: 4096})
	var a, b string
	c.Read(func(v *cluster.View) { a, b = v.InstanceAt(0).ID(), v.InstanceAt(1).ID() })
	spec := taskSpec(t, 100, 100)
	spec.Guard = placement.Constraints{placement.MustParseConstraint("distinctInstance", "")}
	res, err := scheduler.Execute(c, &scheduler.Pin{Spec: spec, Instances: []string{a, a, b}}, 0)
	require.NoError(t, err)
	assert.Len(t, res.Tasks, 2)
	assert.Zero(t, res.Conflicts)
	require.Len(t, res.Failures, 1)
	assert.Equal(t, cluster.ReasonDistinctInstance, res.Failures[0].Reason)
}

// flakyState is a State whose first commits fail as a store's
// compare-and-swap would when another writer got in first.
type flakyState struct {
	*cluster.Cluster
	fail int
}

func (s *flakyState) Apply(p cluster.Proposal) (cluster.Applied, error) {
	if s.fail > 0 {
		s.fail--
		return cluster.Applied{}, &cluster.ConflictError{Index: 0, Reason: cluster.ReasonCPU}
	}
	return s.Cluster.Apply(p)
}

// TestStateSeam: schedulers see the state only through State, so another
// store can stand behind it; a conflicting commit is decided again.
func TestStateSeam(t *testing.T) {
	c := newCluster(t, 3, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	s := &flakyState{Cluster: c, fail: 2}
	res, err := scheduler.Execute(s, &scheduler.RandomSpread{Spec: taskSpec(t, 256, 256), Count: 3, Rand: rand.New(rand.NewPCG(1, 1))}, 0)
	require.NoError(t, err)
	assert.Len(t, res.Tasks, 3)
	assert.Equal(t, 2, res.Conflicts)
}

// TestExecuteTo: a Result kept between rounds is reused — no allocation
// for the infos once it has grown — and each round's answer replaces the
// last; a wrapper of a Cluster still commits through its own Apply.
func TestExecuteTo(t *testing.T) {
	c := newCluster(t, 4, cluster.InstanceSpec{CPU: 1 << 20, Memory: 1 << 20})
	rnd := rand.New(rand.NewPCG(1, 1))
	var res scheduler.Result
	require.NoError(t, scheduler.ExecuteTo(c, &scheduler.RandomSpread{Spec: taskSpec(t, 1, 1), Count: 3, Rand: rnd}, 0, &res))
	require.Len(t, res.Tasks, 3)
	first := res.Tasks[0].ID
	require.NoError(t, scheduler.ExecuteTo(c, &scheduler.RandomSpread{Spec: taskSpec(t, 1, 1), Count: 2, Rand: rnd}, 0, &res))
	require.Len(t, res.Tasks, 2)
	assert.NotEqual(t, first, res.Tasks[0].ID, "the second round's tasks")
	assert.Empty(t, res.Failures)
	assert.Zero(t, res.Conflicts)

	spec := taskSpec(t, 1, 1)
	kept := testing.AllocsPerRun(100, func() {
		require.NoError(t, scheduler.ExecuteTo(c, &scheduler.RandomSpread{Spec: spec, Count: 2, Rand: rnd}, 0, &res))
	})
	fresh := testing.AllocsPerRun(100, func() {
		_, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: spec, Count: 2, Rand: rnd}, 0)
		require.NoError(t, err)
	})
	if !raceEnabled {
		assert.Less(t, kept, fresh, "a kept result needs no memory for the infos")
	}

	s := &flakyState{Cluster: c, fail: 1}
	require.NoError(t, scheduler.ExecuteTo(s, &scheduler.RandomSpread{Spec: spec, Count: 1, Rand: rnd}, 0, &res))
	assert.Equal(t, 1, res.Conflicts, "the wrapper's Apply was used")
	assert.Len(t, res.Tasks, 1)
}

// TestRetriesCounted: a round whose first proposal conflicts is decided
// again; the cluster counts the conflict and the retry.
func TestRetriesCounted(t *testing.T) {
	c := newCluster(t, 1, cluster.InstanceSpec{CPU: 4096, Memory: 4096})
	spec := taskSpec(t, 1, 1, 8080)
	decisions := 0
	s := scheduler.Func(func(v *cluster.View, plan *scheduler.Plan) {
		decisions++
		in := v.InstanceAt(0)
		plan.Place(in, spec)
		if decisions == 1 { // the same host port twice: the commit rejects it
			plan.Placements = append(plan.Placements, plan.Placements[0])
		}
	})
	res, err := scheduler.Execute(c, s, 0)
	require.NoError(t, err)
	assert.Len(t, res.Tasks, 1)
	assert.Equal(t, 1, res.Conflicts)
	st := c.Stats()
	assert.Equal(t, cluster.Stats{Commits: 1, Conflicts: 1, Retries: 1, TasksStarted: 1}, st)
}

// TestRandomSpreadSurveyMatchesScan: RandomSpread with the engine's survey
// decides exactly what it decides with the plain pass over the instances,
// placements, failures and their tallies alike, on random clusters, for
// calls one after another on the same engine.
func TestRandomSpreadSurveyMatchesScan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := clustergen.Cluster().Draw(t, "cluster")
		engine := placement.NewEngine(1)
		w.Subscribe(engine)
		req := clustergen.Request().Draw(t, "request") // asked again as the cluster fills
		for range rapid.IntRange(1, 5).Draw(t, "calls") {
			seed := rapid.Uint64().Draw(t, "seed")
			count := rapid.IntRange(1, 10).Draw(t, "count")
			var plain, surveyed scheduler.Plan
			w.Read(func(v *cluster.View) {
				(&scheduler.RandomSpread{Spec: req.Spec, Count: count, Rand: rand.New(rand.NewPCG(seed, 1)), Constraints: req.Constraints}).Decide(v, &plain)
				(&scheduler.RandomSpread{Spec: req.Spec, Count: count, Rand: rand.New(rand.NewPCG(seed, 1)), Constraints: req.Constraints, Survey: engine}).Decide(v, &surveyed)
			})
			require.Equal(t, placementsOf(plain), placementsOf(surveyed))
			require.Equal(t, plain.Failures, surveyed.Failures)
			if len(surveyed.Placements) > 0 {
				_, err := w.Apply(cluster.Proposal{Placements: surveyed.Placements})
				require.NoError(t, err)
			}
		}
	})
}

func placementsOf(p scheduler.Plan) []string {
	var out []string
	for _, pl := range p.Placements {
		out = append(out, pl.InstanceID)
	}
	return out
}
