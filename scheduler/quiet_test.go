package scheduler_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/scheduler"
)

// TestQuietStepRepeats: a step on an unchanged state returns what the last
// one did; the first change after it (an instance joins, the service is
// updated) is decided again.
func TestQuietStepRepeats(t *testing.T) {
	w := newSvcWorld(t, 11)
	w.register(t, 3, 1024, 1024)
	_, err := w.services.Create("agent", scheduler.ServiceConfig{TaskDef: taskDef(t, 1, 256, 256), Daemon: true, MaximumPercent: 100})
	require.NoError(t, err)
	_, err = w.services.Create("big", replica(taskDef(t, 2, 2048, 256), 1, 200, 100)) // fits nowhere
	require.NoError(t, err)
	w.steady(t)
	first, err := w.services.Reconcile()
	require.NoError(t, err)
	require.Len(t, first.Failures, 1, "big fits nowhere")
	for range 3 {
		reads := w.reads
		again, err := w.services.Reconcile()
		require.NoError(t, err)
		assert.Equal(t, first, again, "an unchanged state gives the same step")
		assert.Equal(t, 1, w.reads-reads, "the quiet step reads the cluster's version only")
	}
	w.register(t, 1, 4096, 4096)
	res, err := w.services.Reconcile()
	require.NoError(t, err)
	assert.Len(t, res.Started, 2, "the new instance gets the daemon task and big's task")
	assert.Empty(t, res.Failures)
	_, err = w.services.Update("agent", scheduler.Update{DesiredCount: new(0), ForceNewDeployment: true})
	require.NoError(t, err)
	res, err = w.services.Reconcile()
	require.NoError(t, err)
	assert.NotEmpty(t, res.Stopped, "an update is decided again")
}

// TestQuietStepEndsAtRetryTime: a throttled service's quiet steps hold
// only until its retry time; then it tries to start again.
func TestQuietStepEndsAtRetryTime(t *testing.T) {
	w := newSvcWorld(t, 12)
	w.register(t, 1, 4096, 4096)
	_, err := w.services.Create("web", replica(taskDef(t, 1, 256, 256), 1, 200, 100))
	require.NoError(t, err)
	var throttled scheduler.Service
	for range 20 {
		res, err := w.services.Reconcile()
		require.NoError(t, err)
		if len(res.Started) == 0 {
			throttled, _ = w.services.Get("web")
			break
		}
		w.agents(t, false) // every task fails to start
	}
	require.Contains(t, throttled.Events[0].Message, "unable to consistently start tasks")
	for range 3 {
		res, err := w.services.Reconcile()
		require.NoError(t, err)
		require.Empty(t, res.Started, "throttled: no start before the retry time")
	}
	w.clock.Advance(16 * time.Minute) // past the longest back-off
	res, err := w.services.Reconcile()
	require.NoError(t, err)
	assert.Len(t, res.Started, 1, "past the retry time the service starts a task again")
}
