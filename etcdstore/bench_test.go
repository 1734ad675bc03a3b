package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stevedore-go/stevedore/journal"
)

// BenchmarkRunStopTask runs RunTask then StopTask through the etcd store
// with 1, 2 and 4 replicas (the calls spread over them, 4 callers), and
// through one in-memory Machine, in the same run. It reports placements
// per second and the p99 of a RunTask+StopTask pair; conflicts cannot
// happen (each call is applied whole, in the log's order), so their share
// is 0.
func BenchmarkRunStopTask(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		m, err := journal.New(jopts)
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		apply := func(op string, body []byte) journal.Response {
			mu.Lock()
			defer mu.Unlock()
			return m.Apply(context.Background(), journal.Entry{T: time.Now().UnixNano(), Op: op, Body: body})
		}
		benchPairs(b, func(i int) func(string, []byte) journal.Response { return apply }, func() {
			apply("CreateCluster", []byte(`{"clusterName":"app"}`))
			apply("RegisterTaskDefinition", []byte(`{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","cpu":16,"memory":16}]}`))
			for range 100 {
				apply("RegisterContainerInstance", []byte(`{"cluster":"app","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":4096},{"name":"MEMORY","type":"INTEGER","integerValue":8192}]}`))
			}
		})
	})
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("etcd/replicas=%d", n), func(b *testing.B) {
			_, eps := startEtcd(b, 1)
			var rs []*Replica
			for range n {
				rs = append(rs, open(b, client(b, eps), ""))
			}
			setUp(b, rs[0], 100)
			benchPairs(b, func(i int) func(string, []byte) journal.Response {
				r := rs[i%n]
				return func(op string, body []byte) journal.Response {
					out, err := r.Do(context.Background(), op, body)
					if err != nil {
						b.Fatal(err)
					}
					return out
				}
			}, func() {})
		})
	}
}

// benchPairs runs b.N RunTask+StopTask pairs from 4 callers, caller i
// through call(i).
func benchPairs(b *testing.B, call func(i int) func(string, []byte) journal.Response, setup func()) {
	setup()
	runPairs(b, func(i int) func() bool {
		do := call(i)
		return func() bool {
			out := do("RunTask", []byte(`{"cluster":"app","taskDefinition":"web"}`))
			var o struct{ Tasks []struct{ TaskArn string } }
			if json.Unmarshal(out.Body, &o) != nil || len(o.Tasks) != 1 {
				b.Errorf("RunTask: %s", out.Body)
				return false
			}
			body, _ := json.Marshal(map[string]string{"cluster": "app", "task": o.Tasks[0].TaskArn})
			do("StopTask", body)
			return true
		}
	}, func() float64 { return 0 })
}

// runPairs runs b.N pairs from 4 callers (caller i's from pair(i), which
// reports false to stop) and reports placements per second, the p99 of a
// pair and share(), the conflict share.
func runPairs(b *testing.B, pair func(i int) func() bool, share func() float64) {
	const callers = 4
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + callers - 1) / callers
	start := time.Now()
	for i := range callers {
		wg.Go(func() {
			one := pair(i)
			for range per {
				t0 := time.Now()
				if !one() {
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "placements/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(share(), "conflict-share")
	}
}
