package cluster_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/cluster"
)

func TestManualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := cluster.NewManualClock(start)
	require.Equal(t, start, c.Now())
	require.Equal(t, start.Add(time.Minute), c.Advance(time.Minute))
	require.Equal(t, start.Add(time.Minute), c.Advance(-time.Hour), "time does not run backwards")
	require.False(t, c.Set(start), "Set before now")
	require.Equal(t, start.Add(time.Minute), c.Now())
	require.True(t, c.Set(start.Add(time.Hour)))
	require.Equal(t, start.Add(time.Hour), c.Now())

	var zero cluster.ManualClock
	require.True(t, zero.Now().IsZero(), "the zero value stands at the zero time")
	require.Equal(t, time.Time{}.Add(time.Second), zero.Advance(time.Second))
}

// TestManualClockConcurrent: advances from many goroutines all count.
func TestManualClockConcurrent(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := cluster.NewManualClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	require.Equal(t, start.Add(8000*time.Millisecond), c.Now())
}
