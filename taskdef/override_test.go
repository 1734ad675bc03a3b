package taskdef

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func overrideBase() TaskDefinition {
	return TaskDefinition{
		Family: "batch",
		ContainerDefinitions: []ContainerDefinition{
			{Name: "main", Image: "busybox", CPU: 256, Memory: 512, Environment: []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}},
			{Name: "side", Image: "busybox", CPU: 128, MemoryReservation: 64},
		},
	}
}

func ptr(n int) *int { return &n }

func TestOverrideDemand(t *testing.T) {
	for _, tc := range []struct {
		name            string
		o               TaskOverride
		cpu, mem, gpus  int64
		containerMemory int
	}{
		{"none", TaskOverride{}, 384, 576, 0, 512},
		{"empty container override", TaskOverride{ContainerOverrides: []ContainerOverride{{}}}, 384, 576, 0, 512},
		{"name only", TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main"}}}, 384, 576, 0, 512},
		{"container cpu", TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", CPU: ptr(1024)}}}, 1152, 576, 0, 512},
		{"container memory", TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", Memory: ptr(2048)}}}, 384, 2112, 0, 2048},
		{"reservation counts before memory", TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", MemoryReservation: ptr(100)}}}, 384, 164, 0, 512},
		{"task level", TaskOverride{CPU: "2 vCPU", Memory: "4GB"}, 2048, 4096, 0, 512},
		{"gpu", TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "side", ResourceRequirements: []ResourceRequirement{{Type: ResourceGPU, Value: "2"}}}}}, 384, 576, 2, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := overrideBase()
			got, err := base.Override(tc.o)
			require.NoError(t, err)
			d, err := got.Demand()
			require.NoError(t, err)
			require.Equal(t, tc.cpu, d.CPU)
			require.Equal(t, tc.mem, d.Memory)
			require.Equal(t, int(tc.gpus), d.GPUs)
			require.Equal(t, tc.containerMemory, got.ContainerDefinitions[0].Memory)
			require.Equal(t, overrideBase(), base, "the definition is not changed")
		})
	}
}

func TestOverrideEnvironmentMerges(t *testing.T) {
	got, err := overrideBase().Override(TaskOverride{ContainerOverrides: []ContainerOverride{{
		Name: "main", Command: []string{"run", "--fast"}, Environment: []KeyValuePair{{Name: "B", Value: "20"}, {Name: "C", Value: "3"}},
	}}})
	require.NoError(t, err)
	c := got.ContainerDefinitions[0]
	require.Equal(t, []string{"run", "--fast"}, c.Command)
	require.Equal(t, []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "20"}, {Name: "C", Value: "3"}}, c.Environment)
}

func TestOverrideRejected(t *testing.T) {
	for _, tc := range []struct {
		name, field, reason string
		o                   TaskOverride
	}{
		{"unknown container", "overrides.containerOverrides[0].name", "Override for container named web is not a container in the TaskDefinition.",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "web", CPU: ptr(1)}}}},
		{"no name", "overrides.containerOverrides[1].name", "name is required",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main"}, {CPU: ptr(1)}}}},
		{"twice", "overrides.containerOverrides[1].name", "overridden twice",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", CPU: ptr(1)}, {Name: "main", CPU: ptr(2)}}}},
		{"negative cpu", "overrides.containerOverrides[0].cpu", "from 0 to",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", CPU: ptr(-1)}}}},
		{"huge memory", "overrides.containerOverrides[0].memory", "from 0 to",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", Memory: ptr(1 << 40)}}}},
		{"reservation over memory", "containerDefinitions[0].memoryReservation", "With the overrides applied",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", MemoryReservation: ptr(1024)}}}},
		{"bad task cpu", "overrides.cpu", "",
			TaskOverride{CPU: "lots"}},
		{"bad task memory", "overrides.memory", "",
			TaskOverride{Memory: "-1"}},
		{"containers over task memory", "containerDefinitions[0].memory", "With the overrides applied",
			TaskOverride{Memory: "256"}},
		{"too long", "overrides", "at most 8192",
			TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", Command: []string{strings.Repeat("x", 9000)}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := overrideBase().Override(tc.o)
			require.ErrorIs(t, err, ErrInvalid)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve))
			require.Equal(t, tc.field, ve.Field, ve.Error())
			require.Contains(t, ve.Reason, tc.reason)
		})
	}
}

func TestOverrideChangesAndDescribed(t *testing.T) {
	var none *TaskOverride
	require.False(t, none.Changes())
	require.False(t, (&TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main"}}}).Changes())
	require.True(t, (&TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "main", Memory: ptr(600)}}}).Changes())
	require.True(t, (&TaskOverride{CPU: "512"}).Changes())

	td := overrideBase()
	d := none.Described(&td)
	require.Equal(t, []ContainerOverride{{Name: "main"}, {Name: "side"}}, d.ContainerOverrides)
	require.NotNil(t, d.InferenceAcceleratorOverrides)
	o := &TaskOverride{ContainerOverrides: []ContainerOverride{{Name: "side", CPU: ptr(5)}}}
	d = o.Described(&td)
	require.Equal(t, []ContainerOverride{{Name: "main"}, {Name: "side", CPU: ptr(5)}}, d.ContainerOverrides)
}

// FuzzOverride: any overrides JSON either is refused with a
// ValidationError or gives a definition whose demand computes.
func FuzzOverride(f *testing.F) {
	f.Add(`{"containerOverrides":[{"name":"main","cpu":1024,"memory":2048}],"cpu":"1 vCPU"}`)
	f.Add(`{"containerOverrides":[{"name":"side","resourceRequirements":[{"type":"GPU","value":"3"}]}]}`)
	f.Add(`{"memory":"1GB","containerOverrides":[{"name":"main","memoryReservation":2147483647}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		var o TaskOverride
		if json.Unmarshal([]byte(in), &o) != nil {
			return
		}
		got, err := overrideBase().Override(o)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a ValidationError", err)
			}
			return
		}
		if _, err := got.Demand(); err != nil {
			t.Fatalf("accepted overrides %s give no demand: %v", in, err)
		}
	})
}
