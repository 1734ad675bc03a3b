package cluster

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error a [Cluster] method returns wraps one of them,
// so callers test with errors.Is; the API layer maps them to ECS exceptions.
var (
	// ErrInstanceNotFound: no container instance with that id or ARN.
	ErrInstanceNotFound = errors.New("container instance not found")
	// ErrTaskNotFound: no task with that id or ARN.
	ErrTaskNotFound = errors.New("task not found")
	// ErrInstanceHasTasks: the instance still has tasks that are not
	// stopped and force was not given.
	ErrInstanceHasTasks = errors.New("found running tasks on the instance")
	// ErrInvalidTransition: the requested status change is not allowed from
	// the current status.
	ErrInvalidTransition = errors.New("invalid status transition")
	// ErrInvalidSpec: the instance registration or attribute is invalid.
	ErrInvalidSpec = errors.New("invalid container instance")
	// ErrAttributeLimit: more than [MaxCustomAttributes] custom attributes.
	ErrAttributeLimit = errors.New("attribute limit exceeded")
	// ErrConflict: a proposal no longer fits the current state; see
	// [ConflictError].
	ErrConflict = errors.New("placement conflict")
	// ErrNotCommitted is wrapped by an error of [Cluster.ApplyWith]'s
	// commit that is sure nothing was stored: the task ids the proposal
	// drew need not be kept for the store to bring back.
	ErrNotCommitted = errors.New("not committed")
)

// ConflictError reports the first placement of a proposal that the commit's
// re-check rejected. Nothing of the proposal was applied.
type ConflictError struct {
	// Index is the position of the rejected placement in the proposal.
	Index int
	// InstanceID is the instance the placement targeted.
	InstanceID string
	// TaskID, when set, is a task the proposal would stop that is no
	// longer running; Index is then the stop's position.
	TaskID string
	// Reason is the check that failed.
	Reason Reason
}

func (e *ConflictError) Error() string {
	if e.TaskID != "" {
		return fmt.Sprintf("stop %d: task %s is no longer running", e.Index, e.TaskID)
	}
	return fmt.Sprintf("placement %d on container instance %s no longer fits: %s", e.Index, e.InstanceID, e.Reason)
}

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }
