// Command custom-scheduler is a custom scheduler in the style of the ECS
// whitepaper's, run on a Client's cluster: its rule is a
// scheduler.Scheduler, which Client.Schedule runs against a consistent view
// of the cluster (every instance's remaining resources, task count,
// attributes and agent) and whose plan it commits with every placement
// re-checked, all or nothing, deciding again if the cluster changed
// meanwhile — the same cycle RunTask uses, with the program's own rule in
// place of ECS's placement engine. Client.TaskSpec gives the scheduler the
// task definition's demand.
//
// The rule: among the ACTIVE instances with a connected agent in the
// Availability Zone [targetAZ] that have enough CPU and memory left for the
// task, take the least loaded one, load being its RUNNING plus PENDING
// tasks; break ties by the most memory left, then by ARN. Each decision
// sees the earlier ones of the same round (the plan's pending placements).
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-scheduler:", err)
		os.Exit(1)
	}
}

const (
	clusterName = "custom"
	// targetAZ is where the scheduler puts every task, as a command-line
	// flag would name it.
	targetAZ = "us-east-1b"
	// tasksToStart is how many worker tasks the scheduler starts.
	tasksToStart = 8
	// startedBy tags the tasks this scheduler starts.
	startedBy = "custom-scheduler"
)

// workerTask needs 256 CPU units and 512 MiB of memory.
const workerTask = `{"family": "worker", "containerDefinitions": [
  {"name": "worker", "image": "busybox", "cpu": 256, "memory": 512, "essential": true,
   "command": ["sh", "-c", "while true; do sleep 60; done"]}]}`

// sidecarTask is what already runs on one instance before the scheduler
// starts.
const sidecarTask = `{"family": "sidecar", "containerDefinitions": [
  {"name": "sidecar", "image": "busybox", "cpu": 128, "memory": 256, "essential": true}]}`

// demand is what one worker task needs.
var demand = struct{ cpu, memory int64 }{256, 512}

// hosts are the cluster's instances: two roomy ones in us-east-1a, which
// the rule never uses, and three of different sizes in us-east-1b, the
// second already running two sidecar tasks.
var hosts = []struct {
	ec2, az  string
	cpu, mem int64
	sidecars int
}{
	{"i-1a000001", "us-east-1a", 2048, 4096, 0},
	{"i-1a000002", "us-east-1a", 2048, 4096, 0},
	{"i-1b000001", "us-east-1b", 2048, 2048, 0},
	{"i-1b000002", "us-east-1b", 2048, 4096, 2},
	{"i-1b000003", "us-east-1b", 2048, 1024, 0},
}

func run(w io.Writer) error {
	ctx := context.Background()
	ecs, err := newCluster(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== cluster %s before scheduling\n", clusterName)
	if err := printInstances(ctx, w, ecs); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== start %d worker tasks (cpu %d, memory %d) in %s on the least-loaded instance with room\n",
		tasksToStart, demand.cpu, demand.memory, targetAZ)
	placed, err := schedule(ctx, ecs, w, tasksToStart)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== started %d of %d tasks; describe-container-instances:\n", len(placed), tasksToStart)
	return printInstances(ctx, w, ecs)
}

// newCluster builds the cluster the scheduler works on, with a manual
// clock and a seeded random source so that every run prints the same.
func newCluster(ctx context.Context) (*stevedore.Client, error) {
	clock := stevedore.NewManualClock(time.Date(2015, 12, 1, 9, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(2015, 12)})
	if err != nil {
		return nil, err
	}
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: clusterName}); err != nil {
		return nil, err
	}
	for _, raw := range []string{workerTask, sidecarTask} {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(raw))
		if err != nil {
			return nil, err
		}
		if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
			return nil, err
		}
	}
	for _, h := range hosts {
		out, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  clusterName,
			InstanceIdentityDocument: stevedore.IdentityDocument(h.ec2, "m4.large", h.az),
			TotalResources:           stevedore.TotalResources(h.cpu, h.mem),
		})
		if err != nil {
			return nil, err
		}
		for range h.sidecars {
			started, err := ecs.StartTask(ctx, &stevedore.StartTaskInput{
				Cluster: clusterName, TaskDefinition: "sidecar",
				ContainerInstances: []string{out.ContainerInstance.ContainerInstanceArn},
			})
			if err != nil {
				return nil, err
			}
			if len(started.Failures) > 0 {
				return nil, fmt.Errorf("sidecar on %s: %+v", h.ec2, started.Failures)
			}
		}
	}
	clock.Advance(time.Minute)
	if _, err := ecs.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: clusterName}); err != nil {
		return nil, err
	}
	return ecs, nil
}

// host is a container instance as the scheduler sees it.
type host struct {
	arn, ec2, az string
	connected    bool
	tasks        int // RUNNING + PENDING
	cpu, memory  int64
}

// placement is one task the scheduler started.
type placement struct {
	taskArn, instanceArn, ec2 string
}

// readHosts lists the cluster's ACTIVE instances, every page, and describes
// them, as a program outside the cluster reads them.
func readHosts(ctx context.Context, ecs *stevedore.Client) ([]host, error) {
	var arns []string
	for token := ""; ; {
		list, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{
			Cluster: clusterName, Status: "ACTIVE", NextToken: token,
		})
		if err != nil {
			return nil, err
		}
		arns = append(arns, list.ContainerInstanceArns...)
		if token = list.NextToken; token == "" {
			break
		}
	}
	var hs []host
	for chunk := range slices.Chunk(arns, 100) {
		out, err := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: clusterName, ContainerInstances: chunk})
		if err != nil {
			return nil, err
		}
		for _, ci := range out.ContainerInstances {
			cpu, _ := ci.Remaining("CPU")
			memory, _ := ci.Remaining("MEMORY")
			h := host{
				arn: ci.ContainerInstanceArn, ec2: ci.Ec2InstanceId, connected: ci.AgentConnected,
				tasks: ci.RunningTasksCount + ci.PendingTasksCount,
				cpu:   cpu.IntegerValue, memory: memory.IntegerValue,
			}
			for _, a := range ci.Attributes {
				if a.Name == "ecs.availability-zone" {
					h.az = a.Value
				}
			}
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// eligible reports whether the rule lets a worker task go on h.
func eligible(h host) bool {
	return h.az == targetAZ && h.connected && h.cpu >= demand.cpu && h.memory >= demand.memory
}

// lessLoaded orders the eligible hosts, best first: fewer tasks, then more
// memory left, then ARN.
func lessLoaded(a, b host) int {
	return cmp.Or(cmp.Compare(a.tasks, b.tasks), cmp.Compare(b.memory, a.memory), strings.Compare(a.arn, b.arn))
}

// leastLoaded is the rule as a scheduler.Scheduler: up to n tasks of spec,
// each on the best eligible instance as the earlier ones of the round left
// it. Client.Schedule calls Decide with a consistent view of the cluster;
// if the commit finds the cluster changed, it calls Decide again, so
// Decide starts its record afresh.
type leastLoaded struct {
	spec *cluster.TaskSpec
	n    int
	// rounds records, for each task, the eligible hosts in rank order
	// (none when no instance qualified, which ends the round).
	rounds [][]host
}

// Decide implements scheduler.Scheduler.
func (s *leastLoaded) Decide(v *cluster.View, plan *scheduler.Plan) {
	s.rounds = s.rounds[:0]
	for range s.n {
		var ranked []host
		byARN := map[string]*cluster.Instance{}
		for in := range v.Instances() {
			if in.Status() != cluster.InstanceActive {
				continue
			}
			az, _ := in.Attribute("ecs.availability-zone")
			cpu, memory, _ := plan.Pending.Resources(in) // this round's earlier tasks
			h := host{
				arn: in.ARN(), ec2: in.EC2InstanceID(), az: az, connected: in.AgentConnected(),
				tasks: in.TaskCount() + plan.Pending.TaskCount(in),
				cpu:   in.RemainingCPU() - cpu, memory: in.RemainingMemory() - memory,
			}
			if eligible(h) {
				ranked = append(ranked, h)
				byARN[h.arn] = in
			}
		}
		slices.SortFunc(ranked, lessLoaded)
		s.rounds = append(s.rounds, ranked)
		if len(ranked) == 0 {
			return
		}
		plan.Place(byARN[ranked[0].arn], s.spec)
	}
}

// schedule starts up to n worker tasks in one round of the rule, printing
// each decision, and returns where they went. It places fewer, without an
// error, when no instance qualifies any more.
func schedule(ctx context.Context, ecs *stevedore.Client, w io.Writer, n int) ([]placement, error) {
	spec, err := ecs.TaskSpec(ctx, &stevedore.TaskSpecInput{TaskDefinition: "worker", StartedBy: startedBy})
	if err != nil {
		return nil, err
	}
	rule := &leastLoaded{spec: spec, n: n}
	out, err := ecs.Schedule(ctx, &stevedore.ScheduleInput{Cluster: clusterName, Scheduler: rule})
	if err != nil {
		return nil, err
	}
	if len(out.Failures) > 0 {
		return nil, fmt.Errorf("the commit refused the plan: %+v", out.Failures)
	}
	var placed []placement
	for i, ranked := range rule.rounds {
		if len(ranked) == 0 {
			fmt.Fprintf(w, "task %d: no ACTIVE instance in %s has %d CPU and %d MiB left; stopping\n", i+1, targetAZ, demand.cpu, demand.memory)
			break
		}
		t := out.Tasks[i]
		placed = append(placed, placement{taskArn: t.TaskArn, instanceArn: t.ContainerInstanceArn, ec2: ranked[0].ec2})
		var seen []string
		for _, h := range ranked {
			seen = append(seen, fmt.Sprintf("%s %d tasks %d MiB left", h.ec2, h.tasks, h.memory))
		}
		fmt.Fprintf(w, "task %d -> %s: %s (candidates: %s)\n", i+1, ranked[0].ec2, stevedore.ResourceID(t.TaskArn), strings.Join(seen, ", "))
	}
	return placed, nil
}

// printInstances prints describe-container-instances for every ACTIVE
// instance, one line each, sorted by EC2 instance id.
func printInstances(ctx context.Context, w io.Writer, ecs *stevedore.Client) error {
	hs, err := readHosts(ctx, ecs)
	if err != nil {
		return err
	}
	slices.SortFunc(hs, func(a, b host) int { return strings.Compare(a.ec2, b.ec2) })
	fmt.Fprintf(w, "%-11s %-11s %5s %8s %11s\n", "instance", "zone", "tasks", "CPU left", "MEMORY left")
	for _, h := range hs {
		fmt.Fprintf(w, "%-11s %-11s %5d %8d %11d\n", h.ec2, h.az, h.tasks, h.cpu, h.memory)
	}
	return nil
}
