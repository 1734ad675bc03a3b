package placement_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// benchWorld is a cluster with an engine following it, built once per
// shape and size and shared by the benchmarks that use it.
type benchWorld struct {
	c      *cluster.Cluster
	engine *placement.Engine
}

var (
	worldsMu sync.Mutex
	worlds   = map[string]*benchWorld{}
)

const benchSeed = 42

func newBenchWorld() *benchWorld {
	w := &benchWorld{
		c: cluster.New("bench", cluster.Options{
			Clock: cluster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			Rand:  rand.New(rand.NewPCG(benchSeed, 1)),
		}),
		engine: placement.NewEngine(benchSeed),
	}
	w.c.Subscribe(w.engine)
	return w
}

// mixedWorld: n instances of mixed sizes in three AZs, filled to about 70 %
// of their memory with a mix of task sizes and groups (some with host port
// 80).
func mixedWorld(b *testing.B, n int) *benchWorld {
	b.Helper()
	key := fmt.Sprintf("mixed/%d", n)
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if w, ok := worlds[key]; ok {
		return w
	}
	w := newBenchWorld()
	rnd := rand.New(rand.NewPCG(benchSeed, 2))
	type size struct{ cpu, mem int64 }
	sizes := []size{{256, 512}, {512, 1024}, {1024, 2048}, {2048, 4096}, {128, 256}}
	var specs []*cluster.TaskSpec
	for i, s := range sizes {
		for g := range 4 {
			var ports []uint16
			if g == 0 {
				ports = []uint16{80}
			}
			d, err := cluster.NewDemand(s.cpu, s.mem, ports, nil, 0)
			require.NoError(b, err)
			specs = append(specs, &cluster.TaskSpec{Family: "fill", Group: fmt.Sprintf("family:fill-%d-%d", i, g), Demand: d})
		}
	}
	for i := range n {
		cpu := []int64{4096, 8192, 16384}[rnd.IntN(3)]
		mem := cpu * 2 * int64(1+rnd.IntN(2))
		info, err := w.c.RegisterInstance(cluster.InstanceSpec{
			CPU: cpu, Memory: mem,
			Attributes: []cluster.Attribute{{Name: "ecs.availability-zone", Value: fmt.Sprintf("us-east-1%c", 'a'+i%3)}},
		})
		require.NoError(b, err)
		var proposal []cluster.Placement
		var usedCPU, usedMem int64
		for usedMem < mem*7/10 {
			s := specs[rnd.IntN(len(specs))]
			if usedCPU+s.Demand.CPU() > cpu || usedMem+s.Demand.Memory() > mem {
				break
			}
			if s.Demand.Ports().Len() > 0 && hasPorts(proposal) {
				continue
			}
			proposal = append(proposal, cluster.Placement{InstanceID: info.ID, Spec: s})
			usedCPU += s.Demand.CPU()
			usedMem += s.Demand.Memory()
		}
		if len(proposal) > 0 {
			_, err := w.c.Commit(proposal)
			require.NoError(b, err)
		}
	}
	worlds[key] = w
	return w
}

func hasPorts(ps []cluster.Placement) bool {
	for _, p := range ps {
		if p.Spec.Demand.Ports().Len() > 0 {
			return true
		}
	}
	return false
}

// adversarialWorld: the instances with the least memory that would fit a
// memory-heavy task (8–20 GiB left) have almost no CPU left (< 256 units);
// the ones with CPU to spare have lots of memory. A tree on memory with a
// forward scan for CPU visits most of the cluster; subtree maxima skip it.
func adversarialWorld(b *testing.B, n int) *benchWorld {
	b.Helper()
	key := fmt.Sprintf("adversarial/%d", n)
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if w, ok := worlds[key]; ok {
		return w
	}
	w := newBenchWorld()
	rnd := rand.New(rand.NewPCG(benchSeed, 3))
	for i := range n {
		spec := cluster.InstanceSpec{CPU: 256 + rnd.Int64N(16384), Memory: 20000 + rnd.Int64N(45536)}
		if i%4 != 0 {
			spec = cluster.InstanceSpec{CPU: rnd.Int64N(256), Memory: 8192 + rnd.Int64N(11808)}
		}
		_, err := w.c.RegisterInstance(spec)
		require.NoError(b, err)
	}
	worlds[key] = w
	return w
}

type benchCase struct {
	name       string
	strategies []placement.Strategy
	world      func(*testing.B, int) *benchWorld
	cpu, mem   func(*rand.Rand) int64
	sizes      []int
}

var benchCases = []benchCase{
	{name: "binpack-memory", strategies: []placement.Strategy{placement.MustParseStrategy("binpack", "memory")},
		world: mixedWorld, cpu: fixed(512), mem: fixed(1024), sizes: []int{1000, 5000, 100000}},
	{name: "spread-az-instance", strategies: []placement.Strategy{
		placement.MustParseStrategy("spread", "attribute:ecs.availability-zone"),
		placement.MustParseStrategy("spread", "instanceId")},
		world: mixedWorld, cpu: fixed(512), mem: fixed(1024), sizes: []int{1000, 5000, 100000}},
	{name: "random", strategies: []placement.Strategy{placement.MustParseStrategy("random", "")},
		world: mixedWorld, cpu: fixed(512), mem: fixed(1024), sizes: []int{1000, 5000, 100000}},
	{name: "binpack-memory-adversarial", strategies: []placement.Strategy{placement.MustParseStrategy("binpack", "memory")},
		world: adversarialWorld, cpu: fixed(256), mem: func(r *rand.Rand) int64 { return 8192 + r.Int64N(8193) }, sizes: []int{1000, 100000}},
}

func fixed(v int64) func(*rand.Rand) int64 { return func(*rand.Rand) int64 { return v } }

// runPlace times one placement and its release: the task is placed into a
// Pending (as a call's earlier tasks are) and the Pending reset.
func runPlace(b *testing.B, bc benchCase, n int, place func(*cluster.View, *placement.Request, *cluster.Pending) placement.Decision) {
	w := bc.world(b, n)
	rnd := rand.New(rand.NewPCG(7, 7))
	const nDemands = 64
	reqs := make([]*placement.Request, nDemands)
	for i := range reqs {
		d, err := cluster.NewDemand(bc.cpu(rnd), bc.mem(rnd), nil, nil, 0)
		require.NoError(b, err)
		reqs[i] = &placement.Request{
			Spec:       &cluster.TaskSpec{Family: "bench", Group: "family:bench", Demand: d},
			Strategies: bc.strategies,
			Rand:       rand.New(rand.NewPCG(1, 1)),
		}
	}
	w.c.Read(func(v *cluster.View) {
		var p cluster.Pending
		require.NotNil(b, place(v, reqs[0], &p).Instance, "the setup leaves room for the task")
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			req := reqs[i%nDemands]
			d := place(v, req, &p)
			if d.Instance == nil {
				b.Fatal("no instance")
			}
			p.Add(d.Instance, req.Spec)
			p.Reset()
			i++
		}
	})
}

// BenchmarkPlace: the indexed engine.
func BenchmarkPlace(b *testing.B) {
	for _, bc := range benchCases {
		for _, n := range bc.sizes {
			b.Run(fmt.Sprintf("strategy=%s/instances=%d", bc.name, n), func(b *testing.B) {
				w := bc.world(b, n)
				runPlace(b, bc, n, w.engine.Place)
			})
		}
	}
}

// BenchmarkPlaceReference: the linear scan, the baseline.
func BenchmarkPlaceReference(b *testing.B) {
	for _, bc := range benchCases {
		for _, n := range bc.sizes {
			b.Run(fmt.Sprintf("strategy=%s/instances=%d", bc.name, n), func(b *testing.B) {
				runPlace(b, bc, n, func(v *cluster.View, req *placement.Request, p *cluster.Pending) placement.Decision {
					return placement.Reference(v, req, p, benchSeed)
				})
			})
		}
	}
}

// BenchmarkPlaceMemberOf64: 5,000 empty instances, attribute key with 64
// values, memberOf(attribute:key == 0), place without commit — the twin of
// a Nomad stack benchmark.
func BenchmarkPlaceMemberOf64(b *testing.B) {
	w := newBenchWorld()
	for i := range 5000 {
		_, err := w.c.RegisterInstance(cluster.InstanceSpec{CPU: 4096, Memory: 8192,
			Attributes: []cluster.Attribute{{Name: "key", Value: fmt.Sprint(i % 64)}}})
		require.NoError(b, err)
	}
	d, err := cluster.NewDemand(500, 256, nil, nil, 0)
	require.NoError(b, err)
	req := &placement.Request{
		Spec:        &cluster.TaskSpec{Group: "family:web", Demand: d},
		Constraints: placement.Constraints{placement.MustParseConstraint("memberOf", "attribute:key == 0")},
	}
	w.c.Read(func(v *cluster.View) {
		got := w.engine.Place(v, req, nil)
		require.NotNil(b, got.Instance)
		key, _ := got.Instance.Attribute("key")
		require.Equal(b, "0", key)
		b.ReportAllocs()
		for b.Loop() {
			if w.engine.Place(v, req, nil).Instance == nil {
				b.Fatal("no instance")
			}
		}
	})
}
