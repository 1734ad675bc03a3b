package taskdef

import (
	"fmt"
	"slices"
	"strconv"
)

// Demand is what one task of a definition takes from the container instance
// it runs on (ECS-SEMANTICS §1.3): CPU units, MiB of memory, the static TCP
// and UDP host ports it binds (sorted, unique) and whole GPUs.
type Demand struct {
	CPU, Memory     int64
	Ports, PortsUDP []uint16
	GPUs            int
}

// Demand computes the task demand vector (ECS-SEMANTICS §1.3, §1.5, §1.6):
//
//   - CPU: task-level cpu when set (> 0), else the sum of container cpu.
//   - Memory: task-level memory when set (> 0), else the sum over containers
//     of memoryReservation if set, else memory.
//   - Ports / PortsUDP: in bridge mode every hostPort > 0 (0 or omitted is
//     dynamic and takes nothing); in host mode hostPort, or containerPort when
//     hostPort is omitted; awsvpc and none take no host ports. Split by protocol.
//   - GPUs: the sum of GPU resourceRequirements.
//
// It fails only when a value it needs does not parse (task cpu or memory, a
// GPU count, a protocol or the network mode); it does not apply the other
// rules of [TaskDefinition.Validate]. Cost: O(containers + port mappings).
func (td TaskDefinition) Demand() (Demand, error) {
	var d Demand
	if !td.NetworkMode.Valid() {
		return Demand{}, fmt.Errorf("taskdef: demand: invalid network mode %q", td.NetworkMode)
	}
	mode := td.NetworkMode.Effective()
	var taskCPU, taskMemory int64
	var err error
	if td.CPU != "" {
		if taskCPU, err = ParseCPU(td.CPU); err != nil {
			return Demand{}, fmt.Errorf("taskdef: demand: %w", err)
		}
	}
	if td.Memory != "" {
		if taskMemory, err = ParseMemory(td.Memory); err != nil {
			return Demand{}, fmt.Errorf("taskdef: demand: %w", err)
		}
	}
	var cpu, mem int64
	for _, c := range td.ContainerDefinitions {
		cpu += int64(max(c.CPU, 0))
		mem += int64(containerMemory(c))
		for _, rr := range c.ResourceRequirements {
			if rr.Type != ResourceGPU {
				continue
			}
			g, err := strconv.Atoi(rr.Value)
			if err != nil || g < 0 {
				return Demand{}, fmt.Errorf("taskdef: demand: container %q: invalid GPU value %q", c.Name, rr.Value)
			}
			d.GPUs += g
		}
		for _, pm := range c.PortMappings {
			port := 0
			switch mode {
			case NetworkModeBridge:
				port = pm.HostPort
			case NetworkModeHost:
				port = pm.HostPort
				if port == 0 {
					port = pm.ContainerPort
				}
			}
			if port <= 0 || port > 65535 {
				continue
			}
			switch pm.Protocol {
			case "", ProtocolTCP:
				d.Ports = append(d.Ports, uint16(port))
			case ProtocolUDP:
				d.PortsUDP = append(d.PortsUDP, uint16(port))
			default:
				return Demand{}, fmt.Errorf("taskdef: demand: container %q: invalid protocol %q", c.Name, pm.Protocol)
			}
		}
	}
	d.CPU = cmpOrPositive(taskCPU, cpu)
	d.Memory = cmpOrPositive(taskMemory, mem)
	slices.Sort(d.Ports)
	d.Ports = slices.Compact(d.Ports)
	slices.Sort(d.PortsUDP)
	d.PortsUDP = slices.Compact(d.PortsUDP)
	return d, nil
}

// cmpOrPositive returns task if it is set (> 0), else sum.
func cmpOrPositive(task, sum int64) int64 {
	if task > 0 {
		return task
	}
	return sum
}
