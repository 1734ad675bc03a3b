package stevedore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Helpers for what programs otherwise write by hand around ECS's shapes.

// IdentityDocument returns an EC2 instance identity document naming an
// instance, its type and its Availability Zone, for
// [RegisterContainerInstanceInput.InstanceIdentityDocument]: the instance
// then has that ec2InstanceId and the attributes ecs.instance-type and
// ecs.availability-zone. Empty arguments are left out.
func IdentityDocument(instanceID, instanceType, availabilityZone string) string {
	b, _ := json.Marshal(struct { // cannot fail: three strings
		InstanceID       string `json:"instanceId,omitempty"`
		InstanceType     string `json:"instanceType,omitempty"`
		AvailabilityZone string `json:"availabilityZone,omitempty"`
	}{instanceID, instanceType, availabilityZone})
	return string(b)
}

// TotalResources returns the totalResources an agent registers for cpu
// CPU units (1024 a vCPU) and memoryMiB of memory, for
// [RegisterContainerInstanceInput.TotalResources]. The agent's default
// reserved ports apply (22, 2375, 2376, 51678, 51679); append a PORTS
// resource to reserve others.
func TotalResources(cpu, memoryMiB int64) []Resource {
	return []Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: memoryMiB},
	}
}

// ResourceNamed returns the resource called name in rs (CPU, MEMORY,
// PORTS, PORTS_UDP, GPU), and whether there is one.
func ResourceNamed(rs []Resource, name string) (Resource, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Remaining returns the instance's remaining resource called name (CPU,
// MEMORY, PORTS, PORTS_UDP, GPU), and whether it has one:
// ci.Remaining("MEMORY") is the memory tasks can still take.
func (ci ContainerInstance) Remaining(name string) (Resource, bool) {
	return ResourceNamed(ci.RemainingResources, name)
}

// Registered returns the instance's registered resource called name.
func (ci ContainerInstance) Registered(name string) (Resource, bool) {
	return ResourceNamed(ci.RegisteredResources, name)
}

// ResourceID returns the id at the end of an ECS ARN: the container
// instance id of a container instance ARN, the task id of a task ARN, the
// name of a cluster or service ARN, family:revision of a task definition
// ARN. A string that is not an ARN is returned as it is, so ids and ARNs
// can be passed alike.
func ResourceID(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return arn
	}
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// MaxTasksPerRunTaskAll bounds [Client.RunTaskAll]'s count.
const MaxTasksPerRunTaskAll = 10_000

// RunTaskAll starts in.Count tasks (up to [MaxTasksPerRunTaskAll]) as
// RunTask calls of at most [MaxTasksPerCall] each, one after another, and
// returns their tasks and failures together — what a program otherwise
// loops over RunTask for (not an ECS operation). Input errors come from
// the first call, before anything is placed. A later call fails only if
// the cluster or the task definition changed meanwhile (deleted,
// deregistered) or ctx ended; then the output holds the tasks the earlier
// calls started, and the error says how many.
func (c *Client) RunTaskAll(ctx context.Context, in *RunTaskInput) (*RunTaskOutput, error) {
	if in == nil {
		in = &RunTaskInput{}
	}
	total := in.Count
	if total == 0 {
		total = 1
	}
	if total < 1 || total > MaxTasksPerRunTaskAll {
		return nil, invalidParameter(nil, "count must be between 1 and %d, got %d.", MaxTasksPerRunTaskAll, in.Count)
	}
	out := &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
	for left := total; left > 0; {
		call := *in
		call.Count = min(left, MaxTasksPerCall)
		res, err := c.RunTask(ctx, &call)
		if err != nil {
			if left == total {
				return nil, err
			}
			return out, fmt.Errorf("stevedore: RunTaskAll: %d of %d tasks decided before: %w", total-left, total, err)
		}
		out.Tasks = append(out.Tasks, res.Tasks...)
		out.Failures = append(out.Failures, res.Failures...)
		left -= call.Count
	}
	return out, nil
}
