package stevedore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore/taskdef"
)

// Call is one AWS CLI call: `aws ecs <Command> --cli-input-json <Input>`.
type Call struct {
	// Command is the AWS CLI's name of the operation: start-task,
	// stop-task, update-service, create-service, delete-service,
	// update-container-instances-state, deregister-container-instance or
	// register-task-definition.
	Command string
	// Input is the operation's input as --cli-input-json takes it.
	Input json.RawMessage
}

// String is the call as a shell command line.
func (c Call) String() string {
	return "aws ecs " + c.Command + " --cli-input-json '" + strings.ReplaceAll(string(c.Input), "'", `'\''`) + "'"
}

// Changes are the calls that take a real cluster from one state to
// another, in the order to make them, and what has no call.
type Changes struct {
	Calls []Call
	// Notes are the differences no ECS call makes (an instance that only
	// an agent can register, a task the service scheduler will start).
	Notes []string
}

// Script is the calls as a shell script, the notes as comments.
func (ch *Changes) Script() string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nset -e\n")
	for _, n := range ch.Notes {
		b.WriteString("# " + n + "\n")
	}
	for _, c := range ch.Calls {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

// Diff returns the calls that would make what was done to a fork of
// original (see [Client.Fork]) real on the cluster original describes:
//
//   - register-task-definition for each revision the fork has and the
//     original does not;
//   - update-container-instances-state DRAINING or ACTIVE, and
//     deregister-container-instance (with force when it had tasks), for
//     instances whose status changed;
//   - create-service, update-service (desired count, task definition,
//     deployment configuration, placement) and delete-service;
//   - stop-task for each task the fork stopped by StopTask (stop code
//     UserInitiated: tasks the service scheduler stopped follow from the
//     service calls, and ECS's scheduler stops them itself);
//   - start-task, up to 10 instances a call, for each task the fork
//     started that is not a service's (the service scheduler starts
//     those, where ECS decides: they are notes).
//
// The order: task definitions, instances back to ACTIVE, services, stops,
// starts (so that the room the stops free is there), then draining and
// deregistration (so that a task the fork started before it drained the
// instance can start there).
// [INF] The calls leave out what the model made up: instances the fork
// registered (only an agent registers one) are notes.
func Diff(ctx context.Context, original, fork *Client) (*Changes, error) {
	a, err := original.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	b, err := fork.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return diffSnapshots(a, b)
}

func diffSnapshots(a, b *Snapshot) (*Changes, error) {
	ch := &Changes{}
	add := func(cmd string, in any) error {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		ch.Calls = append(ch.Calls, Call{Command: cmd, Input: raw})
		return nil
	}
	tds := map[string]bool{}
	for _, td := range a.TaskDefinitions {
		tds[td.TaskDefinitionArn] = true
	}
	for _, td := range b.TaskDefinitions {
		if tds[td.TaskDefinitionArn] {
			continue
		}
		raw, err := taskdef.Encode(td)
		if err != nil {
			return nil, err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, err
		}
		ch.Calls = append(ch.Calls, Call{Command: "register-task-definition", Input: compact.Bytes()})
		ch.Notes = append(ch.Notes, fmt.Sprintf("register-task-definition of %s gets the family's next revision number on the real cluster", td.TaskDefinitionArn))
	}

	// Instances.
	before := map[string]*SnapshotContainerInstance{}
	for i := range a.ContainerInstances {
		before[a.ContainerInstances[i].ContainerInstanceArn] = &a.ContainerInstances[i]
	}
	type batchKey struct{ cluster, status string }
	batches := map[batchKey][]string{}
	var batchOrder []batchKey
	var deregister []map[string]any
	for i := range b.ContainerInstances {
		in := &b.ContainerInstances[i]
		old := before[in.ContainerInstanceArn]
		clusterName := instanceCluster(in.ContainerInstanceArn, b)
		switch {
		case old == nil:
			ch.Notes = append(ch.Notes, fmt.Sprintf("container instance %s exists only in the fork: an ECS agent registers it", in.ContainerInstanceArn))
		case old.Status == in.Status:
		case in.Status == "INACTIVE":
			deregister = append(deregister, map[string]any{"cluster": clusterName, "containerInstance": in.ContainerInstanceArn, "force": old.RunningTasksCount+old.PendingTasksCount > 0})
		default:
			k := batchKey{clusterName, in.Status}
			if batches[k] == nil {
				batchOrder = append(batchOrder, k)
			}
			batches[k] = append(batches[k], in.ContainerInstanceArn)
		}
	}
	states := func(status string) error {
		for _, k := range batchOrder {
			if k.status != status {
				continue
			}
			for ids := range slices.Chunk(batches[k], 10) {
				if err := add("update-container-instances-state", map[string]any{"cluster": k.cluster, "containerInstances": ids, "status": k.status}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := states("ACTIVE"); err != nil {
		return nil, err
	}

	// Services.
	svcBefore := map[string]*SnapshotService{}
	for i := range a.Services {
		svcBefore[a.Services[i].ServiceArn] = &a.Services[i]
	}
	svcAfter := map[string]bool{}
	for i := range b.Services {
		s := &b.Services[i]
		svcAfter[s.ServiceArn] = true
		cl := lastPart(s.ClusterArn)
		old := svcBefore[s.ServiceArn]
		if old == nil {
			in := map[string]any{"cluster": cl, "serviceName": s.ServiceName, "taskDefinition": s.TaskDefinition,
				"deploymentConfiguration": s.DeploymentConfiguration, "schedulingStrategy": s.SchedulingStrategy,
				"placementConstraints": s.PlacementConstraints, "placementStrategy": s.PlacementStrategy}
			if s.SchedulingStrategy != "DAEMON" {
				in["desiredCount"] = s.DesiredCount
			}
			if s.NetworkConfiguration != nil {
				in["networkConfiguration"] = s.NetworkConfiguration
			}
			if s.AvailabilityZoneRebalancing != "" {
				in["availabilityZoneRebalancing"] = s.AvailabilityZoneRebalancing
			}
			if err := add("create-service", in); err != nil {
				return nil, err
			}
			continue
		}
		if s.Status == "DRAINING" && old.Status != "DRAINING" {
			if err := add("delete-service", map[string]any{"cluster": cl, "service": s.ServiceName, "force": true}); err != nil {
				return nil, err
			}
			continue
		}
		in := map[string]any{"cluster": cl, "service": s.ServiceName}
		if s.DesiredCount != old.DesiredCount && s.SchedulingStrategy != "DAEMON" {
			in["desiredCount"] = s.DesiredCount
		}
		if s.TaskDefinition != old.TaskDefinition {
			in["taskDefinition"] = s.TaskDefinition
		}
		if !jsonEqual(s.DeploymentConfiguration, old.DeploymentConfiguration) {
			in["deploymentConfiguration"] = s.DeploymentConfiguration
		}
		if !jsonEqual(s.PlacementStrategy, old.PlacementStrategy) {
			in["placementStrategy"] = s.PlacementStrategy
		}
		if !jsonEqual(s.PlacementConstraints, old.PlacementConstraints) {
			in["placementConstraints"] = s.PlacementConstraints
		}
		if len(in) > 2 {
			if err := add("update-service", in); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range a.Services {
		if !svcAfter[s.ServiceArn] {
			if err := add("delete-service", map[string]any{"cluster": lastPart(s.ClusterArn), "service": s.ServiceName, "force": true}); err != nil {
				return nil, err
			}
		}
	}

	// Tasks: stops, then starts.
	taskBefore := map[string]*SnapshotTask{}
	for i := range a.Tasks {
		taskBefore[a.Tasks[i].TaskArn] = &a.Tasks[i]
	}
	type startKey struct{ cluster, td, group, startedBy string }
	starts := map[startKey][]string{}
	var startOrder []startKey
	serviceStarts := map[string]int{}
	for i := range b.Tasks {
		t := &b.Tasks[i]
		old := taskBefore[t.TaskArn]
		cl := lastPart(t.ClusterArn)
		switch {
		case old != nil && old.LastStatus != "STOPPED" && t.LastStatus == "STOPPED" && t.StopCode == "UserInitiated":
			if err := add("stop-task", map[string]any{"cluster": cl, "task": t.TaskArn, "reason": t.StoppedReason}); err != nil {
				return nil, err
			}
		case old == nil && t.LastStatus != "STOPPED" && strings.HasPrefix(t.Group, "service:"):
			serviceStarts[t.Group]++
		case old == nil && t.LastStatus == "PROVISIONING":
			// [INF] Waiting for capacity: no instance to start it on, and
			// the capacity provider is not exported; left out.
		case old == nil && t.LastStatus != "STOPPED":
			k := startKey{cl, t.TaskDefinitionArn, t.Group, t.StartedBy}
			if starts[k] == nil {
				startOrder = append(startOrder, k)
			}
			starts[k] = append(starts[k], t.ContainerInstanceArn)
		}
	}
	for _, k := range startOrder {
		for ids := range slices.Chunk(starts[k], 10) {
			in := map[string]any{"cluster": k.cluster, "taskDefinition": k.td, "containerInstances": ids}
			if !strings.HasPrefix(k.group, "family:") {
				in["group"] = k.group
			}
			if k.startedBy != "" {
				in["startedBy"] = k.startedBy
			}
			if err := add("start-task", in); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range slices.Sorted(maps.Keys(serviceStarts)) {
		ch.Notes = append(ch.Notes, fmt.Sprintf("%s: the service scheduler starts %d tasks the fork placed; ECS chooses their instances", g, serviceStarts[g]))
	}
	// Draining and deregistering last, so that the tasks started first
	// may use the instances the fork placed them on before it drained them.
	if err := states("DRAINING"); err != nil {
		return nil, err
	}
	for _, in := range deregister {
		if err := add("deregister-container-instance", in); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

// instanceCluster is the name of the cluster of a container instance of
// snapshot s.
func instanceCluster(arn string, s *Snapshot) string {
	_, _, res, _ := arnParts(arn)
	if parts := strings.Split(res, "/"); len(parts) == 3 {
		return parts[1]
	}
	for _, t := range s.Tasks {
		if t.ContainerInstanceArn == arn {
			return lastPart(t.ClusterArn)
		}
	}
	if len(s.Clusters) == 1 {
		return s.Clusters[0].ClusterName
	}
	return ""
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
