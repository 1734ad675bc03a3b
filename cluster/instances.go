package cluster

import (
	"fmt"
	"slices"
	"time"
)

// Validate checks a registration: CPU and memory from 0 to [MaxAmount],
// at most [MaxReservedPorts] reserved ports, each listed once, and
// [MaxGPUs] distinct, non-empty GPU ids, well-formed attributes with unique
// names, at most [MaxCustomAttributes] custom ones.
func (spec InstanceSpec) Validate() error {
	if spec.CPU < 0 || spec.Memory < 0 || spec.CPU > MaxAmount || spec.Memory > MaxAmount {
		return fmt.Errorf("%w: CPU %d and MEMORY %d must be from 0 to %d", ErrInvalidSpec, spec.CPU, spec.Memory, int64(MaxAmount))
	}
	ports := spec.Ports
	if ports == nil {
		ports = defaultReservedPorts[:]
	}
	for _, list := range [2][]uint16{ports, spec.PortsUDP} {
		for i, p := range list {
			if slices.Contains(list[:i], p) {
				return fmt.Errorf("%w: reserved port %d is listed twice", ErrInvalidSpec, p)
			}
		}
	}
	if n := NewPortSet(ports...).Len() + NewPortSet(spec.PortsUDP...).Len(); n > MaxReservedPorts {
		return fmt.Errorf("%w: %d reserved ports; at most %d", ErrInvalidSpec, n, MaxReservedPorts)
	}
	if len(spec.GPUs) > MaxGPUs {
		return fmt.Errorf("%w: %d GPUs; at most %d", ErrInvalidSpec, len(spec.GPUs), MaxGPUs)
	}
	for i, id := range spec.GPUs {
		if id == "" || slices.Contains(spec.GPUs[:i], id) {
			return fmt.Errorf("%w: GPU id %q is empty or repeated", ErrInvalidSpec, id)
		}
	}
	attrs := sortedAttributes(spec.Attributes)
	for i, a := range attrs {
		if err := ValidateAttribute(a); err != nil {
			return err
		}
		if i > 0 && attrs[i-1].Name == a.Name {
			return fmt.Errorf("%w: attribute %q given twice", ErrInvalidSpec, a.Name)
		}
	}
	if n := customCount(attrs); n > MaxCustomAttributes {
		return fmt.Errorf("%w: %d custom attributes; the limit is %d", ErrAttributeLimit, n, MaxCustomAttributes)
	}
	return nil
}

func sortedAttributes(attrs []Attribute) []Attribute {
	attrs = slices.Clone(attrs)
	slices.SortFunc(attrs, func(a, b Attribute) int { return cmpAttr(a, b.Name) })
	return attrs
}

// RegisterInstance adds a container instance to the cluster, ACTIVE with its
// agent connected, and returns it. The spec is checked first
// ([InstanceSpec.Validate]); an invalid spec changes nothing.
func (c *Cluster) RegisterInstance(spec InstanceSpec) (InstanceInfo, error) {
	if err := spec.Validate(); err != nil {
		return InstanceInfo{}, err
	}
	ports := spec.Ports
	if ports == nil {
		ports = defaultReservedPorts[:]
	}
	reg, regUDP := NewPortSet(ports...), NewPortSet(spec.PortsUDP...)
	attrs := sortedAttributes(spec.Attributes)

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	id := c.newID()
	ec2 := spec.EC2InstanceID
	if ec2 == "" {
		ec2 = fmt.Sprintf("i-%017x", c.random())
	}
	in := &Instance{
		slot: int32(len(c.instances)), id: id,
		arn:           c.arnPrefix + "container-instance/" + c.name + "/" + id,
		ec2InstanceID: ec2, status: InstanceActive, connected: true,
		registeredAt: now, versionInfo: spec.Version,
		regCPU: spec.CPU, regMemory: spec.Memory, regPorts: reg, regUDP: regUDP,
		gpuIDs: slices.Clone(spec.GPUs),
		cpu:    spec.CPU, memory: spec.Memory, ports: reg.clone(), portsUDP: regUDP.clone(), // remaining: changed in place
		gpuFree: gpuMask(uint64(1)<<len(spec.GPUs) - 1),
		attrs:   attrs, provider: spec.CapacityProvider,
		eniLimit: int32(min(max(spec.ENIs, 0), MaxENIs)),
	}
	if len(spec.GPUs) == MaxGPUs {
		in.gpuFree = ^gpuMask(0)
	}
	c.instances = append(c.instances, in)
	c.byID[id] = in
	c.registered++
	c.touch(in)
	c.flush(InstanceRegistered)
	return in.Info(), nil
}

// DeregisterInstance makes the instance INACTIVE. An instance with tasks that
// are not stopped needs force, else [ErrInstanceHasTasks]; with force its
// tasks are marked STOPPED with ECS's reason "Container instance
// deregistration forced by user" (ECS orphans them: they no longer count,
// and a service replaces them). Deregistering an INACTIVE instance again
// returns it unchanged.
func (c *Cluster) DeregisterInstance(ref string, force bool) (InstanceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.instance(ref)
	if !ok {
		return InstanceInfo{}, fmt.Errorf("%w: %s", ErrInstanceNotFound, ref)
	}
	if in.status == InstanceInactive {
		return in.Info(), nil
	}
	if len(in.tasks) > 0 && !force {
		return InstanceInfo{}, fmt.Errorf("%w: container instance %s has %d tasks; stop them or use force", ErrInstanceHasTasks, in.id, len(in.tasks))
	}
	now := c.clock.Now()
	// [INF] the stop code of an orphaned task is UserInitiated: the user
	// forced the deregistration.
	c.stopAll(in, ReasonDeregistrationForced, StopUserInitiated, now)
	c.setStatus(in, InstanceInactive)
	in.connected = false
	c.flush(InstanceUpdated)
	return in.Info(), nil
}

// InstanceLost models the EC2 instance behind a container instance being
// stopped or terminated: its tasks stop with the reason "Host EC2 (instance
// <id>) terminated.", the agent disconnects and the container instance
// becomes INACTIVE. [INF] The stop code is TerminationNotice.
func (c *Cluster) InstanceLost(ref string) (InstanceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, err := c.liveInstance(ref)
	if err != nil {
		return InstanceInfo{}, err
	}
	now := c.clock.Now()
	c.stopAll(in, "Host EC2 (instance "+in.ec2InstanceID+") terminated.", StopTerminationNotice, now)
	c.setStatus(in, InstanceInactive)
	in.connected = false
	c.flush(InstanceUpdated)
	return in.Info(), nil
}

// SetInstanceStatus sets an ACTIVE or DRAINING instance to ACTIVE or DRAINING
// (UpdateContainerInstancesState). Setting the status it already has is not
// an error. INACTIVE instances cannot be updated.
func (c *Cluster) SetInstanceStatus(ref string, status InstanceStatus) (InstanceInfo, error) {
	if status != InstanceActive && status != InstanceDraining {
		return InstanceInfo{}, fmt.Errorf("%w: status must be ACTIVE or DRAINING, not %s", ErrInvalidTransition, status)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	in, err := c.liveInstance(ref)
	if err != nil {
		return InstanceInfo{}, err
	}
	if in.status != status {
		c.setStatus(in, status)
		c.flush(InstanceUpdated)
	}
	return in.Info(), nil
}

// SetAgentConnected records the agent of the instance connecting or
// disconnecting. Tasks keep running either way; only placement is affected.
func (c *Cluster) SetAgentConnected(ref string, connected bool) (InstanceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, err := c.liveInstance(ref)
	if err != nil {
		return InstanceInfo{}, err
	}
	if in.connected != connected {
		in.connected = connected
		c.touch(in)
		c.flush(InstanceUpdated)
	}
	return in.Info(), nil
}

// liveInstance looks up an instance that is not INACTIVE:
// [ErrInstanceNotFound] if there is none, [ErrInvalidTransition] if it was
// deregistered.
func (c *Cluster) liveInstance(ref string) (*Instance, error) {
	in, ok := c.instance(ref)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrInstanceNotFound, ref)
	}
	if in.status == InstanceInactive {
		return nil, fmt.Errorf("%w: container instance %s is INACTIVE", ErrInvalidTransition, in.id)
	}
	return in, nil
}

func (c *Cluster) setStatus(in *Instance, s InstanceStatus) {
	if in.status != InstanceInactive && s == InstanceInactive {
		c.registered--
	}
	in.status = s
	c.touch(in)
}

func (c *Cluster) stopAll(in *Instance, reason string, code StopCode, now time.Time) {
	for len(in.tasks) > 0 {
		c.stop(in.tasks[len(in.tasks)-1], reason, code, now)
	}
}
