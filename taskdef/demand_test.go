package taskdef

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemandFixtures(t *testing.T) {
	fx := fixtures(t)
	tests := []struct {
		file string
		want Demand
	}{
		{"whitepaper-nginx-task.json", Demand{CPU: 1000, Memory: 500, Ports: []uint16{80}}},
		{"microservices-location-task.json", Demand{CPU: 512, Memory: 1024, Ports: []uint16{8081}}},
		{"microservices-user-task.json", Demand{CPU: 512, Memory: 1024, Ports: []uint16{9091}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			td, err := Decode(fx[tt.file])
			require.NoError(t, err)
			got, err := td.Demand()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDemand(t *testing.T) {
	two := func(a, b ContainerDefinition) []ContainerDefinition { return []ContainerDefinition{a, b} }
	tests := []struct {
		name string
		td   TaskDefinition
		want Demand
	}{
		{"task level wins", TaskDefinition{CPU: "1 vCPU", Memory: "0.5GB", ContainerDefinitions: two(
			ContainerDefinition{CPU: 100, Memory: 100}, ContainerDefinition{CPU: 100, Memory: 100})},
			Demand{CPU: 1024, Memory: 512}},
		{"sums, reservation before memory", TaskDefinition{ContainerDefinitions: two(
			ContainerDefinition{CPU: 100, Memory: 300, MemoryReservation: 128}, ContainerDefinition{Memory: 64})},
			Demand{CPU: 100, Memory: 192}},
		{"bridge: static ports split by protocol, dynamic ignored, sorted unique", TaskDefinition{ContainerDefinitions: two(
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 53, HostPort: 53, Protocol: "udp"}, {ContainerPort: 9000}}},
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 53, HostPort: 53, Protocol: "tcp"}, {ContainerPort: 80, HostPort: 0}, {ContainerPortRange: "1-10"}}})},
			Demand{Ports: []uint16{53, 8080}, PortsUDP: []uint16{53}}},
		{"host: omitted hostPort reserves containerPort", TaskDefinition{NetworkMode: NetworkModeHost, ContainerDefinitions: two(
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 80}, {ContainerPort: 443, HostPort: 443}}},
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 514, Protocol: "udp"}}})},
			Demand{Ports: []uint16{80, 443}, PortsUDP: []uint16{514}}},
		{"awsvpc takes no host ports, one ENI", TaskDefinition{NetworkMode: NetworkModeAwsvpc, ContainerDefinitions: two(
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 80}}}, ContainerDefinition{})},
			Demand{ENIs: 1}},
		{"none takes no host ports", TaskDefinition{NetworkMode: NetworkModeNone, ContainerDefinitions: two(
			ContainerDefinition{PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 80}}}, ContainerDefinition{})},
			Demand{}},
		{"gpus summed", TaskDefinition{ContainerDefinitions: two(
			ContainerDefinition{ResourceRequirements: []ResourceRequirement{{Type: "GPU", Value: "2"}, {Type: "InferenceAccelerator", Value: "dev1"}}},
			ContainerDefinition{ResourceRequirements: []ResourceRequirement{{Type: "GPU", Value: "1"}}})},
			Demand{GPUs: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.td.Demand()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDemandErrors(t *testing.T) {
	tests := map[string]TaskDefinition{
		"cpu":          {CPU: "fast"},
		"memory":       {Memory: "big"},
		"network mode": {NetworkMode: "nat"},
		"gpu":          {ContainerDefinitions: []ContainerDefinition{{ResourceRequirements: []ResourceRequirement{{Type: "GPU", Value: "x"}}}}},
		"protocol":     {ContainerDefinitions: []ContainerDefinition{{PortMappings: []PortMapping{{HostPort: 1, Protocol: "sctp"}}}}},
	}
	for name, td := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := td.Demand()
			assert.Error(t, err)
		})
	}
}
