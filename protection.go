package stevedore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
)

// Limits of task scale-in protection (UpdateTaskProtection).
const (
	// DefaultProtectionMinutes is how long protection lasts when
	// ExpiresInMinutes is not given: 2 hours.
	DefaultProtectionMinutes = 120
	// MaxProtectionMinutes is the longest protection: 48 hours.
	MaxProtectionMinutes = 2880
	// MaxProtectionTasks is the most tasks one UpdateTaskProtection or
	// GetTaskProtection call names.
	MaxProtectionTasks = 10
)

// ProtectedTask is a task's scale-in protection.
type ProtectedTask struct {
	TaskArn           string `json:"taskArn"`
	ProtectionEnabled bool   `json:"protectionEnabled"`
	// ExpirationDate is when the protection ends (absent when disabled).
	ExpirationDate time.Time `json:"expirationDate,omitzero"`
}

// UpdateTaskProtectionInput is the input of [Client.UpdateTaskProtection].
type UpdateTaskProtectionInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Tasks are 1 to 10 task ids or ARNs of service tasks.
	Tasks []string `json:"tasks"`
	// ProtectionEnabled sets (true) or removes (false) the protection.
	ProtectionEnabled bool `json:"protectionEnabled"`
	// ExpiresInMinutes is 1 to 2,880; nil means 120. It is ignored when
	// ProtectionEnabled is false.
	ExpiresInMinutes *int `json:"expiresInMinutes,omitempty"`
}

// UpdateTaskProtectionOutput is the output of [Client.UpdateTaskProtection].
type UpdateTaskProtectionOutput struct {
	ProtectedTasks []ProtectedTask `json:"protectedTasks"`
	Failures       []Failure       `json:"failures"`
}

// UpdateTaskProtection sets or removes the scale-in protection of service
// tasks. A protected task is never stopped by its service scheduler to
// scale in or to finish a deployment (docs/semantics.md §4.5) until the
// protection expires, on the Client's clock, or is removed. StopTask, an
// instance's deregistration and the agent still stop it. Each task is its
// own item: an unknown task is a MISSING failure and a task no service
// started (or one stopped) a TASK_NOT_VALID failure, as in ECS. [INF] A
// DAEMON service's task is TASK_NOT_VALID too: its scheduler never scales
// in. A task's protection ends when it stops.
func (c *Client) UpdateTaskProtection(ctx context.Context, in *UpdateTaskProtectionInput) (*UpdateTaskProtectionOutput, error) {
	if in == nil {
		in = &UpdateTaskProtectionInput{}
	}
	if err := checkProtectionTasks(in.Tasks); err != nil {
		return nil, err
	}
	minutes := DefaultProtectionMinutes
	if in.ExpiresInMinutes != nil {
		minutes = *in.ExpiresInMinutes
	}
	if in.ProtectionEnabled && (minutes < 1 || minutes > MaxProtectionMinutes) {
		return nil, invalidParameter(nil, "expiresInMinutes must be between 1 and %d, got %d.", MaxProtectionMinutes, minutes)
	}
	var out *UpdateTaskProtectionOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		var until time.Time
		if in.ProtectionEnabled {
			until = c.clock.Now().Add(time.Duration(minutes) * time.Minute)
		}
		// [INF] A DAEMON service's tasks are not protectable: its
		// scheduler runs one on each instance and has no scale-in.
		// The services are read outside the cluster's lock: the
		// service scheduler takes its own lock first.
		groups := make([]string, len(in.Tasks))
		e.c.Read(func(v *cluster.View) {
			for i, ref := range in.Tasks {
				if t, ok := v.Task(ref); ok {
					groups[i] = t.Group()
				}
			}
		})
		refs := make([]string, 0, len(in.Tasks))
		daemon := make([]bool, len(in.Tasks))
		for i, ref := range in.Tasks {
			if name, ok := strings.CutPrefix(groups[i], "service:"); ok {
				if s, ok := e.services.Get(name); ok && s.Config.Daemon {
					daemon[i] = true
					continue
				}
			}
			refs = append(refs, ref)
		}
		set, setErrs := e.c.SetTaskProtection(refs, until)
		infos, errs := make([]cluster.TaskInfo, len(in.Tasks)), make([]error, len(in.Tasks))
		for i, j := 0, 0; i < len(in.Tasks); i++ {
			if daemon[i] {
				errs[i] = cluster.ErrTaskNotProtectable
				continue
			}
			infos[i], errs[i] = set[j], setErrs[j]
			j++
		}
		out = &UpdateTaskProtectionOutput{ProtectedTasks: []ProtectedTask{}, Failures: []Failure{}}
		c.protectionResult(e, in.Tasks, infos, errs, &out.ProtectedTasks, &out.Failures)
		return nil
	})
	return out, err
}

// GetTaskProtectionInput is the input of [Client.GetTaskProtection].
type GetTaskProtectionInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Tasks are 1 to 10 task ids or ARNs. [INF] ECS lets an agent omit
	// them for its own task; the model has no caller task, so they are
	// required.
	Tasks []string `json:"tasks"`
}

// GetTaskProtectionOutput is the output of [Client.GetTaskProtection].
type GetTaskProtectionOutput struct {
	ProtectedTasks []ProtectedTask `json:"protectedTasks"`
	Failures       []Failure       `json:"failures"`
}

// GetTaskProtection returns the scale-in protection of tasks. A
// protection that has expired reads as not enabled.
func (c *Client) GetTaskProtection(ctx context.Context, in *GetTaskProtectionInput) (*GetTaskProtectionOutput, error) {
	if in == nil {
		in = &GetTaskProtectionInput{}
	}
	if err := checkProtectionTasks(in.Tasks); err != nil {
		return nil, err
	}
	var out *GetTaskProtectionOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		infos, errs := make([]cluster.TaskInfo, len(in.Tasks)), make([]error, len(in.Tasks))
		e.c.Read(func(v *cluster.View) {
			for i, ref := range in.Tasks {
				if t, ok := v.Task(ref); ok {
					infos[i] = v.TaskInfo(t)
				} else {
					errs[i] = cluster.ErrTaskNotFound
				}
			}
		})
		out = &GetTaskProtectionOutput{ProtectedTasks: []ProtectedTask{}, Failures: []Failure{}}
		c.protectionResult(e, in.Tasks, infos, errs, &out.ProtectedTasks, &out.Failures)
		return nil
	})
	return out, err
}

func checkProtectionTasks(tasks []string) error {
	if len(tasks) == 0 {
		return invalidParameter(nil, "tasks cannot be empty.")
	}
	if len(tasks) > MaxProtectionTasks {
		return invalidParameter(nil, "tasks can have at most %d items.", MaxProtectionTasks)
	}
	return nil
}

// protectionResult turns the per-task results of a protection call into
// ECS's protectedTasks and failures.
func (c *Client) protectionResult(e *clusterEntry, refs []string, infos []cluster.TaskInfo, errs []error, tasks *[]ProtectedTask, fails *[]Failure) {
	now := c.clock.Now()
	for i, ref := range refs {
		if err := errs[i]; err != nil {
			f := Failure{Arn: c.taskARN(e.c.Name(), ref), Reason: "MISSING"}
			if errors.Is(err, cluster.ErrTaskNotProtectable) {
				f.Reason, f.Detail = "TASK_NOT_VALID", "The task is stopped or was not started by a REPLICA service."
			}
			*fails = append(*fails, f)
			continue
		}
		pt := ProtectedTask{TaskArn: infos[i].ARN}
		if until := infos[i].ProtectedUntil; now.Before(until) {
			pt.ProtectionEnabled, pt.ExpirationDate = true, until
		}
		*tasks = append(*tasks, pt)
	}
}
