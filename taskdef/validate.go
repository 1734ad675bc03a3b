package taskdef

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is the sentinel every [*ValidationError] matches with errors.Is.
var ErrInvalid = errors.New("taskdef: invalid task definition")

// The ECS exception names a [*ValidationError] carries.
const (
	ExceptionClient           = "ClientException"
	ExceptionInvalidParameter = "InvalidParameterException"
)

// Limits that [TaskDefinition.Validate] and [Registry.Register] enforce.
const (
	// MaxContainers is the number of container definitions per task definition.
	MaxContainers = 10
	// MaxPlacementConstraints is the number of task-definition placement constraints.
	MaxPlacementConstraints = 10
	// MaxExpressionLength bounds a placement constraint expression.
	MaxExpressionLength = 2000
	// MaxTags is the number of tags per task definition.
	MaxTags = 50
	// MaxSize is the size of the encoded task definition in bytes (64 KiB).
	// [INF] It is measured on the compact JSON of the register input.
	MaxSize = 64 << 10
	// MinTaskCPU and MaxTaskCPU bound task-level cpu in units (current API text).
	MinTaskCPU = 128
	MaxTaskCPU = 196608
	// MaxRevisions is the number of revisions per family, deregistered ones included.
	MaxRevisions = 1_000_000
	// MaxContainerValue bounds a container's cpu, memory and
	// memoryReservation: ECS's API carries them as 32-bit integers, so a
	// larger value is not a value ECS can receive. With at most
	// [MaxContainers] containers, their sums stay far from overflowing.
	MaxContainerValue = 1<<31 - 1
	// MaxGPUs bounds the GPUs a task asks for, per container and summed
	// over its containers. [INF] ECS documents no such limit; 64 is the
	// most GPUs a container instance can register in Stevedore, so a task
	// asking for more could never be placed.
	MaxGPUs = 64
)

// ValidationError is a task definition rule violation, as RegisterTaskDefinition
// would reject it. Container names the container ("" for a task-level rule),
// Field is the JSON path of the offending member ("containerDefinitions[1].memory",
// "family"; "" for the whole definition), Reason is ECS's message where it is
// known, and Exception the ECS exception the API raises
// ([ExceptionClient] or [ExceptionInvalidParameter]).
// It unwraps to [ErrInvalid].
type ValidationError struct {
	Container string
	Field     string
	Reason    string
	Exception string
}

// Error implements error: the exception, the rule, the container and the field.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("taskdef: ")
	b.WriteString(e.Exception)
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Container != "" || e.Field != "" {
		b.WriteString(" (")
		if e.Container != "" {
			fmt.Fprintf(&b, "container %q", e.Container)
			if e.Field != "" {
				b.WriteString(", ")
			}
		}
		if e.Field != "" {
			b.WriteString("field ")
			b.WriteString(e.Field)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns [ErrInvalid].
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func clientErr(container, field, format string, args ...any) *ValidationError {
	return &ValidationError{Container: container, Field: field, Reason: fmt.Sprintf(format, args...), Exception: ExceptionClient}
}

func paramErr(container, field, format string, args ...any) *ValidationError {
	return &ValidationError{Container: container, Field: field, Reason: fmt.Sprintf(format, args...), Exception: ExceptionInvalidParameter}
}

// validName reports whether s is 1-255 letters, digits, hyphens and underscores.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Validate checks td against the rules RegisterTaskDefinition applies
// (docs/semantics.md §1.3, §1.6, §2) and returns the first violation as a
// [*ValidationError], or nil. Rules are checked in a fixed order: family,
// task-level settings, placement constraints, volumes, tags, each container
// in order, then the rules over the whole task, then the encoded size.
// Output-only fields are ignored.
func (td TaskDefinition) Validate() error {
	v := validator{td: td}
	for _, check := range []func() *ValidationError{
		v.family,
		v.taskSettings,
		v.placementConstraints,
		v.volumes,
		v.tags,
		v.containers,
		v.taskTotals,
		v.size,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

type validator struct {
	td         TaskDefinition
	taskCPU    int64 // 0 = unset
	taskMemory int64 // 0 = unset
}

func (v *validator) family() *ValidationError {
	switch {
	case v.td.Family == "":
		return clientErr("", "family", "Family must not be null or empty.")
	case !validName(v.td.Family):
		return clientErr("", "family", "Invalid family %q. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", v.td.Family)
	}
	return nil
}

func (v *validator) taskSettings() *ValidationError {
	td := v.td
	n := len(td.ContainerDefinitions)
	switch {
	case n == 0:
		return clientErr("", "containerDefinitions", "Container list cannot be empty.")
	case n > MaxContainers:
		return clientErr("", "containerDefinitions", "Too many containers.")
	}
	// [INF] bad enum values raise InvalidParameterException (§7).
	if !td.NetworkMode.Valid() {
		return paramErr("", "networkMode", "Invalid network mode %q. Valid values are bridge, host, awsvpc and none.", td.NetworkMode)
	}
	fargate := false
	for i, c := range td.RequiresCompatibilities {
		if !c.Valid() {
			return paramErr("", fmt.Sprintf("requiresCompatibilities[%d]", i), "Invalid compatibility %q. Valid values are EC2, FARGATE, EXTERNAL and MANAGED_INSTANCES.", c)
		}
		fargate = fargate || c == CompatibilityFargate
	}
	if td.CPU != "" {
		n, err := ParseCPU(td.CPU)
		if err != nil || n < MinTaskCPU || n > MaxTaskCPU {
			return clientErr("", "cpu", "Invalid 'cpu' setting for task. %q is not between %d and %d CPU units.", td.CPU, MinTaskCPU, MaxTaskCPU)
		}
		v.taskCPU = n
	}
	if td.Memory != "" {
		n, err := ParseMemory(td.Memory)
		if err != nil || n <= 0 {
			return clientErr("", "memory", "Invalid 'memory' setting for task. %q is not a positive amount of MiB or GB.", td.Memory)
		}
		v.taskMemory = n
	}
	if fargate {
		// [INF] wording; the rules are the documented Fargate requirements.
		if td.NetworkMode != NetworkModeAwsvpc {
			return clientErr("", "networkMode", "Fargate only supports network mode 'awsvpc'.")
		}
		if td.CPU == "" {
			return clientErr("", "cpu", "Fargate requires that 'cpu' be defined at the task level.")
		}
		if td.Memory == "" {
			return clientErr("", "memory", "Fargate requires that 'memory' be defined at the task level.")
		}
	}
	return nil
}

func (v *validator) placementConstraints() *ValidationError {
	pcs := v.td.PlacementConstraints
	// [INF] exception type for limits and enums: InvalidParameterException (§7).
	if len(pcs) > MaxPlacementConstraints {
		return paramErr("", "placementConstraints", "Too many placement constraints: %d, at most %d are allowed.", len(pcs), MaxPlacementConstraints)
	}
	for i, pc := range pcs {
		p := fmt.Sprintf("placementConstraints[%d]", i)
		switch pc.Type {
		case PlacementConstraintMemberOf:
		case "distinctInstance":
			return paramErr("", p+".type", "Placement constraint type 'distinctInstance' is not supported in a task definition; only 'memberOf' is.")
		default:
			return paramErr("", p+".type", "Invalid placement constraint type %q. Valid value: memberOf.", pc.Type)
		}
		if pc.Expression == "" {
			return paramErr("", p+".expression", "A 'memberOf' placement constraint requires an expression.")
		}
		if len(pc.Expression) > MaxExpressionLength {
			return paramErr("", p+".expression", "Placement constraint expression is longer than %d characters.", MaxExpressionLength)
		}
	}
	return nil
}

func (v *validator) volumes() *ValidationError {
	seen := make(map[string]bool, len(v.td.Volumes))
	for i, vol := range v.td.Volumes {
		p := fmt.Sprintf("volumes[%d].name", i)
		// [INF] volume names follow the container name rule and are unique.
		switch {
		case vol.Name == "":
			return clientErr("", p, "Volume.name should not be null or empty.")
		case !validName(vol.Name):
			return clientErr("", p, "Invalid volume name %q. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", vol.Name)
		case seen[vol.Name]:
			return clientErr("", p, "Duplicate volume name %q.", vol.Name)
		}
		seen[vol.Name] = true
	}
	return nil
}

func (v *validator) tags() *ValidationError { return validateTags(v.td.Tags) }

// ValidateTags checks tags against ECS's tagging rules, the same for every
// resource that takes tags (clusters, services, task definitions, tasks):
//
//   - at most [MaxTags] tags;
//   - a key of 1 to 128 characters, unique among the tags;
//   - a value of at most 256 characters;
//   - keys and values of letters, digits and spaces, and + - = . _ : / @;
//   - no key beginning with "aws:" in any case, which AWS reserves.
//
// A violation is a [*ValidationError] (InvalidParameterException) whose
// Field is the offending tag's path, such as "tags[3].key".
func ValidateTags(tags []Tag) error {
	if err := validateTags(tags); err != nil {
		return err
	}
	return nil
}

func validateTags(tags []Tag) *ValidationError {
	if len(tags) > MaxTags {
		return paramErr("", "tags", "Too many tags: %d, at most %d are allowed.", len(tags), MaxTags)
	}
	for i, t := range tags {
		key, value := fmt.Sprintf("tags[%d].key", i), fmt.Sprintf("tags[%d].value", i)
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
			return paramErr("", key, "Tag keys must be 1-128 characters.")
		case utf8.RuneCountInString(t.Value) > 256:
			return paramErr("", value, "Tag values must be at most 256 characters.")
		case !tagText(t.Key):
			return paramErr("", key, "Tag key %q may hold only letters, numbers, spaces and + - = . _ : / @.", t.Key)
		case !tagText(t.Value):
			return paramErr("", value, "Tag value %q may hold only letters, numbers, spaces and + - = . _ : / @.", t.Value)
		case len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:"):
			return paramErr("", key, "Tag key %q: the aws: prefix is reserved for AWS use.", t.Key)
		}
		for j := range i {
			if tags[j].Key == t.Key {
				return paramErr("", key, "Tag key %q is given twice; keys must be unique.", t.Key)
			}
		}
	}
	return nil
}

// tagText reports whether s holds only what a tag may: Unicode letters,
// digits and spaces, and + - = . _ : / @.
func tagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// hostPortKey identifies a port in the task's network namespace.
type hostPortKey struct {
	proto string
	port  int
}

func (v *validator) containers() *ValidationError {
	td := v.td
	mode := td.NetworkMode.Effective()
	names := make(map[string]int, len(td.ContainerDefinitions))
	for i, c := range td.ContainerDefinitions {
		p := fmt.Sprintf("containerDefinitions[%d].name", i)
		switch {
		case c.Name == "":
			return clientErr("", p, "Container.name should not be null or empty.")
		case !validName(c.Name):
			return clientErr(c.Name, p, "Invalid container name %q. Up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", c.Name)
		}
		if _, dup := names[c.Name]; dup {
			// [INF] wording.
			return clientErr(c.Name, p, "Duplicate container name %q.", c.Name)
		}
		names[c.Name] = i
	}
	volumes := make(map[string]bool, len(td.Volumes))
	for _, vol := range td.Volumes {
		volumes[vol.Name] = true
	}
	ports := make(map[hostPortKey]string)
	for i, c := range td.ContainerDefinitions {
		p := fmt.Sprintf("containerDefinitions[%d]", i)
		if err := v.container(c, p, mode, names, volumes, ports); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) container(c ContainerDefinition, p string, mode NetworkMode, names map[string]int, volumes map[string]bool, ports map[hostPortKey]string) *ValidationError {
	n := c.Name
	if c.Image == "" {
		return clientErr(n, p+".image", "Container.image should not be null or empty.")
	}
	// [INF] negative amounts, and amounts past the API's 32-bit integers,
	// are rejected with ClientException.
	for _, f := range []struct {
		name  string
		value int
	}{{"cpu", c.CPU}, {"memory", c.Memory}, {"memoryReservation", c.MemoryReservation}} {
		if f.value < 0 {
			return clientErr(n, p+"."+f.name, "Invalid setting for container '%s'. '%s' must not be negative.", n, f.name)
		}
		if f.value > MaxContainerValue {
			return clientErr(n, p+"."+f.name, "Invalid setting for container '%s'. '%s' must be at most %d.", n, f.name, MaxContainerValue)
		}
	}
	if c.Memory > 0 && c.MemoryReservation > 0 && c.Memory <= c.MemoryReservation {
		return clientErr(n, p+".memoryReservation", "Invalid setting for container '%s'. 'memory' must be greater than 'memoryReservation'.", n)
	}
	if v.taskMemory == 0 && c.Memory == 0 && c.MemoryReservation == 0 {
		return clientErr(n, p+".memory", "Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", n)
	}
	if v.taskMemory > 0 {
		if int64(c.Memory) > v.taskMemory {
			return paramErr(n, p+".memory", "'memory' setting for container '%s' is greater than for task.", n)
		}
		// [INF] the same rule for the soft limit.
		if int64(c.MemoryReservation) > v.taskMemory {
			return paramErr(n, p+".memoryReservation", "'memoryReservation' setting for container '%s' is greater than for task.", n)
		}
	}
	// [INF] the cpu analogue of the observed memory message and exception.
	if v.taskCPU > 0 && int64(c.CPU) > v.taskCPU {
		return paramErr(n, p+".cpu", "'cpu' setting for container '%s' is greater than for task.", n)
	}
	if err := containerPorts(c, p, mode, ports); err != nil {
		return err
	}
	if len(c.Links) > 0 && mode != NetworkModeBridge {
		return clientErr(n, p+".links", "Invalid setting for container '%s'. Links are only supported in 'bridge' network mode.", n)
	}
	for k, l := range c.Links {
		target, _, _ := strings.Cut(l, ":")
		if _, ok := names[target]; !ok || target == n {
			return clientErr(n, fmt.Sprintf("%s.links[%d]", p, k), "Invalid setting for container '%s'. Link '%s' does not name another container of the task.", n, l)
		}
	}
	for k, vf := range c.VolumesFrom {
		// [INF] a container cannot take volumes from itself.
		if _, ok := names[vf.SourceContainer]; !ok || vf.SourceContainer == n {
			return clientErr(n, fmt.Sprintf("%s.volumesFrom[%d].sourceContainer", p, k), "Invalid setting for container '%s'. volumesFrom source container '%s' is not another container of the task.", n, vf.SourceContainer)
		}
	}
	for k, mp := range c.MountPoints {
		if !volumes[mp.SourceVolume] {
			return clientErr(n, fmt.Sprintf("%s.mountPoints[%d].sourceVolume", p, k), "Invalid setting for container '%s'. Mount point source volume '%s' is not a volume of the task.", n, mp.SourceVolume)
		}
	}
	if mode == NetworkModeAwsvpc {
		if len(c.ExtraHosts) > 0 {
			return clientErr(n, p+".extraHosts", "Invalid setting for container '%s'. Extra hosts are not supported in 'awsvpc' network mode.", n)
		}
		if c.Hostname != "" {
			return clientErr(n, p+".hostname", "Invalid setting for container '%s'. Hostname is not supported in 'awsvpc' network mode.", n)
		}
	}
	for k, rr := range c.ResourceRequirements {
		rp := fmt.Sprintf("%s.resourceRequirements[%d]", p, k)
		switch rr.Type {
		case ResourceGPU:
			if _, ok := gpuCount(rr.Value); !ok {
				return clientErr(n, rp+".value", "Invalid setting for container '%s'. GPU value %q must be a whole number from 1 to %d.", n, rr.Value, MaxGPUs)
			}
		case ResourceInferenceAccelerator, ResourceNeuronDevice:
			if rr.Value == "" {
				return clientErr(n, rp+".value", "Invalid setting for container '%s'. %s value must not be empty.", n, rr.Type)
			}
		default:
			return paramErr(n, rp+".type", "Invalid resource requirement type %q. Valid values are GPU, InferenceAccelerator and NeuronDevice.", rr.Type)
		}
	}
	for k, d := range c.DependsOn {
		dp := fmt.Sprintf("%s.dependsOn[%d]", p, k)
		if _, ok := names[d.ContainerName]; !ok || d.ContainerName == n {
			return clientErr(n, dp+".containerName", "Invalid setting for container '%s'. dependsOn container '%s' is not another container of the task.", n, d.ContainerName)
		}
		switch d.Condition {
		case "START", "COMPLETE", "SUCCESS", "HEALTHY":
		default:
			return paramErr(n, dp+".condition", "Invalid dependsOn condition %q. Valid values are START, COMPLETE, SUCCESS and HEALTHY.", d.Condition)
		}
	}
	return nil
}

// containerPorts checks one container's port mappings and records the ports
// it takes in the task's network namespace in ports.
func containerPorts(c ContainerDefinition, p string, mode NetworkMode, ports map[hostPortKey]string) *ValidationError {
	n := c.Name
	if len(c.PortMappings) > 0 && mode == NetworkModeNone {
		return clientErr(n, p+".portMappings", "Invalid setting for container '%s'. Port mappings are not allowed in 'none' network mode.", n)
	}
	protoOf := make(map[int]string, len(c.PortMappings))
	for j, pm := range c.PortMappings {
		pp := fmt.Sprintf("%s.portMappings[%d]", p, j)
		proto := pm.Protocol
		switch proto {
		case "":
			proto = ProtocolTCP
		case ProtocolTCP, ProtocolUDP:
		default:
			return paramErr(n, pp+".protocol", "Invalid protocol %q for container '%s'. Valid values are tcp and udp.", pm.Protocol, n)
		}
		if pm.ContainerPort < 0 || pm.ContainerPort > 65535 {
			return clientErr(n, pp+".containerPort", "Invalid setting for container '%s'. Container port %d is not between 1 and 65535.", n, pm.ContainerPort)
		}
		if pm.HostPort < 0 || pm.HostPort > 65535 {
			return clientErr(n, pp+".hostPort", "Invalid setting for container '%s'. Host port %d is not between 0 and 65535.", n, pm.HostPort)
		}
		if pm.ContainerPortRange != "" {
			// [INF] a range stands alone: no containerPort or hostPort beside it.
			if mode != NetworkModeBridge && mode != NetworkModeAwsvpc {
				return clientErr(n, pp+".containerPortRange", "Invalid setting for container '%s'. containerPortRange is only supported in 'bridge' and 'awsvpc' network modes.", n)
			}
			if pm.ContainerPort != 0 || pm.HostPort != 0 {
				return clientErr(n, pp+".containerPortRange", "Invalid setting for container '%s'. containerPortRange cannot be combined with containerPort or hostPort.", n)
			}
			if _, _, ok := parsePortRange(pm.ContainerPortRange); !ok {
				return clientErr(n, pp+".containerPortRange", "Invalid setting for container '%s'. containerPortRange %q must be first-last with 1 <= first < last <= 65535.", n, pm.ContainerPortRange)
			}
			continue
		}
		if pm.ContainerPort == 0 {
			return clientErr(n, pp+".containerPort", "Invalid setting for container '%s'. 'containerPort' must be specified unless 'containerPortRange' is.", n)
		}
		if prev, ok := protoOf[pm.ContainerPort]; ok && prev != proto {
			return clientErr(n, pp+".protocol", "Invalid setting for container '%s'. You can't expose the same container port (%d) for multiple protocols.", n, pm.ContainerPort)
		}
		protoOf[pm.ContainerPort] = proto
		if (mode == NetworkModeHost || mode == NetworkModeAwsvpc) && pm.HostPort != 0 && pm.HostPort != pm.ContainerPort {
			return clientErr(n, pp+".hostPort", "Invalid setting for container '%s'. When networkMode=%s, the host ports and container ports in port mappings must match.", n, mode)
		}
		// The port the mapping takes in the task's namespace: a static host
		// port (bridge), the container port on the host (host) or on the task
		// ENI (awsvpc, [INF]: two mappings of one ENI port collide too).
		port := 0
		switch mode {
		case NetworkModeBridge:
			port = pm.HostPort
		case NetworkModeHost, NetworkModeAwsvpc:
			port = pm.ContainerPort
		}
		if port == 0 {
			continue
		}
		key := hostPortKey{proto, port}
		if other, taken := ports[key]; taken {
			// [INF] a task cannot bind one static port twice.
			return clientErr(n, pp+".hostPort", "Invalid setting for container '%s'. Host port %d/%s is already used by container '%s' of the task.", n, port, proto, other)
		}
		ports[key] = n
	}
	return nil
}

// parsePortRange parses "first-last" with 1 <= first < last <= 65535.
func parsePortRange(s string) (first, last int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || a[0] == '+' || b == "" || b[0] == '+' || first < 1 || first >= last || last > 65535 {
		return 0, 0, false
	}
	return first, last, true
}

// gpuCount parses a GPU resource requirement's value: a whole number
// from 1 to [MaxGPUs], without sign or spaces.
func gpuCount(s string) (int, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' || len(s) > 2 {
		return 0, false
	}
	g, err := strconv.Atoi(s)
	if err != nil || g < 1 || g > MaxGPUs {
		return 0, false
	}
	return g, true
}

func (v *validator) taskTotals() *ValidationError {
	// Each container's values are bounded (container), so these sums of at
	// most MaxContainers terms cannot overflow.
	var cpu, mem int64
	gpus := 0
	essential := false
	for _, c := range v.td.ContainerDefinitions {
		cpu += int64(c.CPU)
		mem += int64(containerMemory(c))
		for _, rr := range c.ResourceRequirements {
			if rr.Type == ResourceGPU {
				g, _ := gpuCount(rr.Value)
				gpus += g
			}
		}
		essential = essential || c.IsEssential()
	}
	if !essential {
		return clientErr("", "containerDefinitions", "Task definition does not have any essential container. All tasks must have at least one essential container.")
	}
	if gpus > MaxGPUs {
		// [INF] wording and exception.
		return clientErr("", "containerDefinitions", "The task asks for %d GPUs over its containers; at most %d are allowed.", gpus, MaxGPUs)
	}
	// [INF] sums may equal the task value; exception as for one container.
	if v.taskMemory > 0 && mem > v.taskMemory {
		return paramErr("", "memory", "The sum of container memory (%d MiB, memoryReservation where set) is greater than the task 'memory' (%d MiB).", mem, v.taskMemory)
	}
	if v.taskCPU > 0 && cpu > v.taskCPU {
		return paramErr("", "cpu", "The sum of container 'cpu' (%d) is greater than the task 'cpu' (%d).", cpu, v.taskCPU)
	}
	return nil
}

// containerMemory is what a container reserves: memoryReservation if set,
// else memory (§1.3).
func containerMemory(c ContainerDefinition) int {
	if c.MemoryReservation > 0 {
		return c.MemoryReservation
	}
	return max(c.Memory, 0)
}

func (v *validator) size() *ValidationError {
	b, err := json.Marshal(v.td.inputOnly())
	if err != nil {
		return clientErr("", "", "Task definition cannot be encoded: %v.", err)
	}
	if len(b) > MaxSize {
		// [INF] exception and wording.
		return clientErr("", "", "Task definition size %d bytes exceeds the %d byte limit.", len(b), MaxSize)
	}
	return nil
}
