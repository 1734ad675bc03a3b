package planner_test

import (
	"math/rand/v2"
	"testing"

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
