package cluster

import (
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-go/stevedore/internal/mix"
)

// DefaultStoppedTaskRetention is how long a STOPPED task stays visible to
// DescribeTasks and ListTasks. ECS keeps stopped tasks for at least an hour.
const DefaultStoppedTaskRetention = time.Hour

// Options configures a [Cluster]. The zero value is usable: the system
// clock, a random source seeded with 0, and ARNs in us-east-1 for account
// 123456789012.
type Options struct {
	// Clock stamps every change; nil means [SystemClock].
	Clock Clock
	// Rand generates instance ids and the seeds of task ids; nil means a
	// PCG source seeded with (0, 0). The cluster serialises its use.
	Rand *rand.Rand
	// ARNPrefix is "arn:aws:ecs:<region>:<account>:"; empty means
	// "arn:aws:ecs:us-east-1:123456789012:".
	ARNPrefix string
	// StoppedTaskRetention is how long STOPPED tasks stay visible; zero
	// means [DefaultStoppedTaskRetention].
	StoppedTaskRetention time.Duration
}

// ChangeKind says what happened to an instance.
type ChangeKind uint8

// The kinds of [Change].
const (
	// InstanceRegistered: a new instance joined the cluster.
	InstanceRegistered ChangeKind = iota + 1
	// InstanceUpdated: remaining resources, status, agent connection,
	// attributes or task counts changed.
	InstanceUpdated
)

// Change is one entry of the cluster's change feed.
type Change struct {
	Kind     ChangeKind
	Instance *Instance
}

// Observer follows the cluster's change feed: an index that must stay
// current with the instances (placement's) implements it. Observe runs
// synchronously under the cluster's write lock after each change, before the
// lock is released; it must be fast and must not call back into the
// Cluster. Readers holding a [View] never see a change the observers have
// not been told of.
type Observer interface {
	Observe(Change)
}

// ObserverFunc adapts a function to the [Observer] interface.
type ObserverFunc func(Change)

// Observe calls f.
func (f ObserverFunc) Observe(c Change) { f(c) }

// Cluster is the state of one ECS cluster: its container instances and
// their tasks, with exact resource accounting. It is safe for concurrent use:
// any number of readers ([Cluster.Read]) share a read lock, and each change
// takes the write lock, re-checks what it needs and applies all of itself or
// nothing. Schedulers decide inside Read and apply with [Cluster.Commit],
// which re-checks every placement against the current state, so several
// schedulers can decide at once without overcommitting an instance.
type Cluster struct {
	// Set by New and read-only afterwards.
	name, arn string
	arnPrefix string
	// taskPrefix is the ARN of a task of this cluster without its id.
	taskPrefix string
	clock      Clock
	retention  time.Duration
	view       View
	// The n-th task of the cluster gets the id made of
	// mix.Nth(taskSeed[i], n), see nextTaskARN.
	taskSeed [2]uint64

	// Rarely written: the instance slots and index (a registration adds to
	// them) and the observers; read by every commit. Guarded by mu.
	instances []*Instance // by slot
	byID      map[string]*Instance
	// foreign numbers the imported tasks by id (their ids, which ECS
	// made, do not encode their numbers); nil for a cluster that imported
	// none. Written by Import, PutTask and prune, under mu.
	foreign map[string]uint64
	// undone holds the ids of tasks an ApplyWith drew and then undid:
	// PutTask may still add them (mirror.go).
	undone    map[string]struct{}
	observers []Observer

	rndMu sync.Mutex // guards rnd; taken alone or inside mu
	rnd   *rand.Rand

	// The lock and what every commit writes, packed together after it so
	// that the lines a core takes with the lock hold them, and on cache
	// lines of their own, away from the fields above. Guarded by mu.
	_         cacheLinePad
	mu        rwLock
	taskCount uint64 // tasks numbered so far
	version   int64
	running   int // task counts
	pending   int
	// provisioning counts the PROVISIONING tasks; provisioningList holds
	// them in creation order, with tasks that left the state until it is
	// compacted.
	provisioning     int
	provisioningList []*Task
	stoppedHead      int // the first entry of stopped still retained
	stats            Stats
	// zones counts the ACTIVE instances per Availability Zone (countZone).
	zones map[string]int
	// The instances the current change touched, in order: the first two
	// here (a commit mostly touches one), the rest in notifyMore.
	notify     [2]*Instance
	notified   int
	notifyMore []*Instance
	registered int // ACTIVE and DRAINING instances
	tasks      taskTable
	stopped    []*Task // STOPPED tasks in stoppedAt order, for retention
	_          cacheLinePad
}

// New returns an empty cluster named name.
func New(name string, opts Options) *Cluster {
	c := &Cluster{
		name:      name,
		arnPrefix: opts.ARNPrefix,
		clock:     opts.Clock,
		rnd:       opts.Rand,
		retention: opts.StoppedTaskRetention,
		byID:      make(map[string]*Instance),
	}
	if c.arnPrefix == "" {
		c.arnPrefix = "arn:aws:ecs:us-east-1:123456789012:"
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.rnd == nil {
		c.rnd = rand.New(rand.NewPCG(0, 0))
	}
	c.taskSeed = [2]uint64{c.rnd.Uint64(), c.rnd.Uint64()}
	if c.retention <= 0 {
		c.retention = DefaultStoppedTaskRetention
	}
	c.arn = c.arnPrefix + "cluster/" + name
	c.taskPrefix = c.arnPrefix + "task/" + name + "/"
	c.view.c = c
	return c
}

// Name returns the cluster name.
func (c *Cluster) Name() string { return c.name }

// Stats counts what the cluster's commits did: how many proposals were
// applied, how many were rejected because the state had moved under them
// (each rejection makes a scheduler decide again, up to its bound), the
// tasks they started, the tasks stopped by any means, and how many
// proposals were second or later decisions of their round (Retries, from
// [Proposal].Attempt; applied or rejected, once their specs are valid). It
// shows the contention between schedulers.
type Stats struct {
	Commits      int64
	Conflicts    int64
	TasksStarted int64
	TasksStopped int64
	Retries      int64
}

// Stats returns the cluster's commit counters.
func (c *Cluster) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stats
}

// ARN returns the cluster ARN.
func (c *Cluster) ARN() string { return c.arn }

// Subscribe adds an observer to the change feed and replays the current
// instances to it as [InstanceRegistered] changes, so it starts complete.
func (c *Cluster) Subscribe(o Observer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observers = append(c.observers, o)
	for _, in := range c.instances {
		o.Observe(Change{Kind: InstanceRegistered, Instance: in})
	}
}

// Read calls fn with a consistent view of the cluster under the read lock.
// Pointers reached through the view are valid only until fn returns.
func (c *Cluster) Read(fn func(v *View)) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	fn(&c.view)
}

// View is a read-only view of a cluster, valid inside [Cluster.Read].
type View struct {
	c *Cluster
}

// Name returns the cluster name.
func (v *View) Name() string { return v.c.name }

// ARN returns the cluster ARN.
func (v *View) ARN() string { return v.c.arn }

// Version returns the cluster's version: it grows with every change.
func (v *View) Version() int64 { return v.c.version }

// NumSlots returns one more than the highest instance slot.
func (v *View) NumSlots() int { return len(v.c.instances) }

// InstanceAt returns the instance in slot i, or nil if i is out of range.
func (v *View) InstanceAt(i int) *Instance {
	if i < 0 || i >= len(v.c.instances) {
		return nil
	}
	return v.c.instances[i]
}

// Instance looks an instance up by id or ARN.
func (v *View) Instance(ref string) (*Instance, bool) {
	return v.c.instance(ref)
}

// Instances yields every instance, INACTIVE ones included, in registration
// order. Cost: O(n).
func (v *View) Instances() iter.Seq[*Instance] {
	return func(yield func(*Instance) bool) {
		for _, in := range v.c.instances {
			if !yield(in) {
				return
			}
		}
	}
}

// Task looks a task up by id or ARN. A STOPPED task past its retention is
// not found, whether or not it has been forgotten yet.
func (v *View) Task(ref string) (*Task, bool) {
	return v.c.task(ref)
}

// Tasks yields every task still retained, in creation order. Cost: O(t).
func (v *View) Tasks() iter.Seq[*Task] {
	return func(yield func(*Task) bool) {
		now := v.c.clock.Now()
		for t := range v.c.tasks.after(0) {
			if v.c.expired(t, now) {
				continue
			}
			if !yield(t) {
				return
			}
		}
	}
}

// expired reports whether t is STOPPED and past its retention.
func (c *Cluster) expired(t *Task, now time.Time) bool {
	return t.last == TaskStopped && now.Sub(t.stoppedAt) >= c.retention
}

// InstanceTasks yields the non-stopped tasks on in.
func (v *View) InstanceTasks(in *Instance) iter.Seq[*Task] {
	return func(yield func(*Task) bool) {
		for _, t := range in.tasks {
			if !yield(t) {
				return
			}
		}
	}
}

// Counts returns the number of ACTIVE and DRAINING instances and of RUNNING
// and PENDING tasks.
func (v *View) Counts() (instances, running, pending int) {
	return v.c.registered, v.c.running, v.c.pending
}

// TaskInfo returns a copy of t's state.
func (v *View) TaskInfo(t *Task) TaskInfo { return v.c.taskInfo(t) }

func (c *Cluster) instance(ref string) (*Instance, bool) {
	in, ok := c.byID[lastPart(ref)]
	if ok && strings.Contains(ref, "/") && ref != in.arn {
		return nil, false
	}
	return in, ok
}

// task looks a task up by id or ARN; a STOPPED task past its retention is
// gone even before it is pruned.
func (c *Cluster) task(ref string) (*Task, bool) {
	return c.findTask(c.parseTaskRef(ref), c.clock.Now())
}

// taskRef is a task reference parsed, outside any lock, for findTask.
type taskRef struct {
	ref, id string
	n       uint64 // the number the id encodes
	ok      bool   // the reference can name a task of this cluster
}

// parseTaskRef parses an id or ARN: a task id is 32 hex digits whose first
// 16 encode the task's number (see nextTaskARN).
func (c *Cluster) parseTaskRef(ref string) taskRef {
	id := lastPart(ref)
	if len(id) != 32 {
		return taskRef{ref: ref}
	}
	w, ok := parseHex64(id[:16])
	if !ok {
		return taskRef{ref: ref}
	}
	return taskRef{ref: ref, id: id, n: mix.Index(c.taskSeed[0], w), ok: true}
}

// parseHex64 parses 16 lowercase hex digits, as hexUint64 writes them.
func parseHex64(s string) (uint64, bool) {
	var v uint64
	for i := range len(s) {
		ch := s[i]
		switch {
		case '0' <= ch && ch <= '9':
			v = v<<4 | uint64(ch-'0')
		case 'a' <= ch && ch <= 'f':
			v = v<<4 | uint64(ch-'a'+10)
		default:
			return 0, false
		}
	}
	return v, len(s) == 16
}

// findTask returns the task r names, unless it is STOPPED and past its
// retention at now.
func (c *Cluster) findTask(r taskRef, now time.Time) (*Task, bool) {
	var t *Task
	if r.ok {
		t = c.tasks.get(r.n)
	}
	if (t == nil || t.id != r.id) && c.foreign != nil {
		t = c.foreignTask(r.ref)
	}
	if t == nil || (t.id != lastPart(r.ref)) || (len(t.id) != len(r.ref) && r.ref != t.arn) || c.expired(t, now) {
		return nil, false
	}
	return t, true
}

// foreignTask returns the imported task whose id ends ref, or nil.
func (c *Cluster) foreignTask(ref string) *Task {
	n, ok := c.foreign[lastPart(ref)]
	if !ok {
		return nil
	}
	return c.tasks.get(n)
}

func lastPart(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// newID draws a 32-hex-digit instance id. It takes only the random
// source's lock.
func (c *Cluster) newID() string {
	c.rndMu.Lock()
	a, b2 := c.rnd.Uint64(), c.rnd.Uint64()
	c.rndMu.Unlock()
	var b [32]byte
	hexUint64(b[:16], a)
	hexUint64(b[16:], b2)
	return string(b[:])
}

// taskARNBuilder returns a builder holding the ARN of a task of this
// cluster up to its id, with room for the id: nextTaskARN completes it
// under the write lock without allocating.
func (c *Cluster) taskARNBuilder(b *strings.Builder) {
	b.Grow(len(c.taskPrefix) + 32)
	b.WriteString(c.taskPrefix)
}

// nextTaskARN numbers a new task n = taskCount+1, its sequence number, and
// completes its ARN in b (see taskARNBuilder), whose last 32 bytes are the
// task id: the hex of mix.Nth(seed₀, n) and mix.Nth(seed₁, n), with the
// seeds drawn from the cluster's random source when it was made. Ids look
// random, replay with the seed and never repeat within a cluster — the
// first half alone is distinct for every n — and the first half gives n
// back (mix.Index), so a task is found by its id without hashing. Numbers
// are drawn under the write lock, so they follow the order commits are
// applied in: the order ListTasks pages through. Call it under the write
// lock.
func (c *Cluster) nextTaskARN(b *strings.Builder) (arn string, n uint64) {
	c.taskCount++
	n = c.taskCount
	var id [32]byte
	hexUint64(id[:16], mix.Nth(c.taskSeed[0], n))
	hexUint64(id[16:], mix.Nth(c.taskSeed[1], n))
	b.Write(id[:])
	return b.String(), n
}

// random draws from the random source.
func (c *Cluster) random() uint64 {
	c.rndMu.Lock()
	defer c.rndMu.Unlock()
	return c.rnd.Uint64()
}

// hexUint64 writes v as 16 lowercase hex digits into b.
func hexUint64(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
}

// touch marks in changed: its version grows, and observers hear of it when
// the current operation ends.
func (c *Cluster) touch(in *Instance) {
	in.version++
	if in.notifying {
		return
	}
	in.notifying = true
	if c.notified < len(c.notify) {
		c.notify[c.notified] = in
		c.notified++
	} else {
		c.notifyMore = append(c.notifyMore, in)
	}
}

// flush tells the observers of every instance touched by the operation,
// and forgets STOPPED tasks past their retention. Every change ends with it.
func (c *Cluster) flush(kind ChangeKind) {
	c.flushAt(kind, c.clock.Now())
}

// flushAt is flush for a change made at now.
func (c *Cluster) flushAt(kind ChangeKind, now time.Time) {
	c.prune(now)
	if c.notified > 0 {
		c.version++
	}
	for in := range c.touched() {
		in.notifying = false
		c.countZone(in)
		for _, o := range c.observers {
			o.Observe(Change{Kind: kind, Instance: in})
		}
	}
	c.clearTouched()
}

// countZone keeps c.zones, the ACTIVE instances per Availability Zone,
// current for a touched instance. Cost: O(1) unless the instance's status
// or attributes changed.
func (c *Cluster) countZone(in *Instance) {
	if in.zoneEpoch == in.attrEpoch && in.zoneStatus == in.status {
		return
	}
	if in.zoneStatus == InstanceActive && in.zone != "" {
		if c.zones[in.zone]--; c.zones[in.zone] <= 0 {
			delete(c.zones, in.zone)
		}
	}
	in.zoneEpoch, in.zoneStatus = in.attrEpoch, in.status
	in.zone, _ = in.Attribute(AttributeAvailabilityZone)
	if in.status == InstanceActive && in.zone != "" {
		if c.zones == nil {
			c.zones = map[string]int{}
		}
		c.zones[in.zone]++
	}
}

// AvailabilityZones returns the Availability Zones (attribute
// ecs.availability-zone) of the cluster's ACTIVE instances, sorted, with
// how many ACTIVE instances each has. Cost: O(zones).
func (v *View) AvailabilityZones() []ZoneCount {
	out := make([]ZoneCount, 0, len(v.c.zones))
	for z, n := range v.c.zones {
		out = append(out, ZoneCount{Zone: z, Instances: n})
	}
	slices.SortFunc(out, func(a, b ZoneCount) int { return strings.Compare(a.Zone, b.Zone) })
	return out
}

// ZoneCount is an Availability Zone and how many ACTIVE instances it has.
type ZoneCount struct {
	Zone      string
	Instances int
}

// forget drops the pending notifications of a change that was undone.
func (c *Cluster) forget() {
	for in := range c.touched() {
		in.notifying = false
	}
	c.clearTouched()
}

// touched yields the instances touched by the current change, in order.
func (c *Cluster) touched() iter.Seq[*Instance] {
	return func(yield func(*Instance) bool) {
		for _, in := range c.notify[:c.notified] {
			if !yield(in) {
				return
			}
		}
		for _, in := range c.notifyMore {
			if !yield(in) {
				return
			}
		}
	}
}

// clearTouched empties the touched list, keeping notifyMore's memory.
func (c *Cluster) clearTouched() {
	c.notify, c.notified = [2]*Instance{}, 0
	clear(c.notifyMore)
	c.notifyMore = c.notifyMore[:0]
}

// prune forgets STOPPED tasks older than the retention period. Cost:
// O(1) plus the tasks forgotten; the queue is compacted when half of it is
// gone.
func (c *Cluster) prune(now time.Time) {
	for c.stoppedHead < len(c.stopped) && c.expired(c.stopped[c.stoppedHead], now) {
		t := c.stopped[c.stoppedHead]
		c.tasks.remove(t.seq, c.taskCount)
		if c.foreign != nil {
			delete(c.foreign, t.id)
		}
		c.stopped[c.stoppedHead] = nil
		c.stoppedHead++
	}
	if c.stoppedHead > 0 && c.stoppedHead*2 >= len(c.stopped) {
		c.stopped = slices.Delete(c.stopped, 0, c.stoppedHead)
		c.stoppedHead = 0
	}
}

func (c *Cluster) taskInfo(t *Task) TaskInfo {
	info := c.placedInfo(t)
	info.LastStatus, info.DesiredStatus, info.Version = t.last, t.desired, t.version
	info.StartedAt, info.StoppingAt, info.StoppedAt = t.startedAt, t.stoppingAt, t.stoppedAt
	info.StoppedReason, info.StopCode = t.stoppedReason, t.stopCode
	info.ProtectedUntil = t.protectedUntil
	return info
}

// placedInfo is a task's info as the commit that placed it left it:
// PENDING, desired RUNNING, version 1. It reads only the fields that never
// change once a task is placed (ids, spec, instance, GPUs, createdAt), so
// the goroutine that placed the task may call it after the write lock is
// released, whatever other goroutines do to the task meanwhile.
func (c *Cluster) placedInfo(t *Task) TaskInfo {
	d := t.spec.Demand
	info := TaskInfo{
		ID: t.id, ARN: t.arn,
		TaskDefinitionARN: t.spec.TaskDefinitionARN, Family: t.spec.Family,
		ClusterARN: c.arn,
		Group:      t.spec.Group, StartedBy: t.spec.StartedBy,
		LastStatus: TaskPending, DesiredStatus: TaskRunning,
		CPU: d.cpu, Memory: d.memory,
		AvailabilityZone: t.az,
		Version:          1,
		CreatedAt:        t.createdAt,
		Overrides:        t.spec.Overrides,
		CapacityProvider: d.provider,
	}
	if t.inst != nil { // nil while PROVISIONING
		info.InstanceID, info.InstanceARN = t.inst.id, t.inst.arn
		info.GPUIDs = t.inst.gpuIDsOf(t.gpus)
	}
	return info
}

// InstanceARN returns the ARN an instance with the given id or ARN has (or
// would have) in this cluster.
func (v *View) InstanceARN(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return v.c.arnPrefix + "container-instance/" + v.c.name + "/" + ref
}

// TasksAfter yields the retained tasks created after the task with
// sequence number seq (0 for all), in creation order: the order the API
// pages through. Cost: O(1) to start, then O(1) per task yielded.
func (v *View) TasksAfter(seq uint64) iter.Seq[*Task] {
	return func(yield func(*Task) bool) {
		c := v.c
		now := c.clock.Now()
		for t := range c.tasks.after(seq) {
			if !c.expired(t, now) && !yield(t) {
				return
			}
		}
	}
}
