package scheduler

import (
	"slices"
	"sync/atomic"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// A DAEMON service covers every instance, so a step that looked at every
// instance and every task would cost the cluster. When the cluster's change
// feed is available (the State can Subscribe an observer, as a
// *cluster.Cluster can), a DAEMON service keeps a daemonIndex instead of its
// task list: its live tasks by instance slot with their last seen status and
// deployment, the counts they add up to, which instances qualified, and the
// instances whose last decision left work to do (a start that did not fit or
// was held back, a stop or start not yet seen committed). A step then looks
// at the instances that changed since the last step, and at those with work
// left, and costs that; what it decides is what the full pass decides,
// because an instance's decision depends on that instance, its tasks of the
// service and the service's PRIMARY deployment, status and configuration
// alone (any change of the latter makes the step a full pass).

// changeFeed is the log of slots changed in the cluster, for the daemon
// indexes. Observe appends under the cluster's write lock; steps read it
// inside a Read.
type changeFeed struct {
	on   atomic.Bool // set once a daemon index exists
	log  []int32
	base uint64 // the position of log[0]
}

// maxFeedLog bounds the change feed's log; past it the log restarts and
// the indexes behind it make a full pass (one per that many changes). A
// variable so that the tests can make it small.
var maxFeedLog = 1 << 16

// Observe implements cluster.Observer.
func (f *changeFeed) Observe(ch cluster.Change) {
	if !f.on.Load() {
		return
	}
	if len(f.log) >= maxFeedLog {
		f.base += uint64(len(f.log))
		f.log = f.log[:0]
	}
	f.log = append(f.log, int32(ch.Instance.Slot()))
}

// end is the position after the last logged change. Call it inside a Read.
func (f *changeFeed) end() uint64 { return f.base + uint64(len(f.log)) }

// subscriber is a State with a change feed.
type subscriber interface {
	Subscribe(o cluster.Observer)
}

// daemonTask is a live task of a DAEMON service as its index last saw it.
type daemonTask struct {
	id, deployment string
	status         cluster.TaskStatus
}

// daemonBasis is what the index's per-instance decisions assumed of the
// service: when it changes, a step decides every instance again.
type daemonBasis struct {
	primary string
	status  ServiceStatus
	gen     uint64
}

type daemonIndex struct {
	pos       uint64 // the change-feed position applied
	basis     daemonBasis
	slots     [][]daemonTask
	active    []bool // per slot: the instance was ACTIVE when last seen
	qualifies []bool // per slot: the instance qualified at its last decision
	// unsettled holds the slots whose last decision left work to do.
	unsettled map[int32]struct{}
	// running and pending count the live tasks by deployment id.
	running, pending map[string]int
	live, draining   int // live tasks; those on instances not ACTIVE
	runningAll       int // live tasks RUNNING
	qualifying       int
	// visit is this step's slots to decide, in slot order; all means
	// every slot.
	visit []int32
	all   bool
}

// count adds (sign 1) or removes (sign -1) dt's contribution on a slot
// whose instance is active or not.
func (d *daemonIndex) count(dt daemonTask, active bool, sign int) {
	d.live += sign
	if !active {
		d.draining += sign
	}
	if dt.status == cluster.TaskRunning {
		d.running[dt.deployment] += sign
		d.runningAll += sign
	} else {
		d.pending[dt.deployment] += sign
	}
}

func (d *daemonIndex) grow(n int) {
	for len(d.slots) < n {
		d.slots = append(d.slots, nil)
		d.active = append(d.active, false)
		d.qualifies = append(d.qualifies, false)
	}
}

// newDaemonIndex builds the index of s from its task list, which refresh
// has just brought up to date: every task in it is live.
func newDaemonIndex(v *cluster.View, s *service, pos uint64) *daemonIndex {
	d := &daemonIndex{pos: pos, unsettled: map[int32]struct{}{}, running: map[string]int{}, pending: map[string]int{}, all: true}
	d.grow(v.NumSlots())
	for in := range v.Instances() {
		d.active[in.Slot()] = in.Status() == cluster.InstanceActive
	}
	for _, id := range s.tasks {
		t, ok := v.Task(id)
		if !ok {
			continue
		}
		slot := t.Instance().Slot()
		dt := daemonTask{id: id, deployment: t.StartedBy(), status: t.LastStatus()}
		d.slots[slot] = append(d.slots[slot], dt)
		d.count(dt, d.active[slot], 1)
	}
	return d
}

// liveTasks is the number of the service's tasks not known to be stopped.
func (s *service) liveTasks() int {
	if s.daemon != nil {
		return s.daemon.live
	}
	return len(s.tasks)
}

// refreshDaemon is refresh for a service with a daemon index: it re-reads
// the tasks on the instances that changed since the last step, and
// chooses the instances this step decides.
func (ss *Services) refreshDaemon(v *cluster.View, s *service) (newFailures int, failedBy map[string]int) {
	d := s.daemon
	d.grow(v.NumSlots())
	basis := daemonBasis{primary: s.Deployments[0].ID, status: s.Status, gen: ss.gen}
	d.all = d.all || basis != d.basis || d.pos < ss.feed.base
	d.basis = basis
	var dirty []int32
	if d.all {
		dirty = make([]int32, v.NumSlots())
		for i := range dirty {
			dirty[i] = int32(i)
		}
	} else {
		dirty = slices.Clone(ss.feed.log[d.pos-ss.feed.base:])
		slices.Sort(dirty)
		dirty = slices.Compact(dirty)
	}
	d.pos = ss.feed.end()
	for _, slot := range dirty {
		in := v.InstanceAt(int(slot))
		active := in != nil && in.Status() == cluster.InstanceActive
		kept := d.slots[slot][:0]
		for _, dt := range d.slots[slot] {
			d.count(dt, d.active[slot], -1)
			t, ok := v.Task(dt.id)
			if !ok {
				continue
			}
			if t.LastStatus() == cluster.TaskStopped {
				if v.TaskInfo(t).StopCode == cluster.StopTaskFailedToStart {
					newFailures++
					if failedBy == nil {
						failedBy = map[string]int{}
					}
					failedBy[dt.deployment]++
				}
				continue
			}
			dt.status = t.LastStatus()
			kept = append(kept, dt)
			d.count(dt, active, 1)
		}
		clear(d.slots[slot][len(kept):])
		d.slots[slot] = kept
		d.active[slot] = active
	}
	// This step decides the changed instances and those with work left.
	d.visit = d.visit[:0]
	if !d.all {
		d.visit = append(d.visit, dirty...)
		for slot := range d.unsettled {
			d.visit = append(d.visit, slot)
		}
		slices.Sort(d.visit)
		d.visit = slices.Compact(d.visit)
	}
	return newFailures, failedBy
}

// daemonSlot is what a step decided on one instance of a DAEMON service,
// applied to its index once the step is committed.
type daemonSlot struct {
	slot      int32
	qualifies bool
	settled   bool // nothing planned and nothing held back
}

// daemon keeps exactly one task of the PRIMARY deployment on every ACTIVE
// instance that satisfies the constraints, and none elsewhere: on every
// instance, or, with a daemon index, on the instances the step visits.
func (r *reconciler) daemon(v *cluster.View, plan *Plan, s *service, n *note) {
	p := &s.Deployments[0]
	spec := r.spec(s, p)
	var cs placement.Constraints
	if spec.Guard != nil {
		cs = spec.Guard.(placement.Constraints)
	}
	reason := r.stopReason(s)
	d := s.daemon
	if d == nil {
		byInstance := map[*cluster.Instance][]*cluster.Task{}
		for _, id := range s.tasks {
			if t, ok := v.Task(id); ok && t.LastStatus() != cluster.TaskStopped {
				byInstance[t.Instance()] = append(byInstance[t.Instance()], t)
			}
		}
		qualifying := 0
		for in := range v.Instances() {
			if r.daemonSlot(plan, s, p, spec, cs, reason, in, byInstance[in], n).qualifies {
				qualifying++
			}
		}
		s.Config.DesiredCount = qualifying
		p.DesiredCount = qualifying
		return
	}
	d.grow(v.NumSlots()) // instances may have registered since refresh read the cluster
	var tasks []*cluster.Task
	decide := func(slot int32) {
		in := v.InstanceAt(int(slot))
		if in == nil {
			return
		}
		tasks = tasks[:0]
		for _, dt := range d.slots[slot] {
			if t, ok := v.Task(dt.id); ok && t.LastStatus() != cluster.TaskStopped {
				tasks = append(tasks, t)
			}
		}
		ds := r.daemonSlot(plan, s, p, spec, cs, reason, in, tasks, n)
		ds.slot = slot
		n.daemonSlots = append(n.daemonSlots, ds)
	}
	if d.all {
		for slot := range v.NumSlots() {
			decide(int32(slot))
		}
	} else {
		for _, slot := range d.visit {
			decide(slot)
		}
	}
	s.Config.DesiredCount = d.qualifyingWith(n.daemonSlots)
	p.DesiredCount = s.Config.DesiredCount
}

// qualifyingWith counts the qualifying instances, as the full pass counts
// them, with the decisions ds of this step: all of them when the step
// decides every instance, else the index's count changed by those decided.
func (d *daemonIndex) qualifyingWith(ds []daemonSlot) int {
	n := d.qualifying
	if d.all {
		n = 0
	}
	for _, x := range ds {
		switch {
		case d.all:
			if x.qualifies {
				n++
			}
		case x.qualifies && !d.qualifies[x.slot]:
			n++
		case !x.qualifies && d.qualifies[x.slot]:
			n--
		}
	}
	return n
}

// daemonSlot decides one instance: stop the service's tasks there that
// should not run, start the PRIMARY deployment's task where one is missing.
func (r *reconciler) daemonSlot(plan *Plan, s *service, p *Deployment, spec *cluster.TaskSpec, cs placement.Constraints, reason string, in *cluster.Instance, tasks []*cluster.Task, n *note) daemonSlot {
	qualifies := s.Status == ServiceActive && in.Status() == cluster.InstanceActive && cs.Reason(in, "", nil) == cluster.ReasonNone
	keep := -1
	if qualifies {
		for i, t := range tasks {
			if t.StartedBy() == p.ID && (keep < 0 || t.LastStatus() == cluster.TaskRunning && tasks[keep].LastStatus() != cluster.TaskRunning) {
				keep = i
			}
		}
	}
	out := daemonSlot{qualifies: qualifies}
	switch {
	case !qualifies || keep >= 0:
		out.settled = true
		for i, t := range tasks {
			if i != keep {
				plan.Stop(t, reason, cluster.StopServiceSchedulerInitiated)
				n.stopSlots = append(n.stopSlots, int32(in.Slot()))
				out.settled = false
			}
		}
		return out
	case p.RolloutState == RolloutFailed || (s.throttled && r.now.Before(s.retryAt)):
		return out // the new revision cannot start now: keep what runs
	}
	// Replace the old daemon task here: stop it and start the new
	// revision in the room it leaves — but keep it if the new one would
	// not fit.
	for _, t := range tasks {
		plan.Stop(t, reason, cluster.StopServiceSchedulerInitiated)
	}
	if fr := in.Fits(spec.Demand, &plan.Pending); fr != cluster.ReasonNone {
		plan.Unstop(tasks...)
		n.failures = append(n.failures, Failure{ARN: in.ARN(), Reason: fr})
		return out
	}
	for range tasks {
		n.stopSlots = append(n.stopSlots, int32(in.Slot()))
	}
	plan.Place(in, spec)
	n.startSlots = append(n.startSlots, int32(in.Slot()))
	return out
}

// takeDaemon applies a committed step to s's daemon index: the tasks it
// started and stopped, and what it decided on each instance it visited.
func (s *service) takeDaemon(n note, res Result, started bool, stopped bool) {
	d := s.daemon
	if started {
		for i, t := range res.Tasks[n.firstStart : n.firstStart+n.starts] {
			slot := n.startSlots[i]
			dt := daemonTask{id: t.ID, deployment: t.StartedBy, status: t.LastStatus}
			d.slots[slot] = append(d.slots[slot], dt)
			d.count(dt, d.active[slot], 1)
		}
	}
	if stopped {
		for i, t := range res.Stopped[n.firstStop : n.firstStop+n.stops] {
			slot := n.stopSlots[i]
			j := slices.IndexFunc(d.slots[slot], func(dt daemonTask) bool { return dt.id == t.ID })
			if j < 0 {
				continue // refresh drops it when it next reads the slot
			}
			d.count(d.slots[slot][j], d.active[slot], -1)
			d.slots[slot] = slices.Delete(d.slots[slot], j, j+1)
		}
	}
	d.qualifying = d.qualifyingWith(n.daemonSlots)
	if d.all {
		clear(d.unsettled)
	}
	for _, ds := range n.daemonSlots {
		d.qualifies[ds.slot] = ds.qualifies
		// A committed stop or start is seen as a change of its instance
		// next step, so only what was held back stays unsettled.
		if ds.settled {
			delete(d.unsettled, ds.slot)
		} else {
			d.unsettled[ds.slot] = struct{}{}
		}
	}
	d.all = false
}
