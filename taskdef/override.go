package taskdef

import (
	"encoding/json"
	"fmt"
	"slices"
)

// MaxOverrideSize is the most bytes a task's overrides may take as JSON
// (ECS: "the total amount of overrides ... is 8192 characters").
const MaxOverrideSize = 8192

// TaskOverride is ECS's TaskOverride: what RunTask and StartTask change
// in a task definition for the tasks they start. CPU and Memory are
// task-level amounts in the task definition's notation ("1024", "1 vCPU",
// "2GB"); empty keeps the definition's.
type TaskOverride struct {
	ContainerOverrides            []ContainerOverride            `json:"containerOverrides"`
	CPU                           string                         `json:"cpu,omitempty"`
	Memory                        string                         `json:"memory,omitempty"`
	TaskRoleArn                   string                         `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn              string                         `json:"executionRoleArn,omitempty"`
	EphemeralStorage              *EphemeralStorage              `json:"ephemeralStorage,omitempty"`
	InferenceAcceleratorOverrides []InferenceAcceleratorOverride `json:"inferenceAcceleratorOverrides"`
}

// InferenceAcceleratorOverride names the accelerator type a task's
// accelerator device gets.
type InferenceAcceleratorOverride struct {
	DeviceName string `json:"deviceName,omitempty"`
	DeviceType string `json:"deviceType,omitempty"`
}

// ContainerOverride is ECS's ContainerOverride: the changes to one
// container, named by Name. A nil amount keeps the definition's value.
// Environment variables are merged by name into the definition's; the
// other lists replace the definition's when given (resourceRequirements
// by type).
type ContainerOverride struct {
	Name                 string                `json:"name,omitempty"`
	Command              []string              `json:"command,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	EnvironmentFiles     []EnvironmentFile     `json:"environmentFiles,omitempty"`
	CPU                  *int                  `json:"cpu,omitempty"`
	Memory               *int                  `json:"memory,omitempty"`
	MemoryReservation    *int                  `json:"memoryReservation,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
}

// Clone returns a deep copy of o (nil for nil).
func (o *TaskOverride) Clone() *TaskOverride {
	if o == nil {
		return nil
	}
	out := *o
	out.ContainerOverrides = slices.Clone(o.ContainerOverrides)
	for i := range out.ContainerOverrides {
		c := &out.ContainerOverrides[i]
		c.Command = slices.Clone(c.Command)
		c.Environment = slices.Clone(c.Environment)
		c.EnvironmentFiles = slices.Clone(c.EnvironmentFiles)
		c.ResourceRequirements = slices.Clone(c.ResourceRequirements)
		c.CPU, c.Memory, c.MemoryReservation = cloneInt(c.CPU), cloneInt(c.Memory), cloneInt(c.MemoryReservation)
	}
	if o.EphemeralStorage != nil {
		es := *o.EphemeralStorage
		out.EphemeralStorage = &es
	}
	out.InferenceAcceleratorOverrides = slices.Clone(o.InferenceAcceleratorOverrides)
	return &out
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	n := *p
	return &n
}

// Compact returns a copy of o without the container overrides that change
// nothing (such as the name-only entries of a described task), nil for
// nil.
func (o *TaskOverride) Compact() *TaskOverride {
	if o == nil {
		return nil
	}
	out := o.Clone()
	out.ContainerOverrides = slices.DeleteFunc(out.ContainerOverrides, func(c ContainerOverride) bool {
		c.Name = ""
		return c.empty()
	})
	return out
}

// empty reports whether o changes nothing: ECS accepts such an override
// without a name.
func (o *ContainerOverride) empty() bool {
	return o.Name == "" && o.Command == nil && o.Environment == nil && o.EnvironmentFiles == nil &&
		o.CPU == nil && o.Memory == nil && o.MemoryReservation == nil && o.ResourceRequirements == nil
}

// Changes reports whether o changes anything a task definition says:
// a task whose overrides change nothing has the definition's demand.
func (o *TaskOverride) Changes() bool {
	if o == nil {
		return false
	}
	if o.CPU != "" || o.Memory != "" || o.TaskRoleArn != "" || o.ExecutionRoleArn != "" || o.EphemeralStorage != nil || len(o.InferenceAcceleratorOverrides) > 0 {
		return true
	}
	for _, c := range o.ContainerOverrides {
		c.Name = ""
		if !c.empty() {
			return true
		}
	}
	return false
}

// Override returns a copy of td with o applied, checked as
// RegisterTaskDefinition checks a definition (the task and container
// rules and the task totals: memoryReservation at most memory, container
// amounts within the task's, ...), or the first violation as a
// [*ValidationError] whose Field is the override's path
// ("overrides.containerOverrides[0].name") or, for a rule the result
// breaks, the definition's. The rules of the override itself:
//
//   - at most [MaxOverrideSize] bytes of JSON;
//   - a container override that changes something names a container of
//     the definition, and names it once [INF: ECS does not document a
//     repeated name; a second override of the same container is refused];
//   - cpu, memory and memoryReservation from 0 to [MaxContainerValue];
//   - task cpu and memory parse as the definition's do.
//
// td is not changed.
func (td TaskDefinition) Override(o TaskOverride) (TaskDefinition, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return TaskDefinition{}, paramErr("", "overrides", "The overrides are not valid JSON: %v", err)
	}
	if len(raw) > MaxOverrideSize {
		return TaskDefinition{}, paramErr("", "overrides", "Container Overrides length must be at most %d; it is %d.", MaxOverrideSize, len(raw))
	}
	out := td.Clone()
	seen := make(map[string]bool, len(o.ContainerOverrides))
	for i := range o.ContainerOverrides {
		co := &o.ContainerOverrides[i]
		path := fmt.Sprintf("overrides.containerOverrides[%d]", i)
		if co.empty() {
			continue
		}
		if co.Name == "" {
			return TaskDefinition{}, paramErr("", path+".name", "Container override name is required when an override is given.")
		}
		at := slices.IndexFunc(out.ContainerDefinitions, func(c ContainerDefinition) bool { return c.Name == co.Name })
		if at < 0 {
			return TaskDefinition{}, paramErr(co.Name, path+".name", "Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		if seen[co.Name] {
			return TaskDefinition{}, paramErr(co.Name, path+".name", "Container %s is overridden twice; a container may have one override.", co.Name)
		}
		seen[co.Name] = true
		c := &out.ContainerDefinitions[at]
		for _, a := range [...]struct {
			field string
			v     *int
		}{{"cpu", co.CPU}, {"memory", co.Memory}, {"memoryReservation", co.MemoryReservation}} {
			if a.v != nil && (*a.v < 0 || *a.v > MaxContainerValue) {
				return TaskDefinition{}, paramErr(co.Name, path+"."+a.field, "%s must be from 0 to %d, got %d.", a.field, MaxContainerValue, *a.v)
			}
		}
		if co.CPU != nil {
			c.CPU = *co.CPU
		}
		if co.Memory != nil {
			c.Memory = *co.Memory
		}
		if co.MemoryReservation != nil {
			c.MemoryReservation = *co.MemoryReservation
		}
		if co.Command != nil {
			c.Command = slices.Clone(co.Command)
		}
		if co.EnvironmentFiles != nil {
			c.EnvironmentFiles = slices.Clone(co.EnvironmentFiles)
		}
		for _, kv := range co.Environment {
			if j := slices.IndexFunc(c.Environment, func(e KeyValuePair) bool { return e.Name == kv.Name }); j >= 0 {
				c.Environment[j] = kv
			} else {
				c.Environment = append(c.Environment, kv)
			}
		}
		for _, rr := range co.ResourceRequirements {
			c.ResourceRequirements = slices.DeleteFunc(c.ResourceRequirements, func(r ResourceRequirement) bool { return r.Type == rr.Type })
		}
		c.ResourceRequirements = append(c.ResourceRequirements, co.ResourceRequirements...)
	}
	if o.CPU != "" {
		if _, err := ParseCPU(o.CPU); err != nil {
			return TaskDefinition{}, paramErr("", "overrides.cpu", "%v", err)
		}
		out.CPU = o.CPU
	}
	if o.Memory != "" {
		if _, err := ParseMemory(o.Memory); err != nil {
			return TaskDefinition{}, paramErr("", "overrides.memory", "%v", err)
		}
		out.Memory = o.Memory
	}
	if o.TaskRoleArn != "" {
		out.TaskRoleArn = o.TaskRoleArn
	}
	if o.ExecutionRoleArn != "" {
		out.ExecutionRoleArn = o.ExecutionRoleArn
	}
	if o.EphemeralStorage != nil {
		es := *o.EphemeralStorage
		out.EphemeralStorage = &es
	}
	v := validator{td: out}
	for _, check := range []func() *ValidationError{v.taskSettings, v.containers, v.taskTotals} {
		if err := check(); err != nil {
			err.Reason = "With the overrides applied: " + err.Reason
			return TaskDefinition{}, err
		}
	}
	return out, nil
}

// Described returns o as ECS describes a task's overrides: every
// container of td listed by name (with its override, where it has one)
// and empty lists written out.
func (o *TaskOverride) Described(td *TaskDefinition) TaskOverride {
	var out TaskOverride
	if o != nil {
		o = o.Clone() // the description shares nothing with o
		out = *o
	}
	list := make([]ContainerOverride, 0, len(td.ContainerDefinitions))
	for _, c := range td.ContainerDefinitions {
		co := ContainerOverride{Name: c.Name}
		if o != nil {
			if i := slices.IndexFunc(o.ContainerOverrides, func(x ContainerOverride) bool { return x.Name == c.Name }); i >= 0 {
				co = o.ContainerOverrides[i]
			}
		}
		list = append(list, co)
	}
	out.ContainerOverrides = list
	if out.InferenceAcceleratorOverrides == nil {
		out.InferenceAcceleratorOverrides = []InferenceAcceleratorOverride{}
	}
	return out
}
