package taskdef_test

import (
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/stevedore-go/stevedore/taskdef"
)

// nginxTask is the whitepaper's task definition, as
// `aws ecs register-task-definition --cli-input-json` takes it.
//
//go:embed testdata/whitepaper-nginx-task.json
var nginxTask []byte

func ExampleDecode() {
	td, err := taskdef.Decode(nginxTask)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := td.ContainerDefinitions[0]
	fmt.Println(td.Family, c.Name, c.Image, c.CPU, c.Memory, c.IsEssential())
	fmt.Println(td.Validate())

	_, err = taskdef.Decode([]byte(`{"family": "web", "containerDefinitions": [{"name": "web", "imag": "nginx"}]}`))
	var unknown *taskdef.UnknownFieldError
	if errors.As(err, &unknown) {
		fmt.Println(unknown.Field)
	}
	// Output:
	// whitepaper nginx dockerfile/nginx 1000 500 true
	// <nil>
	// containerDefinitions[0].imag
}

func ExampleEncode() {
	td := taskdef.TaskDefinition{
		Family:   "web",
		Memory:   "0.5GB",
		Revision: 7, // output-only: left out
		ContainerDefinitions: []taskdef.ContainerDefinition{
			{Name: "web", Image: "nginx", PortMappings: []taskdef.PortMapping{{ContainerPort: 80}}},
		},
	}
	out, err := taskdef.Encode(td)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {
	//   "containerDefinitions": [
	//     {
	//       "name": "web",
	//       "image": "nginx",
	//       "portMappings": [
	//         {
	//           "containerPort": 80
	//         }
	//       ]
	//     }
	//   ],
	//   "family": "web",
	//   "memory": "0.5GB"
	// }
}

func ExampleTaskDefinition_Validate() {
	td := taskdef.TaskDefinition{
		Family: "artillery",
		Memory: "512",
		ContainerDefinitions: []taskdef.ContainerDefinition{
			{Name: "artillery", Image: "artilleryio/artillery", Memory: 1024},
		},
	}
	err := td.Validate()
	var ve *taskdef.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Exception)
		fmt.Println(ve.Field)
		fmt.Println(ve.Reason)
	}
	fmt.Println(errors.Is(err, taskdef.ErrInvalid))
	// Output:
	// InvalidParameterException
	// containerDefinitions[0].memory
	// 'memory' setting for container 'artillery' is greater than for task.
	// true
}

func ExampleTaskDefinition_Demand() {
	td, err := taskdef.Decode(nginxTask)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := td.Demand()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("CPU %d MEMORY %d PORTS %v PORTS_UDP %v GPU %d\n", d.CPU, d.Memory, d.Ports, d.PortsUDP, d.GPUs)
	// Output:
	// CPU 1000 MEMORY 500 PORTS [80] PORTS_UDP [] GPU 0
}

func ExampleRegistry_Register() {
	reg := taskdef.NewRegistry("us-east-1", "123456789012")
	td := taskdef.TaskDefinition{
		Family: "web",
		CPU:    "0.25 vCPU",
		Memory: "0.5GB",
		ContainerDefinitions: []taskdef.ContainerDefinition{
			{Name: "web", Image: "nginx", PortMappings: []taskdef.PortMapping{{ContainerPort: 80, HostPort: 80}}},
		},
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for range 2 {
		e, err := reg.Register(td, at)
		if err != nil {
			fmt.Println(err)
			return
		}
		def := e.Definition()
		fmt.Println(e.ARN(), e.Status(), def.CPU, def.Memory, def.Compatibilities, e.Demand().Ports)
	}
	// Output:
	// arn:aws:ecs:us-east-1:123456789012:task-definition/web:1 ACTIVE 256 512 [EC2] [80]
	// arn:aws:ecs:us-east-1:123456789012:task-definition/web:2 ACTIVE 256 512 [EC2] [80]
}

func ExampleRegistry_Resolve() {
	reg := taskdef.NewRegistry("us-east-1", "123456789012")
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	td := taskdef.TaskDefinition{
		Family:               "web",
		ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "web", Image: "nginx", Memory: 128}},
	}
	for range 3 {
		if _, err := reg.Register(td, at); err != nil {
			fmt.Println(err)
			return
		}
	}
	if _, err := reg.Deregister("web:3", at.Add(time.Hour)); err != nil {
		fmt.Println(err)
		return
	}
	for _, ref := range []string{"web", "web:3", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"} {
		e, err := reg.Resolve(ref)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ref, "->", e.Revision(), e.Status())
	}
	_, err := reg.Resolve("web:foo")
	fmt.Println(errors.Is(err, taskdef.ErrInvalidReference), err)
	_, err = reg.Resolve("db")
	fmt.Println(errors.Is(err, taskdef.ErrNotFound))
	fmt.Println(reg.List("web", taskdef.StatusAll, true))
	// Output:
	// web -> 2 ACTIVE
	// web:3 -> 3 INACTIVE
	// arn:aws:ecs:us-east-1:123456789012:task-definition/web:1 -> 1 ACTIVE
	// true taskdef: ClientException: task definition "web:foo": Invalid revision number. Number: foo
	// true
	// [arn:aws:ecs:us-east-1:123456789012:task-definition/web:3 arn:aws:ecs:us-east-1:123456789012:task-definition/web:2 arn:aws:ecs:us-east-1:123456789012:task-definition/web:1]
}

func ExampleDecodeDescribed() {
	out := []byte(`{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
    "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}],
    "family": "web",
    "revision": 3,
    "status": "INACTIVE",
    "compatibilities": ["EC2"],
    "registeredAt": "2024-01-02T03:04:05.123000+00:00"
  },
  "tags": [{"key": "team", "value": "blue"}]
}`)
	td, err := taskdef.DecodeDescribed(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(td.Family, td.Revision, td.Status, td.RegisteredAt.UTC().Format(time.RFC3339Nano), td.Tags[0].Key)
	// Output:
	// web 3 INACTIVE 2024-01-02T03:04:05.123Z team
}

func ExampleRegistry_Deregister() {
	reg := taskdef.NewRegistry("us-east-1", "123456789012")
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, family := range []string{"web", "web", "batch"} {
		td := taskdef.TaskDefinition{
			Family:               family,
			ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "app", Image: "busybox", Memory: 64}},
		}
		if _, err := reg.Register(td, at); err != nil {
			fmt.Println(err)
			return
		}
	}
	before, _ := reg.Resolve("batch:1")
	after, err := reg.Deregister("batch:1", at.Add(time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(before.Status(), after.Status(), after.DeregisteredAt().Format(time.RFC3339))
	fmt.Println(reg.List("", "", false))
	fmt.Println(reg.Families("", taskdef.StatusActive), reg.Families("", taskdef.StatusInactive))
	// Output:
	// ACTIVE INACTIVE 2024-01-02T04:04:05Z
	// [arn:aws:ecs:us-east-1:123456789012:task-definition/web:1 arn:aws:ecs:us-east-1:123456789012:task-definition/web:2]
	// [web] [batch]
}
