package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

var awsvpcNetwork = &stevedore.NetworkConfiguration{AwsvpcConfiguration: &stevedore.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

// registerTyped registers an instance of an EC2 instance type, with extra
// attributes.
func registerTyped(t *testing.T, c *stevedore.Client, cluster, instanceType string, attrs ...stevedore.Attribute) stevedore.ContainerInstance {
	t.Helper()
	out, err := c.RegisterContainerInstance(t.Context(), &stevedore.RegisterContainerInstanceInput{
		Cluster: cluster, TotalResources: resources(8192, 16384), Attributes: attrs,
		InstanceIdentityDocument: stevedore.IdentityDocument("", instanceType, "us-east-1a"),
	})
	require.NoError(t, err)
	return out.ContainerInstance
}

func awsvpcDefinition(t *testing.T, c *stevedore.Client, family string) string {
	t.Helper()
	in := taskDefinition(family, 16, 16)
	in.TaskDefinition.NetworkMode = taskdef.NetworkModeAwsvpc
	return registerTaskDefinition(t, c, in)
}

// TestENILimits: an awsvpc task attaches one ENI to its instance; how many
// an instance takes comes from its type (ENIs less the primary, or the
// trunk's limit once awsvpcTrunking is enabled), from the attribute
// stevedore.task-eni-limit, or is not limited for a type the catalogue
// does not know. Past the limit RunTask fails with RESOURCE:ENI.
func TestENILimits(t *testing.T) {
	for _, tc := range []struct {
		name         string
		instanceType string
		trunking     bool
		attrs        []stevedore.Attribute
		want         int // awsvpc tasks that fit; -1: not limited
	}{
		{name: "m4.large: 2 ENIs, the primary taken", instanceType: "m4.large", want: 1},
		{name: "c5.large: 3 ENIs", instanceType: "c5.large", want: 2},
		{name: "c5.large with trunking", instanceType: "c5.large", trunking: true, want: 10},
		{name: "m4.large does not trunk", instanceType: "m4.large", trunking: true, want: 1},
		{name: "a trunk the instance reports", instanceType: "r5.xlarge", attrs: []stevedore.Attribute{{Name: stevedore.TrunkAttribute, Value: "eni-0123"}}, want: 20},
		{name: "the attribute", instanceType: "x9.unknown", attrs: []stevedore.Attribute{{Name: stevedore.TaskENILimitAttribute, Value: "3"}}, want: 3},
		{name: "the attribute over the type", instanceType: "c5.large", attrs: []stevedore.Attribute{{Name: stevedore.TaskENILimitAttribute, Value: "5"}}, want: 5},
		{name: "unknown type: no limit", instanceType: "x9.unknown", want: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			ctx := t.Context()
			createCluster(t, c, "app")
			if tc.trunking {
				_, err := c.PutAccountSetting(ctx, &stevedore.PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled"})
				require.NoError(t, err)
			}
			ci := registerTyped(t, c, "app", tc.instanceType, tc.attrs...)
			_, trunk := attributeMap(ci.Attributes)[stevedore.TrunkAttribute]
			assert.Equal(t, tc.want >= 10, trunk, "trunked instances carry ecs.awsvpc-trunk-id")
			vpc := awsvpcDefinition(t, c, "vpc")
			placed := 0
			for range 3 {
				out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: vpc, Count: 10, NetworkConfiguration: awsvpcNetwork})
				require.NoError(t, err)
				placed += len(out.Tasks)
				if tc.want >= 0 && len(out.Tasks) < 10 {
					require.NotEmpty(t, out.Failures)
					assert.Equal(t, "RESOURCE:ENI", out.Failures[0].Reason)
					assert.Equal(t, ci.ContainerInstanceArn, out.Failures[0].Arn)
					assert.Equal(t, map[stevedore.FailureReason]int{stevedore.ReasonResourceENI: 1}, out.Failures[0].Checks)
				}
			}
			if tc.want < 0 {
				assert.Equal(t, 30, placed)
				return
			}
			assert.Equal(t, tc.want, placed)
			// A task in bridge mode attaches no ENI: it still fits.
			bridge := registerTaskDefinition(t, c, taskDefinition("bridge", 16, 16))
			out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: bridge})
			require.NoError(t, err)
			assert.Len(t, out.Tasks, 1)
		})
	}
}

// TestENIFreedAndChecked: a stopped awsvpc task gives its ENI back; a bad
// limit attribute and account setting are refused.
func TestENIFreedAndChecked(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	registerTyped(t, c, "app", "m4.large")
	vpc := awsvpcDefinition(t, c, "vpc")
	run := func() *stevedore.RunTaskOutput {
		out, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: vpc, NetworkConfiguration: awsvpcNetwork})
		require.NoError(t, err)
		return out
	}
	first := run()
	require.Len(t, first.Tasks, 1)
	require.Len(t, run().Failures, 1)
	_, err := c.StopTask(ctx, &stevedore.StopTaskInput{Cluster: "app", Task: first.Tasks[0].TaskArn})
	require.NoError(t, err)
	_, err = c.Agents(ctx, "app", clock.Now(), 0)
	require.NoError(t, err)
	assert.Len(t, run().Tasks, 1, "the stopped task's ENI is free again")

	for _, v := range []string{"0", "-1", "many", "70000"} {
		_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "app", TotalResources: resources(1024, 1024),
			Attributes: []stevedore.Attribute{{Name: stevedore.TaskENILimitAttribute, Value: v}}})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
		assert.ErrorContains(t, err, stevedore.TaskENILimitAttribute)
	}
	_, err = c.PutAccountSetting(ctx, &stevedore.PutAccountSettingInput{Name: "awsvpcTrunking", Value: "on"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	_, err = c.PutAccountSetting(ctx, &stevedore.PutAccountSettingInput{Name: "nope", Value: "enabled"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	set, err := c.PutAccountSettingDefault(ctx, &stevedore.PutAccountSettingInput{Name: "awsvpcTrunking", Value: "enabled"})
	require.NoError(t, err)
	assert.Equal(t, stevedore.Setting{Name: "awsvpcTrunking", Value: "enabled", PrincipalArn: "arn:aws:iam::123456789012:root", Type: "user"}, set.Setting)
	_, err = c.PutAccountSetting(ctx, &stevedore.PutAccountSettingInput{Name: "containerInsights", Value: "enhanced"})
	require.NoError(t, err)
	list, err := c.ListAccountSettings(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list.Settings, 2)
	assert.Equal(t, "awsvpcTrunking", list.Settings[0].Name)
	list, err = c.ListAccountSettings(ctx, &stevedore.ListAccountSettingsInput{Name: "containerInsights"})
	require.NoError(t, err)
	require.Len(t, list.Settings, 1)
	assert.Equal(t, "enhanced", list.Settings[0].Value)
}

// TestManagedScalingCountsENIs: awsvpc tasks waiting on a provider whose
// instances each take one need an instance apiece, though their CPU and
// memory would fit on one.
func TestManagedScalingCountsENIs(t *testing.T) {
	c, _ := newClient(t)
	createCluster(t, c, "app")
	createGroup(t, c, "app", "asg", 0, 0, stevedore.CreateAutoScalingGroupInput{TotalResources: resources(2048, 8192), InstanceType: "m4.large", MaxSize: 10})
	createProvider(t, c, "cp", "asg", stevedore.AutoScalingGroupProvider{ManagedScaling: &stevedore.ManagedScaling{Status: "ENABLED"}})
	putProviders(t, c, "app", []string{"cp"}, stevedore.CapacityProviderStrategyItem{CapacityProvider: "cp", Weight: 1})
	vpc := awsvpcDefinition(t, c, "vpc")
	out, err := c.RunTask(t.Context(), &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: vpc, Count: 4, NetworkConfiguration: awsvpcNetwork})
	require.NoError(t, err)
	require.Len(t, out.Tasks, 4)
	m := manage(t, c, "app")
	require.Len(t, m.Metrics, 1)
	assert.Equal(t, 4, m.Metrics[0].InstancesNeeded, "one m4.large per awsvpc task")
	assert.Len(t, m.Launched, 4)
	assert.Len(t, m.Placed, 4, "the instances launch at once and take the tasks")
}

// TestENIAttributesFixed: the ENI limit and the trunk are fixed at
// registration: PutAttributes and DeleteAttributes refuse them, so a fork
// (which reads them back) takes what the live instance takes.
func TestENIAttributesFixed(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app")
	ci := registerTyped(t, c, "app", "m4.large")
	for _, name := range []string{stevedore.TaskENILimitAttribute, stevedore.TrunkAttribute} {
		_, err := c.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "app", Attributes: []stevedore.Attribute{{Name: name, Value: "5", TargetId: ci.ContainerInstanceArn}}})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
		assert.ErrorContains(t, err, "cannot change")
		_, err = c.DeleteAttributes(ctx, &stevedore.DeleteAttributesInput{Cluster: "app", Attributes: []stevedore.Attribute{{Name: name, TargetId: ci.ContainerInstanceArn}}})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
	}
	vpc := awsvpcDefinition(t, c, "vpc")
	f, err := c.Fork(ctx)
	require.NoError(t, err)
	for _, cl := range []*stevedore.Client{c, f} {
		out, err := cl.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app", TaskDefinition: vpc, Count: 3, NetworkConfiguration: awsvpcNetwork})
		require.NoError(t, err)
		assert.Len(t, out.Tasks, 1, "one awsvpc task on an m4.large, live and forked")
	}
}
