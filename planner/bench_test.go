package planner_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stevedore-go/stevedore/instancetypes"
	"github.com/stevedore-go/stevedore/planner"
)

// BenchmarkPackPerfect packs the 2-D perfect instance of 250 bins (about
// 1,500 tasks) with the whole portfolio.
func BenchmarkPackPerfect(b *testing.B) {
	items := perfect(rand.New(rand.NewPCG(3, 3)), 250)
	bin := planner.Bin{CPU: 10000, Memory: 10000}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := planner.Pack(items, bin, planner.Options{Seed: 3, RandomOrders: 2}); err != nil {
			b.Fatal(err)
		}
	}
}

// serviceMix draws n tasks from a mix of common ECS task sizes (vCPU,
// GiB): a stand-in for the Alibaba 2018 container mix, whose shape table
// is not available here. It measures time on 50,000 tasks, not quality.
func serviceMix(r *rand.Rand, n int) []planner.Shape {
	shapes := []struct {
		cpu, mem float64
		weight   int
	}{{0.5, 1, 10}, {1, 2, 15}, {2, 4, 20}, {4, 8, 20}, {4, 16, 8}, {8, 16, 10}, {8, 32, 5}, {16, 32, 6}, {16, 64, 3}, {24, 48, 2}, {32, 64, 1}}
	total := 0
	for _, s := range shapes {
		total += s.weight
	}
	out := make([]planner.Shape, 0, n)
	for range n {
		k := r.IntN(total)
		for _, s := range shapes {
			if k < s.weight {
				out = append(out, planner.Shape{CPU: int64(s.cpu * 1024), Memory: int64(s.mem * 1024)})
				break
			}
			k -= s.weight
		}
	}
	return out
}

// BenchmarkPlanCapacityMix plans 50,000 tasks of the stand-in mix over
// three instance types of up to 64 vCPU and 256 GiB.
func BenchmarkPlanCapacityMix(b *testing.B) {
	items := serviceMix(rand.New(rand.NewPCG(5, 5)), 50000)
	var cands []planner.Candidate
	for _, name := range []string{"m5.16xlarge", "c5.18xlarge", "r5.8xlarge"} {
		t, ok := instancetypes.Lookup(name)
		if !ok {
			b.Fatalf("no %s", name)
		}
		cands = append(cands, planner.CandidateFor(t, false))
	}
	b.ReportAllocs()
	for b.Loop() {
		plan, err := planner.PlanCapacity(items, cands, planner.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(plan.Fleets[0].Instances), "instances")
	}
}
