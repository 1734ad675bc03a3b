package stevedore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
)

// smDemand is the test's own model of what a task of each definition takes,
// written from docs/semantics.md §1.3, independently of the code under test.
type smDemand struct {
	cpu, mem  int64
	tcp, udp  []string
	gpus      int
	enis      int // 1 for awsvpc
	family    string
	inputJSON string
}

var smDefinitions = []smDemand{
	{cpu: 256, mem: 512, tcp: []string{"80"}, family: "web", inputJSON: `{"family": "web", "containerDefinitions": [
		{"name": "nginx", "image": "nginx", "cpu": 256, "memory": 512, "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}`},
	{cpu: 128, mem: 128, tcp: []string{"53"}, udp: []string{"53"}, family: "dns", inputJSON: `{"family": "dns", "containerDefinitions": [
		{"name": "dns", "image": "coredns", "cpu": 128, "memory": 256, "memoryReservation": 128,
		 "portMappings": [{"containerPort": 53, "hostPort": 53, "protocol": "udp"}, {"containerPort": 8053, "hostPort": 53}]}]}`},
	{cpu: 1024, mem: 1024, family: "batch", inputJSON: `{"family": "batch", "cpu": "1 vCPU", "memory": "1GB", "containerDefinitions": [
		{"name": "work", "image": "busybox", "cpu": 512, "memory": 512}]}`},
	{cpu: 512, mem: 1024, gpus: 1, family: "train", inputJSON: `{"family": "train", "containerDefinitions": [
		{"name": "train", "image": "cuda", "cpu": 512, "memory": 1024, "resourceRequirements": [{"type": "GPU", "value": "1"}]}]}`},
	{cpu: 100, mem: 100, family: "dyn", inputJSON: `{"family": "dyn", "containerDefinitions": [
		{"name": "app", "image": "app", "cpu": 100, "memory": 100, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}`},
	{cpu: 4096, mem: 8192, family: "big", inputJSON: `{"family": "big", "containerDefinitions": [
		{"name": "big", "image": "big", "cpu": 4096, "memory": 8192}]}`},
	{cpu: 64, mem: 64, enis: 1, family: "vpctask", inputJSON: `{"family": "vpctask", "networkMode": "awsvpc", "containerDefinitions": [
		{"name": "app", "image": "app", "cpu": 64, "memory": 64, "portMappings": [{"containerPort": 443}]}]}`},
}

// smNetwork is the network configuration awsvpc tasks run with.
var smNetwork = &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

// netFor returns the network configuration a task of the definition
// needs.
func (m *stateMachine) netFor(def string) *stevedore.NetworkConfiguration {
	if m.defs[def].enis > 0 {
		return smNetwork
	}
	return nil
}

type smState struct {
	instances []stevedore.ContainerInstance
	tasks     []stevedore.Task
	cluster   stevedore.Cluster
	missing   []string // tasks DescribeTasks no longer knows
	// services are the services ever created, described with their tags
	// and network configurations.
	services []stevedore.Service
}

type stateMachine struct {
	ctx       context.Context
	ecs       *stevedore.Client
	clock     *stevedore.ManualClock
	defs      map[string]smDemand // by task definition ARN
	defARNs   []string
	instances []string // every instance ARN ever registered
	tasks     []string // every task ARN started and not yet forgotten
	stoppedAt map[string]time.Time
	services  []string // every service name ever created
	// svc is the test's model of each live service (statemachine_services_test.go).
	svc map[string]*smService
	// container is the first container of each task definition, by ARN.
	container map[string]string
	// overridden is the demand of each task started with overrides.
	overridden map[string]smDemand
	// eniLimit is each instance's awsvpc task limit (absent: none).
	eniLimit map[string]int
}

const smCluster = "sm"

func (m *stateMachine) init(t *rapid.T) {
	m.ctx = context.Background()
	m.clock = stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	seed := rapid.Uint64().Draw(t, "seed")
	var err error
	m.ecs, err = stevedore.New(stevedore.Options{Clock: m.clock, Rand: rand.NewPCG(seed, 1)})
	require.NoError(t, err)
	_, err = m.ecs.CreateCluster(m.ctx, &stevedore.CreateClusterInput{ClusterName: smCluster})
	require.NoError(t, err)
	m.defs = map[string]smDemand{}
	m.stoppedAt = map[string]time.Time{}
	m.svc = map[string]*smService{}
	m.container = map[string]string{}
	m.overridden = map[string]smDemand{}
	m.eniLimit = map[string]int{}
	m.registerServiceDefinitions(t)
	for _, d := range smDefinitions {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(d.inputJSON))
		require.NoError(t, err)
		out, err := m.ecs.RegisterTaskDefinition(m.ctx, in)
		require.NoError(t, err)
		m.defs[out.TaskDefinition.TaskDefinitionArn] = d
		m.container[out.TaskDefinition.TaskDefinitionArn] = in.TaskDefinition.ContainerDefinitions[0].Name
		m.defARNs = append(m.defARNs, out.TaskDefinition.TaskDefinitionArn)
	}
	for range rapid.IntRange(1, 4).Draw(t, "initialInstances") {
		m.RegisterContainerInstance(t)
	}
}

// snapshot reads the whole observable state through the API.
func (m *stateMachine) snapshot(t require.TestingT) smState {
	var s smState
	dc, err := m.ecs.DescribeClusters(m.ctx, &stevedore.DescribeClustersInput{Clusters: []string{smCluster}})
	require.NoError(t, err)
	require.Len(t, dc.Clusters, 1)
	s.cluster = dc.Clusters[0]
	for chunk := range slices.Chunk(m.instances, 100) {
		out, err := m.ecs.DescribeContainerInstances(m.ctx, &stevedore.DescribeContainerInstancesInput{Cluster: smCluster, ContainerInstances: chunk})
		require.NoError(t, err)
		require.Empty(t, out.Failures)
		s.instances = append(s.instances, out.ContainerInstances...)
	}
	for chunk := range slices.Chunk(m.tasks, 100) {
		out, err := m.ecs.DescribeTasks(m.ctx, &stevedore.DescribeTasksInput{Cluster: smCluster, Tasks: chunk})
		require.NoError(t, err)
		s.tasks = append(s.tasks, out.Tasks...)
		for _, f := range out.Failures {
			s.missing = append(s.missing, f.Arn)
		}
	}
	for chunk := range slices.Chunk(m.services, 10) {
		out, err := m.ecs.DescribeServices(m.ctx, &stevedore.DescribeServicesInput{Cluster: smCluster, Services: chunk, Include: []string{"TAGS"}})
		require.NoError(t, err)
		require.Empty(t, out.Failures)
		s.services = append(s.services, out.Services...)
	}
	return s
}

// unchanged asserts that a call that failed left the state as it was.
func (m *stateMachine) unchanged(t *rapid.T, before smState, err error) {
	require.Error(t, err)
	require.Equal(t, before, m.snapshot(t), "a call that returned %v changed the state", err)
}

func resourceOf(rs []stevedore.Resource, name string) stevedore.Resource {
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	return stevedore.Resource{Name: name}
}

func (m *stateMachine) Check(t *rapid.T) { m.check(t) }

// check asserts the accounting invariants on the whole observable state.
func (m *stateMachine) check(t require.TestingT) {
	s := m.snapshot(t)
	// A task may vanish only once it has been STOPPED for the retention
	// period (an hour).
	for _, arn := range s.missing {
		at, ok := m.stoppedAt[arn]
		require.True(t, ok, "task %s vanished without being stopped", arn)
		require.GreaterOrEqual(t, m.clock.Now().Sub(at), time.Hour, "task %s vanished before its retention ended", arn)
		m.tasks = slices.DeleteFunc(m.tasks, func(a string) bool { return a == arn })
	}
	for _, task := range s.tasks {
		if task.LastStatus == "STOPPED" {
			m.stoppedAt[task.TaskArn] = task.StoppedAt
		}
	}
	s = m.snapshot(t)
	type acc struct {
		cpu, mem         int64
		tcp, udp         []string
		gpus, enis       int
		running, pending int
	}
	byInstance := map[string]*acc{}
	running, pending := 0, 0
	for _, task := range s.tasks {
		if task.LastStatus == "STOPPED" {
			require.Equal(t, "STOPPED", task.DesiredStatus)
			continue
		}
		d, ok := m.overridden[task.TaskArn]
		if !ok {
			d = m.defs[task.TaskDefinitionArn]
		}
		require.Equal(t, strconv.FormatInt(d.cpu, 10), task.Cpu, "%s: cpu", task.TaskArn)
		require.Equal(t, strconv.FormatInt(d.mem, 10), task.Memory, "%s: memory", task.TaskArn)
		a := byInstance[task.ContainerInstanceArn]
		if a == nil {
			a = &acc{}
			byInstance[task.ContainerInstanceArn] = a
		}
		a.cpu += d.cpu
		a.mem += d.mem
		a.tcp = append(a.tcp, d.tcp...)
		a.udp = append(a.udp, d.udp...)
		a.gpus += d.gpus
		a.enis += d.enis
		require.Len(t, task.GpuIds, d.gpus)
		switch task.LastStatus {
		case "RUNNING":
			a.running++
			running++
		case "PENDING":
			a.pending++
			pending++
		}
	}
	registered := 0
	for _, ci := range s.instances {
		a := byInstance[ci.ContainerInstanceArn]
		if a == nil {
			a = &acc{}
		}
		if ci.Status != "INACTIVE" {
			registered++
		} else {
			require.Zero(t, a.running+a.pending, "INACTIVE instance %s has tasks", ci.ContainerInstanceArn)
		}
		reg, rem := ci.RegisteredResources, ci.RemainingResources
		for _, dim := range []struct {
			name string
			used int64
		}{{"CPU", a.cpu}, {"MEMORY", a.mem}} {
			r, left := resourceOf(reg, dim.name).IntegerValue, resourceOf(rem, dim.name).IntegerValue
			require.Equal(t, r-dim.used, left, "%s: remaining %s = registered − demands of its tasks", ci.ContainerInstanceArn, dim.name)
			require.GreaterOrEqual(t, left, int64(0), "%s overcommitted on %s", ci.ContainerInstanceArn, dim.name)
		}
		for _, dim := range []struct {
			name string
			used []string
		}{{"PORTS", a.tcp}, {"PORTS_UDP", a.udp}} {
			held := slices.Concat(resourceOf(reg, dim.name).StringSetValue, dim.used)
			if len(held) == 0 {
				held = nil
			}
			slices.SortFunc(held, func(x, y string) int { xi, _ := strconv.Atoi(x); yi, _ := strconv.Atoi(y); return xi - yi })
			require.Equal(t, len(held), len(slices.Compact(slices.Clone(held))), "%s: a %s port is held twice: %v", ci.ContainerInstanceArn, dim.name, held)
			require.Equal(t, held, slices.Concat(resourceOf(rem, dim.name).StringSetValue), "%s: remaining %s", ci.ContainerInstanceArn, dim.name)
		}
		if limit, ok := m.eniLimit[ci.ContainerInstanceArn]; ok {
			require.LessOrEqual(t, a.enis, limit, "%s: more awsvpc tasks than its ENI limit", ci.ContainerInstanceArn)
		}
		regGPU, remGPU := resourceOf(reg, "GPU").StringSetValue, resourceOf(rem, "GPU").StringSetValue
		require.Len(t, remGPU, len(regGPU)-a.gpus, "%s: free GPUs", ci.ContainerInstanceArn)
		require.Equal(t, a.running, ci.RunningTasksCount, "%s runningTasksCount", ci.ContainerInstanceArn)
		require.Equal(t, a.pending, ci.PendingTasksCount, "%s pendingTasksCount", ci.ContainerInstanceArn)
	}
	require.Equal(t, registered, s.cluster.RegisteredContainerInstancesCount)
	require.Equal(t, running, s.cluster.RunningTasksCount)
	require.Equal(t, pending, s.cluster.PendingTasksCount)
}

func (m *stateMachine) RegisterContainerInstance(t *rapid.T) {
	cpu := rapid.SampledFrom([]int64{1024, 2048, 4096}).Draw(t, "cpu")
	mem := rapid.SampledFrom([]int64{996, 2048, 8192}).Draw(t, "memory")
	res := []stevedore.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: mem},
	}
	if rapid.Bool().Draw(t, "customPorts") {
		res = append(res,
			stevedore.Resource{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "80"}},
			stevedore.Resource{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{"53"}})
	}
	in := &stevedore.RegisterContainerInstanceInput{Cluster: smCluster, TotalResources: res}
	for i := range rapid.IntRange(0, 2).Draw(t, "gpus") {
		in.PlatformDevices = append(in.PlatformDevices, stevedore.PlatformDevice{Id: fmt.Sprintf("GPU-%d", i), Type: "GPU"})
	}
	// The ENI limit: none, an attribute's, or an instance type's.
	limit := 0
	switch rapid.IntRange(0, 3).Draw(t, "eniLimit") {
	case 1:
		limit = rapid.IntRange(1, 3).Draw(t, "eniAttribute")
		in.Attributes = append(in.Attributes, stevedore.Attribute{Name: stevedore.TaskENILimitAttribute, Value: strconv.Itoa(limit)})
	case 2:
		in.InstanceIdentityDocument, limit = stevedore.IdentityDocument("", "c5.large", "us-east-1a"), 2
	case 3:
		in.InstanceIdentityDocument, limit = stevedore.IdentityDocument("", "m4.large", "us-east-1b"), 1
	}
	if rapid.IntRange(0, 4).Draw(t, "invalid") == 0 {
		before := m.snapshot(t)
		in.TotalResources = append(in.TotalResources, stevedore.Resource{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"http"}})
		_, err := m.ecs.RegisterContainerInstance(m.ctx, in)
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	out, err := m.ecs.RegisterContainerInstance(m.ctx, in)
	require.NoError(t, err)
	m.instances = append(m.instances, out.ContainerInstance.ContainerInstanceArn)
	if limit > 0 {
		m.eniLimit[out.ContainerInstance.ContainerInstanceArn] = limit
	}
}

func (m *stateMachine) RunTask(t *rapid.T) {
	def := rapid.SampledFrom(m.defARNs).Draw(t, "taskDefinition")
	count := rapid.IntRange(1, 11).Draw(t, "count")
	// Overrides: none, a container's cpu (which is the demand unless the
	// definition has a task-level cpu), or a container the definition
	// does not have.
	var overrides *stevedore.TaskOverride
	demand := m.defs[def]
	badOverride := false
	switch rapid.IntRange(0, 3).Draw(t, "overrides") {
	case 1:
		cpu := rapid.IntRange(0, 3000).Draw(t, "overrideCPU")
		overrides = &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: m.container[def], CPU: &cpu}}}
		if demand.family != "batch" { // batch's task-level cpu stays its demand
			demand.cpu = int64(cpu)
		} else {
			badOverride = cpu > 1024 // a container may not take more than its task
		}
	case 2:
		overrides = &stevedore.TaskOverride{ContainerOverrides: []stevedore.ContainerOverride{{Name: "no-such-container", Command: []string{"x"}}}}
		badOverride = true
	}
	before := m.snapshot(t)
	out, err := m.ecs.RunTask(m.ctx, &stevedore.RunTaskInput{Cluster: smCluster, TaskDefinition: def, Count: count, Overrides: overrides, NetworkConfiguration: m.netFor(def)})
	if count > 10 || badOverride || before.cluster.RegisteredContainerInstancesCount == 0 {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, count, len(out.Tasks)+len(out.Failures), "every task is placed or a failure")
	for _, task := range out.Tasks {
		require.Equal(t, "PENDING", task.LastStatus)
		require.Equal(t, "RUNNING", task.DesiredStatus)
		require.Equal(t, "family:"+m.defs[def].family, task.Group)
		m.tasks = append(m.tasks, task.TaskArn)
		if overrides != nil {
			m.overridden[task.TaskArn] = demand
		}
	}
	for _, f := range out.Failures {
		require.NotEmpty(t, f.Reason)
	}
}

func (m *stateMachine) StartTask(t *rapid.T) {
	def := rapid.SampledFrom(m.defARNs).Draw(t, "taskDefinition")
	n := rapid.IntRange(1, 3).Draw(t, "n")
	var targets []string
	for i := range n {
		if len(m.instances) == 0 || rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("missing%d", i)) == 0 {
			targets = append(targets, "0123456789abcdef0123456789abcdef")
			continue
		}
		targets = append(targets, rapid.SampledFrom(m.instances).Draw(t, fmt.Sprintf("instance%d", i)))
	}
	out, err := m.ecs.StartTask(m.ctx, &stevedore.StartTaskInput{Cluster: smCluster, TaskDefinition: def, ContainerInstances: targets, NetworkConfiguration: m.netFor(def)})
	require.NoError(t, err)
	require.Equal(t, n, len(out.Tasks)+len(out.Failures))
	for i, task := range out.Tasks {
		require.Contains(t, targets, task.ContainerInstanceArn, "task %d pinned to a named instance", i)
		m.tasks = append(m.tasks, task.TaskArn)
	}
}

func (m *stateMachine) pickTask(t *rapid.T) string {
	if len(m.tasks) == 0 || rapid.IntRange(0, 9).Draw(t, "bogusTask") == 0 {
		return "ffffffffffffffffffffffffffffffff"
	}
	return rapid.SampledFrom(m.tasks).Draw(t, "task")
}

func (m *stateMachine) pickInstance(t *rapid.T) string {
	if len(m.instances) == 0 || rapid.IntRange(0, 9).Draw(t, "bogusInstance") == 0 {
		return "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	}
	return rapid.SampledFrom(m.instances).Draw(t, "instance")
}

func (m *stateMachine) StopTask(t *rapid.T) {
	ref := m.pickTask(t)
	before := m.snapshot(t)
	out, err := m.ecs.StopTask(m.ctx, &stevedore.StopTaskInput{Cluster: smCluster, Task: ref, Reason: "rapid"})
	if !slices.Contains(m.tasks, ref) {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, "STOPPED", out.Task.LastStatus)
}

func (m *stateMachine) SubmitTaskStateChange(t *rapid.T) {
	ref := m.pickTask(t)
	status := rapid.SampledFrom([]string{"RUNNING", "STOPPED"}).Draw(t, "status")
	before := m.snapshot(t)
	var last string
	for _, task := range before.tasks {
		if task.TaskArn == ref {
			last = task.LastStatus
		}
	}
	_, err := m.ecs.SubmitTaskStateChange(m.ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: smCluster, Task: ref, Status: status})
	valid := last == "PENDING" || (status == "STOPPED" && last == "RUNNING")
	if !valid {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
}

func (m *stateMachine) UpdateContainerInstancesState(t *rapid.T) {
	ref := m.pickInstance(t)
	status := rapid.SampledFrom([]string{"ACTIVE", "DRAINING", "INACTIVE"}).Draw(t, "status")
	before := m.snapshot(t)
	out, err := m.ecs.UpdateContainerInstancesState(m.ctx, &stevedore.UpdateContainerInstancesStateInput{
		Cluster: smCluster, ContainerInstances: []string{ref}, Status: status})
	if status == "INACTIVE" {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, 1, len(out.ContainerInstances)+len(out.Failures))
}

func (m *stateMachine) SetAgentConnected(t *rapid.T) {
	ref := m.pickInstance(t)
	connected := rapid.Bool().Draw(t, "connected")
	before := m.snapshot(t)
	_, err := m.ecs.SetAgentConnected(m.ctx, &stevedore.SetAgentConnectedInput{Cluster: smCluster, ContainerInstance: ref, Connected: connected})
	if err != nil {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
	}
}

func (m *stateMachine) DeregisterContainerInstance(t *rapid.T) {
	ref := m.pickInstance(t)
	force := rapid.Bool().Draw(t, "force")
	before := m.snapshot(t)
	out, err := m.ecs.DeregisterContainerInstance(m.ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: smCluster, ContainerInstance: ref, Force: force})
	if err != nil {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.Equal(t, "INACTIVE", out.ContainerInstance.Status)
}

func (m *stateMachine) TerminateInstance(t *rapid.T) {
	ref := m.pickInstance(t)
	before := m.snapshot(t)
	_, err := m.ecs.TerminateInstance(m.ctx, &stevedore.TerminateInstanceInput{Cluster: smCluster, ContainerInstance: ref})
	if err != nil {
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
	}
}

func (m *stateMachine) PutAttributes(t *rapid.T) {
	ref := m.pickInstance(t)
	names := rapid.SliceOfNDistinct(rapid.IntRange(0, 12), 1, 10, rapid.ID[int]).Draw(t, "names")
	if rapid.IntRange(0, 9).Draw(t, "duplicate") == 0 {
		names = append(names, names[0]) // refused: one call names an attribute once
	}
	attrs := make([]stevedore.Attribute, len(names))
	for i := range attrs {
		attrs[i] = stevedore.Attribute{
			Name:       fmt.Sprintf("custom-%d", names[i]),
			Value:      rapid.SampledFrom([]string{"a", "b", "bad value!"}).Draw(t, "value"),
			TargetType: "container-instance", TargetId: ref,
		}
	}
	before := m.snapshot(t)
	_, err := m.ecs.PutAttributes(m.ctx, &stevedore.PutAttributesInput{Cluster: smCluster, Attributes: attrs})
	if err != nil {
		m.unchanged(t, before, err)
	}
}

func (m *stateMachine) AdvanceClock(t *rapid.T) {
	m.clock.Advance(time.Duration(rapid.IntRange(1, 120).Draw(t, "minutes")) * time.Minute)
}

// TestStateMachine drives random sequences of ECS operations, valid and
// invalid, and agent events, and checks the accounting invariants after
// every step.
func TestStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &stateMachine{}
		m.init(t)
		t.Repeat(rapid.StateMachineActions(m))
	})
}
