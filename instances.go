package stevedore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/stevedore-go/stevedore/cluster"
)

// RegisterContainerInstanceInput is the input of
// [Client.RegisterContainerInstance], what an ECS agent sends when its
// instance joins a cluster.
type RegisterContainerInstanceInput struct {
	// Cluster is a name or ARN; empty means "default", which is created
	// if it does not exist, as the agent does.
	Cluster string `json:"cluster,omitempty"`
	// InstanceIdentityDocument is the EC2 instance identity document
	// (JSON). Its instanceId, availabilityZone, instanceType and imageId
	// give ec2InstanceId and the attributes ecs.availability-zone,
	// ecs.instance-type and ecs.ami-id. Optional.
	InstanceIdentityDocument string `json:"instanceIdentityDocument,omitempty"`
	// TotalResources are CPU and MEMORY (INTEGER, required), PORTS and
	// PORTS_UDP (STRINGSET; PORTS absent means 22, 2375, 2376, 51678,
	// 51679).
	TotalResources []Resource `json:"totalResources"`
	// VersionInfo is the agent and Docker version.
	VersionInfo VersionInfo `json:"versionInfo,omitzero"`
	// Attributes are built-in and custom attributes; they override the
	// built-in defaults (ecs.os-type linux, ecs.os-family LINUX,
	// ecs.cpu-architecture x86_64, and the capabilities an ECS-optimized
	// AMI's agent reports: ecs.capability.task-eni, task-iam-role and the
	// json-file, none, awslogs, syslog, fluentd and awsfirelens logging
	// drivers).
	Attributes []Attribute `json:"attributes,omitempty"`
	// PlatformDevices lists the instance's GPUs (type GPU).
	PlatformDevices []PlatformDevice `json:"platformDevices,omitempty"`
	// CapacityProviderName, if not empty, is the ACTIVE capacity provider
	// the instance belongs to. In ECS the Auto Scaling group that launched
	// an instance decides it (and a modelled group's instances register
	// with it); a program that registers instances itself may name it
	// (Stevedore's addition).
	CapacityProviderName string `json:"capacityProviderName,omitempty"`
}

// RegisterContainerInstanceOutput is the output of
// [Client.RegisterContainerInstance].
type RegisterContainerInstanceOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// defaultAttributes are the built-in attributes an agent reports on a
// Linux x86_64 instance that supports awsvpc [INF: the set is ours].
var defaultAttributes = []cluster.Attribute{
	{Name: "ecs.os-type", Value: "linux"},
	{Name: "ecs.os-family", Value: "LINUX"},
	{Name: "ecs.cpu-architecture", Value: "x86_64"},
	{Name: "ecs.capability.task-eni"},
	{Name: "com.amazonaws.ecs.capability.task-iam-role"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.json-file"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.none"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.awslogs"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.syslog"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.fluentd"},
	{Name: "com.amazonaws.ecs.capability.logging-driver.awsfirelens"},
}

// RegisterContainerInstance registers a container instance, ACTIVE with
// its agent connected.
func (c *Client) RegisterContainerInstance(ctx context.Context, in *RegisterContainerInstanceInput) (*RegisterContainerInstanceOutput, error) {
	if in == nil {
		in = &RegisterContainerInstanceInput{}
	}
	spec, err := c.instanceSpec(in)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, instanceError(err)
	}
	if in.CapacityProviderName != "" {
		c.cpMu.Lock()
		p, err := c.activeProvider(in.CapacityProviderName)
		c.cpMu.Unlock()
		if err != nil {
			return nil, err
		}
		spec.CapacityProvider = p.Name
	}
	if in.Cluster == "" || in.Cluster == "default" {
		if _, err := c.ensureDefault(ctx); err != nil {
			return nil, err
		}
	}
	var out *RegisterContainerInstanceOutput
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		info, err := e.c.RegisterInstance(spec)
		if err != nil {
			return instanceError(err)
		}
		out = &RegisterContainerInstanceOutput{ContainerInstance: containerInstance(info)}
		return nil
	})
	return out, err
}

func (c *Client) ensureDefault(ctx context.Context) (*CreateClusterOutput, error) {
	return c.CreateCluster(ctx, &CreateClusterInput{ClusterName: "default"})
}

func (c *Client) instanceSpec(in *RegisterContainerInstanceInput) (cluster.InstanceSpec, error) {
	var spec cluster.InstanceSpec
	attrs := map[string]string{}
	for _, a := range defaultAttributes {
		attrs[a.Name] = a.Value
	}
	if in.InstanceIdentityDocument != "" {
		var doc struct {
			InstanceID       string `json:"instanceId"`
			AvailabilityZone string `json:"availabilityZone"`
			InstanceType     string `json:"instanceType"`
			ImageID          string `json:"imageId"`
		}
		if err := json.Unmarshal([]byte(in.InstanceIdentityDocument), &doc); err != nil {
			return spec, invalidParameter(err, "instanceIdentityDocument is not a valid JSON document: %v", err)
		}
		spec.EC2InstanceID = doc.InstanceID
		for name, v := range map[string]string{
			"ecs.availability-zone": doc.AvailabilityZone,
			"ecs.instance-type":     doc.InstanceType,
			"ecs.ami-id":            doc.ImageID,
		} {
			if v != "" {
				attrs[name] = v
			}
		}
	}
	var haveCPU, haveMemory bool
	seen := map[string]bool{}
	for i, r := range in.TotalResources {
		if seen[r.Name] {
			return spec, invalidParameter(nil, "totalResources[%d]: resource %s is given twice.", i, r.Name)
		}
		seen[r.Name] = true
		switch r.Name {
		case "CPU", "MEMORY":
			v, err := integerResource(r)
			if err != nil {
				return spec, invalidParameter(err, "totalResources[%d] (%s): %v", i, r.Name, err)
			}
			if r.Name == "CPU" {
				spec.CPU, haveCPU = v, true
			} else {
				spec.Memory, haveMemory = v, true
			}
		case "PORTS", "PORTS_UDP":
			if r.Type != "" && r.Type != "STRINGSET" {
				return spec, invalidParameter(nil, "totalResources[%d] (%s): type must be STRINGSET, not %s.", i, r.Name, r.Type)
			}
			ports := make([]uint16, 0, len(r.StringSetValue))
			for _, s := range r.StringSetValue {
				p, err := strconv.ParseUint(s, 10, 16)
				if err != nil || p == 0 {
					return spec, invalidParameter(err, "totalResources[%d] (%s): %q is not a port number from 1 to 65535.", i, r.Name, s)
				}
				if slices.Contains(ports, uint16(p)) {
					return spec, invalidParameter(nil, "totalResources[%d] (%s): port %s is listed twice.", i, r.Name, s)
				}
				ports = append(ports, uint16(p))
			}
			if r.Name == "PORTS" {
				spec.Ports = ports
			} else {
				spec.PortsUDP = ports
			}
		default:
			// [INF] ECS accepts user-defined resources; the model
			// schedules only CPU, MEMORY, PORTS, PORTS_UDP and GPU
			// (platformDevices), so anything else is refused rather
			// than silently ignored.
			return spec, invalidParameter(nil, "totalResources[%d]: resource %q is not supported; use CPU, MEMORY, PORTS, PORTS_UDP, and platformDevices for GPUs.", i, r.Name)
		}
	}
	if !haveCPU || !haveMemory {
		return spec, invalidParameter(nil, "totalResources must include CPU and MEMORY.")
	}
	for i, d := range in.PlatformDevices {
		if d.Type != "GPU" {
			return spec, invalidParameter(nil, "platformDevices[%d]: type must be GPU, not %q.", i, d.Type)
		}
		spec.GPUs = append(spec.GPUs, d.Id)
	}
	for i, a := range in.Attributes {
		for _, b := range in.Attributes[:i] {
			if b.Name == a.Name {
				return spec, invalidParameter(nil, "attributes[%d]: attribute %q is given twice.", i, a.Name)
			}
		}
		attrs[a.Name] = a.Value
	}
	enis, err := c.taskENIs(attrs)
	if err != nil {
		return spec, err
	}
	spec.ENIs = enis
	for name, v := range attrs {
		spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: name, Value: v})
	}
	spec.Version = cluster.VersionInfo(in.VersionInfo)
	return spec, nil
}

// integerResource reads CPU or MEMORY: an INTEGER, as ECS carries it
// (32 bits), or [INF] a LONG within the same range.
func integerResource(r Resource) (int64, error) {
	var v int64
	switch r.Type {
	case "", "INTEGER":
		v = r.IntegerValue
		if v == 0 && r.LongValue != 0 {
			v = r.LongValue
		}
	case "LONG":
		v = r.LongValue
	default:
		return 0, fmt.Errorf("type must be INTEGER, not %s", r.Type)
	}
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("value %d is not from 0 to %d", v, math.MaxInt32)
	}
	return v, nil
}

// instanceError maps a cluster error about an instance to an ECS exception.
func instanceError(err error) error {
	switch {
	case errors.Is(err, cluster.ErrAttributeLimit):
		return &AttributeLimitExceededException{Message: err.Error(), Err: err}
	case errors.Is(err, cluster.ErrInstanceNotFound):
		return invalidParameter(err, "Container instance not found: %v", err)
	case errors.Is(err, cluster.ErrInstanceHasTasks):
		return invalidParameter(err, "Found running tasks on the instance. %v", err)
	case errors.Is(err, cluster.ErrInvalidSpec), errors.Is(err, cluster.ErrInvalidTransition):
		return invalidParameter(err, "%v", err)
	}
	return err
}

func containerInstance(info cluster.InstanceInfo) ContainerInstance {
	out := ContainerInstance{
		ContainerInstanceArn: info.ARN,
		Ec2InstanceId:        info.EC2InstanceID,
		Version:              info.Version,
		VersionInfo:          VersionInfo(info.VersionInfo),
		Status:               info.Status.String(),
		AgentConnected:       info.AgentConnected,
		RunningTasksCount:    info.RunningTasksCount,
		PendingTasksCount:    info.PendingTasksCount,
		RegisteredAt:         info.RegisteredAt,
		CapacityProviderName: info.CapacityProvider,
		RegisteredResources: resources(info.RegisteredCPU, info.RegisteredMemory,
			info.RegisteredPorts, info.RegisteredPortsUDP, info.RegisteredGPUs),
		RemainingResources: resources(info.RemainingCPU, info.RemainingMemory,
			info.RemainingPorts, info.RemainingPortsUDP, info.RemainingGPUs),
	}
	if len(info.RegisteredGPUs) > 0 && len(info.RemainingGPUs) == 0 {
		out.RemainingResources = append(out.RemainingResources, Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: []string{}})
	}
	for _, a := range info.Attributes {
		out.Attributes = append(out.Attributes, Attribute{Name: a.Name, Value: a.Value})
	}
	return out
}

func resources(cpu, mem int64, ports, udp cluster.PortSet, gpus []string) []Resource {
	out := []Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: mem},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports.Strings()},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: udp.Strings()},
	}
	if len(gpus) > 0 {
		out = append(out, Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: slices.Clone(gpus)})
	}
	return out
}

// DescribeContainerInstancesInput is the input of
// [Client.DescribeContainerInstances].
type DescribeContainerInstancesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// ContainerInstances are ids or ARNs: 1 to 100.
	ContainerInstances []string `json:"containerInstances"`
}

// DescribeContainerInstancesOutput is the output of
// [Client.DescribeContainerInstances].
type DescribeContainerInstancesOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// DescribeContainerInstances describes container instances; unknown ones
// are MISSING failures.
func (c *Client) DescribeContainerInstances(ctx context.Context, in *DescribeContainerInstancesInput) (*DescribeContainerInstancesOutput, error) {
	if in == nil {
		in = &DescribeContainerInstancesInput{}
	}
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParameter(nil, "Container Instances cannot be empty.")
	}
	if len(in.ContainerInstances) > 100 {
		return nil, invalidParameter(nil, "containerInstances can have at most 100 items.")
	}
	out := &DescribeContainerInstancesOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		e.c.Read(func(v *cluster.View) {
			for _, ref := range in.ContainerInstances {
				inst, ok := v.Instance(ref)
				if !ok {
					out.Failures = append(out.Failures, Failure{Arn: v.InstanceARN(ref), Reason: "MISSING"})
					continue
				}
				out.ContainerInstances = append(out.ContainerInstances, containerInstance(inst.Info()))
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListContainerInstancesInput is the input of
// [Client.ListContainerInstances].
type ListContainerInstancesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Status is ACTIVE, DRAINING or INACTIVE; empty lists every status
	// but INACTIVE.
	Status string `json:"status,omitempty"`
	// Filter is a cluster query language expression the instances must
	// match, e.g. "attribute:ecs.instance-type == t2.micro".
	Filter     string `json:"filter,omitempty"`
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListContainerInstancesOutput is the output of
// [Client.ListContainerInstances].
type ListContainerInstancesOutput struct {
	ContainerInstanceArns []string `json:"containerInstanceArns"`
	NextToken             string   `json:"nextToken,omitempty"`
}

// ListContainerInstances lists the ARNs of a cluster's container
// instances in pages, in registration order [INF], filtered by status and
// by a cluster query language expression. A page costs the instances it
// passes over.
func (c *Client) ListContainerInstances(ctx context.Context, in *ListContainerInstancesInput) (*ListContainerInstancesOutput, error) {
	if in == nil {
		in = &ListContainerInstancesInput{}
	}
	var status cluster.InstanceStatus
	if in.Status != "" {
		s, ok := cluster.ParseInstanceStatus(in.Status)
		if !ok {
			return nil, invalidParameter(nil, "status must be one of [ACTIVE, DRAINING, INACTIVE], not %q.", in.Status)
		}
		status = s
	}
	match, err := compileFilter(in.Filter)
	if err != nil {
		return nil, err
	}
	maxResults, after, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &ListContainerInstancesOutput{ContainerInstanceArns: []string{}}
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		e.c.Read(func(v *cluster.View) {
			// Slot s+1 is the instance after token s: registration order.
			for slot := int(min(after, uint64(v.NumSlots()))); slot < v.NumSlots(); slot++ {
				inst := v.InstanceAt(slot)
				if status == 0 && inst.Status() == cluster.InstanceInactive ||
					status != 0 && inst.Status() != status {
					continue
				}
				if match != nil && !match(inst) {
					continue
				}
				if len(out.ContainerInstanceArns) == maxResults {
					out.NextToken = pageToken(after)
					return
				}
				out.ContainerInstanceArns = append(out.ContainerInstanceArns, inst.ARN())
				after = uint64(slot) + 1
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
