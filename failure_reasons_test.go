package stevedore_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
)

// TestFailureReasons: every reason the fit test gives has its constant,
// in the same order, and a failure's checks are in its JSON.
func TestFailureReasons(t *testing.T) {
	want := []stevedore.FailureReason{
		stevedore.ReasonMissing, stevedore.ReasonInactive, stevedore.ReasonDraining, stevedore.ReasonEmptyCapacityProvider,
		stevedore.ReasonResourceCPU, stevedore.ReasonResourceMemory, stevedore.ReasonResourcePorts,
		stevedore.ReasonResourcePortsUDP, stevedore.ReasonResourceGPU, stevedore.ReasonResourceENI, stevedore.ReasonAttribute,
		stevedore.ReasonAgent, stevedore.ReasonDistinctInstance, stevedore.ReasonMaxPerInstance, stevedore.ReasonMemberOf,
	}
	require.Len(t, cluster.CheckOrder, len(want))
	for i, r := range cluster.CheckOrder {
		assert.Equal(t, string(want[i]), r.String())
	}

	c, _ := newClient(t)
	createCluster(t, c, "small")
	registerInstance(t, c, "small", resources(512, 4096))
	registerInstance(t, c, "small", resources(4096, 256))
	registerTaskDefinition(t, c, taskDefinition("big", 1024, 1024))
	out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "small", TaskDefinition: "big"})
	require.NoError(t, err)
	require.Len(t, out.Failures, 1)
	f := out.Failures[0]
	assert.Equal(t, map[stevedore.FailureReason]int{stevedore.ReasonResourceCPU: 1, stevedore.ReasonResourceMemory: 1}, f.Checks)
	raw, err := json.Marshal(f)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"checks":{"RESOURCE:CPU":1,"RESOURCE:MEMORY":1}`)
}
