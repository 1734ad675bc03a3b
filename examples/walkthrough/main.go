// Command walkthrough replays the container-scheduling walkthrough of the AWS
// whitepaper "Docker on AWS": a cluster of two small instances, the nginx task
// definition, and three run-task calls — the first two land on different
// instances, the third fails with RESOURCE:CPU.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/stevedore-go/stevedore"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "walkthrough:", err)
		os.Exit(1)
	}
}

//go:embed whitepaper-nginx-task.json
var nginxTask []byte

//go:embed whitepaper-describe-container-instances.json
var describedInstances []byte

func run(w io.Writer) error {
	ctx := context.Background()
	ecs, err := stevedore.New(stevedore.Options{
		Clock: stevedore.NewManualClock(time.Date(2015, 4, 1, 12, 0, 0, 0, time.UTC)),
		Rand:  rand.NewPCG(2015, 4),
	})
	if err != nil {
		return err
	}
	show := func(step string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "$ %s\n%s\n\n", step, b)
		return err
	}

	// Step 1: create the cluster.
	created, err := ecs.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "Walkthrough"})
	if err != nil {
		return err
	}
	if err := show("aws ecs create-cluster --cluster-name Walkthrough", created); err != nil {
		return err
	}

	// Step 2: two instances register, each like the whitepaper's
	// describe-container-instances output. On EC2 the ECS agent makes this
	// call when the instance boots; here the program makes it.
	var described stevedore.DescribeContainerInstancesOutput
	if err := json.Unmarshal(describedInstances, &described); err != nil {
		return err
	}
	template := described.ContainerInstances[0]
	if _, err := fmt.Fprint(w, "# The ECS agent on each instance registers it: its EC2 identity and the CPU units\n# and MiB it offers (the whitepaper's instances: 1024 CPU, 996 MiB).\n"); err != nil {
		return err
	}
	for _, ec2 := range []string{"i-c5690f29", "i-d8f1a2b3"} {
		reg, err := ecs.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "Walkthrough",
			InstanceIdentityDocument: stevedore.IdentityDocument(ec2, "t2.micro", "us-east-1a"),
			TotalResources:           template.RegisteredResources,
		})
		if err != nil {
			return err
		}
		cpu, _ := reg.ContainerInstance.Registered("CPU")
		memory, _ := reg.ContainerInstance.Registered("MEMORY")
		cmd := fmt.Sprintf("aws ecs register-container-instance --cluster Walkthrough --instance-identity-document file://%s-identity.json --total-resources file://whitepaper-resources.json", ec2)
		if err := show(cmd, reg); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "# %s registered: CPU %d, MEMORY %d, the agent's reserved ports\n\n", ec2, cpu.IntegerValue, memory.IntegerValue); err != nil {
			return err
		}
	}
	list, err := ecs.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "Walkthrough"})
	if err != nil {
		return err
	}
	if err := show("aws ecs list-container-instances --cluster Walkthrough", list); err != nil {
		return err
	}

	// Step 3: register the nginx task definition, unmodified.
	input, err := stevedore.DecodeRegisterTaskDefinitionInput(nginxTask)
	if err != nil {
		return err
	}
	registered, err := ecs.RegisterTaskDefinition(ctx, input)
	if err != nil {
		return err
	}
	if err := show("aws ecs register-task-definition --cli-input-json file://whitepaper-nginx-task.json", registered); err != nil {
		return err
	}

	// Step 4: run one task and describe the instance it landed on.
	for i := 1; i <= 3; i++ {
		ran, err := ecs.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper", Count: 1})
		if err != nil {
			return err
		}
		if err := show("aws ecs run-task --cluster Walkthrough --task-definition whitepaper --count 1", ran); err != nil {
			return err
		}
		if len(ran.Tasks) == 0 {
			// ECS fills arn and reason; the detail is Stevedore's own
			// addition, which ECS leaves empty.
			_, err := fmt.Fprint(w, "# No instance has 1000 CPU left: ECS reports the closest instance and RESOURCE:CPU.\n# \"detail\" is Stevedore's addition (ECS leaves it empty): how many instances failed each check.\n")
			return err
		}
		desc, err := ecs.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{
			Cluster:            "Walkthrough",
			ContainerInstances: []string{ran.Tasks[0].ContainerInstanceArn},
		})
		if err != nil {
			return err
		}
		ci := desc.ContainerInstances[0]
		if err := show("aws ecs describe-container-instances --cluster Walkthrough --container-instances "+ci.ContainerInstanceArn, desc); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "# task %d is on %s: remaining %s\n\n", i, ci.Ec2InstanceId, summary(ci.RemainingResources)); err != nil {
			return err
		}
	}
	return nil
}

// summary renders remaining resources on one line: CPU 24, MEMORY 496,
// PORTS [22 80 ...].
func summary(rs []stevedore.Resource) string {
	var s string
	for _, r := range rs {
		if s != "" {
			s += ", "
		}
		if r.Type == "INTEGER" {
			s += fmt.Sprintf("%s %d", r.Name, r.IntegerValue)
		} else {
			s += fmt.Sprintf("%s %v", r.Name, r.StringSetValue)
		}
	}
	return s
}
