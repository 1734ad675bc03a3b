package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

var clusterClock = cluster.NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))

// openCluster opens a process's copy of cluster name; seed makes its ids.
func openCluster(t testing.TB, cli *clientv3.Client, name string, seed uint64) *Cluster {
	c, err := OpenCluster(context.Background(), cli, name, ClusterOptions{Clock: clusterClock, Rand: rand.New(rand.NewPCG(seed, 1)), MaxTxnOps: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func spec(t require.TestingT, cpu, mem int64, ports ...uint16) *cluster.TaskSpec {
	d, err := cluster.NewDemand(cpu, mem, ports, nil, 0)
	require.NoError(t, err)
	return &cluster.TaskSpec{Demand: d, Group: "family:web", Family: "web"}
}

func runTasks(t require.TestingT, c *Cluster, s *cluster.TaskSpec, n int, seed uint64) scheduler.Result {
	res, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: s, Count: n, Rand: rand.New(rand.NewPCG(seed, 2))}, 0)
	require.NoError(t, err)
	return res
}

// copyState is what a copy holds, in a form to compare.
type copyState struct {
	Instances []string
	Tasks     []string
}

func stateOf(c *Cluster) copyState {
	var s copyState
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			i := in.Info()
			s.Instances = append(s.Instances, fmt.Sprintf("%s %s cpu=%d mem=%d ports=%v gpus=%v running=%d pending=%d",
				i.ID, i.Status, i.RemainingCPU, i.RemainingMemory, i.RemainingPorts.Slice(), i.RemainingGPUs, i.RunningTasksCount, i.PendingTasksCount))
		}
		for t := range v.Tasks() {
			i := v.TaskInfo(t)
			s.Tasks = append(s.Tasks, fmt.Sprintf("%s on %s %s/%s v%d created=%s stopped=%s %q",
				i.ID, i.InstanceID, i.LastStatus, i.DesiredStatus, i.Version, i.CreatedAt.Format(time.RFC3339Nano), i.StoppedAt.Format(time.RFC3339Nano), i.StoppedReason))
		}
	})
	slices.Sort(s.Instances)
	slices.Sort(s.Tasks)
	return s
}

// agreeClusters syncs every copy and requires them to hold the same state,
// accounted exactly.
func agreeClusters(t require.TestingT, cs ...*Cluster) {
	for _, c := range cs {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		err := c.Sync(ctx)
		cancel()
		require.NoError(t, err)
		accounted(t, c)
	}
	want := stateOf(cs[0])
	for _, c := range cs[1:] {
		require.Equal(t, want, stateOf(c), "two copies differ")
	}
}

// accounted requires that each instance's remaining resources are its
// registered ones minus the demands of its tasks that are not STOPPED,
// none below zero, and that no host port is held twice.
func accounted(t require.TestingT, c *Cluster) {
	c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			cpu, mem := in.RegisteredCPU(), in.RegisteredMemory()
			ports := map[uint16]bool{}
			for p := range in.Info().RegisteredPorts.All() {
				ports[p] = true
			}
			for task := range v.InstanceTasks(in) {
				d := task.Demand()
				cpu -= d.CPU()
				mem -= d.Memory()
				for p := range d.Ports().All() {
					require.False(t, ports[p], "port %d held twice on %s", p, in.ID())
					ports[p] = true
				}
			}
			require.Equal(t, cpu, in.RemainingCPU(), "instance %s CPU", in.ID())
			require.Equal(t, mem, in.RemainingMemory(), "instance %s memory", in.ID())
			require.GreaterOrEqual(t, in.RemainingCPU(), int64(0))
			require.GreaterOrEqual(t, in.RemainingMemory(), int64(0))
			require.Equal(t, len(ports), in.ReservedPorts().Len(), "instance %s ports", in.ID())
		}
	})
}

func TestClusterSharesState(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	ctx := context.Background()
	var ids []string
	for range 3 {
		in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 2048,
			Attributes: []cluster.Attribute{{Name: cluster.AttributeAvailabilityZone, Value: "us-east-1a"}}})
		require.NoError(t, err)
		ids = append(ids, in.ID)
	}
	require.NoError(t, b.Sync(ctx))
	res := runTasks(t, b, spec(t, 256, 256, 8080), 3, 1)
	require.Equal(t, 3, len(res.Tasks))
	require.NoError(t, a.Sync(ctx))
	a.Read(func(v *cluster.View) {
		for _, ti := range res.Tasks {
			task, ok := v.Task(ti.ARN)
			require.True(t, ok, "a has b's task %s", ti.ID)
			assert.Equal(t, "us-east-1a", v.TaskInfo(task).AvailabilityZone)
		}
	})
	started, err := a.TaskStarted(ctx, res.Tasks[0].ID)
	require.NoError(t, err)
	assert.Equal(t, cluster.TaskRunning, started.LastStatus)
	stopped, err := b.StopTask(ctx, res.Tasks[1].ARN, "scaled in", cluster.StopUserInitiated)
	require.NoError(t, err)
	assert.Equal(t, cluster.TaskStopped, stopped.LastStatus)
	again, err := a.StopTask(ctx, res.Tasks[1].ID, "again", cluster.StopUserInitiated)
	require.NoError(t, err)
	assert.Equal(t, "scaled in", again.StoppedReason, "stopping a STOPPED task returns it unchanged")

	_, err = b.DeregisterInstance(ctx, res.Tasks[2].InstanceID, false)
	require.ErrorIs(t, err, cluster.ErrInstanceHasTasks)
	drained, err := b.SetInstanceStatus(ctx, ids[0], cluster.InstanceDraining)
	require.NoError(t, err)
	assert.Equal(t, cluster.InstanceDraining, drained.Status)
	gone, err := a.DeregisterInstance(ctx, ids[1], true)
	require.NoError(t, err)
	assert.Equal(t, cluster.InstanceInactive, gone.Status)
	_, err = a.SetInstanceStatus(ctx, ids[1], cluster.InstanceActive)
	require.ErrorIs(t, err, cluster.ErrInvalidTransition)

	c := openCluster(t, client(t, eps), "app", 3)
	agreeClusters(t, a, b, c)
	_, err = OpenCluster(ctx, client(t, eps), "a/b", ClusterOptions{})
	require.Error(t, err)
}

// TestClusterConflict commits from a second process between a proposal's
// decision and its transaction: the guard fails, the copy catches up, and
// the proposal is checked again as the in-memory cluster checks it.
func TestClusterConflict(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	ctx := context.Background()
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
	require.NoError(t, err)
	require.NoError(t, b.Sync(ctx))
	place := func(c *Cluster, cpu int64) (cluster.Applied, error) {
		return c.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, cpu, 128)}}})
	}
	meanwhile := func(f func()) {
		once := sync.Once{}
		b.beforeTxn = func() { once.Do(f) }
	}

	// a takes 768 CPU after b decided on 512: b's commit no longer fits.
	meanwhile(func() { _, err := place(a, 768); require.NoError(t, err) })
	_, err = place(b, 512)
	var conflict *cluster.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonCPU, conflict.Reason)
	assert.Equal(t, int64(1), b.Stats().Conflicts)

	// a takes 64 after b decided on 64: b's still fits and is written again.
	meanwhile(func() { _, err := place(a, 64); require.NoError(t, err) })
	out, err := place(b, 64)
	require.NoError(t, err)
	require.Len(t, out.Started, 1)
	assert.Equal(t, int64(2), b.Stats().Conflicts)

	// a drains the instance after b decided: DRAINING takes no new task.
	meanwhile(func() {
		_, err := a.SetInstanceStatus(ctx, in.ID, cluster.InstanceDraining)
		require.NoError(t, err)
	})
	_, err = place(b, 1)
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, cluster.ReasonDraining, conflict.Reason)

	// a stops the task b is about to stop: b's stop conflicts.
	_, err = a.SetInstanceStatus(ctx, in.ID, cluster.InstanceActive)
	require.NoError(t, err)
	require.NoError(t, b.Sync(ctx))
	victim := out.Started[0].ID
	meanwhile(func() { _, err := a.StopTask(ctx, victim, "a", cluster.StopUserInitiated); require.NoError(t, err) })
	_, err = b.Apply(cluster.Proposal{Stops: []cluster.Stop{{TaskID: victim, Reason: "b"}}})
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, victim, conflict.TaskID)
	b.beforeTxn = nil

	agreeClusters(t, a, b)
	b.Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		assert.Equal(t, int64(1024-768-64), x.RemainingCPU(), "b's task was stopped by a")
		task, _ := v.Task(victim)
		assert.Equal(t, "a", v.TaskInfo(task).StoppedReason)
	})
}

// TestClusterStress: eight goroutines over three processes' copies place
// twice what the cluster holds, each through scheduler.Execute.
func TestClusterStress(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cs := []*Cluster{openCluster(t, client(t, eps), "app", 1), openCluster(t, client(t, eps), "app", 2), openCluster(t, client(t, eps), "app", 3)}
	ctx := context.Background()
	for range 10 {
		_, err := cs[0].RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
		require.NoError(t, err)
	}
	for _, c := range cs {
		require.NoError(t, c.Sync(ctx))
	}
	s := spec(t, 256, 256)
	var mu sync.Mutex
	var acked []cluster.TaskInfo
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c := cs[g%len(cs)]
			for i := range 10 {
				res, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: s, Count: 1, Rand: rand.New(rand.NewPCG(uint64(g), uint64(i)))}, 0)
				if !assert.NoError(t, err) {
					return
				}
				conflicts.Add(int64(res.Conflicts))
				mu.Lock()
				acked = append(acked, res.Tasks...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 40, len(acked), "exactly what the cluster holds is placed")
	agreeClusters(t, cs...)
	for _, c := range cs {
		c.Read(func(v *cluster.View) {
			for _, ti := range acked {
				_, ok := v.Task(ti.ID)
				require.True(t, ok, "acknowledged task %s is on record", ti.ID)
			}
		})
	}
	var guards int64
	for _, c := range cs {
		guards += c.Stats().Conflicts
	}
	t.Logf("80 placements tried, 40 placed; %d commits refused by a guard, %d proposals decided again", guards, conflicts.Load())
}

// TestClusterStateMachine runs random operations through two and three
// processes' copies and checks after each that the copies agree with one
// another and with a model: no overcommit, no port held twice, remaining =
// registered − demands, no acknowledged write lost.
func TestClusterStateMachine(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	var run atomic.Int64
	for _, replicas := range []int{2, 3} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				name := fmt.Sprintf("sm%d", run.Add(1))
				cs := make([]*Cluster, replicas)
				for i := range cs {
					c, err := OpenCluster(context.Background(), cli, name, ClusterOptions{Clock: clusterClock, Rand: rand.New(rand.NewPCG(uint64(i), uint64(run.Load())))})
					require.NoError(rt, err)
					defer c.Close()
					cs[i] = c
				}
				m := &clusterModel{cs: cs, tasks: map[string]*modelTask{}, instances: map[string]*modelInstance{}}
				rt.Repeat(map[string]func(*rapid.T){
					"register":   m.register,
					"run":        m.run,
					"start":      m.start,
					"stop":       m.stop,
					"drain":      m.drain,
					"deregister": m.deregister,
					"":           m.check,
				})
			})
		})
	}
}

type modelInstance struct {
	id       string
	cpu, mem int64
	status   cluster.InstanceStatus
}

type modelTask struct {
	id, instance string
	cpu, mem     int64
	status       cluster.TaskStatus
}

type clusterModel struct {
	cs        []*Cluster
	instances map[string]*modelInstance
	tasks     map[string]*modelTask
	order     []string // task ids, in the order acknowledged
	ins       []string
}

func (m *clusterModel) pick(t *rapid.T) *Cluster {
	return m.cs[rapid.IntRange(0, len(m.cs)-1).Draw(t, "replica")]
}

func (m *clusterModel) register(t *rapid.T) {
	cpu := rapid.SampledFrom([]int64{512, 1024, 2048}).Draw(t, "cpu")
	info, err := m.pick(t).RegisterInstance(context.Background(), cluster.InstanceSpec{CPU: cpu, Memory: 2 * cpu})
	require.NoError(t, err)
	m.instances[info.ID] = &modelInstance{id: info.ID, cpu: cpu, mem: 2 * cpu, status: cluster.InstanceActive}
	m.ins = append(m.ins, info.ID)
}

func (m *clusterModel) run(t *rapid.T) {
	cpu := rapid.SampledFrom([]int64{128, 256, 512}).Draw(t, "taskCPU")
	var ports []uint16
	if rapid.Bool().Draw(t, "hostPort") {
		ports = []uint16{8080}
	}
	n := rapid.IntRange(1, 4).Draw(t, "count")
	res := runTasks(t, m.pick(t), spec(t, cpu, cpu, ports...), n, rapid.Uint64().Draw(t, "seed"))
	require.Equal(t, n, len(res.Tasks)+len(res.Failures), "every task is placed or reported")
	for _, ti := range res.Tasks {
		in := m.instances[ti.InstanceID]
		require.NotNil(t, in, "placed on a registered instance")
		require.Equal(t, cluster.InstanceActive, in.status, "placed on an ACTIVE instance")
		m.tasks[ti.ID] = &modelTask{id: ti.ID, instance: ti.InstanceID, cpu: cpu, mem: cpu, status: cluster.TaskPending}
		m.order = append(m.order, ti.ID)
	}
}

func (m *clusterModel) live(t *rapid.T, status ...cluster.TaskStatus) *modelTask {
	var ids []string
	for _, id := range m.order {
		if slices.Contains(status, m.tasks[id].status) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Skip("no such task")
	}
	return m.tasks[rapid.SampledFrom(ids).Draw(t, "task")]
}

func (m *clusterModel) start(t *rapid.T) {
	task := m.live(t, cluster.TaskPending)
	info, err := m.pick(t).TaskStarted(context.Background(), task.id)
	require.NoError(t, err)
	require.Equal(t, cluster.TaskRunning, info.LastStatus)
	task.status = cluster.TaskRunning
}

func (m *clusterModel) stop(t *rapid.T) {
	task := m.live(t, cluster.TaskPending, cluster.TaskRunning)
	info, err := m.pick(t).StopTask(context.Background(), task.id, "test", cluster.StopUserInitiated)
	require.NoError(t, err)
	require.Equal(t, cluster.TaskStopped, info.LastStatus)
	task.status = cluster.TaskStopped
}

func (m *clusterModel) instance(t *rapid.T) *modelInstance {
	if len(m.ins) == 0 {
		t.Skip("no instance")
	}
	return m.instances[rapid.SampledFrom(m.ins).Draw(t, "instance")]
}

func (m *clusterModel) drain(t *rapid.T) {
	in := m.instance(t)
	to := rapid.SampledFrom([]cluster.InstanceStatus{cluster.InstanceActive, cluster.InstanceDraining}).Draw(t, "to")
	_, err := m.pick(t).SetInstanceStatus(context.Background(), in.id, to)
	if in.status == cluster.InstanceInactive {
		require.ErrorIs(t, err, cluster.ErrInvalidTransition)
		return
	}
	require.NoError(t, err)
	in.status = to
}

func (m *clusterModel) deregister(t *rapid.T) {
	in := m.instance(t)
	force := rapid.Bool().Draw(t, "force")
	busy := false
	for _, task := range m.tasks {
		busy = busy || (task.instance == in.id && task.status != cluster.TaskStopped)
	}
	_, err := m.pick(t).DeregisterInstance(context.Background(), in.id, force)
	if busy && !force && in.status != cluster.InstanceInactive {
		require.ErrorIs(t, err, cluster.ErrInstanceHasTasks)
		return
	}
	require.NoError(t, err)
	in.status = cluster.InstanceInactive
	for _, task := range m.tasks {
		if task.instance == in.id {
			task.status = cluster.TaskStopped
		}
	}
}

func (m *clusterModel) check(t *rapid.T) {
	agreeClusters(t, m.cs...)
	m.cs[0].Read(func(v *cluster.View) {
		for _, mi := range m.instances {
			in, ok := v.Instance(mi.id)
			require.True(t, ok, "instance %s is on record", mi.id)
			require.Equal(t, mi.status, in.Status())
			cpu, mem := mi.cpu, mi.mem
			for _, task := range m.tasks {
				if task.instance == mi.id && task.status != cluster.TaskStopped {
					cpu -= task.cpu
					mem -= task.mem
				}
			}
			require.Equal(t, cpu, in.RemainingCPU(), "remaining = registered − demands on %s", mi.id)
			require.Equal(t, mem, in.RemainingMemory())
		}
		for _, mt := range m.tasks {
			task, ok := v.Task(mt.id)
			require.True(t, ok, "acknowledged task %s is on record", mt.id)
			require.Equal(t, mt.status, task.LastStatus())
		}
	})
}

// TestClusterFaults runs commits from three processes while an etcd member
// is stopped and restarted, while etcd's leader moves, and while one
// process closes its copy mid-call: afterwards the survivors agree, the
// accounting is exact and every acknowledged task is on record.
func TestClusterFaults(t *testing.T) {
	ec, eps := startEtcd(t, 3)
	cs := []*Cluster{
		openCluster(t, client(t, eps), "app", 1),
		openCluster(t, client(t, []string{eps[1], eps[2], eps[0]}), "app", 2),
		openCluster(t, client(t, []string{eps[2], eps[0], eps[1]}), "app", 3),
	}
	ctx := context.Background()
	for range 8 {
		_, err := cs[0].RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 4096})
		require.NoError(t, err)
	}
	s := spec(t, 256, 256)
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	runSome := func(c *Cluster, n int, seed uint64) {
		defer wg.Done()
		for i := range n {
			res, err := scheduler.Execute(c, &scheduler.RandomSpread{Spec: s, Count: 1, Rand: rand.New(rand.NewPCG(seed, uint64(i)))}, 0)
			if err != nil {
				continue // closed, or etcd unreachable: the commit's fate is unknown
			}
			mu.Lock()
			for _, ti := range res.Tasks {
				acked[ti.ID] = true
			}
			mu.Unlock()
		}
	}
	wg.Add(3)
	go runSome(cs[0], 4, 1)
	go runSome(cs[1], 4, 2)
	go runSome(cs[2], 4, 3)
	ec.Members[2].Stop()
	wg.Wait()
	require.NoError(t, ec.Members[2].Start())
	wg.Add(2)
	go runSome(cs[0], 3, 4)
	go runSome(cs[2], 3, 5)
	moveLeader(t, ec)
	wg.Wait()
	wg.Add(1)
	go runSome(cs[1], 6, 6)
	require.NoError(t, cs[1].Close())
	wg.Wait()
	survivors := []*Cluster{cs[0], cs[2]}
	agreeClusters(t, survivors...)
	require.NotEmpty(t, acked, "some commits got through the faults")
	t.Logf("%d tasks acknowledged; guards refused %d, %d, %d commits", len(acked), cs[0].Stats().Conflicts, cs[1].Stats().Conflicts, cs[2].Stats().Conflicts)
	cs[2].Read(func(v *cluster.View) {
		for id := range acked {
			_, ok := v.Task(id)
			assert.True(t, ok, "acknowledged task %s is on record", id)
		}
		_, running, pending := v.Counts()
		assert.LessOrEqual(t, running+pending, 16, "at most what fits")
	})
	_, err := cs[1].Apply(cluster.Proposal{})
	require.ErrorIs(t, err, ErrClosed)
}

// TestClusterCompactedWatchReloads stops a copy's watch; meanwhile another
// process fills an instance, stops a task and starts another in its room,
// and deregisters an instance with its tasks; etcd is compacted past all
// of it. When the watch starts again the copy loads the records again,
// takes every change and misses nothing.
func TestClusterCompactedWatchReloads(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	a := openCluster(t, cli, "app", 1)
	ctx := context.Background()
	full, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 4096})
	require.NoError(t, err)
	other, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 4096})
	require.NoError(t, err)
	place := func(id string, n int) []cluster.TaskInfo {
		ps := make([]cluster.Placement, n)
		for i := range ps {
			ps[i] = cluster.Placement{InstanceID: id, Spec: spec(t, 256, 256)}
		}
		out, err := a.Apply(cluster.Proposal{Placements: ps})
		require.NoError(t, err)
		return out.Started
	}
	onFull := place(full.ID, 2)
	place(other.ID, 1)
	b := openCluster(t, client(t, eps), "app", 2)
	b.cancel()
	<-b.done
	from := b.Revision() + 1
	for _, task := range onFull { // stop each, and start another in its room
		_, err := a.Apply(cluster.Proposal{Stops: []cluster.Stop{{TaskID: task.ID, Reason: "replaced"}},
			Placements: []cluster.Placement{{InstanceID: full.ID, Spec: spec(t, 256, 256)}}})
		require.NoError(t, err)
	}
	_, err = a.DeregisterInstance(ctx, other.ID, true)
	require.NoError(t, err)
	resp, err := cli.Get(ctx, "x")
	require.NoError(t, err)
	_, err = cli.Compact(ctx, resp.Header.Revision)
	require.NoError(t, err)
	wctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go b.follow(wctx, from)
	require.NoError(t, b.Sync(ctx))
	assert.Equal(t, 1, b.Stats().Reloads, "the compacted watch made it reload")
	agreeClusters(t, a, b)
}

// TestClusterLostAnswer: a commit that etcd kept but whose answer was lost
// fails for its caller; the copy takes the task when the watch brings it.
func TestClusterLostAnswer(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	ctx := context.Background()
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 4096})
	require.NoError(t, err)
	lost := errors.New("answer lost")
	a.afterTxn = func() error { a.afterTxn = nil; return lost }
	p := cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 256, 256)}}}
	_, err = a.Apply(p)
	require.ErrorIs(t, err, lost)
	agreeClusters(t, a, b)
	_, err = a.Apply(p)
	require.NoError(t, err, "the copy still follows")
	agreeClusters(t, a, b)
	a.Read(func(v *cluster.View) {
		_, running, pending := v.Counts()
		assert.Equal(t, 2, running+pending, "the task whose answer was lost is on record")
	})
}

// TestClusterDiverged: a record written without a Cluster's guards that
// the copy cannot take stops the copy, with ErrDiverged, not a conflict.
func TestClusterDiverged(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	c := openCluster(t, cli, "app", 1)
	ctx := context.Background()
	in, err := c.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 256, Memory: 256})
	require.NoError(t, err)
	big := recordOf(cluster.TaskInfo{ARN: "arn:aws:ecs:us-east-1:123456789012:task/app/" + fmt.Sprintf("%032x", 7),
		InstanceARN: in.ARN, LastStatus: cluster.TaskPending, DesiredStatus: cluster.TaskRunning, Version: 1}, spec(t, 1024, 128))
	body, err := json.Marshal(big)
	require.NoError(t, err)
	_, err = cli.Put(ctx, c.taskKey(fmt.Sprintf("%032x", 7)), string(body))
	require.NoError(t, err)
	err = c.Sync(ctx)
	require.ErrorIs(t, err, ErrDiverged)
	require.NotErrorIs(t, err, cluster.ErrConflict)
	_, err = c.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 1, 1)}}})
	require.ErrorIs(t, err, ErrDiverged)
	_, err = c.StopTask(ctx, in.ID, "x", cluster.StopUserInitiated)
	require.Error(t, err)

	d := openCluster(t, cli, "other", 1)
	in2, err := d.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 256, Memory: 256})
	require.NoError(t, err)
	_, err = cli.Delete(ctx, d.instanceKey(in2.ID))
	require.NoError(t, err)
	require.ErrorIs(t, d.Sync(ctx), ErrDiverged, "an instance's key is never deleted")
}

// TestClusterTooLarge: a commit larger than one etcd transaction allows is
// refused before it is sent, and changes nothing.
func TestClusterTooLarge(t *testing.T) {
	_, eps := startEtcd(t, 1)
	c, err := OpenCluster(context.Background(), client(t, eps), "app", ClusterOptions{Clock: clusterClock, MaxTxnOps: 4})
	require.NoError(t, err)
	defer c.Close()
	in, err := c.RegisterInstance(context.Background(), cluster.InstanceSpec{CPU: 4096, Memory: 4096})
	require.NoError(t, err)
	ps := make([]cluster.Placement, 4)
	for i := range ps {
		ps[i] = cluster.Placement{InstanceID: in.ID, Spec: spec(t, 1, 1)}
	}
	_, err = c.Apply(cluster.Proposal{Placements: ps})
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = c.Apply(cluster.Proposal{Placements: ps[:3]})
	require.NoError(t, err, "3 tasks and their instance fit in 4")
	c.Read(func(v *cluster.View) {
		_, running, pending := v.Counts()
		assert.Equal(t, 3, running+pending)
	})
}

// TestClusterPruneStopped: the keys of tasks stopped longer ago than the
// retention are deleted; every copy and a copy opened later agree.
func TestClusterPruneStopped(t *testing.T) {
	_, eps := startEtcd(t, 1)
	clock := cluster.NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	open := func(seed uint64) *Cluster {
		c, err := OpenCluster(context.Background(), client(t, eps), "app", ClusterOptions{Clock: clock, Rand: rand.New(rand.NewPCG(seed, 1))})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a, b := open(1), open(2)
	ctx := context.Background()
	_, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	require.NoError(t, err)
	res := runTasks(t, a, spec(t, 128, 128), 3, 1)
	require.NoError(t, b.Sync(ctx))
	_, err = b.StopTask(ctx, res.Tasks[0].ID, "old", cluster.StopUserInitiated)
	require.NoError(t, err)
	n, err := a.PruneStopped(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "within its retention a STOPPED task's key stays")
	clock.Advance(cluster.DefaultStoppedTaskRetention + time.Minute)
	_, err = b.StopTask(ctx, res.Tasks[1].ID, "recent", cluster.StopUserInitiated)
	require.NoError(t, err)
	require.NoError(t, a.Sync(ctx))
	n, err = a.PruneStopped(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the task stopped past its retention")
	resp, err := a.etcd.Get(ctx, a.key+"/tasks/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.Count)
	agreeClusters(t, a, b, open(3))
}

// hookKV runs hook (once) after the first Get of key: the moment a reload
// has read the records.
type hookKV struct {
	clientv3.KV
	key    string
	mu     sync.Mutex
	hook   func()
	before chan struct{} // if not nil, closed as the first Get of key begins
}

func (h *hookKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	h.mu.Lock()
	if key == h.key && h.before != nil {
		close(h.before)
		h.before = nil
	}
	h.mu.Unlock()
	resp, err := h.KV.Get(ctx, key, opts...)
	h.mu.Lock()
	f := h.hook
	if key == h.key {
		h.hook = nil
	}
	h.mu.Unlock()
	if key == h.key && f != nil {
		f()
	}
	return resp, err
}

// TestClusterReloadBesideCommit: a commit this process makes while its
// copy reloads after a compacted watch is newer than the records the
// reload read; the reload must not take it back (its task stopped as
// missed, its room given out twice).
func TestClusterReloadBesideCommit(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	a := openCluster(t, cli, "app", 1)
	ctx := context.Background()
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 512})
	require.NoError(t, err)
	// a stops following; others write what it misses, and etcd compacts it.
	a.cancel()
	<-a.done
	from := a.Revision() + 1
	other := openCluster(t, client(t, eps), "app", 2)
	for range 3 {
		_, err = other.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 512})
		require.NoError(t, err)
	}
	resp, err := cli.Get(ctx, "any")
	require.NoError(t, err)
	_, err = cli.Compact(ctx, resp.Header.Revision)
	require.NoError(t, err)

	h := &hookKV{KV: cli.KV, key: a.key + "/"}
	cli.KV = h
	committed := make(chan error, 1)
	h.hook = func() {
		go func() {
			_, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 512, 512)}}})
			committed <- err
		}()
		// Give the commit its chance to land inside the reload (it must
		// wait for it instead): bounded, and the test's outcome does not
		// depend on how long it is.
		select {
		case err := <-committed:
			committed <- err
		case <-time.After(200 * time.Millisecond):
		}
	}
	wctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go a.follow(wctx, from)
	require.NoError(t, <-committed)
	require.NoError(t, a.Sync(ctx), "the copy survives its own commit beside a reload")
	assert.Equal(t, 1, a.Stats().Reloads)
	a.Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		assert.Equal(t, int64(0), x.RemainingCPU(), "the task committed during the reload holds its room")
	})
	_, err = a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 512, 512)}}})
	var conflict *cluster.ConflictError
	require.ErrorAs(t, err, &conflict, "no room is given out twice")
	fresh, err := OpenCluster(ctx, client(t, eps), "app", ClusterOptions{Clock: clusterClock})
	require.NoError(t, err, "etcd holds a state a new copy can load")
	require.NoError(t, fresh.Close())
}

// TestClusterSameSeed: two copies that draw ids from one seed cannot both
// register an instance under one id; the second is told why, at once.
func TestClusterSameSeed(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 512})
	require.NoError(t, err)
	_, err = b.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 512})
	require.ErrorContains(t, err, "is taken")
	require.NoError(t, ctx.Err(), "refused, not retried until the deadline")
}

// TestClusterReloadDoesNotHoldCommits: a reload waiting for etcd does not
// hold the copy's commits: they fail within their own timeout.
func TestClusterReloadDoesNotHoldCommits(t *testing.T) {
	ec, eps := startEtcd(t, 1)
	cli := client(t, eps)
	ctx := context.Background()
	a, err := OpenCluster(ctx, cli, "app", ClusterOptions{Clock: clusterClock, Rand: rand.New(rand.NewPCG(1, 1)), Timeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 512, Memory: 512})
	require.NoError(t, err)
	a.cancel()
	<-a.done
	reading := make(chan struct{})
	cli.KV = &hookKV{KV: cli.KV, key: a.key + "/", before: reading}
	ec.Members[0].Stop()
	lctx, stop := context.WithCancel(ctx)
	loaded := make(chan error, 1)
	go func() { _, err := a.load(lctx); loaded <- err }() // a reload, as after a compacted watch
	<-reading
	applied := make(chan error, 1)
	go func() {
		_, err := a.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 256, 256)}}})
		applied <- err
	}()
	select {
	case err := <-applied:
		require.Error(t, err, "etcd is down")
	case <-time.After(callTimeout):
		t.Fatal("a commit waits for the reload")
	}
	stop()
	require.Error(t, <-loaded)
}
