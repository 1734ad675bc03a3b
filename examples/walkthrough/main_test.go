package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

// step is one "$ command" of the walkthrough's output and the JSON it
// printed.
type step struct {
	command string
	output  []byte
}

// steps splits run's output into its commands.
func steps(t *testing.T, out []byte) []step {
	t.Helper()
	var all []step
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			all = append(all, step{command: cmd})
			continue
		}
		if len(all) > 0 && !strings.HasPrefix(line, "# ") {
			all[len(all)-1].output = append(all[len(all)-1].output, line+"\n"...)
		}
	}
	require.NoError(t, sc.Err())
	return all
}

func remaining(t *testing.T, ci stevedore.ContainerInstance) map[string]stevedore.Resource {
	t.Helper()
	m := map[string]stevedore.Resource{}
	for _, r := range ci.RemainingResources {
		m[r.Name] = r
	}
	return m
}

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, run(&buf))
	all := steps(t, buf.Bytes())
	var commands []string
	for _, s := range all {
		commands = append(commands, strings.Fields(s.command)[2])
	}
	require.Equal(t, []string{
		"create-cluster", "register-container-instance", "register-container-instance",
		"list-container-instances", "register-task-definition",
		"run-task", "describe-container-instances",
		"run-task", "describe-container-instances",
		"run-task",
	}, commands)

	var listed stevedore.ListContainerInstancesOutput
	require.NoError(t, json.Unmarshal(all[3].output, &listed))
	assert.Len(t, listed.ContainerInstanceArns, 2)
	for _, at := range []int{1, 2} {
		var reg stevedore.RegisterContainerInstanceOutput
		require.NoError(t, json.Unmarshal(all[at].output, &reg), all[at].command)
		cpu, _ := reg.ContainerInstance.Registered("CPU")
		assert.Equal(t, int64(1024), cpu.IntegerValue)
		assert.Contains(t, listed.ContainerInstanceArns, reg.ContainerInstance.ContainerInstanceArn)
	}

	var runs [3]stevedore.RunTaskOutput
	var described [2]stevedore.DescribeContainerInstancesOutput
	for i, at := range []int{5, 7, 9} {
		require.NoError(t, json.Unmarshal(all[at].output, &runs[i]), all[at].command)
	}
	for i, at := range []int{6, 8} {
		require.NoError(t, json.Unmarshal(all[at].output, &described[i]), all[at].command)
	}

	for i := range 2 {
		assert.Emptyf(t, runs[i].Failures, "run-task %d", i+1)
		require.Lenf(t, runs[i].Tasks, 1, "run-task %d", i+1)
		require.Len(t, described[i].ContainerInstances, 1)
		ci := described[i].ContainerInstances[0]
		assert.Equal(t, runs[i].Tasks[0].ContainerInstanceArn, ci.ContainerInstanceArn, "the instance described is the one the task landed on")
		rem := remaining(t, ci)
		assert.Equal(t, int64(24), rem["CPU"].IntegerValue)
		assert.Equal(t, int64(496), rem["MEMORY"].IntegerValue)
		assert.Contains(t, rem["PORTS"].StringSetValue, "80")
		assert.Equal(t, "PENDING", runs[i].Tasks[0].LastStatus)
		assert.Equal(t, "RUNNING", runs[i].Tasks[0].DesiredStatus)
	}
	assert.NotEqual(t, runs[0].Tasks[0].ContainerInstanceArn, runs[1].Tasks[0].ContainerInstanceArn, "the second task lands on the other instance")

	assert.Empty(t, runs[2].Tasks, "the third run-task places nothing")
	require.Len(t, runs[2].Failures, 1)
	assert.Equal(t, "RESOURCE:CPU", runs[2].Failures[0].Reason)
	assert.Contains(t, listed.ContainerInstanceArns, runs[2].Failures[0].Arn)

	assert.Contains(t, buf.String(), "# task 1 is on i-")
	assert.Contains(t, buf.String(), "# i-c5690f29 registered: CPU 1024, MEMORY 996")
	assert.Contains(t, buf.String(), `"detail" is Stevedore's addition`)
	assert.Contains(t, buf.String(), "remaining CPU 24, MEMORY 496, PORTS [22 80 2375 2376 51678]")
}
