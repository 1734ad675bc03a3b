package taskdef

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func described(family string, rev int, status Status) TaskDefinition {
	td := minimalTD(family)
	td.Revision = rev
	td.TaskDefinitionArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/" + family + ":" + itoa(rev)
	td.Status = status
	td.RegisteredAt = t0.Add(time.Duration(rev) * time.Hour)
	td.RegisteredBy = "arn:aws:iam::123456789012:role/deployer"
	td.RequiresAttributes = []Attribute{{Name: "com.amazonaws.ecs.capability.docker-remote-api.1.18"}}
	return td
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestImport(t *testing.T) {
	r := NewRegistry("us-east-1", "123456789012")
	for _, td := range []TaskDefinition{described("web", 7, StatusActive), described("web", 3, StatusInactive), described("web", 5, StatusDeleteInProgress)} {
		_, err := r.Import(td)
		require.NoError(t, err)
	}
	e, err := r.Resolve("web")
	require.NoError(t, err)
	assert.Equal(t, 7, e.Revision(), "the latest ACTIVE is the highest imported")
	assert.Equal(t, t0.Add(7*time.Hour), e.RegisteredAt())
	assert.Equal(t, "arn:aws:iam::123456789012:role/deployer", e.Definition().RegisteredBy)
	assert.Equal(t, []Attribute{{Name: "com.amazonaws.ecs.capability.docker-remote-api.1.18"}}, e.Definition().RequiresAttributes, "ECS's own requiresAttributes are kept")
	_, err = r.Resolve("web:4")
	assert.ErrorIs(t, err, ErrNotFound, "a revision not imported does not exist")
	assert.Equal(t, []string{
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:5",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
	}, r.List("", StatusAll, false))
	assert.Equal(t, []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"}, r.List("web", StatusInactive, false))
	next, err := r.Register(minimalTD("web"), t0)
	require.NoError(t, err)
	assert.Equal(t, 8, next.Revision())
	_, err = r.Deregister("web:4", t0)
	assert.ErrorIs(t, err, ErrNotFound)

	for name, td := range map[string]TaskDefinition{
		"exists": described("web", 7, StatusActive),
		"foreign ARN": func() TaskDefinition {
			td := described("api", 1, "")
			td.TaskDefinitionArn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:1"
			return td
		}(),
		"ARN's revision": func() TaskDefinition {
			td := described("api", 1, "")
			td.Revision = 2
			return td
		}(),
		"status":  described("api", 1, "GONE"),
		"invalid": func() TaskDefinition { td := described("api", 1, ""); td.ContainerDefinitions = nil; return td }(),
	} {
		_, err := r.Import(td)
		require.Error(t, err, name)
		var ve *ValidationError
		var re *ReferenceError
		assert.True(t, errors.As(err, &ve) || errors.As(err, &re), "%s: %v", name, err)
	}
	assert.Len(t, r.List("", StatusAll, false), 4, "refused imports changed nothing")
}
