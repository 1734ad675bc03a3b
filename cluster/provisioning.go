package cluster

import (
	"fmt"
	"iter"
	"slices"
	"strings"
)

// PROVISIONING tasks: a task started through a capacity provider with
// managed scaling that fits no instance yet waits, holding nothing, until
// the provider's Auto Scaling group adds an instance it fits on, or until it
// is stopped. Such a task has no instance ([Task.Instance] is nil).

// Provision starts up to n tasks of spec in PROVISIONING (desired status
// RUNNING), without an instance, and returns their infos in order. At most
// limit tasks of the cluster are PROVISIONING at once: Provision starts
// min(n, limit − already PROVISIONING) tasks, so that two callers cannot
// both pass a quota checked outside the write lock.
func (c *Cluster) Provision(spec *TaskSpec, n, limit int) ([]TaskInfo, error) {
	if spec == nil || spec.Demand == nil {
		return nil, fmt.Errorf("%w: no task spec or demand", ErrInvalidSpec)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(n, limit-c.provisioning)
	if n <= 0 {
		return []TaskInfo{}, nil
	}
	now := c.clock.Now()
	infos := make([]TaskInfo, n)
	for i := range infos {
		var b strings.Builder
		c.taskARNBuilder(&b)
		t := &Task{spec: spec, instPos: -1, last: TaskProvisioning, desired: TaskRunning, version: 1, createdAt: now}
		t.setARN(c.nextTaskARN(&b))
		c.tasks.put(t.seq, t)
		c.provisioning++
		c.provisioningList = append(c.provisioningList, t)
		infos[i] = c.taskInfo(t)
	}
	c.version++
	return infos, nil
}

// PlaceProvisioning places the PROVISIONING task taskID as p proposes (its
// Spec is ignored: the task keeps its own): the task becomes PENDING on the
// instance and holds its demand there. It is re-checked as [Cluster.Apply]
// re-checks a placement; a task no longer PROVISIONING, or an instance it
// no longer fits, is a [*ConflictError] and changes nothing.
func (c *Cluster) PlaceProvisioning(taskID string, p Placement) (TaskInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.task(taskID)
	if !ok || t.last != TaskProvisioning {
		c.stats.Conflicts++
		return TaskInfo{}, &ConflictError{TaskID: taskID, Reason: ReasonMissing}
	}
	in, r := c.recheck(p, t.spec)
	if r != ReasonNone {
		c.stats.Conflicts++
		return TaskInfo{}, &ConflictError{TaskID: taskID, InstanceID: p.InstanceID, Reason: r}
	}
	now := c.clock.Now()
	c.provisioning--
	c.compactProvisioning()
	c.attach(t, in)
	t.last = TaskPending
	t.version++
	c.stats.Commits++
	c.stats.TasksStarted++
	c.flushAt(InstanceUpdated, now)
	return c.taskInfo(t), nil
}

// attach puts a task on in, which must fit it: it takes the task's demand
// there and counts it PENDING.
func (c *Cluster) attach(t *Task, in *Instance) {
	d := t.spec.Demand
	t.inst, t.instPos = in, int32(len(in.tasks))
	t.az, _ = in.Attribute(AttributeAvailabilityZone)
	t.gpus = in.gpuFree.take(d.gpus)
	in.gpuFree &^= t.gpus
	in.cpu -= d.cpu
	in.memory -= d.memory
	in.enis += int32(d.enis)
	in.ports.add(d.ports)
	in.portsUDP.add(d.portsUDP)
	in.tasks = append(in.tasks, t)
	in.pending++
	in.addGroup(t.spec.Group, 1)
	c.pending++
	c.touch(in)
}

// Provisioning returns the PROVISIONING tasks, oldest first. Cost: the
// PROVISIONING tasks and those that left that state since the last call
// that compacted the list.
func (v *View) Provisioning() iter.Seq[*Task] {
	return func(yield func(*Task) bool) {
		for _, t := range v.c.provisioningList {
			if t.last == TaskProvisioning && !yield(t) {
				return
			}
		}
	}
}

// ProvisioningCount returns how many tasks are PROVISIONING.
func (v *View) ProvisioningCount() int { return v.c.provisioning }

// compactProvisioning drops the tasks that left PROVISIONING from the list,
// once they are at least half of it. Call it under the write lock.
func (c *Cluster) compactProvisioning() {
	if len(c.provisioningList) >= 2*c.provisioning+8 {
		c.provisioningList = slices.DeleteFunc(c.provisioningList, func(t *Task) bool { return t.last != TaskProvisioning })
	}
}
