package etcdstore

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// ClusterOptions configure a [Cluster].
type ClusterOptions struct {
	// Prefix is the key prefix: the cluster's record is at
	// Prefix+"clusters/"+name, its instances under that key +
	// "/instances/", its tasks under that key + "/tasks/". Empty means
	// DefaultPrefix.
	Prefix string
	// ARNPrefix is "arn:aws:ecs:<region>:<account>:", as in
	// cluster.Options; empty means "arn:aws:ecs:us-east-1:123456789012:".
	ARNPrefix string
	// Clock stamps the changes this process makes (registration, creation
	// and stop times); nil means cluster.SystemClock. Changes made
	// elsewhere keep their writers' times.
	Clock cluster.Clock
	// Rand draws the ids of the instances and tasks this process makes.
	// Two processes must not share a seed; nil means a source seeded from
	// crypto/rand.
	Rand *rand.Rand
	// StoppedTaskRetention is how long STOPPED tasks stay visible in the
	// copy; zero means cluster.DefaultStoppedTaskRetention.
	StoppedTaskRetention time.Duration
	// Timeout bounds the etcd calls of [Cluster.Apply], which has no
	// context of its own; 0 means 10 seconds.
	Timeout time.Duration
	// MaxTxnOps is the etcd server's --max-txn-ops: a commit writes one
	// key per task it starts or stops and one per instance it touches, in
	// one transaction, so a proposal that needs more is refused with
	// ErrTooLarge before it is sent. 0 means 128, etcd's default; raise
	// both together for services that place more tasks at a time.
	MaxTxnOps int
}

// ErrTooLarge is returned for a commit that needs more operations in its
// etcd transaction than ClusterOptions.MaxTxnOps allows.
var ErrTooLarge = errors.New("etcdstore: the commit needs more operations than one etcd transaction allows")

// Cluster is one ECS cluster's state kept on etcd, one key per container
// instance and per task, and mirrored in this process by a
// [cluster.Cluster] that follows etcd's watch in revision order. It is a
// [scheduler.State]: schedulers in any number of processes read their own
// copy and commit with [Cluster.Apply], one etcd transaction guarded by
// the mod revisions of every instance and task the proposal touches. A
// proposal decided on a copy that has since moved is checked again on the
// current state, as the in-memory cluster checks it: it commits if it
// still fits, and is refused with the same [*cluster.ConflictError] if
// not, after which the scheduler decides again.
type Cluster struct {
	feed // its mu guards the caches below and orders commits with the watch
	opts ClusterOptions
	name string
	key  string // the cluster's record
	m    *cluster.Cluster

	rndMu sync.Mutex
	rnd   *rand.Rand

	revs      map[string]int64       // every key's mod revision as the copy has it
	instances map[string][]byte      // an instance's id → its record, as stored
	tasks     map[string]*taskRecord // a non-stopped task's id → its record
	stopped   map[string]time.Time   // a STOPPED task whose key remains → when it stopped

	commits, conflicts, txns atomic.Int64
	batch                    batcher // Apply's proposals waiting for a transaction

	election   *election // the service scheduler's (RunServices)
	engineOnce sync.Once
	engine     *placement.Engine

	// beforeTxn, if set, runs just before a commit's transaction (tests use
	// it to commit from another process at the worst moment); afterTxn,
	// if set, just after, and an error from it stands for an answer lost
	// on the way back.
	beforeTxn func()
	afterTxn  func() error
}

// clusterRecord is the value of a cluster's own key.
type clusterRecord struct {
	ClusterName string `json:"clusterName"`
	ClusterARN  string `json:"clusterArn"`
}

// instanceRecord is the value of a container instance's key.
type instanceRecord struct {
	ARN            string               `json:"containerInstanceArn"`
	EC2InstanceID  string               `json:"ec2InstanceId"`
	Status         string               `json:"status"`
	AgentConnected bool                 `json:"agentConnected"`
	RegisteredAt   time.Time            `json:"registeredAt"`
	Spec           cluster.InstanceSpec `json:"registration"`
}

// taskRecord is the value of a task's key: the task and its demand.
type taskRecord struct {
	ARN               string                `json:"taskArn"`
	InstanceARN       string                `json:"containerInstanceArn"`
	TaskDefinitionARN string                `json:"taskDefinitionArn,omitempty"`
	Family            string                `json:"family,omitempty"`
	Group             string                `json:"group,omitempty"`
	StartedBy         string                `json:"startedBy,omitempty"`
	CPU               int64                 `json:"cpu"`
	Memory            int64                 `json:"memory"`
	Ports             []uint16              `json:"ports,omitempty"`
	PortsUDP          []uint16              `json:"portsUdp,omitempty"`
	GPUs              int                   `json:"gpus,omitempty"`
	ENIs              int                   `json:"enis,omitempty"`
	Attributes        []string              `json:"requiredAttributes,omitempty"`
	CapacityProvider  string                `json:"capacityProviderName,omitempty"`
	GPUIDs            []string              `json:"gpuIds,omitempty"`
	LastStatus        string                `json:"lastStatus"`
	DesiredStatus     string                `json:"desiredStatus"`
	Version           int64                 `json:"version"`
	CreatedAt         time.Time             `json:"createdAt"`
	StartedAt         time.Time             `json:"startedAt,omitzero"`
	StoppingAt        time.Time             `json:"stoppingAt,omitzero"`
	StoppedAt         time.Time             `json:"stoppedAt,omitzero"`
	StoppedReason     string                `json:"stoppedReason,omitempty"`
	StopCode          cluster.StopCode      `json:"stopCode,omitempty"`
	Overrides         *taskdef.TaskOverride `json:"overrides,omitempty"`
}

// ErrDiverged wraps the error of a record the copy could not take: a
// change written to etcd by something that did not guard it as a
// [Cluster] does (or a log entry a [Replica] cannot read). The copy stops
// following, and its calls return the error; open it again.
var ErrDiverged = errors.New("etcdstore: the copy cannot follow the records on etcd")

// errStale is a commit whose guards failed: a key it read has moved.
var errStale = errors.New("etcdstore: a record the commit read has changed")

// OpenCluster joins the cluster name on etcd, making its record if there
// is none: it loads every instance and task at one revision into a fresh
// copy and follows the changes from the next. It returns when the copy is
// at that revision. Close the Cluster to stop following; the etcd client
// stays the caller's.
func OpenCluster(ctx context.Context, cli *clientv3.Client, name string, opts ClusterOptions) (*Cluster, error) {
	if cli == nil {
		return nil, errors.New("etcdstore: OpenCluster needs an etcd client")
	}
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("etcdstore: cluster name %q: it must be non-empty, without '/'", name)
	}
	opts.Prefix = cmp.Or(opts.Prefix, DefaultPrefix)
	opts.ARNPrefix = cmp.Or(opts.ARNPrefix, "arn:aws:ecs:us-east-1:123456789012:")
	if opts.Clock == nil {
		opts.Clock = cluster.SystemClock{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxTxnOps <= 0 {
		opts.MaxTxnOps = 128
	}
	rnd := opts.Rand
	if rnd == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:])
		rnd = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	c := &Cluster{
		opts: opts, name: name, key: opts.Prefix + "clusters/" + name, rnd: rnd,
		revs: map[string]int64{}, instances: map[string][]byte{}, tasks: map[string]*taskRecord{}, stopped: map[string]time.Time{},
	}
	c.m = cluster.New(name, cluster.Options{
		Clock: opts.Clock, ARNPrefix: opts.ARNPrefix, StoppedTaskRetention: opts.StoppedTaskRetention,
		Rand: rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64())),
	})
	body, _ := json.Marshal(clusterRecord{ClusterName: name, ClusterARN: c.m.ARN()})
	if _, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(c.key), "=", 0)).
		Then(clientv3.OpPut(c.key, string(body))).Commit(); err != nil {
		return nil, fmt.Errorf("etcdstore: making cluster %s: %w", name, err)
	}
	c.feed = feed{etcd: cli, prefix: c.key + "/", syncKey: c.key, apply: c.applyEvent, reload: c.load}
	c.election = newElection(cli, c.key+"/leader", fmt.Sprintf("%016x", rnd.Uint64()), 5, &c.feed)
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) instanceKey(id string) string { return c.key + "/instances/" + id }
func (c *Cluster) taskKey(id string) string     { return c.key + "/tasks/" + id }

// load reads every record at one revision, paged by key, and makes the
// copy match it. On a copy that already holds state (a reload after a
// compacted watch) the changes it missed are taken in an order that
// never needs more room than the state had at any time: the instances new
// to the copy, the tasks that stopped (those recorded STOPPED, then those
// whose keys are gone: a STOPPED task's key is deleted past its
// retention), the other instances' changes, then the tasks that are new
// or changed.
//
// The records are read without the copy's lock, so that commits go on
// while etcd is slow to answer; a commit this process made meanwhile is
// newer than what was read, and is kept: the records read never take it
// back (applyEvent skips older records, and a task missing from them is
// stopped only if the copy had it no later than the read).
func (c *Cluster) load(ctx context.Context) (int64, error) {
	prefix := c.key + "/"
	kvs, rev, err := readPrefix(ctx, c.etcd, prefix)
	if err != nil {
		return 0, fmt.Errorf("etcdstore: loading cluster %s: %w", c.name, err)
	}
	kind := func(kv *mvccpb.KeyValue) string {
		k, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), prefix), "/")
		return k
	}
	stopped := func(kv *mvccpb.KeyValue) bool {
		var r struct {
			LastStatus string `json:"lastStatus"`
		}
		return json.Unmarshal(kv.Value, &r) == nil && r.LastStatus == cluster.TaskStopped.String()
	}
	present := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		present[string(kv.Key)] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	put := func(kv *mvccpb.KeyValue) error {
		return c.applyEvent(&clientv3.Event{Type: clientv3.EventTypePut, Kv: kv})
	}
	for _, kv := range kvs { // instances new to the copy, for the tasks on them
		if kind(kv) == "instances" && c.instances[lastID(string(kv.Key))] == nil {
			if err := put(kv); err != nil {
				return 0, err
			}
		}
	}
	for _, kv := range kvs {
		if kind(kv) == "tasks" && stopped(kv) {
			if err := put(kv); err != nil {
				return 0, err
			}
		}
	}
	if err := c.stopMissing(present, rev); err != nil {
		return 0, err
	}
	for _, kv := range kvs {
		if kind(kv) == "instances" {
			if err := put(kv); err != nil {
				return 0, err
			}
		}
	}
	for _, kv := range kvs {
		if kind(kv) != "instances" && !(kind(kv) == "tasks" && stopped(kv)) {
			if err := put(kv); err != nil {
				return 0, err
			}
		}
	}
	// The keys deleted while the copy was not following (STOPPED tasks
	// pruned) leave nothing behind.
	for key, at := range c.revs {
		if !present[key] && at <= rev {
			delete(c.revs, key)
			delete(c.stopped, lastID(key))
		}
	}
	return rev, nil
}

// stopMissing stops the copy's tasks that are not STOPPED and whose keys
// are not among present (read at rev), unless the copy took them after
// rev: they stopped, and their keys were deleted past their retention,
// while the copy was not following. [INF] Their stop
// time is the copy's clock's, their reason ReasonMissedStop. c.mu is held.
func (c *Cluster) stopMissing(present map[string]bool, rev int64) error {
	var missing []cluster.ImportTask
	now := c.opts.Clock.Now()
	c.m.Read(func(v *cluster.View) {
		for t := range v.Tasks() {
			key := c.taskKey(t.ID())
			if t.LastStatus() == cluster.TaskStopped || present[key] || c.revs[key] > rev {
				continue // stopped, still there, or committed here since the read
			}
			r := c.tasks[t.ID()]
			if r == nil {
				continue
			}
			it, err := r.describe()
			if err != nil {
				continue
			}
			it.LastStatus, it.DesiredStatus = cluster.TaskStopped, cluster.TaskStopped
			it.StoppingAt, it.StoppedAt, it.StoppedReason = now, now, ReasonMissedStop
			missing = append(missing, it)
		}
	})
	for _, it := range missing {
		if _, err := c.m.PutTask(it); err != nil {
			return fmt.Errorf("%w: %v", ErrDiverged, err)
		}
		delete(c.tasks, lastID(it.ARN))
	}
	return nil
}

// ReasonMissedStop is the stoppedReason a copy gives a task it last knew
// running whose key was deleted (a STOPPED task past its retention) while
// the copy was not following etcd.
const ReasonMissedStop = "Task stopped while this copy was not following the cluster's records"

// applyEvent makes the copy take one record's change. c.mu is held. Every
// error it returns wraps ErrDiverged once.
func (c *Cluster) applyEvent(ev *clientv3.Event) error {
	if err := c.take(ev); err != nil {
		return fmt.Errorf("%w: %s at revision %d: %v", ErrDiverged, ev.Kv.Key, ev.Kv.ModRevision, err)
	}
	return nil
}

func (c *Cluster) take(ev *clientv3.Event) error {
	key := string(ev.Kv.Key)
	rest := strings.TrimPrefix(key, c.key+"/")
	kind, id, _ := strings.Cut(rest, "/")
	if ev.Type == clientv3.EventTypeDelete {
		switch kind {
		case "instances":
			return errors.New("a container instance's key was deleted")
		case "tasks":
			if c.tasks[id] != nil {
				return errors.New("the key of a task that is not STOPPED was deleted")
			}
		}
		delete(c.revs, key) // a STOPPED task past its retention
		delete(c.stopped, id)
		return nil
	}
	if ev.Kv.ModRevision <= c.revs[key] {
		return nil // this process's own commit, applied when it was made
	}
	switch kind {
	case "instances":
		var r instanceRecord
		if err := json.Unmarshal(ev.Kv.Value, &r); err != nil {
			return err
		}
		ii, err := r.describe()
		if err != nil {
			return err
		}
		if _, err := c.m.PutInstance(ii); err != nil {
			return err
		}
		c.instances[id] = ev.Kv.Value
	case "tasks":
		r := new(taskRecord)
		if err := json.Unmarshal(ev.Kv.Value, r); err != nil {
			return err
		}
		it, err := r.describe()
		if err != nil {
			return err
		}
		if _, err := c.m.PutTask(it); err != nil {
			return err
		}
		if it.LastStatus == cluster.TaskStopped {
			delete(c.tasks, id)
			c.stopped[id] = it.StoppedAt
		} else {
			c.tasks[id] = r
		}
	default:
		return nil // not a record of this package (the services, the election)
	}
	c.revs[key] = ev.Kv.ModRevision
	return nil
}

func (r *instanceRecord) describe() (cluster.ImportInstance, error) {
	st, ok := cluster.ParseInstanceStatus(r.Status)
	if !ok {
		return cluster.ImportInstance{}, fmt.Errorf("status %q is not a container instance status", r.Status)
	}
	return cluster.ImportInstance{
		ARN: r.ARN, EC2InstanceID: r.EC2InstanceID, Status: st, AgentDisconnected: !r.AgentConnected,
		RegisteredAt: r.RegisteredAt, Spec: r.Spec,
	}, nil
}

func (r *taskRecord) describe() (cluster.ImportTask, error) {
	last, ok1 := cluster.ParseTaskStatus(r.LastStatus)
	desired, ok2 := cluster.ParseTaskStatus(r.DesiredStatus)
	if !ok1 || !ok2 {
		return cluster.ImportTask{}, fmt.Errorf("status %q/%q is not a task status", r.LastStatus, r.DesiredStatus)
	}
	d, err := cluster.NewDemand(r.CPU, r.Memory, r.Ports, r.PortsUDP, r.GPUs, r.Attributes...)
	if err != nil {
		return cluster.ImportTask{}, err
	}
	if r.ENIs > 0 {
		d = d.WithENIs(r.ENIs)
	}
	if r.CapacityProvider != "" {
		d = d.WithCapacityProvider(r.CapacityProvider)
	}
	return cluster.ImportTask{
		ARN: r.ARN, InstanceARN: r.InstanceARN, LastStatus: last, DesiredStatus: desired,
		Spec: &cluster.TaskSpec{TaskDefinitionARN: r.TaskDefinitionARN, Family: r.Family, Demand: d,
			Group: r.Group, StartedBy: r.StartedBy, Overrides: r.Overrides},
		GPUIDs: r.GPUIDs, Version: r.Version, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt,
		StoppingAt: r.StoppingAt, StoppedAt: r.StoppedAt, StoppedReason: r.StoppedReason, StopCode: r.StopCode,
	}, nil
}

// recordOf is the record of a task the copy placed, with its spec's
// demand.
func recordOf(t cluster.TaskInfo, spec *cluster.TaskSpec) *taskRecord {
	d := spec.Demand
	r := &taskRecord{
		ARN: t.ARN, InstanceARN: t.InstanceARN, TaskDefinitionARN: t.TaskDefinitionARN, Family: t.Family,
		Group: t.Group, StartedBy: t.StartedBy,
		CPU: d.CPU(), Memory: d.Memory(), Ports: d.Ports().Slice(), PortsUDP: d.PortsUDP().Slice(),
		GPUs: d.GPUs(), ENIs: d.ENIs(), Attributes: d.RequiredAttributes(), CapacityProvider: d.CapacityProvider(),
		Overrides: spec.Overrides,
	}
	r.take(t)
	return r
}

// take copies what changes over a task's life from t.
func (r *taskRecord) take(t cluster.TaskInfo) {
	r.GPUIDs = t.GPUIDs
	r.LastStatus, r.DesiredStatus, r.Version = t.LastStatus.String(), t.DesiredStatus.String(), t.Version
	r.CreatedAt, r.StartedAt, r.StoppingAt, r.StoppedAt = t.CreatedAt, t.StartedAt, t.StoppingAt, t.StoppedAt
	r.StoppedReason, r.StopCode = t.StoppedReason, t.StopCode
}

// Read calls fn with a consistent view of this process's copy, valid
// during the call. The copy may lag etcd by what the watch has not yet
// delivered; call [Cluster.Sync] first to read every acknowledged write.
func (c *Cluster) Read(fn func(v *cluster.View)) { c.m.Read(fn) }

// Subscribe adds an observer of the copy's change feed: it hears of every
// change, made here or in any other process, in etcd's revision order
// (this process's own commits when they are made).
func (c *Cluster) Subscribe(o cluster.Observer) { c.m.Subscribe(o) }

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// ARN returns the cluster's ARN.
func (c *Cluster) ARN() string { return c.m.ARN() }

// Apply commits a proposal all or nothing. It is re-checked on the copy as
// [cluster.Cluster.Apply] re-checks it, then written in one etcd
// transaction guarded by the mod revisions of every instance and task it
// touches. When a guard fails (another process committed on one of them
// since the copy last heard), the copy catches up with etcd and the
// proposal is checked again: a proposal that no longer fits is refused
// with the [*cluster.ConflictError] the in-memory cluster gives, and one
// that still fits is written again. The etcd calls are bounded by
// ClusterOptions.Timeout; an error that is not a conflict means the
// commit's fate is unknown until the copy hears of it.
//
// A copy sends one transaction at a time. Proposals made in this process
// while one is on its way are written together in the next one (a group
// commit): checked in the order they came, as one proposal, so that a
// copy commits as many proposals per round trip as it has callers. When
// the group does not fit as a whole, each proposal is checked and
// committed on its own, so each caller gets the answer it would have had
// alone.
func (c *Cluster) Apply(p cluster.Proposal) (cluster.Applied, error) {
	return c.commitQueued(context.Background(), p)
}

// apply is Apply; a leader's commits are guarded by its term too, and
// refused with errNotLeader once it has ended.
func (c *Cluster) apply(ctx context.Context, p cluster.Proposal, lead *term) (cluster.Applied, error) {
	for {
		var out cluster.Applied
		err := func() error {
			c.mu.Lock()
			defer c.mu.Unlock() // even if an observer panics
			if c.err != nil {
				return c.err
			}
			return c.m.ApplyWith(p, &out, func(a *cluster.Applied) error {
				err := c.commit(ctx, a, p, lead)
				var unknown *fateUnknown
				if err != nil && !errors.As(err, &unknown) {
					return notCommitted{err}
				}
				return err
			})
		}()
		if !errors.Is(err, errStale) {
			if err != nil {
				return cluster.Applied{}, err
			}
			c.commits.Add(1)
			return out, nil
		}
		c.conflicts.Add(1)
		if err := c.sync(ctx); err != nil {
			return cluster.Applied{}, err
		}
	}
}

// commit writes what a proposal did, guarded. It runs under c.mu and the
// copy's write lock (see cluster.Cluster.ApplyWith).
func (c *Cluster) commit(ctx context.Context, a *cluster.Applied, p cluster.Proposal, lead *term) error {
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	var touched []string
	records := make([]*taskRecord, 0, len(a.Stopped)+len(a.Started))
	for _, t := range a.Stopped {
		key := c.taskKey(t.ID)
		old := c.tasks[t.ID]
		if old == nil {
			return fmt.Errorf("%w: task %s has no record", ErrDiverged, t.ID)
		}
		r := *old
		r.take(t)
		records = append(records, &r)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key]))
		touched = append(touched, t.InstanceID)
	}
	for i, t := range a.Started {
		key := c.taskKey(t.ID)
		if _, taken := c.revs[key]; taken {
			return fmt.Errorf("etcdstore: task id %s is taken: two processes draw ids from one seed", t.ID)
		}
		records = append(records, recordOf(t, p.Placements[i].Spec))
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		touched = append(touched, t.InstanceID)
	}
	for _, r := range records {
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(c.taskKey(lastID(r.ARN)), string(body)))
	}
	slices.Sort(touched)
	touched = slices.Compact(touched)
	for _, id := range touched {
		// A put of the same record still moves the key's mod revision:
		// that is what makes every other commit on the instance conflict.
		key := c.instanceKey(id)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key]))
		ops = append(ops, clientv3.OpPut(key, string(c.instances[id])))
	}
	if c.beforeTxn != nil {
		c.beforeTxn()
	}
	var orElse []clientv3.Op
	if lead != nil {
		cmps = append(cmps, lead.guard())
		orElse = append(orElse, clientv3.OpGet(lead.key))
	}
	if err := c.fits(cmps, ops); err != nil {
		return err
	}
	resp, err := c.etcd.Txn(ctx).If(cmps...).Then(ops...).Else(orElse...).Commit()
	if err == nil && c.afterTxn != nil {
		err = c.afterTxn()
	}
	if err != nil {
		return &fateUnknown{fmt.Errorf("etcdstore: committing to cluster %s: %w", c.name, err)}
	}
	if !resp.Succeeded {
		if lead != nil {
			kvs := resp.Responses[0].GetResponseRange().Kvs
			if len(kvs) == 0 || kvs[0].CreateRevision != lead.rev {
				return errNotLeader
			}
		}
		return errStale
	}
	c.txns.Add(1)
	rev := resp.Header.Revision
	for _, r := range records {
		id := lastID(r.ARN)
		c.revs[c.taskKey(id)] = rev
		if r.LastStatus == cluster.TaskStopped.String() {
			delete(c.tasks, id)
			c.stopped[id] = r.StoppedAt
		} else {
			c.tasks[id] = r
		}
	}
	for _, id := range touched {
		c.revs[c.instanceKey(id)] = rev
	}
	return nil
}

// PruneStopped deletes the keys of the STOPPED tasks that stopped longer
// ago than the stopped-task retention (ECS keeps a stopped task visible
// for about an hour), each in a transaction guarded by its mod revision,
// and returns how many it deleted. Every copy
// retains STOPPED tasks for as long in any case; without pruning the
// keys, etcd would keep every task ever started. The elected service
// scheduler (RunServices) prunes at each tick.
func (c *Cluster) PruneStopped(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	retention := cmp.Or(c.opts.StoppedTaskRetention, cluster.DefaultStoppedTaskRetention)
	before := c.opts.Clock.Now().Add(-retention)
	c.mu.RLock()
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for id, at := range c.stopped {
		if at.Before(before) {
			key := c.taskKey(id)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key]))
			ops = append(ops, clientv3.OpDelete(key))
		}
	}
	c.mu.RUnlock()
	deleted := 0
	for i := range ops {
		// Each key in its own transaction: one that moved is left for the
		// next time, the others go.
		resp, err := c.etcd.Txn(ctx).If(cmps[i]).Then(ops[i]).Commit()
		if err != nil {
			return deleted, fmt.Errorf("etcdstore: pruning: %w", err)
		}
		if resp.Succeeded {
			deleted++
		}
	}
	return deleted, nil
}

// fits checks a transaction's size against MaxTxnOps.
func (c *Cluster) fits(cmps []clientv3.Cmp, ops []clientv3.Op) error {
	if n := max(len(cmps), len(ops)); n > c.opts.MaxTxnOps {
		return fmt.Errorf("%w: %d operations; MaxTxnOps is %d", ErrTooLarge, n, c.opts.MaxTxnOps)
	}
	return nil
}

// fateUnknown is a commit's transaction that failed on its way: etcd may
// have applied it or not.
type fateUnknown struct{ err error }

func (e *fateUnknown) Error() string { return e.err.Error() }
func (e *fateUnknown) Unwrap() error { return e.err }

// notCommitted is a commit's error that is sure nothing was written.
type notCommitted struct{ err error }

func (e notCommitted) Error() string   { return e.err.Error() }
func (e notCommitted) Unwrap() []error { return []error{e.err, cluster.ErrNotCommitted} }

func lastID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// Sync waits until the copy has every write etcd had acknowledged when
// Sync was called.
func (c *Cluster) Sync(ctx context.Context) error { return c.sync(ctx) }

// Revision returns the etcd revision the copy is at.
func (c *Cluster) Revision() int64 { return c.revision() }

// ClusterStats counts what a [Cluster] did.
type ClusterStats struct {
	// Commits counts the proposals committed by this process.
	Commits int64
	// Transactions counts the etcd transactions that wrote them: fewer
	// than Commits when proposals made while a transaction was on its way
	// were written together (see [Cluster.Apply]).
	Transactions int64
	// Conflicts counts the commits whose guards failed because another
	// process had committed on an instance or task they touched; each
	// was checked again on the current state (and written again or
	// refused).
	Conflicts int64
	// Reloads counts the loads after a compacted watch.
	Reloads int
}

// Stats returns the counts.
func (c *Cluster) Stats() ClusterStats {
	return ClusterStats{Commits: c.commits.Load(), Transactions: c.txns.Load(), Conflicts: c.conflicts.Load(), Reloads: c.reloadCount()}
}

// Close stops following etcd. Calls waiting for the copy get ErrClosed.
func (c *Cluster) Close() error { return c.close() }

// write runs a guarded write made from the copy: build returns the
// transaction's guards and operations from the copy (with c.mu held) or
// an error that ends the call; on a guard failure the copy catches up and
// build runs again. It returns the revision written, once the copy is at
// it.
func (c *Cluster) write(ctx context.Context, build func() ([]clientv3.Cmp, []clientv3.Op, error)) error {
	for {
		c.mu.RLock()
		err := c.err
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		if err == nil {
			cmps, ops, err = build()
		}
		c.mu.RUnlock()
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			return nil
		}
		if err := c.fits(cmps, ops); err != nil {
			return err
		}
		resp, err := c.etcd.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("etcdstore: writing to cluster %s: %w", c.name, err)
		}
		if resp.Succeeded {
			return c.waitFor(ctx, resp.Header.Revision)
		}
		c.conflicts.Add(1)
		if err := c.sync(ctx); err != nil {
			return err
		}
	}
}

// info returns the copy's record of an instance.
func (c *Cluster) info(ref string) (cluster.InstanceInfo, error) {
	var info cluster.InstanceInfo
	found := false
	c.m.Read(func(v *cluster.View) {
		if in, ok := v.Instance(ref); ok {
			info, found = in.Info(), true
		}
	})
	if !found {
		return info, fmt.Errorf("%w: %s", cluster.ErrInstanceNotFound, ref)
	}
	return info, nil
}

// RegisterInstance registers a container instance, ACTIVE with its agent
// connected, as cluster.Cluster.RegisterInstance does: the spec is
// validated first, and an invalid one writes nothing.
func (c *Cluster) RegisterInstance(ctx context.Context, spec cluster.InstanceSpec) (cluster.InstanceInfo, error) {
	if err := spec.Validate(); err != nil {
		return cluster.InstanceInfo{}, err
	}
	c.rndMu.Lock()
	id := fmt.Sprintf("%016x%016x", c.rnd.Uint64(), c.rnd.Uint64())
	ec2 := cmp.Or(spec.EC2InstanceID, fmt.Sprintf("i-%017x", c.rnd.Uint64()>>4))
	c.rndMu.Unlock()
	r := instanceRecord{
		ARN: c.opts.ARNPrefix + "container-instance/" + c.name + "/" + id, EC2InstanceID: ec2,
		Status: cluster.InstanceActive.String(), AgentConnected: true,
		RegisteredAt: c.opts.Clock.Now(), Spec: spec,
	}
	r.Spec.EC2InstanceID = ""
	body, err := json.Marshal(r)
	if err != nil {
		return cluster.InstanceInfo{}, err
	}
	key := c.instanceKey(id)
	err = c.write(ctx, func() ([]clientv3.Cmp, []clientv3.Op, error) {
		if _, taken := c.revs[key]; taken {
			return nil, nil, fmt.Errorf("etcdstore: container instance id %s is taken: two processes draw ids from one seed (ClusterOptions.Rand)", id)
		}
		return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}, []clientv3.Op{clientv3.OpPut(key, string(body))}, nil
	})
	if err != nil {
		return cluster.InstanceInfo{}, err
	}
	return c.info(id)
}

// putInstance returns the guard and write of an instance record changed
// by change. c.mu is held.
func (c *Cluster) putInstance(id string, change func(r *instanceRecord)) (clientv3.Cmp, clientv3.Op, error) {
	key := c.instanceKey(id)
	var r instanceRecord
	if err := json.Unmarshal(c.instances[id], &r); err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, err
	}
	change(&r)
	body, err := json.Marshal(r)
	if err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, err
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key]), clientv3.OpPut(key, string(body)), nil
}

// SetInstanceStatus sets an ACTIVE or DRAINING instance to ACTIVE or
// DRAINING, as cluster.Cluster.SetInstanceStatus does; setting the status
// it has writes nothing. The write is guarded by the instance's mod
// revision, so a commit decided before a drain is checked again after it.
func (c *Cluster) SetInstanceStatus(ctx context.Context, ref string, status cluster.InstanceStatus) (cluster.InstanceInfo, error) {
	if status != cluster.InstanceActive && status != cluster.InstanceDraining {
		return cluster.InstanceInfo{}, fmt.Errorf("%w: status must be ACTIVE or DRAINING, not %s", cluster.ErrInvalidTransition, status)
	}
	var id string
	err := c.write(ctx, func() ([]clientv3.Cmp, []clientv3.Op, error) {
		info, err := c.info(ref)
		if err != nil {
			return nil, nil, err
		}
		id = info.ID
		switch {
		case info.Status == cluster.InstanceInactive:
			return nil, nil, fmt.Errorf("%w: container instance %s is INACTIVE", cluster.ErrInvalidTransition, id)
		case info.Status == status:
			return nil, nil, nil
		}
		g, op, err := c.putInstance(id, func(r *instanceRecord) { r.Status = status.String() })
		return []clientv3.Cmp{g}, []clientv3.Op{op}, err
	})
	if err != nil {
		return cluster.InstanceInfo{}, err
	}
	return c.info(id)
}

// DeregisterInstance makes an instance INACTIVE, as
// cluster.Cluster.DeregisterInstance does: with tasks that are not
// stopped it needs force, else cluster.ErrInstanceHasTasks; with force
// they are STOPPED in the same transaction with ECS's reason.
func (c *Cluster) DeregisterInstance(ctx context.Context, ref string, force bool) (cluster.InstanceInfo, error) {
	var id string
	err := c.write(ctx, func() ([]clientv3.Cmp, []clientv3.Op, error) {
		info, err := c.info(ref)
		if err != nil {
			return nil, nil, err
		}
		id = info.ID
		if info.Status == cluster.InstanceInactive {
			return nil, nil, nil
		}
		var ids []string
		c.m.Read(func(v *cluster.View) {
			in, _ := v.Instance(id)
			ids = v.InstanceTaskIDs(in)
		})
		if len(ids) > 0 && !force {
			return nil, nil, fmt.Errorf("%w: container instance %s has %d tasks; stop them or use force", cluster.ErrInstanceHasTasks, id, len(ids))
		}
		now := c.opts.Clock.Now()
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		for _, tid := range ids {
			old := c.tasks[tid]
			if old == nil {
				return nil, nil, fmt.Errorf("%w: task %s has no record", ErrDiverged, tid)
			}
			r := *old
			r.LastStatus, r.DesiredStatus = cluster.TaskStopped.String(), cluster.TaskStopped.String()
			r.StoppingAt, r.StoppedAt, r.Version = now, now, r.Version+1
			r.StoppedReason, r.StopCode = cluster.ReasonDeregistrationForced, cluster.StopUserInitiated
			body, err := json.Marshal(&r)
			if err != nil {
				return nil, nil, err
			}
			key := c.taskKey(tid)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key]))
			ops = append(ops, clientv3.OpPut(key, string(body)))
		}
		g, op, err := c.putInstance(id, func(r *instanceRecord) {
			r.Status, r.AgentConnected = cluster.InstanceInactive.String(), false
		})
		return append(cmps, g), append(ops, op), err
	})
	if err != nil {
		return cluster.InstanceInfo{}, err
	}
	return c.info(id)
}

// StopTask stops a task, as cluster.Cluster.StopTask does: a commit of
// one stop, guarded like any other. Stopping a STOPPED task returns it
// unchanged.
func (c *Cluster) StopTask(ctx context.Context, ref, reason string, code cluster.StopCode) (cluster.TaskInfo, error) {
	for {
		var info cluster.TaskInfo
		found := false
		c.m.Read(func(v *cluster.View) {
			if t, ok := v.Task(ref); ok {
				info, found = v.TaskInfo(t), true
			}
		})
		switch {
		case !found:
			return info, fmt.Errorf("%w: %s", cluster.ErrTaskNotFound, ref)
		case info.LastStatus == cluster.TaskStopped:
			return info, nil
		}
		a, err := c.commitQueued(ctx, cluster.Proposal{Stops: []cluster.Stop{{TaskID: info.ID, Reason: reason, Code: code}}})
		if errors.Is(err, cluster.ErrConflict) && ctx.Err() == nil {
			continue // stopped meanwhile, and the copy has heard: answer as above
		}
		if err != nil {
			return cluster.TaskInfo{}, err
		}
		return a.Stopped[0], nil
	}
}

// TaskStarted records the agent reporting a PENDING task RUNNING, as
// cluster.Cluster.TaskStarted does.
func (c *Cluster) TaskStarted(ctx context.Context, ref string) (cluster.TaskInfo, error) {
	var id string
	err := c.write(ctx, func() ([]clientv3.Cmp, []clientv3.Op, error) {
		var info cluster.TaskInfo
		found := false
		c.m.Read(func(v *cluster.View) {
			if t, ok := v.Task(ref); ok {
				info, found = v.TaskInfo(t), true
			}
		})
		if !found {
			return nil, nil, fmt.Errorf("%w: %s", cluster.ErrTaskNotFound, ref)
		}
		id = info.ID
		old := c.tasks[id]
		if info.LastStatus != cluster.TaskPending {
			return nil, nil, fmt.Errorf("%w: task %s is %s, not PENDING", cluster.ErrInvalidTransition, id, info.LastStatus)
		}
		if old == nil {
			return nil, nil, fmt.Errorf("%w: task %s has no record", ErrDiverged, id)
		}
		r := *old
		r.LastStatus, r.StartedAt, r.Version = cluster.TaskRunning.String(), c.opts.Clock.Now(), r.Version+1
		body, err := json.Marshal(&r)
		if err != nil {
			return nil, nil, err
		}
		key := c.taskKey(id)
		return []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", c.revs[key])}, []clientv3.Op{clientv3.OpPut(key, string(body))}, nil
	})
	if err != nil {
		return cluster.TaskInfo{}, err
	}
	var info cluster.TaskInfo
	found := false
	c.m.Read(func(v *cluster.View) {
		if t, ok := v.Task(id); ok {
			info, found = v.TaskInfo(t), true
		}
	})
	if !found { // stopped elsewhere meanwhile and past its retention
		return info, fmt.Errorf("%w: %s", cluster.ErrTaskNotFound, id)
	}
	return info, nil
}

var _ scheduler.State = (*Cluster)(nil)
