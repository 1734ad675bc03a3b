package stevedore

import (
	"slices"
	"time"

	"github.com/stevedore-go/stevedore/taskdef"
)

// Cluster is a cluster as DescribeClusters reports it.
type Cluster struct {
	ClusterArn                        string `json:"clusterArn"`
	ClusterName                       string `json:"clusterName"`
	Status                            string `json:"status"`
	RegisteredContainerInstancesCount int    `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int    `json:"runningTasksCount"`
	PendingTasksCount                 int    `json:"pendingTasksCount"`
	ActiveServicesCount               int    `json:"activeServicesCount"`
	// Statistics, with DescribeClusters' include STATISTICS, are the
	// commit counters: commits, commitConflicts (proposals rejected
	// because another scheduler changed the state first, each decided
	// again up to Options.MaxCommitAttempts times), tasksStarted,
	// tasksStopped, commitRetries (the proposals that were such second or
	// later decisions).
	Statistics []KeyValuePair `json:"statistics,omitempty"`
	Tags       []Tag          `json:"tags,omitempty"`
	// CapacityProviders are the cluster's capacity providers, by name;
	// DefaultCapacityProviderStrategy is what RunTask and CreateService
	// use when they name neither a launch type nor a strategy.
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

// KeyValuePair is a name and a value.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag is a key-value pair attached to a resource.
type Tag = taskdef.Tag

// TaskOverride is what RunTask and StartTask change in a task definition
// for the tasks they start (ECS's TaskOverride): task-level cpu and memory,
// and per container its cpu, memory, memoryReservation, GPUs, command and
// environment. The amounts change the tasks' demand.
type TaskOverride = taskdef.TaskOverride

// ContainerOverride is the override of one container, named by Name.
type ContainerOverride = taskdef.ContainerOverride

// Resource is one resource of a container instance: CPU and MEMORY as
// INTEGER, PORTS, PORTS_UDP and GPU as STRINGSET.
type Resource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	IntegerValue   int64    `json:"integerValue"`
	LongValue      int64    `json:"longValue"`
	DoubleValue    float64  `json:"doubleValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// Attribute is an attribute of a container instance. TargetType and
// TargetId name the instance in PutAttributes and DeleteAttributes.
type Attribute struct {
	Name       string `json:"name"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetId   string `json:"targetId,omitempty"`
}

// VersionInfo is the agent and Docker version of a container instance.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// PlatformDevice is a device of the instance; GPUs are the devices that
// matter to scheduling.
type PlatformDevice struct {
	Id   string `json:"id"`
	Type string `json:"type"`
}

// ContainerInstance is a container instance as DescribeContainerInstances
// reports it.
type ContainerInstance struct {
	ContainerInstanceArn string      `json:"containerInstanceArn"`
	Ec2InstanceId        string      `json:"ec2InstanceId"`
	Version              int64       `json:"version"`
	VersionInfo          VersionInfo `json:"versionInfo"`
	RemainingResources   []Resource  `json:"remainingResources"`
	RegisteredResources  []Resource  `json:"registeredResources"`
	Status               string      `json:"status"`
	AgentConnected       bool        `json:"agentConnected"`
	RunningTasksCount    int         `json:"runningTasksCount"`
	PendingTasksCount    int         `json:"pendingTasksCount"`
	Attributes           []Attribute `json:"attributes,omitempty"`
	RegisteredAt         time.Time   `json:"registeredAt"`
	// CapacityProviderName is the capacity provider the instance belongs
	// to, if any.
	CapacityProviderName string `json:"capacityProviderName,omitempty"`
}

// Task is a task as DescribeTasks reports it. Unset times are omitted.
type Task struct {
	TaskArn              string `json:"taskArn"`
	ClusterArn           string `json:"clusterArn"`
	TaskDefinitionArn    string `json:"taskDefinitionArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	LastStatus           string `json:"lastStatus"`
	DesiredStatus        string `json:"desiredStatus"`
	Cpu                  string `json:"cpu"`
	Memory               string `json:"memory"`
	Group                string `json:"group"`
	StartedBy            string `json:"startedBy,omitempty"`
	LaunchType           string `json:"launchType"`
	Version              int64  `json:"version"`
	// AvailabilityZone is the Availability Zone of the task's instance
	// (its ecs.availability-zone attribute when the task was placed).
	AvailabilityZone string    `json:"availabilityZone,omitempty"`
	GpuIds           []string  `json:"gpuIds,omitempty"`
	CreatedAt        time.Time `json:"createdAt,omitzero"`
	StartedAt        time.Time `json:"startedAt,omitzero"`
	StoppingAt       time.Time `json:"stoppingAt,omitzero"`
	StoppedAt        time.Time `json:"stoppedAt,omitzero"`
	StoppedReason    string    `json:"stoppedReason,omitempty"`
	StopCode         string    `json:"stopCode,omitempty"`
	// Overrides are the task's overrides as ECS describes them: every
	// container listed by name, with its override where it has one. Tasks
	// of one task definition without overrides share the value: treat it
	// as read-only.
	Overrides *TaskOverride `json:"overrides,omitempty"`
	// CapacityProviderName is the capacity provider the task was started
	// through, if any.
	CapacityProviderName string `json:"capacityProviderName,omitempty"`
	// Containers are the task's containers, in its task definition's
	// order.
	Containers []Container `json:"containers"`
}

// Failure is a failed item of a call that otherwise succeeded: a task that
// could not be placed, or a resource that was not found.
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	// Checks, for a task that could not be placed, counts the instances
	// that failed each check, by reason (ReasonResourceCPU: 3, ...). It is
	// Stevedore's addition to ECS's JSON, as the member "checks"; ECS's
	// SDKs ignore it.
	Checks map[FailureReason]int `json:"checks,omitempty"`
}

// FailureReason is a reason a task could not be placed on an instance, as
// ECS writes it in a failure's reason.
type FailureReason string

// The reasons of placement failures, in the order the fit test checks
// them (docs/semantics.md §1.4, §3.7).
const (
	ReasonMissing  FailureReason = "MISSING"
	ReasonInactive FailureReason = "INACTIVE"
	ReasonDraining FailureReason = "DRAINING"
	// ReasonEmptyCapacityProvider: the instance belongs to another
	// capacity provider than the task's (as a failure's reason: no
	// instance of the task's provider could take it).
	ReasonEmptyCapacityProvider FailureReason = "EMPTY CAPACITY PROVIDER"
	ReasonResourceCPU           FailureReason = "RESOURCE:CPU"
	ReasonResourceMemory        FailureReason = "RESOURCE:MEMORY"
	ReasonResourcePorts         FailureReason = "RESOURCE:PORTS"
	ReasonResourcePortsUDP      FailureReason = "RESOURCE:PORTS_UDP"
	ReasonResourceGPU           FailureReason = "RESOURCE:GPU"
	// ReasonResourceENI: an awsvpc task finds no ENI attachment left.
	ReasonResourceENI      FailureReason = "RESOURCE:ENI"
	ReasonAttribute        FailureReason = "ATTRIBUTE"
	ReasonAgent            FailureReason = "AGENT"
	ReasonDistinctInstance FailureReason = "DistinctInstance placement constraint unsatisfied."
	// ReasonMaxPerInstance is Stevedore's maxPerInstance constraint.
	ReasonMaxPerInstance FailureReason = "MaxPerInstance placement constraint unsatisfied."
	ReasonMemberOf       FailureReason = "MemberOf placement constraint unsatisfied."
)

// PlacementStrategy is a task placement strategy: binpack (field cpu or
// memory), spread (field instanceId, host or attribute:NAME) or random.
type PlacementStrategy struct {
	Type  string `json:"type"`
	Field string `json:"field,omitempty"`
}

// PlacementConstraint is a task placement constraint: distinctInstance, or
// memberOf with a cluster query language expression.
type PlacementConstraint struct {
	Type       string `json:"type"`
	Expression string `json:"expression,omitempty"`
}

// NetworkConfiguration is the awsvpc network configuration of a task. The
// model records it; it does not allocate ENIs.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// clone returns a deep copy of n (nil for nil), so that what a service
// keeps shares no memory with a caller.
func (n *NetworkConfiguration) clone() *NetworkConfiguration {
	if n == nil {
		return nil
	}
	out := &NetworkConfiguration{}
	if a := n.AwsvpcConfiguration; a != nil {
		out.AwsvpcConfiguration = &AwsVpcConfiguration{
			Subnets:        slices.Clone(a.Subnets),
			SecurityGroups: slices.Clone(a.SecurityGroups),
			AssignPublicIp: a.AssignPublicIp,
		}
	}
	return out
}

// AwsVpcConfiguration names the subnets and security groups of an awsvpc
// task.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIp string   `json:"assignPublicIp,omitempty"`
}
