package cluster

import (
	"fmt"
	"strings"

	"github.com/stevedore-go/stevedore/internal/mix"
)

// This file is for state stores that keep a cluster elsewhere (etcd, say)
// and mirror it in a Cluster: [Cluster.PutInstance] and [Cluster.PutTask]
// make the mirror's records match described ones, one at a time, and
// [Cluster.ApplyWith] lets the store commit a proposal to its own storage
// before the mirror keeps it.

// PutInstance makes the cluster's record of the instance ii describes
// match it, keeping its identity (ARN, id, EC2 instance id, registration
// time): an instance the cluster does not have is added, as
// [Cluster.Import] adds one; for one it has, the status and agent
// connection follow ii. A registration is otherwise immutable: ii's spec
// is not compared. It reports whether anything changed.
//
// Errors, which change nothing: an invalid spec or ARN
// ([ErrInvalidSpec]); an ARN whose id the cluster has under another ARN
// ([ErrInvalidSpec]); a change from INACTIVE ([ErrInvalidTransition]); a
// change to INACTIVE while tasks that are not STOPPED remain on the
// instance ([ErrInstanceHasTasks]): a store stops them first.
func (c *Cluster) PutInstance(ii ImportInstance) (changed bool, err error) {
	in, err := importedInstance(ii)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.byID[in.id]
	if !ok {
		in.slot = int32(len(c.instances))
		c.instances = append(c.instances, in)
		c.byID[in.id] = in
		if in.status != InstanceInactive {
			c.registered++
		}
		c.touch(in)
		c.flush(InstanceRegistered)
		return true, nil
	}
	switch {
	case old.arn != ii.ARN:
		return false, fmt.Errorf("%w: container instance %s is %s here, not %s", ErrInvalidSpec, in.id, old.arn, ii.ARN)
	case old.status == in.status && old.connected == in.connected:
		return false, nil
	case old.status == InstanceInactive && in.status != InstanceInactive:
		return false, fmt.Errorf("%w: container instance %s is INACTIVE", ErrInvalidTransition, in.id)
	case in.status == InstanceInactive && len(old.tasks) > 0:
		return false, fmt.Errorf("%w: container instance %s has %d tasks", ErrInstanceHasTasks, in.id, len(old.tasks))
	}
	if old.status != in.status {
		c.setStatus(old, in.status)
	}
	old.connected = in.connected
	c.touch(old)
	c.flush(InstanceUpdated)
	return true, nil
}

// PutTask makes the cluster's record of the task it describes match it,
// keeping its identity and times. A task the cluster does not have is
// added on its instance as [Cluster.Import] adds one (a STOPPED one holds
// nothing and is retained as STOPPED tasks are); for one it has, the
// transitions PENDING to RUNNING and to STOPPED follow it, with its
// times, stoppedReason and stopCode. It reports whether anything changed.
//
// Errors, which change nothing: a task without an ARN, spec or demand, or
// GPU ids that are not its instance's ([ErrInvalidSpec]); a new task that
// is not STOPPED whose instance is missing or INACTIVE, or that does not
// fit it, a [*ConflictError] with the instance and the reason; a transition the model has
// not (from STOPPED, or back to PENDING: [ErrInvalidTransition]).
func (c *Cluster) PutTask(it ImportTask) (changed bool, err error) {
	if err := checkImportTask(&it); err != nil {
		return false, err
	}
	id := lastPart(it.ARN)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	r := c.parseTaskRef(it.ARN)
	if old, ok := c.findTask(r, now); ok {
		return c.moveTask(old, &it)
	}
	if c.gone(r) { // STOPPED and past its retention
		if it.LastStatus == TaskStopped {
			return false, nil
		}
		return false, fmt.Errorf("%w: task %s is STOPPED, not to become %s", ErrInvalidTransition, id, it.LastStatus)
	}
	in, ok := c.instance(it.InstanceARN)
	if !ok || (strings.Contains(it.InstanceARN, "/") && in.arn != it.InstanceARN) {
		if it.LastStatus != TaskStopped {
			return false, &ConflictError{InstanceID: lastPart(it.InstanceARN), Reason: ReasonMissing}
		}
		in = nil
	}
	t := importedTask(&it, in)
	var mask gpuMask
	if in != nil {
		if mask, err = importedGPUs(&it, in); err != nil {
			return false, err
		}
	}
	if t.last != TaskStopped {
		r := ReasonInactive
		if in.status != InstanceInactive {
			r = in.fitsHeld(it.Spec.Demand, mask)
		}
		if r != ReasonNone {
			return false, &ConflictError{InstanceID: in.id, Reason: r}
		}
	}
	delete(c.undone, id)
	rec := new(Task)
	*rec = t
	if rec.last != TaskStopped {
		in.hold(rec, mask)
		c.touch(in)
	}
	c.taskCount++
	rec.seq = c.taskCount
	c.tasks.put(rec.seq, rec)
	if c.foreign == nil {
		c.foreign = map[string]uint64{}
	}
	c.foreign[rec.id] = rec.seq
	switch rec.last {
	case TaskStopped:
		c.stopped = append(c.stopped, rec)
	case TaskRunning:
		c.running++
	default:
		c.pending++
	}
	c.flush(InstanceUpdated)
	return true, nil
}

// gone reports whether the cluster had the task r names and has let it go
// (a STOPPED task past its retention). c.mu is held.
func (c *Cluster) gone(r taskRef) bool {
	if _, ok := c.undone[lastPart(r.ref)]; ok {
		return false // drawn by an undone ApplyWith: its store may have it
	}
	if _, ok := c.foreign[lastPart(r.ref)]; ok {
		return true
	}
	if !r.ok || r.n == 0 || r.n > c.taskCount {
		return false
	}
	var id [32]byte
	hexUint64(id[:16], mix.Nth(c.taskSeed[0], r.n))
	hexUint64(id[16:], mix.Nth(c.taskSeed[1], r.n))
	return string(id[:]) == r.id
}

// moveTask is PutTask for a task the cluster has. c.mu is held.
func (c *Cluster) moveTask(t *Task, it *ImportTask) (bool, error) {
	switch {
	case t.last == it.LastStatus:
		return false, nil
	case t.last == TaskStopped || it.LastStatus == TaskPending || it.LastStatus == TaskProvisioning || t.inst == nil:
		return false, fmt.Errorf("%w: task %s is %s, not to become %s", ErrInvalidTransition, t.id, t.last, it.LastStatus)
	case it.LastStatus == TaskRunning:
		t.last = TaskRunning
		t.startedAt = it.StartedAt
		t.version = max(it.Version, t.version+1)
		t.inst.pending--
		t.inst.running++
		c.pending--
		c.running++
		c.touch(t.inst)
	default: // STOPPED
		c.stop(t, it.StoppedReason, it.StopCode, it.StoppedAt)
		t.stoppingAt = it.StoppingAt
		t.version = max(it.Version, t.version)
	}
	c.flush(InstanceUpdated)
	return true, nil
}

// ApplyWith is [Cluster.ApplyTo] for a store that keeps the state
// elsewhere too: once the proposal has been re-checked and applied, and
// out holds what it did, commit is called, still under the cluster's
// write lock; if commit returns an error, the proposal is undone and
// ApplyWith returns that error, else the proposal stays applied and
// observers hear of it. The task ids an undone proposal drew are not drawn
// again, since commit may have stored them before it failed, and
// [Cluster.PutTask] adds them if the store brings them back; a commit
// error that wraps [ErrNotCommitted] says it did not, and they are
// forgotten. commit must
// not call back into the cluster.
func (c *Cluster) ApplyWith(proposal Proposal, out *Applied, commit func(*Applied) error) error {
	return c.applyTo(proposal, out, commit)
}
