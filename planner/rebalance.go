package planner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// RebalanceGoal is what a rebalance plan works toward.
type RebalanceGoal int

// The goals.
const (
	// Spread evens each service's tasks out over the Availability Zones,
	// then over the instances of each zone, to at most one apart where
	// room allows.
	Spread RebalanceGoal = iota
	// Consolidate empties the least-filled instances into the others (in
	// the same Availability Zone where they fit), to free whole instances
	// (daemon tasks stay: an instance with only daemon tasks counts as
	// free).
	Consolidate
)

// RebalanceInput is the input of [PlanRebalance].
type RebalanceInput struct {
	Cluster string
	Goal    RebalanceGoal
	// MaxMoves bounds the plan's moves; 0 means 1,000.
	MaxMoves int
}

// Move is one task moved: its replacement starts on To, then it stops on
// From.
type Move struct {
	Task  string // the task ARN
	Group string
	From  string // container instance ARNs
	To    string
}

// RebalanceMetrics describe a cluster's balance.
type RebalanceMetrics struct {
	// Busy counts the instances running tasks other than daemon tasks.
	Busy int
	// ZoneSkew sums, over the services, the most minus the fewest of the
	// service's tasks in one zone, and InstanceSkew the same over the
	// instances of each zone.
	ZoneSkew, InstanceSkew int
}

// RebalancePlan is the moves, in waves, that reach the goal.
type RebalancePlan struct {
	// Waves are run one after the other; the moves of a wave run
	// together. A wave holds at most as many moves of a service as its
	// deployment configuration lets run at once: maximumPercent − 100 %
	// of its desired count with start-first moves (or, at 100 %, what
	// minimumHealthyPercent lets stop), at least one.
	Waves [][]Move
	// Before and After are the metrics of the cluster as it is and with
	// the moves applied.
	Before, After RebalanceMetrics
	// Held counts what could not move: with Consolidate, the tasks of
	// the instances that could not be emptied (a service whose deployment
	// configuration allows no move, 100 % / 100 %, or no other instance
	// takes them); with Spread, the moves that found no instance.
	Held int
	// Fork is a fork of the Client with the moves applied; stevedore.Diff
	// of the original's snapshot and the fork's gives the AWS CLI calls.
	Fork *stevedore.Client
}

// ErrRebalance is wrapped by the errors of an invalid rebalance input.
var ErrRebalance = errors.New("planner: invalid rebalance")

// PlanRebalance plans the moves that take a Client's cluster toward the
// goal, on a fork (the Client is not changed). Each move is a task's
// replacement placed on another instance that fits it (its constraints
// re-checked) and the task stopped, committed together on the fork; the
// moves are then grouped into waves that keep every service within its
// deployment configuration. Cost: O(moves × instances).
func PlanRebalance(ctx context.Context, c *stevedore.Client, in *RebalanceInput) (*RebalancePlan, error) {
	if in == nil {
		in = &RebalanceInput{}
	}
	if in.MaxMoves < 0 {
		return nil, fmt.Errorf("%w: MaxMoves is %d", ErrRebalance, in.MaxMoves)
	}
	if in.Goal != Spread && in.Goal != Consolidate {
		return nil, fmt.Errorf("%w: goal %d", ErrRebalance, in.Goal)
	}
	maxMoves := in.MaxMoves
	if maxMoves == 0 {
		maxMoves = 1000
	}
	f, err := c.Fork(ctx)
	if err != nil {
		return nil, err
	}
	svcs, err := services(ctx, f, in.Cluster)
	if err != nil {
		return nil, err
	}
	r := &rebalancer{svcs: svcs, replacements: map[string]bool{}}
	plan := &RebalancePlan{Fork: f}
	if plan.Before, err = r.metrics(ctx, f, in.Cluster); err != nil {
		return nil, err
	}
	var moves []Move
	// A move that failed is not tried again in a pass; a pass that moved
	// something and had failures is followed by another (the moves may
	// have made room), so the plan ends at a pass that moves nothing.
	passStart := 0
	for len(moves) < maxMoves {
		r.budget = maxMoves - len(moves)
		r.goal = in.Goal
		out, err := f.Schedule(ctx, &stevedore.ScheduleInput{Cluster: in.Cluster, Scheduler: r})
		if err != nil {
			return nil, err
		}
		if len(out.Tasks) == 0 || len(out.Tasks) != len(out.Stopped) {
			if r.held == 0 || len(moves) == passStart {
				break
			}
			passStart, r.held = len(moves), 0
			clear(r.tried)
			continue
		}
		for i, t := range out.Tasks {
			moves = append(moves, Move{Task: out.Stopped[i].TaskArn, Group: t.Group, From: out.Stopped[i].ContainerInstanceArn, To: t.ContainerInstanceArn})
			r.replacements[t.TaskArn[strings.LastIndexByte(t.TaskArn, '/')+1:]] = true
		}
	}
	plan.Held = r.held
	plan.Waves = waves(moves, svcs)
	if plan.After, err = r.metrics(ctx, f, in.Cluster); err != nil {
		return nil, err
	}
	return plan, nil
}

// serviceBounds is what waves need of a service.
type serviceBounds struct {
	perWave int // moves at once; 0: none
	daemon  bool
}

func services(ctx context.Context, c *stevedore.Client, cl string) (map[string]serviceBounds, error) {
	out := map[string]serviceBounds{}
	var token string
	for {
		l, err := c.ListServices(ctx, &stevedore.ListServicesInput{Cluster: cl, NextToken: token})
		if err != nil {
			return nil, err
		}
		for chunk := range slices.Chunk(l.ServiceArns, 10) {
			d, err := c.DescribeServices(ctx, &stevedore.DescribeServicesInput{Cluster: cl, Services: chunk})
			if err != nil {
				return nil, err
			}
			for _, s := range d.Services {
				b := serviceBounds{daemon: s.SchedulingStrategy == "DAEMON"}
				desired := s.DesiredCount
				maxPct, minPct := 200, 100
				if p := s.DeploymentConfiguration.MaximumPercent; p != nil {
					maxPct = *p
				}
				if p := s.DeploymentConfiguration.MinimumHealthyPercent; p != nil {
					minPct = *p
				}
				if extra := desired*maxPct/100 - desired; extra > 0 {
					b.perWave = extra
				} else if down := desired - (desired*minPct+99)/100; down > 0 {
					b.perWave = down
				}
				out["service:"+s.ServiceName] = b
			}
		}
		if l.NextToken == "" {
			return out, nil
		}
		token = l.NextToken
	}
}

// waves groups the moves, in order, into waves: each move goes into the
// first wave with room for its service that comes after the waves it
// depends on — the last that moved a task onto its source instance, and
// the last that freed room on its destination by moving a task off it.
func waves(moves []Move, svcs map[string]serviceBounds) [][]Move {
	var out [][]Move
	perWave := []map[string]int{}
	into, outOf := map[string]int{}, map[string]int{} // instance ARN → 1 + the last wave
	for _, m := range moves {
		limit := 1 << 30
		if b, ok := svcs[m.Group]; ok {
			limit = max(b.perWave, 1)
		}
		w := max(into[m.From], outOf[m.To])
		for w < len(out) && perWave[w][m.Group] >= limit {
			w++
		}
		if w == len(out) {
			out = append(out, nil)
			perWave = append(perWave, map[string]int{})
		}
		out[w] = append(out[w], m)
		perWave[w][m.Group]++
		into[m.To] = max(into[m.To], w+1)
		outOf[m.From] = max(outOf[m.From], w+1)
	}
	return out
}

// rebalancer decides one step of moves as a scheduler.Scheduler.
type rebalancer struct {
	svcs   map[string]serviceBounds
	goal   RebalanceGoal
	budget int
	held   int
	// tried are the instances Consolidate emptied or could not empty and
	// the Spread moves that failed, never tried again.
	tried map[string]bool
	// replacements are the ids of the tasks the plan started.
	replacements map[string]bool
}

func (r *rebalancer) movable(t *cluster.Task) bool {
	if t.LastStatus() == cluster.TaskStopped || t.LastStatus() == cluster.TaskProvisioning || t.DesiredStatus() == cluster.TaskStopped {
		return false // gone, waiting, or already stopping
	}
	if r.replacements[t.ID()] {
		return false // a task the plan started: moved once is enough, and it exists only on the fork
	}
	b, ok := r.svcs[t.Group()]
	return !ok || !b.daemon && b.perWave > 0
}

// Decide implements scheduler.Scheduler: one instance emptied
// (Consolidate) or one task moved (Spread).
func (r *rebalancer) Decide(v *cluster.View, plan *scheduler.Plan) {
	if r.tried == nil {
		r.tried = map[string]bool{}
	}
	if r.goal == Consolidate {
		r.consolidate(v, plan)
		return
	}
	r.spread(v, plan)
}

// fill is an instance's CPU and memory in use over what it registered.
func fill(in *cluster.Instance) float64 {
	var f float64
	if c := in.RegisteredCPU(); c > 0 {
		f += float64(c-in.RemainingCPU()) / float64(c)
	}
	if m := in.RegisteredMemory(); m > 0 {
		f += float64(m-in.RemainingMemory()) / float64(m)
	}
	return f
}

func (r *rebalancer) busy(v *cluster.View, in *cluster.Instance) bool {
	for t := range v.InstanceTasks(in) {
		if b, ok := r.svcs[t.Group()]; !ok || !b.daemon {
			return true
		}
	}
	return false
}

// target returns the best instance for t other than its own (fitting it
// with the plan counted, its constraints holding) among those ok accepts:
// the lowest rank (nil: all 0), then the least room left after, then by
// ARN; nil for none.
func target(v *cluster.View, t *cluster.Task, plan *scheduler.Plan, ok func(*cluster.Instance) bool, rank func(*cluster.Instance) int) *cluster.Instance {
	var best *cluster.Instance
	bestLeft, bestRank := 0.0, 0
	spec := t.Spec()
	for in := range v.Instances() {
		if in == t.Instance() || !ok(in) || in.Fits(spec.Demand, &plan.Pending) != cluster.ReasonNone {
			continue
		}
		if spec.Guard != nil && spec.Guard.Check(in, spec) != cluster.ReasonNone {
			continue
		}
		c, m, _ := plan.Pending.Resources(in)
		left := float64(in.RemainingCPU()-c-spec.Demand.CPU())/float64(max(in.RegisteredCPU(), 1)) +
			float64(in.RemainingMemory()-m-spec.Demand.Memory())/float64(max(in.RegisteredMemory(), 1))
		rk := 0
		if rank != nil {
			rk = rank(in)
		}
		if best == nil || rk < bestRank || rk == bestRank && (left < bestLeft || left == bestLeft && in.ARN() < best.ARN()) {
			best, bestLeft, bestRank = in, left, rk
		}
	}
	return best
}

func (r *rebalancer) consolidate(v *cluster.View, plan *scheduler.Plan) {
	var cands []*cluster.Instance
	for in := range v.Instances() {
		if in.Status() == cluster.InstanceActive && !r.tried[in.ARN()] && r.busy(v, in) {
			cands = append(cands, in)
		}
	}
	slices.SortFunc(cands, func(a, b *cluster.Instance) int {
		return cmp.Or(cmp.Compare(fill(a), fill(b)), strings.Compare(a.ARN(), b.ARN()))
	})
	for _, src := range cands {
		var moving []*cluster.Task
		for t := range v.InstanceTasks(src) {
			if b, ok := r.svcs[t.Group()]; ok && b.daemon {
				continue
			}
			moving = append(moving, t)
		}
		if len(moving) > r.budget {
			r.tried[src.ARN()] = true
			continue
		}
		ok := true
		for _, t := range moving {
			if !r.movable(t) {
				ok = false
				break
			}
			dst := target(v, t, plan, func(in *cluster.Instance) bool {
				return in != src && !r.tried[in.ARN()] && r.busy(v, in) && in.Status() == cluster.InstanceActive && in.AgentConnected()
			}, func(in *cluster.Instance) int { // the source's zone first, so the services keep their spread
				if in.AvailabilityZone() == src.AvailabilityZone() {
					return 0
				}
				return 1
			})
			if dst == nil {
				ok = false
				break
			}
			plan.Stop(t, "Rebalancing: consolidating instances", cluster.StopUserInitiated)
			plan.Place(dst, t.Spec())
		}
		r.tried[src.ARN()] = true
		if !ok {
			clear(plan.Stops)
			clear(plan.Placements)
			plan.Stops, plan.Placements = plan.Stops[:0], plan.Placements[:0]
			plan.Pending.Reset()
			r.held += len(moving)
			continue
		}
		return // one instance per step
	}
}

func (r *rebalancer) spread(v *cluster.View, plan *scheduler.Plan) {
	zoneOf := (*cluster.Instance).AvailabilityZone
	zones := v.AvailabilityZones()
	// Every live task of a service counts; only the movable ones move.
	groups := map[string][]*cluster.Task{}
	for t := range v.Tasks() {
		if t.LastStatus() == cluster.TaskStopped || t.Instance() == nil || t.DesiredStatus() == cluster.TaskStopped {
			continue
		}
		if b, ok := r.svcs[t.Group()]; ok && !b.daemon {
			groups[t.Group()] = append(groups[t.Group()], t)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for g := range groups {
			if !yield(g) {
				return
			}
		}
	})
	for _, g := range names {
		ts := groups[g]
		// Zones first.
		if len(zones) > 1 {
			count := map[string]int{}
			for _, z := range zones {
				count[z.Zone] = 0
			}
			for _, t := range ts {
				count[zoneOf(t.Instance())]++
			}
			lo, hi := zones[0].Zone, zones[0].Zone
			for _, z := range zones {
				if count[z.Zone] < count[lo] {
					lo = z.Zone
				}
				if count[z.Zone] > count[hi] {
					hi = z.Zone
				}
			}
			if count[hi]-count[lo] > 1 && r.moveOne(v, plan, ts, func(in *cluster.Instance) bool { return zoneOf(in) == hi },
				func(in *cluster.Instance) bool { return zoneOf(in) == lo }, g+"/"+hi+">"+lo) {
				return
			}
		}
		// Then the instances of each zone.
		perInstance := map[*cluster.Instance]int{}
		for _, t := range ts {
			perInstance[t.Instance()]++
		}
		for _, z := range zones {
			var lo, hi *cluster.Instance
			for in := range v.Instances() {
				if in.Status() != cluster.InstanceActive || zoneOf(in) != z.Zone {
					continue
				}
				n := perInstance[in]
				if lo == nil || n < perInstance[lo] {
					lo = in
				}
				if hi == nil || n > perInstance[hi] {
					hi = in
				}
			}
			if lo != nil && perInstance[hi]-perInstance[lo] > 1 && r.moveOne(v, plan, ts, func(in *cluster.Instance) bool { return in == hi },
				func(in *cluster.Instance) bool { return in == lo }, g+"/"+hi.ARN()+">"+lo.ARN()) {
				return
			}
		}
	}
}

// moveOne moves one task of ts on an instance from accepts onto an
// instance to accepts; key names the move, which is not tried twice when
// it fails.
func (r *rebalancer) moveOne(v *cluster.View, plan *scheduler.Plan, ts []*cluster.Task, from, to func(*cluster.Instance) bool, key string) bool {
	if r.tried[key] || r.budget < 1 {
		return false
	}
	for _, t := range ts {
		if !from(t.Instance()) || !r.movable(t) {
			continue
		}
		// The instance of the zone with the fewest of the group's tasks.
		dst := target(v, t, plan, func(in *cluster.Instance) bool {
			return to(in) && in.Status() == cluster.InstanceActive && in.AgentConnected()
		}, func(in *cluster.Instance) int {
			return in.GroupCount(t.Group()) + plan.Pending.GroupCount(in, t.Group())
		})
		if dst == nil {
			continue
		}
		plan.Stop(t, "Rebalancing: spreading the service", cluster.StopUserInitiated)
		plan.Place(dst, t.Spec())
		return true
	}
	r.tried[key] = true
	r.held++
	return false
}

// metrics measures the cluster's balance.
func (r *rebalancer) metrics(ctx context.Context, c *stevedore.Client, cl string) (RebalanceMetrics, error) {
	var m RebalanceMetrics
	_, err := c.Schedule(ctx, &stevedore.ScheduleInput{Cluster: cl, Scheduler: scheduler.Func(func(v *cluster.View, _ *scheduler.Plan) {
		m = RebalanceMetrics{}
		zoneOf := (*cluster.Instance).AvailabilityZone
		perZone := map[string]map[string]int{}
		perInst := map[string]map[*cluster.Instance]int{}
		for in := range v.Instances() {
			if in.Status() == cluster.InstanceActive && r.busy(v, in) {
				m.Busy++
			}
		}
		for t := range v.Tasks() {
			if t.LastStatus() == cluster.TaskStopped || t.Instance() == nil {
				continue
			}
			if b, ok := r.svcs[t.Group()]; !ok || b.daemon {
				continue
			}
			if perZone[t.Group()] == nil {
				perZone[t.Group()] = map[string]int{}
				perInst[t.Group()] = map[*cluster.Instance]int{}
			}
			perZone[t.Group()][zoneOf(t.Instance())]++
			perInst[t.Group()][t.Instance()]++
		}
		zones := v.AvailabilityZones()
		for g, byZone := range perZone {
			lo, hi := -1, 0
			for _, z := range zones {
				n := byZone[z.Zone]
				if lo < 0 || n < lo {
					lo = n
				}
				hi = max(hi, n)
			}
			if lo >= 0 {
				m.ZoneSkew += hi - lo
			}
			for _, z := range zones {
				ilo, ihi := -1, 0
				for in := range v.Instances() {
					if in.Status() != cluster.InstanceActive || zoneOf(in) != z.Zone {
						continue
					}
					n := perInst[g][in]
					if ilo < 0 || n < ilo {
						ilo = n
					}
					ihi = max(ihi, n)
				}
				if ilo >= 0 {
					m.InstanceSkew += ihi - ilo
				}
			}
		}
	})})
	return m, err
}
