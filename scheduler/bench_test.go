package scheduler_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// reportPerPlacement reports the time per started task.
func reportPerPlacement(b *testing.B, placements int) {
	if placements > 0 {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(placements), "µs/placement")
	}
}

// BenchmarkReconcile: create a 10,000-task service on 5,000 instances and
// reconcile it to steady state, then delete it (its tasks stop) so the next
// iteration starts from an empty cluster.
func BenchmarkReconcile(b *testing.B) {
	b.Run("tasks=10000/instances=5000", func(b *testing.B) {
		w := newSvcWorld(b, 1)
		w.register(b, 5000, 4096, 8192, "us-east-1a", "us-east-1b", "us-east-1c")
		td := taskDef(b, 1, 256, 512)
		placements := 0
		b.ReportAllocs()
		for b.Loop() {
			_, err := w.services.Create("web", replica(td, 10000, 200, 100))
			if err != nil {
				b.Fatal(err)
			}
			res, err := w.services.Reconcile()
			if err != nil || len(res.Started) != 10000 {
				b.Fatalf("started %d, err %v", len(res.Started), err)
			}
			placements += len(res.Started)
			b.StopTimer() // clearing the cluster is not part of the measure
			if _, err := w.services.Delete("web", true); err != nil {
				b.Fatal(err)
			}
			if _, err := w.services.Reconcile(); err != nil {
				b.Fatal(err)
			}
			w.clock.Advance(2 * time.Hour) // stopped tasks leave at the next change
			b.StartTimer()
		}
		reportPerPlacement(b, placements)
	})
}

// BenchmarkRollingUpdate: a 10,000-task service on 5,000 instances rolls to
// a new task definition (maximumPercent 200, minimumHealthyPercent 50),
// with healthy agents, until the deployment completes.
func BenchmarkRollingUpdate(b *testing.B) {
	b.Run("tasks=10000/instances=5000", func(b *testing.B) {
		w := newSvcWorld(b, 2)
		w.register(b, 5000, 4096, 8192, "us-east-1a", "us-east-1b", "us-east-1c")
		_, err := w.services.Create("web", replica(taskDef(b, 1, 256, 512), 10000, 200, 50))
		require.NoError(b, err)
		w.steady(b)
		rev, placements := 1, 0
		b.ReportAllocs()
		for b.Loop() {
			rev++
			_, err := w.services.Update("web", scheduler.Update{TaskDef: new(taskDef(b, rev, 256, 512))})
			if err != nil {
				b.Fatal(err)
			}
			for step := 0; ; step++ {
				if step > 50 {
					b.Fatal("the deployment did not complete")
				}
				w.clock.Advance(time.Minute)
				res, err := w.services.Reconcile()
				if err != nil {
					b.Fatal(err)
				}
				placements += len(res.Started)
				w.agents(b, true)
				s, _ := w.services.Get("web")
				if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == scheduler.RolloutCompleted && s.RunningCount == 10000 {
					break
				}
			}
		}
		reportPerPlacement(b, placements)
	})
}

// BenchmarkServiceNomadTwin is the twin of Nomad's service-scheduler
// benchmark: 5,000 instances in 2 AZs and 50 racks, half of them eligible
// through memberOf, tasks of 6,000 CPU / 6,000 MiB on instances of 14,000
// CPU / 32,000 MiB, a service of count tasks placed with binpack, or with
// spread over attribute:rack. Each iteration places the whole service and
// deletes it again.
func BenchmarkServiceNomadTwin(b *testing.B) {
	for _, spread := range []bool{false, true} {
		for _, count := range []int{200, 600, 1800} {
			b.Run(fmt.Sprintf("spread=%t/count=%d", spread, count), func(b *testing.B) {
				w := newSvcWorld(b, 3)
				for i := range 5000 {
					info, err := w.c.RegisterInstance(cluster.InstanceSpec{CPU: 14000, Memory: 32000, Attributes: []cluster.Attribute{
						{Name: "ecs.availability-zone", Value: fmt.Sprintf("us-east-1%c", 'a'+i%2)},
						{Name: "rack", Value: fmt.Sprintf("r%02d", i%50)},
						{Name: "eligible", Value: fmt.Sprint(i%2 == 0)},
					}})
					require.NoError(b, err)
					w.ids = append(w.ids, info.ID)
				}
				cfg := replica(taskDef(b, 1, 6000, 6000), count, 200, 100)
				cfg.Constraints = placement.Constraints{placement.MustParseConstraint("memberOf", "attribute:eligible == true")}
				cfg.Strategies = []placement.Strategy{placement.MustParseStrategy("binpack", "memory")}
				if spread {
					cfg.Strategies = []placement.Strategy{placement.MustParseStrategy("spread", "attribute:rack")}
				}
				placements := 0
				b.ReportAllocs()
				for b.Loop() {
					if _, err := w.services.Create("job", cfg); err != nil {
						b.Fatal(err)
					}
					res, err := w.services.Reconcile()
					if err != nil || len(res.Started) != count {
						b.Fatalf("started %d of %d, err %v", len(res.Started), count, err)
					}
					placements += len(res.Started)
					b.StopTimer()
					if _, err := w.services.Delete("job", true); err != nil {
						b.Fatal(err)
					}
					if _, err := w.services.Reconcile(); err != nil {
						b.Fatal(err)
					}
					w.clock.Advance(2 * time.Hour)
					b.StartTimer()
				}
				reportPerPlacement(b, placements)
			})
		}
	}
}
