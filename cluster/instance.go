package cluster

import (
	"iter"
	"slices"
	"strings"
	"time"
)

// InstanceStatus is a container instance's status. Only ACTIVE instances take
// new tasks.
type InstanceStatus uint8

// The container instance statuses the model uses.
const (
	InstanceActive InstanceStatus = iota + 1
	InstanceDraining
	InstanceInactive
)

// String returns the ECS name: ACTIVE, DRAINING or INACTIVE.
func (s InstanceStatus) String() string {
	switch s {
	case InstanceActive:
		return "ACTIVE"
	case InstanceDraining:
		return "DRAINING"
	case InstanceInactive:
		return "INACTIVE"
	}
	return ""
}

// ParseInstanceStatus parses ACTIVE, DRAINING or INACTIVE.
func ParseInstanceStatus(s string) (InstanceStatus, bool) {
	switch s {
	case "ACTIVE":
		return InstanceActive, true
	case "DRAINING":
		return InstanceDraining, true
	case "INACTIVE":
		return InstanceInactive, true
	}
	return 0, false
}

// Attribute is a name, optionally with a value, attached to a container
// instance. Placement constraints and spread strategies read them.
type Attribute struct {
	Name  string
	Value string
}

// defaultReservedPorts are the TCP ports the ECS agent reserves on Linux
// when ECS_RESERVED_PORTS is not set.
var defaultReservedPorts = [...]uint16{22, 2375, 2376, 51678, 51679}

// DefaultReservedPorts returns the TCP ports the ECS agent reserves on Linux
// when ECS_RESERVED_PORTS is not set: 22, 2375, 2376, 51678, 51679.
func DefaultReservedPorts() []uint16 { return slices.Clone(defaultReservedPorts[:]) }

// VersionInfo is the agent and Docker version an instance registered with.
type VersionInfo struct {
	AgentVersion  string
	AgentHash     string
	DockerVersion string
}

// InstanceSpec is what a container instance registers with.
type InstanceSpec struct {
	// EC2InstanceID is the EC2 instance id; empty means one is generated.
	EC2InstanceID string
	// CPU units and MiB of memory the instance offers to tasks.
	CPU, Memory int64
	// Ports and PortsUDP are the host ports the agent reserves. A nil
	// Ports means [DefaultReservedPorts]; an empty non-nil slice reserves none.
	Ports, PortsUDP []uint16
	// GPUs are the ids of the instance's GPUs, at most [MaxGPUs].
	GPUs []string
	// Attributes are built-in and custom attributes. Names are unique.
	Attributes []Attribute
	// Version is the agent's version information.
	Version VersionInfo
	// CapacityProvider is the capacity provider the instance belongs to
	// (the one whose Auto Scaling group launched it), or "" for none. It
	// is fixed for the instance's life.
	CapacityProvider string
	// ENIs is how many task ENIs (awsvpc tasks) the instance can attach:
	// its instance type's ENI limit less the primary ENI, or with awsvpc
	// trunking its trunk's limit; at most [MaxENIs]. 0 sets no limit
	// [INF: an instance of a type the model does not know, with no
	// attribute giving the limit].
	ENIs int
}

// Instance is the live record of one container instance. Its fields change
// only through [Cluster] methods; read them through its methods while holding
// a [View] (inside [Cluster.Read]) and do not keep the pointer past it.
type Instance struct {
	slot          int32
	id, arn       string
	ec2InstanceID string
	status        InstanceStatus
	connected     bool
	registeredAt  time.Time
	version       int64
	versionInfo   VersionInfo

	regCPU, regMemory int64
	regPorts, regUDP  PortSet
	gpuIDs            []string
	cpu, memory       int64       // remaining
	ports, portsUDP   PortSet     // remaining: reserved ∪ task ports
	gpuFree           gpuMask     // remaining GPUs
	attrs             []Attribute // sorted by name
	running, pending  int32
	tasks             []*Task // non-stopped tasks on the instance
	groups            []groupCount
	notifying         bool  // queued in Cluster.notify
	attrEpoch         int64 // grows when the attributes change
	provider          string
	eniLimit, enis    int32 // task ENIs: the limit (0: none) and those attached
	// zone, zoneStatus and zoneEpoch are what Cluster.zones counts the
	// instance as: its zone, status and attributes epoch then.
	zone       string
	zoneStatus InstanceStatus
	zoneEpoch  int64
}

type groupCount struct {
	group string
	n     int32
}

// Slot is the instance's dense index in its cluster, 0 ≤ slot <
// [View.NumSlots]; it never changes and is never reused, so indexes keep
// per-instance data in slices addressed by it.
func (in *Instance) Slot() int { return int(in.slot) }

// ID returns the container instance id (the last part of its ARN).
func (in *Instance) ID() string { return in.id }

// ARN returns the container instance ARN.
func (in *Instance) ARN() string { return in.arn }

// EC2InstanceID returns the EC2 instance id.
func (in *Instance) EC2InstanceID() string { return in.ec2InstanceID }

// Status returns ACTIVE, DRAINING or INACTIVE.
func (in *Instance) Status() InstanceStatus { return in.status }

// AgentConnected reports whether the instance's agent is connected.
func (in *Instance) AgentConnected() bool { return in.connected }

// AgentVersion returns the agent version the instance registered with.
func (in *Instance) AgentVersion() string { return in.versionInfo.AgentVersion }

// RegisteredAt returns when the instance registered.
func (in *Instance) RegisteredAt() time.Time { return in.registeredAt }

// Version returns ECS's version counter of the instance: it grows on every
// change to the instance.
func (in *Instance) Version() int64 { return in.version }

// RunningTasksCount returns the number of tasks on the instance in RUNNING.
func (in *Instance) RunningTasksCount() int { return int(in.running) }

// PendingTasksCount returns the number of tasks on the instance in PENDING.
func (in *Instance) PendingTasksCount() int { return int(in.pending) }

// TaskCount returns the number of tasks on the instance that are not STOPPED.
func (in *Instance) TaskCount() int { return len(in.tasks) }

// RemainingCPU returns the CPU units not allocated to tasks.
func (in *Instance) RemainingCPU() int64 { return in.cpu }

// RemainingMemory returns the MiB of memory not allocated to tasks.
func (in *Instance) RemainingMemory() int64 { return in.memory }

// RegisteredCPU returns the CPU units the instance registered.
func (in *Instance) RegisteredCPU() int64 { return in.regCPU }

// RegisteredMemory returns the MiB of memory the instance registered.
func (in *Instance) RegisteredMemory() int64 { return in.regMemory }

// ReservedPorts returns the TCP host ports in use: the agent's and the
// tasks'. The set changes with the instance: use it inside the Read that
// produced the instance (Info returns a copy to keep).
func (in *Instance) ReservedPorts() PortSet { return in.ports }

// ReservedPortsUDP returns the UDP host ports in use, like ReservedPorts.
func (in *Instance) ReservedPortsUDP() PortSet { return in.portsUDP }

// FreeGPUs returns the number of GPUs not assigned to a task.
func (in *Instance) FreeGPUs() int { return in.gpuFree.count() }

// ENILimit returns how many task ENIs the instance can attach, or 0 for
// no limit (see [InstanceSpec.ENIs]).
func (in *Instance) ENILimit() int { return int(in.eniLimit) }

// FreeENIs returns how many more task ENIs the instance can attach:
// [MaxENIs] when it has no limit.
func (in *Instance) FreeENIs() int {
	if in.eniLimit == 0 {
		return MaxENIs
	}
	return int(in.eniLimit - in.enis)
}

// Attribute returns the value of the named attribute and whether the
// instance has it. Cost: O(log a) for a attributes.
func (in *Instance) Attribute(name string) (string, bool) {
	i, ok := slices.BinarySearchFunc(in.attrs, name, cmpAttr)
	if !ok {
		return "", false
	}
	return in.attrs[i].Value, true
}

// CapacityProvider returns the capacity provider the instance belongs to,
// or "" for none.
func (in *Instance) CapacityProvider() string { return in.provider }

// AvailabilityZone returns the instance's ecs.availability-zone
// attribute, or "" without one.
func (in *Instance) AvailabilityZone() string {
	az, _ := in.Attribute(AttributeAvailabilityZone)
	return az
}

// AttributesEpoch grows whenever the instance's attributes change, so an
// index can tell an attribute change from any other.
func (in *Instance) AttributesEpoch() int64 { return in.attrEpoch }

// Attributes returns a copy of the instance's attributes, sorted by name.
func (in *Instance) Attributes() []Attribute { return slices.Clone(in.attrs) }

// GroupCount returns how many non-stopped tasks of the task group run on the
// instance.
func (in *Instance) GroupCount(group string) int {
	for _, g := range in.groups {
		if g.group == group {
			return int(g.n)
		}
	}
	return 0
}

// HasTaskGroup reports whether at least one non-stopped task of the group
// runs on the instance (the task:group subject of the query language).
func (in *Instance) HasTaskGroup(group string) bool { return in.GroupCount(group) > 0 }

func cmpAttr(a Attribute, name string) int { return strings.Compare(a.Name, name) }

// Fits runs the fit test for a task with demand d, with the tasks already
// proposed in p (nil for none) counted as if placed, and returns the first
// failing check in [CheckOrder], or ReasonNone. It does not allocate.
func (in *Instance) Fits(d *Demand, p *Pending) Reason {
	switch in.status {
	case InstanceInactive:
		return ReasonInactive
	case InstanceDraining:
		return ReasonDraining
	}
	if d.provider != "" && d.provider != in.provider {
		return ReasonCapacityProvider
	}
	var e *pendingEntry
	if p != nil {
		e = p.find(in)
	}
	cpu, mem, free, enis := in.cpu, in.memory, in.gpuFree.count(), in.enis
	if e != nil {
		cpu -= e.cpu
		mem -= e.memory
		free -= e.gpus
		enis += int32(e.enis)
	}
	if d.cpu > cpu {
		return ReasonCPU
	}
	if d.memory > mem {
		return ReasonMemory
	}
	if r := in.portsFit(d, e); r != ReasonNone {
		return r
	}
	if d.gpus > free {
		return ReasonGPU
	}
	if d.enis > 0 && in.eniLimit > 0 && int(enis)+d.enis > int(in.eniLimit) {
		return ReasonENI
	}
	for _, a := range d.requiredAttributes {
		if _, ok := in.Attribute(a); !ok {
			return ReasonAttribute
		}
	}
	if !in.connected {
		return ReasonAgent
	}
	return ReasonNone
}

func (in *Instance) portsFit(d *Demand, e *pendingEntry) Reason {
	if e == nil || (len(e.freed) == 0 && len(e.freedUDP) == 0) {
		if in.ports.Intersects(d.ports) || (e != nil && intersects(e.ports, d.ports.p)) {
			return ReasonPorts
		}
	} else if holds(in.ports.p, e.ports, e.freed, d.ports.p) {
		return ReasonPorts
	}
	n := in.ports.Len() + in.portsUDP.Len() + d.ports.Len() + d.portsUDP.Len()
	if e != nil {
		n += len(e.ports) + len(e.portsUDP) - len(e.freed) - len(e.freedUDP)
	}
	if n > MaxReservedPorts && (d.ports.Len() > 0 || d.portsUDP.Len() > 0) {
		return ReasonPorts
	}
	if e == nil || len(e.freedUDP) == 0 {
		if in.portsUDP.Intersects(d.portsUDP) || (e != nil && intersects(e.portsUDP, d.portsUDP.p)) {
			return ReasonPortsUDP
		}
	} else if holds(in.portsUDP.p, e.portsUDP, e.freedUDP, d.portsUDP.p) {
		return ReasonPortsUDP
	}
	return ReasonNone
}

// holds reports whether any of want is held: by the instance and not freed
// by the decision, or taken by the decision.
func holds(instance, taken, freed, want []uint16) bool {
	for _, x := range want {
		if _, ok := slices.BinarySearch(taken, x); ok {
			return true
		}
		if _, ok := slices.BinarySearch(instance, x); ok {
			if _, ok := slices.BinarySearch(freed, x); !ok {
				return true
			}
		}
	}
	return false
}

// InstanceInfo is a copy of a container instance's state, safe to keep.
type InstanceInfo struct {
	ID, ARN, EC2InstanceID string
	Status                 InstanceStatus
	AgentConnected         bool
	RegisteredAt           time.Time
	Version                int64
	VersionInfo            VersionInfo

	RegisteredCPU, RegisteredMemory int64
	RegisteredPorts                 PortSet
	RegisteredPortsUDP              PortSet
	RegisteredGPUs                  []string
	RemainingCPU, RemainingMemory   int64
	RemainingPorts                  PortSet
	RemainingPortsUDP               PortSet
	RemainingGPUs                   []string

	Attributes                           []Attribute
	RunningTasksCount, PendingTasksCount int
	// CapacityProvider is the capacity provider the instance belongs to,
	// or "".
	CapacityProvider string
	// ENILimit is how many task ENIs the instance can attach (0: no
	// limit); ENIs how many its tasks have attached.
	ENILimit, ENIs int
}

// Info returns a copy of the instance's state.
func (in *Instance) Info() InstanceInfo {
	info := InstanceInfo{
		ID: in.id, ARN: in.arn, EC2InstanceID: in.ec2InstanceID,
		Status: in.status, AgentConnected: in.connected,
		RegisteredAt: in.registeredAt, Version: in.version, VersionInfo: in.versionInfo,
		CapacityProvider: in.provider, ENILimit: int(in.eniLimit), ENIs: int(in.enis),
		RegisteredCPU: in.regCPU, RegisteredMemory: in.regMemory,
		RegisteredPorts: in.regPorts, RegisteredPortsUDP: in.regUDP,
		RegisteredGPUs: slices.Clone(in.gpuIDs),
		RemainingCPU:   in.cpu, RemainingMemory: in.memory,
		RemainingPorts: in.ports.clone(), RemainingPortsUDP: in.portsUDP.clone(),
		Attributes:        slices.Clone(in.attrs),
		RunningTasksCount: int(in.running), PendingTasksCount: int(in.pending),
	}
	for i, id := range in.gpuIDs {
		if in.gpuFree&(1<<i) != 0 {
			info.RemainingGPUs = append(info.RemainingGPUs, id)
		}
	}
	return info
}

// gpuIDsOf returns the ids of the GPU slots in m.
func (in *Instance) gpuIDsOf(m gpuMask) []string {
	var out []string
	for i, id := range in.gpuIDs {
		if m&(1<<i) != 0 {
			out = append(out, id)
		}
	}
	return out
}

func (in *Instance) addGroup(group string, delta int32) {
	for i := range in.groups {
		if in.groups[i].group == group {
			in.groups[i].n += delta
			if in.groups[i].n == 0 {
				in.groups = slices.Delete(in.groups, i, i+1)
			}
			return
		}
	}
	if delta > 0 {
		in.groups = append(in.groups, groupCount{group: group, n: delta})
	}
}

// Groups yields each task group with non-stopped tasks on the instance and
// how many it has, in no particular order.
func (in *Instance) Groups() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		for _, g := range in.groups {
			if !yield(g.group, int(g.n)) {
				return
			}
		}
	}
}
