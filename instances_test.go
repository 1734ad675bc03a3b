package stevedore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

// builtinAttributes are the attributes every instance registers with when
// it names none (see RegisterContainerInstanceInput.Attributes).
var builtinAttributes = map[string]string{
	"ecs.os-type":                                "linux",
	"ecs.os-family":                              "LINUX",
	"ecs.cpu-architecture":                       "x86_64",
	"ecs.capability.task-eni":                    "",
	"com.amazonaws.ecs.capability.task-iam-role": "",
	"com.amazonaws.ecs.capability.logging-driver.json-file":   "",
	"com.amazonaws.ecs.capability.logging-driver.none":        "",
	"com.amazonaws.ecs.capability.logging-driver.awslogs":     "",
	"com.amazonaws.ecs.capability.logging-driver.syslog":      "",
	"com.amazonaws.ecs.capability.logging-driver.fluentd":     "",
	"com.amazonaws.ecs.capability.logging-driver.awsfirelens": "",
}

func attributeMap(attrs []stevedore.Attribute) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Name] = a.Value
	}
	return m
}

func withAttributes(extra map[string]string) map[string]string {
	m := make(map[string]string, len(builtinAttributes)+len(extra))
	for k, v := range builtinAttributes {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestRegisterContainerInstance(t *testing.T) {
	t.Run("whitepaper fixture", func(t *testing.T) {
		c, clock := newClient(t)
		createCluster(t, c, "Walkthrough")
		clock.Advance(90)
		out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
			Cluster:                  "Walkthrough",
			InstanceIdentityDocument: `{"instanceId": "i-c5690f29", "availabilityZone": "us-east-1a", "instanceType": "t2.micro", "imageId": "ami-12345678"}`,
			TotalResources:           whitepaperResources(t),
			VersionInfo:              stevedore.VersionInfo{AgentVersion: "1.0.0", DockerVersion: "DockerVersion: 1.5.0"},
		})
		require.NoError(t, err)
		ci := out.ContainerInstance
		registered := []stevedore.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: 996},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "2375", "2376", "51678"}},
			{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
		}
		assert.Equal(t, registered, ci.RegisteredResources)
		assert.Equal(t, registered, ci.RemainingResources)
		assert.Equal(t, "i-c5690f29", ci.Ec2InstanceId)
		assert.Equal(t, "ACTIVE", ci.Status)
		assert.True(t, ci.AgentConnected)
		assert.Equal(t, stevedore.VersionInfo{AgentVersion: "1.0.0", DockerVersion: "DockerVersion: 1.5.0"}, ci.VersionInfo)
		assert.Equal(t, clock.Now(), ci.RegisteredAt)
		assert.Regexp(t, `^`+arnPrefix+`container-instance/Walkthrough/[0-9a-f]{32}$`, ci.ContainerInstanceArn)
		assert.Equal(t, withAttributes(map[string]string{
			"ecs.availability-zone": "us-east-1a",
			"ecs.instance-type":     "t2.micro",
			"ecs.ami-id":            "ami-12345678",
		}), attributeMap(ci.Attributes))
		assert.True(t, slices.IsSortedFunc(ci.Attributes, func(a, b stevedore.Attribute) int {
			return strings.Compare(a.Name, b.Name)
		}), "attributes are sorted by name")
		assert.Equal(t, ci, describeInstance(t, c, "Walkthrough", ci.ContainerInstanceArn), "describe shows what register returned")
	})
	t.Run("default reserved ports", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		ci := registerInstance(t, c, "app01", resources(2048, 3768))
		assert.Equal(t, []stevedore.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: 2048},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: 3768},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: defaultReservedPorts},
			{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
		}, ci.RegisteredResources)
		assert.Equal(t, builtinAttributes, attributeMap(ci.Attributes))
		assert.Regexp(t, `^i-[0-9a-f]{17}$`, ci.Ec2InstanceId, "an ec2InstanceId is made up when no identity document is given")
	})
	t.Run("empty PORTS reserves none", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		ci := registerInstance(t, c, "app01", resources(1024, 1024, []string{}...))
		assert.Empty(t, remaining(t, ci, "PORTS").StringSetValue)
	})
	t.Run("PORTS_UDP, LONG and GPUs", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
			Cluster: "app01",
			TotalResources: []stevedore.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 4096},
				{Name: "MEMORY", Type: "LONG", LongValue: 15000},
				{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{"161", "53"}},
			},
			PlatformDevices: []stevedore.PlatformDevice{{Id: "GPU-a", Type: "GPU"}, {Id: "GPU-b", Type: "GPU"}},
			Attributes:      []stevedore.Attribute{{Name: "stack", Value: "prod"}, {Name: "ecs.os-type", Value: "windows"}},
		})
		require.NoError(t, err)
		ci := out.ContainerInstance
		assert.Equal(t, []stevedore.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: 4096},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: 15000},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: defaultReservedPorts},
			{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{"53", "161"}},
			{Name: "GPU", Type: "STRINGSET", StringSetValue: []string{"GPU-a", "GPU-b"}},
		}, ci.RegisteredResources)
		assert.Equal(t, withAttributes(map[string]string{"stack": "prod", "ecs.os-type": "windows"}), attributeMap(ci.Attributes),
			"given attributes override the built-in defaults")
	})
	t.Run("default cluster is created", func(t *testing.T) {
		c, _ := newClient(t)
		ci := registerInstance(t, c, "", resources(1024, 1024))
		assert.Regexp(t, `^`+arnPrefix+`container-instance/default/`, ci.ContainerInstanceArn)
		assert.Equal(t, stevedore.Cluster{
			ClusterArn: arnPrefix + "cluster/default", ClusterName: "default", Status: "ACTIVE",
			RegisteredContainerInstancesCount: 1,
			CapacityProviders:                 []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
		}, describeCluster(t, c, "default"))
	})
	t.Run("other clusters are not created", func(t *testing.T) {
		c, _ := newClient(t)
		before := snapshot(t, c)
		_, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{Cluster: "nope", TotalResources: resources(1024, 1024)})
		requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})

	elevenAttributes := make([]stevedore.Attribute, 11)
	for i := range elevenAttributes {
		elevenAttributes[i] = stevedore.Attribute{Name: fmt.Sprintf("custom-%02d", i), Value: "x"}
	}
	tenAndBuiltins := append(slices.Clone(elevenAttributes[:10]), stevedore.Attribute{Name: "ecs.instance-type", Value: "t2.micro"})
	for _, tc := range []struct {
		name string
		in   stevedore.RegisterContainerInstanceInput
	}{
		{"no CPU", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024)[1:]}},
		{"no MEMORY", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024)[:1]}},
		{"no resources", stevedore.RegisterContainerInstanceInput{}},
		{"CPU twice", stevedore.RegisterContainerInstanceInput{TotalResources: append(resources(1024, 1024), stevedore.Resource{Name: "CPU", Type: "INTEGER", IntegerValue: 1})}},
		{"CPU as STRINGSET", stevedore.RegisterContainerInstanceInput{TotalResources: []stevedore.Resource{
			{Name: "CPU", Type: "STRINGSET", StringSetValue: []string{"1024"}}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 1024}}}},
		{"negative MEMORY", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, -1)}},
		{"port not a number", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024, "22", "ssh")}},
		{"port 0", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024, "0")}},
		{"port 65536", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024, "65536")}},
		{"PORTS as INTEGER", stevedore.RegisterContainerInstanceInput{TotalResources: append(resources(1024, 1024), stevedore.Resource{Name: "PORTS", Type: "INTEGER", IntegerValue: 22})}},
		{"101 reserved ports", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024, ports(1000, 101)...)}},
		{"unknown resource", stevedore.RegisterContainerInstanceInput{TotalResources: append(resources(1024, 1024), stevedore.Resource{Name: "FPGA", Type: "INTEGER", IntegerValue: 1})}},
		{"platform device not a GPU", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024), PlatformDevices: []stevedore.PlatformDevice{{Id: "x", Type: "FPGA"}}}},
		{"GPU id twice", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024), PlatformDevices: []stevedore.PlatformDevice{{Id: "g", Type: "GPU"}, {Id: "g", Type: "GPU"}}}},
		{"identity document not JSON", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024), InstanceIdentityDocument: "{"}},
		{"bad attribute name", stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024), Attributes: []stevedore.Attribute{{Name: "bad name!"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			createCluster(t, c, "app01")
			registerInstance(t, c, "app01", resources(1024, 1024))
			before := snapshot(t, c)
			tc.in.Cluster = "app01"
			_, err := c.RegisterContainerInstance(t.Context(), &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("11 custom attributes", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		before := snapshot(t, c)
		_, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{Cluster: "app01", TotalResources: resources(1024, 1024), Attributes: elevenAttributes})
		requireErrorAs[*stevedore.AttributeLimitExceededException](t, err)
		assert.Equal(t, before, snapshot(t, c))

		out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{Cluster: "app01", TotalResources: resources(1024, 1024), Attributes: tenAndBuiltins})
		require.NoError(t, err, "built-in attributes do not count against the limit of 10")
		assert.Len(t, out.ContainerInstance.Attributes, len(builtinAttributes)+11, "the built-ins, ecs.instance-type and 10 custom ones")
	})
	// A failed call changes nothing: the default cluster that registration
	// would create must not be left behind when the registration fails.
	t.Run("failed registration into default creates no cluster", func(t *testing.T) {
		c, _ := newClient(t)
		before := snapshot(t, c)
		_, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{TotalResources: resources(1024, 1024), Attributes: elevenAttributes})
		requireErrorAs[*stevedore.AttributeLimitExceededException](t, err)
		assert.Equal(t, before, snapshot(t, c))
		out, err := c.DescribeClusters(t.Context(), &stevedore.DescribeClustersInput{Clusters: []string{"default"}})
		require.NoError(t, err)
		assert.Equal(t, []stevedore.Failure{{Arn: arnPrefix + "cluster/default", Reason: "MISSING"}}, out.Failures)
	})
}

func TestDescribeContainerInstances(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	a := registerInstance(t, c, "app01", resources(1024, 1024))
	b := registerInstance(t, c, "app01", resources(2048, 2048))
	id := a.ContainerInstanceArn[len(arnPrefix+"container-instance/app01/"):]

	out, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{
		Cluster:            "app01",
		ContainerInstances: []string{b.ContainerInstanceArn, id, "0123456789abcdef", arnPrefix + "container-instance/app01/fedcba"},
	})
	require.NoError(t, err)
	assert.Equal(t, &stevedore.DescribeContainerInstancesOutput{
		ContainerInstances: []stevedore.ContainerInstance{b, a},
		Failures: []stevedore.Failure{
			{Arn: arnPrefix + "container-instance/app01/0123456789abcdef", Reason: "MISSING"},
			{Arn: arnPrefix + "container-instance/app01/fedcba", Reason: "MISSING"},
		},
	}, out)

	for _, tc := range []struct {
		name string
		in   stevedore.DescribeContainerInstancesInput
	}{
		{"empty list", stevedore.DescribeContainerInstancesInput{Cluster: "app01"}},
		{"101 instances", stevedore.DescribeContainerInstancesInput{Cluster: "app01", ContainerInstances: ports(1, 101)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			_, err := c.DescribeContainerInstances(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("unknown cluster", func(t *testing.T) {
		_, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "nope", ContainerInstances: []string{id}})
		requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
	})
	t.Run("an ARN of another cluster is MISSING", func(t *testing.T) {
		out, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{
			Cluster: "app01", ContainerInstances: []string{arnPrefix + "container-instance/other/" + id},
		})
		require.NoError(t, err)
		assert.Empty(t, out.ContainerInstances)
		assert.Equal(t, []stevedore.Failure{{Arn: arnPrefix + "container-instance/other/" + id, Reason: "MISSING"}}, out.Failures)
	})
}

func TestListContainerInstances(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	byType := map[string][]string{}
	var all []string
	for i, typ := range []string{"t2.micro", "m5.large", "t2.micro", "m5.large", "t2.micro"} {
		out, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster: "app01", InstanceIdentityDocument: identity(fmt.Sprintf("i-%08d", i), typ), TotalResources: resources(1024, 1024),
		})
		require.NoError(t, err)
		arn := out.ContainerInstance.ContainerInstanceArn
		byType[typ] = append(byType[typ], arn)
		all = append(all, arn)
	}
	// Instances are listed in registration order.
	_, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{byType["m5.large"][0]}, Status: "DRAINING"})
	require.NoError(t, err)
	_, err = c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: byType["m5.large"][1]})
	require.NoError(t, err)
	notInactive := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == byType["m5.large"][1] })

	for _, tc := range []struct {
		name string
		in   stevedore.ListContainerInstancesInput
		want []string
	}{
		{"all but INACTIVE", stevedore.ListContainerInstancesInput{}, notInactive},
		{"ACTIVE", stevedore.ListContainerInstancesInput{Status: "ACTIVE"}, byType["t2.micro"]},
		{"DRAINING", stevedore.ListContainerInstancesInput{Status: "DRAINING"}, byType["m5.large"][:1]},
		{"INACTIVE", stevedore.ListContainerInstancesInput{Status: "INACTIVE"}, byType["m5.large"][1:]},
		{"filter instance type", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type == t2.micro"}, byType["t2.micro"]},
		{"filter instance type family", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type =~ m5.*"}, byType["m5.large"][:1]},
		{"filter and status", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type != t2.micro", Status: "INACTIVE"}, byType["m5.large"][1:]},
		{"filter matches nothing", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type == c5.xlarge"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			out, err := c.ListContainerInstances(ctx, &tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, nilIfEmpty(out.ContainerInstanceArns))
			assert.Empty(t, out.NextToken)
		})
	}

	t.Run("pages", func(t *testing.T) {
		var got []string
		token := ""
		for pages := 1; ; pages++ {
			out, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01", Status: "ACTIVE", MaxResults: 2, NextToken: token})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(out.ContainerInstanceArns), 2)
			got = append(got, out.ContainerInstanceArns...)
			token = out.NextToken
			if token == "" {
				assert.Equal(t, 2, pages, "3 instances in pages of 2")
				break
			}
			require.Less(t, pages, 10, "pagination does not end")
		}
		assert.Equal(t, byType["t2.micro"], got)
	})

	for _, tc := range []struct {
		name string
		in   stevedore.ListContainerInstancesInput
	}{
		{"bad filter", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type =="}},
		{"bad filter operator", stevedore.ListContainerInstancesInput{Filter: "attribute:ecs.instance-type === t2.micro"}},
		{"bad status", stevedore.ListContainerInstancesInput{Status: "REGISTERING_NOW"}},
		{"maxResults 101", stevedore.ListContainerInstancesInput{MaxResults: 101}},
		{"negative maxResults", stevedore.ListContainerInstancesInput{MaxResults: -5}},
		{"bad nextToken", stevedore.ListContainerInstancesInput{NextToken: "%%%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.ListContainerInstances(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("unknown cluster", func(t *testing.T) {
		_, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "nope"})
		requireErrorAs[*stevedore.ClusterNotFoundException](t, err)
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestDeregisterContainerInstance(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(2048, 2048))
	other := registerInstance(t, c, "app01", resources(2048, 2048))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	start, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{ci.ContainerInstanceArn, ci.ContainerInstanceArn}})
	require.NoError(t, err)
	require.Len(t, start.Tasks, 2)

	for _, tc := range []struct {
		name string
		in   stevedore.DeregisterContainerInstanceInput
		want func(t *testing.T, err error)
	}{
		{"tasks without force", stevedore.DeregisterContainerInstanceInput{ContainerInstance: ci.ContainerInstanceArn}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
		{"unknown instance", stevedore.DeregisterContainerInstanceInput{ContainerInstance: "0123"}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
		{"no instance", stevedore.DeregisterContainerInstanceInput{}, func(t *testing.T, err error) {
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.DeregisterContainerInstance(ctx, &tc.in)
			tc.want(t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}

	clock.Advance(60e9)
	out, err := c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn, Force: true})
	require.NoError(t, err)
	assert.Equal(t, "INACTIVE", out.ContainerInstance.Status)
	assert.False(t, out.ContainerInstance.AgentConnected)
	assert.Equal(t, 0, out.ContainerInstance.PendingTasksCount)
	assert.Equal(t, ci.RegisteredResources, out.ContainerInstance.RemainingResources, "the stopped tasks' resources are released")
	for _, task := range start.Tasks {
		got := describeTask(t, c, "app01", task.TaskArn)
		assert.Equal(t, "STOPPED", got.LastStatus)
		assert.Equal(t, "STOPPED", got.DesiredStatus)
		assert.Equal(t, "Container instance deregistration forced by user", got.StoppedReason)
		assert.Equal(t, clock.Now(), got.StoppedAt)
	}

	l, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01"})
	require.NoError(t, err)
	assert.Equal(t, []string{other.ContainerInstanceArn}, l.ContainerInstanceArns, "INACTIVE instances are not listed by default")
	assert.Equal(t, 1, describeCluster(t, c, "app01").RegisteredContainerInstancesCount)

	t.Run("StartTask on it fails INACTIVE", func(t *testing.T) {
		before := snapshot(t, c)
		st, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{ci.ContainerInstanceArn}})
		require.NoError(t, err)
		assert.Empty(t, st.Tasks)
		require.Len(t, st.Failures, 1)
		assert.Equal(t, ci.ContainerInstanceArn, st.Failures[0].Arn)
		assert.Equal(t, "INACTIVE", st.Failures[0].Reason)
		assert.Equal(t, before, snapshot(t, c))
	})
	t.Run("RunTask never places on it", func(t *testing.T) {
		tasks := runTask(t, c, "app01", "web", 5)
		for _, task := range tasks {
			assert.Equal(t, other.ContainerInstanceArn, task.ContainerInstanceArn)
		}
	})
	t.Run("again", func(t *testing.T) {
		again, err := c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn})
		require.NoError(t, err)
		assert.Equal(t, out.ContainerInstance, again.ContainerInstance)
	})
}

func TestUpdateContainerInstancesState(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	draining := registerInstance(t, c, "app01", resources(4096, 4096))
	active := registerInstance(t, c, "app01", resources(4096, 4096))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	before := runTask(t, c, "app01", "web", 1)[0]

	out, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{
		Cluster: "app01", ContainerInstances: []string{draining.ContainerInstanceArn, "0123456789"}, Status: "DRAINING",
	})
	require.NoError(t, err)
	require.Len(t, out.ContainerInstances, 1)
	assert.Equal(t, "DRAINING", out.ContainerInstances[0].Status)
	assert.Equal(t, draining.ContainerInstanceArn, out.ContainerInstances[0].ContainerInstanceArn)
	assert.Equal(t, []stevedore.Failure{{Arn: arnPrefix + "container-instance/app01/0123456789", Reason: "MISSING"}}, out.Failures)

	t.Run("standalone tasks keep running", func(t *testing.T) {
		got := describeTask(t, c, "app01", before.TaskArn)
		assert.Equal(t, "PENDING", got.LastStatus)
		assert.Equal(t, "RUNNING", got.DesiredStatus)
	})
	t.Run("RunTask no longer places there", func(t *testing.T) {
		for _, task := range runTask(t, c, "app01", "web", 10) {
			assert.Equal(t, active.ContainerInstanceArn, task.ContainerInstanceArn)
		}
	})
	t.Run("StartTask does not place there", func(t *testing.T) {
		st, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{draining.ContainerInstanceArn}})
		require.NoError(t, err)
		assert.Empty(t, st.Tasks)
		require.Len(t, st.Failures, 1)
		assert.Equal(t, draining.ContainerInstanceArn, st.Failures[0].Arn)
	})
	t.Run("DRAINING twice", func(t *testing.T) {
		out, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{draining.ContainerInstanceArn}, Status: "DRAINING"})
		require.NoError(t, err)
		assert.Empty(t, out.Failures)
		require.Len(t, out.ContainerInstances, 1)
		assert.Equal(t, "DRAINING", out.ContainerInstances[0].Status)
	})

	for _, tc := range []struct {
		name string
		in   stevedore.UpdateContainerInstancesStateInput
	}{
		{"bad status", stevedore.UpdateContainerInstancesStateInput{ContainerInstances: []string{active.ContainerInstanceArn}, Status: "STOPPED"}},
		{"INACTIVE", stevedore.UpdateContainerInstancesStateInput{ContainerInstances: []string{active.ContainerInstanceArn}, Status: "INACTIVE"}},
		{"no status", stevedore.UpdateContainerInstancesStateInput{ContainerInstances: []string{active.ContainerInstanceArn}}},
		{"no instances", stevedore.UpdateContainerInstancesStateInput{Status: "DRAINING"}},
		{"11 instances", stevedore.UpdateContainerInstancesStateInput{ContainerInstances: ports(1, 11), Status: "DRAINING"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = "app01"
			before := snapshot(t, c)
			_, err := c.UpdateContainerInstancesState(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}

	t.Run("back to ACTIVE", func(t *testing.T) {
		out, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{draining.ContainerInstanceArn}, Status: "ACTIVE"})
		require.NoError(t, err)
		require.Len(t, out.ContainerInstances, 1)
		assert.Equal(t, "ACTIVE", out.ContainerInstances[0].Status)
		st, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{draining.ContainerInstanceArn}})
		require.NoError(t, err)
		assert.Len(t, st.Tasks, 1)
	})
	t.Run("an INACTIVE instance is a failure", func(t *testing.T) {
		gone := registerInstance(t, c, "app01", resources(1024, 1024))
		_, err := c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: gone.ContainerInstanceArn})
		require.NoError(t, err)
		before := snapshot(t, c)
		out, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{gone.ContainerInstanceArn}, Status: "DRAINING"})
		require.NoError(t, err)
		assert.Empty(t, out.ContainerInstances)
		require.Len(t, out.Failures, 1)
		assert.Equal(t, gone.ContainerInstanceArn, out.Failures[0].Arn)
		assert.Equal(t, "INACTIVE", out.Failures[0].Reason)
		assert.Equal(t, before, snapshot(t, c))
	})
}

func TestAttributes(t *testing.T) {
	setup := func(t *testing.T) (*stevedore.Client, stevedore.ContainerInstance, stevedore.ContainerInstance) {
		t.Helper()
		c, _ := newClient(t)
		createCluster(t, c, "app01")
		a := registerInstance(t, c, "app01", resources(1024, 1024))
		b := registerInstance(t, c, "app01", resources(1024, 1024))
		return c, a, b
	}
	idOf := func(ci stevedore.ContainerInstance) string {
		return ci.ContainerInstanceArn[len(arnPrefix+"container-instance/app01/"):]
	}
	custom := func(n int, target string) []stevedore.Attribute {
		out := make([]stevedore.Attribute, n)
		for i := range out {
			out[i] = stevedore.Attribute{Name: fmt.Sprintf("custom-%02d", i), Value: "v", TargetId: target}
		}
		return out
	}

	t.Run("put by ARN and by id, then filter and delete", func(t *testing.T) {
		c, a, b := setup(t)
		ctx := t.Context()
		put := []stevedore.Attribute{
			{Name: "stack", Value: "prod", TargetId: a.ContainerInstanceArn},
			{Name: "stack", Value: "test", TargetType: "container-instance", TargetId: idOf(b)},
		}
		out, err := c.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "app01", Attributes: put})
		require.NoError(t, err)
		assert.Equal(t, put, out.Attributes)
		assert.Equal(t, withAttributes(map[string]string{"stack": "prod"}), attributeMap(describeInstance(t, c, "app01", a.ContainerInstanceArn).Attributes))
		assert.Equal(t, withAttributes(map[string]string{"stack": "test"}), attributeMap(describeInstance(t, c, "app01", b.ContainerInstanceArn).Attributes))
		assert.Greater(t, describeInstance(t, c, "app01", a.ContainerInstanceArn).Version, a.Version, "a change to an instance raises its version")

		l, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01", Filter: "attribute:stack == prod"})
		require.NoError(t, err)
		assert.Equal(t, []string{a.ContainerInstanceArn}, l.ContainerInstanceArns)

		_, err = c.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "stack", Value: "staging", TargetId: a.ContainerInstanceArn}}})
		require.NoError(t, err)
		assert.Equal(t, "staging", attributeMap(describeInstance(t, c, "app01", a.ContainerInstanceArn).Attributes)["stack"], "a put replaces the value")

		_, err = c.DeleteAttributes(ctx, &stevedore.DeleteAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "stack", TargetId: a.ContainerInstanceArn}}})
		require.NoError(t, err)
		assert.Equal(t, builtinAttributes, attributeMap(describeInstance(t, c, "app01", a.ContainerInstanceArn).Attributes))
		assert.Equal(t, withAttributes(map[string]string{"stack": "test"}), attributeMap(describeInstance(t, c, "app01", b.ContainerInstanceArn).Attributes))
	})
	t.Run("10 custom attributes fit, the 11th does not", func(t *testing.T) {
		c, a, _ := setup(t)
		_, err := c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: custom(10, a.ContainerInstanceArn)})
		require.NoError(t, err)
		before := snapshot(t, c)
		_, err = c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "one-more", TargetId: a.ContainerInstanceArn}}})
		e := requireErrorAs[*stevedore.AttributeLimitExceededException](t, err)
		assert.Equal(t, "AttributeLimitExceededException", e.ErrorCode())
		assert.Equal(t, before, snapshot(t, c))

		_, err = c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "custom-03", Value: "replaced", TargetId: a.ContainerInstanceArn}}})
		require.NoError(t, err, "replacing the value of one of the 10 adds none")
	})

	for _, tc := range []struct {
		name  string
		attrs func(a, b stevedore.ContainerInstance) []stevedore.Attribute
		check func(t *testing.T, err error)
	}{
		{"unknown target", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", TargetId: arnPrefix + "container-instance/app01/0123"}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.TargetNotFoundException](t, err) }},
		{"one bad target among good ones", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{
				{Name: "x", Value: "1", TargetId: a.ContainerInstanceArn},
				{Name: "y", Value: "2", TargetId: b.ContainerInstanceArn},
				{Name: "z", Value: "3", TargetType: "container-instance", TargetId: "0123"},
			}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.TargetNotFoundException](t, err) }},
		{"one instance over the limit", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return append([]stevedore.Attribute{{Name: "ok", TargetId: b.ContainerInstanceArn}}, custom(10, a.ContainerInstanceArn)[:9]...)
		}, nil},
		{"id without targetType", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", TargetId: idOf(a)}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"targetType task", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", TargetType: "task", TargetId: a.ContainerInstanceArn}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"no targetId", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", TargetType: "container-instance"}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"bad name", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", TargetId: a.ContainerInstanceArn}, {Name: "has space", TargetId: b.ContainerInstanceArn}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"bad value", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return []stevedore.Attribute{{Name: "x", Value: " padded ", TargetId: a.ContainerInstanceArn}}
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"none", func(a, b stevedore.ContainerInstance) []stevedore.Attribute { return nil },
			func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"11 in one call", func(a, b stevedore.ContainerInstance) []stevedore.Attribute {
			return custom(11, a.ContainerInstanceArn)
		},
			func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
	} {
		t.Run("PutAttributes "+tc.name, func(t *testing.T) {
			c, a, b := setup(t)
			if tc.check == nil {
				// a already carries 2 custom attributes: 9 more make 11.
				_, err := c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{
					{Name: "pre-1", TargetId: a.ContainerInstanceArn}, {Name: "pre-2", TargetId: a.ContainerInstanceArn},
				}})
				require.NoError(t, err)
				tc.check = func(t *testing.T, err error) { requireErrorAs[*stevedore.AttributeLimitExceededException](t, err) }
			}
			before := snapshot(t, c)
			_, err := c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: tc.attrs(a, b)})
			tc.check(t, err)
			assert.Equal(t, before, snapshot(t, c), "a failed PutAttributes changes nothing")
		})
	}
	t.Run("DeleteAttributes unknown target", func(t *testing.T) {
		c, a, _ := setup(t)
		_, err := c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "x", TargetId: a.ContainerInstanceArn}}})
		require.NoError(t, err)
		before := snapshot(t, c)
		_, err = c.DeleteAttributes(t.Context(), &stevedore.DeleteAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{
			{Name: "x", TargetId: a.ContainerInstanceArn},
			{Name: "x", TargetType: "container-instance", TargetId: "0123"},
		}})
		requireErrorAs[*stevedore.TargetNotFoundException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})
	t.Run("PutAttributes on an INACTIVE instance", func(t *testing.T) {
		c, a, _ := setup(t)
		_, err := c.DeregisterContainerInstance(t.Context(), &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: a.ContainerInstanceArn})
		require.NoError(t, err)
		before := snapshot(t, c)
		_, err = c.PutAttributes(t.Context(), &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "x", TargetId: a.ContainerInstanceArn}}})
		requireErrorAs[*stevedore.TargetNotFoundException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})
}

func TestSetAgentConnected(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(1024, 1024))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	task := runTask(t, c, "app01", "web", 1)[0]

	out, err := c.SetAgentConnected(ctx, &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn, Connected: false})
	require.NoError(t, err)
	assert.False(t, out.ContainerInstance.AgentConnected)
	assert.Equal(t, "PENDING", describeTask(t, c, "app01", task.TaskArn).LastStatus, "tasks keep running")

	before := snapshot(t, c)
	_, err = c.SetAgentConnected(ctx, &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: "0123", Connected: true})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	assert.Equal(t, before, snapshot(t, c))

	out, err = c.SetAgentConnected(ctx, &stevedore.SetAgentConnectedInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn, Connected: true})
	require.NoError(t, err)
	assert.True(t, out.ContainerInstance.AgentConnected)
}

func TestTerminateInstance(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	out, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
		Cluster: "app01", InstanceIdentityDocument: identity("i-0badcafe", "t2.micro"), TotalResources: resources(2048, 2048),
	})
	require.NoError(t, err)
	ci := out.ContainerInstance
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100, taskdef.PortMapping{ContainerPort: 80, HostPort: 80}))
	task := runTask(t, c, "app01", "web", 1)[0]
	_, err = c.SubmitTaskStateChange(ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: task.TaskArn, Status: "RUNNING"})
	require.NoError(t, err)

	now := clock.Advance(3600e9 / 2)
	term, err := c.TerminateInstance(ctx, &stevedore.TerminateInstanceInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn})
	require.NoError(t, err)
	assert.Equal(t, "INACTIVE", term.ContainerInstance.Status)
	assert.False(t, term.ContainerInstance.AgentConnected)
	assert.Equal(t, 0, term.ContainerInstance.RunningTasksCount)
	got := describeTask(t, c, "app01", task.TaskArn)
	assert.Equal(t, "STOPPED", got.LastStatus)
	assert.Equal(t, "STOPPED", got.DesiredStatus)
	assert.Equal(t, "Host EC2 (instance i-0badcafe) terminated.", got.StoppedReason)
	assert.Equal(t, now, got.StoppedAt)
	assert.Equal(t, stevedore.Cluster{ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE", CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{}}, describeCluster(t, c, "app01"))

	for _, ref := range []string{ci.ContainerInstanceArn, "0123"} {
		before := snapshot(t, c)
		_, err = c.TerminateInstance(ctx, &stevedore.TerminateInstanceInput{Cluster: "app01", ContainerInstance: ref})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	}
}
