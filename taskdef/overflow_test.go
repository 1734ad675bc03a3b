package taskdef

import (
	"math"
	"math/big"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// one64 makes amounts past 32 bits without constant overflow where int has
// 32 bits (they wrap there, which the property covers too).
var one64 int64 = 1

// extremeAmount draws container amounts from the edges where sums wrap:
// near MaxInt64 and MinInt64, 2^62, the 32-bit limit and its neighbours,
// zero, and ordinary values.
var extremeAmount = rapid.OneOf(
	rapid.SampledFrom([]int{
		math.MaxInt, math.MaxInt - 1, math.MinInt, math.MaxInt/2 + 1, math.MaxInt/2 + 2, -(math.MaxInt/2 + 1),
		MaxContainerValue, int(one64 << 31), int(one64 << 32), -1, 0, 1,
	}),
	rapid.IntRange(0, 4096),
)

// extremeGPU draws GPU values: the valid range's edges, 2^62 and values
// that do not parse.
var extremeGPU = rapid.SampledFrom([]string{"1", "8", "64", "65", "0", "-1", "4611686018427387904", "9223372036854775807", "+1", "1e3", ""})

var extremeDefinition = rapid.Custom(func(t *rapid.T) TaskDefinition {
	td := TaskDefinition{Family: "edge"}
	if rapid.Bool().Draw(t, "taskCPU") {
		td.CPU = strconv.Itoa(rapid.IntRange(128, MaxTaskCPU).Draw(t, "cpu"))
	}
	if rapid.Bool().Draw(t, "taskMemory") {
		td.Memory = rapid.SampledFrom([]string{"512", "1099511627776", "1099511627777", "9223372036854775807", "1GB"}).Draw(t, "memory")
	}
	for i := range rapid.IntRange(1, MaxContainers+1).Draw(t, "containers") {
		c := ContainerDefinition{Name: "c" + strconv.Itoa(i), Image: "busybox"}
		c.CPU = extremeAmount.Draw(t, "containerCPU")
		c.Memory = extremeAmount.Draw(t, "containerMemory")
		c.MemoryReservation = extremeAmount.Draw(t, "containerMemoryReservation")
		for range rapid.IntRange(0, 2).Draw(t, "gpuRequirements") {
			c.ResourceRequirements = append(c.ResourceRequirements, ResourceRequirement{Type: ResourceGPU, Value: extremeGPU.Draw(t, "gpus")})
		}
		td.ContainerDefinitions = append(td.ContainerDefinitions, c)
	}
	return td
})

// TestDemandNeverWraps: over definitions whose amounts sit where int64 sums
// wrap, a demand that Demand returns is the exact sum (computed in big
// integers), never negative, within the bounds the cluster accepts; and a
// definition that Validate accepts always has a demand.
func TestDemandNeverWraps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		td := extremeDefinition.Draw(t, "definition")
		valid := td.Validate() == nil
		d, err := td.Demand()
		if valid {
			require.NoError(t, err, "a valid definition has a demand")
		}
		if err != nil {
			return
		}
		cpu, mem, gpus := new(big.Int), new(big.Int), 0
		for _, c := range td.ContainerDefinitions {
			cpu.Add(cpu, big.NewInt(int64(c.CPU)))
			m := c.Memory
			if c.MemoryReservation > 0 {
				m = c.MemoryReservation
			}
			mem.Add(mem, big.NewInt(int64(m)))
			for _, rr := range c.ResourceRequirements {
				g, _ := strconv.Atoi(rr.Value)
				gpus += g
			}
		}
		if td.CPU != "" {
			n, _ := ParseCPU(td.CPU)
			cpu.SetInt64(n)
		}
		if td.Memory != "" {
			n, _ := ParseMemory(td.Memory)
			mem.SetInt64(n)
		}
		require.Zero(t, cpu.Cmp(big.NewInt(d.CPU)), "CPU %d is the exact %v", d.CPU, cpu)
		require.Zero(t, mem.Cmp(big.NewInt(d.Memory)), "memory %d is the exact %v", d.Memory, mem)
		require.Equal(t, gpus, d.GPUs)
		require.GreaterOrEqual(t, d.CPU, int64(0))
		require.GreaterOrEqual(t, d.Memory, int64(0))
		require.LessOrEqual(t, d.CPU, int64(maxUnitValue))
		require.LessOrEqual(t, d.Memory, int64(maxUnitValue))
		require.LessOrEqual(t, d.GPUs, MaxGPUs)
	})
}
