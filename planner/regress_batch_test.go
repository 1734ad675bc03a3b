package planner_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/instancetypes"
	"github.com/stevedore-go/stevedore/planner"
)

// TestBatchCountOverflow: a batch far above MaxBatchTasks is refused
// with ErrBatch, also when its running total would wrap.
func TestBatchCountOverflow(t *testing.T) {
	c := batchClient(t, 2, 2048, 4096)
	define(t, c, "web", 512, 512)
	out, err := planner.PlaceBatch(t.Context(), c, &planner.BatchInput{Cluster: "app", Mode: planner.AllOrNothing,
		Items: []planner.BatchItem{{TaskDefinition: "web", Count: 1}, {TaskDefinition: "web", Count: math.MaxInt}}})
	require.ErrorIs(t, err, planner.ErrBatch, "out %+v", out)
}

// TestBatchDeterministic: the same seed on two identical clients
// places the same tasks on the same instances.
func TestBatchDeterministic(t *testing.T) {
	var got [][]string
	for range 2 {
		c := batchClient(t, 6, 4096, 8192)
		define(t, c, "web", 256, 256)
		out, err := planner.PlaceBatch(t.Context(), c, &planner.BatchInput{Cluster: "app", Seed: 42,
			Items: []planner.BatchItem{{TaskDefinition: "web", Count: 300}}})
		require.NoError(t, err)
		var arns []string
		for _, tk := range out.Tasks {
			arns = append(arns, tk.ContainerInstanceArn)
		}
		got = append(got, arns)
	}
	require.Equal(t, got[0], got[1])
}

// TestCandidateNoENIs: a type that can attach no task ENI takes no
// awsvpc task (its bin is NoTaskENIs, not "no limit").
func TestCandidateNoENIs(t *testing.T) {
	c := planner.CandidateFor(instancetypes.InstanceType{Name: "x1.tiny", VCPUs: 1, MemoryMiB: 2048, MaxENIs: 1}, false)
	p, err := planner.Pack([]planner.Shape{{CPU: 10, Memory: 10, ENIs: 1}, {CPU: 10, Memory: 10, ENIs: 1}}, c.Bin, planner.Options{})
	require.Error(t, err, "awsvpc tasks packed on a type with no task ENI: %+v in %+v", p.Bins, c.Bin)
}
