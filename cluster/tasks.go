package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Placement proposes one task of Spec on the instance InstanceID.
type Placement struct {
	InstanceID string
	Spec       *TaskSpec
	// Instance, if not nil, is the record of the instance InstanceID as
	// the scheduler read it: a hint that spares the commit a lookup. It is
	// used only when it is this cluster's record of InstanceID; otherwise
	// InstanceID is looked up as usual.
	Instance *Instance
}

// Stop proposes stopping a task: its stoppedReason and stopCode.
type Stop struct {
	TaskID string
	Reason string
	Code   StopCode
}

// Proposal is what a scheduler decided in one round: tasks to stop, then
// tasks to start. The placements may use the room the stops free.
type Proposal struct {
	Stops      []Stop
	Placements []Placement
	// Attempt is which decision of its scheduling round the proposal is:
	// 0 or 1 for the first, 2 and up for one decided again after its
	// predecessors conflicted. The cluster counts the later ones in
	// [Stats].Retries.
	Attempt int
}

// Applied is what a committed [Proposal] did.
type Applied struct {
	Stopped []TaskInfo
	Started []TaskInfo
}

// Commit applies placements all or nothing; it is Apply with no stops.
func (c *Cluster) Commit(placements []Placement) ([]TaskInfo, error) {
	a, err := c.Apply(Proposal{Placements: placements})
	return a.Started, err
}

// Apply applies a proposal all or nothing. The stops go first: each task
// must still be PENDING or RUNNING, else the proposal conflicts (its
// decision was made on a state that moved). Then each placement is
// re-checked, in order, against the current state with everything before
// it applied: the instance must still exist and be ACTIVE, the task must
// still fit ([Instance.Fits]) and the spec's Guard, if any, must still
// hold. On the first failure everything already applied is undone and a
// [*ConflictError] is returned; otherwise the stopped tasks and the new
// tasks (PENDING, desired status RUNNING) are returned in proposal order.
// Observers hear of each touched instance once, after the whole proposal
// applied.
func (c *Cluster) Apply(proposal Proposal) (Applied, error) {
	var out Applied
	if err := c.ApplyTo(proposal, &out); err != nil {
		return Applied{}, err
	}
	return out, nil
}

// ApplyTo is [Cluster.Apply] writing the infos into out, whose slices'
// memory it reuses — their old contents are overwritten — so that a caller
// that keeps out between commits allocates no slices for them (a GPU
// task's GPUIDs are still its own). On an error both slices are left
// empty.
func (c *Cluster) ApplyTo(proposal Proposal, out *Applied) error {
	return c.applyTo(proposal, out, nil)
}

// applyTo is ApplyTo, with ApplyWith's commit when it is not nil.
func (c *Cluster) applyTo(proposal Proposal, out *Applied, commit func(*Applied) error) error {
	out.Stopped, out.Started = out.Stopped[:0], out.Started[:0]
	for i, p := range proposal.Placements {
		if p.Spec == nil || p.Spec.Demand == nil {
			return fmt.Errorf("%w: placement %d has no task spec or demand", ErrInvalidSpec, i)
		}
	}
	// Task records, the memory of their ARNs and the answer's slices are
	// made before the write lock is taken, so the serial part of a commit
	// stays short.
	records := make([]Task, len(proposal.Placements))
	var arnBuf [4]strings.Builder
	arns := arnBuf[:]
	if len(records) > len(arnBuf) {
		arns = make([]strings.Builder, len(records))
	}
	for i := range records {
		c.taskARNBuilder(&arns[i])
	}
	stopped := slices.Grow(out.Stopped, len(proposal.Stops))[:len(proposal.Stops)]
	started := slices.Grow(out.Started, len(records))[:len(records)]
	if stopped == nil { // empty, not nil, as Apply has always answered
		stopped = []TaskInfo{}
	}
	if started == nil {
		started = []TaskInfo{}
	}
	if err := c.apply(proposal, records, arns, stopped, started, commit); err != nil {
		return err
	}
	// The started tasks' infos are their state at the commit, made from
	// what never changes once a task is placed: no lock needed.
	for i := range records {
		started[i] = c.placedInfo(&records[i])
	}
	out.Stopped, out.Started = stopped, started
	return nil
}

// apply is Apply under the write lock: it fills stopped with the infos of
// the tasks stopped. records[i] and arns[i] become the i-th task started.
// When commit is not nil, it is called with the infos (started filled in
// too) once everything applied, and an error from it undoes the proposal.
func (c *Cluster) apply(proposal Proposal, records []Task, arns []strings.Builder, stopped, started []TaskInfo, commit func(*Applied) error) error {
	var undoBuf [4]stopUndo
	var appliedBuf [4]*Task
	undo, applied := undoBuf[:0], appliedBuf[:0]
	c.mu.Lock()
	defer c.mu.Unlock()
	if proposal.Attempt > 1 {
		c.stats.Retries++
	}
	now := c.clock.Now()
	rollback := func() {
		for j := len(applied) - 1; j >= 0; j-- {
			c.unplace(applied[j])
		}
		for j := len(undo) - 1; j >= 0; j-- {
			c.unstop(undo[j])
		}
		c.forget()
	}
	for i, st := range proposal.Stops {
		t, ok := c.task(st.TaskID)
		if !ok || t.last == TaskStopped {
			rollback()
			c.stats.Conflicts++
			return &ConflictError{Index: i, TaskID: st.TaskID, Reason: ReasonMissing}
		}
		if t.inst == nil { // PROVISIONING: a scheduler stops only placed tasks
			rollback()
			c.stats.Conflicts++
			return &ConflictError{Index: i, TaskID: st.TaskID, Reason: ReasonMissing}
		}
		undo = append(undo, stopUndo{t: t, last: t.last, desired: t.desired, version: t.version, instVersion: t.inst.version})
		c.stop(t, st.Reason, st.Code, now)
	}
	for i, p := range proposal.Placements {
		in, r := c.recheck(p, p.Spec)
		if r != ReasonNone {
			rollback()
			c.stats.Conflicts++
			return &ConflictError{Index: i, InstanceID: p.InstanceID, Reason: r}
		}
		applied = append(applied, c.place(in, p.Spec, now, &records[i], &arns[i]))
	}
	if commit != nil {
		for i, u := range undo {
			stopped[i] = c.taskInfo(u.t)
		}
		for i := range records {
			started[i] = c.placedInfo(&records[i])
		}
		if err := commit(&Applied{Stopped: stopped, Started: started}); err != nil {
			// The ids drawn are never drawn again, and are remembered: a
			// commit whose fate is unknown may have kept them, and its
			// store may yet bring them back (PutTask).
			if !errors.Is(err, ErrNotCommitted) {
				if c.undone == nil {
					c.undone = map[string]struct{}{}
				}
				for _, t := range applied {
					c.undone[t.id] = struct{}{}
				}
			}
			rollback()
			c.taskCount += uint64(len(applied))
			return err
		}
	}
	c.stats.Commits++
	c.stats.TasksStarted += int64(len(applied))
	c.flushAt(InstanceUpdated, now)
	for i, u := range undo {
		stopped[i] = c.taskInfo(u.t)
	}
	return nil
}

// recheck re-checks at commit time that a task of spec may go where p
// proposes: the instance exists, the task fits it and the spec's Guard
// holds. It returns the instance and the first failing check.
func (c *Cluster) recheck(p Placement, spec *TaskSpec) (*Instance, Reason) {
	in, ok := c.placementInstance(p)
	if !ok {
		return nil, ReasonMissing
	}
	r := in.Fits(spec.Demand, nil)
	if r == ReasonNone && spec.Guard != nil {
		r = spec.Guard.Check(in, spec)
	}
	return in, r
}

// placementInstance returns the instance p names: its Instance hint when
// that is this cluster's record of p.InstanceID, else the lookup of
// p.InstanceID.
func (c *Cluster) placementInstance(p Placement) (*Instance, bool) {
	if in := p.Instance; in != nil && int(in.slot) < len(c.instances) && c.instances[in.slot] == in && in.id == p.InstanceID {
		return in, true
	}
	return c.instance(p.InstanceID)
}

// stopUndo is what unstop needs to take a stop of the same proposal back.
type stopUndo struct {
	t                    *Task
	last, desired        TaskStatus
	version, instVersion int64
}

// unstop undoes stop within the same proposal: the task gets its resources
// back (they are free: nothing else ran since) and its former state.
func (c *Cluster) unstop(u stopUndo) {
	t, in := u.t, u.t.inst
	c.stopped = c.stopped[:len(c.stopped)-1]
	c.stats.TasksStopped--
	t.last, t.desired, t.version = u.last, u.desired, u.version
	t.stoppingAt, t.stoppedAt = time.Time{}, time.Time{}
	t.stoppedReason, t.stopCode = "", ""
	in.hold(t, t.gpus) // a stopped task was PENDING or RUNNING, on its instance
	if t.last == TaskRunning {
		c.running++
	} else {
		c.pending++
	}
	in.version = u.instVersion
}

// place starts a PENDING task of spec on in, which must fit it, in the
// record t, numbering it and completing its ARN in arn (see nextTaskARN).
func (c *Cluster) place(in *Instance, spec *TaskSpec, now time.Time, t *Task, arn *strings.Builder) *Task {
	*t = Task{spec: spec, last: TaskPending, desired: TaskRunning, version: 1, createdAt: now}
	t.setARN(c.nextTaskARN(arn))
	c.attach(t, in)
	c.tasks.put(t.seq, t)
	return t
}

// release returns a task's resources to its instance and takes it off the
// instance's task list.
func (c *Cluster) release(t *Task) {
	in, d := t.inst, t.spec.Demand
	if in == nil { // PROVISIONING: holds nothing
		c.provisioning--
		c.compactProvisioning()
		c.version++
		return
	}
	in.gpuFree |= t.gpus
	in.cpu += d.cpu
	in.memory += d.memory
	in.enis -= int32(d.enis)
	in.ports.remove(d.ports)
	in.portsUDP.remove(d.portsUDP)
	last := in.tasks[len(in.tasks)-1]
	in.tasks[t.instPos] = last
	last.instPos = t.instPos
	in.tasks[len(in.tasks)-1] = nil
	in.tasks = in.tasks[:len(in.tasks)-1]
	t.instPos = -1
	switch t.last {
	case TaskPending:
		in.pending--
		c.pending--
	case TaskRunning:
		in.running--
		c.running--
	}
	in.addGroup(t.spec.Group, -1)
	c.touch(in)
}

// unplace undoes place within the same commit, giving its number back:
// the last placed is undone first.
func (c *Cluster) unplace(t *Task) {
	c.release(t)
	c.taskCount--
	c.tasks.remove(t.seq, c.taskCount)
	t.inst.version -= 2 // place and release each counted one change
}

// stop moves a non-stopped task to STOPPED and releases its resources.
func (c *Cluster) stop(t *Task, reason string, code StopCode, now time.Time) {
	c.release(t)
	t.last, t.desired = TaskStopped, TaskStopped
	t.stoppingAt, t.stoppedAt = now, now
	t.stoppedReason, t.stopCode = reason, code
	t.protectedUntil = time.Time{} // a stopped task has no protection
	t.version++
	c.stopped = append(c.stopped, t)
	c.stats.TasksStopped++
}

// StopTask stops a task: desired and last status become STOPPED at once
// (the model's agent stops containers instantly [INF]) and its CPU, memory,
// ports and GPUs are released. reason becomes stoppedReason; code the
// stopCode. Stopping a STOPPED task returns it unchanged.
func (c *Cluster) StopTask(ref, reason string, code StopCode) (TaskInfo, error) {
	t, err := c.stopTask(c.parseTaskRef(ref), reason, code)
	if err != nil {
		return TaskInfo{}, err
	}
	// A STOPPED task never changes again (nothing writes to a STOPPED
	// task's record), so its info is copied after the lock is released.
	return c.taskInfo(t), nil
}

// stopTask is StopTask under the write lock.
func (c *Cluster) stopTask(r taskRef, reason string, code StopCode) (*Task, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	t, ok := c.findTask(r, now)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrTaskNotFound, r.ref)
	}
	if t.last != TaskStopped {
		c.stop(t, reason, code, now)
		c.flushAt(InstanceUpdated, now)
	}
	return t, nil
}

// TaskStarted records the agent reporting a PENDING task RUNNING.
func (c *Cluster) TaskStarted(ref string) (TaskInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.task(ref)
	if !ok {
		return TaskInfo{}, fmt.Errorf("%w: %s", ErrTaskNotFound, ref)
	}
	if t.last != TaskPending {
		return TaskInfo{}, fmt.Errorf("%w: task %s is %s, not PENDING", ErrInvalidTransition, t.id, t.last)
	}
	now := c.clock.Now()
	t.last = TaskRunning
	t.startedAt = now
	t.version++
	t.inst.pending--
	t.inst.running++
	c.pending--
	c.running++
	c.touch(t.inst)
	c.flush(InstanceUpdated)
	return c.taskInfo(t), nil
}

// TaskExited records the agent reporting that an essential container of the
// task exited: the task stops. A task that exits before RUNNING failed to
// start (stopCode TaskFailedToStart); after, it is EssentialContainerExited.
// reason becomes stoppedReason; empty means "Essential container in task
// exited".
func (c *Cluster) TaskExited(ref, reason string) (TaskInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.task(ref)
	if !ok {
		return TaskInfo{}, fmt.Errorf("%w: %s", ErrTaskNotFound, ref)
	}
	if t.last == TaskStopped {
		return TaskInfo{}, fmt.Errorf("%w: task %s is already STOPPED", ErrInvalidTransition, t.id)
	}
	if reason == "" {
		reason = ReasonEssentialContainerExited
	}
	code := StopEssentialContainerExited
	if t.last == TaskPending || t.last == TaskProvisioning {
		code = StopTaskFailedToStart
	}
	now := c.clock.Now()
	c.stop(t, reason, code, now)
	c.flush(InstanceUpdated)
	return c.taskInfo(t), nil
}

// ErrTaskNotProtectable is returned by [Cluster.SetTaskProtection] for a
// task that cannot be protected: a STOPPED task, or one no service started.
var ErrTaskNotProtectable = errors.New("cluster: the task cannot be protected")

// SetTaskProtection sets the scale-in protection of the tasks refs (ids or
// ARNs): until is when it expires, the zero time to remove it. Only a
// service's tasks that are not STOPPED can be protected. Each ref is
// its own item, as in ECS's UpdateTaskProtection: errs[i] is
// [ErrTaskNotFound] or [ErrTaskNotProtectable] for a ref that failed, and
// infos[i] is the task's state after the call for one that did not. A
// changed protection is a change of the task's instance: the cluster
// version grows, so schedulers that skipped a protected task look again.
func (c *Cluster) SetTaskProtection(refs []string, until time.Time) (infos []TaskInfo, errs []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos, errs = make([]TaskInfo, len(refs)), make([]error, len(refs))
	for i, ref := range refs {
		t, ok := c.task(ref)
		switch {
		case !ok:
			errs[i] = fmt.Errorf("%w: %s", ErrTaskNotFound, ref)
		case t.desired == TaskStopped || !strings.HasPrefix(t.spec.Group, "service:"):
			errs[i] = fmt.Errorf("%w: task %s is %s in group %q", ErrTaskNotProtectable, t.id, t.last, t.spec.Group)
		default:
			if !t.protectedUntil.Equal(until) && t.inst != nil {
				t.protectedUntil = until
				c.touch(t.inst)
			}
			infos[i] = c.taskInfo(t)
		}
	}
	c.flush(InstanceUpdated)
	return infos, errs
}

// InstanceTaskIDs returns the ids of the non-stopped tasks on an instance,
// sorted.
func (v *View) InstanceTaskIDs(in *Instance) []string {
	ids := make([]string, len(in.tasks))
	for i, t := range in.tasks {
		ids[i] = t.id
	}
	slices.Sort(ids)
	return ids
}
