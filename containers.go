package stevedore

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/mix"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Container is a task's container as DescribeTasks and RunTask report it.
type Container struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image,omitempty"`
	// LastStatus is the task's: the model's agent starts and stops a
	// task's containers together.
	LastStatus string `json:"lastStatus"`
	// NetworkBindings are the container's static host ports (bridge or
	// host mode), bound on 0.0.0.0, once the container has started.
	NetworkBindings []NetworkBinding `json:"networkBindings"`
	// HealthStatus is UNKNOWN: the model runs no health checks.
	HealthStatus      string   `json:"healthStatus"`
	Cpu               string   `json:"cpu"`
	Memory            string   `json:"memory,omitempty"`
	MemoryReservation string   `json:"memoryReservation,omitempty"`
	GpuIds            []string `json:"gpuIds,omitempty"`
}

// containerTemplate is what every task of a task definition (without
// overrides) describes of one container.
type containerTemplate struct {
	name, image, cpu, memory, memoryReservation string
	gpus                                        int
	bindings                                    []NetworkBinding
}

// containerTemplates returns the containers of the task definition arn,
// with the task's overrides (nil for none) applied; without overrides the
// result is cached, as a revision never changes.
func (c *Client) containerTemplates(arn string, o *TaskOverride) []containerTemplate {
	if o == nil {
		if v, ok := c.containers.Load(arn); ok {
			return v.([]containerTemplate)
		}
	}
	e, err := c.registry.Resolve(arn)
	if err != nil {
		return nil
	}
	def := e.Definition()
	if o != nil {
		if od, err := def.Override(*o); err == nil {
			def = od
		}
	}
	mode := def.NetworkMode.Effective()
	out := make([]containerTemplate, len(def.ContainerDefinitions))
	for i, cd := range def.ContainerDefinitions {
		t := containerTemplate{name: cd.Name, image: cd.Image, cpu: strconv.Itoa(cd.CPU)}
		if cd.Memory > 0 {
			t.memory = strconv.Itoa(cd.Memory)
		}
		if cd.MemoryReservation > 0 {
			t.memoryReservation = strconv.Itoa(cd.MemoryReservation)
		}
		for _, rr := range cd.ResourceRequirements {
			if rr.Type == taskdef.ResourceGPU {
				n, _ := strconv.Atoi(rr.Value)
				t.gpus += n
			}
		}
		for _, pm := range cd.PortMappings {
			host := 0
			switch mode {
			case taskdef.NetworkModeBridge:
				host = pm.HostPort
			case taskdef.NetworkModeHost:
				host = pm.HostPort
				if host == 0 {
					host = pm.ContainerPort
				}
			}
			if host == 0 {
				continue // awsvpc, none, or a dynamic port the model does not pick [INF]
			}
			t.bindings = append(t.bindings, NetworkBinding{BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort, HostPort: host, Protocol: cmp.Or(pm.Protocol, "tcp")})
		}
		out[i] = t
	}
	if o == nil {
		c.containers.Store(arn, out)
	}
	return out
}

// taskContainers describes a task's containers. Cost: one allocation for
// the list and one for each container's ARN.
func (c *Client) taskContainers(t *cluster.TaskInfo) []Container {
	tmpl := c.containerTemplates(t.TaskDefinitionARN, t.Overrides)
	out := make([]Container, len(tmpl))
	taskID := t.ARN[strings.LastIndexByte(t.ARN, '/')+1:]
	clusterName := t.ClusterARN[strings.LastIndexByte(t.ClusterARN, '/')+1:]
	bound := !t.StartedAt.IsZero() // the containers have started
	status := t.LastStatus.String()
	gpus := t.GPUIDs
	for i, ct := range tmpl {
		ctr := Container{
			ContainerArn: c.containerARN(clusterName, taskID, i), TaskArn: t.ARN, Name: ct.name, Image: ct.image,
			LastStatus: status, NetworkBindings: []NetworkBinding{}, HealthStatus: "UNKNOWN",
			Cpu: ct.cpu, Memory: ct.memory, MemoryReservation: ct.memoryReservation,
		}
		if bound && ct.bindings != nil {
			ctr.NetworkBindings = slices.Clone(ct.bindings)
		}
		if n := min(ct.gpus, len(gpus)); n > 0 {
			ctr.GpuIds, gpus = gpus[:n:n], gpus[n:]
		}
		out[i] = ctr
	}
	return out
}

// containerARN is arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASK/UUID,
// the UUID made from the task id and the container's index, so that a
// container's ARN is the same in every description.
func (c *Client) containerARN(clusterName, taskID string, i int) string {
	// FNV-1a over the task id, mixed with the index: 128 bits, no
	// allocation.
	h := uint64(14695981039346656037)
	for j := 0; j < len(taskID); j++ {
		h = (h ^ uint64(taskID[j])) * 1099511628211
	}
	var sum [16]byte
	binary.BigEndian.PutUint64(sum[0:8], mix.Nth(h, uint64(2*i)))
	binary.BigEndian.PutUint64(sum[8:16], mix.Nth(h, uint64(2*i+1)))
	var u [36]byte
	hex.Encode(u[0:8], sum[0:4])
	u[8] = '-'
	hex.Encode(u[9:13], sum[4:6])
	u[13] = '-'
	hex.Encode(u[14:18], sum[6:8])
	u[18] = '-'
	hex.Encode(u[19:23], sum[8:10])
	u[23] = '-'
	hex.Encode(u[24:36], sum[10:16])
	var b strings.Builder
	b.Grow(len(c.arnPrefix) + len("container/") + len(clusterName) + 1 + len(taskID) + 1 + len(u))
	b.WriteString(c.arnPrefix)
	b.WriteString("container/")
	b.WriteString(clusterName)
	b.WriteByte('/')
	b.WriteString(taskID)
	b.WriteByte('/')
	b.Write(u[:])
	return b.String()
}
