package cluster

import (
	"time"

	"github.com/stevedore-go/stevedore/taskdef"
)

// TaskStatus is a task's lastStatus or desiredStatus. The model uses the
// three states that matter to scheduling (and PROVISIONING, for tasks
// waiting on a capacity provider): PENDING (placed, resources held,
// not yet started), RUNNING and STOPPED (resources released).
type TaskStatus uint8

// The task statuses.
const (
	TaskPending TaskStatus = iota + 1
	TaskRunning
	TaskStopped
	// TaskProvisioning is the last status of a task that waits for its
	// capacity provider to add an instance it fits on: it has no instance
	// and holds nothing (see [Cluster.Provision]). It comes before PENDING
	// in a task's life; the value is last so that the others keep theirs.
	TaskProvisioning
)

// String returns the ECS name.
func (s TaskStatus) String() string {
	switch s {
	case TaskPending:
		return "PENDING"
	case TaskRunning:
		return "RUNNING"
	case TaskStopped:
		return "STOPPED"
	case TaskProvisioning:
		return "PROVISIONING"
	}
	return ""
}

// ParseTaskStatus parses PENDING, RUNNING or STOPPED: the statuses a
// caller may name (PROVISIONING is the capacity providers' own).
func ParseTaskStatus(s string) (TaskStatus, bool) {
	switch s {
	case "PENDING":
		return TaskPending, true
	case "RUNNING":
		return TaskRunning, true
	case "STOPPED":
		return TaskStopped, true
	}
	return 0, false
}

// StopCode says why a task stopped, in ECS's words.
type StopCode string

// The stop codes of ECS's TaskStopCode enum.
const (
	StopTaskFailedToStart         StopCode = "TaskFailedToStart"
	StopEssentialContainerExited  StopCode = "EssentialContainerExited"
	StopUserInitiated             StopCode = "UserInitiated"
	StopServiceSchedulerInitiated StopCode = "ServiceSchedulerInitiated"
	StopSpotInterruption          StopCode = "SpotInterruption"
	StopTerminationNotice         StopCode = "TerminationNotice"
	StopInfrastructureHealth      StopCode = "InfrastructureHealth"
)

// The stoppedReason texts ECS uses for the transitions the model makes.
const (
	ReasonEssentialContainerExited = "Essential container in task exited"
	ReasonDeregistrationForced     = "Container instance deregistration forced by user"
)

// TaskSpec describes the tasks a proposal starts. One TaskSpec is shared by
// every placement of a call.
type TaskSpec struct {
	// TaskDefinitionARN is the ARN of the task definition revision.
	TaskDefinitionARN string
	// Family is the task definition family (ListTasks filters on it).
	Family string
	// Demand is what each task needs; required.
	Demand *Demand
	// Group is the task group, e.g. "family:web" or "service:web".
	Group string
	// StartedBy is the free-form tag of whoever started the task.
	StartedBy string
	// Guard, if not nil, is re-checked on each target instance at commit
	// time, after the fit test: placement constraints implement it.
	Guard Guard
	// Overrides are the RunTask or StartTask overrides the tasks were
	// started with, nil for none. Demand already includes them; the
	// cluster only carries them to [TaskInfo].
	Overrides *taskdef.TaskOverride
}

// Guard re-checks a placement constraint at commit time. Check returns
// ReasonNone when the task may be placed on in, with the tasks of the same
// commit that precede it already applied. Implementations must not call
// back into the [Cluster]: Check runs under its write lock.
type Guard interface {
	Check(in *Instance, spec *TaskSpec) Reason
}

// Task is the live record of one task. Its fields change only through
// [Cluster] methods; read it only inside [Cluster.Read].
type Task struct {
	arn           string
	id            string // the last part of arn, sharing its bytes
	seq           uint64 // creation order in the cluster, from 1; the number its id encodes
	spec          *TaskSpec
	inst          *Instance
	instPos       int32 // index in inst.tasks while not stopped
	gpus          gpuMask
	az            string // the instance's ecs.availability-zone when placed
	last, desired TaskStatus
	version       int64
	createdAt     time.Time
	startedAt     time.Time
	stoppingAt    time.Time
	stoppedAt     time.Time
	stoppedReason string
	stopCode      StopCode
	// protectedUntil is when the task's scale-in protection expires;
	// zero when it has none.
	protectedUntil time.Time
}

// ProtectedUntil returns when the task's scale-in protection expires, or
// the zero time if it has none.
func (t *Task) ProtectedUntil() time.Time { return t.protectedUntil }

// Protected reports whether the task is protected from scale-in at now.
func (t *Task) Protected(now time.Time) bool { return now.Before(t.protectedUntil) }

// ID returns the task id (the last part of its ARN).
func (t *Task) ID() string { return t.id }

// setARN sets the task's ARN, its id (the ARN's last 32 bytes) and its
// sequence number.
func (t *Task) setARN(arn string, seq uint64) {
	t.arn, t.id, t.seq = arn, arn[len(arn)-32:], seq
}

// ARN returns the task ARN.
func (t *Task) ARN() string { return t.arn }

// Seq returns the task's place in the cluster's creation order (from 1);
// [View.TasksAfter] pages through tasks by it.
func (t *Task) Seq() uint64 { return t.seq }

// Group returns the task's group.
func (t *Task) Group() string { return t.spec.Group }

// StartedBy returns the task's startedBy tag.
func (t *Task) StartedBy() string { return t.spec.StartedBy }

// Family returns the task definition family.
func (t *Task) Family() string { return t.spec.Family }

// TaskDefinitionARN returns the task definition revision's ARN.
func (t *Task) TaskDefinitionARN() string { return t.spec.TaskDefinitionARN }

// Demand returns the task's demand.
func (t *Task) Demand() *Demand { return t.spec.Demand }

// Spec returns the spec the task was started with; do not modify it.
func (t *Task) Spec() *TaskSpec { return t.spec }

// CreatedAt returns when the task was created.
func (t *Task) CreatedAt() time.Time { return t.createdAt }

// Instance returns the instance the task was placed on; nil while it is
// PROVISIONING.
func (t *Task) Instance() *Instance { return t.inst }

// LastStatus returns the task's last known status.
func (t *Task) LastStatus() TaskStatus { return t.last }

// DesiredStatus returns the task's desired status.
func (t *Task) DesiredStatus() TaskStatus { return t.desired }

// TaskInfo is a copy of a task's state, safe to keep. Zero times are unset.
type TaskInfo struct {
	ID                string
	ARN               string
	TaskDefinitionARN string
	Family            string
	ClusterARN        string
	InstanceID        string
	InstanceARN       string
	Group             string
	StartedBy         string
	LastStatus        TaskStatus
	DesiredStatus     TaskStatus
	CPU, Memory       int64
	GPUIDs            []string
	// AvailabilityZone is the instance's ecs.availability-zone attribute
	// when the task was placed ("" if it had none).
	AvailabilityZone string
	Version          int64
	CreatedAt        time.Time
	StartedAt        time.Time
	StoppingAt       time.Time
	StoppedAt        time.Time
	StoppedReason    string
	StopCode         StopCode
	// Overrides are the spec's overrides (nil for none); do not modify them.
	Overrides *taskdef.TaskOverride
	// ProtectedUntil is when the task's scale-in protection expires (zero
	// for none; a past time means it expired).
	ProtectedUntil time.Time
	// CapacityProvider is the capacity provider the task was placed
	// through (its demand's), or "".
	CapacityProvider string
}
