package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runPlan(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"plan", "capacity", "--progress", "never"}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestPlanCapacityCommand: a workload file planned over three types and
// three zones, cheapest first, with the bound and what binds it; a type
// too small is listed apart; the SVG is well-formed; bad flags are errors.
func TestPlanCapacityCommand(t *testing.T) {
	dir := t.TempDir()
	workload := filepath.Join(dir, "shop.json")
	require.NoError(t, os.WriteFile(workload, []byte(`{"tasks": [
		{"name": "web", "count": 40, "cpu": 256, "memory": 512},
		{"name": "exporter", "count": 12, "cpu": 64, "memory": 64, "ports": [9100]},
		{"name": "cache", "count": 3, "cpu": 1024, "memory": 6144, "distinctInstance": true}]}`), 0o644))
	svg := filepath.Join(dir, "plan.svg")
	out, err := runPlan(t, "--workload", workload, "--types", "m5.large,m5.xlarge,t3.micro", "--zones", "3", "--svg", svg)
	require.NoError(t, err)
	lines := strings.Split(out, "\n")
	assert.Equal(t, "55 tasks; prices: us-east-1 on-demand, 2026-12-03", lines[0])
	assert.Contains(t, out, "host port 9100: one task per instance")
	assert.Contains(t, out, "1 type cannot hold every task:\n  t3.micro: planner: a task does not fit an empty instance: task 52 needs 6144 MEMORY, the instance has 928")
	var body strings.Builder
	for _, l := range lines[3:] {
		if l == "" {
			break
		}
		body.WriteString(l + "\n")
	}
	rows := strings.Split(strings.TrimSpace(body.String()), "\n")
	require.Len(t, rows, 3, "two types hold the workload, and a mix of three:\n%s", out)
	assert.True(t, strings.HasPrefix(rows[0], "mixed: m5.large×9 t3.micro×3"), "the instances that hold only an exporter become t3.micro: %s", rows[0])
	assert.True(t, strings.HasPrefix(rows[1], "m5.large"), "m5.large is the cheapest single type: %s", rows[1])
	assert.Contains(t, rows[1], "4/4/4", "four per zone: the exporters' port")

	data, err := os.ReadFile(svg)
	require.NoError(t, err)
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		if _, err := dec.Token(); err != nil {
			require.ErrorContains(t, err, "EOF", "the SVG is well-formed XML")
			break
		}
	}
	assert.Contains(t, string(data), "<title>cache</title>")

	// A real cluster's snapshot: its live tasks.
	out, err = runPlan(t, "--snapshot", "../../testdata/snapshot", "--types", "m5.xlarge,c5.2xlarge")
	require.NoError(t, err)
	assert.Regexp(t, `^\d+ tasks; prices`, out)
	assert.Contains(t, out, "m5.xlarge")

	for _, bad := range [][]string{
		{},
		{"--workload", workload, "--snapshot", dir},
		{"--workload", workload, "--types", "x9.nano"},
		{"--workload", workload, "--objective", "speed"},
		{"--workload", workload, "--zones", "0"},
		{"--workload", filepath.Join(dir, "missing.json")},
	} {
		_, err := runPlan(t, bad...)
		assert.Error(t, err, "%v", bad)
	}
}

// TestPlanRebalanceCommand: the snapshot fixture consolidated and spread,
// with the waves, the balance before and after, the calls and the SVG.
func TestPlanRebalanceCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"plan", "rebalance", "--snapshot", "../../testdata/snapshot"}, args...))
		err := root.ExecuteContext(t.Context())
		return out.String(), err
	}
	calls, svg := filepath.Join(dir, "moves.sh"), filepath.Join(dir, "after.svg")
	out, err := run("--goal", "consolidate", "--max-moves", "40", "--calls", calls, "--svg", svg)
	require.NoError(t, err)
	assert.Regexp(t, `^goal consolidate: \d+ moves in \d+ waves`, out)
	assert.Regexp(t, `busy instances 28 → 2[0-7];`, out)
	script, err := os.ReadFile(calls)
	require.NoError(t, err)
	assert.Contains(t, string(script), "aws ecs stop-task")
	_, err = os.Stat(svg)
	require.NoError(t, err)

	out, err = run("--goal", "spread")
	require.NoError(t, err)
	assert.Contains(t, out, "goal spread:")

	for _, bad := range [][]string{{"--goal", "tidy"}, {"--max-moves", "0"}} {
		_, err := run(bad...)
		assert.Error(t, err, "%v", bad)
	}
}
