package etcdstore

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// servicesDriver runs a Cluster's RunServices with ticks the test sends.
type servicesDriver struct {
	c      *Cluster
	ticks  chan time.Time
	cancel context.CancelFunc
	done   chan error
}

func runServices(c *Cluster, seed uint64) *servicesDriver {
	ctx, cancel := context.WithCancel(context.Background())
	d := &servicesDriver{c: c, ticks: make(chan time.Time), cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- c.RunServices(ctx, d.ticks, ServicesOptions{SessionTTL: 1, Seed: seed}) }()
	return d
}

// elected waits (bounded) until one of the drivers' clusters leads.
func elected(t *testing.T, ds ...*servicesDriver) *servicesDriver {
	deadline := time.After(30 * time.Second)
	for {
		for _, d := range ds {
			if d.c.Leading() {
				return d
			}
		}
		select {
		case <-ds[0].c.election.elected:
		case <-ds[len(ds)-1].c.election.elected:
		case <-time.After(50 * time.Millisecond): // poll again: either may win
		case <-deadline:
			t.Fatal("no process elected")
		}
	}
}

// tickAll sends one tick to the leader and waits until it has run it (the
// next send blocks until then), then has every task reported RUNNING.
func tickAll(t *testing.T, d *servicesDriver) {
	for range 2 { // the second is accepted once the first reconcile is done
		select {
		case d.ticks <- clusterClock.Now():
		case err := <-d.done:
			d.done <- err // for the cleanup
			t.Fatalf("RunServices returned: %v", err)
		}
	}
	require.NoError(t, d.c.Sync(context.Background()))
	var pending []string
	d.c.Read(func(v *cluster.View) {
		for task := range v.Tasks() {
			if task.LastStatus() == cluster.TaskPending {
				pending = append(pending, task.ID())
			}
		}
	})
	for _, id := range pending {
		_, err := d.c.TaskStarted(context.Background(), id)
		require.NoError(t, err)
	}
}

// serviceTasks counts the service's tasks that are not STOPPED, by task
// definition.
func serviceTasks(t *testing.T, c *Cluster, name string) map[string]int {
	require.NoError(t, c.Sync(context.Background()))
	out := map[string]int{}
	c.Read(func(v *cluster.View) {
		for task := range v.Tasks() {
			if task.Group() == "service:"+name && task.LastStatus() != cluster.TaskStopped {
				out[task.TaskDefinitionARN()]++
			}
		}
	})
	return out
}

func webDef(cpu int) taskdef.TaskDefinition {
	return taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "web", Image: "nginx", CPU: cpu, Memory: 256}}}
}

// TestClusterServices: the service scheduler runs in the elected process;
// a new leader takes the services up with their tasks, and goes on.
func TestClusterServices(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	ctx := context.Background()
	for range 4 {
		_, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 2048, Memory: 4096})
		require.NoError(t, err)
	}
	v1, err := a.RegisterTaskDefinition(ctx, webDef(256))
	require.NoError(t, err)
	assert.Equal(t, 1, v1.Revision)
	require.NoError(t, b.CreateService(ctx, ServiceSpec{ServiceName: "web", TaskDefinition: v1.TaskDefinitionArn, DesiredCount: 3}))
	require.ErrorIs(t, a.CreateService(ctx, ServiceSpec{ServiceName: "web", TaskDefinition: v1.TaskDefinitionArn}), scheduler.ErrServiceExists)
	require.ErrorIs(t, a.CreateService(ctx, ServiceSpec{ServiceName: "bad", TaskDefinition: v1.TaskDefinitionArn, DesiredCount: -1}), ErrInvalidService)
	require.ErrorIs(t, a.CreateService(ctx, ServiceSpec{ServiceName: "none", TaskDefinition: v1.TaskDefinitionArn + "9"}), ErrNoTaskDefinition)

	da, db := runServices(a, 1), runServices(b, 2)
	lead := elected(t, da, db)
	tickAll(t, lead)
	assert.Equal(t, map[string]int{v1.TaskDefinitionArn: 3}, serviceTasks(t, a, "web"))
	assert.Equal(t, map[string]int{v1.TaskDefinitionArn: 3}, serviceTasks(t, b, "web"))
	five := 5
	_, err = a.UpdateService(ctx, "web", &five, "")
	require.NoError(t, err)
	tickAll(t, lead)
	assert.Equal(t, map[string]int{v1.TaskDefinitionArn: 5}, serviceTasks(t, b, "web"))

	// The leader dies; the other process takes the service up, tasks and
	// all, and starts none it already has.
	lead.cancel()
	<-lead.done
	next := elected(t, da, db)
	require.NotSame(t, lead, next)
	tickAll(t, next)
	assert.Equal(t, map[string]int{v1.TaskDefinitionArn: 5}, serviceTasks(t, a, "web"))
	two := 2
	_, err = b.UpdateService(ctx, "web", &two, "")
	require.NoError(t, err)
	tickAll(t, next)
	assert.Equal(t, map[string]int{v1.TaskDefinitionArn: 2}, serviceTasks(t, a, "web"))

	// A rolling deployment to a new revision.
	v2, err := b.RegisterTaskDefinition(ctx, webDef(512))
	require.NoError(t, err)
	assert.Equal(t, 2, v2.Revision)
	_, err = a.UpdateService(ctx, "web", nil, v2.TaskDefinitionArn)
	require.NoError(t, err)
	for range 10 {
		tickAll(t, next)
		if got := serviceTasks(t, a, "web"); got[v1.TaskDefinitionArn] == 0 {
			break
		}
	}
	assert.Equal(t, map[string]int{v2.TaskDefinitionArn: 2}, serviceTasks(t, a, "web"))
	agreeClusters(t, a, b)
	next.cancel()
	<-next.done
}

// TestTermGuard: a term's commits are refused once it has ended.
func TestTermGuard(t *testing.T) {
	_, eps := startEtcd(t, 1)
	cli := client(t, eps)
	c := openCluster(t, cli, "app", 1)
	ctx := context.Background()
	in, err := c.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 1024})
	require.NoError(t, err)
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(5))
	require.NoError(t, err)
	defer s.Close()
	e := concurrency.NewElection(s, c.key+"/leader")
	require.NoError(t, e.Campaign(ctx, "test"))
	st := termState{c: c, lead: &term{key: e.Key(), rev: e.Rev(), done: s.Done()}}
	p := cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 128, 128)}}}
	_, err = st.Apply(p)
	require.NoError(t, err, "the leader commits")
	require.NoError(t, e.Resign(ctx))
	_, err = st.Apply(p)
	require.ErrorIs(t, err, errNotLeader, "a term that ended commits nothing")
	agreeClusters(t, c)
	c.Read(func(v *cluster.View) {
		x, _ := v.Instance(in.ID)
		assert.Equal(t, int64(1024-128), x.RemainingCPU())
	})

	// Nor does it delete a drained service's key.
	def, err := c.RegisterTaskDefinition(ctx, webDef(128))
	require.NoError(t, err)
	require.NoError(t, c.CreateService(ctx, ServiceSpec{ServiceName: "gone", TaskDefinition: def.TaskDefinitionArn}))
	spec, err := c.DeleteService(ctx, "gone", false)
	require.NoError(t, err)
	engine := placement.NewEngine(1)
	c.Subscribe(engine)
	ss := scheduler.NewServices(st, c.name, engine.Place, c.opts.ARNPrefix, c.opts.Clock, rand.New(rand.NewPCG(1, 2)))
	err = c.drain(ctx, st.lead, ss, map[string]ServiceSpec{}, spec, map[string]scheduler.TaskDef{})
	require.ErrorIs(t, err, errNotLeader)
	specs, err := c.ServiceSpecs(ctx)
	require.NoError(t, err)
	require.Len(t, specs, 1, "the key stays for the leader to delete")
}

// TestClusterServicesLarge: a round larger than one etcd transaction
// (200 tasks at a time, with etcd's default of 128 operations) is
// committed in parts, and the leader keeps its term; DeleteService drains
// the service and its key goes.
func TestClusterServicesLarge(t *testing.T) {
	_, eps := startEtcd(t, 1)
	c, err := OpenCluster(context.Background(), client(t, eps), "app", ClusterOptions{Clock: clusterClock})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	for range 4 {
		_, err := c.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 16384, Memory: 65536})
		require.NoError(t, err)
	}
	def, err := c.RegisterTaskDefinition(ctx, webDef(64))
	require.NoError(t, err)
	require.NoError(t, c.CreateService(ctx, ServiceSpec{ServiceName: "big", TaskDefinition: def.TaskDefinitionArn, DesiredCount: 200}))
	d := runServices(c, 3)
	defer func() { d.cancel(); <-d.done }()
	elected(t, d)
	tickAll(t, d)
	assert.Equal(t, map[string]int{def.TaskDefinitionArn: 200}, serviceTasks(t, c, "big"))
	zero := 0
	_, err = c.UpdateService(ctx, "big", &zero, "")
	require.NoError(t, err)
	tickAll(t, d)
	assert.Empty(t, serviceTasks(t, c, "big"))
	require.True(t, c.Leading(), "the leader kept its term through rounds in parts")

	one := 1
	_, err = c.UpdateService(ctx, "big", &one, "")
	require.NoError(t, err)
	tickAll(t, d)
	_, err = c.DeleteService(ctx, "big", false)
	require.ErrorIs(t, err, scheduler.ErrServiceScaled)
	spec, err := c.DeleteService(ctx, "big", true)
	require.NoError(t, err)
	assert.Equal(t, scheduler.ServiceDraining, spec.Status)
	_, err = c.UpdateService(ctx, "big", &one, "")
	require.ErrorIs(t, err, scheduler.ErrServiceNotActive)
	for range 5 {
		tickAll(t, d)
		if specs, err := c.ServiceSpecs(ctx); err == nil && len(specs) == 0 {
			break
		}
	}
	assert.Empty(t, serviceTasks(t, c, "big"), "a deleted service's tasks are stopped")
	specs, err := c.ServiceSpecs(ctx)
	require.NoError(t, err)
	assert.Empty(t, specs, "and its key goes")
}

// TestServicesOutliveEtcd: a service scheduler started while etcd is down
// waits for it (its lease is asked for again, not given up), then leads
// and schedules.
func TestServicesOutliveEtcd(t *testing.T) {
	ec, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	ctx := context.Background()
	for range 2 {
		_, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1024, Memory: 2048})
		require.NoError(t, err)
	}
	def, err := a.RegisterTaskDefinition(ctx, webDef(256))
	require.NoError(t, err)
	require.NoError(t, a.CreateService(ctx, ServiceSpec{ServiceName: "web", TaskDefinition: def.TaskDefinitionArn, DesiredCount: 3}))

	asked := make(chan struct{}, 64)
	a.election.beforeSession = func() {
		select {
		case asked <- struct{}{}:
		default:
		}
	}
	ec.Members[0].Stop()
	d := runServices(a, 1)
	t.Cleanup(func() { d.cancel(); <-d.done })
	for range 2 { // the second ask means the first was not granted
		select {
		case <-asked:
		case err := <-d.done:
			t.Fatalf("RunServices returned while etcd was down: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the lease was not asked for again")
		}
	}
	require.False(t, a.Leading())
	require.NoError(t, ec.Members[0].Start())
	elected(t, d)
	tickAll(t, d)
	assert.Equal(t, map[string]int{def.TaskDefinitionArn: 3}, serviceTasks(t, a, "web"))
}

// TestClusterServicesPartialConflict: a round committed in parts whose
// later part conflicts is taken up again from the records, so the tasks
// its first parts started count as the service's: the service ends at
// its desired count, not above it.
func TestClusterServicesPartialConflict(t *testing.T) {
	_, eps := startEtcd(t, 1)
	ctx := context.Background()
	// 7 operations: a part is 3 tasks (a task, its instance, the term).
	a, err := OpenCluster(ctx, client(t, eps), "app", ClusterOptions{Clock: clusterClock, Rand: rand.New(rand.NewPCG(1, 1)), MaxTxnOps: 7})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b := openCluster(t, client(t, eps), "app", 2)
	in, err := a.RegisterInstance(ctx, cluster.InstanceSpec{CPU: 1000, Memory: 65536})
	require.NoError(t, err)
	def, err := a.RegisterTaskDefinition(ctx, webDef(100))
	require.NoError(t, err)
	require.NoError(t, a.CreateService(ctx, ServiceSpec{ServiceName: "web", TaskDefinition: def.TaskDefinitionArn, DesiredCount: 6}))
	require.NoError(t, b.Sync(ctx)) // b knows the instance
	var big cluster.TaskInfo
	var once sync.Once
	a.beforeTxn = func() {
		// Once part 1 (3 tasks) is written, and before part 2 is, another
		// process fills the instance. (c.mu is held here: a's records can
		// be read, not its copy. No require: this is not the test's
		// goroutine.)
		if len(a.tasks) != 3 {
			return
		}
		once.Do(func() {
			out, err := b.Apply(cluster.Proposal{Placements: []cluster.Placement{{InstanceID: in.ID, Spec: spec(t, 700, 256)}}})
			if assert.NoError(t, err) {
				big = out.Started[0]
			}
		})
	}
	d := runServices(a, 3)
	t.Cleanup(func() { d.cancel(); <-d.done })
	elected(t, d)
	tickAll(t, d)
	a.beforeTxn = nil
	require.NotEmpty(t, big.ID, "part 2 met the other process's task")
	assert.Equal(t, 3, serviceTasks(t, a, "web")[def.TaskDefinitionArn], "part 1 was written")
	_, err = b.StopTask(ctx, big.ID, "make room", cluster.StopUserInitiated)
	require.NoError(t, err)
	for range 3 {
		tickAll(t, d)
	}
	assert.Equal(t, map[string]int{def.TaskDefinitionArn: 6}, serviceTasks(t, a, "web"))
	assert.True(t, a.Leading())
}

// TestElectionEndsWithItsStore: a scheduler whose store is closed (or can
// no longer follow etcd) stops campaigning and returns the store's error,
// leading or not, so that its owner hears of it.
func TestElectionEndsWithItsStore(t *testing.T) {
	_, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	da, db := runServices(a, 1), runServices(b, 2)
	lead := elected(t, da, db)
	follower := db
	if lead == db {
		follower = da
	}
	for _, d := range []*servicesDriver{follower, lead} {
		require.NoError(t, d.c.Close())
		select {
		case err := <-d.done:
			require.ErrorIs(t, err, ErrClosed)
		case <-time.After(callTimeout):
			t.Fatal("RunServices goes on with its store closed")
		}
	}

	r := open(t, client(t, eps), "replica")
	ticks := make(chan time.Time)
	done := make(chan error, 1)
	go func() { done <- r.RunScheduler(context.Background(), ticks) }()
	require.NoError(t, r.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrClosed)
	case <-time.After(callTimeout):
		t.Fatal("RunScheduler goes on with its replica closed")
	}
}

// TestElectionStopsWithEtcdDown: a process stopping its scheduler while
// etcd is down returns without waiting for etcd, leader or follower.
func TestElectionStopsWithEtcdDown(t *testing.T) {
	ec, eps := startEtcd(t, 1)
	a := openCluster(t, client(t, eps), "app", 1)
	b := openCluster(t, client(t, eps), "app", 2)
	da, db := runServices(a, 1), runServices(b, 2)
	elected(t, da, db)
	ec.Members[0].Stop()
	for _, d := range []*servicesDriver{da, db} {
		d.cancel()
		select {
		case err := <-d.done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(callTimeout):
			t.Fatal("stopping the scheduler waits for etcd")
		}
	}
}
