package taskdef

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtures returns the contents of testdata/*-task.json by file name.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/*-task.json")
	require.NoError(t, err)
	require.Len(t, paths, 3, "want the three task definition fixtures")
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = b
	}
	return out
}

func TestDecodeFixtures(t *testing.T) {
	for name, data := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			td, err := Decode(data)
			require.NoError(t, err)
			assert.NoError(t, td.Validate())
			require.Len(t, td.ContainerDefinitions, 1)
			assert.True(t, td.ContainerDefinitions[0].IsEssential())

			enc, err := Encode(td)
			require.NoError(t, err)
			again, err := Decode(enc)
			require.NoError(t, err)
			assert.Equal(t, td, again)
		})
	}
}

func TestDecodeNginx(t *testing.T) {
	td, err := Decode(fixtures(t)["whitepaper-nginx-task.json"])
	require.NoError(t, err)
	essential := true
	want := TaskDefinition{
		Family: "whitepaper",
		ContainerDefinitions: []ContainerDefinition{{
			Name:         "nginx",
			Image:        "dockerfile/nginx",
			CPU:          1000,
			Memory:       500,
			Essential:    &essential,
			EntryPoint:   []string{"/bin/sh"},
			PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 80}},
			// links: [] and environment: [] decode as nil.
		}},
	}
	assert.Equal(t, want, td)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string // "" = not an UnknownFieldError
	}{
		{"unknown top-level", `{"family":"a","foo":1}`, "foo"},
		{"unknown in container", `{"containerDefinitions":[{"name":"a"},{"name":"b","foo":true}]}`, "containerDefinitions[1].foo"},
		{"unknown in port mapping", `{"containerDefinitions":[{"portMappings":[{"containerPort":1,"bar":2}]}]}`, "containerDefinitions[0].portMappings[0].bar"},
		{"unknown in log configuration", `{"containerDefinitions":[{"logConfiguration":{"logDriver":"x","x":1}}]}`, "containerDefinitions[0].logConfiguration.x"},
		{"unknown in volume host", `{"volumes":[{"name":"v","host":{"path":"/"}}]}`, "volumes[0].host.path"},
		{"case differs", `{"Family":"a"}`, "Family"},
		{"output-only arn", `{"family":"a","taskDefinitionArn":"arn"}`, "taskDefinitionArn"},
		{"output-only revision", `{"family":"a","revision":3}`, "revision"},
		{"output-only status", `{"status":"ACTIVE"}`, "status"},
		{"output-only registeredAt", `{"registeredAt":"2024-01-02T03:04:05Z"}`, "registeredAt"},
		{"wrapper is not input", `{"taskDefinition":{}}`, "taskDefinition"},
		{"trailing object", `{"family":"a"} {}`, ""},
		{"trailing garbage", `{"family":"a"}x`, ""},
		{"not an object", `[1]`, ""},
		{"null", `null`, ""},
		{"empty", ``, ""},
		{"wrong type", `{"family":1}`, ""},
		{"fractional cpu", `{"containerDefinitions":[{"cpu":1.5}]}`, ""},
		{"syntax", `{"family":`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			require.Error(t, err)
			ufe, ok := errors.AsType[*UnknownFieldError](err)
			if tt.wantField == "" {
				assert.False(t, ok, "want a non-field error, got %v", err)
				return
			}
			require.True(t, ok, "want *UnknownFieldError, got %T %v", err, err)
			assert.Equal(t, tt.wantField, ufe.Field)
		})
	}
}

func TestUnknownFieldErrorMessage(t *testing.T) {
	assert.Equal(t, `taskdef: Unknown parameter in input: "foo"`, (&UnknownFieldError{Field: "foo"}).Error())
	assert.Equal(t, `taskdef: Unknown parameter in containerDefinitions[0]: "foo"`,
		(&UnknownFieldError{Field: "containerDefinitions[0].foo"}).Error())
}

func TestDecodeTrailingWhitespace(t *testing.T) {
	td, err := Decode([]byte(" \n{\"family\":\"a\"}\r\n\t "))
	require.NoError(t, err)
	assert.Equal(t, "a", td.Family)
}

const describedJSON = `{
  "taskDefinition": {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
    "containerDefinitions": [
      {"name": "web", "image": "nginx", "cpu": 0, "memory": 128, "essential": true,
       "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
       "environment": [], "mountPoints": [], "volumesFrom": [],
       "linuxParameters": { "initProcessEnabled" : true }}
    ],
    "family": "web",
    "revision": 3,
    "volumes": [],
    "status": "ACTIVE",
    "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
    "placementConstraints": [],
    "compatibilities": ["EXTERNAL", "EC2"],
    "registeredAt": "2024-01-02T03:04:05.123000+00:00",
    "registeredBy": "arn:aws:iam::123456789012:user/me"
  },
  "tags": [{"key": "team", "value": "blue"}]
}`

func TestDecodeDescribed(t *testing.T) {
	td, err := DecodeDescribed([]byte(describedJSON))
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", td.TaskDefinitionArn)
	assert.Equal(t, 3, td.Revision)
	assert.Equal(t, StatusActive, td.Status)
	assert.Equal(t, []Compatibility{CompatibilityExternal, CompatibilityEC2}, td.Compatibilities)
	assert.Equal(t, []Tag{{Key: "team", Value: "blue"}}, td.Tags)
	assert.Equal(t, time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.UTC), td.RegisteredAt.UTC())
	assert.Equal(t, json.RawMessage(`{"initProcessEnabled":true}`), td.ContainerDefinitions[0].LinuxParameters)
	assert.Nil(t, td.Volumes)

	// The bare object is accepted too.
	var wrapper map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(describedJSON), &wrapper))
	bare, err := DecodeDescribed(wrapper["taskDefinition"])
	require.NoError(t, err)
	td.Tags = nil
	assert.Equal(t, td, bare)

	// The describe shape round-trips through encoding/json.
	out, err := json.Marshal(td)
	require.NoError(t, err)
	again, err := DecodeDescribed(out)
	require.NoError(t, err)
	assert.True(t, td.RegisteredAt.Equal(again.RegisteredAt))
	again.RegisteredAt = td.RegisteredAt
	assert.Equal(t, td, again)

	// Register input is not describe output.
	_, err = Decode([]byte(describedJSON))
	var ufe *UnknownFieldError
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, "taskDefinition", ufe.Field)

	_, err = DecodeDescribed([]byte(`{"taskDefinition":{"family":"a","nope":1}}`))
	require.ErrorAs(t, err, &ufe)
	assert.Equal(t, "taskDefinition.nope", ufe.Field)
}

func TestEncode(t *testing.T) {
	no := false
	td := TaskDefinition{
		TaskDefinitionArn: "arn:aws:ecs:r:a:task-definition/f:1",
		Revision:          1,
		Status:            StatusActive,
		Compatibilities:   []Compatibility{CompatibilityEC2},
		RegisteredAt:      time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Family:            "f",
		ContainerDefinitions: []ContainerDefinition{{
			Name: "a", Image: "x<y>&z", Memory: 64, Essential: &no,
		}},
	}
	got, err := Encode(td)
	require.NoError(t, err)
	want := `{
  "containerDefinitions": [
    {
      "name": "a",
      "image": "x<y>&z",
      "memory": 64,
      "essential": false
    }
  ],
  "family": "f"
}`
	assert.Equal(t, want, string(got))

	described, err := json.Marshal(td)
	require.NoError(t, err)
	assert.Contains(t, string(described), `"registeredAt":"2024-01-02T03:04:05Z"`)
	assert.Contains(t, string(described), `"revision":1`)
	assert.NotContains(t, string(described), `deregisteredAt`)
}

func TestEncodeInvalidRaw(t *testing.T) {
	td := TaskDefinition{Family: "f", ProxyConfiguration: json.RawMessage(`{`)}
	_, err := Encode(td)
	assert.Error(t, err)
}

// FuzzDecode checks that Decode never panics and that every accepted input
// survives Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, data := range fixtures(f) {
		f.Add(data)
	}
	f.Add([]byte(describedJSON))
	f.Add([]byte(`{"family":"a","containerDefinitions":[{"name":"a","image":"b","dockerLabels":{},"logConfiguration":{"logDriver":"awslogs","options":{"a":"b"}},"linuxParameters":null,"healthCheck":{"command":[]}}],"volumes":[{"name":"v","host":{},"dockerVolumeConfiguration":{"autoprovision":false,"labels":{}}}],"cpu":"1 vCPU","tags":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := Decode(data)
		if err != nil {
			return
		}
		_ = td.Validate()
		_, _ = td.Demand()
		enc, err := Encode(td)
		require.NoError(t, err, "Encode of an accepted input")
		again, err := Decode(enc)
		require.NoError(t, err, "Decode of Encode output:\n%s", enc)
		require.Equal(t, td, again)
	})
}
