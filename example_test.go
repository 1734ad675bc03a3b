package stevedore_test

import (
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stevedore-go/stevedore"
)

// nginxTask is the whitepaper's task definition, as
// `aws ecs register-task-definition --cli-input-json` takes it.
//
//go:embed testdata/whitepaper-nginx-task.json
var nginxTask []byte

// exampleClient returns a client that replays: a manual clock and a seeded
// random source.
func exampleClient() *stevedore.Client {
	ecs, err := stevedore.New(stevedore.Options{
		Clock: stevedore.NewManualClock(time.Date(2015, 4, 1, 12, 0, 0, 0, time.UTC)),
		Rand:  rand.NewPCG(2015, 4),
	})
	if err != nil {
		panic(err)
	}
	return ecs
}

// exampleWalkthrough sets up the whitepaper's cluster: "Walkthrough" with two
// instances of CPU 1024, MEMORY 996, and the nginx task definition.
func exampleWalkthrough(ctx context.Context, ecs *stevedore.Client) []string {
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "Walkthrough"}); err != nil {
		panic(err)
	}
	var arns []string
	for _, id := range []string{"i-c5690f29", "i-d8f1a2b3"} {
		out, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "Walkthrough",
			InstanceIdentityDocument: `{"instanceId": "` + id + `", "instanceType": "t2.micro"}`,
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 996},
			},
		})
		if err != nil {
			panic(err)
		}
		arns = append(arns, out.ContainerInstance.ContainerInstanceArn)
	}
	in, err := stevedore.DecodeRegisterTaskDefinitionInput(nginxTask)
	if err != nil {
		panic(err)
	}
	if _, err := ecs.RegisterTaskDefinition(ctx, in); err != nil {
		panic(err)
	}
	return arns
}

func ExampleNew() {
	ecs, err := stevedore.New(stevedore.Options{
		Region:    "eu-west-1",
		AccountID: "111122223333",
		Clock:     stevedore.NewManualClock(time.Date(2015, 4, 1, 12, 0, 0, 0, time.UTC)),
		Rand:      rand.NewPCG(1, 2),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := ecs.CreateCluster(context.Background(), &stevedore.CreateClusterInput{ClusterName: "Walkthrough"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Cluster.ClusterArn, out.Cluster.Status)
	// Output:
	// arn:aws:ecs:eu-west-1:111122223333:cluster/Walkthrough ACTIVE
}

func ExampleClient_RegisterTaskDefinition() {
	ctx := context.Background()
	ecs := exampleClient()
	for range 2 {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput(nginxTask)
		if err != nil {
			fmt.Println(err)
			return
		}
		out, err := ecs.RegisterTaskDefinition(ctx, in)
		if err != nil {
			fmt.Println(err)
			return
		}
		td := out.TaskDefinition
		c := td.ContainerDefinitions[0]
		fmt.Printf("%s revision %d %s: %s cpu %d memory %d, registered %s\n",
			td.TaskDefinitionArn, td.Revision, td.Status, c.Name, c.CPU, c.Memory, td.RegisteredAt.Format(time.RFC3339))
	}

	// A definition ECS would refuse is a ClientException naming the
	// container and the field.
	bad, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = ecs.RegisterTaskDefinition(ctx, bad)
	fmt.Println(err)
	// Output:
	// arn:aws:ecs:us-east-1:123456789012:task-definition/whitepaper:1 revision 1 ACTIVE: nginx cpu 1000 memory 500, registered 2015-04-01T12:00:00Z
	// arn:aws:ecs:us-east-1:123456789012:task-definition/whitepaper:2 revision 2 ACTIVE: nginx cpu 1000 memory 500, registered 2015-04-01T12:00:00Z
	// ClientException: Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified. (container "app", field containerDefinitions[0].memory)
}

func ExampleClient_RunTask() {
	ctx := context.Background()
	ecs := exampleClient()
	exampleWalkthrough(ctx, ecs)
	var first string
	for i := 1; i <= 3; i++ {
		out, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper"})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, f := range out.Failures {
			fmt.Printf("run %d: failed: %s\n", i, f.Reason)
		}
		for _, task := range out.Tasks {
			d, err := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{
				Cluster: "Walkthrough", ContainerInstances: []string{task.ContainerInstanceArn},
			})
			if err != nil {
				fmt.Println(err)
				return
			}
			ci := d.ContainerInstances[0]
			place := "the other instance"
			if first == "" {
				first, place = ci.Ec2InstanceId, "an instance"
			}
			rem := ci.RemainingResources
			fmt.Printf("run %d: %s %s in group %s on %s: remaining CPU %d, MEMORY %d, PORTS %v\n",
				i, task.LastStatus, task.Cpu+"/"+task.Memory, task.Group, place,
				rem[0].IntegerValue, rem[1].IntegerValue, rem[2].StringSetValue)
		}
	}
	// Output:
	// run 1: PENDING 1000/500 in group family:whitepaper on an instance: remaining CPU 24, MEMORY 496, PORTS [22 80 2375 2376 51678 51679]
	// run 2: PENDING 1000/500 in group family:whitepaper on the other instance: remaining CPU 24, MEMORY 496, PORTS [22 80 2375 2376 51678 51679]
	// run 3: failed: RESOURCE:CPU
}

func ExampleClient_StartTask() {
	ctx := context.Background()
	ecs := exampleClient()
	instances := exampleWalkthrough(ctx, ecs)
	// A custom scheduler chose the second instance, twice: the second task
	// does not fit next to the first.
	out, err := ecs.StartTask(ctx, &stevedore.StartTaskInput{
		Cluster:            "Walkthrough",
		TaskDefinition:     "whitepaper:1",
		ContainerInstances: []string{instances[1], instances[1]},
		StartedBy:          "my-scheduler",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, task := range out.Tasks {
		fmt.Println("started on the second instance:", task.ContainerInstanceArn == instances[1], task.StartedBy, task.LastStatus)
	}
	for _, f := range out.Failures {
		fmt.Println("failed on the second instance:", f.Arn == instances[1], f.Reason)
	}
	// Output:
	// started on the second instance: true my-scheduler PENDING
	// failed on the second instance: true RESOURCE:CPU
}

func ExampleClient_ListContainerInstances() {
	ctx := context.Background()
	ecs := exampleClient()
	if _, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "app01"}); err != nil {
		fmt.Println(err)
		return
	}
	ec2 := map[string]string{} // container instance ARN -> EC2 instance id
	for id, typ := range map[string]string{"i-0001": "t2.micro", "i-0002": "m4.large", "i-0003": "t2.micro"} {
		out, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "app01",
			InstanceIdentityDocument: `{"instanceId": "` + id + `", "instanceType": "` + typ + `"}`,
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 2048},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 3768},
			},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		ec2[out.ContainerInstance.ContainerInstanceArn] = id
	}
	out, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{
		Cluster: "app01",
		Filter:  "attribute:ecs.instance-type == t2.micro",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var ids []string
	for _, arn := range out.ContainerInstanceArns {
		ids = append(ids, ec2[arn])
	}
	slices.Sort(ids)
	fmt.Println(ids)

	_, err = ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01", Filter: "attribute:ecs.instance-type =="})
	fmt.Println(err != nil)
	// Output:
	// [i-0001 i-0003]
	// true
}

func ExampleClient_SubmitTaskStateChange() {
	ctx := context.Background()
	ecs := exampleClient()
	exampleWalkthrough(ctx, ecs)
	run, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper"})
	if err != nil {
		fmt.Println(err)
		return
	}
	task := run.Tasks[0].TaskArn
	for _, status := range []string{"RUNNING", "STOPPED"} {
		if _, err := ecs.SubmitTaskStateChange(ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: "Walkthrough", Task: task, Status: status}); err != nil {
			fmt.Println(err)
			return
		}
		d, err := ecs.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "Walkthrough", Tasks: []string{task}})
		if err != nil {
			fmt.Println(err)
			return
		}
		t := d.Tasks[0]
		fmt.Printf("lastStatus %s, desiredStatus %s, stopCode %q, stoppedReason %q\n", t.LastStatus, t.DesiredStatus, t.StopCode, t.StoppedReason)
	}
	// Output:
	// lastStatus RUNNING, desiredStatus RUNNING, stopCode "", stoppedReason ""
	// lastStatus STOPPED, desiredStatus STOPPED, stopCode "EssentialContainerExited", stoppedReason "Essential container in task exited"
}
