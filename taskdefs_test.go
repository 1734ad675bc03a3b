package stevedore_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

const tdPrefix = arnPrefix + "task-definition/"

func TestRegisterTaskDefinitionFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, family string
		container    string
		cpu, memory  int
	}{
		{"whitepaper-nginx-task.json", "whitepaper", "nginx", 1000, 500},
		{"microservices-location-task.json", "location", "location", 512, 1024},
		{"microservices-user-task.json", "user", "user", 512, 1024},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, _ := newClient(t)
			out, err := c.RegisterTaskDefinition(t.Context(), fixtureTaskDefinition(t, tc.file))
			require.NoError(t, err)
			td := out.TaskDefinition
			assert.Equal(t, tdPrefix+tc.family+":1", td.TaskDefinitionArn)
			assert.Equal(t, tc.family, td.Family)
			assert.Equal(t, 1, td.Revision)
			assert.Equal(t, taskdef.StatusActive, td.Status)
			assert.Equal(t, []taskdef.Compatibility{"EC2"}, td.Compatibilities)
			assert.Equal(t, t0, td.RegisteredAt)
			require.Len(t, td.ContainerDefinitions, 1)
			assert.Equal(t, tc.container, td.ContainerDefinitions[0].Name)
			assert.Equal(t, tc.cpu, td.ContainerDefinitions[0].CPU)
			assert.Equal(t, tc.memory, td.ContainerDefinitions[0].Memory)

			d, err := c.DescribeTaskDefinition(t.Context(), &stevedore.DescribeTaskDefinitionInput{TaskDefinition: tc.family})
			require.NoError(t, err)
			assert.Equal(t, td, d.TaskDefinition, "describe shows what register returned")
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		_, err := stevedore.DecodeRegisterTaskDefinitionInput([]byte(`{"family": "x", "containerDefinitions": [], "colour": "blue"}`))
		e := requireErrorAs[*stevedore.ClientException](t, err)
		assert.Contains(t, e.ErrorMessage(), "colour")
	})
}

func TestRegisterTaskDefinitionRevisions(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	for want := 1; want <= 3; want++ {
		clock.Advance(1e9)
		assert.Equal(t, fmt.Sprintf("%sweb:%d", tdPrefix, want), registerTaskDefinition(t, c, taskDefinition("web", 100, 100)))
	}
	_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: "web:3"})
	require.NoError(t, err)
	assert.Equal(t, tdPrefix+"web:4", registerTaskDefinition(t, c, taskDefinition("web", 100, 100)), "a deregistered revision's number is never reused")
	assert.Equal(t, tdPrefix+"api:1", registerTaskDefinition(t, c, taskDefinition("api", 100, 100)), "revisions count per family")
}

func TestRegisterTaskDefinitionInvalid(t *testing.T) {
	container := func(name string, mod func(*taskdef.ContainerDefinition)) taskdef.ContainerDefinition {
		cd := taskdef.ContainerDefinition{Name: name, Image: "busybox", Memory: 128}
		mod(&cd)
		return cd
	}
	eleven := make([]taskdef.ContainerDefinition, 11)
	for i := range eleven {
		eleven[i] = container(fmt.Sprintf("c%d", i), func(*taskdef.ContainerDefinition) {})
	}
	for _, tc := range []struct {
		name string
		td   taskdef.TaskDefinition
		want taskdef.ValidationError
		// invalidParameter: the API raises InvalidParameterException
		// rather than ClientException.
		invalidParameter bool
	}{
		{
			name: "no memory",
			td: taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{
				container("ok", func(*taskdef.ContainerDefinition) {}),
				container("app", func(cd *taskdef.ContainerDefinition) { cd.Memory = 0 }),
			}},
			want: taskdef.ValidationError{Container: "app", Field: "containerDefinitions[1].memory", Exception: "ClientException",
				Reason: "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		},
		{
			name: "memory not above memoryReservation",
			td: taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{
				container("app", func(cd *taskdef.ContainerDefinition) { cd.MemoryReservation = 128 }),
			}},
			want: taskdef.ValidationError{Container: "app", Field: "containerDefinitions[0].memoryReservation", Exception: "ClientException",
				Reason: "Invalid setting for container 'app'. 'memory' must be greater than 'memoryReservation'."},
		},
		{
			name: "no image",
			td: taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{
				container("app", func(cd *taskdef.ContainerDefinition) { cd.Image = "" }),
			}},
			want: taskdef.ValidationError{Container: "app", Field: "containerDefinitions[0].image", Exception: "ClientException",
				Reason: "Container.image should not be null or empty."},
		},
		{
			name: "container memory above task memory",
			td: taskdef.TaskDefinition{Family: "web", Memory: "512", ContainerDefinitions: []taskdef.ContainerDefinition{
				container("artillery", func(cd *taskdef.ContainerDefinition) { cd.Memory = 1024 }),
			}},
			want: taskdef.ValidationError{Container: "artillery", Field: "containerDefinitions[0].memory", Exception: "InvalidParameterException",
				Reason: "'memory' setting for container 'artillery' is greater than for task."},
			invalidParameter: true,
		},
		{
			name: "too many containers",
			td:   taskdef.TaskDefinition{Family: "web", ContainerDefinitions: eleven},
			want: taskdef.ValidationError{Field: "containerDefinitions", Exception: "ClientException", Reason: "Too many containers."},
		},
		{
			name: "no family",
			td:   taskdef.TaskDefinition{ContainerDefinitions: []taskdef.ContainerDefinition{container("app", func(*taskdef.ContainerDefinition) {})}},
			want: taskdef.ValidationError{Field: "family", Exception: "ClientException", Reason: "Family must not be null or empty."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t)
			registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
			before := snapshot(t, c)
			_, err := c.RegisterTaskDefinition(t.Context(), &stevedore.RegisterTaskDefinitionInput{TaskDefinition: tc.td})
			require.Error(t, err)
			var msg string
			if tc.invalidParameter {
				msg = requireErrorAs[*stevedore.InvalidParameterException](t, err).ErrorMessage()
			} else {
				msg = requireErrorAs[*stevedore.ClientException](t, err).ErrorMessage()
			}
			if tc.want.Container != "" {
				assert.Contains(t, msg, tc.want.Container, "the message names the container")
			}
			assert.Contains(t, msg, tc.want.Field, "the message names the field")
			assert.Contains(t, msg, tc.want.Reason)
			ve := requireErrorAs[*taskdef.ValidationError](t, err)
			assert.Equal(t, tc.want, *ve)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("output-only fields", func(t *testing.T) {
		c, _ := newClient(t)
		in := taskDefinition("web", 100, 100)
		in.Revision = 7
		before := snapshot(t, c)
		_, err := c.RegisterTaskDefinition(t.Context(), in)
		requireErrorAs[*stevedore.ClientException](t, err)
		assert.Equal(t, before, snapshot(t, c))
	})
}

func TestDescribeTaskDefinition(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for range 3 {
		registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	}
	_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: "web:3"})
	require.NoError(t, err)

	for _, tc := range []struct {
		ref    string
		want   string
		status taskdef.Status
	}{
		{"web", tdPrefix + "web:2", taskdef.StatusActive},
		{"web:1", tdPrefix + "web:1", taskdef.StatusActive},
		{"web:3", tdPrefix + "web:3", taskdef.StatusInactive},
		{tdPrefix + "web:2", tdPrefix + "web:2", taskdef.StatusActive},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			out, err := c.DescribeTaskDefinition(ctx, &stevedore.DescribeTaskDefinitionInput{TaskDefinition: tc.ref})
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.TaskDefinition.TaskDefinitionArn)
			assert.Equal(t, tc.status, out.TaskDefinition.Status)
		})
	}
	for _, tc := range []struct {
		ref, message string
	}{
		{"nope", "Unable to describe task definition."},
		{"web:9", "Unable to describe task definition."},
		{"web:x", "Invalid revision number. Number: x"},
		{"web:", "Revision is missing."},
		{"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1", "Unable to describe task definition."},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			before := snapshot(t, c)
			_, err := c.DescribeTaskDefinition(ctx, &stevedore.DescribeTaskDefinitionInput{TaskDefinition: tc.ref})
			e := requireErrorAs[*stevedore.ClientException](t, err)
			assert.Equal(t, tc.message, e.ErrorMessage())
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

func TestListTaskDefinitions(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for _, family := range []string{"web", "api", "web", "webapp", "api", "web"} {
		registerTaskDefinition(t, c, taskDefinition(family, 100, 100))
	}
	_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: "web:2"})
	require.NoError(t, err)

	arns := func(refs ...string) []string {
		out := make([]string, len(refs))
		for i, r := range refs {
			out[i] = tdPrefix + r
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   stevedore.ListTaskDefinitionsInput
		want []string
	}{
		{"ACTIVE by default", stevedore.ListTaskDefinitionsInput{}, arns("api:1", "api:2", "web:1", "web:3", "webapp:1")},
		{"DESC", stevedore.ListTaskDefinitionsInput{Sort: "DESC"}, arns("webapp:1", "web:3", "web:1", "api:2", "api:1")},
		{"INACTIVE", stevedore.ListTaskDefinitionsInput{Status: "INACTIVE"}, arns("web:2")},
		{"family", stevedore.ListTaskDefinitionsInput{FamilyPrefix: "web"}, arns("web:1", "web:3")},
		{"family DESC", stevedore.ListTaskDefinitionsInput{FamilyPrefix: "web", Sort: "DESC"}, arns("web:3", "web:1")},
		{"unknown family", stevedore.ListTaskDefinitionsInput{FamilyPrefix: "nope"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.ListTaskDefinitions(ctx, &tc.in)
			require.NoError(t, err)
			assert.Equal(t, &stevedore.ListTaskDefinitionsOutput{TaskDefinitionArns: tc.want}, out)
		})
	}
	t.Run("pages", func(t *testing.T) {
		for _, sort := range []string{"ASC", "DESC"} {
			var pages [][]string
			token := ""
			for {
				out, err := c.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{Sort: sort, MaxResults: 2, NextToken: token})
				require.NoError(t, err)
				pages = append(pages, out.TaskDefinitionArns)
				token = out.NextToken
				if token == "" {
					break
				}
				require.Less(t, len(pages), 10, "pagination does not end")
			}
			want := [][]string{arns("api:1", "api:2"), arns("web:1", "web:3"), arns("webapp:1")}
			if sort == "DESC" {
				want = [][]string{arns("webapp:1", "web:3"), arns("web:1", "api:2"), arns("api:1")}
			}
			assert.Equal(t, want, pages, sort)
		}
	})
	for _, tc := range []struct {
		name string
		in   stevedore.ListTaskDefinitionsInput
	}{
		{"bad status", stevedore.ListTaskDefinitionsInput{Status: "ALL"}},
		{"bad sort", stevedore.ListTaskDefinitionsInput{Sort: "UP"}},
		{"maxResults 101", stevedore.ListTaskDefinitionsInput{MaxResults: 101}},
		{"bad nextToken", stevedore.ListTaskDefinitionsInput{NextToken: "***"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			_, err := c.ListTaskDefinitions(ctx, &tc.in)
			requireErrorAs[*stevedore.InvalidParameterException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}

// TestListTaskDefinitionsPagesWhileDeregistering checks the promise of
// paginate's doc comment: pages stay correct while items are removed. A
// revision deregistered between two pages must not make the next page skip
// an ACTIVE revision that was never listed.
func TestListTaskDefinitionsPagesWhileDeregistering(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for range 3 {
		registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	}
	first, err := c.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{MaxResults: 1})
	require.NoError(t, err)
	require.Equal(t, []string{tdPrefix + "web:1"}, first.TaskDefinitionArns)
	require.NotEmpty(t, first.NextToken)

	_, err = c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: "web:1"})
	require.NoError(t, err)
	second, err := c.ListTaskDefinitions(ctx, &stevedore.ListTaskDefinitionsInput{MaxResults: 1, NextToken: first.NextToken})
	require.NoError(t, err)
	assert.Equal(t, []string{tdPrefix + "web:2"}, second.TaskDefinitionArns, "web:2 follows web:1 whatever happened to web:1")
}

func TestDeregisterTaskDefinition(t *testing.T) {
	c, clock := newClient(t)
	ctx := t.Context()
	createCluster(t, c, "app01")
	ci := registerInstance(t, c, "app01", resources(2048, 2048))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	registerTaskDefinition(t, c, taskDefinition("web", 100, 100))
	running := runTask(t, c, "app01", "web:1", 1)[0]

	now := clock.Advance(5e9)
	out, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: "web:1"})
	require.NoError(t, err)
	assert.Equal(t, taskdef.StatusInactive, out.TaskDefinition.Status)
	assert.Equal(t, now, out.TaskDefinition.DeregisteredAt)
	assert.Equal(t, "PENDING", describeTask(t, c, "app01", running.TaskArn).LastStatus, "existing tasks are untouched")

	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"RunTask family:revision", func() error {
			_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: "web:1"})
			return err
		}},
		{"RunTask ARN", func() error {
			_, err := c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "app01", TaskDefinition: tdPrefix + "web:1"})
			return err
		}},
		{"StartTask", func() error {
			_, err := c.StartTask(ctx, &stevedore.StartTaskInput{Cluster: "app01", TaskDefinition: "web:1", ContainerInstances: []string{ci.ContainerInstanceArn}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, c)
			e := requireErrorAs[*stevedore.InvalidParameterException](t, tc.run())
			assert.Equal(t, "TaskDefinition is inactive", e.ErrorMessage())
			assert.Equal(t, before, snapshot(t, c))
		})
	}
	t.Run("the family runs its latest ACTIVE revision", func(t *testing.T) {
		task := runTask(t, c, "app01", "web", 1)[0]
		assert.Equal(t, tdPrefix+"web:2", task.TaskDefinitionArn)
	})
	for _, ref := range []string{"web", "nope:1", "web:0"} {
		t.Run("bad reference "+ref, func(t *testing.T) {
			before := snapshot(t, c)
			_, err := c.DeregisterTaskDefinition(ctx, &stevedore.DeregisterTaskDefinitionInput{TaskDefinition: ref})
			requireErrorAs[*stevedore.ClientException](t, err)
			assert.Equal(t, before, snapshot(t, c))
		})
	}
}
