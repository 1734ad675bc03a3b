package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

const fixtureSnapshot = "../../testdata/snapshot"

// svgTasks counts the task boxes of an SVG, parsing it as XML.
func svgTasks(t *testing.T, svg []byte) int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	n, root := 0, ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			for _, a := range se.Attr {
				if se.Name.Local == "rect" && a.Name.Local == "class" && a.Value == "task" {
					n++
				}
			}
		}
	}
	assert.Equal(t, "svg", root)
	return n
}

// TestWhatif: the command on the realistic snapshot, with a change of each
// kind: it reaches a steady state, reports, draws one box per live task and
// writes the calls that make the change real.
func TestWhatif(t *testing.T) {
	dir := t.TempDir()
	td := filepath.Join(dir, "web-3.json")
	require.NoError(t, os.WriteFile(td, []byte(`{"family": "web", "networkMode": "bridge", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 768, "memory": 2048, "essential": true,
		"portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]}]}`), 0o644))
	svg, calls := filepath.Join(dir, "packing.svg"), filepath.Join(dir, "apply.sh")
	var out, errOut bytes.Buffer
	root := newRoot()
	root.SetArgs([]string{"whatif", "--snapshot", fixtureSnapshot, "--task-definition", "web=" + td, "--desired-count", "api=50",
		"--drain", "i-00000000005ef2ccd", "--lose-type", "r5.large", "--svg", svg, "--calls", calls, "--progress", "always"})
	root.SetOut(&out)
	root.SetErr(&errOut)
	require.NoError(t, root.ExecuteContext(t.Context()), out.String())
	report := out.String()
	for _, want := range []string{
		"36 container instances", "0 left out, 0 resources drifted",
		"service web deploys web:3", "service api desired count 50", "drain i-00000000005ef2ccd", "lose the 12 r5.large instances",
		"run: steady after", "(service web) has reached a steady state.", "placement failures:",
		"utilisation by zone", "eu-west-1a", "utilisation by instance", "c5.2xlarge",
	} {
		assert.Contains(t, report, want)
	}
	assert.Regexp(t, `web\s+12\s+12\s+0\s+PRIMARY web:3 12/12 COMPLETED`, report, "the deployment completed")
	assert.Contains(t, errOut.String(), "running to steady state", "the progress bar")

	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	boxes := svgTasks(t, b)
	assert.Contains(t, string(b), "24 instances, ") // 36 less the 12 lost
	assert.Greater(t, boxes, 50+12)
	assert.Contains(t, string(b), " "+itoa(boxes)+" tasks.")

	script, err := os.ReadFile(calls)
	require.NoError(t, err)
	for _, want := range []string{"aws ecs register-task-definition", "aws ecs update-service", `"desiredCount":50`, `"status":"DRAINING"`, "aws ecs deregister-container-instance"} {
		assert.Contains(t, string(script), want)
	}
}

// TestPackingSVG: one box per live task of the snapshot, in XML.
func TestPackingSVG(t *testing.T) {
	snap, err := stevedore.ReadSnapshot(os.DirFS(fixtureSnapshot))
	require.NoError(t, err)
	live := 0
	for _, tk := range snap.Tasks {
		if tk.LastStatus != "STOPPED" {
			live++
		}
	}
	svg := packingSVG(snap, "prod", `a <title> & "quotes"`)
	assert.Equal(t, live, svgTasks(t, []byte(svg)))
	assert.Equal(t, 36, strings.Count(svg, `<rect class="instance`))
}

// TestWhatifErrors: bad flags and a run that does not settle are errors
// the command reports; the snapshot on disk is never changed.
func TestWhatifErrors(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRoot()
		root.SetArgs(append([]string{"whatif"}, args...))
		root.SetOut(&out)
		root.SetErr(io.Discard)
		err := root.ExecuteContext(t.Context())
		return out.String(), err
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, `required flag(s) "snapshot" not set`},
		{[]string{"--snapshot", t.TempDir() + "/missing"}, "no such file"},
		{[]string{"--snapshot", fixtureSnapshot, "--desired-count", "api"}, "want SERVICE=VALUE"},
		{[]string{"--snapshot", fixtureSnapshot, "--desired-count", "api=lots"}, "is not a number"},
		{[]string{"--snapshot", fixtureSnapshot, "--desired-count", "nope=3"}, "Service not found"},
		{[]string{"--snapshot", fixtureSnapshot, "--drain", "i-nope"}, "no such container instance"},
		{[]string{"--snapshot", fixtureSnapshot, "--lose-type", "t2.micro"}, "no live instance of that type"},
		{[]string{"--snapshot", fixtureSnapshot, "--step", "0s"}, "--step must be positive"},
	} {
		_, err := run(tc.args...)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.want, tc.args)
	}
	out, err := run("--snapshot", fixtureSnapshot, "--desired-count", "api=80", "--max-steps", "1")
	require.ErrorIs(t, err, stevedore.ErrNotSteady)
	assert.Contains(t, out, "run: NOT steady after 1 steps")
}

func TestWhatifHelp(t *testing.T) {
	var out bytes.Buffer
	root := newRoot()
	root.SetArgs([]string{"whatif", "--help"})
	root.SetOut(&out)
	require.NoError(t, root.Execute())
	for _, want := range []string{"--snapshot", "--task-definition", "--desired-count", "--drain", "--lose-type", "--svg", "--calls", "--progress"} {
		assert.Contains(t, out.String(), want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
