package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The update goes through the one spare instance a task at a time — start
// new, then stop old once the new one runs, four times — and with ten
// instances all four start at once.
func TestRollingDeploy(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	out := buf.String()
	assert.Contains(t, out, "steps (15 s each: agents report, the scheduler reconciles) to roll 4 tasks to revision 2: 5 with 5 instances, 2 with 10")

	five, ten, ok := strings.Cut(out, "== 10 instances")
	require.True(t, ok)
	_, update, ok := strings.Cut(five, "-- update-service")
	require.True(t, ok)
	var ops []string
	for line := range strings.Lines(update) {
		switch {
		case strings.Contains(line, "has started 1 tasks"):
			ops = append(ops, "start")
		case strings.Contains(line, "has stopped 1 running tasks"):
			ops = append(ops, "stop")
		case strings.Contains(line, "has started") || strings.Contains(line, "has stopped"):
			t.Errorf("with one spare instance tasks move one at a time: %s", line)
		}
	}
	assert.Equal(t, []string{"start", "stop", "start", "stop", "start", "stop", "start", "stop"}, ops)
	assert.Contains(t, ten, "has started 4 tasks", "with six spare instances all four start at once")
	assert.Contains(t, update, "is expected on the way", "the port events are explained")

	// The last holds line of each run: every task on revision 2, one per
	// instance, the spare instances empty.
	for run, want := range map[string]int{five: 1, ten: 6} {
		var last string
		for line := range strings.Lines(run) {
			if strings.Contains(line, "holds: ") {
				last = line
			}
		}
		require.NotEmpty(t, last)
		assert.Equal(t, 4, strings.Count(last, "web:2"), last)
		assert.NotContains(t, last, "web:1", last)
		assert.NotContains(t, last, "pending", last)
		assert.Equal(t, want, strings.Count(last, " -"), last)
	}
	assert.Equal(t, out, runString(t), "the story replays exactly")
}

func runString(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	return buf.String()
}
