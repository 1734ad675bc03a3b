package stevedore_test

import (
	"reflect"
	"slices"
	"strings"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore"
)

// The services part of the API state machine: CreateService, UpdateService,
// DeleteService and Reconcile, valid and invalid. Every rejected call must
// leave the whole state as it was, services and their network
// configurations included; an accepted one must do what the model says.

// smVPC are the awsvpc task definitions services run besides web; their
// tasks take no host ports (docs/semantics.md §1.3).
var smVPC = []smDemand{
	{cpu: 128, mem: 128, enis: 1, family: "vpc", inputJSON: `{"family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [
		{"name": "app", "image": "app", "cpu": 128, "memory": 128, "portMappings": [{"containerPort": 8080}]}]}`},
	{cpu: 256, mem: 128, enis: 1, family: "vpc", inputJSON: `{"family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [
		{"name": "app", "image": "app", "cpu": 256, "memory": 128, "portMappings": [{"containerPort": 8080}]}]}`},
}

// smService is the model of one service that is not deleted.
type smService struct {
	taskDef string // ARN
	awsvpc  bool
	net     *stevedore.NetworkConfiguration
	primary string // the PRIMARY deployment's id
}

var smServiceNames = []string{"api", "worker", "edge"}

// registerServiceDefinitions registers smVPC; their ARNs go into m.defs
// (the accounting check needs their demands) but not into m.defARNs
// (RunTask and StartTask take bridge definitions only).
func (m *stateMachine) registerServiceDefinitions(t *rapid.T) {
	for _, d := range smVPC {
		in, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(d.inputJSON))
		require.NoError(t, err)
		out, err := m.ecs.RegisterTaskDefinition(m.ctx, in)
		require.NoError(t, err)
		m.defs[out.TaskDefinition.TaskDefinitionArn] = d
	}
}

// vpcARNs returns the ARNs of the awsvpc definitions, in revision order.
func (m *stateMachine) vpcARNs() []string {
	var arns []string
	for arn, d := range m.defs {
		if d.family == "vpc" {
			arns = append(arns, arn)
		}
	}
	slices.Sort(arns)
	return arns
}

func (m *stateMachine) network(t *rapid.T, label string) *stevedore.NetworkConfiguration {
	subnet := rapid.SampledFrom([]string{"subnet-a", "subnet-b", "subnet-c"}).Draw(t, label)
	return &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: []string{subnet}}}
}

// describeSM describes one service of the state machine's cluster.
func (m *stateMachine) describeSM(t *rapid.T, name string) stevedore.Service {
	out, err := m.ecs.DescribeServices(m.ctx, &stevedore.DescribeServicesInput{Cluster: smCluster, Services: []string{name}})
	require.NoError(t, err)
	require.Len(t, out.Services, 1)
	return out.Services[0]
}

func primaryOf(s stevedore.Service) string {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d.Id
		}
	}
	return ""
}

func (m *stateMachine) CreateService(t *rapid.T) {
	name := rapid.SampledFrom(smServiceNames).Draw(t, "service")
	in := &stevedore.CreateServiceInput{Cluster: smCluster, ServiceName: name, DesiredCount: new(rapid.IntRange(0, 3).Draw(t, "desiredCount"))}
	awsvpc := rapid.Bool().Draw(t, "awsvpc")
	if awsvpc {
		in.TaskDefinition = rapid.SampledFrom(m.vpcARNs()).Draw(t, "taskDefinition")
		in.NetworkConfiguration = m.network(t, "subnet")
	} else {
		in.TaskDefinition = "web"
	}
	// One fault at most; each must be refused.
	fault := rapid.IntRange(0, 12).Draw(t, "fault")
	switch fault {
	case 1:
		in.HealthCheckGracePeriodSeconds = -1
	case 2:
		in.Tags = []stevedore.Tag{{Key: "", Value: "x"}}
	case 3:
		in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MaximumPercent: new(50)}
	case 4:
		in.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "bogus"}}
	case 5:
		in.NetworkConfiguration = nil
		if !awsvpc {
			in.NetworkConfiguration = m.network(t, "subnet")
		}
	default:
		fault = 0
	}
	if rapid.Bool().Draw(t, "tagged") {
		in.Tags = append(in.Tags, stevedore.Tag{Key: "team", Value: name})
	}
	before := m.snapshot(t)
	out, err := m.ecs.CreateService(m.ctx, in)
	_, live := m.svc[name]
	if fault != 0 || live {
		m.unchanged(t, before, err)
		return
	}
	if err != nil && slices.Contains(m.services, name) {
		// Deleted, but DRAINING while its tasks stop: the name is taken.
		require.ErrorAs(t, err, new(*stevedore.InvalidParameterException))
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, in.NetworkConfiguration, out.Service.NetworkConfiguration)
	if !slices.Contains(m.services, name) {
		m.services = append(m.services, name)
	}
	m.svc[name] = &smService{taskDef: out.Service.TaskDefinition, awsvpc: awsvpc, net: in.NetworkConfiguration, primary: primaryOf(out.Service)}
}

func (m *stateMachine) UpdateService(t *rapid.T) {
	if len(m.svc) == 0 {
		t.Skip("no service")
	}
	names := make([]string, 0, len(m.svc))
	for n := range m.svc {
		names = append(names, n)
	}
	slices.Sort(names)
	name := rapid.SampledFrom(names).Draw(t, "service")
	model := m.svc[name]
	in := &stevedore.UpdateServiceInput{Cluster: smCluster, Service: name}
	if rapid.Bool().Draw(t, "scale") {
		in.DesiredCount = new(rapid.IntRange(0, 3).Draw(t, "desiredCount"))
	}
	newRevision := model.awsvpc && rapid.Bool().Draw(t, "newRevision")
	if newRevision {
		in.TaskDefinition = rapid.SampledFrom(m.vpcARNs()).Draw(t, "taskDefinition")
	}
	if model.awsvpc && rapid.Bool().Draw(t, "newNetwork") {
		in.NetworkConfiguration = m.network(t, "subnet")
	}
	fault := rapid.IntRange(0, 10).Draw(t, "fault")
	switch fault {
	case 1:
		in.DesiredCount = new(-1)
	case 2:
		in.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "bogus"}}
	case 3:
		in.HealthCheckGracePeriodSeconds = new(-1)
	case 4:
		in.TaskDefinition = "nope"
	case 5:
		in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MinimumHealthyPercent: new(101)}
	case 6:
		if !model.awsvpc {
			in.NetworkConfiguration = m.network(t, "subnet") // not valid for bridge
		} else {
			in.NetworkConfiguration = &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{}}
		}
	default:
		fault = 0
	}
	before := m.snapshot(t)
	out, err := m.ecs.UpdateService(m.ctx, in)
	if fault != 0 {
		m.unchanged(t, before, err)
		return
	}
	require.NoError(t, err)
	net := model.net
	if in.NetworkConfiguration != nil {
		net = in.NetworkConfiguration
	}
	require.Equal(t, net, out.Service.NetworkConfiguration, "an update keeps the network configuration it does not replace")
	revision := model.taskDef
	if in.TaskDefinition != "" {
		revision = in.TaskDefinition
	}
	require.Equal(t, revision, out.Service.TaskDefinition)
	deploys := (in.TaskDefinition != "" && in.TaskDefinition != model.taskDef) || !reflect.DeepEqual(net, model.net)
	if deploys {
		require.NotEqual(t, model.primary, primaryOf(out.Service), "a new revision or network configuration starts a deployment")
	}
	model.taskDef, model.net, model.primary = revision, net, primaryOf(out.Service)
}

func (m *stateMachine) DeleteService(t *rapid.T) {
	name := rapid.SampledFrom(smServiceNames).Draw(t, "service")
	before := m.snapshot(t)
	_, err := m.ecs.DeleteService(m.ctx, &stevedore.DeleteServiceInput{Cluster: smCluster, Service: name, Force: true})
	if _, live := m.svc[name]; !live {
		if err != nil {
			m.unchanged(t, before, err)
		}
		return
	}
	require.NoError(t, err)
	delete(m.svc, name)
}

func (m *stateMachine) Reconcile(t *rapid.T) {
	// The tasks protected now, by the protection the API reports.
	protected := map[string]bool{}
	for chunk := range slices.Chunk(m.tasks, stevedore.MaxProtectionTasks) {
		got, err := m.ecs.GetTaskProtection(m.ctx, &stevedore.GetTaskProtectionInput{Cluster: smCluster, Tasks: chunk})
		require.NoError(t, err)
		for _, p := range got.ProtectedTasks {
			if p.ProtectionEnabled {
				require.True(t, m.clock.Now().Before(p.ExpirationDate))
				protected[p.TaskArn] = true
			}
		}
	}
	out, err := m.ecs.Reconcile(m.ctx, &stevedore.ReconcileInput{Cluster: smCluster})
	require.NoError(t, err)
	for _, task := range out.Stopped {
		require.False(t, protected[task.TaskArn], "the service scheduler stopped protected task %s", task.TaskArn)
	}
	for _, task := range out.Started {
		m.tasks = append(m.tasks, task.TaskArn)
	}
	for name, model := range m.svc {
		model.primary = primaryOf(m.describeSM(t, name))
	}
}

// UpdateTaskProtection protects or unprotects a few tasks, services' or
// not: a service's live task is protected, any other is a failure.
func (m *stateMachine) UpdateTaskProtection(t *rapid.T) {
	if len(m.tasks) == 0 {
		t.Skip("no tasks")
	}
	refs := rapid.SliceOfNDistinct(rapid.SampledFrom(m.tasks), 1, stevedore.MaxProtectionTasks, rapid.ID[string]).Draw(t, "tasks")
	enabled := rapid.Bool().Draw(t, "enabled")
	minutes := rapid.IntRange(1, 120).Draw(t, "minutes")
	before := m.snapshot(t)
	out, err := m.ecs.UpdateTaskProtection(m.ctx, &stevedore.UpdateTaskProtectionInput{Cluster: smCluster, Tasks: refs, ProtectionEnabled: enabled, ExpiresInMinutes: &minutes})
	require.NoError(t, err)
	require.Equal(t, len(refs), len(out.ProtectedTasks)+len(out.Failures))
	byARN := map[string]stevedore.Task{}
	for _, task := range before.tasks {
		byARN[task.TaskArn] = task
	}
	for _, p := range out.ProtectedTasks {
		task := byARN[p.TaskArn]
		require.True(t, strings.HasPrefix(task.Group, "service:"), "%s protected", task.Group)
		require.Equal(t, enabled, p.ProtectionEnabled)
	}
	for _, f := range out.Failures {
		require.Contains(t, []string{"MISSING", "TASK_NOT_VALID"}, f.Reason)
	}
}
