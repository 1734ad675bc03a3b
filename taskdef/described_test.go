package taskdef_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore/taskdef"
)

// TestDescribedShape: a registered task definition is written as
// DescribeTaskDefinition prints it, ECS's defaults spelled out; one that
// is not registered is written as given; both read back unchanged.
func TestDescribedShape(t *testing.T) {
	reg := taskdef.NewRegistry("us-east-1", "123456789012")
	in := taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{{
		Name: "web", Image: "nginx", Memory: 256, PortMappings: []taskdef.PortMapping{{ContainerPort: 80, HostPort: 80}},
	}}}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","memory":256,"portMappings":[{"containerPort":80,"hostPort":80}]}]}`, string(raw))

	e, err := reg.Register(in, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	raw, err = json.Marshal(e.Definition())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	c := got["containerDefinitions"].([]any)[0].(map[string]any)
	assert.Equal(t, 0.0, c["cpu"])
	assert.Equal(t, true, c["essential"])
	assert.Equal(t, []any{map[string]any{"containerPort": 80.0, "hostPort": 80.0, "protocol": "tcp"}}, c["portMappings"])
	for _, k := range []string{"environment", "mountPoints", "volumesFrom", "systemControls"} {
		assert.Equal(t, []any{}, c[k], k)
	}
	assert.Equal(t, []any{}, got["volumes"])
	assert.Equal(t, []any{}, got["placementConstraints"])
	assert.Equal(t, "ACTIVE", got["status"])
	assert.Contains(t, got["taskDefinitionArn"], "task-definition/web:1")

	var back taskdef.TaskDefinition
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, 80, back.ContainerDefinitions[0].PortMappings[0].ContainerPort)
	assert.True(t, back.ContainerDefinitions[0].IsEssential())
}
