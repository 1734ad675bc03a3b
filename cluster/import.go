package cluster

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ImportInstance is a container instance as a real cluster describes it,
// with its identity: [Cluster.Import] keeps its ARN, id, EC2 instance id,
// registration time, status and agent state instead of making new ones.
type ImportInstance struct {
	// ARN is the container instance ARN, in either of ECS's formats
	// (".../container-instance/<id>" or
	// ".../container-instance/<cluster>/<id>"); its last part is the id.
	ARN           string
	EC2InstanceID string
	Status        InstanceStatus
	// AgentDisconnected is true where the instance's agentConnected is
	// false.
	AgentDisconnected bool
	RegisteredAt      time.Time
	// Version is the instance's described version; 0 means 1.
	Version int64
	// Spec is what the instance registered with: registered CPU, memory,
	// reserved ports, GPUs, attributes, agent version. Its EC2InstanceID
	// is ignored (the field above is used).
	Spec InstanceSpec
}

// ImportTask is a task as a real cluster describes it. Its resources are
// taken from its instance as [Cluster.Import] places it there.
type ImportTask struct {
	// ARN is the task ARN in either of ECS's formats (".../task/<id>" or
	// ".../task/<cluster>/<id>"); its last part is the id.
	ARN string
	// Spec gives its task definition, demand, group and startedBy.
	Spec *TaskSpec
	// InstanceARN is the ARN (or id) of its instance, one of the imported
	// instances.
	InstanceARN string
	// LastStatus and DesiredStatus as described. A task whose
	// LastStatus is STOPPED holds nothing.
	LastStatus, DesiredStatus TaskStatus
	// GPUIDs are the ids of the instance's GPUs the task holds; they must
	// number Spec.Demand's GPUs.
	GPUIDs []string
	// Version is the task's version; 0 means 1.
	Version                                     int64
	CreatedAt, StartedAt, StoppingAt, StoppedAt time.Time
	StoppedReason                               string
	StopCode                                    StopCode
}

// ImportSkip is a described task that [Cluster.Import] left out, and why.
type ImportSkip struct {
	ARN string
	// Reason is the check it failed on its instance, in the order it was
	// placed there (oldest createdAt first): RESOURCE:CPU, RESOURCE:MEMORY,
	// RESOURCE:PORTS, RESOURCE:GPU, or ReasonMissing when the instance is
	// not among the imported ones or is INACTIVE.
	Reason Reason
}

// Import fills an empty cluster with described instances and tasks,
// keeping their identity, and returns the tasks it had to leave out.
// Non-stopped tasks are placed on their instances oldest first, each
// checked as a commit checks it; [INF] one that does not fit (what ECS
// described cannot all be held as Stevedore accounts demand) or whose
// instance is missing or INACTIVE is left out and reported, so that
// accounting stays exact and nothing is overcommitted. STOPPED tasks are
// retained as STOPPED tasks are.
//
// Errors, which change nothing: the cluster already has instances or
// tasks; an instance spec that is invalid ([InstanceSpec.Validate]); an
// ARN that is empty, whose id is empty, or that is given twice; a task
// without a spec or demand, or whose GPU ids are not its instance's or do
// not number its demand's GPUs.
//
// Imported tasks are found by id and ARN like tasks the cluster numbered
// itself; a lookup of a native id costs what it did before.
func (c *Cluster) Import(instances []ImportInstance, tasks []ImportTask) ([]ImportSkip, error) {
	type prepared struct {
		in  *Instance
		arn string
	}
	ins := make([]*Instance, len(instances))
	byID := make(map[string]*Instance, len(instances))
	for i, ii := range instances {
		in, err := importedInstance(ii)
		if err != nil {
			return nil, fmt.Errorf("container instance %d (%s): %w", i, ii.ARN, err)
		}
		id := in.id
		if _, dup := byID[id]; dup {
			return nil, fmt.Errorf("%w: container instance %s is given twice", ErrInvalidSpec, id)
		}
		ins[i], byID[id] = in, in
	}
	find := func(ref string) *Instance {
		in := byID[lastPart(ref)]
		if in != nil && strings.Contains(ref, "/") && ref != in.arn {
			return nil
		}
		return in
	}

	// Tasks are checked and built aside; nothing of the cluster is
	// written until all of them are.
	order := make([]int, len(tasks))
	seen := make(map[string]bool, len(tasks))
	for i, it := range tasks {
		order[i] = i
		if err := checkImportTask(&it); err != nil {
			return nil, fmt.Errorf("task %d: %w", i, err)
		}
		id := lastPart(it.ARN)
		if seen[id] {
			return nil, fmt.Errorf("%w: task %s is given twice", ErrInvalidSpec, id)
		}
		seen[id] = true
	}
	// Oldest first; STOPPED ones in the order they stopped, after.
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := &tasks[a], &tasks[b]
		sa, sb := ta.LastStatus == TaskStopped, tb.LastStatus == TaskStopped
		switch {
		case sa != sb:
			if sa {
				return 1
			}
			return -1
		case sa:
			return ta.StoppedAt.Compare(tb.StoppedAt)
		}
		return ta.CreatedAt.Compare(tb.CreatedAt)
	})
	records := make([]Task, len(tasks))
	kept := make([]*Task, 0, len(tasks))
	var skipped []ImportSkip
	for _, i := range order {
		it := &tasks[i]
		in := find(it.InstanceARN)
		t := &records[i]
		*t = importedTask(it, in)
		if in == nil {
			skipped = append(skipped, ImportSkip{ARN: it.ARN, Reason: ReasonMissing})
			continue
		}
		mask, err := importedGPUs(it, in)
		if err != nil {
			return nil, err
		}
		if t.last == TaskStopped {
			kept = append(kept, t)
			continue
		}
		if in.status == InstanceInactive {
			skipped = append(skipped, ImportSkip{ARN: it.ARN, Reason: ReasonMissing})
			continue
		}
		d := it.Spec.Demand
		if r := in.fitsHeld(d, mask); r != ReasonNone {
			skipped = append(skipped, ImportSkip{ARN: it.ARN, Reason: r})
			continue
		}
		in.hold(t, mask)
		kept = append(kept, t)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.instances) > 0 || c.taskCount > 0 {
		return nil, fmt.Errorf("%w: only an empty cluster can import; %s has %d instances and %d tasks", ErrInvalidSpec, c.name, len(c.instances), c.taskCount)
	}
	for i, in := range ins {
		in.slot = int32(i)
		c.instances = append(c.instances, in)
		c.byID[in.id] = in
		if in.status != InstanceInactive {
			c.registered++
		}
	}
	if len(kept) > 0 {
		c.foreign = make(map[string]uint64, len(kept))
	}
	for _, t := range kept {
		c.taskCount++
		t.seq = c.taskCount
		c.tasks.put(t.seq, t)
		c.foreign[t.id] = t.seq
		switch t.last {
		case TaskStopped:
			c.stopped = append(c.stopped, t)
		case TaskRunning:
			c.running++
		default:
			c.pending++
		}
	}
	for _, in := range ins {
		c.touch(in)
	}
	c.flush(InstanceRegistered)
	return skipped, nil
}

// fitsHeld is [Instance.Fits] for a task that already holds the GPUs mask
// names rather than any free ones.
func (in *Instance) fitsHeld(d *Demand, mask gpuMask) Reason {
	switch {
	case d.cpu > in.cpu:
		return ReasonCPU
	case d.memory > in.memory:
		return ReasonMemory
	case in.ports.Intersects(d.ports):
		return ReasonPorts
	case in.portsUDP.Intersects(d.portsUDP):
		return ReasonPortsUDP
	case mask&^in.gpuFree != 0:
		return ReasonGPU
	case d.enis > 0 && in.eniLimit > 0 && int(in.enis)+d.enis > int(in.eniLimit):
		return ReasonENI
	}
	return ReasonNone
}

// importedInstance validates ii and builds its record, slot unset.
func importedInstance(ii ImportInstance) (*Instance, error) {
	if err := ii.Spec.Validate(); err != nil {
		return nil, err
	}
	id := lastPart(ii.ARN)
	if id == "" || !strings.HasPrefix(ii.ARN, "arn:") {
		return nil, fmt.Errorf("%w: ARN %q is not a container instance ARN", ErrInvalidSpec, ii.ARN)
	}
	if ii.Status > InstanceInactive {
		return nil, fmt.Errorf("%w: container instance %s: status %d is not a status", ErrInvalidSpec, id, ii.Status)
	}
	ports := ii.Spec.Ports
	if ports == nil {
		ports = defaultReservedPorts[:]
	}
	reg, regUDP := NewPortSet(ports...), NewPortSet(ii.Spec.PortsUDP...)
	in := &Instance{
		id: id, arn: ii.ARN, ec2InstanceID: ii.EC2InstanceID,
		status: ii.Status, connected: !ii.AgentDisconnected && ii.Status != InstanceInactive,
		registeredAt: ii.RegisteredAt, versionInfo: ii.Spec.Version,
		regCPU: ii.Spec.CPU, regMemory: ii.Spec.Memory, regPorts: reg, regUDP: regUDP,
		gpuIDs: slices.Clone(ii.Spec.GPUs),
		cpu:    ii.Spec.CPU, memory: ii.Spec.Memory, ports: reg.clone(), portsUDP: regUDP.clone(),
		gpuFree:  gpuMask(uint64(1)<<len(ii.Spec.GPUs) - 1),
		attrs:    sortedAttributes(ii.Spec.Attributes),
		provider: ii.Spec.CapacityProvider,
		eniLimit: int32(min(max(ii.Spec.ENIs, 0), MaxENIs)),
	}
	if len(ii.Spec.GPUs) == MaxGPUs {
		in.gpuFree = ^gpuMask(0)
	}
	in.version = max(ii.Version-1, 0) // the import's touch counts one
	return in, nil
}

// checkImportTask checks what a described task must have: a task ARN, a
// spec with a demand, statuses in range.
func checkImportTask(it *ImportTask) error {
	id := lastPart(it.ARN)
	if id == "" || !strings.HasPrefix(it.ARN, "arn:") {
		return fmt.Errorf("%w: ARN %q is not a task ARN", ErrInvalidSpec, it.ARN)
	}
	if it.Spec == nil || it.Spec.Demand == nil {
		return fmt.Errorf("%w: task %s has no task spec or demand", ErrInvalidSpec, id)
	}
	if it.LastStatus > TaskStopped || it.DesiredStatus > TaskStopped {
		return fmt.Errorf("%w: task %s: a status out of range", ErrInvalidSpec, id)
	}
	return nil
}

// importedTask is the record of a described task on in (nil when its
// instance is unknown), holding nothing yet.
func importedTask(it *ImportTask, in *Instance) Task {
	t := Task{
		arn: it.ARN, id: lastPart(it.ARN), spec: it.Spec, inst: in, instPos: -1,
		last: it.LastStatus, desired: it.DesiredStatus, version: cmp.Or(it.Version, 1),
		createdAt: it.CreatedAt, startedAt: it.StartedAt, stoppingAt: it.StoppingAt, stoppedAt: it.StoppedAt,
		stoppedReason: it.StoppedReason, stopCode: it.StopCode,
	}
	if in != nil {
		t.az, _ = in.Attribute(AttributeAvailabilityZone)
	}
	return t
}

// importedGPUs returns the mask of the GPUs of in that it names, which must
// be in's and number its demand's GPUs (unless it is STOPPED).
func importedGPUs(it *ImportTask, in *Instance) (gpuMask, error) {
	id := lastPart(it.ARN)
	var mask gpuMask
	for _, g := range it.GPUIDs {
		k := slices.Index(in.gpuIDs, g)
		if k < 0 {
			return 0, fmt.Errorf("%w: task %s holds GPU %q, which its instance %s does not have", ErrInvalidSpec, id, g, in.id)
		}
		mask |= gpuMask(1) << k
	}
	if mask.count() != len(it.GPUIDs) || (len(it.GPUIDs) != it.Spec.Demand.gpus && it.LastStatus != TaskStopped) {
		return 0, fmt.Errorf("%w: task %s: GPU ids %v do not number the %d GPUs it demands", ErrInvalidSpec, id, it.GPUIDs, it.Spec.Demand.gpus)
	}
	return mask, nil
}

// hold takes the resources of t, a PENDING or RUNNING task that fits
// (fitsHeld), from in and lists it there.
func (in *Instance) hold(t *Task, mask gpuMask) {
	d := t.spec.Demand
	t.gpus = mask
	in.gpuFree &^= mask
	in.cpu -= d.cpu
	in.memory -= d.memory
	in.enis += int32(d.enis)
	in.ports.add(d.ports)
	in.portsUDP.add(d.portsUDP)
	t.instPos = int32(len(in.tasks))
	in.tasks = append(in.tasks, t)
	if t.last == TaskRunning {
		in.running++
	} else {
		in.pending++
	}
	in.addGroup(t.spec.Group, 1)
}
