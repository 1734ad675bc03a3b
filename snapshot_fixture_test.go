package stevedore_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/taskdef"
)

var updateSnapshot = flag.Bool("update-snapshot", false, "rewrite testdata/snapshot from the generator")

// snapshotDir holds a realistic snapshot: 36 container instances of three
// types over three Availability Zones, three services (one of them a
// daemon, one in the middle of a deployment), standalone tasks running and
// stopped, in the AWS CLI v2's output shapes (ISO timestamps, every member
// ECS prints, the ones Stevedore does not model included).
const snapshotDir = "testdata/snapshot"

// instanceTypes are the fixture's types with what their agents register.
var instanceTypes = []struct {
	name        string
	cpu, memory int64
}{
	{"m5.xlarge", 4096, 15722},
	{"c5.2xlarge", 8192, 15233},
	{"r5.large", 2048, 15724},
}

// generateSnapshot builds the fixture's cluster on a Client and returns it.
func generateSnapshot(t *testing.T) *stevedore.Client {
	t.Helper()
	ctx := t.Context()
	clock := stevedore.NewManualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	c, err := stevedore.New(stevedore.Options{Region: "eu-west-1", AccountID: "111122223333", Clock: clock, Rand: rand.NewPCG(2026, 11)})
	require.NoError(t, err)
	_, err = c.CreateCluster(ctx, &stevedore.CreateClusterInput{ClusterName: "prod", Tags: []stevedore.Tag{{Key: "env", Value: "prod"}}})
	require.NoError(t, err)
	zones := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	for i := range 36 {
		it := instanceTypes[i%3]
		_, err := c.RegisterContainerInstance(ctx, &stevedore.RegisterContainerInstanceInput{Cluster: "prod",
			InstanceIdentityDocument: stevedore.IdentityDocument(fmt.Sprintf("i-0%016x", 0x5eed000+i*7919), it.name, zones[(i/3)%3]),
			TotalResources:           stevedore.TotalResources(it.cpu, it.memory),
			VersionInfo:              stevedore.VersionInfo{AgentVersion: "1.89.1", AgentHash: "6d4e3f9a", DockerVersion: "DockerVersion: 25.0.8"},
			Attributes:               []stevedore.Attribute{{Name: "ecs.ami-id", Value: "ami-0c1a7f89451184c8b"}}})
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	register := func(family string, cpu, memory int, ports ...taskdef.PortMapping) {
		_, err := c.RegisterTaskDefinition(ctx, &stevedore.RegisterTaskDefinitionInput{TaskDefinition: taskdef.TaskDefinition{
			Family: family, NetworkMode: taskdef.NetworkModeBridge,
			ContainerDefinitions: []taskdef.ContainerDefinition{{Name: family, Image: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/" + family + ":latest",
				CPU: cpu, Memory: memory, Essential: new(true), PortMappings: ports}},
		}})
		require.NoError(t, err)
	}
	register("web", 512, 1024, taskdef.PortMapping{ContainerPort: 80, HostPort: 80, Protocol: "tcp"})
	register("web", 512, 1536, taskdef.PortMapping{ContainerPort: 80, HostPort: 80, Protocol: "tcp"})
	register("api", 1024, 2048, taskdef.PortMapping{ContainerPort: 8080, Protocol: "tcp"}) // a dynamic host port
	register("log-router", 128, 256)
	register("batch", 2048, 4096)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "prod", ServiceName: "web", TaskDefinition: "web:1", DesiredCount: new(12)})
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "prod", ServiceName: "api", TaskDefinition: "api:1", DesiredCount: new(40),
		PlacementStrategy: []stevedore.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}, {Type: "binpack", Field: "memory"}}})
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &stevedore.CreateServiceInput{Cluster: "prod", ServiceName: "log-router", TaskDefinition: "log-router:1", SchedulingStrategy: "DAEMON"})
	require.NoError(t, err)
	d := &stevedore.Driver{Client: c, Clock: clock, Cluster: "prod", StartDelay: 20 * time.Second}
	_, err = d.RunUntilSteady(ctx, 15*time.Second, 40)
	require.NoError(t, err)
	for range 3 {
		_, err = c.RunTask(ctx, &stevedore.RunTaskInput{Cluster: "prod", TaskDefinition: "batch", Count: 4, StartedBy: "nightly-etl",
			PlacementStrategy: []stevedore.PlacementStrategy{{Type: "binpack", Field: "cpu"}}})
		require.NoError(t, err)
		_, err = d.Step(ctx, time.Minute)
		require.NoError(t, err)
	}
	list, err := c.ListTasks(ctx, &stevedore.ListTasksInput{Cluster: "prod", StartedBy: "nightly-etl"})
	require.NoError(t, err)
	for _, arn := range list.TaskArns[:5] {
		_, err := c.SubmitTaskStateChange(ctx, &stevedore.SubmitTaskStateChangeInput{Cluster: "prod", Task: arn, Status: "STOPPED", Reason: "Essential container in task exited"})
		require.NoError(t, err)
	}
	_, err = c.UpdateService(ctx, &stevedore.UpdateServiceInput{Cluster: "prod", Service: "web", TaskDefinition: "web:2"})
	require.NoError(t, err)
	_, err = d.Step(ctx, 15*time.Second) // the deployment under way
	require.NoError(t, err)
	return c
}

// cliShape rewrites a describe-* document into the AWS CLI v2's shape:
// ISO 8601 timestamps, and the members ECS prints that Stevedore's own
// describe does not (containers, attachments, health, ...).
func cliShape(t *testing.T, name string, doc map[string]any, defs map[string]map[string]any) {
	t.Helper()
	iso := func(m map[string]any, keys ...string) {
		for _, k := range keys {
			if v, ok := m[k].(float64); ok {
				sec := int64(v)
				m[k] = time.Unix(sec, int64((v-float64(sec))*1e6)*1000).UTC().Format("2006-01-02T15:04:05.000000-07:00")
			} else if m[k] == nil {
				delete(m, k)
			}
		}
	}
	each := func(key string, f func(m map[string]any)) {
		items, _ := doc[key].([]any)
		for _, it := range items {
			f(it.(map[string]any))
		}
	}
	switch {
	case strings.HasPrefix(name, "describe-container-instances"):
		each("containerInstances", func(m map[string]any) {
			iso(m, "registeredAt")
			m["capacityProviderName"] = nil
			delete(m, "capacityProviderName")
			m["agentUpdateStatus"] = "UPDATED"
			m["attachments"] = []any{}
			m["tags"] = []any{}
			m["healthStatus"] = map[string]any{"overallStatus": "OK", "details": []any{map[string]any{"type": "CONTAINER_RUNTIME", "status": "OK", "lastUpdated": "2026-11-30T10:58:00.000000+00:00", "lastStatusChange": "2026-11-30T09:01:00.000000+00:00"}}}
			delete(m, "statusReason")
			// The capabilities a real agent reports, which real task
			// definitions require.
			attrs, _ := m["attributes"].([]any)
			for _, name := range []string{"com.amazonaws.ecs.capability.ecr-auth", "com.amazonaws.ecs.capability.docker-remote-api.1.17",
				"com.amazonaws.ecs.capability.docker-remote-api.1.18", "com.amazonaws.ecs.capability.docker-remote-api.1.44", "ecs.capability.execution-role-ecr-pull"} {
				attrs = append(attrs, map[string]any{"name": name})
			}
			m["attributes"] = attrs
		})
	case strings.HasPrefix(name, "describe-tasks"):
		each("tasks", func(m map[string]any) {
			iso(m, "createdAt", "startedAt", "stoppingAt", "stoppedAt")
			def := defs[m["taskDefinitionArn"].(string)]
			ct := def["containerDefinitions"].([]any)[0].(map[string]any)
			c := map[string]any{
				"containerArn": strings.Replace(m["taskArn"].(string), ":task/", ":container/", 1) + "/" + fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(m["taskArn"].(string))),
				"taskArn":      m["taskArn"], "name": ct["name"], "image": ct["image"],
				"lastStatus": m["lastStatus"], "networkBindings": []any{}, "networkInterfaces": []any{},
				"healthStatus": "UNKNOWN", "cpu": fmt.Sprint(ct["cpu"]), "memory": fmt.Sprint(ct["memory"]),
			}
			if m["lastStatus"] == "RUNNING" {
				c["runtimeId"] = "3f1c0e4b2a9d" + strings.Repeat("0", 52)
				if pms, ok := ct["portMappings"].([]any); ok {
					for i, pm := range pms {
						p := pm.(map[string]any)
						host := p["hostPort"]
						if host == nil || host == float64(0) {
							host = 32768 + i + len(m["taskArn"].(string))%1000 // an ephemeral port the agent chose
						}
						c["networkBindings"] = append(c["networkBindings"].([]any), map[string]any{"bindIP": "0.0.0.0", "containerPort": p["containerPort"], "hostPort": host, "protocol": "tcp"})
					}
				}
			}
			if m["lastStatus"] == "STOPPED" {
				c["exitCode"] = 1
				c["reason"] = "Essential container in task exited"
			}
			m["containers"] = []any{c}
			m["attachments"] = []any{}
			m["attributes"] = []any{map[string]any{"name": "ecs.cpu-architecture", "value": "x86_64"}}
			m["connectivity"] = "CONNECTED"
			m["connectivityAt"] = m["createdAt"]
			m["enableExecuteCommand"] = false
			m["healthStatus"] = "UNKNOWN"
			m["overrides"] = map[string]any{"containerOverrides": []any{map[string]any{"name": ct["name"]}}, "inferenceAcceleratorOverrides": []any{}}
			m["tags"] = []any{}
			if m["startedAt"] != nil {
				m["pullStartedAt"] = m["createdAt"]
				m["pullStoppedAt"] = m["startedAt"]
			}
		})
	case strings.HasPrefix(name, "describe-services"):
		each("services", func(m map[string]any) {
			iso(m, "createdAt")
			m["serviceRegistries"] = []any{}
			m["deploymentController"] = map[string]any{"type": "ECS"}
			m["createdBy"] = "arn:aws:iam::111122223333:role/deployer"
			m["enableECSManagedTags"] = false
			m["propagateTags"] = "NONE"
			m["enableExecuteCommand"] = false
			m["availabilityZoneRebalancing"] = "DISABLED"
			m["roleArn"] = "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
			dc := m["deploymentConfiguration"].(map[string]any)
			dc["alarms"] = map[string]any{"alarmNames": []any{}, "enable": false, "rollback": false}
			each2 := func(key string, f func(map[string]any)) {
				for _, it := range m[key].([]any) {
					f(it.(map[string]any))
				}
			}
			each2("deployments", func(d map[string]any) { iso(d, "createdAt", "updatedAt") })
			each2("events", func(e map[string]any) { iso(e, "createdAt") })
		})
	case strings.HasPrefix(name, "describe-task-definition"):
		td := doc["taskDefinition"].(map[string]any)
		if s, ok := td["registeredAt"].(string); ok {
			at, err := time.Parse(time.RFC3339Nano, s)
			require.NoError(t, err)
			td["registeredAt"] = at.Format("2006-01-02T15:04:05.000000-07:00")
		}
		td["registeredBy"] = "arn:aws:iam::111122223333:role/deployer"
		ra, _ := td["requiresAttributes"].([]any)
		td["requiresAttributes"] = append(ra, map[string]any{"name": "com.amazonaws.ecs.capability.ecr-auth"}, map[string]any{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"})
		for _, ct := range td["containerDefinitions"].([]any) {
			c := ct.(map[string]any)
			c["environment"], c["mountPoints"], c["volumesFrom"], c["systemControls"] = []any{}, []any{}, []any{}, []any{}
			c["versionConsistency"] = "enabled"
		}
		td["volumes"], td["placementConstraints"] = []any{}, []any{}
	}
}

// TestSnapshotFixture: the realistic snapshot imports with nothing left
// out and no drift, and every member Stevedore models describes as the
// snapshot says.
func TestSnapshotFixture(t *testing.T) {
	if *updateSnapshot {
		writeSnapshotFixture(t)
	}
	snap, err := stevedore.ReadSnapshot(os.DirFS(snapshotDir))
	require.NoError(t, err)
	at := snap.Time()
	assert.Equal(t, time.Date(2026, 11, 30, 9, 40, 15, 0, time.UTC), at, "the newest time the snapshot tells")
	c, rep, err := stevedore.Import(t.Context(), snap, stevedore.Options{Clock: stevedore.NewManualClock(at)})
	require.NoError(t, err)
	assert.Empty(t, rep.Skipped)
	assert.Empty(t, rep.Drift)
	assert.Equal(t, 36, rep.ContainerInstances)
	assert.Equal(t, 3, rep.Services)
	assert.Equal(t, 5, rep.TaskDefinitions)
	assert.Equal(t, len(snap.Tasks), rep.Tasks)
	for _, member := range []string{"tasks[].connectivity", "tasks[].containers[].runtimeId", "containerInstances[].healthStatus", "services[].createdBy", "tasks: dynamic host ports", "taskDefinition.containerDefinitions[].versionConsistency"} {
		assert.Positive(t, rep.Unmodelled[member], member)
	}
	types, zones := map[string]int{}, map[string]int{}
	for _, in := range snap.ContainerInstances {
		for _, a := range in.Attributes {
			switch a.Name {
			case "ecs.instance-type":
				types[a.Value]++
			case "ecs.availability-zone":
				zones[a.Value]++
			}
		}
	}
	assert.Equal(t, map[string]int{"m5.xlarge": 12, "c5.2xlarge": 12, "r5.large": 12}, types)
	assert.Len(t, zones, 3)

	back, err := c.Snapshot(t.Context())
	require.NoError(t, err)
	modelled := func(s *stevedore.Snapshot) map[string]string {
		out := map[string]string{}
		js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		for _, in := range s.ContainerInstances {
			attrs := slices.Clone(in.Attributes)
			slices.SortFunc(attrs, func(a, b stevedore.Attribute) int { return strings.Compare(a.Name, b.Name) })
			in.Attributes, in.Tags = attrs, nil
			out[in.ContainerInstanceArn] = js(in)
		}
		for _, tk := range s.Tasks {
			tk.Containers, tk.Tags, tk.PullStartedAt, tk.PullStoppedAt, tk.ConnectivityAt = nil, nil, stevedore.Timestamp{}, stevedore.Timestamp{}, stevedore.Timestamp{}
			out[tk.TaskArn] = js(tk)
		}
		for _, sv := range s.Services {
			sv.RoleArn, sv.DeploymentController, sv.Tags = "", nil, nil
			out[sv.ServiceArn] = js(sv)
		}
		return out
	}
	want, got := modelled(snap), modelled(back)
	assert.Len(t, got, len(want))
	for k, v := range want {
		assert.Equal(t, v, got[k], "what Stevedore models of %s describes as the snapshot said", k)
	}

	web, err := c.DescribeServices(t.Context(), &stevedore.DescribeServicesInput{Cluster: "prod", Services: []string{"web"}})
	require.NoError(t, err)
	require.Len(t, web.Services, 1)
	assert.Len(t, web.Services[0].Deployments, 2, "the snapshot's deployment is in progress")
}

func writeSnapshotFixture(t *testing.T) {
	c := generateSnapshot(t)
	snap, err := c.Snapshot(t.Context())
	require.NoError(t, err)
	files, err := snap.Files()
	require.NoError(t, err)
	defs := map[string]map[string]any{}
	for name, b := range files {
		if strings.HasPrefix(name, "describe-task-definition") {
			var doc map[string]any
			require.NoError(t, json.Unmarshal(b, &doc))
			td := doc["taskDefinition"].(map[string]any)
			defs[td["taskDefinitionArn"].(string)] = td
		}
	}
	require.NoError(t, os.RemoveAll(snapshotDir))
	require.NoError(t, os.MkdirAll(snapshotDir, 0o755))
	for name, b := range files {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc))
		cliShape(t, name, doc, defs)
		out, err := json.MarshalIndent(doc, "", "    ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(snapshotDir, name), append(out, '\n'), 0o644))
	}
}
