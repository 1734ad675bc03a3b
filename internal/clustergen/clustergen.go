// Package clustergen holds rapid generators of random ECS clusters and
// placement requests, valid by construction, for the property tests of
// cluster, placement and scheduler. Only test files import it.
//
// # Generators
//
//   - [Cluster]: a [World], a [cluster.Cluster] of 0–40 heterogeneous
//     container instances with attributes, reserved ports, GPUs, mixed
//     statuses and tasks of several groups, some running, some stopped,
//     with its clock and the transcript of the ECS operations that built it.
//   - [Request]: a [placement.Request] of a [Demand] and a [Group], 0–5
//     strategies drawn by [Strategy] and 0–3 constraints drawn by
//     [Constraint], over the attributes [Cluster] sets. [Describe] prints
//     one in a line.
//
// All randomness comes from rapid: the cluster's id source and the
// request's Rand are seeded from draws, and the cluster's clock is a
// [cluster.ManualClock], so a shrunk failure replays exactly; rapid prints a
// drawn World as its transcript, so the failure reads as the ECS calls that
// led to it.
//
// # Attributes
//
// Instances carry [AttrAZ] (one of [AZs], sometimes missing),
// [AttrInstanceType], the custom [AttrRack] (one of [Racks], sometimes
// missing) and sometimes [AttrTaskENI]. [AttrMissing] is on no instance.
package clustergen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// The attribute names the generated instances carry.
const (
	// AttrAZ is the availability zone, one of [AZs]; some instances lack it.
	AttrAZ = "ecs.availability-zone"
	// AttrInstanceType is the EC2 instance type; every instance has it.
	AttrInstanceType = "ecs.instance-type"
	// AttrRack is a custom attribute, one of [Racks]; some instances lack it.
	AttrRack = "rack"
	// AttrTaskENI is a capability attribute without a value that some
	// instances have and some demands require.
	AttrTaskENI = "ecs.capability.task-eni"
	// AttrMissing is an attribute no generated instance has.
	AttrMissing = "missing"
)

// start is when the generated clusters' clocks start.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Start returns the time the generated clusters' clocks start at.
func Start() time.Time { return start }

// AZs returns the availability zones instances are spread over.
func AZs() []string { return []string{"us-east-1a", "us-east-1b", "us-east-1c"} }

// Racks returns the values of the custom rack attribute.
func Racks() []string { return []string{"r1", "r2", "r3"} }

// Groups returns the task groups of generated tasks and requests.
func Groups() []string {
	return []string{"family:web", "family:db", "service:api", "service:worker"}
}

var instanceTypes = []string{"t2.small", "m5.large", "m5.xlarge", "c5.large", "c5.2xlarge", "g4dn.xlarge", "r5.4xlarge"}

var agentVersions = []string{"1.14.5", "1.9.0", "1.70.2", ""}

// strategyFields lists every strategy the generator draws, as ParseStrategy
// arguments.
var strategyFields = [][2]string{
	{"binpack", "cpu"},
	{"binpack", "memory"},
	{"spread", "instanceId"},
	{"spread", "host"},
	{"spread", "attribute:" + AttrAZ},
	{"spread", "attribute:" + AttrRack},
	{"spread", "attribute:" + AttrMissing},
	{"random", ""},
}

// Expressions returns the memberOf expressions [Constraint] draws from:
// each is over the attributes, groups and counts the generators produce.
func Expressions() []string {
	return []string{
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"attribute:ecs.availability-zone == us-east-1c",
		"attribute:ecs.availability-zone != us-east-1a",
		"not(attribute:ecs.availability-zone == us-east-1a)",
		"not(task:group == service:api)",
		"task:group == family:db",
		"task:group in [family:web, service:worker]",
		"attribute:rack != r1",
		"not(attribute:rack == r2)",
		"attribute:rack exists",
		"attribute:rack !exists or attribute:rack == r3",
		"runningTasksCount < 3",
		"runningTasksCount == 0",
		"attribute:ecs.instance-type =~ m5.*",
		"attribute:ecs.instance-type in [c5.large, c5.2xlarge] or attribute:rack == r2",
		"attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and runningTasksCount <= 2",
		"agentVersion >= 1.14.0",
		"agentConnected == true",
	}
}

var (
	strategyGen = rapid.Custom(func(t *rapid.T) placement.Strategy {
		f := rapid.SampledFrom(strategyFields).Draw(t, "strategy")
		return placement.MustParseStrategy(f[0], f[1])
	})

	constraintGen = rapid.Custom(func(t *rapid.T) placement.Constraint {
		if rapid.IntRange(0, 3).Draw(t, "distinct") == 0 {
			return placement.MustParseConstraint("distinctInstance", "")
		}
		return placement.MustParseConstraint("memberOf", rapid.SampledFrom(Expressions()).Draw(t, "expression"))
	})

	groupGen = rapid.SampledFrom(Groups())

	demandGen = rapid.Custom(func(t *rapid.T) *cluster.Demand {
		cpu := rapid.SampledFrom([]int64{0, 128, 256, 512, 1024, 2048, 4096, 8192}).Draw(t, "cpu")
		mem := rapid.SampledFrom([]int64{64, 128, 512, 1024, 2048, 4096, 16384}).Draw(t, "memory")
		var ports, udp []uint16
		if rapid.IntRange(0, 3).Draw(t, "withPorts") == 0 {
			ports = rapid.SampledFrom([][]uint16{{80}, {443}, {80, 443}}).Draw(t, "ports")
		}
		if rapid.IntRange(0, 5).Draw(t, "withUDP") == 0 {
			udp = []uint16{53}
		}
		gpus := 0
		if rapid.IntRange(0, 4).Draw(t, "withGPUs") == 0 {
			gpus = rapid.IntRange(1, 3).Draw(t, "gpus")
		}
		var attrs []string
		if rapid.IntRange(0, 7).Draw(t, "withENI") == 0 {
			attrs = append(attrs, AttrTaskENI)
		}
		d, err := cluster.NewDemand(cpu, mem, ports, udp, gpus, attrs...)
		if err != nil {
			t.Fatalf("NewDemand(%d, %d, %v, %v, %d, %v): %v", cpu, mem, ports, udp, gpus, attrs, err)
		}
		return d
	})

	// runningDemandGen draws the demands of the tasks a generated cluster
	// already runs: smaller than a request's, so that many fit.
	runningDemandGen = rapid.Custom(func(t *rapid.T) *cluster.Demand {
		cpu := rapid.SampledFrom([]int64{0, 128, 256, 512, 1024}).Draw(t, "cpu")
		mem := rapid.SampledFrom([]int64{64, 128, 256, 512, 1024, 2048}).Draw(t, "memory")
		var ports []uint16
		if rapid.IntRange(0, 5).Draw(t, "withPorts") == 0 {
			ports = rapid.SampledFrom([][]uint16{{80}, {443}}).Draw(t, "ports")
		}
		gpus := 0
		if rapid.IntRange(0, 5).Draw(t, "withGPUs") == 0 {
			gpus = 1
		}
		d, err := cluster.NewDemand(cpu, mem, ports, nil, gpus)
		if err != nil {
			t.Fatalf("NewDemand(%d, %d, %v, nil, %d): %v", cpu, mem, ports, gpus, err)
		}
		return d
	})

	requestGen = rapid.Custom(func(t *rapid.T) *placement.Request {
		spec := &cluster.TaskSpec{Demand: demandGen.Draw(t, "demand"), Group: groupGen.Draw(t, "group")}
		req := &placement.Request{
			Spec:        spec,
			Strategies:  rapid.SliceOfN(strategyGen, 0, placement.MaxStrategies).Draw(t, "strategies"),
			Constraints: rapid.SliceOfN(constraintGen, 0, 3).Draw(t, "constraints"),
			Rand:        rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "requestSeed"), 0)),
		}
		spec.Guard = req.Constraints
		return req
	})

	instanceSpecGen = rapid.Custom(func(t *rapid.T) cluster.InstanceSpec {
		spec := cluster.InstanceSpec{
			CPU: rapid.OneOf(
				rapid.SampledFrom([]int64{512, 1024, 2048, 4096, 8192, 16384}),
				rapid.Int64Range(512, 16384),
			).Draw(t, "cpu"),
			Memory: rapid.OneOf(
				rapid.SampledFrom([]int64{512, 1024, 3768, 7985, 16384, 65536}),
				rapid.Int64Range(512, 65536),
			).Draw(t, "memory"),
			Version: cluster.VersionInfo{AgentVersion: rapid.SampledFrom(agentVersions).Draw(t, "agentVersion")},
		}
		switch rapid.IntRange(0, 5).Draw(t, "reservedPorts") {
		case 0: // the agent reserves nothing
			spec.Ports = []uint16{}
		case 1: // something else holds port 80
			spec.Ports = append(cluster.DefaultReservedPorts(), 80)
		case 2:
			spec.Ports = append(cluster.DefaultReservedPorts(), 443)
		default: // nil: the agent's defaults
		}
		if rapid.IntRange(0, 4).Draw(t, "reservedUDP") == 0 {
			spec.PortsUDP = []uint16{53}
		}
		for g := range rapid.IntRange(0, 4).Draw(t, "gpus") {
			spec.GPUs = append(spec.GPUs, fmt.Sprintf("gpu-%d", g))
		}
		spec.Attributes = append(spec.Attributes, cluster.Attribute{
			Name: AttrInstanceType, Value: rapid.SampledFrom(instanceTypes).Draw(t, "instanceType"),
		})
		if az := rapid.IntRange(0, len(AZs())).Draw(t, "az"); az < len(AZs()) {
			spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: AttrAZ, Value: AZs()[az]})
		}
		if rack := rapid.IntRange(0, len(Racks())).Draw(t, "rack"); rack < len(Racks()) {
			spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: AttrRack, Value: Racks()[rack]})
		}
		if rapid.Bool().Draw(t, "taskENI") {
			spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: AttrTaskENI})
		}
		return spec
	})

	clusterGen = rapid.Custom(drawCluster)
)

// Strategy generates a placement strategy: binpack(cpu|memory),
// spread(instanceId|host|attribute:AZ|attribute:rack|attribute:missing) or
// random.
func Strategy() *rapid.Generator[placement.Strategy] { return strategyGen }

// Constraint generates a placement constraint: distinctInstance, or
// memberOf with one of [Expressions].
func Constraint() *rapid.Generator[placement.Constraint] { return constraintGen }

// Group generates one of [Groups].
func Group() *rapid.Generator[string] { return groupGen }

// Demand generates a task demand: 0–8192 CPU units, 64–16384 MiB, sometimes
// static host ports 80 and 443 (TCP) or 53 (UDP), sometimes 1–3 GPUs or the
// [AttrTaskENI] attribute.
func Demand() *rapid.Generator[*cluster.Demand] { return demandGen }

// Request generates a valid placement request ([placement.Request.Validate]
// accepts it): a [Demand] of one of [Groups], 0–5 strategies, 0–3
// constraints (also set as the spec's Guard, so the request can be
// committed) and a Rand seeded from a draw.
func Request() *rapid.Generator[*placement.Request] { return requestGen }

// InstanceSpec generates a container instance registration: 512–16384 CPU
// units, 512–65536 MiB, the agent's default reserved ports or others (80,
// 443, 53/udp), 0–4 GPUs, and the attributes described in the package doc.
func InstanceSpec() *rapid.Generator[cluster.InstanceSpec] { return instanceSpecGen }

// World is a generated cluster with its clock and the transcript of the
// operations that built it. It embeds the *cluster.Cluster, so a World is
// used like one.
type World struct {
	*cluster.Cluster
	// Clock is the cluster's clock; only the test's actions should advance
	// it.
	Clock *cluster.ManualClock
	// InstanceIDs are the container instance ids in registration order
	// (the instance with EC2 instance id [EC2InstanceID](i) is the i-th).
	InstanceIDs []string
	// TaskIDs are the ids of the tasks committed, in commit order.
	TaskIDs    []string
	transcript []string
}

// GoString returns the transcript, one ECS operation a line, so that rapid
// prints a drawn World as the calls that built it.
func (w *World) GoString() string {
	if len(w.transcript) == 0 {
		return "World{} // an empty cluster"
	}
	return "World{\n\t" + strings.Join(w.transcript, "\n\t") + "\n}"
}

// Transcript returns the ECS operations that built the world, one a line.
func (w *World) Transcript() []string { return slices.Clone(w.transcript) }

func (w *World) logf(format string, args ...any) {
	w.transcript = append(w.transcript, fmt.Sprintf(format, args...))
}

// EC2InstanceID is the EC2 instance id of the i-th instance a [World]
// registers: i-00000000000000000, i-00000000000000001, ...
func EC2InstanceID(i int) string { return fmt.Sprintf("i-%017d", i) }

// Describe prints a request in one line: its group and demand, its
// strategies and its constraints.
func Describe(req *placement.Request) string {
	var b strings.Builder
	d := req.Spec.Demand
	fmt.Fprintf(&b, "%s %s", req.Spec.Group, describeDemand(d))
	b.WriteString(" strategies [")
	for i, s := range req.Strategies {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.String())
	}
	b.WriteString("] constraints [")
	for i, c := range req.Constraints {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Type().String())
		if e := c.Expression(); e != nil {
			b.WriteString(" " + e.String())
		}
	}
	b.WriteString("]")
	return b.String()
}

func describeDemand(d *cluster.Demand) string {
	s := fmt.Sprintf("cpu=%d memory=%d", d.CPU(), d.Memory())
	if d.Ports().Len() > 0 {
		s += fmt.Sprintf(" ports=%v", d.Ports().Slice())
	}
	if d.PortsUDP().Len() > 0 {
		s += fmt.Sprintf(" udp=%v", d.PortsUDP().Slice())
	}
	if d.GPUs() > 0 {
		s += fmt.Sprintf(" gpus=%d", d.GPUs())
	}
	if a := d.RequiredAttributes(); len(a) > 0 {
		s += fmt.Sprintf(" requires=%v", a)
	}
	return s
}

func describeInstance(spec cluster.InstanceSpec) string {
	s := fmt.Sprintf("%s cpu=%d memory=%d", spec.EC2InstanceID, spec.CPU, spec.Memory)
	for _, a := range spec.Attributes {
		s += " " + a.Name
		if a.Value != "" {
			s += "=" + a.Value
		}
	}
	switch {
	case spec.Ports == nil:
	case len(spec.Ports) == 0:
		s += " ports=[]"
	default:
		s += fmt.Sprintf(" ports=%v", spec.Ports)
	}
	if len(spec.PortsUDP) > 0 {
		s += fmt.Sprintf(" udp=%v", spec.PortsUDP)
	}
	if len(spec.GPUs) > 0 {
		s += fmt.Sprintf(" gpus=%d", len(spec.GPUs))
	}
	if v := spec.Version.AgentVersion; v != "" {
		s += " agent=" + v
	}
	return s
}

// Cluster generates a [World]: 0–40 instances from [InstanceSpec], registered
// a few minutes apart at most; 0–80 tasks of [Groups] (0–1024 CPU units,
// 64–2048 MiB, sometimes port 80 or 443 and a GPU) committed with
// [cluster.Cluster.Commit] where they fit, some then started, some stopped;
// then some instances set DRAINING, some with the agent disconnected, and
// some deregistered (INACTIVE, forced, or the EC2 instance lost). Its clock
// is a [cluster.ManualClock] that stays where the last registration left
// it, and its id source is seeded from a draw.
func Cluster() *rapid.Generator[*World] { return clusterGen }

func drawCluster(t *rapid.T) *World {
	w := &World{Clock: cluster.NewManualClock(start)}
	w.Cluster = cluster.New("gen", cluster.Options{
		Clock: w.Clock,
		Rand:  rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "clusterSeed"), 0)),
	})
	c := w.Cluster
	var names []string // EC2 instance ids, by registration
	for i := range rapid.IntRange(0, 40).Draw(t, "instances") {
		w.Clock.Advance(time.Duration(rapid.IntRange(0, 600).Draw(t, "registerAfterSeconds")) * time.Second)
		spec := instanceSpecGen.Draw(t, "instance")
		spec.EC2InstanceID = EC2InstanceID(i)
		info, err := c.RegisterInstance(spec)
		if err != nil {
			t.Fatalf("RegisterInstance(%s): %v", describeInstance(spec), err)
		}
		w.logf("RegisterInstance %s // at %s", describeInstance(spec), w.Clock.Now().Format(time.TimeOnly))
		w.InstanceIDs = append(w.InstanceIDs, info.ID)
		names = append(names, spec.EC2InstanceID)
	}
	if len(w.InstanceIDs) == 0 {
		return w
	}

	var taskNames []string
	for range rapid.IntRange(0, 80).Draw(t, "tasks") {
		i := rapid.IntRange(0, len(w.InstanceIDs)-1).Draw(t, "taskInstance")
		spec := &cluster.TaskSpec{Demand: runningDemandGen.Draw(t, "taskDemand"), Group: groupGen.Draw(t, "taskGroup")}
		var r cluster.Reason
		c.Read(func(v *cluster.View) {
			in, _ := v.Instance(w.InstanceIDs[i])
			r = in.Fits(spec.Demand, nil)
		})
		if r != cluster.ReasonNone {
			continue // it does not fit there: no task
		}
		infos, err := c.Commit([]cluster.Placement{{InstanceID: w.InstanceIDs[i], Spec: spec}})
		if err != nil {
			t.Fatalf("Commit of a task that fits: %v", err)
		}
		name := fmt.Sprintf("t%d", len(w.TaskIDs))
		w.logf("Commit %s %s on %s // task %s", spec.Group, describeDemand(spec.Demand), names[i], name)
		w.TaskIDs = append(w.TaskIDs, infos[0].ID)
		taskNames = append(taskNames, name)
	}
	for k, id := range w.TaskIDs {
		name := taskNames[k]
		switch rapid.IntRange(0, 5).Draw(t, "taskFate") {
		case 0, 1, 2: // RUNNING
			w.do(t, "TaskStarted "+name, func() error { _, err := c.TaskStarted(id); return err })
		case 3: // STOPPED while PENDING
			w.do(t, "StopTask "+name, func() error { _, err := c.StopTask(id, "stopped by clustergen", cluster.StopUserInitiated); return err })
		case 4: // STOPPED after RUNNING
			w.do(t, "TaskStarted "+name, func() error { _, err := c.TaskStarted(id); return err })
			w.do(t, "TaskExited "+name, func() error { _, err := c.TaskExited(id, ""); return err })
		default: // stays PENDING
		}
	}
	for i, id := range w.InstanceIDs {
		switch rapid.IntRange(0, 9).Draw(t, "instanceFate") {
		case 0:
			w.do(t, "SetInstanceStatus "+names[i]+" DRAINING", func() error { _, err := c.SetInstanceStatus(id, cluster.InstanceDraining); return err })
		case 1:
			w.do(t, "SetAgentConnected "+names[i]+" false", func() error { _, err := c.SetAgentConnected(id, false); return err })
		case 2:
			w.do(t, "DeregisterInstance "+names[i]+" force", func() error { _, err := c.DeregisterInstance(id, true); return err })
		case 3:
			w.do(t, "InstanceLost "+names[i], func() error { _, err := c.InstanceLost(id); return err })
		default: // ACTIVE, agent connected
		}
	}
	return w
}

// do runs one ECS operation, which cannot fail on a valid world, and logs it.
func (w *World) do(t *rapid.T, op string, f func() error) {
	if err := f(); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	w.logf("%s", op)
}
