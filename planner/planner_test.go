package planner_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/planner"
)

// TestBound: the L1 and L2 bounds with their documented examples, and the
// host-port and distinctInstance counts, each named.
func TestBound(t *testing.T) {
	bin := planner.Bin{CPU: 1000, Memory: 1000}
	mem := func(sizes ...int64) []planner.Shape {
		out := make([]planner.Shape, len(sizes))
		for i, s := range sizes {
			out[i] = planner.Shape{Memory: s}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		items   []planner.Shape
		want    int
		binding string
	}{
		{"L1: three halves and a bit", mem(500, 500, 500, 100), 2, "MEMORY (L1)"},
		// Six items of 600: no two share an instance; L1 says 4, L2 says 6.
		{"L2: items over half", mem(600, 600, 600, 600, 600, 600), 6, "MEMORY (L2)"},
		// Martello and Toth with α = 400: no 400 fits beside a 700, so the
		// 700s take 3 instances and the six 400s 3 more; L1 says 5.
		{"L2: the room the large ones leave", mem(700, 700, 700, 400, 400, 400, 400, 400, 400), 6, "MEMORY (L2)"},
		{"host port", []planner.Shape{{CPU: 10, Ports: []uint32{9091}}, {CPU: 10, Ports: []uint32{9091}}, {CPU: 10, Ports: []uint32{9091}}}, 3, "host port 9091: one task per instance"},
		{"udp port", []planner.Shape{{CPU: 10, Ports: []uint32{1<<16 + 53}}, {CPU: 10, Ports: []uint32{1<<16 + 53}}}, 2, "host port 53/udp: one task per instance"},
		{"distinctInstance", []planner.Shape{{CPU: 1, Distinct: "service:api"}, {CPU: 1, Distinct: "service:api"}}, 2, "distinctInstance service:api: one task per instance"},
		{"nothing", nil, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb, err := planner.Bound(tc.items, bin)
			require.NoError(t, err)
			assert.Equal(t, tc.want, lb.Bins)
			assert.Equal(t, tc.binding, lb.Binding)
		})
	}
	_, err := planner.Bound([]planner.Shape{{CPU: 1001}}, bin)
	assert.True(t, errors.Is(err, planner.ErrTooLarge), "%v", err)
	_, err = planner.Bound([]planner.Shape{{CPU: -1}}, bin)
	assert.Error(t, err)
	_, err = planner.Pack([]planner.Shape{{CPU: 1, Ports: []uint32{80, 80}}}, bin, planner.Options{})
	assert.Error(t, err)
}

// checkPacking: every item in exactly one instance, no instance over any
// capacity, no port twice, one task per distinctInstance group, and no
// fewer instances than the bound.
func checkPacking(t require.TestingT, items []planner.Shape, b planner.Bin, p planner.Packing) {
	seen := make([]int, len(items))
	for _, bin := range p.Bins {
		require.NotEmpty(t, bin)
		var cpu, mem, gpu, eni int64
		ports := map[uint32]bool{}
		groups := map[string]bool{}
		for _, i := range bin {
			seen[i]++
			s := items[i]
			cpu, mem, gpu, eni = cpu+s.CPU, mem+s.Memory, gpu+s.GPUs, eni+s.ENIs
			for _, port := range s.Ports {
				require.False(t, ports[port], "port %d twice on an instance", port)
				ports[port] = true
			}
			if s.Distinct != "" {
				require.False(t, groups[s.Distinct], "distinctInstance %s twice on an instance", s.Distinct)
				groups[s.Distinct] = true
			}
		}
		require.LessOrEqual(t, cpu, b.CPU)
		require.LessOrEqual(t, mem, b.Memory)
		require.LessOrEqual(t, gpu, b.GPUs)
		if b.ENIs > 0 {
			require.LessOrEqual(t, eni, b.ENIs)
		}
	}
	for i, n := range seen {
		require.Equal(t, 1, n, "item %d placed %d times", i, n)
	}
	lb, err := planner.Bound(items, b)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(p.Bins), lb.Bins, "no packing beats the lower bound")
}

// TestPackValid: on random workloads every packing is valid, and the
// same seed gives the same packing.
func TestPackValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := planner.Bin{CPU: 4096, Memory: 8192, GPUs: int64(rapid.IntRange(0, 2).Draw(t, "gpus")), ENIs: int64(rapid.IntRange(0, 4).Draw(t, "enis"))}
		n := rapid.IntRange(0, 60).Draw(t, "n")
		oneDim := rapid.Bool().Draw(t, "oneDim") // CPU only: the bin-completion search runs
		items := make([]planner.Shape, n)
		for i := range items {
			s := planner.Shape{
				CPU:    rapid.Int64Range(0, 4096).Draw(t, "cpu"),
				Memory: rapid.Int64Range(0, 8192).Draw(t, "memory"),
				GPUs:   rapid.Int64Range(0, b.GPUs).Draw(t, "taskGPUs"),
			}
			if b.ENIs > 0 {
				s.ENIs = rapid.Int64Range(0, 1).Draw(t, "eni")
			}
			if oneDim {
				s.Memory, s.GPUs, s.ENIs = 0, 0, 0
			}
			if rapid.IntRange(0, 3).Draw(t, "port") == 0 {
				s.Ports = []uint32{uint32(rapid.IntRange(80, 82).Draw(t, "portNumber"))}
			}
			if rapid.IntRange(0, 3).Draw(t, "distinct") == 0 {
				s.Distinct = rapid.SampledFrom([]string{"a", "b"}).Draw(t, "group")
			}
			items[i] = s
		}
		seed := rapid.Uint64().Draw(t, "seed")
		opt := planner.Options{Seed: seed, RandomOrders: 2, RepackRounds: 20, SlackNodes: 200}
		if raceEnabled {
			opt.RepackRounds = 3
		}
		p, err := planner.Pack(items, b, opt)
		require.NoError(t, err)
		checkPacking(t, items, b, p)
		again, err := planner.Pack(items, b, opt)
		require.NoError(t, err)
		require.Equal(t, p.Bins, again.Bins, "deterministic")
	})
}

// triplets is Falkenauer's class: n/3 bins of 1,000 each cut into three
// items in (250, 500), so OPT = n/3.
func triplets(r *rand.Rand, n int) []planner.Shape {
	var out []planner.Shape
	for range n / 3 {
		a := int64(380 + r.IntN(111))                       // [380, 490]
		b := int64(250 + 1 + r.IntN(int(1000-a-250-250-1))) // (250, 1000-a-250)
		c := 1000 - a - b
		out = append(out, planner.Shape{CPU: a}, planner.Shape{CPU: b}, planner.Shape{CPU: c})
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// perfect cuts each of bins instances of 10,000 × 10,000 into 4 to 8
// items that fill both dimensions exactly, so OPT = bins.
func perfect(r *rand.Rand, bins int) []planner.Shape {
	var out []planner.Shape
	cut := func(k int) []int64 {
		points := []int64{0, 10000}
		for len(points) < k+1 {
			p := int64(1 + r.IntN(9999))
			if !slices.Contains(points, p) {
				points = append(points, p)
			}
		}
		slices.Sort(points)
		parts := make([]int64, k)
		for i := range parts {
			parts[i] = points[i+1] - points[i]
		}
		return parts
	}
	for range bins {
		k := 4 + r.IntN(5)
		cpu, mem := cut(k), cut(k)
		r.Shuffle(k, func(i, j int) { mem[i], mem[j] = mem[j], mem[i] })
		for i := range k {
			out = append(out, planner.Shape{CPU: cpu[i], Memory: mem[i]})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestQualityTriplets: the target, OPT on at least half of 20
// instances of n = 300.
func TestQualityTriplets(t *testing.T) {
	atOpt := 0
	worst := 0
	runs := uint64(20)
	if raceEnabled {
		runs = 2
	}
	for seed := range runs {
		items := triplets(rand.New(rand.NewPCG(seed, 1)), 300)
		p, err := planner.Pack(items, planner.Bin{CPU: 1000, Memory: 1}, planner.Options{Seed: seed})
		require.NoError(t, err)
		checkPacking(t, items, planner.Bin{CPU: 1000, Memory: 1}, p)
		if len(p.Bins) == 100 {
			atOpt++
		}
		worst = max(worst, len(p.Bins))
	}
	t.Logf("triplets n=300: OPT (100) reached on %d of %d; worst %d", atOpt, runs, worst)
	assert.LessOrEqual(t, worst, 101, "within one instance of OPT on every instance")
	if !raceEnabled {
		assert.GreaterOrEqual(t, atOpt, 10, "OPT on at least half")
	}
}

// triplets2D cuts each of n/3 bins of 1,000 × 1,000 into three items, a
// triplet cut on each dimension, so OPT = n/3.
func triplets2D(r *rand.Rand, n int) []planner.Shape {
	cut := func() [3]int64 {
		a := int64(380 + r.IntN(111))
		b := int64(250 + 1 + r.IntN(int(1000-a-250-250-1)))
		return [3]int64{a, b, 1000 - a - b}
	}
	var out []planner.Shape
	for range n / 3 {
		cpu, mem := cut(), cut()
		r.Shuffle(3, func(i, j int) { mem[i], mem[j] = mem[j], mem[i] })
		for k := range 3 {
			out = append(out, planner.Shape{CPU: cpu[k], Memory: mem[k]})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestQualityTriplets2D scores 2-D triplets (the issue sets no target:
// the figure goes into the notes), and holds what the portfolio reaches.
func TestQualityTriplets2D(t *testing.T) {
	atOpt, worst := 0, 0
	runs := uint64(20)
	if raceEnabled {
		runs = 2
	}
	b := planner.Bin{CPU: 1000, Memory: 1000}
	for seed := range runs {
		items := triplets2D(rand.New(rand.NewPCG(seed, 7)), 300)
		p, err := planner.Pack(items, b, planner.Options{Seed: seed})
		require.NoError(t, err)
		checkPacking(t, items, b, p)
		if len(p.Bins) == 100 {
			atOpt++
		}
		worst = max(worst, len(p.Bins))
	}
	t.Logf("2-D triplets n=300: OPT (100) reached on %d of %d; worst %d", atOpt, runs, worst)
	assert.LessOrEqual(t, worst, 104, "within 4 % of OPT on every instance")
}

// TestQualityPerfect: the target, 2-D perfect packing of 1,000
// bins within 1.5 % of OPT.
func TestQualityPerfect(t *testing.T) {
	bins := 1000
	if raceEnabled {
		bins = 60
	}
	items := perfect(rand.New(rand.NewPCG(7, 7)), bins)
	b := planner.Bin{CPU: 10000, Memory: 10000}
	opt := planner.Options{Seed: 7, RandomOrders: 2}
	if raceEnabled {
		opt.RepackRounds = 5
	}
	p, err := planner.Pack(items, b, opt)
	require.NoError(t, err)
	checkPacking(t, items, b, p)
	gap := float64(len(p.Bins)-bins) / float64(bins) * 100
	t.Logf("perfect packing, %d bins, %d items: %d bins (+%.2f %%) by %s; tried %v", bins, len(items), len(p.Bins), gap, p.Method, p.Tried)
	if !raceEnabled {
		assert.LessOrEqual(t, gap, 1.5, "the issue's target")
	}
}
