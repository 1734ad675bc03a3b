package taskdef

import (
	"fmt"
	"slices"
)

// Demand is what one task of a definition takes from the container instance
// it runs on (docs/semantics.md §1.3): CPU units, MiB of memory, the static TCP
// and UDP host ports it binds (sorted, unique) and whole GPUs.
type Demand struct {
	CPU, Memory     int64
	Ports, PortsUDP []uint16
	GPUs            int
	// ENIs is 1 in awsvpc network mode (the task's own elastic network
	// interface, attached to its instance), else 0.
	ENIs int
}

// Demand computes the task demand vector (docs/semantics.md §1.3, §1.5, §1.6):
//
//   - CPU: task-level cpu when set (> 0), else the sum of container cpu.
//   - Memory: task-level memory when set (> 0), else the sum over containers
//     of memoryReservation if set, else memory.
//   - Ports / PortsUDP: in bridge mode every hostPort > 0 (0 or omitted is
//     dynamic and takes nothing); in host mode hostPort, or containerPort when
//     hostPort is omitted; awsvpc and none take no host ports. Split by protocol.
//   - GPUs: the sum of GPU resourceRequirements.
//   - ENIs: 1 in awsvpc mode, else 0.
//
// It fails when a value it needs does not parse (task cpu or memory, a
// GPU count, a protocol or the network mode) or is out of the range
// [TaskDefinition.Validate] allows (a negative amount, a container amount
// over [MaxContainerValue], more than [MaxContainers] containers, more than
// [MaxGPUs] GPUs), so that no sum it makes can overflow; it does not apply
// the other rules of Validate. Cost: O(containers + port mappings).
func (td TaskDefinition) Demand() (Demand, error) {
	var d Demand
	if !td.NetworkMode.Valid() {
		return Demand{}, fmt.Errorf("taskdef: demand: invalid network mode %q", td.NetworkMode)
	}
	mode := td.NetworkMode.Effective()
	if mode == NetworkModeAwsvpc {
		d.ENIs = 1
	}
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
	if len(td.ContainerDefinitions) > MaxContainers {
		return Demand{}, fmt.Errorf("taskdef: demand: %d containers; at most %d", len(td.ContainerDefinitions), MaxContainers)
	}
	var cpu, mem int64
	for _, c := range td.ContainerDefinitions {
		for _, v := range [...]int{c.CPU, c.Memory, c.MemoryReservation} {
			if v < 0 || v > MaxContainerValue {
				return Demand{}, fmt.Errorf("taskdef: demand: container %q: cpu, memory and memoryReservation must be from 0 to %d", c.Name, MaxContainerValue)
			}
		}
		cpu += int64(c.CPU)
		mem += int64(containerMemory(c))
		for _, rr := range c.ResourceRequirements {
			if rr.Type != ResourceGPU {
				continue
			}
			g, ok := gpuCount(rr.Value)
			if !ok {
				return Demand{}, fmt.Errorf("taskdef: demand: container %q: invalid GPU value %q", c.Name, rr.Value)
			}
			if d.GPUs += g; d.GPUs > MaxGPUs {
				return Demand{}, fmt.Errorf("taskdef: demand: more than %d GPUs", MaxGPUs)
			}
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
