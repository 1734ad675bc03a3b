package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"pgregory.net/rapid"
)

// TestReplicaStateMachine runs random ECS calls through two and three
// replicas of one state (each call to a replica drawn at random) and
// checks after each that every replica describes the same instances and
// tasks, that remaining = registered − demands with nothing below zero,
// and that every acknowledged task is on record in the state the model
// expects.
func TestReplicaStateMachine(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	var run atomic.Int64
	for _, replicas := range []int{2, 3} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				prefix := fmt.Sprintf("/rsm%d/", run.Add(1))
				m := &replicaModel{cli: cli, tasks: map[string]string{}, status: map[string]string{}}
				for range replicas {
					r, err := Open(context.Background(), cli, Options{Prefix: prefix, Journal: jopts, Now: fakeNow(), SessionTTL: 1})
					require.NoError(rt, err)
					m.rs = append(m.rs, r)
				}
				setUp(t, m.rs[0], 0)
				ok(t, m.rs[0], "RegisterTaskDefinition", map[string]any{"family": "port", "containerDefinitions": []map[string]any{{"name": "p", "image": "nginx", "cpu": 128, "memory": 128, "portMappings": []map[string]any{{"containerPort": 80, "hostPort": 80}}}}})
				rt.Repeat(map[string]func(*rapid.T){
					"register":   m.register,
					"run":        m.run,
					"stop":       m.stop,
					"drain":      m.drain,
					"deregister": m.deregister,
					"":           m.check,
				})
				for _, r := range m.rs {
					require.NoError(rt, r.Close())
				}
			})
		})
	}
}

type replicaModel struct {
	cli       *clientv3.Client
	rs        []*Replica
	instances []string          // ARNs
	tasks     map[string]string // acknowledged task ARN → its expected lastStatus class: "LIVE" or "STOPPED"
	taskOn    map[string]string
	status    map[string]string // a registered instance's status
}

func (m *replicaModel) pick(t *rapid.T) *Replica {
	return m.rs[rapid.IntRange(0, len(m.rs)-1).Draw(t, "replica")]
}

func (m *replicaModel) call(t *rapid.T, op string, body map[string]any) map[string]any {
	return ok(t, m.pick(t), op, body)
}

func (m *replicaModel) register(t *rapid.T) {
	cpu := rapid.SampledFrom([]int{512, 1024, 2048}).Draw(t, "cpu")
	out := m.call(t, "RegisterContainerInstance", map[string]any{"cluster": "app", "totalResources": resources(cpu, 2*cpu)})
	arn := out["containerInstance"].(map[string]any)["containerInstanceArn"].(string)
	m.instances = append(m.instances, arn)
	m.status[arn] = "ACTIVE"
}

func (m *replicaModel) run(t *rapid.T) {
	def := rapid.SampledFrom([]string{"web", "port"}).Draw(t, "taskDefinition")
	n := rapid.IntRange(1, 3).Draw(t, "count")
	resp := do(t, m.pick(t), "RunTask", map[string]any{"cluster": "app", "taskDefinition": def, "count": n})
	if resp.Status != http.StatusOK {
		// ECS refuses a RunTask on a cluster with no ACTIVE instance.
		require.Equal(t, "InvalidParameterException", resp.ErrorType, string(resp.Body))
		for _, st := range m.status {
			require.NotEqual(t, "ACTIVE", st, "refused with an ACTIVE instance: %s", resp.Body)
		}
		return
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal(resp.Body, &out))
	tasks, _ := out["tasks"].([]any)
	failures, _ := out["failures"].([]any)
	require.Equal(t, n, len(tasks)+len(failures), "every task is placed or reported")
	if m.taskOn == nil {
		m.taskOn = map[string]string{}
	}
	for _, tk := range tasks {
		x := tk.(map[string]any)
		m.tasks[x["taskArn"].(string)] = "LIVE"
		m.taskOn[x["taskArn"].(string)] = x["containerInstanceArn"].(string)
	}
}

func (m *replicaModel) live(t *rapid.T) string {
	var arns []string
	for arn, st := range m.tasks {
		if st == "LIVE" {
			arns = append(arns, arn)
		}
	}
	if len(arns) == 0 {
		t.Skip("no live task")
	}
	slices.Sort(arns)
	return rapid.SampledFrom(arns).Draw(t, "task")
}

func (m *replicaModel) stop(t *rapid.T) {
	arn := m.live(t)
	out := m.call(t, "StopTask", map[string]any{"cluster": "app", "task": arn, "reason": "test"})
	require.Equal(t, "STOPPED", out["task"].(map[string]any)["lastStatus"])
	m.tasks[arn] = "STOPPED"
}

func (m *replicaModel) instance(t *rapid.T) string {
	if len(m.instances) == 0 {
		t.Skip("no instance")
	}
	return rapid.SampledFrom(m.instances).Draw(t, "instance")
}

func (m *replicaModel) drain(t *rapid.T) {
	arn := m.instance(t)
	status := rapid.SampledFrom([]string{"DRAINING", "ACTIVE"}).Draw(t, "status")
	out := do(t, m.pick(t), "UpdateContainerInstancesState", map[string]any{"cluster": "app", "containerInstances": []string{arn}, "status": status})
	require.Equal(t, http.StatusOK, out.Status, string(out.Body))
	m.status[arn] = status
}

func (m *replicaModel) deregister(t *rapid.T) {
	arn := m.instance(t)
	m.call(t, "DeregisterContainerInstance", map[string]any{"cluster": "app", "containerInstance": arn, "force": true})
	for task, on := range m.taskOn {
		if on == arn {
			m.tasks[task] = "STOPPED"
		}
	}
	m.instances = slices.DeleteFunc(m.instances, func(a string) bool { return a == arn })
	delete(m.status, arn)
}

func (m *replicaModel) check(t *rapid.T) {
	agree(t, m.rs...)
	checkAccounting(t, m.rs[0])
	if len(m.tasks) == 0 {
		return
	}
	arns := make([]string, 0, len(m.tasks))
	for arn := range m.tasks {
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	for i := 0; i < len(arns); i += 100 {
		chunk := arns[i:min(i+100, len(arns))]
		out := ok(t, m.rs[len(m.rs)-1], "DescribeTasks", map[string]any{"cluster": "app", "tasks": chunk})
		got, _ := out["tasks"].([]any)
		require.Len(t, got, len(chunk), "every acknowledged task is on record")
		for _, g := range got {
			x := g.(map[string]any)
			want := m.tasks[x["taskArn"].(string)]
			stopped := x["lastStatus"] == "STOPPED"
			require.Equal(t, want == "STOPPED", stopped, "task %s is %s", x["taskArn"], x["lastStatus"])
		}
	}
}
