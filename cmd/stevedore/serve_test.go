package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// TestAgentsStep: a task placed at t0 stays PENDING until the start delay
// has passed on the clock the step is given; the service scheduler takes a
// step each tick.
func TestAgentsStep(t *testing.T) {
	ctx := t.Context()
	clock := stevedore.NewManualClock(t0)
	c, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(3, 4)})
	require.NoError(t, err)
	_, err = c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{TotalResources: stevedore.TotalResources(4096, 4096)})
	require.NoError(t, err)
	td, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 256}]}`))
	require.NoError(t, err)
	_, err = c.RegisterTaskDefinition(ctx, td)
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{ServiceName: "api", TaskDefinition: "web", DesiredCount: new(2)})
	require.NoError(t, err)
	a := agents{ecs: c, startDelay: time.Second}
	service := func() stevedore.Service {
		d, err := c.DescribeServices(ctx, &stevedore.DescribeServicesInput{Services: []string{"api"}})
		require.NoError(t, err)
		return d.Services[0]
	}

	require.NoError(t, a.step(ctx, clock.Now()))
	assert.Equal(t, 2, service().PendingCount, "the first tick places the service's tasks")
	clock.Advance(500 * time.Millisecond)
	require.NoError(t, a.step(ctx, clock.Now()))
	assert.Equal(t, 0, service().RunningCount, "half the start delay: still PENDING")
	clock.Advance(500 * time.Millisecond)
	require.NoError(t, a.step(ctx, clock.Now()))
	s := service()
	assert.Equal(t, 2, s.RunningCount, "after the start delay the agents report RUNNING")
	assert.Equal(t, "(service api) has reached a steady state.", s.Events[0].Message)
}

func TestParseCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "creds")
	require.NoError(t, os.WriteFile(file, []byte("# keys\nAKID1:secret1\n\nAKID2:secret:with:colons\n"), 0o600))
	creds, err := parseCredentials("AKID0:secret0", file)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"AKID0": "secret0", "AKID1": "secret1", "AKID2": "secret:with:colons"}, creds)
	for _, bad := range []string{"nocolon", ":secret", "key:"} {
		_, err := parseCredentials(bad, "")
		assert.Error(t, err, bad)
	}
}

// TestHelp: every command has --help, and serve's says what it listens on
// and that, without credentials, any request is served.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		require.NoError(t, root.Execute())
		assert.Contains(t, out.String(), "Usage:")
		if args[0] == "serve" {
			for _, want := range []string{"--addr", "127.0.0.1:4566", "--credentials", "any request is served", "--start-delay", "--tick"} {
				assert.Contains(t, out.String(), want)
			}
		}
	}
}

// TestServeFlags: bad flags are refused before anything listens.
func TestServeFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--tick", "0s"},
		{"serve", "--credentials", "nocolon"},
		{"serve", "--region", "US EAST"},
		{"serve", "--addr", "not an address"},
	} {
		root := newRoot()
		root.SetOut(&bytes.Buffer{})
		root.SetArgs(args)
		err := root.ExecuteContext(t.Context())
		assert.Error(t, err, strings.Join(args, " "))
	}
}
