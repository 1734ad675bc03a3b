package stevedore_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Exact ECS messages (docs/semantics.md §4.2, §4.7, §4.8, §7).
const (
	msgNotIdempotent  = "Creation of service was not idempotent."
	msgDaemonDesired  = "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again"
	msgDaemonStrategy = "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again"
	msgScaledAbove0   = "The service cannot be stopped while it is scaled above 0."
	msgUnplaceable    = "service web was unable to place a task because no container instance met all of its requirements."
)

// deploymentIDRE is the shape of a deployment id, which service tasks
// carry as startedBy.
const deploymentIDRE = `^ecs-svc/\d{19}$`

// locationServiceFixture is the microservices tutorial's create-service
// input. The example that replays the tutorial embeds the fixture, so the
// test reads that copy.
func locationServiceFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("examples", "microservices", "microservices-location-service.json"))
	require.NoError(t, err)
	return b
}

// registerAZInstance registers an instance of cpu and memory in zone az of
// us-east-1.
func registerAZInstance(t *testing.T, c *stevedore.Client, cluster, ec2, az string, cpu, memory int64, ports ...string) stevedore.ContainerInstance {
	t.Helper()
	out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
		Cluster:                  cluster,
		InstanceIdentityDocument: `{"instanceId": "` + ec2 + `", "availabilityZone": "us-east-1` + az + `", "instanceType": "m4.large"}`,
		TotalResources:           resources(cpu, memory, ports...),
	})
	require.NoError(t, err)
	return out.ContainerInstance
}

// createService creates a service and fails the test if it cannot.
func createService(t *testing.T, c *stevedore.Client, in stevedore.CreateServiceInput) stevedore.Service {
	t.Helper()
	out, err := c.CreateService(t.Context(), &in)
	require.NoError(t, err)
	return out.Service
}

// describeService describes one service, DRAINING and INACTIVE included.
func describeService(t *testing.T, c *stevedore.Client, cluster, name string) stevedore.Service {
	t.Helper()
	out, err := c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: cluster, Services: []string{name}})
	require.NoError(t, err)
	require.Empty(t, out.Failures)
	require.Len(t, out.Services, 1)
	return out.Services[0]
}

// reconcile runs one scheduler step a second after the last and returns
// what it did.
func reconcile(t *testing.T, c *stevedore.Client, clock *stevedore.ManualClock, cluster string) *stevedore.ReconcileOutput {
	t.Helper()
	clock.Advance(time.Second)
	out, err := c.Reconcile(t.Context(), &stevedore.ReconcileInput{Cluster: cluster})
	require.NoError(t, err)
	return out
}

// startPending has the agents report every PENDING task RUNNING.
func startPending(t *testing.T, c *stevedore.Client, clock *stevedore.ManualClock, cluster string) {
	t.Helper()
	clock.Advance(time.Second)
	_, err := c.StartPendingTasks(t.Context(), &stevedore.StartPendingTasksInput{Cluster: cluster})
	require.NoError(t, err)
}

// settleServices reconciles, starts the pending tasks and reconciles
// again, which brings services that fit to a steady state.
func settleServices(t *testing.T, c *stevedore.Client, clock *stevedore.ManualClock, cluster string) {
	t.Helper()
	reconcile(t, c, clock, cluster)
	startPending(t, c, clock, cluster)
	reconcile(t, c, clock, cluster)
}

// serviceTasks describes the tasks ListTasks lists for a service.
func serviceTasks(t *testing.T, c *stevedore.Client, cluster, name string) []stevedore.Task {
	t.Helper()
	l, err := c.ListTasks(t.Context(), &stevedore.ListTasksInput{Cluster: cluster, ServiceName: name})
	require.NoError(t, err)
	if len(l.TaskArns) == 0 {
		return nil
	}
	d, err := c.DescribeTasks(t.Context(), &stevedore.DescribeTasksInput{Cluster: cluster, Tasks: l.TaskArns})
	require.NoError(t, err)
	require.Empty(t, d.Failures)
	return d.Tasks
}

// taskID is the last part of a task ARN, as service events name tasks.
func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// messages returns the messages of a service's events, newest first.
func messages(s stevedore.Service) []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = e.Message
	}
	return out
}

// withServices is what a client shows of a cluster's services on top of
// [state]: the ListServices pages and DescribeServices of named services.
type withServices struct {
	state
	Listed    []string
	Described []stevedore.Service
	Missing   []stevedore.Failure
}

// snapshotServices reads the whole state of c and the services of cluster
// named in names.
func snapshotServices(t *testing.T, c *stevedore.Client, cluster string, names ...string) withServices {
	t.Helper()
	s := withServices{state: snapshot(t, c)}
	for token := ""; ; {
		l, err := c.ListServices(t.Context(), &stevedore.ListServicesInput{Cluster: cluster, NextToken: token})
		require.NoError(t, err)
		s.Listed = append(s.Listed, l.ServiceArns...)
		if token = l.NextToken; token == "" {
			break
		}
	}
	for chunk := range slices.Chunk(names, 10) {
		d, err := c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: cluster, Services: chunk})
		require.NoError(t, err)
		s.Described = append(s.Described, d.Services...)
		s.Missing = append(s.Missing, d.Failures...)
	}
	return s
}

// serviceFixture is cluster app01 with one instance in each of two zones;
// task definitions web:1 (ACTIVE) and old:1 (INACTIVE); and the services
// live (ACTIVE, 2 tasks RUNNING), daemon (DAEMON, one task per instance),
// draining (deleted with force, its task not yet stopped, so DRAINING) and
// gone (deleted at desired count 0, so INACTIVE).
func serviceFixture(t *testing.T) (*stevedore.Client, *stevedore.ManualClock) {
	t.Helper()
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerAZInstance(t, c, "app01", "i-0000000a", "a", 1024, 1024)
	registerAZInstance(t, c, "app01", "i-0000000b", "b", 1024, 1024)
	registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	old := registerTaskDefinition(t, c, taskDefinition("old", 128, 128))
	_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: old})
	require.NoError(t, err)
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "live", TaskDefinition: "web", DesiredCount: new(2)})
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "daemon", TaskDefinition: "web", SchedulingStrategy: "DAEMON"})
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "draining", TaskDefinition: "web", DesiredCount: new(1)})
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "gone", TaskDefinition: "web", DesiredCount: new(0)})
	settleServices(t, c, clock, "app01")
	_, err = c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "draining", Force: true})
	require.NoError(t, err)
	_, err = c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "gone"})
	require.NoError(t, err)
	for name, status := range map[string]string{"live": "ACTIVE", "daemon": "ACTIVE", "draining": "DRAINING", "gone": "INACTIVE"} {
		require.Equal(t, status, describeService(t, c, "app01", name).Status, name)
	}
	require.Len(t, serviceTasks(t, c, "app01", "live"), 2)
	require.Len(t, serviceTasks(t, c, "app01", "daemon"), 2)
	return c, clock
}

// fixtureServices are the services serviceFixture creates, and "new",
// which the error cases try to create.
var fixtureServices = []string{"live", "daemon", "draining", "gone", "new", "nope"}

// apiErrorIs checks that err is an E with message msg ("" for any).
func apiErrorIs[E interface {
	stevedore.APIError
}](msg string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		e := requireErrorAs[E](t, err)
		if msg != "" {
			assert.Equal(t, msg, e.ErrorMessage())
		}
	}
}

func TestDecodeCreateServiceInputFixture(t *testing.T) {
	raw := locationServiceFixture(t)
	in, err := stevedore.DecodeCreateServiceInput(raw)
	require.NoError(t, err)
	assert.Equal(t, &stevedore.CreateServiceInput{
		Cluster: "app01", ServiceName: "location", TaskDefinition: "location",
		LoadBalancers: []stevedore.LoadBalancer{{LoadBalancerName: "location", ContainerName: "location", ContainerPort: 8081}},
		DesiredCount:  new(4), ClientToken: "lololololo", Role: "arn:aws:iam::xxxxxxxxxxxxxxxx:role/ecsServiceRole",
		DeploymentConfiguration: &stevedore.DeploymentConfiguration{MaximumPercent: new(200), MinimumHealthyPercent: new(50)},
	}, in)

	t.Run("CreateService", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		td := registerTaskDefinition(t, c, fixtureTaskDefinition(t, "microservices-location-task.json"))
		in, err := stevedore.DecodeCreateServiceInput(raw)
		require.NoError(t, err)
		out, err := c.CreateService(t.Context(), in)
		require.NoError(t, err)
		s := out.Service
		require.Len(t, s.Deployments, 1)
		d := s.Deployments[0]
		assert.Regexp(t, deploymentIDRE, d.Id)
		assert.Equal(t, stevedore.Service{
			ServiceArn: arnPrefix + "service/app01/location", ServiceName: "location", ClusterArn: arnPrefix + "cluster/app01",
			LoadBalancers: []stevedore.LoadBalancer{{LoadBalancerName: "location", ContainerName: "location", ContainerPort: 8081}},
			Status:        "ACTIVE", DesiredCount: 4, LaunchType: "EC2", TaskDefinition: td, AvailabilityZoneRebalancing: "ENABLED",
			DeploymentConfiguration: stevedore.DeploymentConfiguration{
				MaximumPercent: new(200), MinimumHealthyPercent: new(50),
				DeploymentCircuitBreaker: &stevedore.DeploymentCircuitBreaker{},
			},
			Deployments: []stevedore.Deployment{{
				Id: d.Id, Status: "PRIMARY", TaskDefinition: td, DesiredCount: 4,
				CreatedAt: t0, UpdatedAt: t0, LaunchType: "EC2", RolloutState: "IN_PROGRESS",
			}},
			RoleArn:              "arn:aws:iam::xxxxxxxxxxxxxxxx:role/ecsServiceRole",
			Events:               []stevedore.ServiceEvent{},
			CreatedAt:            t0,
			PlacementConstraints: []stevedore.PlacementConstraint{},
			PlacementStrategy:    []stevedore.PlacementStrategy{},
			SchedulingStrategy:   "REPLICA",
		}, s)
		assert.Equal(t, s, describeService(t, c, "app01", "location"))
	})

	t.Run("unknown field", func(t *testing.T) {
		bad := strings.Replace(string(raw), `"desiredCount": 4,`, `"desiredCount": 4, "placementStrategies": [],`, 1)
		require.NotEqual(t, string(raw), bad)
		_, err := stevedore.DecodeCreateServiceInput([]byte(bad))
		e := requireErrorAs[*stevedore.ClientException](t, err)
		assert.Contains(t, e.ErrorMessage(), `"placementStrategies"`)
	})

	t.Run("data after the object", func(t *testing.T) {
		_, err := stevedore.DecodeCreateServiceInput(append(slices.Clone(raw), "{}"...))
		requireErrorAs[*stevedore.ClientException](t, err)
	})
}

func TestCreateServiceErrors(t *testing.T) {
	base := stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "new", TaskDefinition: "web", DesiredCount: new(1)}
	for _, tc := range []struct {
		name  string
		edit  func(in *stevedore.CreateServiceInput)
		check func(t *testing.T, err error)
	}{
		{"name of an ACTIVE service", func(in *stevedore.CreateServiceInput) { in.ServiceName = "live" },
			apiErrorIs[*stevedore.InvalidParameterException](msgNotIdempotent)},
		{"name of a DRAINING service", func(in *stevedore.CreateServiceInput) { in.ServiceName = "draining" },
			apiErrorIs[*stevedore.InvalidParameterException](msgNotIdempotent)},
		{"DAEMON with desiredCount", func(in *stevedore.CreateServiceInput) { in.SchedulingStrategy = "DAEMON" },
			apiErrorIs[*stevedore.InvalidParameterException](msgDaemonDesired)},
		{"DAEMON with desiredCount 0", func(in *stevedore.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = "DAEMON", new(0)
		}, apiErrorIs[*stevedore.InvalidParameterException](msgDaemonDesired)},
		{"DAEMON with placementStrategy", func(in *stevedore.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = "DAEMON", nil
			in.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "spread", Field: "instanceId"}}
		}, apiErrorIs[*stevedore.InvalidParameterException](msgDaemonStrategy)},
		{"DAEMON with maximumPercent 200", func(in *stevedore.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = "DAEMON", nil
			in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MaximumPercent: new(200)}
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"REPLICA without desiredCount", func(in *stevedore.CreateServiceInput) { in.DesiredCount = nil },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"explicit REPLICA without desiredCount", func(in *stevedore.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = "REPLICA", nil
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"negative desiredCount", func(in *stevedore.CreateServiceInput) { in.DesiredCount = new(-1) },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"minimumHealthyPercent 101", func(in *stevedore.CreateServiceInput) {
			in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MinimumHealthyPercent: new(101)}
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"minimumHealthyPercent -1", func(in *stevedore.CreateServiceInput) {
			in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MinimumHealthyPercent: new(-1)}
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"maximumPercent 99", func(in *stevedore.CreateServiceInput) {
			in.DeploymentConfiguration = &stevedore.DeploymentConfiguration{MaximumPercent: new(99)}
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown task definition", func(in *stevedore.CreateServiceInput) { in.TaskDefinition = "nope" },
			apiErrorIs[*stevedore.ClientException]("TaskDefinition not found.")},
		{"unknown revision", func(in *stevedore.CreateServiceInput) { in.TaskDefinition = "web:9" },
			apiErrorIs[*stevedore.ClientException]("")},
		{"INACTIVE task definition", func(in *stevedore.CreateServiceInput) { in.TaskDefinition = "old:1" },
			apiErrorIs[*stevedore.InvalidParameterException]("TaskDefinition is inactive")},
		{"no task definition", func(in *stevedore.CreateServiceInput) { in.TaskDefinition = "" },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"bad service name", func(in *stevedore.CreateServiceInput) { in.ServiceName = "new service" },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown schedulingStrategy", func(in *stevedore.CreateServiceInput) { in.SchedulingStrategy = "SINGLETON" },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"FARGATE", func(in *stevedore.CreateServiceInput) { in.LaunchType = "FARGATE" },
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"six placement strategies", func(in *stevedore.CreateServiceInput) {
			in.PlacementStrategy = slices.Repeat([]stevedore.PlacementStrategy{{Type: "random"}}, 6)
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"bad placement constraint", func(in *stevedore.CreateServiceInput) {
			in.PlacementConstraints = []stevedore.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type =~"}}
		}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown cluster", func(in *stevedore.CreateServiceInput) { in.Cluster = "nope" },
			apiErrorIs[*stevedore.ClusterNotFoundException]("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serviceFixture(t)
			in := base
			tc.edit(&in)
			before := snapshotServices(t, c, "app01", fixtureServices...)
			out, err := c.CreateService(t.Context(), &in)
			assert.Nil(t, out)
			tc.check(t, err)
			assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...), "a failed CreateService changes nothing")
		})
	}
}

func TestCreateServiceReusesInactiveName(t *testing.T) {
	c, clock := serviceFixture(t)
	gone := describeService(t, c, "app01", "gone")
	require.Equal(t, "INACTIVE", gone.Status)
	clock.Advance(time.Minute)

	again := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "gone", TaskDefinition: "web", DesiredCount: new(1)})
	assert.Equal(t, "ACTIVE", again.Status)
	assert.Equal(t, gone.ServiceArn, again.ServiceArn, "the ARN is made of the cluster and the name")
	assert.Equal(t, clock.Now(), again.CreatedAt)
	require.Len(t, again.Deployments, 1)
	assert.NotEqual(t, gone.Deployments[0].Id, again.Deployments[0].Id, "a new service, a new deployment")
	assert.Equal(t, again, describeService(t, c, "app01", "gone"))
	l, err := c.ListServices(t.Context(), &stevedore.ListServicesInput{Cluster: "app01"})
	require.NoError(t, err)
	assert.Contains(t, l.ServiceArns, again.ServiceArn)

	// And once DRAINING turns INACTIVE, that name is free too.
	_, err = c.CreateService(t.Context(), &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "draining", TaskDefinition: "web", DesiredCount: new(1)})
	apiErrorIs[*stevedore.InvalidParameterException](msgNotIdempotent)(t, err)
	reconcile(t, c, clock, "app01")
	require.Equal(t, "INACTIVE", describeService(t, c, "app01", "draining").Status)
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "draining", TaskDefinition: "web", DesiredCount: new(1)})
}

func TestUpdateServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    stevedore.UpdateServiceInput
		check func(t *testing.T, err error)
	}{
		{"unknown service", stevedore.UpdateServiceInput{Service: "nope", DesiredCount: new(1)},
			apiErrorIs[*stevedore.ServiceNotFoundException]("")},
		{"DRAINING service", stevedore.UpdateServiceInput{Service: "draining", DesiredCount: new(1)},
			apiErrorIs[*stevedore.ServiceNotActiveException]("")},
		// docs/semantics.md §4.8 and §7: UpdateService on a non-ACTIVE service,
		// INACTIVE included, is ServiceNotActiveException (the API reference:
		// "You can't update a service that's inactive").
		{"INACTIVE service", stevedore.UpdateServiceInput{Service: "gone", DesiredCount: new(1)},
			apiErrorIs[*stevedore.ServiceNotActiveException]("")},
		{"no service", stevedore.UpdateServiceInput{DesiredCount: new(1)},
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown cluster", stevedore.UpdateServiceInput{Cluster: "nope", Service: "live", DesiredCount: new(1)},
			apiErrorIs[*stevedore.ClusterNotFoundException]("")},
		{"negative desiredCount", stevedore.UpdateServiceInput{Service: "live", DesiredCount: new(-1)},
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown task definition", stevedore.UpdateServiceInput{Service: "live", TaskDefinition: "nope"},
			apiErrorIs[*stevedore.ClientException]("TaskDefinition not found.")},
		{"INACTIVE task definition", stevedore.UpdateServiceInput{Service: "live", TaskDefinition: "old:1"},
			apiErrorIs[*stevedore.InvalidParameterException]("TaskDefinition is inactive")},
		{"minimumHealthyPercent 101", stevedore.UpdateServiceInput{Service: "live",
			DeploymentConfiguration: &stevedore.DeploymentConfiguration{MinimumHealthyPercent: new(101)}},
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"maximumPercent 99", stevedore.UpdateServiceInput{Service: "live",
			DeploymentConfiguration: &stevedore.DeploymentConfiguration{MaximumPercent: new(99)}},
			apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"DAEMON desiredCount", stevedore.UpdateServiceInput{Service: "daemon", DesiredCount: new(2)},
			apiErrorIs[*stevedore.InvalidParameterException](msgDaemonDesired)},
		{"DAEMON placementStrategy", stevedore.UpdateServiceInput{Service: "daemon",
			PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}},
			apiErrorIs[*stevedore.InvalidParameterException](msgDaemonStrategy)},
		{"DAEMON maximumPercent 200", stevedore.UpdateServiceInput{Service: "daemon",
			DeploymentConfiguration: &stevedore.DeploymentConfiguration{MaximumPercent: new(200)}},
			apiErrorIs[*stevedore.InvalidParameterException]("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serviceFixture(t)
			if tc.in.Cluster == "" {
				tc.in.Cluster = "app01"
			}
			before := snapshotServices(t, c, "app01", fixtureServices...)
			out, err := c.UpdateService(t.Context(), &tc.in)
			assert.Nil(t, out)
			tc.check(t, err)
			assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...), "a failed UpdateService changes nothing")
		})
	}
}

func TestUpdateServiceDeployments(t *testing.T) {
	setUp := func(t *testing.T) (*stevedore.Client, *stevedore.ManualClock, stevedore.Service, string) {
		t.Helper()
		c, clock := newClient(t)
		createCluster(t, c, "app01")
		registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
		registerAZInstance(t, c, "app01", "i-0000000b", "b", 2048, 2048)
		registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
		web2 := registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
		createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web:1", DesiredCount: new(2)})
		settleServices(t, c, clock, "app01")
		s := describeService(t, c, "app01", "web")
		require.Len(t, s.Deployments, 1)
		require.Equal(t, "COMPLETED", s.Deployments[0].RolloutState)
		return c, clock, s, web2
	}

	t.Run("desiredCount only", func(t *testing.T) {
		c, _, before, _ := setUp(t)
		out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", DesiredCount: new(3)})
		require.NoError(t, err)
		s := out.Service
		assert.Equal(t, 3, s.DesiredCount)
		require.Len(t, s.Deployments, 1, "changing desiredCount starts no deployment")
		assert.Equal(t, before.Deployments[0].Id, s.Deployments[0].Id)
		assert.Equal(t, "PRIMARY", s.Deployments[0].Status)
		assert.Equal(t, 3, s.Deployments[0].DesiredCount)
		assert.Equal(t, before.TaskDefinition, s.TaskDefinition)
	})

	t.Run("deployment configuration and placement only", func(t *testing.T) {
		c, _, before, _ := setUp(t)
		out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{
			Cluster: "app01", Service: "web",
			DeploymentConfiguration: &stevedore.DeploymentConfiguration{MinimumHealthyPercent: new(50)},
			PlacementStrategy:       []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}},
		})
		require.NoError(t, err)
		s := out.Service
		require.Len(t, s.Deployments, 1)
		assert.Equal(t, before.Deployments[0].Id, s.Deployments[0].Id)
		assert.Equal(t, stevedore.DeploymentConfiguration{MaximumPercent: new(200), MinimumHealthyPercent: new(50),
			DeploymentCircuitBreaker: &stevedore.DeploymentCircuitBreaker{}}, s.DeploymentConfiguration)
		assert.Equal(t, []stevedore.PlacementStrategy{{Type: "binpack", Field: "memory"}}, s.PlacementStrategy)
	})

	t.Run("new task definition", func(t *testing.T) {
		c, _, before, web2 := setUp(t)
		out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", TaskDefinition: "web:2"})
		require.NoError(t, err)
		s := out.Service
		assert.Equal(t, web2, s.TaskDefinition)
		require.Len(t, s.Deployments, 2)
		assert.Regexp(t, deploymentIDRE, s.Deployments[0].Id)
		assert.NotEqual(t, before.Deployments[0].Id, s.Deployments[0].Id)
		assert.Equal(t, []string{"PRIMARY", "ACTIVE"}, []string{s.Deployments[0].Status, s.Deployments[1].Status})
		assert.Equal(t, []string{web2, before.TaskDefinition}, []string{s.Deployments[0].TaskDefinition, s.Deployments[1].TaskDefinition})
		assert.Equal(t, "IN_PROGRESS", s.Deployments[0].RolloutState)
		assert.Equal(t, before.Deployments[0].Id, s.Deployments[1].Id)
	})

	t.Run("same task definition", func(t *testing.T) {
		c, _, before, _ := setUp(t)
		out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", TaskDefinition: before.TaskDefinition})
		require.NoError(t, err)
		require.Len(t, out.Service.Deployments, 1)
		assert.Equal(t, before.Deployments[0].Id, out.Service.Deployments[0].Id)
	})

	t.Run("forceNewDeployment", func(t *testing.T) {
		c, clock, before, _ := setUp(t)
		out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", ForceNewDeployment: true})
		require.NoError(t, err)
		s := out.Service
		require.Len(t, s.Deployments, 2)
		assert.NotEqual(t, before.Deployments[0].Id, s.Deployments[0].Id)
		assert.Equal(t, before.TaskDefinition, s.Deployments[0].TaskDefinition, "same revision, new deployment")
		// The rollout replaces every task; the tasks then carry the new id.
		for range 5 {
			settleServices(t, c, clock, "app01")
		}
		s = describeService(t, c, "app01", "web")
		require.Len(t, s.Deployments, 1)
		assert.Equal(t, "COMPLETED", s.Deployments[0].RolloutState)
		tasks := serviceTasks(t, c, "app01", "web")
		require.Len(t, tasks, 2)
		for _, task := range tasks {
			assert.Equal(t, s.Deployments[0].Id, task.StartedBy)
		}
	})
}

func TestDeleteService(t *testing.T) {
	ctx := t.Context()
	t.Run("scaled above 0 without force", func(t *testing.T) {
		c, _ := serviceFixture(t)
		before := snapshotServices(t, c, "app01", fixtureServices...)
		out, err := c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "live"})
		assert.Nil(t, out)
		apiErrorIs[*stevedore.InvalidParameterException](msgScaledAbove0)(t, err)
		assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...))
	})

	for _, tc := range []struct {
		name  string
		in    stevedore.DeleteServiceInput
		check func(t *testing.T, err error)
	}{
		{"unknown service", stevedore.DeleteServiceInput{Cluster: "app01", Service: "nope"}, apiErrorIs[*stevedore.ServiceNotFoundException]("")},
		{"INACTIVE service", stevedore.DeleteServiceInput{Cluster: "app01", Service: "gone"}, apiErrorIs[*stevedore.ServiceNotFoundException]("")},
		{"unknown cluster", stevedore.DeleteServiceInput{Cluster: "nope", Service: "live", Force: true}, apiErrorIs[*stevedore.ClusterNotFoundException]("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serviceFixture(t)
			before := snapshotServices(t, c, "app01", fixtureServices...)
			_, err := c.DeleteService(ctx, &tc.in)
			tc.check(t, err)
			assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...))
		})
	}

	t.Run("force", func(t *testing.T) {
		c, clock := serviceFixture(t)
		live := describeService(t, c, "app01", "live")
		out, err := c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "live", Force: true})
		require.NoError(t, err)
		assert.Equal(t, "DRAINING", out.Service.Status)
		assert.Equal(t, 0, out.Service.DesiredCount)
		l, err := c.ListServices(ctx, &stevedore.ListServicesInput{Cluster: "app01"})
		require.NoError(t, err)
		assert.NotContains(t, l.ServiceArns, live.ServiceArn, "DRAINING services are not listed")
		tasks := serviceTasks(t, c, "app01", "live")
		require.Len(t, tasks, 2)

		reconcile(t, c, clock, "app01")
		assert.Equal(t, "INACTIVE", describeService(t, c, "app01", "live").Status, "INACTIVE once its tasks are stopped")
		for _, task := range tasks {
			got := describeTask(t, c, "app01", task.TaskArn)
			assert.Equal(t, "STOPPED", got.DesiredStatus)
			assert.Equal(t, "Scaling activity initiated by (deployment "+live.Deployments[0].Id+")", got.StoppedReason)
			assert.Equal(t, "ServiceSchedulerInitiated", got.StopCode)
		}
	})

	t.Run("desired count 0 without force", func(t *testing.T) {
		c, clock := serviceFixture(t)
		_, err := c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "app01", Service: "live", DesiredCount: new(0)})
		require.NoError(t, err)
		reconcile(t, c, clock, "app01")
		require.Empty(t, serviceTasks(t, c, "app01", "live"))
		out, err := c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "live"})
		require.NoError(t, err)
		assert.Equal(t, "INACTIVE", out.Service.Status, "no task to stop: INACTIVE at once")
	})

	t.Run("DAEMON without force", func(t *testing.T) {
		c, clock := serviceFixture(t)
		tasks := serviceTasks(t, c, "app01", "daemon")
		require.Len(t, tasks, 2)
		out, err := c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "daemon"})
		require.NoError(t, err)
		assert.Equal(t, "DRAINING", out.Service.Status)
		reconcile(t, c, clock, "app01")
		assert.Equal(t, "INACTIVE", describeService(t, c, "app01", "daemon").Status)
		for _, task := range tasks {
			assert.Equal(t, "STOPPED", describeTask(t, c, "app01", task.TaskArn).DesiredStatus)
		}
	})
}

func TestDescribeServices(t *testing.T) {
	c, _ := serviceFixture(t)
	ctx := t.Context()
	out, err := c.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "app01", Services: []string{"live", "nope", arnPrefix + "service/app01/gone", "draining"}})
	require.NoError(t, err)
	assert.Equal(t, []stevedore.Failure{{Arn: arnPrefix + "service/app01/nope", Reason: "MISSING"}}, out.Failures)
	var got []string
	for _, s := range out.Services {
		got = append(got, s.ServiceName+" "+s.Status)
	}
	assert.Equal(t, []string{"live ACTIVE", "gone INACTIVE", "draining DRAINING"}, got, "in the order asked, DRAINING and INACTIVE included")

	for _, tc := range []struct {
		name  string
		in    stevedore.DescribeServicesInput
		check func(t *testing.T, err error)
	}{
		{"no services", stevedore.DescribeServicesInput{Cluster: "app01"}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"11 services", stevedore.DescribeServicesInput{Cluster: "app01", Services: slices.Repeat([]string{"live"}, 11)}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown cluster", stevedore.DescribeServicesInput{Cluster: "nope", Services: []string{"live"}}, apiErrorIs[*stevedore.ClusterNotFoundException]("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DescribeServices(ctx, &tc.in)
			tc.check(t, err)
		})
	}
}

func TestListServices(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	var replica, daemon []string
	for i := range 12 {
		s := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "svc-" + strconv.Itoa(i), TaskDefinition: "web", DesiredCount: new(0)})
		replica = append(replica, s.ServiceArn)
	}
	for _, name := range []string{"agent", "logs"} {
		s := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: name, TaskDefinition: "web", SchedulingStrategy: "DAEMON"})
		daemon = append(daemon, s.ServiceArn)
	}
	deleted := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "deleted", TaskDefinition: "web", DesiredCount: new(0)})
	_, err := c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "deleted"})
	require.NoError(t, err)
	all := slices.Sorted(slices.Values(slices.Concat(replica, daemon)))

	first, err := c.ListServices(ctx, &stevedore.ListServicesInput{Cluster: "app01"})
	require.NoError(t, err)
	assert.Len(t, first.ServiceArns, 10, "ECS's default page is 10")
	require.NotEmpty(t, first.NextToken)
	second, err := c.ListServices(ctx, &stevedore.ListServicesInput{Cluster: "app01", NextToken: first.NextToken})
	require.NoError(t, err)
	assert.Empty(t, second.NextToken)
	assert.Equal(t, all, slices.Concat(first.ServiceArns, second.ServiceArns), "sorted, every ACTIVE service once, INACTIVE ones left out")
	assert.NotContains(t, slices.Concat(first.ServiceArns, second.ServiceArns), deleted.ServiceArn)

	for _, tc := range []struct {
		in   stevedore.ListServicesInput
		want []string
	}{
		{stevedore.ListServicesInput{SchedulingStrategy: "DAEMON"}, daemon},
		{stevedore.ListServicesInput{SchedulingStrategy: "REPLICA", MaxResults: 100}, slices.Sorted(slices.Values(replica))},
		{stevedore.ListServicesInput{MaxResults: 100}, all},
		{stevedore.ListServicesInput{LaunchType: "EC2", MaxResults: 3}, all[:3]},
	} {
		t.Run(tc.in.SchedulingStrategy+tc.in.LaunchType, func(t *testing.T) {
			tc.in.Cluster = "app01"
			out, err := c.ListServices(ctx, &tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.ServiceArns)
		})
	}

	for _, tc := range []struct {
		name  string
		in    stevedore.ListServicesInput
		check func(t *testing.T, err error)
	}{
		{"unknown schedulingStrategy", stevedore.ListServicesInput{Cluster: "app01", SchedulingStrategy: "ONCE"}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"maxResults 101", stevedore.ListServicesInput{Cluster: "app01", MaxResults: 101}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"bad nextToken", stevedore.ListServicesInput{Cluster: "app01", NextToken: "!!"}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"FARGATE", stevedore.ListServicesInput{Cluster: "app01", LaunchType: "FARGATE"}, apiErrorIs[*stevedore.InvalidParameterException]("")},
		{"unknown cluster", stevedore.ListServicesInput{Cluster: "nope"}, apiErrorIs[*stevedore.ClusterNotFoundException]("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListServices(ctx, &tc.in)
			tc.check(t, err)
		})
	}
}

func TestListTasksServiceName(t *testing.T) {
	c, _ := serviceFixture(t)
	ctx := t.Context()
	t.Run("unknown service", func(t *testing.T) {
		before := snapshotServices(t, c, "app01", fixtureServices...)
		_, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app01", ServiceName: "nope"})
		apiErrorIs[*stevedore.ServiceNotFoundException]("")(t, err)
		assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...))
	})
	t.Run("the service's tasks only", func(t *testing.T) {
		tasks := serviceTasks(t, c, "app01", "live")
		require.Len(t, tasks, 2)
		for _, task := range tasks {
			assert.Equal(t, "service:live", task.Group)
		}
	})
}

func TestDeleteClusterWithService(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(1)})
	before := snapshotServices(t, c, "app01", "web")
	out, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app01"})
	assert.Nil(t, out)
	requireErrorAs[*stevedore.ClusterContainsServicesException](t, err)
	assert.Equal(t, before, snapshotServices(t, c, "app01", "web"))

	_, err = c.DeleteService(ctx, &stevedore.DeleteServiceInput{Cluster: "app01", Service: "web", Force: true})
	require.NoError(t, err)
	require.Equal(t, "INACTIVE", describeService(t, c, "app01", "web").Status)
	deleted, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app01"})
	require.NoError(t, err)
	assert.Equal(t, "INACTIVE", deleted.Cluster.Status)
}

func TestServiceDefaults(t *testing.T) {
	c, clock := newClient(t)
	createCluster(t, c, "app01")
	// Three instances in us-east-1a, one in us-east-1b.
	a1 := registerAZInstance(t, c, "app01", "i-000000a1", "a", 2048, 2048)
	a2 := registerAZInstance(t, c, "app01", "i-000000a2", "a", 2048, 2048)
	a3 := registerAZInstance(t, c, "app01", "i-000000a3", "a", 2048, 2048)
	b := registerAZInstance(t, c, "app01", "i-000000b1", "b", 2048, 2048)
	registerTaskDefinition(t, c, taskDefinition("web", 128, 128))

	replica := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(4)})
	assert.Equal(t, stevedore.DeploymentConfiguration{
		MaximumPercent: new(200), MinimumHealthyPercent: new(100), DeploymentCircuitBreaker: &stevedore.DeploymentCircuitBreaker{},
	}, replica.DeploymentConfiguration, "REPLICA defaults")
	assert.Equal(t, "REPLICA", replica.SchedulingStrategy)
	assert.Equal(t, []stevedore.PlacementStrategy{}, replica.PlacementStrategy, "the service shows no strategy")
	assert.Equal(t, []stevedore.PlacementConstraint{}, replica.PlacementConstraints)

	daemon := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "agent", TaskDefinition: "web", SchedulingStrategy: "DAEMON"})
	assert.Equal(t, stevedore.DeploymentConfiguration{
		MaximumPercent: new(100), MinimumHealthyPercent: new(0), DeploymentCircuitBreaker: &stevedore.DeploymentCircuitBreaker{},
	}, daemon.DeploymentConfiguration, "DAEMON defaults")
	assert.Equal(t, "DAEMON", daemon.SchedulingStrategy)

	settleServices(t, c, clock, "app01")
	perInstance := map[string]int{}
	for _, task := range serviceTasks(t, c, "app01", "web") {
		perInstance[task.ContainerInstanceArn]++
	}
	// The default is spread over attribute:ecs.availability-zone, then
	// instanceId: two tasks per zone, so the lone us-east-1b instance takes
	// two and each us-east-1a instance at most one.
	assert.Equal(t, 2, perInstance[b.ContainerInstanceArn], "tasks on the only us-east-1b instance: %v", perInstance)
	for _, in := range []stevedore.ContainerInstance{a1, a2, a3} {
		assert.LessOrEqual(t, perInstance[in.ContainerInstanceArn], 1, "tasks per us-east-1a instance: %v", perInstance)
	}
	assert.Empty(t, describeService(t, c, "app01", "web").PlacementStrategy, "still shown as none")

	agentTasks := serviceTasks(t, c, "app01", "agent")
	assert.Len(t, agentTasks, 4, "one DAEMON task per instance")
	assert.Equal(t, 4, describeService(t, c, "app01", "agent").DesiredCount)
}

func TestServiceTasks(t *testing.T) {
	c, clock := newClient(t)
	createCluster(t, c, "app01")
	registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
	registerAZInstance(t, c, "app01", "i-0000000b", "b", 2048, 2048)
	td := registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	s := createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(3)})
	id := s.Deployments[0].Id
	require.Regexp(t, deploymentIDRE, id)

	started := reconcile(t, c, clock, "app01")
	assert.Empty(t, started.Failures)
	require.Len(t, started.Started, 3)
	for _, task := range started.Started {
		assert.Equal(t, "service:web", task.Group)
		assert.Equal(t, id, task.StartedBy, "service tasks carry the deployment id")
		assert.Equal(t, td, task.TaskDefinitionArn)
		assert.Equal(t, "PENDING", task.LastStatus)
		assert.Equal(t, "RUNNING", task.DesiredStatus)
	}
	l, err := c.ListTasks(t.Context(), &stevedore.ListTasksInput{Cluster: "app01", StartedBy: id})
	require.NoError(t, err)
	assert.Len(t, l.TaskArns, 3, "ListTasks by startedBy finds a deployment's tasks")

	s = describeService(t, c, "app01", "web")
	assert.Equal(t, []int{0, 3}, []int{s.RunningCount, s.PendingCount})
	assert.Equal(t, []int{0, 3}, []int{s.Deployments[0].RunningCount, s.Deployments[0].PendingCount})
	startPending(t, c, clock, "app01")
	reconcile(t, c, clock, "app01")
	s = describeService(t, c, "app01", "web")
	assert.Equal(t, []int{3, 0}, []int{s.RunningCount, s.PendingCount})
	assert.Equal(t, "COMPLETED", s.Deployments[0].RolloutState)
	assert.Equal(t, "ECS deployment "+id+" completed.", s.Deployments[0].RolloutStateReason)
}

func TestServiceEvents(t *testing.T) {
	t.Run("started and steady", func(t *testing.T) {
		c, clock := newClient(t)
		createCluster(t, c, "app01")
		registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
		registerAZInstance(t, c, "app01", "i-0000000b", "b", 2048, 2048)
		registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
		createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(2)})

		out := reconcile(t, c, clock, "app01")
		require.Len(t, out.Started, 2)
		started := clock.Now()
		want := "(service web) has started 2 tasks: (task " + taskID(out.Started[0].TaskArn) + ") (task " + taskID(out.Started[1].TaskArn) + ")."
		s := describeService(t, c, "app01", "web")
		require.Len(t, s.Events, 1)
		assert.Equal(t, want, s.Events[0].Message)
		assert.Equal(t, started, s.Events[0].CreatedAt)
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, s.Events[0].Id)

		startPending(t, c, clock, "app01")
		reconcile(t, c, clock, "app01")
		s = describeService(t, c, "app01", "web")
		assert.Equal(t, []string{"(service web) has reached a steady state.", want}, messages(s), "newest first")
		assert.True(t, s.Events[0].CreatedAt.After(s.Events[1].CreatedAt))

		reconcile(t, c, clock, "app01")
		assert.Len(t, describeService(t, c, "app01", "web").Events, 2, "a steady service does not repeat the event every step")
	})

	t.Run("scale in", func(t *testing.T) {
		c, clock := newClient(t)
		createCluster(t, c, "app01")
		registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
		registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
		createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(2)})
		settleServices(t, c, clock, "app01")
		_, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", DesiredCount: new(1)})
		require.NoError(t, err)
		out := reconcile(t, c, clock, "app01")
		require.Len(t, out.Stopped, 1)
		s := describeService(t, c, "app01", "web")
		require.GreaterOrEqual(t, len(s.Events), 2)
		// Having stopped the extra task the service is steady again, and
		// says so as ECS does after a scale-in.
		assert.Equal(t, []string{
			"(service web) has reached a steady state.",
			"(service web) has stopped 1 running tasks: (task " + taskID(out.Stopped[0].TaskArn) + ").",
		}, messages(s)[:2])
	})

	placementCases := []struct {
		name      string
		instances func(t *testing.T, c *stevedore.Client) string // returns the closest instance's id
		ports     []taskdef.PortMapping
		want      func(id string) string
	}{
		{"memory", func(t *testing.T, c *stevedore.Client) string {
			return taskID(registerAZInstance(t, c, "app01", "i-0000000a", "a", 4096, 256).ContainerInstanceArn)
		}, nil, func(id string) string {
			return msgUnplaceable + " The closest matching container-instance " + id + " has insufficient memory available."
		}},
		{"CPU", func(t *testing.T, c *stevedore.Client) string {
			return taskID(registerAZInstance(t, c, "app01", "i-0000000a", "a", 128, 4096).ContainerInstanceArn)
		}, nil, func(id string) string {
			return msgUnplaceable + " The closest matching container-instance " + id + " has insufficient CPU units available."
		}},
		{"port", func(t *testing.T, c *stevedore.Client) string {
			in := registerAZInstance(t, c, "app01", "i-0000000a", "a", 4096, 4096)
			registerTaskDefinition(t, c, taskDefinition("proxy", 128, 128, taskdef.PortMapping{ContainerPort: 80, HostPort: 80}))
			runTask(t, c, "app01", "proxy", 1)
			return taskID(in.ContainerInstanceArn)
		}, []taskdef.PortMapping{{ContainerPort: 80, HostPort: 80}}, func(id string) string {
			return msgUnplaceable + " The closest matching container-instance " + id + " is already using a port required by your task."
		}},
		{"no instances", func(t *testing.T, c *stevedore.Client) string { return "" }, nil, func(string) string {
			return msgUnplaceable + " Reason: No Container Instances were found in your cluster."
		}},
	}
	for _, tc := range placementCases {
		t.Run("unable to place: "+tc.name, func(t *testing.T) {
			c, clock := newClient(t)
			createCluster(t, c, "app01")
			id := tc.instances(t, c)
			registerTaskDefinition(t, c, taskDefinition("web", 256, 512, tc.ports...))
			createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(1)})
			out := reconcile(t, c, clock, "app01")
			assert.Empty(t, out.Started)
			require.NotEmpty(t, out.Failures)
			if id != "" {
				assert.Equal(t, arnPrefix+"container-instance/app01/"+id, out.Failures[0].Arn)
			}
			assert.Equal(t, []string{tc.want(id)}, messages(describeService(t, c, "app01", "web")))

			reconcile(t, c, clock, "app01")
			assert.Len(t, describeService(t, c, "app01", "web").Events, 1, "the same message is not repeated step after step")
		})
	}

	t.Run("at most 100, newest first", func(t *testing.T) {
		c, clock := newClient(t)
		createCluster(t, c, "app01")
		registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
		registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
		createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "web", TaskDefinition: "web", DesiredCount: new(0)})
		var last *stevedore.ReconcileOutput
		for range 40 {
			for _, n := range []int{1, 0} {
				_, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "web", DesiredCount: new(n)})
				require.NoError(t, err)
				last = reconcile(t, c, clock, "app01")
				startPending(t, c, clock, "app01")
				reconcile(t, c, clock, "app01")
			}
		}
		s := describeService(t, c, "app01", "web")
		require.Len(t, s.Events, 100)
		require.Len(t, last.Stopped, 1)
		stopped := "(service web) has stopped 1 running tasks: (task " + taskID(last.Stopped[0].TaskArn) + ")."
		assert.Contains(t, messages(s)[:2], stopped, "the newest events come first")
		for i := 1; i < len(s.Events); i++ {
			assert.Falsef(t, s.Events[i].CreatedAt.After(s.Events[i-1].CreatedAt), "event %d (%s) is newer than event %d (%s)",
				i, s.Events[i].CreatedAt, i-1, s.Events[i-1].CreatedAt)
		}
	})
}

// TestDescribeServicesCountsNow: an agent's report shows in the service's
// and its deployment's counts at once, not at the next Reconcile; an
// unknown service's failure echoes an ARN as given.
func TestDescribeServicesCountsNow(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
	registerTaskDefinition(t, c, taskDefinition("web", 256, 256))
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "api", TaskDefinition: "web", DesiredCount: new(2)})
	reconcile(t, c, clock, "app01")
	s := describeService(t, c, "app01", "api")
	assert.Equal(t, [2]int{0, 2}, [2]int{s.RunningCount, s.PendingCount})
	_, err := c.StartPendingTasks(ctx, &stevedore.StartPendingTasksInput{Cluster: "app01"})
	require.NoError(t, err)
	s = describeService(t, c, "app01", "api")
	assert.Equal(t, [2]int{2, 0}, [2]int{s.RunningCount, s.PendingCount}, "the agents' reports show before the next Reconcile")
	assert.Equal(t, 2, s.Deployments[0].RunningCount)

	arn := "arn:aws:ecs:us-east-1:123456789012:service/app01/nope"
	out, err := c.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: "app01", Services: []string{arn, "gone"}})
	require.NoError(t, err)
	require.Len(t, out.Failures, 2)
	assert.Equal(t, arn, out.Failures[0].Arn)
	assert.Equal(t, "arn:aws:ecs:us-east-1:123456789012:service/app01/gone", out.Failures[1].Arn)
}
