package cluster

import (
	"fmt"
	"math/bits"
	"slices"
)

// Demand is what one task needs from the instance it runs on: CPU units,
// MiB of memory, static host ports by protocol, a number of GPUs, and the
// attributes the instance must have (ECS's requiresAttributes). Build it with
// [NewDemand]; a Demand is immutable afterwards and is shared by every task of
// the same task definition.
type Demand struct {
	cpu, memory        int64
	ports, portsUDP    PortSet
	gpus               int
	enis               int      // task ENIs (awsvpc), see WithENIs
	requiredAttributes []string // sorted
	// provider, if not empty, is the capacity provider whose instances
	// alone may take the task (see [Demand.WithCapacityProvider]).
	provider string
}

// MaxAmount bounds every CPU and memory amount the cluster accounts: an
// instance's registered CPU units and MiB, and a task's demand. [INF] ECS
// carries these amounts as 32-bit integers; the bound is wider (2^40, a
// thousand times the largest EC2 instance's memory in MiB) so that task
// definitions summing ten containers of the largest 32-bit amount still
// have a demand, and narrow enough that no sum the cluster makes (remaining
// resources, a decision's pending placements on one instance, which each
// passed the fit test) comes near overflowing an int64.
const MaxAmount = 1 << 40

// NewDemand returns the demand of a task. Negative CPU, memory or GPU
// counts, CPU or memory over [MaxAmount] and GPUs over [MaxGPUs] are an
// error.
func NewDemand(cpu, memory int64, ports, portsUDP []uint16, gpus int, requiredAttributes ...string) (*Demand, error) {
	if cpu < 0 || memory < 0 || gpus < 0 {
		return nil, fmt.Errorf("cluster: negative demand (cpu %d, memory %d, gpus %d)", cpu, memory, gpus)
	}
	if cpu > MaxAmount || memory > MaxAmount {
		return nil, fmt.Errorf("cluster: demand of cpu %d, memory %d exceeds %d", cpu, memory, int64(MaxAmount))
	}
	if gpus > MaxGPUs {
		return nil, fmt.Errorf("cluster: demand of %d GPUs exceeds the %d an instance can have", gpus, MaxGPUs)
	}
	attrs := slices.Clone(requiredAttributes)
	slices.Sort(attrs)
	return &Demand{
		cpu: cpu, memory: memory,
		ports: NewPortSet(ports...), portsUDP: NewPortSet(portsUDP...),
		gpus: gpus, requiredAttributes: slices.Compact(attrs),
	}, nil
}

// CPU returns the CPU units demanded.
func (d *Demand) CPU() int64 { return d.cpu }

// Memory returns the MiB of memory demanded.
func (d *Demand) Memory() int64 { return d.memory }

// Ports returns the static TCP host ports demanded.
func (d *Demand) Ports() PortSet { return d.ports }

// PortsUDP returns the static UDP host ports demanded.
func (d *Demand) PortsUDP() PortSet { return d.portsUDP }

// GPUs returns the number of GPUs demanded.
func (d *Demand) GPUs() int { return d.gpus }

// ENIs returns the elastic network interfaces the task attaches to its
// instance: 1 for a task in awsvpc network mode, else 0.
func (d *Demand) ENIs() int { return d.enis }

// MaxENIs bounds a demand's and an instance's ENIs.
const MaxENIs = 1 << 16

// WithENIs returns a copy of d that attaches n task ENIs to its instance
// (an awsvpc task: 1). An instance with an ENI limit takes it only while
// n more fit under the limit; else the fit test fails with [ReasonENI]. n
// is clamped to 0..[MaxENIs]. As with [Demand.WithCapacityProvider],
// callers should make one per demand and keep it.
func (d *Demand) WithENIs(n int) *Demand {
	out := *d
	out.enis = min(max(n, 0), MaxENIs)
	return &out
}

// RequiredAttributes returns the attribute names an instance must have, sorted.
func (d *Demand) RequiredAttributes() []string { return slices.Clone(d.requiredAttributes) }

// CapacityProvider returns the capacity provider whose instances alone may
// take the task, or "" for any instance.
func (d *Demand) CapacityProvider() string { return d.provider }

// WithCapacityProvider returns a copy of d that only instances of the
// capacity provider name can take ([InstanceSpec.CapacityProvider]); on
// any other instance the fit test fails with [ReasonCapacityProvider]. An
// empty name means any instance. The placement engine keeps its censuses
// per *Demand: callers should make one per provider and keep it.
func (d *Demand) WithCapacityProvider(name string) *Demand {
	out := *d
	out.provider = name
	return &out
}

// MaxGPUs is the most GPUs one container instance may register. GPUs are
// tracked as a bit mask, one bit per registered GPU id [INF].
const MaxGPUs = 64

// Reason says why a task cannot be placed on a container instance. The zero
// value, [ReasonNone], means it can. String returns ECS's failure reason
// ("RESOURCE:CPU", "AGENT", ...).
type Reason uint8

// The reasons, in the order the fit test checks them (see [CheckOrder]).
const (
	ReasonNone     Reason = iota // the task fits
	ReasonMissing                // "MISSING": no such container instance (StartTask)
	ReasonInactive               // "INACTIVE": the instance was deregistered (StartTask)
	ReasonDraining               // "DRAINING": the instance is draining and takes no new tasks [INF]
	// ReasonCapacityProvider: the task is placed through a capacity
	// provider and the instance belongs to another (or to none). As the
	// closest instance's reason, every ACTIVE instance belongs elsewhere:
	// "EMPTY CAPACITY PROVIDER", ECS's words for a provider with no
	// instance to take the task.
	ReasonCapacityProvider
	ReasonCPU       // "RESOURCE:CPU"
	ReasonMemory    // "RESOURCE:MEMORY"
	ReasonPorts     // "RESOURCE:PORTS": a TCP host port is taken, or the 100-port limit
	ReasonPortsUDP  // "RESOURCE:PORTS_UDP": a UDP host port is taken [INF]
	ReasonGPU       // "RESOURCE:GPU"
	ReasonENI       // "RESOURCE:ENI": no ENI attachment left for an awsvpc task
	ReasonAttribute // "ATTRIBUTE": a required attribute is missing
	ReasonAgent     // "AGENT": the agent is disconnected
	// ReasonDistinctInstance and ReasonMemberOf are placement-constraint
	// failures. They are checked after every resource check.
	ReasonDistinctInstance
	// ReasonMaxPerInstance: Stevedore's maxPerInstance constraint, at most
	// N tasks of the group on one instance [INF: the text is ours].
	ReasonMaxPerInstance
	ReasonMemberOf
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:             "",
	ReasonMissing:          "MISSING",
	ReasonInactive:         "INACTIVE",
	ReasonDraining:         "DRAINING",
	ReasonCapacityProvider: "EMPTY CAPACITY PROVIDER",
	ReasonCPU:              "RESOURCE:CPU",
	ReasonMemory:           "RESOURCE:MEMORY",
	ReasonPorts:            "RESOURCE:PORTS",
	ReasonPortsUDP:         "RESOURCE:PORTS_UDP",
	ReasonGPU:              "RESOURCE:GPU",
	ReasonENI:              "RESOURCE:ENI",
	ReasonAttribute:        "ATTRIBUTE",
	ReasonAgent:            "AGENT",
	ReasonDistinctInstance: "DistinctInstance placement constraint unsatisfied.",
	ReasonMaxPerInstance:   "MaxPerInstance placement constraint unsatisfied.",
	ReasonMemberOf:         "MemberOf placement constraint unsatisfied.",
}

// String returns the ECS failure reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// CheckOrder is the documented order of the fit test. ECS does not say which
// reason it reports when several checks fail [INF]; we report the first
// failing check in this order: the instance's status first (a deregistered or
// draining instance takes nothing), whether it belongs to the task's
// capacity provider, then CPU, MEMORY, PORTS, PORTS_UDP, GPU, ENI,
// ATTRIBUTE, AGENT, then placement constraints. The later a check an instance
// fails, the closer it is to fitting: RunTask's failures name the closest
// instance by this order.
var CheckOrder = [...]Reason{
	ReasonMissing, ReasonInactive, ReasonDraining, ReasonCapacityProvider,
	ReasonCPU, ReasonMemory, ReasonPorts, ReasonPortsUDP, ReasonGPU, ReasonENI,
	ReasonAttribute, ReasonAgent,
	ReasonDistinctInstance, ReasonMaxPerInstance, ReasonMemberOf,
}

// Closeness ranks a reason by how far down [CheckOrder] it is: an instance
// that fails a later check is closer to fitting. ReasonNone ranks highest.
func (r Reason) Closeness() int {
	if r == ReasonNone {
		return len(CheckOrder) + 1
	}
	return int(r)
}

// gpuMask is a set of GPU slots: bit i is the instance's i-th registered GPU.
type gpuMask uint64

func (m gpuMask) count() int { return bits.OnesCount64(uint64(m)) }

// take returns the lowest n slots of m.
func (m gpuMask) take(n int) gpuMask {
	var out gpuMask
	for ; n > 0 && m != 0; n-- {
		low := m & -m
		out |= low
		m &^= low
	}
	return out
}
