package stevedore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func TestNewOptions(t *testing.T) {
	c, err := stevedore.New(stevedore.Options{Region: "eu-west-1", AccountID: "111122223333", Clock: stevedore.NewManualClock(t0)})
	require.NoError(t, err)
	out, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "app01"})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:ecs:eu-west-1:111122223333:cluster/app01", out.Cluster.ClusterArn)

	td, err := c.RegisterTaskDefinition(t.Context(), fixtureTaskDefinition(t, "whitepaper-nginx-task.json"))
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:ecs:eu-west-1:111122223333:task-definition/whitepaper:1", td.TaskDefinition.TaskDefinitionArn)
	assert.Equal(t, t0, td.TaskDefinition.RegisteredAt)
}

// TestWhitepaper replays the "Docker on AWS" walkthrough: two t2.micro
// instances, the nginx task definition, three run-task calls.
func TestWhitepaper(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "Walkthrough")
	var ec2IDs []string
	for _, id := range []string{"i-c5690f29", "i-d8f1a2b3"} {
		out, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{
			Cluster: "Walkthrough", InstanceIdentityDocument: identity(id, "t2.micro"), TotalResources: whitepaperResources(t),
		})
		require.NoError(t, err)
		ec2IDs = append(ec2IDs, out.ContainerInstance.Ec2InstanceId)
	}
	registerTaskDefinition(t, c, fixtureTaskDefinition(t, "whitepaper-nginx-task.json"))

	first := runTask(t, c, "Walkthrough", "whitepaper", 1)[0]
	ci := describeInstance(t, c, "Walkthrough", first.ContainerInstanceArn)
	assert.Equal(t, []stevedore.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: 24},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: 496},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "80", "2375", "2376", "51678"}},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
	}, ci.RemainingResources)
	assert.Equal(t, []stevedore.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: 996},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "2375", "2376", "51678"}},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
	}, ci.RegisteredResources)
	assert.Equal(t, 1, ci.PendingTasksCount)
	assert.Contains(t, ec2IDs, ci.Ec2InstanceId)

	second := runTask(t, c, "Walkthrough", "whitepaper", 1)[0]
	assert.NotEqual(t, first.ContainerInstanceArn, second.ContainerInstanceArn, "the second task must land on the other instance")

	third, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "Walkthrough", TaskDefinition: "whitepaper"})
	require.NoError(t, err)
	assert.Empty(t, third.Tasks)
	require.Len(t, third.Failures, 1)
	assert.Equal(t, "RESOURCE:CPU", third.Failures[0].Reason)
	assert.Contains(t, []string{first.ContainerInstanceArn, second.ContainerInstanceArn}, third.Failures[0].Arn)

	cl := describeCluster(t, c, "Walkthrough")
	assert.Equal(t, stevedore.Cluster{
		ClusterArn: arnPrefix + "cluster/Walkthrough", ClusterName: "Walkthrough", Status: "ACTIVE",
		RegisteredContainerInstancesCount: 2, PendingTasksCount: 2,
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
	}, cl)
}

func TestCreateCluster(t *testing.T) {
	t.Run("idempotent", func(t *testing.T) {
		c, _ := newClient(t)
		first := createCluster(t, c, "app01")
		registerInstance(t, c, "app01", resources(1024, 1024))
		second := createCluster(t, c, "app01")
		assert.Equal(t, stevedore.Cluster{
			ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE",
			CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
		}, first)
		assert.Equal(t, stevedore.Cluster{
			ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE",
			RegisteredContainerInstancesCount: 1,
			CapacityProviders:                 []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
		}, second, "creating an existing cluster returns it, instances and all")
	})
	t.Run("empty name means default", func(t *testing.T) {
		c, _ := newClient(t)
		cl := createCluster(t, c, "")
		assert.Equal(t, "default", cl.ClusterName)
		assert.Equal(t, arnPrefix+"cluster/default", cl.ClusterArn)
	})
	t.Run("tags", func(t *testing.T) {
		c, _ := newClient(t)
		out, err := c.CreateCluster(t.Context(), &stevedore.CreateClusterInput{ClusterName: "tagged", Tags: []stevedore.Tag{{Key: "team", Value: "blue"}}})
		require.NoError(t, err)
		assert.Equal(t, []stevedore.Tag{{Key: "team", Value: "blue"}}, out.Cluster.Tags)
	})

	manyTags := make([]stevedore.Tag, 51)
	for i := range manyTags {
		manyTags[i] = stevedore.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"}
	}
	for _, tc := range []struct {
		name string
		in   stevedore.CreateClusterInput
	}{
		{"space in name", stevedore.CreateClusterInput{ClusterName: "bad name"}},
		{"colon in name", stevedore.CreateClusterInput{ClusterName: "bad:name"}},
		{"256 characters", stevedore.CreateClusterInput{ClusterName: strings.Repeat("a", 256)}},
		{"51 tags", stevedore.CreateClusterInput{ClusterName: "ok", Tags: manyTags}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			createCluster(t, c, "existing")
			before := snapshot(t, c)
			_, err := c.CreateCluster(t.Context(), &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("255 characters", func(t *testing.T) {
		c, _ := newClient(t)
		name := strings.Repeat("a", 255)
		assert.Equal(t, name, createCluster(t, c, name).ClusterName)
	})
}

func TestDescribeClusters(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(2048, 2048))
	registerInstance(t, c, "app01", resources(2048, 2048))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	tasks := runTask(t, c, "app01", "web", 3)
	_, err := c.SubmitTaskStateChange(ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: "app01", Task: tasks[0].TaskArn, Status: "RUNNING"})
	require.NoError(t, err)
	_, err = c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn, Force: true})
	require.NoError(t, err)
	running, pending := 0, 0
	for _, task := range tasks {
		got := describeTask(t, c, "app01", task.TaskArn)
		switch got.LastStatus {
		case "RUNNING":
			running++
		case "PENDING":
			pending++
		}
	}

	out, err := c.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: []string{"app01", arnPrefix + "cluster/app01", "nope"}})
	require.NoError(t, err)
	want := stevedore.Cluster{
		ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE",
		RegisteredContainerInstancesCount: 1, RunningTasksCount: running, PendingTasksCount: pending,
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{},
	}
	assert.Equal(t, &stevedore.DescribeClustersOutput{
		Clusters: []stevedore.Cluster{want, want},
		Failures: []stevedore.Failure{{Arn: arnPrefix + "cluster/nope", Reason: "MISSING"}},
	}, out)

	t.Run("empty means default", func(t *testing.T) {
		out, err := c.DescribeClusters(ctx, &stevedore.DescribeClustersInput{})
		require.NoError(t, err)
		assert.Equal(t, &stevedore.DescribeClustersOutput{
			Clusters: []stevedore.Cluster{},
			Failures: []stevedore.Failure{{Arn: arnPrefix + "cluster/default", Reason: "MISSING"}},
		}, out)
	})
	t.Run("more than 100", func(t *testing.T) {
		before := snapshot(t, c)
		_, err := c.DescribeClusters(ctx, &stevedore.DescribeClustersInput{Clusters: ports(1, 101)})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})
}

func TestListClusters(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for _, name := range []string{"e", "c", "a", "d", "b"} {
		createCluster(t, c, name)
	}
	var pages [][]string
	token := ""
	for {
		out, err := c.ListClusters(ctx, &stevedore.ListClustersInput{MaxResults: 2, NextToken: token})
		require.NoError(t, err)
		pages = append(pages, out.ClusterArns)
		token = out.NextToken
		if token == "" {
			break
		}
		require.Lessf(t, len(pages), 10, "pagination does not end")
	}
	assert.Equal(t, [][]string{
		{arnPrefix + "cluster/a", arnPrefix + "cluster/b"},
		{arnPrefix + "cluster/c", arnPrefix + "cluster/d"},
		{arnPrefix + "cluster/e"},
	}, pages)

	t.Run("all in one page", func(t *testing.T) {
		out, err := c.ListClusters(ctx, &stevedore.ListClustersInput{})
		require.NoError(t, err)
		assert.Len(t, out.ClusterArns, 5)
		assert.Empty(t, out.NextToken)
	})
	t.Run("deleted clusters are not listed", func(t *testing.T) {
		c, _ := newClient(t)
		createCluster(t, c, "keep")
		createCluster(t, c, "gone")
		_, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "gone"})
		require.NoError(t, err)
		out, err := c.ListClusters(ctx, &stevedore.ListClustersInput{})
		require.NoError(t, err)
		assert.Equal(t, []string{arnPrefix + "cluster/keep"}, out.ClusterArns)
	})
	for _, tc := range []struct {
		name string
		in   stevedore.ListClustersInput
	}{
		{"negative maxResults", stevedore.ListClustersInput{MaxResults: -1}},
		{"maxResults 101", stevedore.ListClustersInput{MaxResults: 101}},
		{"bad nextToken", stevedore.ListClustersInput{NextToken: "!!not a token!!"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListClusters(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
		})
	}
}

func TestDeleteCluster(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(1024, 1024))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	task := runTask(t, c, "app01", "web", 1)[0]

	t.Run("with instances and tasks", func(t *testing.T) {
		before := snapshot(t, c)
		_, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app01"})
		e := requireErrorAs[*stevedore.ClusterContainsContainerInstancesException](t, err)
		assert.Equal(t, "The Cluster cannot be deleted while Container Instances are active or draining.", e.ErrorMessage())
		assert.Equal(t, before, snapshot(t, c))
	})
	t.Run("with a draining instance", func(t *testing.T) {
		_, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{ci.ContainerInstanceArn}, Status: "DRAINING"})
		require.NoError(t, err)
		before := snapshot(t, c)
		_, err = c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app01"})
		requireErrorAs[*stevedore.ClusterContainsContainerInstancesException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})

	_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn})
	require.NoError(t, err)
	_, err = c.DeregisterContainerInstance(ctx, &stevedore.DeregisterContainerInstanceInput{Cluster: "app01", ContainerInstance: ci.ContainerInstanceArn})
	require.NoError(t, err)
	out, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: arnPrefix + "cluster/app01"})
	require.NoError(t, err)
	assert.Equal(t, stevedore.Cluster{ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "INACTIVE", CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{}}, out.Cluster)
	assert.Equal(t, "INACTIVE", describeCluster(t, c, "app01").Status, "an INACTIVE cluster can still be described")

	notFound := map[string]func() error{
		"DeleteCluster": func() error {
			_, err := c.DeleteCluster(ctx, &stevedore.DeleteClusterInput{Cluster: "app01"})
			return err
		},
		"RegisterContainerInstance": func() error {
			_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app01", TotalResources: resources(1024, 1024)})
			return err
		},
		"DescribeContainerInstances": func() error {
			_, err := c.DescribeContainerInstances(ctx, &stevedore.DescribeContainerInstancesInput{Cluster: "app01", ContainerInstances: []string{ci.ContainerInstanceArn}})
			return err
		},
		"ListContainerInstances": func() error {
			_, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01"})
			return err
		},
		"RunTask": func() error {
			_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web"})
			return err
		},
		"StartTask": func() error {
			_, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web", ContainerInstances: []string{ci.ContainerInstanceArn}})
			return err
		},
		"ListTasks": func() error {
			_, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "app01"})
			return err
		},
		"DescribeTasks": func() error {
			_, err := c.DescribeTasks(ctx, &stevedore.DescribeTasksInput{Cluster: "app01", Tasks: []string{task.TaskArn}})
			return err
		},
		"StopTask": func() error {
			_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app01", Task: task.TaskArn})
			return err
		},
		"PutAttributes": func() error {
			_, err := c.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{{Name: "a", TargetId: ci.ContainerInstanceArn}}})
			return err
		},
		"UpdateContainerInstancesState": func() error {
			_, err := c.UpdateContainerInstancesState(ctx, &stevedore.UpdateContainerInstancesStateInput{Cluster: "app01", ContainerInstances: []string{ci.ContainerInstanceArn}, Status: "ACTIVE"})
			return err
		},
	}
	for name, op := range notFound {
		t.Run(name+" on the deleted cluster", func(t *testing.T) {
			before := snapshot(t, c)
			e := requireErrorAs[*stevedore.ClusterNotFoundException](t, op())
			assert.Equal(t, "ClusterNotFoundException", e.ErrorCode())
			assert.ErrorIs(t, e, &stevedore.ClusterNotFoundException{})
			assert.Equal(t, before, snapshot(t, c))
			assert.Equal(t, "INACTIVE", describeCluster(t, c, "app01").Status)
		})
	}

	t.Run("recreated empty", func(t *testing.T) {
		cl := createCluster(t, c, "app01")
		assert.Equal(t, stevedore.Cluster{ClusterArn: arnPrefix + "cluster/app01", ClusterName: "app01", Status: "ACTIVE", CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []stevedore.CapacityProviderStrategyItem{}}, cl)
		l, err := c.ListContainerInstances(ctx, &stevedore.ListContainerInstancesInput{Cluster: "app01", Status: "INACTIVE"})
		require.NoError(t, err)
		assert.Empty(t, l.ContainerInstanceArns)
	})
}
