package stevedore_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// The costs of bringing a real cluster in: reading the AWS CLI's JSON of
// 10,000 instances and 100,000 tasks, importing it, forking it, and a
// rollout of 1,000 tasks run to steady state.

var bigSnapshot struct {
	once  sync.Once
	snap  *stevedore.Snapshot
	files fstest.MapFS
	at    time.Time
}

// bigCluster returns the snapshot of a cluster of 10,000 instances with
// 100,000 tasks (ten of 256 CPU / 512 MiB on each), and its files.
func bigCluster(b *testing.B) (*stevedore.Snapshot, fstest.MapFS, time.Time) {
	bigSnapshot.once.Do(func() {
		ctx := context.Background()
		ecs, clock := scaleCluster(b, 10_000)
		for range 100_000 / 10 {
			out, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "scale", TaskDefinition: "small", Count: 10})
			require.NoError(b, err)
			require.Empty(b, out.Failures)
		}
		snap, err := ecs.Snapshot(ctx)
		require.NoError(b, err)
		files, err := snap.Files()
		require.NoError(b, err)
		bigSnapshot.snap, bigSnapshot.files, bigSnapshot.at = snap, fstest.MapFS{}, clock.Now()
		for name, data := range files {
			bigSnapshot.files[name] = &fstest.MapFile{Data: data}
		}
	})
	return bigSnapshot.snap, bigSnapshot.files, bigSnapshot.at
}

// heapBytes is the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkReadSnapshot: decoding the describe-* files of 10,000
// instances and 100,000 tasks.
func BenchmarkReadSnapshot(b *testing.B) {
	_, files, _ := bigCluster(b)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stevedore.ReadSnapshot(files); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport: a Client made of the decoded snapshot; bytes/task is
// the live heap the Client holds per task.
func BenchmarkImport(b *testing.B) {
	snap, _, at := bigCluster(b)
	b.ReportAllocs()
	var keep *stevedore.Client
	for b.Loop() {
		c, rep, err := stevedore.Import(context.Background(), snap, stevedore.Options{Clock: stevedore.NewManualClock(at)})
		if err != nil || rep.Tasks != 100_000 || len(rep.Drift) > 0 {
			b.Fatalf("import: %v, %d tasks, %d drifts", err, rep.Tasks, len(rep.Drift))
		}
		keep = c
	}
	b.StopTimer()
	keep = nil
	base := heapBytes()
	c, _, err := stevedore.Import(context.Background(), snap, stevedore.Options{Clock: stevedore.NewManualClock(at)})
	require.NoError(b, err)
	b.ReportMetric(float64(heapBytes()-base)/100_000, "bytes/task")
	runtime.KeepAlive(c)
	runtime.KeepAlive(keep)
}

// BenchmarkFork: a copy of the imported cluster of 10,000 instances and
// 100,000 tasks.
func BenchmarkFork(b *testing.B) {
	snap, _, at := bigCluster(b)
	c, _, err := stevedore.Import(context.Background(), snap, stevedore.Options{Clock: stevedore.NewManualClock(at)})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fork(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRolloutUntilSteady: a service of 1,000 tasks on 250 instances
// deploys a new revision and runs to steady state (agents start a task
// 10 s after it is placed, steps of 5 s), one rollout a loop.
func BenchmarkRolloutUntilSteady(b *testing.B) {
	ctx := context.Background()
	base, clock := scaleCluster(b, 250)
	in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "small", "containerDefinitions": [{"name": "app", "image": "app:2", "cpu": 256, "memory": 512}]}`))
	require.NoError(b, err)
	_, err = base.RegisterTaskDefinition(ctx, in)
	require.NoError(b, err)
	_, err = base.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "scale", ServiceName: "web", TaskDefinition: "small:1", DesiredCount: new(1000)})
	require.NoError(b, err)
	d := &stevedore.Driver{Client: base, Clock: clock, Cluster: "scale", StartDelay: 10 * time.Second}
	_, err = d.RunUntilSteady(ctx, 5*time.Second, 200)
	require.NoError(b, err)
	steps := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fork, err := base.Fork(ctx)
		require.NoError(b, err)
		b.StartTimer()
		_, err = fork.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "scale", Service: "web", TaskDefinition: "small:2"})
		if err != nil {
			b.Fatal(err)
		}
		fd := &stevedore.Driver{Client: fork, Clock: fork.Clock().(*stevedore.ManualClock), Cluster: "scale", StartDelay: 10 * time.Second}
		out, err := fd.RunUntilSteady(ctx, 5*time.Second, 500)
		if err != nil {
			b.Fatal(err)
		}
		steps = len(out)
	}
	b.ReportMetric(float64(steps), "steps")
}
