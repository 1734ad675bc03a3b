package taskdef

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validTD returns a small valid bridge-mode task definition with two
// containers, "web" and "sidecar", and one volume, "data".
func validTD() TaskDefinition {
	return TaskDefinition{
		Family: "web-app_1",
		ContainerDefinitions: []ContainerDefinition{
			{
				Name: "web", Image: "nginx", CPU: 256, Memory: 512, MemoryReservation: 256,
				PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 53, Protocol: "udp"}},
				Links:        []string{"sidecar:side"},
				MountPoints:  []MountPoint{{SourceVolume: "data", ContainerPath: "/data"}},
				VolumesFrom:  []VolumeFrom{{SourceContainer: "sidecar"}},
				DependsOn:    []ContainerDependency{{ContainerName: "sidecar", Condition: "START"}},
			},
			{Name: "sidecar", Image: "busybox", CPU: 128, Memory: 64, Essential: new(false)},
		},
		Volumes: []Volume{{Name: "data"}},
	}
}

func TestValidateValid(t *testing.T) {
	tests := map[string]func(*TaskDefinition){
		"base": func(*TaskDefinition) {},
		"task memory covers containers without memory": func(td *TaskDefinition) {
			td.Memory = "1GB"
			td.ContainerDefinitions[1].Memory = 0
		},
		"task cpu and memory equal to sums": func(td *TaskDefinition) {
			td.ContainerDefinitions[0].MemoryReservation = 0
			td.CPU, td.Memory = "384", "576"
		},
		"host mode hostPort equal to containerPort": func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeHost
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPort: 80, HostPort: 80}, {ContainerPort: 81}}
		},
		"53 tcp and 53 udp in two containers": func(td *TaskDefinition) {
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: 53, HostPort: 53}}
			td.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPort: 53, HostPort: 53, Protocol: "udp"}}
		},
		"bridge dynamic ports may repeat": func(td *TaskDefinition) {
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: 80}, {ContainerPort: 80, HostPort: 0}}
		},
		"awsvpc fargate": func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeAwsvpc
			td.RequiresCompatibilities = []Compatibility{CompatibilityFargate}
			td.CPU, td.Memory = "0.5 vCPU", "1GB"
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPort: 80}, {ContainerPortRange: "9000-9100"}}
		},
		"gpu and memberOf": func(td *TaskDefinition) {
			td.ContainerDefinitions[0].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "2"}}
			td.PlacementConstraints = []PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type =~ g4dn.*"}}
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			td := validTD()
			mutate(&td)
			assert.NoError(t, td.Validate())
		})
	}
}

func TestValidateRules(t *testing.T) {
	const client, param = ExceptionClient, ExceptionInvalidParameter
	tests := []struct {
		name      string
		mutate    func(*TaskDefinition)
		container string
		field     string
		exception string
		reason    string // substring; "" = not checked
	}{
		{"family required", func(td *TaskDefinition) { td.Family = "" }, "", "family", client, ""},
		{"family characters", func(td *TaskDefinition) { td.Family = "a.b" }, "", "family", client, ""},
		{"family length", func(td *TaskDefinition) { td.Family = strings.Repeat("a", 256) }, "", "family", client, ""},
		{"no containers", func(td *TaskDefinition) { td.ContainerDefinitions = nil }, "", "containerDefinitions", client, ""},
		{"too many containers", func(td *TaskDefinition) {
			for i := range 9 {
				td.ContainerDefinitions = append(td.ContainerDefinitions, ContainerDefinition{Name: fmt.Sprint("c", i), Image: "x", Memory: 1})
			}
		}, "", "containerDefinitions", client, "Too many containers."},
		{"network mode enum", func(td *TaskDefinition) { td.NetworkMode = "nat" }, "", "networkMode", param, ""},
		{"compatibility enum", func(td *TaskDefinition) { td.RequiresCompatibilities = []Compatibility{"EC2", "LAMBDA"} }, "", "requiresCompatibilities[1]", param, ""},
		{"task cpu unparsable", func(td *TaskDefinition) { td.CPU = "lots" }, "", "cpu", client, "Invalid 'cpu' setting for task."},
		{"task cpu below 128", func(td *TaskDefinition) { td.CPU = "64" }, "", "cpu", client, "Invalid 'cpu' setting for task."},
		{"task cpu above 196608", func(td *TaskDefinition) { td.CPU = "193 vCPU" }, "", "cpu", client, "Invalid 'cpu' setting for task."},
		{"task memory zero", func(td *TaskDefinition) { td.Memory = "0" }, "", "memory", client, "Invalid 'memory' setting for task."},
		{"task memory unparsable", func(td *TaskDefinition) { td.Memory = "1TB" }, "", "memory", client, ""},
		{"fargate needs awsvpc", func(td *TaskDefinition) {
			td.RequiresCompatibilities = []Compatibility{CompatibilityFargate}
			td.CPU, td.Memory = "1024", "2048"
		}, "", "networkMode", client, "Fargate only supports network mode 'awsvpc'."},
		{"fargate needs task cpu", func(td *TaskDefinition) {
			td.RequiresCompatibilities = []Compatibility{CompatibilityFargate}
			td.NetworkMode = NetworkModeAwsvpc
			td.ContainerDefinitions[0].Links = nil
		}, "", "cpu", client, ""},
		{"too many placement constraints", func(td *TaskDefinition) {
			for range 11 {
				td.PlacementConstraints = append(td.PlacementConstraints, PlacementConstraint{Type: "memberOf", Expression: "x"})
			}
		}, "", "placementConstraints", param, ""},
		{"distinctInstance in task definition", func(td *TaskDefinition) {
			td.PlacementConstraints = []PlacementConstraint{{Type: "distinctInstance"}}
		}, "", "placementConstraints[0].type", param, "not supported in a task definition"},
		{"constraint type enum", func(td *TaskDefinition) {
			td.PlacementConstraints = []PlacementConstraint{{Type: "memberof", Expression: "x"}}
		}, "", "placementConstraints[0].type", param, ""},
		{"constraint expression required", func(td *TaskDefinition) {
			td.PlacementConstraints = []PlacementConstraint{{Type: "memberOf"}}
		}, "", "placementConstraints[0].expression", param, ""},
		{"constraint expression length", func(td *TaskDefinition) {
			td.PlacementConstraints = []PlacementConstraint{{Type: "memberOf", Expression: strings.Repeat("x", 2001)}}
		}, "", "placementConstraints[0].expression", param, ""},
		{"volume name required", func(td *TaskDefinition) { td.Volumes = append(td.Volumes, Volume{}) }, "", "volumes[1].name", client, ""},
		{"volume name unique", func(td *TaskDefinition) { td.Volumes = append(td.Volumes, Volume{Name: "data"}) }, "", "volumes[1].name", client, ""},
		{"too many tags", func(td *TaskDefinition) { td.Tags = make([]Tag, 51) }, "", "tags", param, ""},
		{"tag key required", func(td *TaskDefinition) { td.Tags = []Tag{{Value: "v"}} }, "", "tags[0].key", param, ""},
		{"container name required", func(td *TaskDefinition) { td.ContainerDefinitions[1].Name = "" }, "", "containerDefinitions[1].name", client, "Container.name should not be null or empty."},
		{"container name characters", func(td *TaskDefinition) { td.ContainerDefinitions[1].Name = "side car" }, "side car", "containerDefinitions[1].name", client, ""},
		{"container name length", func(td *TaskDefinition) { td.ContainerDefinitions[1].Name = strings.Repeat("s", 256) }, strings.Repeat("s", 256), "containerDefinitions[1].name", client, ""},
		{"container name unique", func(td *TaskDefinition) { td.ContainerDefinitions[1].Name = "web" }, "web", "containerDefinitions[1].name", client, ""},
		{"image required", func(td *TaskDefinition) { td.ContainerDefinitions[1].Image = "" }, "sidecar", "containerDefinitions[1].image", client, ""},
		{"negative cpu", func(td *TaskDefinition) { td.ContainerDefinitions[1].CPU = -1 }, "sidecar", "containerDefinitions[1].cpu", client, ""},
		{"negative memory", func(td *TaskDefinition) { td.ContainerDefinitions[1].Memory = -1 }, "sidecar", "containerDefinitions[1].memory", client, ""},
		{"negative memoryReservation", func(td *TaskDefinition) { td.ContainerDefinitions[1].MemoryReservation = -1 }, "sidecar", "containerDefinitions[1].memoryReservation", client, ""},
		{"memory not above reservation", func(td *TaskDefinition) { td.ContainerDefinitions[0].MemoryReservation = 512 }, "web", "containerDefinitions[0].memoryReservation", client, ""},
		{"memory or reservation required", func(td *TaskDefinition) { td.ContainerDefinitions[1].Memory = 0 }, "sidecar", "containerDefinitions[1].memory", client,
			"Invalid setting for container 'sidecar'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"container memory above task", func(td *TaskDefinition) { td.Memory = "500" }, "web", "containerDefinitions[0].memory", param,
			"'memory' setting for container 'web' is greater than for task."},
		{"container reservation above task", func(td *TaskDefinition) {
			td.Memory = "200"
			td.ContainerDefinitions[0].Memory = 0
		}, "web", "containerDefinitions[0].memoryReservation", param, ""},
		{"container cpu above task", func(td *TaskDefinition) { td.CPU = "200" }, "web", "containerDefinitions[0].cpu", param, ""},
		{"sum of memory above task", func(td *TaskDefinition) {
			td.ContainerDefinitions[0].MemoryReservation = 0
			td.Memory = "575"
		}, "", "memory", param, ""},
		{"sum of cpu above task", func(td *TaskDefinition) { td.CPU = "300" }, "", "cpu", param, ""},
		{"no essential container", func(td *TaskDefinition) { td.ContainerDefinitions[0].Essential = new(false) }, "", "containerDefinitions", client, "essential"},
		{"containerPort above 65535", func(td *TaskDefinition) { td.ContainerDefinitions[0].PortMappings[0].ContainerPort = 65536 }, "web", "containerDefinitions[0].portMappings[0].containerPort", client, ""},
		{"containerPort negative", func(td *TaskDefinition) { td.ContainerDefinitions[0].PortMappings[0].ContainerPort = -1 }, "web", "containerDefinitions[0].portMappings[0].containerPort", client, ""},
		{"containerPort required", func(td *TaskDefinition) { td.ContainerDefinitions[0].PortMappings[0].ContainerPort = 0 }, "web", "containerDefinitions[0].portMappings[0].containerPort", client, ""},
		{"hostPort above 65535", func(td *TaskDefinition) { td.ContainerDefinitions[0].PortMappings[0].HostPort = 70000 }, "web", "containerDefinitions[0].portMappings[0].hostPort", client, ""},
		{"protocol enum", func(td *TaskDefinition) { td.ContainerDefinitions[0].PortMappings[0].Protocol = "sctp" }, "web", "containerDefinitions[0].portMappings[0].protocol", param, ""},
		{"one containerPort two protocols", func(td *TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings[1].ContainerPort = 80
		}, "web", "containerDefinitions[0].portMappings[1].protocol", client, "multiple protocols"},
		{"static host port twice in task", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: 81, HostPort: 8080}}
		}, "sidecar", "containerDefinitions[1].portMappings[0].hostPort", client, "already used by container 'web'"},
		{"host mode port twice in task", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeHost
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPort: 80}}
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: 80, HostPort: 80}}
		}, "sidecar", "containerDefinitions[1].portMappings[0].hostPort", client, ""},
		{"host mode hostPort differs", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeHost
			td.ContainerDefinitions[0].Links = nil
		}, "web", "containerDefinitions[0].portMappings[0].hostPort", client, "must match"},
		{"awsvpc hostPort differs", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeAwsvpc
			td.ContainerDefinitions[0].Links = nil
		}, "web", "containerDefinitions[0].portMappings[0].hostPort", client, "When networkMode=awsvpc"},
		{"none with port mappings", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeNone
			td.ContainerDefinitions[0].Links = nil
		}, "web", "containerDefinitions[0].portMappings", client, ""},
		{"port range malformed", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPortRange: "9100-9000"}}
		}, "sidecar", "containerDefinitions[1].portMappings[0].containerPortRange", client, ""},
		{"port range with containerPort", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: 1, ContainerPortRange: "9000-9100"}}
		}, "sidecar", "containerDefinitions[1].portMappings[0].containerPortRange", client, ""},
		{"port range in host mode", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeHost
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = []PortMapping{{ContainerPortRange: "9000-9100"}}
		}, "web", "containerDefinitions[0].portMappings[0].containerPortRange", client, ""},
		{"links outside bridge", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeHost
			td.ContainerDefinitions[0].PortMappings = nil
		},
			"web", "containerDefinitions[0].links", client, "bridge"},
		{"link to unknown container", func(td *TaskDefinition) { td.ContainerDefinitions[0].Links = []string{"db:db"} }, "web", "containerDefinitions[0].links[0]", client, ""},
		{"link to itself", func(td *TaskDefinition) { td.ContainerDefinitions[0].Links = []string{"web"} }, "web", "containerDefinitions[0].links[0]", client, ""},
		{"volumesFrom unknown container", func(td *TaskDefinition) { td.ContainerDefinitions[0].VolumesFrom[0].SourceContainer = "db" }, "web", "containerDefinitions[0].volumesFrom[0].sourceContainer", client, ""},
		{"mountPoint unknown volume", func(td *TaskDefinition) { td.ContainerDefinitions[0].MountPoints[0].SourceVolume = "logs" }, "web", "containerDefinitions[0].mountPoints[0].sourceVolume", client, ""},
		{"extraHosts with awsvpc", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeAwsvpc
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = nil
			td.ContainerDefinitions[1].ExtraHosts = []HostEntry{{Hostname: "a", IPAddress: "1.2.3.4"}}
		}, "sidecar", "containerDefinitions[1].extraHosts", client, ""},
		{"hostname with awsvpc", func(td *TaskDefinition) {
			td.NetworkMode = NetworkModeAwsvpc
			td.ContainerDefinitions[0].Links = nil
			td.ContainerDefinitions[0].PortMappings = nil
			td.ContainerDefinitions[1].Hostname = "side"
		}, "sidecar", "containerDefinitions[1].hostname", client, ""},
		{"gpu not a number", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "one"}}
		}, "sidecar", "containerDefinitions[1].resourceRequirements[0].value", client, ""},
		{"gpu zero", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "0"}}
		}, "sidecar", "containerDefinitions[1].resourceRequirements[0].value", client, ""},
		{"resource type enum", func(td *TaskDefinition) {
			td.ContainerDefinitions[1].ResourceRequirements = []ResourceRequirement{{Type: "TPU", Value: "1"}}
		}, "sidecar", "containerDefinitions[1].resourceRequirements[0].type", param, ""},
		{"dependsOn unknown container", func(td *TaskDefinition) { td.ContainerDefinitions[0].DependsOn[0].ContainerName = "db" }, "web", "containerDefinitions[0].dependsOn[0].containerName", client, ""},
		{"dependsOn condition enum", func(td *TaskDefinition) { td.ContainerDefinitions[0].DependsOn[0].Condition = "READY" }, "web", "containerDefinitions[0].dependsOn[0].condition", param, ""},
		{"encoded size above 64 KiB", func(td *TaskDefinition) {
			td.ContainerDefinitions[0].Command = []string{strings.Repeat("x", 64<<10)}
		}, "", "", client, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := validTD()
			tt.mutate(&td)
			err := td.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.field, ve.Field, "field of %v", err)
			assert.Equal(t, tt.container, ve.Container, "container of %v", err)
			assert.Equal(t, tt.exception, ve.Exception, "exception of %v", err)
			assert.Contains(t, ve.Reason, tt.reason)
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := error(&ValidationError{Container: "web", Field: "containerDefinitions[0].memory", Reason: "'memory' setting for container 'web' is greater than for task.", Exception: ExceptionInvalidParameter})
	assert.Equal(t, `taskdef: InvalidParameterException: 'memory' setting for container 'web' is greater than for task. (container "web", field containerDefinitions[0].memory)`, err.Error())
	assert.True(t, errors.Is(err, ErrInvalid))
	assert.Equal(t, "taskdef: ClientException: Too many containers. (field containerDefinitions)",
		(&ValidationError{Field: "containerDefinitions", Reason: "Too many containers.", Exception: ExceptionClient}).Error())
}
