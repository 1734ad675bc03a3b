package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// ReconcileResult is what one [Services.Reconcile] step did.
type ReconcileResult struct {
	Started []cluster.TaskInfo
	Stopped []cluster.TaskInfo
	// Failures are the placements that found no instance.
	Failures []Failure
	// Conflicts counts commits rejected because the cluster changed
	// under the decision.
	Conflicts int
}

// Reconcile runs one deterministic step of every service of the cluster:
// DAEMON services first, then REPLICA services, each by name. For each it
// notes what happened to its tasks since the last step (stopped, failed to
// start, reached RUNNING), then decides which tasks to stop and which to
// start within its deployment configuration, and commits the whole step
// all or nothing (deciding again if the cluster moved meanwhile). Time is
// the injected clock's.
//
// A REPLICA service's step, with D its desired count, maxTotal =
// floor(D × maximumPercent / 100) and minHealthy = ceil(D ×
// minimumHealthyPercent / 100); a task is "new" when it belongs to the
// PRIMARY deployment and its instance is ACTIVE, "old" otherwise (an older
// deployment, or a DRAINING instance); healthy means RUNNING [INF: no
// health checks are modelled]:
//
//  1. stop every old task that is still PENDING;
//  2. stop new tasks beyond D (scale in, §4.5 order);
//  3. stop old RUNNING tasks while healthy − 1 ≥ minHealthy (§4.5 order);
//  4. start new tasks, up to D new and maxTotal in all, through the
//     placement engine with the service's strategies and constraints,
//     using the room the stops free;
//  5. if old tasks remain and the bounds allowed neither a stop nor a
//     start, report "unable to stop or start tasks".
//
// This reproduces ECS's documented sequences (§4.3): 6 tasks with room for
// 8 and the defaults start 2, stop 2, start 2, ...; with
// minimumHealthyPercent 50: stop 3, start 5, stop 3, start 1.
//
// A step is a function of the cluster, the services and, through the start
// throttle's retry times, the clock. When a step changes nothing — no task
// started or stopped, no service's state moved — it is a fixed point: the
// next step, if the cluster's version, the services and the side of every
// retry time are still the same, would decide the same nothing again, so
// it returns the same failures without deciding (not when a service places
// with a random strategy, whose draws a skipped step would not make). Cost: O(services) for
// such an unchanged state. Otherwise a REPLICA service costs its tasks; a
// DAEMON service on a State with a change feed (a *cluster.Cluster) costs
// the instances that changed since the last step and those it could not
// settle (daemon.go), and without one, every instance and task.
func (ss *Services) Reconcile() (ReconcileResult, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.clock.Now()
	var version int64
	ss.c.Read(func(v *cluster.View) { version = v.Version() })
	if q := ss.quiet; q != nil && q.version == version && q.gen == ss.gen && (q.until.IsZero() || now.Before(q.until)) {
		return ReconcileResult{Failures: slices.Clone(q.failures)}, nil
	}
	ss.quiet = nil
	ss.protectedNext = time.Time{}
	order := ss.order()
	marks := make([]serviceMark, len(order))
	for i, s := range order {
		marks[i] = s.mark()
	}
	ss.c.Read(func(v *cluster.View) {
		version = v.Version()
		for _, s := range order {
			ss.refresh(v, s, now)
		}
	})
	var out ReconcileResult
	outcomes := make([]outcome, len(order))
	take := func(notes []note, res Result) {
		out.Started = append(out.Started, res.Tasks...)
		out.Stopped = append(out.Stopped, res.Stopped...)
		out.Conflicts += res.Conflicts
		for i, n := range notes {
			o := &outcomes[i]
			o.take(order[i], n, res)
			out.Failures = append(out.Failures, n.failures...)
		}
		out.Failures = append(out.Failures, res.Failures...) // commits that kept conflicting
	}
	// The first round decides every service's stops and starts; the
	// starts of a large service continue in rounds of RoundSize, so a
	// decision never carries more undecided placements than that.
	r := &reconciler{ss: ss, now: now, services: order, limit: RoundSize}
	res, err := Execute(ss.c, r, ss.MaxAttempts)
	if err != nil {
		for _, s := range order {
			if s.daemon != nil {
				s.daemon.all = true // the changes refresh read are decided next step
			}
		}
		return ReconcileResult{}, err
	}
	take(r.notes, res)
	for {
		more := &reconciler{ss: ss, now: now, services: order, limit: RoundSize, startsOnly: outcomes}
		if !more.anyLeft() {
			break
		}
		res, err := Execute(ss.c, more, ss.MaxAttempts)
		if err != nil {
			return ReconcileResult{}, err
		}
		take(more.notes, res)
		if len(res.Tasks) == 0 {
			break
		}
	}
	for i, s := range order {
		ss.record(s, outcomes[i], now)
	}
	after := version
	ss.c.Read(func(v *cluster.View) {
		after = v.Version()
		for _, s := range order {
			ss.settle(v, s, now)
		}
	})
	if len(out.Started)+len(out.Stopped) == 0 && out.Conflicts == 0 && after == version && ss.unmoved(order, marks) && ss.quietAllowed && !drawsRandom(order) {
		until := ss.nextRetry(order, now)
		if p := ss.protectedNext; !p.IsZero() && (until.IsZero() || p.Before(until)) {
			until = p
		}
		ss.quiet = &quietStep{version: version, gen: ss.gen, until: until, failures: slices.Clone(out.Failures)}
	}
	return out, nil
}

// quietStep is a step that changed nothing: the cluster version and
// service generation it saw, the time until which its decisions hold (the
// earliest retry time still ahead of it; zero for none) and its failures.
type quietStep struct {
	version  int64
	gen      uint64
	until    time.Time
	failures []Failure
}

// serviceMark is what a step may change in a service, to tell whether it
// changed anything.
type serviceMark struct {
	status                                     ServiceStatus
	events, deployments                        int
	firstEvent                                 string
	desired, running, pending                  int
	primary                                    string
	rollout, rolloutReason                     string
	failed, depRunning, depPending, depDesired int
	tasks, failedStarts                        int
	retryAt                                    time.Time
	throttled, steady, stuck                   bool
	lastPlaceMsg                               string
	lastCompleted                              *Deployment
}

func (s *service) mark() serviceMark {
	m := serviceMark{
		status: s.Status, events: len(s.Events), deployments: len(s.Deployments),
		desired: s.Config.DesiredCount, running: s.RunningCount, pending: s.PendingCount,
		tasks: s.liveTasks(), failedStarts: s.failedStarts, retryAt: s.retryAt,
		throttled: s.throttled, steady: s.steady, stuck: s.stuck,
		lastPlaceMsg: s.lastPlaceMsg, lastCompleted: s.lastCompleted,
	}
	if len(s.Events) > 0 {
		m.firstEvent = s.Events[0].ID
	}
	if len(s.Deployments) > 0 {
		p := &s.Deployments[0]
		m.primary, m.rollout, m.rolloutReason = p.ID, p.RolloutState, p.RolloutStateReason
		m.failed, m.depRunning, m.depPending, m.depDesired = p.FailedTasks, p.RunningCount, p.PendingCount, p.DesiredCount
	}
	return m
}

// unmoved reports whether every service has the mark it had.
func (ss *Services) unmoved(order []*service, marks []serviceMark) bool {
	for i, s := range order {
		if s.mark() != marks[i] {
			return false
		}
	}
	return true
}

// drawsRandom reports whether a service places with a random strategy:
// its step draws from the registry's generator even when nothing fits, so
// skipping the step would change later draws.
func drawsRandom(order []*service) bool {
	for _, s := range order {
		for _, st := range s.Config.Strategies {
			if st.Type() == placement.Random {
				return true
			}
		}
	}
	return false
}

// nextRetry returns the earliest retry time of a throttled service that is
// still after now, or zero.
func (ss *Services) nextRetry(order []*service, now time.Time) time.Time {
	var next time.Time
	for _, s := range order {
		if s.throttled && now.Before(s.retryAt) && (next.IsZero() || s.retryAt.Before(next)) {
			next = s.retryAt
		}
	}
	return next
}

// RoundSize is the most tasks of one service a reconcile round starts;
// a step runs as many rounds as its services need.
const RoundSize = 16

// outcome is what a whole step did to one service.
type outcome struct {
	started, stopped []string // task ids
	failures         []Failure
	left             int // starts still wanted
	stuck            bool
	protected        int // tasks over the desired count kept by scale-in protection
	unplaced         []Unplaced
	// Availability Zone rebalancing, from the step's notes.
	zones                    []cluster.ZoneCount
	zoneCounts               []int
	balanced, rebalanceFails bool
	rebalanceZone            string
	rebalanceStarted         string // task id
	rebalanceStopped         []string
	rebalanceStopZone        string
}

func (o *outcome) take(s *service, n note, res Result) {
	started := 0
	startsApplied := n.starts > 0 && len(res.Tasks) >= n.firstStart+n.starts
	stopsApplied := n.stops > 0 && len(res.Stopped) >= n.firstStop+n.stops
	if startsApplied {
		started = n.starts
		for _, t := range res.Tasks[n.firstStart : n.firstStart+n.starts] {
			o.started = append(o.started, t.ID)
		}
	}
	if stopsApplied {
		for _, t := range res.Stopped[n.firstStop : n.firstStop+n.stops] {
			o.stopped = append(o.stopped, t.ID)
		}
	}
	switch {
	case s.daemon != nil:
		s.takeDaemon(n, res, startsApplied, stopsApplied)
	default:
		if startsApplied {
			s.tasks = append(s.tasks, o.started[len(o.started)-started:]...)
		}
		if stopsApplied {
			gone := map[string]bool{}
			for _, id := range o.stopped[len(o.stopped)-n.stops:] {
				gone[id] = true
			}
			s.tasks = slices.DeleteFunc(s.tasks, func(id string) bool { return gone[id] })
		}
	}
	if n.zones != nil {
		o.zones, o.zoneCounts, o.balanced, o.rebalanceZone = n.zones, n.zoneCounts, n.balanced, n.rebalanceZone
		o.rebalanceFails = n.rebalanceFailed
	}
	if n.rebalanceStart && startsApplied && len(o.started) > 0 {
		o.rebalanceStarted = o.started[len(o.started)-1]
		s.rebalanceTask = o.rebalanceStarted
	}
	if n.rebalanceVictim != "" && stopsApplied {
		o.rebalanceStopped = append(o.rebalanceStopped, n.rebalanceVictim)
		o.rebalanceStopZone = n.rebalanceStopZone
		s.rebalanceTask = ""
	}
	o.failures = append(o.failures, n.failures...)
	if n.unplaced != nil || n.want > 0 {
		o.unplaced = n.unplaced // the latest round's word
	}
	o.stuck = o.stuck || n.stuck
	o.protected = max(o.protected, n.protected)
	o.left = n.want - started
	if len(n.failures) > 0 || started < n.starts {
		o.left = 0 // placements failed or the commit gave up: next step
	}
}

// order returns the live services, DAEMON first, each kind by name.
func (ss *Services) order() []*service {
	var out []*service
	for _, s := range ss.byName {
		if s.Status != ServiceInactive {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *service) int {
		if a.Config.Daemon != b.Config.Daemon {
			if a.Config.Daemon {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// refresh notes what happened to the service's tasks since the last step:
// stopped tasks leave its list, tasks that stopped before RUNNING count
// toward the start throttle and the circuit breaker.
func (ss *Services) refresh(v *cluster.View, s *service, now time.Time) {
	if s.daemon != nil {
		ss.refreshIndexed(v, s, now)
		return
	}
	newFailures := 0
	live := s.tasks[:0]
	for _, id := range s.tasks {
		t, ok := v.Task(id)
		if !ok {
			continue
		}
		dep := s.deployment(t.StartedBy())
		if t.LastStatus() != cluster.TaskStopped {
			live = append(live, id)
			if t.LastStatus() == cluster.TaskRunning && dep != nil && !dep.everRunning {
				dep.everRunning = true
				dep.FailedTasks = 0 // the breaker stops counting once a task runs
			}
			if t.LastStatus() == cluster.TaskRunning && dep == &s.Deployments[0] {
				s.failedStarts, s.throttled = 0, false
			}
			continue
		}
		if v.TaskInfo(t).StopCode == cluster.StopTaskFailedToStart {
			newFailures++
			if dep != nil && !dep.everRunning && s.Config.CircuitBreaker.Enable {
				dep.FailedTasks++
			}
		}
	}
	clear(s.tasks[len(live):])
	s.tasks = live
	if s.Config.Daemon && ss.feed != nil {
		// From now on the service keeps a daemon index instead of its
		// task list; this step still decides every instance.
		ss.feed.on.Store(true)
		s.daemon = newDaemonIndex(v, s, ss.feed.end())
		s.daemon.basis = daemonBasis{primary: s.Deployments[0].ID, status: s.Status, gen: ss.gen}
		s.tasks = nil
	}
	ss.throttle(s, newFailures, now)
}

// refreshIndexed is refresh for a service with a daemon index.
func (ss *Services) refreshIndexed(v *cluster.View, s *service, now time.Time) {
	newFailures, failedBy := ss.refreshDaemon(v, s)
	d := s.daemon
	for i := range s.Deployments {
		dep := &s.Deployments[i]
		switch {
		case d.running[dep.ID] > 0:
			if !dep.everRunning {
				dep.everRunning = true
				dep.FailedTasks = 0 // the breaker stops counting once a task runs
			}
		case !dep.everRunning && s.Config.CircuitBreaker.Enable:
			dep.FailedTasks += failedBy[dep.ID]
		}
	}
	if d.running[s.Deployments[0].ID] > 0 {
		s.failedStarts, s.throttled = 0, false
	}
	ss.throttle(s, newFailures, now)
	if p := s.Deployments[0].ID; p != d.basis.primary {
		// The circuit breaker rolled back: a new PRIMARY, so every
		// instance is decided again.
		d.basis.primary, d.all = p, true
	}
}

// throttle counts the tasks that stopped before RUNNING toward the start
// throttle, then checks the circuit breaker.
func (ss *Services) throttle(s *service, newFailures int, now time.Time) {
	if newFailures > 0 {
		s.failedStarts += newFailures
		if s.failedStarts >= BackoffAfter {
			delay := min(MaxBackoff, BackoffBase<<min(s.failedStarts-BackoffAfter, 10))
			s.retryAt = now.Add(delay)
			if !s.throttled {
				s.throttled = true
				s.event(ss, now, "(service %s) is unable to consistently start tasks successfully.", s.Name)
			}
		}
	}
	ss.checkBreaker(s, now)
}

// breakerThreshold is clamp(ceil(0.5 × D), 10, 200) (§4.6).
func breakerThreshold(d int) int {
	return min(max((d+1)/2, 10), 200)
}

func (ss *Services) checkBreaker(s *service, now time.Time) {
	p := &s.Deployments[0]
	if !s.Config.CircuitBreaker.Enable || p.RolloutState != RolloutInProgress || p.FailedTasks < breakerThreshold(s.Config.DesiredCount) {
		return
	}
	p.RolloutState = RolloutFailed
	p.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	p.UpdatedAt = now
	s.event(ss, now, "(service %s) (deployment %s) deployment failed: tasks failed to start.", s.Name, p.ID)
	if !s.Config.CircuitBreaker.Rollback {
		return
	}
	if d := s.lastCompleted; d != nil {
		cfg := s.Config
		cfg.TaskDef = d.TaskDef
		s.Config = cfg
		for i := range s.Deployments {
			s.Deployments[i].Status = DeploymentActive
		}
		nd := ss.newDeployment(cfg, now)
		s.Deployments = slices.Insert(s.Deployments, 0, nd)
		s.failedStarts, s.retryAt, s.throttled = 0, time.Time{}, false
		s.event(ss, now, "(service %s) (deployment %s) rolling back to deployment %s.", s.Name, nd.ID, d.ID)
	}
}

func (s *service) deployment(id string) *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].ID == id {
			return &s.Deployments[i]
		}
	}
	return nil
}

// note is what the reconciler decided for one service in the current
// round, as positions in the plan.
type note struct {
	firstStop, stops   int
	firstStart, starts int
	want               int // starts the service wanted this round
	failures           []Failure
	stuck              bool
	// protected is how many tasks scale-in protection kept from being
	// stopped.
	protected int
	// For a DAEMON service with a daemon index: what it decided on each
	// instance it visited, and the slots of its stops and starts, in plan
	// order.
	daemonSlots           []daemonSlot
	stopSlots, startSlots []int32
	// unplaced are the tasks that fit on no instance of their capacity
	// provider.
	unplaced []Unplaced
	// Availability Zone rebalancing (see rebalance): the zones and the
	// service's RUNNING tasks in each when it looked, whether they are
	// balanced, the zone it started a task in (rebalanceStart) or could
	// not (rebalanceFailed), and whether this round's scale-in is a move's
	// stop.
	zones             []cluster.ZoneCount
	zoneCounts        []int
	balanced          bool
	rebalanceZone     string
	rebalanceStart    bool
	rebalanceFailed   bool
	rebalanceStop     bool
	rebalanceStopZone string
	rebalanceVictim   string // the task id of a move's stop
}

// reconciler is the [Scheduler] of one Reconcile step.
type reconciler struct {
	ss       *Services
	now      time.Time
	services []*service
	notes    []note
	limit    int // starts per service per round
	// startsOnly, when set, makes a continuation round: each service
	// starts up to its outcome's remaining wanted tasks, nothing else.
	startsOnly []outcome
}

func (r *reconciler) anyLeft() bool {
	for i, o := range r.startsOnly {
		if o.left > 0 && !r.services[i].Config.Daemon {
			return true
		}
	}
	return false
}

// Decide implements [Scheduler]: every service's stops and starts.
func (r *reconciler) Decide(v *cluster.View, plan *Plan) {
	r.notes = make([]note, len(r.services))
	for i, s := range r.services {
		n := &r.notes[i]
		n.firstStop, n.firstStart = len(plan.Stops), len(plan.Placements)
		switch {
		case r.startsOnly != nil:
			if left := r.startsOnly[i].left; left > 0 && !s.Config.Daemon {
				n.want = left
				r.start(v, plan, s, &s.Deployments[0], min(left, r.limit), n)
			}
		case s.Config.Daemon:
			r.daemon(v, plan, s, n)
		default:
			r.replica(v, plan, s, n)
		}
		n.stops = len(plan.Stops) - n.firstStop
		n.starts = len(plan.Placements) - n.firstStart
	}
}

func (r *reconciler) spec(s *service, d *Deployment) *cluster.TaskSpec {
	cs := slices.Concat(s.Config.Constraints, d.TaskDef.Constraints)
	spec := &cluster.TaskSpec{
		TaskDefinitionARN: d.TaskDef.ARN, Family: d.TaskDef.Family, Demand: d.TaskDef.Demand,
		Group: s.group(), StartedBy: d.ID,
	}
	if len(cs) > 0 {
		spec.Guard = placement.Constraints(cs)
	}
	return spec
}

func (r *reconciler) stopReason(s *service) string {
	return "Scaling activity initiated by (deployment " + s.Deployments[0].ID + ")"
}

func (r *reconciler) replica(v *cluster.View, plan *Plan, s *service, n *note) {
	p := &s.Deployments[0]
	d := s.Config.DesiredCount
	if s.Status != ServiceActive {
		d = 0
	}
	// In int64: desiredCount × maximumPercent can pass 2^31 where int has
	// 32 bits.
	maxTotal := int(int64(d) * int64(s.Config.MaximumPercent) / 100)
	minHealthy := int((int64(d)*int64(s.Config.MinimumHealthyPercent) + 99) / 100)
	var fresh, old []*cluster.Task
	healthy, pending := 0, 0
	for _, id := range s.tasks {
		t, ok := v.Task(id)
		if !ok || t.LastStatus() == cluster.TaskStopped {
			continue
		}
		if t.LastStatus() == cluster.TaskRunning {
			healthy++
		} else {
			pending++
		}
		if t.StartedBy() == p.ID && t.Instance().Status() == cluster.InstanceActive {
			fresh = append(fresh, t)
		} else {
			old = append(old, t)
		}
	}
	total := len(fresh) + len(old)
	// Availability Zone rebalancing: a move's new task must run before
	// the scale-in below stops one in exchange.
	holdScaleIn := false
	if s.rebalanceTask != "" {
		t, ok := v.Task(s.rebalanceTask)
		switch {
		case !ok || t.LastStatus() == cluster.TaskStopped || len(s.Deployments) > 1 || s.Status != ServiceActive || !s.Config.AvailabilityZoneRebalancing:
			s.rebalanceTask = "" // the move is over or overtaken
		case t.LastStatus() != cluster.TaskRunning:
			holdScaleIn = true
		case len(fresh) <= d:
			s.rebalanceTask = "" // a task stopped meanwhile: no stop is due
		default:
			n.rebalanceStop = true
		}
	}
	reason := r.stopReason(s)
	stop := func(t *cluster.Task) {
		plan.Stop(t, reason, cluster.StopServiceSchedulerInitiated)
		total--
		if t.LastStatus() == cluster.TaskRunning {
			healthy--
		}
	}
	// 1. Old tasks that never started are not worth keeping.
	oldRunning := old[:0:0]
	for _, t := range old {
		// A protected one is kept: scale-in protection holds against
		// every stop the service scheduler makes (step 3 skips it too).
		if t.LastStatus() == cluster.TaskPending && !t.Protected(r.now) {
			stop(t)
		} else {
			oldRunning = append(oldRunning, t)
		}
	}
	// 2. Scale in: new tasks beyond the desired count, PENDING first.
	if excess := len(fresh) - d; excess > 0 && !holdScaleIn {
		victim := r.rebalanceVictim(v, s, fresh, n)
		candidates := fresh
		if n.rebalanceStop && victim == nil {
			// No stop improves the zones (protection): the move ends, and
			// the ordinary scale-in does not take the task it started.
			candidates = slices.DeleteFunc(slices.Clone(fresh), func(t *cluster.Task) bool { return t.ID() == s.rebalanceTask })
			s.rebalanceTask = ""
		}
		if excess == 1 && victim != nil {
			// A rebalancing move's stop: in the zone with the most.
			stop(victim)
			n.rebalanceVictim = victim.ID()
			n.rebalanceStopZone = victim.Instance().AvailabilityZone()
			fresh = slices.DeleteFunc(fresh, func(t *cluster.Task) bool { return t == victim })
		} else if len(s.Config.CapacityProviders) > 0 {
			stopped := r.scaleInByProvider(v, s, candidates, d, min(excess, len(candidates)-d), plan, n)
			gone := make(map[*cluster.Task]bool, len(stopped))
			for _, t := range stopped {
				stop(t)
				gone[t] = true
			}
			fresh = slices.DeleteFunc(fresh, func(t *cluster.Task) bool { return gone[t] })
		} else {
			stopped := r.scaleIn(v, s, candidates, min(excess, len(candidates)-d), plan, n)
			gone := make(map[*cluster.Task]bool, len(stopped))
			for _, t := range stopped {
				stop(t)
				gone[t] = true
			}
			fresh = slices.DeleteFunc(fresh, func(t *cluster.Task) bool { return gone[t] })
		}
	}
	// 3. Old RUNNING tasks, as far as minimumHealthyPercent allows.
	if k := min(len(oldRunning), healthy-minHealthy); k > 0 {
		var deploying note // protection only delays a deployment [INF]: no event
		stopped := r.scaleIn(v, s, oldRunning, k, plan, &deploying)
		for _, t := range stopped {
			stop(t)
		}
		oldRunning = oldRunning[len(stopped):]
	}
	// 4. Start new tasks within maximumPercent.
	want := min(d-len(fresh), maxTotal-total)
	throttled := s.throttled && r.now.Before(s.retryAt)
	if want == 0 && len(old) == 0 && pending == 0 && healthy == d && total < maxTotal && !throttled && s.rebalanceTask == "" && len(plan.Stops) == n.firstStop {
		r.rebalance(v, plan, s, p, fresh, n)
	}
	if want > 0 && p.RolloutState != RolloutFailed && !throttled {
		n.want = want
		r.start(v, plan, s, p, min(want, r.limit), n)
	}
	// 5. Neither bound lets the deployment move: nothing is starting, the
	// maximum allows no start and the minimum no stop.
	if len(oldRunning) > 0 && pending == 0 && len(plan.Stops) == n.firstStop && want <= 0 && healthy <= minHealthy {
		n.stuck = true
	}
}

// start places up to want tasks of deployment dep; with a capacity
// provider strategy, split over its providers.
func (r *reconciler) start(v *cluster.View, plan *Plan, s *service, dep *Deployment, want int, n *note) {
	spec := r.spec(s, dep)
	strategies := s.Config.Strategies
	if len(strategies) == 0 {
		strategies = defaultServiceStrategies
	}
	var cs placement.Constraints
	if spec.Guard != nil {
		cs = spec.Guard.(placement.Constraints)
	}
	req := placement.Request{Spec: spec, Strategies: strategies, Constraints: cs, Rand: r.ss.rnd}
	items := s.Config.CapacityProviders
	if len(items) == 0 {
		r.place(v, plan, &req, want, n)
		return
	}
	// The PRIMARY deployment's tasks each provider has: the split
	// counts them, so that the service as a whole follows the strategy.
	have := make([]int, len(items))
	for _, id := range s.tasks {
		t, ok := v.Task(id)
		if !ok || t.LastStatus() == cluster.TaskStopped || t.StartedBy() != dep.ID {
			continue
		}
		if i := providerIndex(items, t.Demand().CapacityProvider()); i >= 0 {
			have[i]++
		}
	}
	split := SplitStrategy(items, have, want)
	var full []int // the split of every wanted task, once one fails
	for i, it := range items {
		if split[i] == 0 {
			continue
		}
		own := *spec
		own.Demand = r.ss.providerDemand(spec.Demand, it.Provider)
		req.Spec = &own
		placed := r.place(v, plan, &req, split[i], n)
		if placed < split[i] {
			if full == nil {
				full = SplitStrategy(items, have, max(n.want, want))
			}
			n.unplaced = append(n.unplaced, Unplaced{Service: s.Name, Provider: it.Provider, Demand: own.Demand, Count: max(full[i]-placed, split[i]-placed)})
		}
	}
}

// rebalance is one step of Availability Zone rebalancing for a steady
// service whose tasks all run (docs/semantics.md §4.9): when the RUNNING
// tasks per zone of the cluster's ACTIVE instances differ by more than
// one, it starts a task in the zone with the fewest (ties to the first
// by name), restricted to that zone; the scale-in of a later step stops
// one in the zone with the most once it runs. When they differ by at most
// one after a move, the rebalancing is complete.
func (r *reconciler) rebalance(v *cluster.View, plan *Plan, s *service, dep *Deployment, fresh []*cluster.Task, n *note) {
	if !s.Config.AvailabilityZoneRebalancing || s.Status != ServiceActive || len(s.Deployments) != 1 || !s.steady || len(fresh) == 0 {
		return
	}
	// The zones of the cluster's ACTIVE instances first (cheap); when the
	// tasks are not balanced over them, only the zones the service can
	// use: those of ACTIVE instances of its capacity providers that meet
	// its memberOf constraints [INF]. Cost: O(zones + tasks), and O(n)
	// instances when unbalanced.
	zones := v.AvailabilityZones()
	counts, lo, hi := zoneSpread(zones, fresh)
	if len(zones) >= 2 && counts[hi]-counts[lo] > 1 {
		zones = r.serviceZones(v, s)
		counts, lo, hi = zoneSpread(zones, fresh)
	}
	if len(zones) < 2 {
		return
	}
	n.zones = zones
	n.zoneCounts = counts
	if counts[hi]-counts[lo] <= 1 {
		n.balanced = true
		return
	}
	// A move needs a task it may stop afterwards: unprotected, RUNNING,
	// in a zone with at least two more than the emptiest [INF].
	movable := false
	for _, t := range fresh {
		az := t.Instance().AvailabilityZone()
		i, ok := slices.BinarySearchFunc(zones, az, func(z cluster.ZoneCount, az string) int { return strings.Compare(z.Zone, az) })
		if ok && counts[i] >= counts[lo]+2 && t.LastStatus() == cluster.TaskRunning && !t.Protected(r.now) {
			movable = true
			break
		}
	}
	if !movable {
		return // protection holds the zones as they are
	}
	n.rebalanceZone = zones[lo].Zone
	spec := r.spec(s, dep)
	own := *spec
	cs := placement.Constraints{placement.MustParseConstraint("memberOf", "attribute:ecs.availability-zone == "+zones[lo].Zone)}
	if spec.Guard != nil {
		cs = slices.Concat(spec.Guard.(placement.Constraints), cs)
	}
	own.Guard = cs
	strategies := s.Config.Strategies
	if len(strategies) == 0 {
		strategies = defaultServiceStrategies
	}
	// The provider furthest below its share takes the new task, else
	// the next that takes tasks at all [INF]; the move's stop is on the
	// same provider where it can be (rebalanceVictim).
	providers := []string{""}
	if items := s.Config.CapacityProviders; len(items) > 0 {
		have := make([]int, len(items))
		for _, t := range fresh {
			if i := providerIndex(items, t.Demand().CapacityProvider()); i >= 0 {
				have[i]++
			}
		}
		first := slices.Index(SplitStrategy(items, have, 1), 1)
		providers = []string{items[first].Provider}
		for i, it := range items {
			if i != first && (it.Weight > 0 || it.Base > 0) {
				providers = append(providers, it.Provider)
			}
		}
	}
	for _, p := range providers {
		if p != "" {
			own.Demand = r.ss.providerDemand(spec.Demand, p)
		}
		req := placement.Request{Spec: &own, Strategies: strategies, Constraints: cs, Rand: r.ss.rnd}
		if dec := r.ss.place(v, &req, &plan.Pending); dec.Instance != nil {
			plan.Place(dec.Instance, &own)
			n.rebalanceStart = true
			return
		}
	}
	n.rebalanceFailed = true
}

// rebalanceVictim picks the task a rebalancing move stops, once the task
// it started runs: one not protected from scale-in, in the zone with the
// most of the service's RUNNING tasks (ties by name), on the same capacity
// provider as the new task if one there is, on the instance with the most
// of the service's tasks, then by id. nil when the step is not a move's
// stop or nothing can go.
func (r *reconciler) rebalanceVictim(v *cluster.View, s *service, fresh []*cluster.Task, n *note) *cluster.Task {
	if !n.rebalanceStop {
		return nil
	}
	started, ok := v.Task(s.rebalanceTask)
	if !ok {
		return nil
	}
	zoneOf := func(t *cluster.Task) string { return t.Instance().AvailabilityZone() }
	perZone := map[string]int{}
	perInstance := map[*cluster.Instance]int{}
	for _, t := range fresh {
		perZone[zoneOf(t)]++
		perInstance[t.Instance()]++
	}
	provider := started.Demand().CapacityProvider()
	var best *cluster.Task
	better := func(a, b *cluster.Task) bool { // a before b
		if za, zb := perZone[zoneOf(a)], perZone[zoneOf(b)]; za != zb {
			return za > zb
		}
		if za, zb := zoneOf(a), zoneOf(b); za != zb {
			return za < zb
		}
		if pa, pb := a.Demand().CapacityProvider() == provider, b.Demand().CapacityProvider() == provider; pa != pb {
			return pa
		}
		if ia, ib := perInstance[a.Instance()], perInstance[b.Instance()]; ia != ib {
			return ia > ib
		}
		return a.ID() < b.ID()
	}
	for _, t := range fresh {
		// Only a stop in a zone with two more than the new task's evens
		// the zones out.
		if t == started || t.LastStatus() != cluster.TaskRunning || t.Protected(r.now) || perZone[zoneOf(t)] < perZone[zoneOf(started)]+1 || zoneOf(t) == zoneOf(started) {
			continue
		}
		if best == nil || better(t, best) {
			best = t
		}
	}
	return best
}

// zoneSpread counts the tasks in each of zones (sorted by name) and
// returns the counts and the indexes of the first zone with the fewest
// and the first with the most.
func zoneSpread(zones []cluster.ZoneCount, tasks []*cluster.Task) (counts []int, lo, hi int) {
	counts = make([]int, len(zones))
	for _, t := range tasks {
		az := t.Instance().AvailabilityZone()
		if i, ok := slices.BinarySearchFunc(zones, az, func(z cluster.ZoneCount, az string) int { return strings.Compare(z.Zone, az) }); ok {
			counts[i]++
		}
	}
	for i, c := range counts {
		if c < counts[lo] {
			lo = i
		}
		if c > counts[hi] {
			hi = i
		}
	}
	return counts, lo, hi
}

// serviceZones returns the zones, sorted, of the ACTIVE instances the
// service's tasks may run on: of its capacity providers, if it has any,
// and meeting its and its task definition's memberOf constraints.
func (r *reconciler) serviceZones(v *cluster.View, s *service) []cluster.ZoneCount {
	var memberOf placement.Constraints
	for _, c := range slices.Concat(s.Config.Constraints, s.Deployments[0].TaskDef.Constraints) {
		if c.Type() == placement.MemberOf {
			memberOf = append(memberOf, c)
		}
	}
	count := map[string]int{}
	for in := range v.Instances() {
		if in.Status() != cluster.InstanceActive {
			continue
		}
		if items := s.Config.CapacityProviders; len(items) > 0 {
			// A provider of weight 0 and no base never takes a task.
			if i := providerIndex(items, in.CapacityProvider()); i < 0 || items[i].Weight == 0 && items[i].Base == 0 {
				continue
			}
		}
		if memberOf.Reason(in, s.group(), nil) != cluster.ReasonNone {
			continue
		}
		if az := in.AvailabilityZone(); az != "" {
			count[az]++
		}
	}
	out := make([]cluster.ZoneCount, 0, len(count))
	for z, k := range count {
		out = append(out, cluster.ZoneCount{Zone: z, Instances: k})
	}
	slices.SortFunc(out, func(a, b cluster.ZoneCount) int { return strings.Compare(a.Zone, b.Zone) })
	return out
}

// providerIndex returns the index of the provider name in items, or -1.
func providerIndex(items []StrategyItem, name string) int {
	for i, it := range items {
		if it.Provider == name {
			return i
		}
	}
	return -1
}

// place places up to want tasks of req and returns how many it placed;
// it stops at the first that fits nowhere, noting the failure.
func (r *reconciler) place(v *cluster.View, plan *Plan, req *placement.Request, want int, n *note) int {
	for i := range want {
		dec := r.ss.place(v, req, &plan.Pending)
		if dec.Instance == nil {
			f := Failure{Reason: dec.Reason, Detail: dec.Tally.String(), Tally: dec.Tally}
			if dec.Closest != nil {
				f.ARN = dec.Closest.ARN()
			} else {
				f.Reason = cluster.ReasonMissing
			}
			n.failures = append(n.failures, f)
			return i // the same task fits nowhere else this step
		}
		plan.Place(dec.Instance, req.Spec)
	}
	return want
}

// scaleIn picks k of tasks to stop, in ECS's scale-in order (§4.5), and
// moves them to the front of tasks. PENDING tasks go first. Then, with a
// leading binpack strategy, the tasks whose instances have the most of the
// field left after removal [INF: ranked once, before any removal];
// otherwise, one at a time, a task in the Availability Zone with the most
// of the service's tasks, on the instance there with the most. Remaining
// ties go by task id. Cost: O(t log t) for t tasks.
//
// Tasks under scale-in protection are never picked (§4.5): they are moved
// to the back, and fewer than k tasks are returned when too many are
// protected; the protected count is noted in n.protected.
func (r *reconciler) scaleIn(v *cluster.View, s *service, tasks []*cluster.Task, k int, plan *Plan, n *note) []*cluster.Task {
	free := 0
	for i, t := range tasks {
		if t.Protected(r.now) {
			if until := t.ProtectedUntil(); r.ss.protectedNext.IsZero() || until.Before(r.ss.protectedNext) {
				r.ss.protectedNext = until
			}
			continue
		}
		tasks[free], tasks[i] = tasks[i], tasks[free]
		free++
	}
	if free < len(tasks) {
		if k > free { // protection keeps the scale-in from its count
			n.protected = max(n.protected, k-free)
			k = free
		}
		tasks = tasks[:free]
	}
	if k >= len(tasks) {
		return tasks
	}
	slices.SortFunc(tasks, func(a, b *cluster.Task) int {
		return cmp.Or(cmp.Compare(pendingRank(a), pendingRank(b)), strings.Compare(a.ID(), b.ID()))
	})
	pending := 0
	for pending < len(tasks) && tasks[pending].LastStatus() == cluster.TaskPending {
		pending++
	}
	if k <= pending {
		return tasks[:k]
	}
	running := tasks[pending:]
	need := k - pending
	if len(s.Config.Strategies) > 0 && s.Config.Strategies[0].Type() == placement.Binpack {
		cpu := strings.EqualFold(s.Config.Strategies[0].Field(), "cpu")
		left := func(t *cluster.Task) int64 {
			in := t.Instance()
			c, m, _ := plan.Pending.Resources(in)
			if cpu {
				return in.RemainingCPU() - c + t.Demand().CPU()
			}
			return in.RemainingMemory() - m + t.Demand().Memory()
		}
		slices.SortStableFunc(running, func(a, b *cluster.Task) int { return cmp.Compare(left(b), left(a)) })
		return tasks[:k]
	}
	// Spread: per Availability Zone, the instances bucketed by how many of
	// the service's tasks they hold.
	type instance struct {
		count int
		tasks []*cluster.Task // candidates, by id
	}
	type zone struct {
		name     string
		count    int
		byCount  [][]*instance
		maxCount int
	}
	zoneOf := (*cluster.Instance).AvailabilityZone
	perAZ := map[string]int{}
	perInstance := map[*cluster.Instance]int{}
	for _, id := range s.tasks {
		if t, ok := v.Task(id); ok && t.LastStatus() != cluster.TaskStopped {
			perAZ[zoneOf(t.Instance())]++
			perInstance[t.Instance()]++
		}
	}
	instances := map[*cluster.Instance]*instance{}
	zones := map[string]*zone{}
	for _, t := range running {
		ig := instances[t.Instance()]
		if ig == nil {
			ig = &instance{count: perInstance[t.Instance()]}
			instances[t.Instance()] = ig
			az := zoneOf(t.Instance())
			z := zones[az]
			if z == nil {
				z = &zone{name: az, count: perAZ[az]}
				zones[az] = z
			}
			for len(z.byCount) <= ig.count {
				z.byCount = append(z.byCount, nil)
			}
			z.byCount[ig.count] = append(z.byCount[ig.count], ig)
			z.maxCount = max(z.maxCount, ig.count)
		}
		ig.tasks = append(ig.tasks, t)
	}
	for _, z := range zones {
		for c := range z.byCount {
			slices.Reverse(z.byCount[c]) // pop from the end takes the first seen
		}
	}
	picked := make([]*cluster.Task, 0, need)
	for len(picked) < need {
		var z *zone
		for _, cand := range zones {
			if cand.maxCount > 0 && (z == nil || cand.count > z.count || cand.count == z.count && cand.name < z.name) {
				z = cand
			}
		}
		if z == nil {
			break
		}
		for len(z.byCount[z.maxCount]) == 0 {
			z.maxCount--
		}
		b := z.byCount[z.maxCount]
		ig := b[len(b)-1]
		z.byCount[z.maxCount] = b[:len(b)-1]
		picked = append(picked, ig.tasks[0])
		ig.tasks = ig.tasks[1:]
		ig.count--
		z.count--
		if len(ig.tasks) > 0 {
			z.byCount[ig.count] = append(z.byCount[ig.count], ig)
		}
		for z.maxCount > 0 && len(z.byCount[z.maxCount]) == 0 {
			z.maxCount--
		}
	}
	// Put the picks right after the PENDING tasks.
	chosen := map[*cluster.Task]bool{}
	for _, t := range picked {
		chosen[t] = true
	}
	rest := slices.DeleteFunc(slices.Clone(running), func(t *cluster.Task) bool { return chosen[t] })
	copy(running, picked)
	copy(running[len(picked):], rest)
	return tasks[:k]
}

// scaleInByProvider picks k of a service's tasks to stop when it has a
// capacity provider strategy and d tasks are desired [INF: ECS does not
// document how a scale-in follows the strategy]: first the tasks on a
// provider the strategy no longer names, then, on each provider holding
// more than its share of the d tasks (as [SplitStrategy] splits d), as
// many as it holds beyond its share, each provider's tasks picked in the
// usual scale-in order. Protected tasks are skipped; what they keep from
// the count is then taken from the other providers.
func (r *reconciler) scaleInByProvider(v *cluster.View, s *service, tasks []*cluster.Task, d, k int, plan *Plan, n *note) []*cluster.Task {
	items := s.Config.CapacityProviders
	target := SplitStrategy(items, nil, d)
	groups := make([][]*cluster.Task, len(items)+1) // the last: providers not in the strategy
	for _, t := range tasks {
		i := providerIndex(items, t.Demand().CapacityProvider())
		if i < 0 {
			i = len(items)
		}
		groups[i] = append(groups[i], t)
	}
	over := func(i int) int {
		if i == len(items) {
			return len(groups[i])
		}
		return len(groups[i]) - target[i]
	}
	var out []*cluster.Task
	pass := func(limit func(i int) int) {
		for j := range len(items) + 1 {
			i := (j + len(items)) % (len(items) + 1) // the providers not in the strategy first
			if k == 0 {
				return
			}
			if want := min(limit(i), k); want > 0 {
				var scratch note // protection is judged on the whole below
				stopped := r.scaleIn(v, s, groups[i], want, plan, &scratch)
				out = append(out, stopped...)
				groups[i] = groups[i][len(stopped):]
				k -= len(stopped)
			}
		}
	}
	pass(over)
	pass(func(i int) int { return len(groups[i]) }) // what protection kept
	// Protection keeps the scale-in from its count only if it falls short.
	if k > 0 {
		n.protected = max(n.protected, k)
	}
	return out
}

func pendingRank(t *cluster.Task) int {
	if t.LastStatus() == cluster.TaskPending {
		return 0
	}
	return 1
}

// record turns what a step did into the service's events. Started and
// stopped tasks are reported ten to an event [INF: ECS does not document
// its batching].
func (ss *Services) record(s *service, o outcome, now time.Time) {
	s.unplaced = o.unplaced
	// Stops were applied before starts: their events come first.
	stopped := slices.DeleteFunc(slices.Clone(o.stopped), func(id string) bool { return slices.Contains(o.rebalanceStopped, id) })
	for chunk := range slices.Chunk(stopped, 10) {
		s.event(ss, now, "(service %s) has stopped %d running tasks: %s.", s.Name, len(chunk), taskList(chunk))
	}
	if len(o.rebalanceStopped) > 0 {
		s.event(ss, now, "%s has stopped %d running tasks in %s due to AZ rebalancing: %s.", s.Name, len(o.rebalanceStopped), o.rebalanceStopZone, taskList(o.rebalanceStopped))
	}
	started := slices.DeleteFunc(slices.Clone(o.started), func(id string) bool { return id == o.rebalanceStarted })
	for chunk := range slices.Chunk(started, 10) {
		s.event(ss, now, "(service %s) has started %d tasks: %s.", s.Name, len(chunk), taskList(chunk))
		s.lastPlaceMsg = ""
	}
	ss.recordRebalancing(s, o, now)
	if len(o.started)+len(o.stopped) > 0 {
		s.steady = false // a step that moved tasks ends in a new steady state, if any
	}
	if len(o.failures) > 0 {
		msg := placementMessage(s.Name, o.failures[0])
		if msg != s.lastPlaceMsg {
			s.event(ss, now, "%s", msg)
			s.lastPlaceMsg = msg
		}
	}
	switch {
	case o.protected > 0 && !s.protectedNoted && len(s.Deployments) > 0:
		s.protectedNoted = true
		s.event(ss, now, "(service %s) was unable to reach steady state because task set (%s) was unable to scale in. Reason: The number of protected tasks are more than the desired count of tasks.", s.Name, s.Deployments[0].ID)
	case o.protected == 0:
		s.protectedNoted = false
	}
	if o.stuck && !s.stuck {
		s.stuck = true
		s.event(ss, now, "(service %s) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.", s.Name)
	}
}

// recordRebalancing gives the Availability Zone rebalancing events, in
// ECS's words (docs/semantics.md §4.9).
func (ss *Services) recordRebalancing(s *service, o outcome, now time.Time) {
	if o.zones == nil {
		return
	}
	if o.balanced {
		if s.rebalancing {
			s.rebalancing = false
			s.event(ss, now, "service (%s) is AZ balanced with %s.", s.Name, zoneList(o.zones, o.zoneCounts, true))
		}
		return
	}
	if o.rebalanceStarted == "" && !o.rebalanceFails {
		return // the start did not commit: the next step decides again
	}
	if !s.rebalancing {
		s.rebalancing = true
		s.event(ss, now, "service (%s) is not AZ balanced with %s. AZ Rebalancing in progress.", s.Name, zoneList(o.zones, o.zoneCounts, false))
	}
	if o.rebalanceStarted != "" {
		s.event(ss, now, "%s has started 1 tasks in %s to AZ Rebalance: %s.", s.Name, o.rebalanceZone, taskList([]string{o.rebalanceStarted}))
		s.lastPlaceMsg = ""
		return
	}
	msg := "service (" + s.Name + ") is unable to place a task in Availability Zone " + o.rebalanceZone + " because no container instance met all of its requirements."
	if msg != s.lastPlaceMsg {
		s.event(ss, now, "%s", msg)
		s.lastPlaceMsg = msg
	}
}

// zoneList writes "3 tasks in a, 1 in b, and 0 in c" (every count with
// "tasks" when all is set), as ECS's rebalancing events do.
func zoneList(zones []cluster.ZoneCount, counts []int, all bool) string {
	var b strings.Builder
	for i, z := range zones {
		switch {
		case i > 0 && i == len(zones)-1 && len(zones) > 2:
			b.WriteString(", and ")
		case i > 0 && i == len(zones)-1:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		if i == 0 || all {
			fmt.Fprintf(&b, "%d tasks in %s", counts[i], z.Zone)
		} else {
			fmt.Fprintf(&b, "%d in %s", counts[i], z.Zone)
		}
	}
	return b.String()
}

func taskList(ids []string) string {
	var b strings.Builder
	b.Grow(len(ids) * (len("(task ) ") + 32))
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("(task ")
		b.WriteString(id)
		b.WriteByte(')')
	}
	return b.String()
}

// settle updates the deployments' counts and states after a step.
func (ss *Services) settle(v *cluster.View, s *service, now time.Time) {
	for i := range s.Deployments {
		s.Deployments[i].RunningCount, s.Deployments[i].PendingCount = 0, 0
	}
	s.RunningCount, s.PendingCount = 0, 0
	draining := 0
	if d := s.daemon; d != nil {
		for i := range s.Deployments {
			s.Deployments[i].RunningCount, s.Deployments[i].PendingCount = d.running[s.Deployments[i].ID], d.pending[s.Deployments[i].ID]
		}
		s.RunningCount, s.PendingCount, draining = d.runningAll, d.live-d.runningAll, d.draining
	}
	for _, id := range s.tasks {
		t, ok := v.Task(id)
		if !ok || t.LastStatus() == cluster.TaskStopped {
			continue
		}
		if t.Instance().Status() != cluster.InstanceActive {
			draining++
		}
		dep := s.deployment(t.StartedBy())
		if t.LastStatus() == cluster.TaskRunning {
			s.RunningCount++
			if dep != nil {
				dep.RunningCount++
			}
		} else {
			s.PendingCount++
			if dep != nil {
				dep.PendingCount++
			}
		}
	}
	// Older deployments with no task left are INACTIVE and leave the list.
	kept := s.Deployments[:1]
	for _, d := range s.Deployments[1:] {
		if d.RunningCount+d.PendingCount > 0 {
			kept = append(kept, d)
		}
	}
	s.Deployments = kept
	p := &s.Deployments[0]
	p.DesiredCount = s.Config.DesiredCount
	if s.Status == ServiceDraining && s.liveTasks() == 0 {
		s.Status = ServiceInactive
		return
	}
	steady := len(s.Deployments) == 1 && draining == 0 && p.PendingCount == 0 && p.RunningCount == s.Config.DesiredCount
	if steady && p.RolloutState == RolloutInProgress {
		p.RolloutState = RolloutCompleted
		p.RolloutStateReason = fmt.Sprintf("ECS deployment %s completed.", p.ID)
		p.UpdatedAt = now
		done := *p
		s.lastCompleted = &done // what a circuit breaker rolls back to
	}
	if steady && !s.steady {
		s.event(ss, now, "(service %s) has reached a steady state.", s.Name)
	}
	s.steady = steady
	if len(s.Deployments) == 1 {
		s.stuck = false
	}
}
