// Command rolling-deploy replays the rolling deployment of an ECS
// getting-started article: five instances, a service of four tasks that each
// bind host port 80, updated to revision 2. With one spare instance the
// tasks are replaced one at a time (start new, stop old, four times); with
// ten instances the same update takes fewer reconcile steps. After every
// step it prints which revision each instance runs.
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
		fmt.Fprintln(os.Stderr, "rolling-deploy:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	five, err := deploy(w, 5)
	if err != nil {
		return err
	}
	ten, err := deploy(w, 10)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\nsteps (15 s each: agents report, the scheduler reconciles) to roll 4 tasks to revision 2: %d with 5 instances, %d with 10\n", five, ten)
	return err
}

const webTask = `{"family": "web", "containerDefinitions": [
  {"name": "web", "image": "nginx:%d", "cpu": 256, "memory": 256, "essential": true,
   "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}`

// deploy runs the story on n instances and returns how many reconcile
// steps the update to revision 2 took.
func deploy(w io.Writer, n int) (int, error) {
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2015, 10, 1, 9, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(2015, uint64(n))})
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "== %d instances, service web: 4 tasks on host port 80\n", n)
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "demo"}); err != nil {
		return 0, err
	}
	for i := range n {
		_, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "demo",
			InstanceIdentityDocument: stevedore.IdentityDocument(fmt.Sprintf("i-%08d", i), "t2.medium", fmt.Sprintf("us-east-1%c", 'a'+i%2)),
			TotalResources:           stevedore.TotalResources(2048, 3955),
		})
		if err != nil {
			return 0, err
		}
	}
	for rev := 1; rev <= 2; rev++ {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput(fmt.Appendf(nil, webTask, rev))
		if err != nil {
			return 0, err
		}
		if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
			return 0, err
		}
	}
	if _, err := ecs.CreateService(ctx, &stevedore.CreateServiceInput{
		Cluster: "demo", ServiceName: "web", TaskDefinition: "web:1", DesiredCount: new(4),
	}); err != nil {
		return 0, err
	}
	seen := 0
	// The Driver moves the clock, has the agents report the tasks placed
	// before the step RUNNING, and runs one step of the service scheduler.
	driver := &stevedore.Driver{Client: ecs, Clock: clock, Cluster: "demo"}
	step := func() error {
		if _, err := driver.Step(ctx, 15*time.Second); err != nil {
			return err
		}
		var err error
		if seen, err = printEvents(ctx, w, ecs, seen); err != nil {
			return err
		}
		return printHolders(ctx, w, ecs)
	}
	for range 2 {
		if err := step(); err != nil {
			return 0, err
		}
	}
	fmt.Fprintln(w, "-- update-service --task-definition web:2")
	if n-4 < 4 {
		fmt.Fprintf(w, "   Each task binds host port 80, so a new task needs an instance without a web task: %d of the %d.\n", n-4, n)
		fmt.Fprintln(w, "   The scheduler starts new tasks there and stops old ones within maximumPercent 200 and")
		fmt.Fprintln(w, "   minimumHealthyPercent 100; until an old task stops, the next new one fits nowhere, so")
		fmt.Fprintln(w, "   \"unable to place a task ... already using a port\" is expected on the way.")
	}
	if _, err := ecs.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "demo", Service: "web", TaskDefinition: "web:2"}); err != nil {
		return 0, err
	}
	for steps := 1; steps <= 20; steps++ {
		if err := step(); err != nil {
			return 0, err
		}
		out, err := ecs.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "demo", Services: []string{"web"}})
		if err != nil {
			return 0, err
		}
		s := out.Services[0]
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED" && s.Deployments[0].TaskDefinition == s.TaskDefinition {
			fmt.Fprintf(w, "-- deployment %s completed after %d steps\n\n", s.Deployments[0].Id, steps)
			return steps, nil
		}
	}
	return 0, fmt.Errorf("the deployment did not complete in 20 steps")
}

// printHolders prints, for every instance, the revision of the web task it
// holds: "web:2 pending" before its agent reports it RUNNING, "-" for none.
func printHolders(ctx context.Context, w io.Writer, ecs *stevedore.Client) error {
	list, err := ecs.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "demo", ServiceName: "web"})
	if err != nil {
		return err
	}
	holds := map[string]string{}
	if len(list.TaskArns) > 0 {
		tasks, err := ecs.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "demo", Tasks: list.TaskArns})
		if err != nil {
			return err
		}
		for _, t := range tasks.Tasks {
			rev := stevedore.ResourceID(t.TaskDefinitionArn)
			if t.LastStatus == "PENDING" {
				rev += " pending"
			}
			holds[t.ContainerInstanceArn] = rev
		}
	}
	instances, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "demo"})
	if err != nil {
		return err
	}
	described, err := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "demo", ContainerInstances: instances.ContainerInstanceArns})
	if err != nil {
		return err
	}
	cis := described.ContainerInstances
	slices.SortFunc(cis, func(a, b stevedore.ContainerInstance) int { return strings.Compare(a.Ec2InstanceId, b.Ec2InstanceId) })
	var cells []string
	for _, ci := range cis {
		cells = append(cells, ci.Ec2InstanceId+" "+cmp.Or(holds[ci.ContainerInstanceArn], "-"))
	}
	_, err = fmt.Fprintf(w, "          holds: %s\n", strings.Join(cells, ", "))
	return err
}

// printEvents prints the service events not printed yet, oldest first.
func printEvents(ctx context.Context, w io.Writer, ecs *stevedore.Client, seen int) (int, error) {
	out, err := ecs.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "demo", Services: []string{"web"}})
	if err != nil {
		return seen, err
	}
	events := slices.Clone(out.Services[0].Events)
	slices.Reverse(events)
	for _, e := range events[min(seen, len(events)):] {
		fmt.Fprintf(w, "%s  %s\n", e.CreatedAt.Format("15:04:05"), e.Message)
	}
	return len(events), nil
}
