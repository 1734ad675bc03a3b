// Command custom-scheduler is a custom scheduler in the style of the ECS
// whitepaper's: it reads the cluster state through the API
// (ListContainerInstances, then DescribeContainerInstances for remaining
// resources, task counts and attributes), decides by its own rule where each
// task goes, and pins the task there with StartTask. ECS's placement engine
// takes no part in the decision; StartTask only checks that the task fits.
//
// The rule: among the ACTIVE instances with a connected agent in the
// Availability Zone [targetAZ] that have enough CPU and memory left for the
// task, take the least loaded one, load being its RUNNING plus PENDING
// tasks; break ties by the most memory left, then by ARN. The state is read
// again before every task, so each decision sees the previous ones.
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
			InstanceIdentityDocument: fmt.Sprintf(`{"instanceId": %q, "availabilityZone": %q, "instanceType": "m4.large"}`, h.ec2, h.az),
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: h.cpu},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: h.mem},
			},
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
// them.
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
			h := host{
				arn: ci.ContainerInstanceArn, ec2: ci.Ec2InstanceId, connected: ci.AgentConnected,
				tasks: ci.RunningTasksCount + ci.PendingTasksCount,
			}
			for _, a := range ci.Attributes {
				if a.Name == "ecs.availability-zone" {
					h.az = a.Value
				}
			}
			for _, r := range ci.RemainingResources {
				switch r.Name {
				case "CPU":
					h.cpu = r.IntegerValue
				case "MEMORY":
					h.memory = r.IntegerValue
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

// choose applies the rule to the hosts, returning the chosen one and the
// eligible ones in order.
func choose(hs []host) (host, []host, bool) {
	var ok []host
	for _, h := range hs {
		if eligible(h) {
			ok = append(ok, h)
		}
	}
	slices.SortFunc(ok, lessLoaded)
	if len(ok) == 0 {
		return host{}, nil, false
	}
	return ok[0], ok, true
}

// schedule starts up to n worker tasks, one decision at a time, printing
// each, and returns where they went. It stops early, without an error,
// when no instance qualifies.
func schedule(ctx context.Context, ecs *stevedore.Client, w io.Writer, n int) ([]placement, error) {
	var placed []placement
	for i := 1; i <= n; i++ {
		hs, err := readHosts(ctx, ecs)
		if err != nil {
			return placed, err
		}
		best, ranked, ok := choose(hs)
		if !ok {
			fmt.Fprintf(w, "task %d: no ACTIVE instance in %s has %d CPU and %d MiB left; stopping\n", i, targetAZ, demand.cpu, demand.memory)
			return placed, nil
		}
		started, err := ecs.StartTask(ctx, &stevedore.StartTaskInput{
			Cluster: clusterName, TaskDefinition: "worker", StartedBy: startedBy,
			ContainerInstances: []string{best.arn},
		})
		if err != nil {
			return placed, err
		}
		if len(started.Failures) > 0 || len(started.Tasks) != 1 {
			return placed, fmt.Errorf("start-task on %s: %+v", best.ec2, started.Failures)
		}
		t := started.Tasks[0]
		placed = append(placed, placement{taskArn: t.TaskArn, instanceArn: t.ContainerInstanceArn, ec2: best.ec2})
		var seen []string
		for _, h := range ranked {
			seen = append(seen, fmt.Sprintf("%s %d tasks %d MiB", h.ec2, h.tasks, h.memory))
		}
		id := t.TaskArn[strings.LastIndexByte(t.TaskArn, '/')+1:]
		fmt.Fprintf(w, "task %d -> %s: %s (candidates: %s)\n", i, best.ec2, id, strings.Join(seen, ", "))
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
	fmt.Fprintf(w, "%-11s %-11s %5s %4s %6s\n", "instance", "zone", "tasks", "CPU", "MEMORY")
	for _, h := range hs {
		fmt.Fprintf(w, "%-11s %-11s %5d %4d %6d\n", h.ec2, h.az, h.tasks, h.cpu, h.memory)
	}
	return nil
}
