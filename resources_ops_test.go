package stevedore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
)

func TestTagging(t *testing.T) {
	c, _ := serviceFixture(t)
	ctx := t.Context()
	cl := describeCluster(t, c, "app01")
	svc := describeService(t, c, "app01", "live")
	task := serviceTasks(t, c, "app01", "live")[0]
	tdARN := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	for _, arn := range []string{cl.ClusterArn, svc.ServiceArn, tdARN, task.ContainerInstanceArn, task.TaskArn} {
		t.Run(stevedore.ResourceID(arn), func(t *testing.T) {
			_, err := c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: arn, Tags: []stevedore.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "dev"}}})
			require.NoError(t, err)
			_, err = c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: arn, Tags: []stevedore.Tag{{Key: "team", Value: "b"}}})
			require.NoError(t, err)
			out, err := c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: arn})
			require.NoError(t, err)
			assert.Equal(t, []stevedore.Tag{{Key: "team", Value: "b"}, {Key: "env", Value: "dev"}}, out.Tags, "a key given again is replaced")
			_, err = c.UntagResource(ctx, &stevedore.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team", "absent"}})
			require.NoError(t, err)
			out, err = c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: arn})
			require.NoError(t, err)
			assert.Equal(t, []stevedore.Tag{{Key: "env", Value: "dev"}}, out.Tags)
		})
	}
	// Where the resource's own description shows its tags.
	assert.Equal(t, []stevedore.Tag{{Key: "env", Value: "dev"}}, describeCluster(t, c, "app01").Tags)
	d, err := c.DescribeTaskDefinition(ctx, &stevedore.DescribeTaskDefinitionInput{TaskDefinition: "web:1"})
	require.NoError(t, err)
	assert.Equal(t, []stevedore.Tag{{Key: "env", Value: "dev"}}, d.Tags)

	many := make([]stevedore.Tag, 49)
	for i := range many {
		many[i] = stevedore.Tag{Key: "k" + string(rune('A'+i%26)) + string(rune('a'+i/26))}
	}
	for _, tc := range []struct {
		name string
		call func() error
		want func(t *testing.T, err error)
	}{
		{"unknown cluster", func() error {
			_, err := c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: "arn:aws:ecs:us-east-1:123456789012:cluster/nope"})
			return err
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.ResourceNotFoundException](t, err) }},
		{"unknown task", func() error {
			_, err := c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: "arn:aws:ecs:us-east-1:123456789012:task/app01/ffffffffffffffffffffffffffffffff", Tags: []stevedore.Tag{{Key: "a"}}})
			return err
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.ResourceNotFoundException](t, err) }},
		{"another account", func() error {
			_, err := c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: "arn:aws:ecs:us-east-1:999999999999:cluster/app01"})
			return err
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"51 tags after the merge", func() error {
			_, err := c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: cl.ClusterArn, Tags: append(many, stevedore.Tag{Key: "more"})})
			return err
		}, func(t *testing.T, err error) {
			e := requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Contains(t, e.ErrorMessage(), "Too many tags: 51")
		}},
		{"an empty key", func() error {
			_, err := c.TagResource(ctx, &stevedore.TagResourceInput{ResourceArn: cl.ClusterArn, Tags: []stevedore.Tag{{Value: "v"}}})
			return err
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
		{"no keys to remove", func() error {
			_, err := c.UntagResource(ctx, &stevedore.UntagResourceInput{ResourceArn: cl.ClusterArn})
			return err
		}, func(t *testing.T, err error) { requireErrorAs[*stevedore.InvalidParameterException](t, err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: cl.ClusterArn})
			require.NoError(t, err)
			tc.want(t, tc.call())
			after, err := c.ListTagsForResource(ctx, &stevedore.ListTagsForResourceInput{ResourceArn: cl.ClusterArn})
			require.NoError(t, err)
			assert.Equal(t, before, after, "a refused call changes no tags")
		})
	}
}

func TestListAttributes(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	var arns []string
	for range 3 {
		arns = append(arns, registerInstance(t, c, "app01", resources(1024, 1024)).ContainerInstanceArn)
	}
	_, err := c.PutAttributes(ctx, &stevedore.PutAttributesInput{Cluster: "app01", Attributes: []stevedore.Attribute{
		{Name: "stack", Value: "prod", TargetId: arns[0]}, {Name: "stack", Value: "dev", TargetId: arns[2]}}})
	require.NoError(t, err)
	out, err := c.ListAttributes(ctx, &stevedore.ListAttributesInput{Cluster: "app01", TargetType: "container-instance", AttributeName: "stack"})
	require.NoError(t, err)
	assert.Equal(t, []stevedore.Attribute{
		{Name: "stack", Value: "prod", TargetType: "container-instance", TargetId: arns[0]},
		{Name: "stack", Value: "dev", TargetType: "container-instance", TargetId: arns[2]},
	}, out.Attributes)
	out, err = c.ListAttributes(ctx, &stevedore.ListAttributesInput{Cluster: "app01", TargetType: "container-instance", AttributeName: "stack", AttributeValue: "dev"})
	require.NoError(t, err)
	require.Len(t, out.Attributes, 1)
	assert.Equal(t, arns[2], out.Attributes[0].TargetId)
	// Every attribute, page by page.
	var all []stevedore.Attribute
	for token := ""; ; {
		page, err := c.ListAttributes(ctx, &stevedore.ListAttributesInput{Cluster: "app01", TargetType: "container-instance", MaxResults: 5, NextToken: token})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(page.Attributes), 5)
		all = append(all, page.Attributes...)
		if token = page.NextToken; token == "" {
			break
		}
	}
	assert.Len(t, all, 3*11+2, "each instance's eleven built-in attributes and the two custom ones")
	_, err = c.ListAttributes(ctx, &stevedore.ListAttributesInput{Cluster: "app01"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
	_, err = c.ListAttributes(ctx, &stevedore.ListAttributesInput{Cluster: "app01", TargetType: "container-instance", AttributeValue: "dev"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)
}

func TestTaskDefinitionFamiliesAndDeletion(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for _, fam := range []string{"web", "web", "api", "worker"} {
		registerTaskDefinition(t, c, taskDefinition(fam, 128, 128))
	}
	for _, ref := range []string{"worker:1", "web:1"} {
		_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: ref})
		require.NoError(t, err)
	}
	fams := func(in stevedore.ListTaskDefinitionFamiliesInput) []string {
		out, err := c.ListTaskDefinitionFamilies(ctx, &in)
		require.NoError(t, err)
		return out.Families
	}
	assert.Equal(t, []string{"api", "web", "worker"}, fams(stevedore.ListTaskDefinitionFamiliesInput{}))
	assert.Equal(t, []string{"api", "web"}, fams(stevedore.ListTaskDefinitionFamiliesInput{Status: "ACTIVE"}))
	assert.Equal(t, []string{"worker"}, fams(stevedore.ListTaskDefinitionFamiliesInput{Status: "INACTIVE"}))
	assert.Equal(t, []string{"web", "worker"}, fams(stevedore.ListTaskDefinitionFamiliesInput{FamilyPrefix: "w"}))
	_, err := c.ListTaskDefinitionFamilies(ctx, &stevedore.ListTaskDefinitionFamiliesInput{Status: "DELETED"})
	requireErrorAs[*stevedore.InvalidParameterException](t, err)

	out, err := c.DeleteTaskDefinitions(ctx, &stevedore.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:1", "web:2", "nope:1", "web:x"}})
	require.NoError(t, err)
	require.Len(t, out.TaskDefinitions, 1)
	assert.Equal(t, "DELETE_IN_PROGRESS", string(out.TaskDefinitions[0].Status))
	require.Len(t, out.Failures, 3)
	assert.Contains(t, out.Failures[0].Reason, "still in ACTIVE status")
	assert.Equal(t, "The specified task definition does not exist.", out.Failures[1].Reason)
	inactive, err := c.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{Status: "INACTIVE"})
	require.NoError(t, err)
	assert.Equal(t, []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/worker:1"}, inactive.TaskDefinitionArns, "a deleted revision is listed no more")
	d, err := c.DescribeTaskDefinition(ctx, &stevedore.DescribeTaskDefinitionInput{TaskDefinition: "web:1"})
	require.NoError(t, err)
	assert.Equal(t, "DELETE_IN_PROGRESS", string(d.TaskDefinition.Status), "but still described")
	for _, n := range []int{0, 11} {
		_, err := c.DeleteTaskDefinitions(ctx, &stevedore.DeleteTaskDefinitionsInput{TaskDefinitions: make([]string, n)})
		requireErrorAs[*stevedore.InvalidParameterException](t, err)
	}
}

// TestTaskDefinitionTagsConcurrently: concurrent TagResource calls on one
// revision each keep their tags (they used to merge into the same old
// list and lose each other's).
func TestTaskDefinitionTagsConcurrently(t *testing.T) {
	c, _ := newClient(t)
	arn := registerTaskDefinition(t, c, taskDefinition("web", 128, 128))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 6 {
				_, err := c.TagResource(t.Context(), &stevedore.TagResourceInput{ResourceArn: arn, Tags: []stevedore.Tag{{Key: fmt.Sprintf("g%d-k%d", g, k)}}})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	out, err := c.ListTagsForResource(t.Context(), &stevedore.ListTagsForResourceInput{ResourceArn: arn})
	require.NoError(t, err)
	assert.Len(t, out.Tags, 48)
}
