package placement_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

var engineStrategies = []placement.Strategy{
	placement.MustParseStrategy("binpack", "memory"),
	placement.MustParseStrategy("binpack", "cpu"),
	placement.MustParseStrategy("spread", "instanceId"),
	placement.MustParseStrategy("spread", "attribute:ecs.availability-zone"),
	placement.MustParseStrategy("spread", "attribute:rack"),
	placement.MustParseStrategy("random", ""),
}

var engineConstraints = []placement.Constraint{
	placement.MustParseConstraint("distinctInstance", ""),
	placement.MustParseConstraint("maxPerInstance", "2"),
	placement.MustParseConstraint("memberOf", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"),
	placement.MustParseConstraint("memberOf", "not(task:group == family:db)"),
	placement.MustParseConstraint("memberOf", "attribute:rack != r1"),
}

var groups = []string{"family:web", "family:db", "service:api", ""}

// engineWorld is a random cluster with an engine following it.
type engineWorld struct {
	c      *cluster.Cluster
	engine *placement.Engine
	seed   uint64
	ids    []string
	tasks  []string
	// demands are shared by shape, as a task definition's tasks share
	// one, so that the engine's censuses of a shape are used again after
	// the cluster changed.
	demands map[[5]int64]*cluster.Demand
}

func newEngineWorld(t *rapid.T) *engineWorld {
	w := &engineWorld{seed: rapid.Uint64().Draw(t, "seed")}
	w.c = cluster.New("prop", cluster.Options{
		Clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Rand:  rand.New(rand.NewPCG(w.seed, 9)),
	})
	w.engine = placement.NewEngine(w.seed)
	subscribeEarly := rapid.Bool().Draw(t, "subscribeEarly")
	if subscribeEarly {
		w.c.Subscribe(w.engine)
	}
	for i := range rapid.IntRange(0, 30).Draw(t, "instances") {
		w.register(t, i)
	}
	if !subscribeEarly {
		w.c.Subscribe(w.engine)
	}
	return w
}

func (w *engineWorld) register(t *rapid.T, i int) {
	{
		spec := cluster.InstanceSpec{
			CPU:    rapid.SampledFrom([]int64{512, 1024, 2048, 4096}).Draw(t, "cpu"),
			Memory: rapid.SampledFrom([]int64{512, 1024, 2048, 8192}).Draw(t, "memory"),
		}
		if az := rapid.IntRange(0, 3).Draw(t, "az"); az < 3 {
			spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: "ecs.availability-zone", Value: fmt.Sprintf("us-east-1%c", 'a'+az)})
		}
		if rack := rapid.IntRange(0, 2).Draw(t, "rack"); rack < 2 {
			spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: "rack", Value: fmt.Sprintf("r%d", rack)})
		}
		for g := range rapid.IntRange(0, 2).Draw(t, "gpus") {
			spec.GPUs = append(spec.GPUs, fmt.Sprintf("gpu%d-%d", i, g))
		}
		spec.ENIs = rapid.IntRange(0, 3).Draw(t, "enis") // 0: no limit
		info, err := w.c.RegisterInstance(spec)
		require.NoError(t, err)
		w.ids = append(w.ids, info.ID)
	}
}

func (w *engineWorld) request(t *rapid.T) *placement.Request {
	shape := [5]int64{
		rapid.SampledFrom([]int64{0, 128, 256, 512, 1024, 8192}).Draw(t, "taskCPU"),
		rapid.SampledFrom([]int64{64, 256, 512, 1024}).Draw(t, "taskMemory"),
		rapid.SampledFrom([]int64{0, 0, 80}).Draw(t, "port"),
		int64(rapid.IntRange(0, 1).Draw(t, "taskGPUs")),
		int64(rapid.IntRange(0, 1).Draw(t, "taskENIs")),
	}
	d := w.demands[shape]
	if d == nil {
		var ports []uint16
		if shape[2] != 0 {
			ports = []uint16{uint16(shape[2])}
		}
		var err error
		d, err = cluster.NewDemand(shape[0], shape[1], ports, nil, int(shape[3]))
		require.NoError(t, err)
		if shape[4] > 0 {
			d = d.WithENIs(int(shape[4]))
		}
		if w.demands == nil {
			w.demands = map[[5]int64]*cluster.Demand{}
		}
		w.demands[shape] = d
	}
	req := &placement.Request{
		Spec: &cluster.TaskSpec{Demand: d, Group: rapid.SampledFrom(groups).Draw(t, "group")},
		Rand: rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "reqSeed"), 1)),
	}
	for range rapid.IntRange(0, 3).Draw(t, "nStrategies") {
		req.Strategies = append(req.Strategies, rapid.SampledFrom(engineStrategies).Draw(t, "strategy"))
	}
	for range rapid.IntRange(0, 2).Draw(t, "nConstraints") {
		req.Constraints = append(req.Constraints, rapid.SampledFrom(engineConstraints).Draw(t, "constraint"))
	}
	req.Spec.Guard = req.Constraints
	return req
}

// TestEngineMatchesReference: on random clusters and random sequences of
// placements, stops, drains and disconnects, the engine picks exactly what
// the reference scan picks, for every strategy chain and constraint mix,
// with earlier placements of a call pending.
func TestEngineMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := newEngineWorld(t)
		for range rapid.IntRange(1, 25).Draw(t, "steps") {
			switch rapid.IntRange(0, 7).Draw(t, "action") {
			case 0, 1, 2: // a RunTask-like call: count tasks, decided in turn
				req := w.request(t)
				count := rapid.IntRange(1, 4).Draw(t, "count")
				var plan cluster.Pending
				var proposal []cluster.Placement
				var stops []cluster.Stop
				w.c.Read(func(v *cluster.View) {
					// Some calls stop tasks first (as the service
					// scheduler does); their room counts as free.
					for range rapid.IntRange(0, 2).Draw(t, "releases") {
						if len(w.tasks) == 0 {
							break
						}
						id := rapid.SampledFrom(w.tasks).Draw(t, "release")
						task, ok := v.Task(id)
						if !ok || task.LastStatus() == cluster.TaskStopped || slices.ContainsFunc(stops, func(s cluster.Stop) bool { return s.TaskID == id }) {
							continue
						}
						plan.Release(task)
						stops = append(stops, cluster.Stop{TaskID: id, Code: cluster.StopServiceSchedulerInitiated})
					}
					for range count {
						reqSeed := req.Rand.Uint64()
						req.Rand = rand.New(rand.NewPCG(reqSeed, 2))
						want := placement.Reference(v, req, &plan, w.seed)
						req.Rand = rand.New(rand.NewPCG(reqSeed, 2))
						got := w.engine.Place(v, req, &plan)
						require.Equal(t, instanceID(want.Instance), instanceID(got.Instance), "strategies %v constraints %d", req.Strategies, len(req.Constraints))
						if want.Instance == nil {
							require.Equal(t, want.Reason, got.Reason)
							require.Equal(t, instanceID(want.Closest), instanceID(got.Closest))
							require.Equal(t, want.Tally, got.Tally)
							continue
						}
						plan.Add(got.Instance, req.Spec)
						proposal = append(proposal, cluster.Placement{InstanceID: got.Instance.ID(), Spec: req.Spec})
					}
				})
				if len(proposal)+len(stops) > 0 {
					applied, err := w.c.Apply(cluster.Proposal{Stops: stops, Placements: proposal})
					require.NoError(t, err, "a decision made under the read lock commits")
					for _, task := range applied.Started {
						w.tasks = append(w.tasks, task.ID)
					}
				}
			case 3:
				if len(w.tasks) > 0 {
					_, err := w.c.StopTask(rapid.SampledFrom(w.tasks).Draw(t, "stop"), "", cluster.StopUserInitiated)
					require.NoError(t, err)
				}
			case 4:
				if len(w.ids) > 0 {
					_, err := w.c.SetInstanceStatus(rapid.SampledFrom(w.ids).Draw(t, "drain"),
						rapid.SampledFrom([]cluster.InstanceStatus{cluster.InstanceActive, cluster.InstanceDraining}).Draw(t, "status"))
					require.NoError(t, err)
				}
			case 6:
				w.register(t, len(w.ids))
			case 7:
				if len(w.ids) > 0 {
					op := cluster.AttributeOp{
						InstanceID: rapid.SampledFrom(w.ids).Draw(t, "relabel"),
						Attribute: cluster.Attribute{
							Name:  rapid.SampledFrom([]string{"rack", "ecs.availability-zone"}).Draw(t, "attrName"),
							Value: rapid.SampledFrom([]string{"r0", "r1", "r2", "us-east-1a", "us-east-1d"}).Draw(t, "attrValue"),
						},
						Delete: rapid.IntRange(0, 3).Draw(t, "deleteAttr") == 0,
					}
					require.NoError(t, w.c.ApplyAttributes([]cluster.AttributeOp{op}))
				}
			case 5:
				if len(w.ids) > 0 {
					_, err := w.c.SetAgentConnected(rapid.SampledFrom(w.ids).Draw(t, "agent"), rapid.Bool().Draw(t, "connected"))
					require.NoError(t, err)
				}
			}
		}
	})
}

func instanceID(in *cluster.Instance) string {
	if in == nil {
		return ""
	}
	return in.ID()
}
