package taskdef

import (
	"encoding/json"
	"reflect"
	"time"
)

// NetworkMode is a task definition's Docker networking mode. The empty value
// means [NetworkModeBridge], the Linux EC2 default.
type NetworkMode string

// The network modes ECS accepts in a task definition.
const (
	NetworkModeBridge NetworkMode = "bridge"
	NetworkModeHost   NetworkMode = "host"
	NetworkModeAwsvpc NetworkMode = "awsvpc"
	NetworkModeNone   NetworkMode = "none"
)

// Effective returns the mode ECS applies: [NetworkModeBridge] for the empty
// value, m otherwise.
func (m NetworkMode) Effective() NetworkMode {
	if m == "" {
		return NetworkModeBridge
	}
	return m
}

// Valid reports whether m is empty or one of the four modes ECS accepts.
func (m NetworkMode) Valid() bool {
	switch m {
	case "", NetworkModeBridge, NetworkModeHost, NetworkModeAwsvpc, NetworkModeNone:
		return true
	}
	return false
}

// Compatibility is a launch type a task definition can be validated against
// (requiresCompatibilities) or was validated against (compatibilities).
type Compatibility string

// The compatibilities ECS knows.
const (
	CompatibilityEC2              Compatibility = "EC2"
	CompatibilityFargate          Compatibility = "FARGATE"
	CompatibilityExternal         Compatibility = "EXTERNAL"
	CompatibilityManagedInstances Compatibility = "MANAGED_INSTANCES"
)

// Valid reports whether c is one of the four compatibilities ECS knows.
func (c Compatibility) Valid() bool {
	switch c {
	case CompatibilityEC2, CompatibilityFargate, CompatibilityExternal, CompatibilityManagedInstances:
		return true
	}
	return false
}

// Status is the lifecycle state of a task definition revision.
type Status string

// Task definition statuses. [StatusAll] is not a state: it is the filter value
// that [Registry.List] and [Registry.Families] accept to mean "any status".
const (
	StatusActive           Status = "ACTIVE"
	StatusInactive         Status = "INACTIVE"
	StatusDeleteInProgress Status = "DELETE_IN_PROGRESS"
	StatusAll              Status = "ALL"
)

// TaskDefinition is an ECS task definition in the shape DescribeTaskDefinition
// returns: the fields RegisterTaskDefinition takes plus the ones the registry
// fills in (taskDefinitionArn, revision, status, requiresAttributes,
// compatibilities, registeredAt, deregisteredAt, registeredBy).
//
// Marshalled with encoding/json it gives the describe shape, with the tags
// inside the object; [Encode] gives the register input. Times are encoded as
// RFC 3339 strings with nanoseconds (time.Time's own encoding), which also
// parses the AWS CLI's "2024-01-02T03:04:05.123000+00:00".
//
// A TaskDefinition is a plain value: it is safe to share between goroutines
// only while nobody modifies it. [TaskDefinition.Clone] makes an independent copy.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn,omitempty"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions,omitempty"`
	Family                  string                `json:"family,omitempty"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	NetworkMode             NetworkMode           `json:"networkMode,omitempty"`
	Revision                int                   `json:"revision,omitempty"`
	Volumes                 []Volume              `json:"volumes,omitempty"`
	Status                  Status                `json:"status,omitempty"`
	RequiresAttributes      []Attribute           `json:"requiresAttributes,omitempty"`
	PlacementConstraints    []PlacementConstraint `json:"placementConstraints,omitempty"`
	Compatibilities         []Compatibility       `json:"compatibilities,omitempty"`
	RuntimePlatform         *RuntimePlatform      `json:"runtimePlatform,omitempty"`
	RequiresCompatibilities []Compatibility       `json:"requiresCompatibilities,omitempty"`
	// CPU is the task-level CPU: units ("1024") or vCPU ("1 vCPU"); see [ParseCPU].
	CPU string `json:"cpu,omitempty"`
	// Memory is the task-level memory: MiB ("2048") or GB ("2GB"); see [ParseMemory].
	Memory                string                 `json:"memory,omitempty"`
	InferenceAccelerators []InferenceAccelerator `json:"inferenceAccelerators,omitempty"`
	PidMode               string                 `json:"pidMode,omitempty"`
	IpcMode               string                 `json:"ipcMode,omitempty"`
	ProxyConfiguration    json.RawMessage        `json:"proxyConfiguration,omitempty"`
	EphemeralStorage      *EphemeralStorage      `json:"ephemeralStorage,omitempty"`
	RegisteredAt          time.Time              `json:"registeredAt,omitzero"`
	DeregisteredAt        time.Time              `json:"deregisteredAt,omitzero"`
	RegisteredBy          string                 `json:"registeredBy,omitempty"`
	Tags                  []Tag                  `json:"tags,omitempty"`
}

// outputOnly lists the JSON names of the fields that only the registry sets;
// RegisterTaskDefinition input containing them is rejected.
var outputOnly = map[string]bool{
	"taskDefinitionArn":  true,
	"revision":           true,
	"status":             true,
	"requiresAttributes": true,
	"compatibilities":    true,
	"registeredAt":       true,
	"deregisteredAt":     true,
	"registeredBy":       true,
}

// inputOnly returns a copy of td without the fields the registry fills in.
func (td TaskDefinition) inputOnly() TaskDefinition {
	td.TaskDefinitionArn = ""
	td.Revision = 0
	td.Status = ""
	td.RequiresAttributes = nil
	td.Compatibilities = nil
	td.RegisteredAt = time.Time{}
	td.DeregisteredAt = time.Time{}
	td.RegisteredBy = ""
	return td
}

// Clone returns a deep copy of td that shares no slices, maps or pointers with it.
func (td TaskDefinition) Clone() TaskDefinition {
	return deepCopy(reflect.ValueOf(td)).Interface().(TaskDefinition)
}

// Tag is a key/value label on a task definition.
type Tag struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// Attribute is a requirement ECS derives from the features a task definition
// uses (requiresAttributes); an instance must have it to run the task.
type Attribute struct {
	Name       string `json:"name"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetID   string `json:"targetId,omitempty"`
}

// PlacementConstraint is a task-definition placement constraint. Only type
// "memberOf" is accepted in a task definition.
type PlacementConstraint struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// PlacementConstraintMemberOf is the only placement constraint type a task
// definition accepts.
const PlacementConstraintMemberOf = "memberOf"

// RuntimePlatform names the operating system and CPU architecture a task needs.
type RuntimePlatform struct {
	CPUArchitecture       string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// EphemeralStorage is the Fargate ephemeral storage size.
type EphemeralStorage struct {
	SizeInGiB int `json:"sizeInGiB,omitempty"`
}

// InferenceAccelerator is an Elastic Inference accelerator declared by the task.
type InferenceAccelerator struct {
	DeviceName string `json:"deviceName,omitempty"`
	DeviceType string `json:"deviceType,omitempty"`
}

// Volume is a data volume containers can mount with [MountPoint].
type Volume struct {
	Name                      string                     `json:"name,omitempty"`
	Host                      *HostVolumeProperties      `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
	// EFSVolumeConfiguration is kept as raw JSON (compacted on decode).
	EFSVolumeConfiguration json.RawMessage `json:"efsVolumeConfiguration,omitempty"`
	// FSxWindowsFileServerVolumeConfiguration is kept as raw JSON (compacted on decode).
	FSxWindowsFileServerVolumeConfiguration json.RawMessage `json:"fsxWindowsFileServerVolumeConfiguration,omitempty"`
	ConfiguredAtLaunch                      *bool           `json:"configuredAtLaunch,omitempty"`
}

// HostVolumeProperties is a bind mount from the container instance.
type HostVolumeProperties struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration is a Docker-managed volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
	// RepositoryCredentials names the secret holding private registry credentials.
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// CPU is in CPU units (1024 = 1 vCPU); 0 = unset.
	CPU int `json:"cpu,omitempty"`
	// Memory is the hard limit in MiB; 0 = unset.
	Memory int `json:"memory,omitempty"`
	// MemoryReservation is the soft limit in MiB; 0 = unset.
	MemoryReservation int           `json:"memoryReservation,omitempty"`
	Links             []string      `json:"links,omitempty"`
	PortMappings      []PortMapping `json:"portMappings,omitempty"`
	// Essential is nil when omitted, which means true; see [ContainerDefinition.IsEssential].
	Essential        *bool             `json:"essential,omitempty"`
	EntryPoint       []string          `json:"entryPoint,omitempty"`
	Command          []string          `json:"command,omitempty"`
	Environment      []KeyValuePair    `json:"environment,omitempty"`
	EnvironmentFiles []EnvironmentFile `json:"environmentFiles,omitempty"`
	MountPoints      []MountPoint      `json:"mountPoints,omitempty"`
	VolumesFrom      []VolumeFrom      `json:"volumesFrom,omitempty"`
	// LinuxParameters is kept as raw JSON (compacted on decode).
	LinuxParameters        json.RawMessage       `json:"linuxParameters,omitempty"`
	Secrets                []Secret              `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency `json:"dependsOn,omitempty"`
	StartTimeout           int                   `json:"startTimeout,omitempty"`
	StopTimeout            int                   `json:"stopTimeout,omitempty"`
	Hostname               string                `json:"hostname,omitempty"`
	User                   string                `json:"user,omitempty"`
	WorkingDirectory       string                `json:"workingDirectory,omitempty"`
	DisableNetworking      bool                  `json:"disableNetworking,omitempty"`
	Privileged             bool                  `json:"privileged,omitempty"`
	ReadonlyRootFilesystem bool                  `json:"readonlyRootFilesystem,omitempty"`
	DNSServers             []string              `json:"dnsServers,omitempty"`
	DNSSearchDomains       []string              `json:"dnsSearchDomains,omitempty"`
	ExtraHosts             []HostEntry           `json:"extraHosts,omitempty"`
	DockerSecurityOptions  []string              `json:"dockerSecurityOptions,omitempty"`
	Interactive            bool                  `json:"interactive,omitempty"`
	PseudoTerminal         bool                  `json:"pseudoTerminal,omitempty"`
	DockerLabels           map[string]string     `json:"dockerLabels,omitempty"`
	Ulimits                []Ulimit              `json:"ulimits,omitempty"`
	LogConfiguration       *LogConfiguration     `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck          `json:"healthCheck,omitempty"`
	SystemControls         []SystemControl       `json:"systemControls,omitempty"`
	ResourceRequirements   []ResourceRequirement `json:"resourceRequirements,omitempty"`
	// FirelensConfiguration is kept as raw JSON (compacted on decode).
	FirelensConfiguration json.RawMessage `json:"firelensConfiguration,omitempty"`
}

// IsEssential reports whether the container is essential: true when
// essential is omitted, as in ECS.
func (c ContainerDefinition) IsEssential() bool {
	return c.Essential == nil || *c.Essential
}

// RepositoryCredentials names a Secrets Manager secret with registry credentials.
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter,omitempty"`
}

// Protocols of a [PortMapping]; empty means [ProtocolTCP].
const (
	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
)

// PortMapping maps a container port to the host or the task ENI.
// HostPort 0 means omitted: a dynamic port in bridge mode, containerPort in
// host and awsvpc mode.
type PortMapping struct {
	ContainerPort      int    `json:"containerPort,omitempty"`
	HostPort           int    `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	Name               string `json:"name,omitempty"`
	AppProtocol        string `json:"appProtocol,omitempty"`
}

// KeyValuePair is an environment variable.
type KeyValuePair struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	Value string `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
}

// MountPoint mounts a task [Volume] into a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts all volumes of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer,omitempty"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// HostEntry is a line added to the container's /etc/hosts.
type HostEntry struct {
	Hostname  string `json:"hostname,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
}

// Resource requirement types.
const (
	ResourceGPU                  = "GPU"
	ResourceInferenceAccelerator = "InferenceAccelerator"
	ResourceNeuronDevice         = "NeuronDevice"
)

// ResourceRequirement asks for GPUs or accelerators; for GPU, Value is a
// positive integer count.
type ResourceRequirement struct {
	Type  string `json:"type,omitempty"`
	Value string `json:"value,omitempty"`
}

// Ulimit is a resource limit set in the container.
type Ulimit struct {
	Name      string `json:"name,omitempty"`
	SoftLimit int    `json:"softLimit,omitempty"`
	HardLimit int    `json:"hardLimit,omitempty"`
}

// LogConfiguration selects the container's log driver.
type LogConfiguration struct {
	LogDriver     string            `json:"logDriver,omitempty"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []Secret          `json:"secretOptions,omitempty"`
}

// HealthCheck is a container health check; durations are in seconds.
type HealthCheck struct {
	Command     []string `json:"command,omitempty"`
	Interval    int      `json:"interval,omitempty"`
	Timeout     int      `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod int      `json:"startPeriod,omitempty"`
}

// Secret injects a Secrets Manager or SSM parameter value.
type Secret struct {
	Name      string `json:"name,omitempty"`
	ValueFrom string `json:"valueFrom,omitempty"`
}

// ContainerDependency orders container start-up and shutdown.
type ContainerDependency struct {
	ContainerName string `json:"containerName,omitempty"`
	// Condition is START, COMPLETE, SUCCESS or HEALTHY.
	Condition string `json:"condition,omitempty"`
}

// SystemControl is a namespaced kernel parameter.
type SystemControl struct {
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
}

var timeType = reflect.TypeFor[time.Time]()

// deepCopy returns a copy of v sharing no slices, maps or pointers with it.
// time.Time is copied as a value (its location pointer is immutable).
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		return m
	case reflect.Struct:
		if v.Type() == timeType {
			return v
		}
		s := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			s.Field(i).Set(deepCopy(v.Field(i)))
		}
		return s
	default:
		return v
	}
}
