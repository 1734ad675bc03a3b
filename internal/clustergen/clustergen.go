// Package clustergen holds rapid generators of random ECS clusters and
// placement requests, valid by construction, for the property tests of
// cluster, placement and scheduler. Only test files import it.
//
// # Generators
//
//   - [Cluster]: a [cluster.Cluster] of 0–40 heterogeneous container
//     instances with attributes, reserved ports, GPUs, mixed statuses and
//     tasks of several groups, some running, some stopped.
//   - [Request]: a [placement.Request] of a [Demand] and a [Group], 0–5
//     strategies drawn by [Strategy] and 0–3 constraints drawn by
//     [Constraint], over the attributes [Cluster] sets.
//
// All randomness comes from rapid: the cluster's id source and the
// request's Rand are seeded from draws, and the cluster's clock is a
// [cluster.ManualClock], so a shrunk failure replays exactly.
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
			spec.Ports = append(slices.Clone(cluster.DefaultReservedPorts), 80)
		case 2:
			spec.Ports = append(slices.Clone(cluster.DefaultReservedPorts), 443)
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

// Cluster generates a cluster: 0–40 instances from [InstanceSpec], registered
// a few seconds apart; 0–60 tasks of [Groups] committed with
// [cluster.Cluster.Commit] where they fit, some then started, some stopped;
// then some instances set DRAINING, some with the agent disconnected, and
// some deregistered (INACTIVE, forced, or the EC2 instance lost). Its clock
// is a [cluster.ManualClock] that stays where the last registration left
// it, and its id source is seeded from a draw.
func Cluster() *rapid.Generator[*cluster.Cluster] { return clusterGen }

func drawCluster(t *rapid.T) *cluster.Cluster {
	clock := cluster.NewManualClock(start)
	c := cluster.New("gen", cluster.Options{
		Clock: clock,
		Rand:  rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "clusterSeed"), 0)),
	})
	var ids []string
	for range rapid.IntRange(0, 40).Draw(t, "instances") {
		clock.Advance(time.Duration(rapid.IntRange(0, 600).Draw(t, "registerAfterSeconds")) * time.Second)
		info, err := c.RegisterInstance(instanceSpecGen.Draw(t, "instance"))
		if err != nil {
			t.Fatalf("RegisterInstance: %v", err)
		}
		ids = append(ids, info.ID)
	}
	if len(ids) == 0 {
		return c
	}

	var tasks []string
	for range rapid.IntRange(0, 60).Draw(t, "tasks") {
		id := rapid.SampledFrom(ids).Draw(t, "taskInstance")
		spec := &cluster.TaskSpec{Demand: demandGen.Draw(t, "taskDemand"), Group: groupGen.Draw(t, "taskGroup")}
		var r cluster.Reason
		c.Read(func(v *cluster.View) {
			in, _ := v.Instance(id)
			r = in.Fits(spec.Demand, nil)
		})
		if r != cluster.ReasonNone {
			continue // it does not fit there: no task
		}
		infos, err := c.Commit([]cluster.Placement{{InstanceID: id, Spec: spec}})
		if err != nil {
			t.Fatalf("Commit of a task that fits: %v", err)
		}
		tasks = append(tasks, infos[0].ID)
	}
	for _, id := range tasks {
		switch rapid.IntRange(0, 5).Draw(t, "taskFate") {
		case 0, 1, 2: // RUNNING
			mustDo(t, "TaskStarted", func() error { _, err := c.TaskStarted(id); return err })
		case 3: // STOPPED while PENDING
			mustDo(t, "StopTask", func() error { _, err := c.StopTask(id, "stopped by clustergen", cluster.StopUserInitiated); return err })
		case 4: // STOPPED after RUNNING
			mustDo(t, "TaskStarted", func() error { _, err := c.TaskStarted(id); return err })
			mustDo(t, "TaskExited", func() error { _, err := c.TaskExited(id, ""); return err })
		default: // stays PENDING
		}
	}
	for _, id := range ids {
		switch rapid.IntRange(0, 9).Draw(t, "instanceFate") {
		case 0:
			mustDo(t, "SetInstanceStatus", func() error { _, err := c.SetInstanceStatus(id, cluster.InstanceDraining); return err })
		case 1:
			mustDo(t, "SetAgentConnected", func() error { _, err := c.SetAgentConnected(id, false); return err })
		case 2:
			mustDo(t, "DeregisterInstance", func() error { _, err := c.DeregisterInstance(id, true); return err })
		case 3:
			mustDo(t, "InstanceLost", func() error { _, err := c.InstanceLost(id); return err })
		default: // ACTIVE, agent connected
		}
	}
	return c
}

func mustDo(t *rapid.T, op string, f func() error) {
	if err := f(); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}
