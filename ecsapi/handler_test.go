package ecsapi_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

func newHandler(t testing.TB, opts ecsapi.Options) *ecsapi.Handler {
	t.Helper()
	c, err := stevedore.New(stevedore.Options{Clock: stevedore.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Rand: rand.NewPCG(1, 2)})
	require.NoError(t, err)
	return ecsapi.NewHandler(c, opts)
}

// call posts body to operation op and returns the status and the decoded
// JSON answer.
func call(t testing.TB, h http.Handler, op, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), "%s: %s", op, rec.Body)
	assert.Equal(t, "application/x-amz-json-1.1", rec.Header().Get("Content-Type"))
	return rec.Code, out
}

func TestProtocol(t *testing.T) {
	h := newHandler(t, ecsapi.Options{MaxBodyBytes: 4096})
	code, out := call(t, h, "CreateCluster", `{"clusterName": "app"}`)
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "arn:aws:ecs:us-east-1:123456789012:cluster/app", out["cluster"].(map[string]any)["clusterArn"])

	code, out = call(t, h, "RegisterContainerInstance", `{"cluster": "app", "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]}`)
	require.Equal(t, http.StatusOK, code, out)
	registered := out["containerInstance"].(map[string]any)["registeredAt"]
	assert.Equal(t, float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), registered, "timestamps are epoch seconds")

	for _, tc := range []struct {
		name, op, body string
		status         int
		code           string
	}{
		{"unknown operation", "Frobnicate", `{}`, 400, "UnknownOperationException"},
		{"not JSON", "ListClusters", `{"maxResults": `, 400, "SerializationException"},
		{"a field of the wrong type", "RunTask", `{"count": "ten"}`, 400, "SerializationException"},
		{"data after the object", "ListClusters", `{} {}`, 400, "SerializationException"},
		{"a body over the limit", "ListClusters", `{"nextToken": "` + strings.Repeat("x", 5000) + `"}`, 413, "SerializationException"},
		{"ECS's exception", "ListTasks", `{"cluster": "nope"}`, 400, "ClusterNotFoundException"},
		{"an invalid parameter", "RunTask", `{"cluster": "app", "taskDefinition": "x", "count": 11}`, 400, "InvalidParameterException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := call(t, h, tc.op, tc.body)
			assert.Equal(t, tc.status, code)
			assert.Equal(t, "com.amazonaws.ecs#"+tc.code, out["__type"])
			assert.NotEmpty(t, out["message"])
		})
	}
	// Fields the model does not know are ignored, as the SDKs send more
	// than it uses.
	code, out = call(t, h, "ListClusters", `{"maxResults": 10, "somethingNew": true}`)
	assert.Equal(t, http.StatusOK, code, out)
}

// TestTimestampsOnlyWhereTheyAre: a value that looks like a timestamp
// member inside a string is left as it is; real timestamps become epoch
// seconds.
func TestTimestampsOnlyWhereTheyAre(t *testing.T) {
	h := newHandler(t, ecsapi.Options{})
	code, _ := call(t, h, "RegisterContainerInstance", `{"totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]}`)
	require.Equal(t, http.StatusOK, code)
	code, td := call(t, h, "RegisterTaskDefinition", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 1, "memory": 1,
		"dockerLabels": {"builtAt": "2024-01-01T00:00:00Z"}, "logConfiguration": {"logDriver": "json-file", "options": {"rotatedAt": "2024-01-01T00:00:00Z"}}}]}`)
	require.Equal(t, http.StatusOK, code, td)
	def := td["taskDefinition"].(map[string]any)
	container := def["containerDefinitions"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"builtAt": "2024-01-01T00:00:00Z"}, container["dockerLabels"], "a user's label is no timestamp")
	assert.Equal(t, "2024-01-01T00:00:00Z", container["logConfiguration"].(map[string]any)["options"].(map[string]any)["rotatedAt"])
	assert.IsType(t, float64(0), def["registeredAt"], "ECS's own timestamp is epoch seconds")
	code, run := call(t, h, "RunTask", `{"taskDefinition": "web"}`)
	require.Equal(t, http.StatusOK, code, run)
	arn := run["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	reason := `tricky "createdAt":"2020-01-01T00:00:00Z" text`
	body, err := json.Marshal(map[string]string{"task": arn, "reason": reason})
	require.NoError(t, err)
	code, out := call(t, h, "StopTask", string(body))
	require.Equal(t, http.StatusOK, code, out)
	task := out["task"].(map[string]any)
	assert.Equal(t, reason, task["stoppedReason"])
	for _, k := range []string{"createdAt", "stoppedAt", "stoppingAt"} {
		assert.IsType(t, float64(0), task[k], k)
	}
}

func TestOnlyPostSlash(t *testing.T) {
	h := newHandler(t, ecsapi.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestOperations(t *testing.T) {
	ops := ecsapi.Operations()
	for _, want := range []string{"CreateCluster", "RunTask", "StartTask", "StopTask", "CreateService", "UpdateService", "DescribeTaskDefinition"} {
		assert.Contains(t, ops, want)
	}
}

// FuzzHandler: whatever the operation and body, the handler answers with
// JSON, never a 500 from the input and never a panic.
func FuzzHandler(f *testing.F) {
	for _, seed := range [][2]string{
		{"CreateCluster", `{"clusterName": "app"}`},
		{"RegisterTaskDefinition", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}]}`},
		{"RunTask", `{"taskDefinition": "web", "count": 3, "placementStrategy": [{"type": "binpack", "field": "memory"}]}`},
		{"RegisterContainerInstance", `{"totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]}`},
		{"CreateService", `{"serviceName": "s", "taskDefinition": "web", "desiredCount": 2}`},
		{"ListTasks", `{"nextToken": "!!"}`},
		{"DescribeTasks", `{"tasks": [null, 3]}`},
		{"Nope", `[]`},
	} {
		f.Add(seed[0], []byte(seed[1]))
	}
	h := newHandler(f, ecsapi.Options{})
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+"."+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: the answer is not JSON: %s", op, body, rec.Body)
		}
	})
}
