// Command microservices replays a 2016 ECS microservices tutorial: a cluster
// "app01" of four instances in two Availability Zones runs two services,
// location (host port 8081) and user (host port 9091), four tasks each,
// with maximumPercent 200 and minimumHealthyPercent 50. The task definitions
// and the location service are the tutorial's JSON, unmodified.
//
// Then location is updated to a new image. Every instance already binds
// port 8081, so the scheduler cannot start a replacement before stopping an
// old task: it stops two old tasks (ceil(4 × 50 / 100) = 2 must stay
// RUNNING), starts two new ones on the ports they freed, and repeats. After
// every step the program prints the service events, as DescribeServices
// shows them, and how many location tasks are RUNNING; it fails if that
// count ever drops below 2 during the deployment.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "microservices:", err)
		os.Exit(1)
	}
}

//go:embed microservices-location-task.json
var locationTask []byte

//go:embed microservices-user-task.json
var userTask []byte

//go:embed microservices-location-service.json
var locationService []byte

// userService is the user service in the shape of the tutorial's location
// service: its own load balancer and container port.
const userService = `{
  "cluster": "app01",
  "serviceName": "user",
  "taskDefinition": "user",
  "loadBalancers": [
    {
      "loadBalancerName": "user",
      "containerName": "user",
      "containerPort": 9091
    }
  ],
  "desiredCount": 4,
  "clientToken": "userusersuser",
  "role": "arn:aws:iam::xxxxxxxxxxxxxxxx:role/ecsServiceRole",
  "deploymentConfiguration": {
    "maximumPercent": 200,
    "minimumHealthyPercent": 50
  }
}`

const (
	clusterName = "app01"
	// newImage is the image of location's second revision.
	newImage = "srirajan/location:11"
	// maxSteps bounds each phase; the story needs far fewer.
	maxSteps = 20
)

// sim drives the cluster one step at a time and prints what each step did.
type sim struct {
	ctx   context.Context
	ecs   *stevedore.Client
	clock *stevedore.ManualClock
	// driver moves the clock, lets the agents report and reconciles.
	driver *stevedore.Driver
	w      io.Writer
	steps  int
	seen   map[string]int // events printed, by service
}

func run(w io.Writer) error {
	ctx := context.Background()
	clock := stevedore.NewManualClock(time.Date(2016, 6, 1, 10, 0, 0, 0, time.UTC))
	ecs, err := stevedore.New(stevedore.Options{Clock: clock, Rand: rand.NewPCG(2016, 6)})
	if err != nil {
		return err
	}
	s := &sim{
		ctx:    ctx,
		ecs:    ecs,
		clock:  clock,
		driver: &stevedore.Driver{Client: ecs, Clock: clock, Cluster: clusterName},
		w:      w,
		seen:   map[string]int{},
	}
	if err := s.setUp(); err != nil {
		return err
	}

	fmt.Fprintln(w, "== services location and user, 4 tasks each, reach a steady state")
	for s.steps = 0; ; {
		if s.steps >= maxSteps {
			return fmt.Errorf("the services did not reach a steady state in %d steps", maxSteps)
		}
		if _, err := s.step(); err != nil {
			return err
		}
		loc, err := s.describe("location")
		if err != nil {
			return err
		}
		usr, err := s.describe("user")
		if err != nil {
			return err
		}
		if completed(loc) && completed(usr) {
			break
		}
	}

	in, err := stevedore.DecodeRegisterTaskDefinitionInput(locationTask)
	if err != nil {
		return err
	}
	in.TaskDefinition.ContainerDefinitions[0].Image = newImage
	rev, err := s.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return err
	}
	revision := fmt.Sprintf("location:%d", rev.TaskDefinition.Revision)
	fmt.Fprintf(w, "\n== update-service --service location --task-definition %s (image %s)\n", revision, newImage)
	updated, err := s.ecs.UpdateService(ctx, &stevedore.UpdateServiceInput{
		Cluster: clusterName, Service: "location", TaskDefinition: revision,
	})
	if err != nil {
		return err
	}
	dep := updated.Service.Deployments[0]
	fmt.Fprintf(w, "new PRIMARY deployment %s; minimumHealthyPercent %d, maximumPercent %d\n",
		dep.Id, *updated.Service.DeploymentConfiguration.MinimumHealthyPercent, *updated.Service.DeploymentConfiguration.MaximumPercent)

	minRunning := -1
	for s.steps = 0; ; {
		if s.steps >= maxSteps {
			return fmt.Errorf("the deployment did not complete in %d steps", maxSteps)
		}
		running, err := s.step()
		if err != nil {
			return err
		}
		if minRunning < 0 || running < minRunning {
			minRunning = running
		}
		loc, err := s.describe("location")
		if err != nil {
			return err
		}
		if completed(loc) && loc.Deployments[0].Id == dep.Id {
			fmt.Fprintf(w, "-- deployment %s (%s) completed after %d steps\n", dep.Id, revision, s.steps)
			break
		}
	}
	fmt.Fprintf(w, "\nminimum RUNNING count of location during the deployment: %d\n", minRunning)
	if minRunning < 2 {
		return fmt.Errorf("location had only %d RUNNING tasks during the deployment; minimumHealthyPercent 50 of 4 requires 2", minRunning)
	}
	return nil
}

// setUp creates the cluster, its four instances, the task definitions and
// the two services.
func (s *sim) setUp() error {
	ctx := s.ctx
	if _, err := s.ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: clusterName}); err != nil {
		return err
	}
	for i := range 4 {
		_, err := s.ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  clusterName,
			InstanceIdentityDocument: fmt.Sprintf(`{"instanceId": "i-%08x", "availabilityZone": "us-east-1%c", "instanceType": "m4.large"}`, 0xa0+i, 'a'+i%2),
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 2048},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 7986},
			},
		})
		if err != nil {
			return err
		}
	}
	for _, raw := range [][]byte{locationTask, userTask} {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput(raw)
		if err != nil {
			return err
		}
		if _, err := s.ecs.RegisterTaskDefinition(ctx, in); err != nil {
			return err
		}
	}
	for _, raw := range [][]byte{locationService, []byte(userService)} {
		in, err := stevedore.DecodeCreateServiceInput(raw)
		if err != nil {
			return err
		}
		out, err := s.ecs.CreateService(ctx, in)
		if err != nil {
			return err
		}
		svc := out.Service
		fmt.Fprintf(s.w, "create-service %s: desiredCount %d, maximumPercent %d, minimumHealthyPercent %d, load balancer %s:%d, role %s\n",
			svc.ServiceName, svc.DesiredCount, *svc.DeploymentConfiguration.MaximumPercent, *svc.DeploymentConfiguration.MinimumHealthyPercent,
			svc.LoadBalancers[0].LoadBalancerName, svc.LoadBalancers[0].ContainerPort, svc.RoleArn)
	}
	return nil
}

// step runs one step of the Driver: the clock moves 10 s, the agents
// report the tasks placed before it RUNNING, and the service scheduler
// reconciles. It prints the new service events and location's tasks, and
// returns how many of them are RUNNING.
func (s *sim) step() (int, error) {
	s.steps++
	if _, err := s.driver.Step(s.ctx, 10*time.Second); err != nil {
		return 0, err
	}
	fmt.Fprintf(s.w, "-- step %d at %s: agents report, the scheduler reconciles\n", s.steps, s.clock.Now().Format("15:04:05"))
	if err := s.printEvents(); err != nil {
		return 0, err
	}
	return s.printLocation()
}

// describe describes one service.
func (s *sim) describe(name string) (stevedore.Service, error) {
	out, err := s.ecs.DescribeServices(s.ctx, &stevedore.DescribeServicesInput{Cluster: clusterName, Services: []string{name}})
	if err != nil {
		return stevedore.Service{}, err
	}
	if len(out.Services) != 1 {
		return stevedore.Service{}, fmt.Errorf("describe-services %s: %+v", name, out.Failures)
	}
	return out.Services[0], nil
}

// completed reports whether the service has one deployment, rolled out.
func completed(svc stevedore.Service) bool {
	return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == "COMPLETED" &&
		svc.Deployments[0].TaskDefinition == svc.TaskDefinition
}

// printEvents prints the events of both services not printed yet, oldest
// first (DescribeServices lists them newest first).
func (s *sim) printEvents() error {
	var fresh []stevedore.ServiceEvent
	for _, name := range []string{"location", "user"} {
		svc, err := s.describe(name)
		if err != nil {
			return err
		}
		events := slices.Clone(svc.Events)
		slices.Reverse(events)
		fresh = append(fresh, events[min(s.seen[name], len(events)):]...)
		s.seen[name] = len(events)
	}
	slices.SortStableFunc(fresh, func(a, b stevedore.ServiceEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, e := range fresh {
		fmt.Fprintf(s.w, "%s  %s\n", e.CreatedAt.Format("15:04:05"), e.Message)
	}
	return nil
}

// printLocation prints location's tasks by revision and status, read from
// the tasks themselves, and returns how many are RUNNING.
func (s *sim) printLocation() (int, error) {
	list, err := s.ecs.ListTasks(s.ctx, &stevedore.ListTasksInput{Cluster: clusterName, ServiceName: "location"})
	if err != nil {
		return 0, err
	}
	count := map[string]int{} // "location:N RUNNING" -> tasks
	running := 0
	if len(list.TaskArns) > 0 {
		out, err := s.ecs.DescribeTasks(s.ctx, &stevedore.DescribeTasksInput{Cluster: clusterName, Tasks: list.TaskArns})
		if err != nil {
			return 0, err
		}
		for _, t := range out.Tasks {
			rev := t.TaskDefinitionArn[strings.LastIndexByte(t.TaskDefinitionArn, '/')+1:]
			count[rev+" "+t.LastStatus]++
			if t.LastStatus == "RUNNING" {
				running++
			}
		}
	}
	keys := slices.Sorted(maps.Keys(count))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", count[k], k)
	}
	fmt.Fprintf(s.w, "   location: %d RUNNING (%s)\n", running, strings.Join(parts, ", "))
	return running, nil
}
