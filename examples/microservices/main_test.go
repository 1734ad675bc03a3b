package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	out := buf.String()

	_, deployment, found := strings.Cut(out, "\n== update-service")
	require.True(t, found, "the output shows the update:\n%s", out)

	assert.Regexp(t, `(?m)^create-service location: desiredCount 4, maximumPercent 200, minimumHealthyPercent 50, load balancer location:8081, role arn:aws:iam::xxxxxxxxxxxxxxxx:role/ecsServiceRole$`, out)
	assert.Regexp(t, `(?m)^create-service user: desiredCount 4, maximumPercent 200, minimumHealthyPercent 50, load balancer user:9091, `, out)
	for _, name := range []string{"location", "user"} {
		assert.Regexp(t, `(?m)^\d\d:\d\d:\d\d  \(service `+name+`\) has started 4 tasks: (\(task [0-9a-f]{32}\) ?){4}\.$`, out)
		assert.Contains(t, out, "(service "+name+") has reached a steady state.")
	}

	assert.Regexp(t, `(?m)^-- deployment ecs-svc/\d{19} \(location:2\) completed after \d+ steps$`, deployment)
	// With every instance binding 8081, the update goes two at a time.
	assert.Equal(t, 2, strings.Count(deployment, "(service location) has stopped 2 running tasks:"), deployment)
	assert.Equal(t, 2, strings.Count(deployment, "(service location) has started 2 tasks:"), deployment)
	assert.Regexp(t, `(?m)^   location: 4 RUNNING \(4 location:2 RUNNING\)$`, deployment)
	assert.NotContains(t, deployment, "(service user) has st", "user is not touched by location's deployment")

	m := regexp.MustCompile(`(?m)^minimum RUNNING count of location during the deployment: (\d+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "the output shows the minimum RUNNING count:\n%s", out)
	minimum, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, minimum, 2, "ceil(4 × minimumHealthyPercent 50 / 100) = 2 tasks must stay RUNNING")
	assert.Equal(t, 2, minimum, "the ports force the scheduler down to the minimum")

	// Every RUNNING count printed during the deployment respects the bound.
	for _, line := range regexp.MustCompile(`(?m)^   location: (\d+) RUNNING`).FindAllStringSubmatch(deployment, -1) {
		n, err := strconv.Atoi(line[1])
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, 2, line[0])
	}
}

func TestRunReplays(t *testing.T) {
	var a, b bytes.Buffer
	require.NoError(t, run(&a))
	require.NoError(t, run(&b))
	assert.Equal(t, a.String(), b.String(), "the injected clock and seed make runs identical")
}
