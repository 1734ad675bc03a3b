package instancetypes_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/instancetypes"
)

// TestCatalogue: sorted, unique, every figure positive, and the ECS
// guide's examples: a c5.large runs 2 awsvpc tasks, 10 with trunking.
func TestCatalogue(t *testing.T) {
	all := instancetypes.All()
	require.NotEmpty(t, all)
	assert.True(t, slices.IsSortedFunc(all, func(a, b instancetypes.InstanceType) int { return strings.Compare(a.Name, b.Name) }), "sorted by name")
	for i, it := range all {
		if i > 0 {
			assert.NotEqual(t, all[i-1].Name, it.Name, "unique")
		}
		assert.Positive(t, it.VCPUs, it.Name)
		assert.Positive(t, it.MemoryMiB, it.Name)
		assert.GreaterOrEqual(t, it.MaxENIs, 2, it.Name)
		if it.TrunkTasks > 0 {
			assert.Greater(t, it.TrunkTasks, it.MaxENIs-1, "%s: trunking adds tasks", it.Name)
		}
		got, ok := instancetypes.Lookup(strings.ToUpper(it.Name))
		assert.True(t, ok)
		assert.Equal(t, it, got)
	}
	for _, tc := range []struct {
		name           string
		plain, trunked int
	}{
		{"c5.large", 2, 10},
		{"r5.xlarge", 3, 20},
		{"m4.large", 1, 1}, // no trunking: the limit stays
		{"t3.micro", 1, 1},
	} {
		it, ok := instancetypes.Lookup(tc.name)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.plain, it.TaskENIs(false), tc.name)
		assert.Equal(t, tc.trunked, it.TaskENIs(true), tc.name)
	}
	_, ok := instancetypes.Lookup("x9.nano")
	assert.False(t, ok)
	m5, _ := instancetypes.Lookup("m5.large")
	assert.Equal(t, int64(2048), m5.CPUUnits())
}

// TestPricesAndMemory: every type has a price; the registered memory
// estimate stays within 0.2 % of the published registrations.
func TestPricesAndMemory(t *testing.T) {
	for _, it := range instancetypes.All() {
		p, ok := it.OnDemandPrice()
		assert.True(t, ok, "%s has a price", it.Name)
		assert.Positive(t, p, it.Name)
	}
	for _, tc := range []struct {
		name       string
		registered int64
	}{
		{"m4.large", 7985}, {"m4.xlarge", 16048}, {"m4.16xlarge", 257953}, {"t2.medium", 3952}, {"t2.large", 7984},
	} {
		it, ok := instancetypes.Lookup(tc.name)
		require.True(t, ok)
		got := it.RegisteredMemoryMiB()
		assert.InDelta(t, tc.registered, got, float64(tc.registered)*0.002, "%s: %d registered, estimated %d", tc.name, tc.registered, got)
	}
}
