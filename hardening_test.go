package stevedore_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Regression tests for inputs that were accepted, or half applied, before
// the checks named here existed.

// overMaxContainer is one past the 32-bit container limit, as a variable so
// that the tests build where int has 32 bits.
var overMaxContainer = int64(taskdef.MaxContainerValue) + 1

// TestOvercommitThroughOverflow: four containers of 2^62 CPU summed to 0
// in an int64, so the definition registered and ten of its tasks took no
// CPU on a 1,024-CPU instance. Every amount is now bounded before it is
// summed.
func TestOvercommitThroughOverflow(t *testing.T) {
	const huge = math.MaxInt/2 + 1 // 2^62 where int has 64 bits
	containers := func(f func(c *taskdef.ContainerDefinition)) []taskdef.ContainerDefinition {
		cs := make([]taskdef.ContainerDefinition, 4)
		for i := range cs {
			cs[i] = taskdef.ContainerDefinition{Name: "c" + string(rune('0'+i)), Image: "busybox", Memory: 16}
			f(&cs[i])
		}
		return cs
	}
	for _, tc := range []struct {
		name, field string
		td          taskdef.TaskDefinition
	}{
		{"cpu 2^62 four times", "containerDefinitions[0].cpu",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) { c.CPU = huge })}},
		{"memory 2^62 four times", "containerDefinitions[0].memory",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) { c.Memory = huge })}},
		{"memoryReservation 2^62 four times", "containerDefinitions[0].memoryReservation",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) { c.Memory = 0; c.MemoryReservation = huge })}},
		{"cpu one past the 32-bit limit", "containerDefinitions[0].cpu",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) { c.CPU = int(overMaxContainer) })}},
		{"GPU 2^62 four times", "containerDefinitions[0].resourceRequirements[0].value",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) {
				c.ResourceRequirements = []taskdef.ResourceRequirement{{Type: taskdef.ResourceGPU, Value: "4611686018427387904"}}
			})}},
		{"GPUs over 64 summed", "containerDefinitions",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) {
				c.ResourceRequirements = []taskdef.ResourceRequirement{{Type: taskdef.ResourceGPU, Value: "17"}}
			})}},
		{"negative cpu", "containerDefinitions[0].cpu",
			taskdef.TaskDefinition{Family: "wrap", ContainerDefinitions: containers(func(c *taskdef.ContainerDefinition) { c.CPU = -huge })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			createCluster(t, c, "app01")
			registerInstance(t, c, "app01", resources(1024, 4096))
			before := snapshot(t, c)
			_, err := c.RegisterTaskDefinition(t.Context(), &stevedore.RegisterTaskDefinitionInput{TaskDefinition: tc.td})
			requireErrorAs[*stevedore.ClientException](t, err)
			ve := requireErrorAs[*taskdef.ValidationError](t, err)
			assert.Equal(t, tc.field, ve.Field)
			assert.Equal(t, before, snapshot(t, c), "a refused definition registers nothing")
			_, err = tc.td.Demand()
			assert.Error(t, err, "Demand refuses the amounts Validate refuses")
		})
	}
}

// TestRegisterContainerInstanceBounds: CPU and MEMORY are 32-bit in ECS,
// whichever type they are sent as; a port, an attribute is given once.
func TestRegisterContainerInstanceBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   stevedore.RegisterContainerInstanceInput
		msg  string
	}{
		{"LONG CPU 2^62", stevedore.RegisterContainerInstanceInput{TotalResources: []stevedore.Resource{
			{Name: "CPU", Type: "LONG", LongValue: 1 << 62}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 1024}}},
			"totalResources[0] (CPU)"},
		{"INTEGER MEMORY 2^31", stevedore.RegisterContainerInstanceInput{TotalResources: []stevedore.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 1 << 31}}},
			"totalResources[1] (MEMORY)"},
		{"PORTS listing 22 twice", stevedore.RegisterContainerInstanceInput{TotalResources: append(resources(1024, 1024),
			stevedore.Resource{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "80", "22"}})},
			"port 22 is listed twice"},
		{"PORTS_UDP listing 53 twice", stevedore.RegisterContainerInstanceInput{TotalResources: append(resources(1024, 1024),
			stevedore.Resource{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{"53", "53"}})},
			"port 53 is listed twice"},
		{"attribute given twice", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024),
			Attributes: []stevedore.Attribute{{Name: "stack", Value: "prod"}, {Name: "stack", Value: "dev"}}},
			`attributes[1]: attribute "stack" is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			createCluster(t, c, "app01")
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.RegisterContainerInstance(t.Context(), &tc.in)
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Contains(t, e.ErrorMessage(), tc.msg)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

// vpcFixture is cluster app01 with one instance, the awsvpc definition
// vpc (revisions 1 and 2) and the service api running vpc:1 in subnet-a.
func vpcFixture(t *testing.T) *stevedore.Client {
	t.Helper()
	c, clock := newClient(t)
	createCluster(t, c, "app01")
	registerAZInstance(t, c, "app01", "i-0000000a", "a", 2048, 2048)
	for range 2 {
		td := taskDefinition("vpc", 128, 128)
		td.NetworkMode = taskdef.NetworkModeAwsvpc
		registerTaskDefinition(t, c, td)
	}
	createService(t, c, stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "api", TaskDefinition: "vpc:1",
		DesiredCount: new(1), NetworkConfiguration: subnets("subnet-a")})
	settleServices(t, c, clock, "app01")
	return c
}

func subnets(ids ...string) *stevedore.NetworkConfiguration {
	return &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: ids}}
}

// TestUpdateServiceFailsWhole: an UpdateService with a new network
// configuration and an invalid other field used to store the network
// before it failed, so the next valid call with that network started no
// deployment.
func TestUpdateServiceFailsWhole(t *testing.T) {
	for _, bad := range []struct {
		name string
		set  func(in *stevedore.UpdateServiceInput)
	}{
		{"invalid placement strategy", func(in *stevedore.UpdateServiceInput) {
			in.PlacementStrategy = []stevedore.PlacementStrategy{{Type: "bogus"}}
		}},
		{"unknown task definition", func(in *stevedore.UpdateServiceInput) { in.TaskDefinition = "nope" }},
		{"too many constraints", func(in *stevedore.UpdateServiceInput) {
			in.PlacementConstraints = make([]stevedore.PlacementConstraint, 11)
			for i := range in.PlacementConstraints {
				in.PlacementConstraints[i] = stevedore.PlacementConstraint{Type: "distinctInstance"}
			}
		}},
		{"healthCheckGracePeriodSeconds -1", func(in *stevedore.UpdateServiceInput) { in.HealthCheckGracePeriodSeconds = new(-1) }},
	} {
		t.Run(bad.name, func(t *testing.T) {
			c := vpcFixture(t)
			before := snapshotServices(t, c, "app01", "api")
			in := &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", NetworkConfiguration: subnets("subnet-b")}
			bad.set(in)
			_, err := c.UpdateService(t.Context(), in)
			require.Error(t, err)
			assert.Equal(t, before, snapshotServices(t, c, "app01", "api"), "a failed UpdateService changes nothing, its network included")

			out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", NetworkConfiguration: subnets("subnet-b")})
			require.NoError(t, err)
			assert.Len(t, out.Service.Deployments, 2, "the valid call with the new network starts a deployment")
			assert.Equal(t, subnets("subnet-b"), out.Service.NetworkConfiguration)
		})
	}
}

// TestUpdateServiceKeepsNetwork: a new revision of an awsvpc service keeps
// the service's network configuration without restating it (ECS's
// UpdateService changes only what it is given).
func TestUpdateServiceKeepsNetwork(t *testing.T) {
	c := vpcFixture(t)
	out, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", TaskDefinition: "vpc:2"})
	require.NoError(t, err)
	assert.Equal(t, subnets("subnet-a"), out.Service.NetworkConfiguration)
	assert.Equal(t, "arn:aws:ecs:us-east-1:123456789012:task-definition/vpc:2", out.Service.TaskDefinition)
	assert.Len(t, out.Service.Deployments, 2)
	// And the network given once is not aliased: changing the caller's
	// value later changes nothing.
	net := subnets("subnet-c")
	_, err = c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "api", NetworkConfiguration: net})
	require.NoError(t, err)
	net.AwsvpcConfiguration.Subnets[0] = "subnet-z"
	assert.Equal(t, subnets("subnet-c"), describeService(t, c, "app01", "api").NetworkConfiguration)
}

func TestNewRejectsMalformedARNParts(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts stevedore.Options
	}{
		{"region with a colon", stevedore.Options{Region: "us-east-1:x"}},
		{"region with a slash", stevedore.Options{Region: "us/east"}},
		{"region upper case", stevedore.Options{Region: "US-EAST-1"}},
		{"account with a colon", stevedore.Options{AccountID: "1234:56789012"}},
		{"account of 11 digits", stevedore.Options{AccountID: "12345678901"}},
		{"negative retention", stevedore.Options{StoppedTaskRetention: -1}},
		{"negative attempts", stevedore.Options{MaxCommitAttempts: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := stevedore.New(tc.opts)
			assert.Nil(t, c)
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Contains(t, e.ErrorMessage(), "Options.")
		})
	}
	c, err := stevedore.New(stevedore.Options{Region: "cn-north-1", AccountID: "000000000000"})
	require.NoError(t, err)
	require.NotNil(t, c)
}

// TestNilContext: every method takes a nil context as
// context.Background() and runs; none panics.
func TestNilContext(t *testing.T) {
	c, _ := newClient(t)
	var ctx context.Context // nil
	_, err := c.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "app01"})
	require.NoError(t, err)
	_, err = c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app01", TotalResources: resources(1024, 1024)})
	require.NoError(t, err)
	_, err = c.RegisterTaskDefinition(ctx, taskDefinition("web", 128, 128))
	require.NoError(t, err)
	run, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web"})
	require.NoError(t, err)
	require.Len(t, run.Tasks, 1)
	_, err = c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: run.Tasks[0].TaskArn})
	require.NoError(t, err)
	_, err = c.ListTaskDefinitions(ctx, nil)
	require.NoError(t, err)
	_, err = c.DescribeClusters(ctx, nil)
	require.NoError(t, err)
	_, err = c.ListClusters(ctx, nil)
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "s", TaskDefinition: "web", DesiredCount: new(1)})
	require.NoError(t, err)
	_, err = c.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: "app01"})
	require.NoError(t, err)
}

// TestInputChecks: inputs that were accepted without a check.
func TestInputChecks(t *testing.T) {
	long := strings.Repeat("v", 10_000)
	tags := func(n int) []stevedore.Tag {
		out := make([]stevedore.Tag, n)
		for i := range out {
			out[i] = stevedore.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
		}
		return out
	}
	badMemberOf := taskDefinition("web2", 128, 128)
	badMemberOf.PlacementConstraints = []taskdef.PlacementConstraint{{Type: "memberOf", Expression: "attribute:stack =="}}
	for _, tc := range []struct {
		name string
		call func(c *stevedore.Client) error
		msg  string
	}{
		{"cluster tag with an empty key", func(c *stevedore.Client) error {
			_, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "x", Tags: []stevedore.Tag{{Key: "", Value: "v"}}})
			return err
		}, "tags[0].key"},
		{"cluster tag value of 10 kB", func(c *stevedore.Client) error {
			_, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "x", Tags: []stevedore.Tag{{Key: "k", Value: long}}})
			return err
		}, "tags[0].value"},
		{"51 cluster tags", func(c *stevedore.Client) error {
			_, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "x", Tags: tags(51)})
			return err
		}, "Too many tags: 51"},
		{"cluster tag key given twice", func(c *stevedore.Client) error {
			_, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "x", Tags: []stevedore.Tag{{Key: "a"}, {Key: "a"}}})
			return err
		}, "tags[1].key"},
		{"cluster tag key aws:", func(c *stevedore.Client) error {
			_, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "x", Tags: []stevedore.Tag{{Key: "AWS:name"}}})
			return err
		}, "reserved"},
		{"51 service tags", func(c *stevedore.Client) error {
			_, err := c.CreateService(t.Context(), &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "s", TaskDefinition: "web", DesiredCount: new(1), Tags: tags(51)})
			return err
		}, "Too many tags: 51"},
		{"service tag with an empty key", func(c *stevedore.Client) error {
			_, err := c.CreateService(t.Context(), &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "s", TaskDefinition: "web", DesiredCount: new(1), Tags: []stevedore.Tag{{Value: "v"}}})
			return err
		}, "tags[0].key"},
		{"healthCheckGracePeriodSeconds -1 on CreateService", func(c *stevedore.Client) error {
			_, err := c.CreateService(t.Context(), &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "s", TaskDefinition: "web", DesiredCount: new(1), HealthCheckGracePeriodSeconds: -1})
			return err
		}, "healthCheckGracePeriodSeconds"},
		{"healthCheckGracePeriodSeconds -1 on UpdateService", func(c *stevedore.Client) error {
			_, err := c.UpdateService(t.Context(), &stevedore.UpdateServiceInput{Cluster: "app01", Service: "live", HealthCheckGracePeriodSeconds: new(-1)})
			return err
		}, "healthCheckGracePeriodSeconds"},
		{"duplicate attribute in PutAttributes", func(c *stevedore.Client) error {
			l, err := c.ListContainerInstances(t.Context(), &stevedore.ListContainerInstancesInput{Cluster: "app01"})
			require.NoError(t, err)
			_, err = c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{
				{Name: "stack", Value: "a", TargetId: l.ContainerInstanceArns[0]},
				{Name: "stack", Value: "b", TargetId: l.ContainerInstanceArns[0]},
			}})
			return err
		}, `attribute "stack"`},
		{"task state reason of 10 kB", func(c *stevedore.Client) error {
			tasks := serviceTasks(t, c, "app01", "live")
			_, err := c.SubmitTaskStateChange(t.Context(), &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: tasks[0].TaskArn, Status: "STOPPED", Reason: long})
			return err
		}, "reason must be at most 255"},
		{"memberOf expression that does not parse", func(c *stevedore.Client) error {
			_, err := c.RegisterTaskDefinition(t.Context(), badMemberOf)
			return err
		}, "placementConstraints[0].expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := serviceFixture(t)
			before := snapshotServices(t, c, "app01", fixtureServices...)
			err := tc.call(c)
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Contains(t, e.ErrorMessage(), tc.msg)
			assert.Equal(t, before, snapshotServices(t, c, "app01", fixtureServices...), "a refused call changes nothing")
		})
	}
}

// TestServiceTagsKept: CreateService's tags used to be dropped; they are
// now in its output and in DescribeServices with include TAGS.
func TestServiceTagsKept(t *testing.T) {
	c, _ := serviceFixture(t)
	tags := []stevedore.Tag{{Key: "team", Value: "payments"}, {Key: "cost-center", Value: "42"}}
	out, err := c.CreateService(t.Context(), &stevedore.CreateServiceInput{Cluster: "app01", ServiceName: "tagged", TaskDefinition: "web", DesiredCount: new(0), Tags: tags, HealthCheckGracePeriodSeconds: 30})
	require.NoError(t, err)
	assert.Equal(t, tags, out.Service.Tags)
	assert.Equal(t, 30, out.Service.HealthCheckGracePeriodSeconds)
	d, err := c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: "app01", Services: []string{"tagged"}, Include: []string{"TAGS"}})
	require.NoError(t, err)
	assert.Equal(t, tags, d.Services[0].Tags)
	assert.Empty(t, describeService(t, c, "app01", "tagged").Tags, "without include TAGS")
	_, err = c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: "app01", Services: []string{"tagged"}, Include: []string{"EVENTS"}})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
}
