package stevedore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/instancetypes"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
)

// Managed scaling: the loop ECS runs for each Auto Scaling group capacity
// provider, and the Auto Scaling group's own, in [Client.ManageCapacity].

const (
	// ProvisioningTimeout is how long a task stays PROVISIONING before it
	// stops with stopCode TaskFailedToStart [INF: ECS does not document
	// the bound; 30 minutes is what its console shows tasks give up after].
	ProvisioningTimeout = 30 * time.Minute
	// ScaleInAfter is how long the CapacityProviderReservation must stay
	// below the target capacity before managed scaling scales in: the 15
	// one-minute data points of the low-metric alarm ECS creates.
	ScaleInAfter = 15 * time.Minute
)

// scaleState is what a provider's managed scaling remembers between
// steps.
type scaleState struct {
	belowSince time.Time // since when the metric is below the target; zero if it is not
}

// provisioningPlan is how a PROVISIONING task is placed once capacity
// arrives: the placement strategies and constraints of its RunTask call,
// and the reason it last failed.
type provisioningPlan struct {
	strategies  []placement.Strategy
	constraints placement.Constraints
	reason      cluster.Reason
}

// providerKey names a task spec or demand on a capacity provider.
type providerKey struct {
	of   any // *cluster.TaskSpec or *cluster.Demand
	name string
}

// providerSpec returns spec with its demand on the capacity provider
// name. The demand is one per (demand, provider), so that the placement
// engine's census of it lasts between calls.
func (c *Client) providerSpec(spec *cluster.TaskSpec, name string) *cluster.TaskSpec {
	shared := false
	if s, ok := c.specs.Load(spec.TaskDefinitionARN); ok && s.(*cluster.TaskSpec) == spec {
		shared = true
		if ps, ok := c.providerDemands.Load(providerKey{spec, name}); ok {
			return ps.(*cluster.TaskSpec)
		}
	}
	own := *spec
	own.Demand = c.providerDemand(spec.Demand, name)
	if shared && c.interned.Load() < maxInterned {
		got, loaded := c.providerDemands.LoadOrStore(providerKey{spec, name}, &own)
		if !loaded {
			c.interned.Add(1)
		}
		return got.(*cluster.TaskSpec)
	}
	return &own
}

// providerDemand returns d on the capacity provider name, one per pair
// while fewer than maxInterned are kept.
func (c *Client) providerDemand(d *cluster.Demand, name string) *cluster.Demand {
	k := providerKey{d, name}
	if pd, ok := c.providerDemands.Load(k); ok {
		return pd.(*cluster.Demand)
	}
	pd := d.WithCapacityProvider(name)
	if c.interned.Load() < maxInterned {
		got, loaded := c.providerDemands.LoadOrStore(k, pd)
		if !loaded {
			c.interned.Add(1)
		}
		return got.(*cluster.Demand)
	}
	return pd
}

// callStrategy returns the capacity provider strategy a RunTask or
// CreateService call runs with: its own (checked against the cluster's
// providers), else the cluster's default when it names no launch type,
// else none. Call it under Client.mu's read lock.
func (c *Client) callStrategy(e *clusterEntry, launchType string, items []CapacityProviderStrategyItem) ([]scheduler.StrategyItem, error) {
	if len(items) > 0 && launchType != "" {
		return nil, invalidParameter(nil, "Specifying both a launchType and capacityProviderStrategy is not supported. Remove one and try again.")
	}
	if len(items) == 0 {
		if launchType != "" || len(e.defaultStrategy) == 0 {
			return nil, nil
		}
		items = e.defaultStrategy
	}
	checked, err := c.strategyItems(items, func(name string) bool { return slices.Contains(e.providers, name) }, "capacityProviderStrategy")
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.StrategyItem, len(checked))
	for i, it := range checked {
		out[i] = scheduler.StrategyItem{Provider: it.CapacityProvider, Base: it.Base, Weight: it.Weight}
	}
	return out, nil
}

// managedScalingOn reports whether the provider name scales its group.
func (c *Client) managedScalingOn(name string) bool {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	p, ok := c.providers[name]
	return ok && p.scales()
}

// ManageCapacityInput is the input of [Client.ManageCapacity].
type ManageCapacityInput struct {
	Cluster string `json:"cluster,omitempty"`
}

// ManageCapacityOutput is what one [Client.ManageCapacity] step did.
type ManageCapacityOutput struct {
	// Metrics has one entry per capacity provider of the cluster with
	// managed scaling, by name.
	Metrics []CapacityProviderMetric `json:"metrics"`
	// Launched are the EC2 instance ids the groups launched; Registered
	// the container instances that joined the cluster.
	Launched   []string `json:"launched"`
	Registered []string `json:"registered"`
	// Draining are the container instances managed draining set DRAINING
	// to scale in; Terminated the container instances terminated (or, for
	// a launch cancelled before it registered, the EC2 instance id).
	Draining   []string `json:"draining"`
	Terminated []string `json:"terminated"`
	// Placed are the PROVISIONING tasks now placed (PENDING); Failed
	// those stopped after ProvisioningTimeout.
	Placed []Task `json:"placed"`
	Failed []Task `json:"failed"`
}

// CapacityProviderMetric is a capacity provider's
// CapacityProviderReservation and how it was computed.
type CapacityProviderMetric struct {
	CapacityProvider string `json:"capacityProvider"`
	// CapacityProviderReservation is M/N × 100, with ECS's special cases:
	// 100 when N and M are 0, 200 when only N is 0.
	CapacityProviderReservation float64 `json:"capacityProviderReservation"`
	// Instances (N) are the group's instances launching or in service;
	// InstancesNeeded (M) those running tasks other than daemon tasks,
	// or, with tasks waiting for capacity (PROVISIONING tasks and service
	// tasks that fit on none of the provider's instances), N plus the
	// instances they still need.
	Instances       int `json:"instances"`
	InstancesNeeded int `json:"instancesNeeded"`
	// DesiredCapacity is the group's desired capacity after the step.
	DesiredCapacity int `json:"desiredCapacity"`
}

// ManageCapacity runs one step of capacity management for a cluster at
// the clock's time (not an ECS operation: the loop ECS and EC2 Auto Scaling
// run; [Driver.Step] calls it). In order:
//
//  1. Launched instances whose LaunchDelay has passed register, belonging
//     to their group's capacity provider.
//  2. Each PROVISIONING task is placed if an instance of its provider can
//     take it now (oldest first, with its RunTask call's strategies and
//     constraints), or stops with stopCode TaskFailedToStart once it has
//     waited ProvisioningTimeout.
//  3. Managed termination protection: instances running tasks other than
//     daemon tasks are protected from scale-in, the others not.
//  4. Managed scaling computes each provider's CapacityProviderReservation
//     (counting the PROVISIONING tasks and the service tasks the last
//     [Client.Reconcile] could not place on the provider) and moves its group's desired capacity toward
//     ⌈M × 100 / targetCapacity⌉: a scale-out at once, by at least the
//     minimum and at most the maximum scaling step, within MaxSize; a
//     scale-in once the metric has stayed below the target for
//     [ScaleInAfter], within MinSize.
//  5. Each group moves toward its desired capacity: it launches instances
//     (none while its launches fail), or terminates some — unregistered
//     launches first, then unprotected instances from the zone with the
//     most. With managed draining an instance is first set DRAINING and
//     terminated once only daemon tasks are left on it and none of its
//     tasks is protected from scale-in; without, at once, stopping its
//     tasks.
func (c *Client) ManageCapacity(ctx context.Context, in *ManageCapacityInput) (*ManageCapacityOutput, error) {
	if in == nil {
		in = &ManageCapacityInput{}
	}
	var e *clusterEntry
	if err := c.withCluster(ctx, in.Cluster, func(x *clusterEntry) error { e = x; return nil }); err != nil {
		return nil, err
	}
	e.capMu.Lock()
	defer e.capMu.Unlock()
	out := &ManageCapacityOutput{Metrics: []CapacityProviderMetric{}, Launched: []string{}, Registered: []string{},
		Draining: []string{}, Terminated: []string{}, Placed: []Task{}, Failed: []Task{}}
	now := c.clock.Now()
	if err := c.registerReady(ctx, e, now, out); err != nil {
		return nil, err
	}
	if err := c.placeProvisioning(e, now, out); err != nil {
		return nil, err
	}
	daemons := e.daemonGroups()
	c.cpMu.Lock()
	groups := c.sortedGroups(e.c.Name())
	busy, gone := c.busyInstances(e, groups, daemons)
	for _, g := range groups { // deregistered or lost by other means: no longer the group's
		for _, inst := range slices.Clone(g.instances) {
			if gone[inst.arn] {
				g.remove(inst)
				g.activity(now, true, "Instance %s left the group: its container instance %s is INACTIVE.", inst.id, inst.arn)
			}
		}
	}
	c.protectBusy(groups, busy)
	c.scale(e, groups, busy, now, out)
	launched := false
	type stop struct {
		g    *autoScalingGroup
		inst *asgInstance
	}
	var drain, terminate []stop
	for _, g := range groups {
		switch live := g.live(); {
		case live < g.desired:
			for _, inst := range g.launch(g.desired-live, now) {
				out.Launched = append(out.Launched, inst.id)
				launched = true
			}
		case live > g.desired:
			for _, inst := range g.victims(live - g.desired) {
				switch {
				case inst.state == lifecyclePending:
					g.remove(inst)
					g.activity(now, true, "Terminating EC2 instance: %s", inst.id)
					out.Terminated = append(out.Terminated, inst.id)
				case g.provider != nil && g.provider.AutoScalingGroupProvider.ManagedDraining == enabled:
					inst.state = lifecycleTerminating
					drain = append(drain, stop{g, inst})
				default:
					terminate = append(terminate, stop{g, inst})
				}
			}
		}
		for _, inst := range g.instances {
			if inst.state == lifecycleTerminating && busy[inst.arn] == 0 && !slices.ContainsFunc(drain, func(s stop) bool { return s.inst == inst }) {
				terminate = append(terminate, stop{g, inst})
			}
		}
	}
	c.cpMu.Unlock()
	for _, s := range drain {
		_, err := c.UpdateContainerInstancesState(ctx, &UpdateContainerInstancesStateInput{Cluster: e.c.Name(), ContainerInstances: []string{s.inst.arn}, Status: "DRAINING"})
		if err != nil {
			return nil, err
		}
		out.Draining = append(out.Draining, s.inst.arn)
	}
	for _, s := range terminate {
		if _, err := c.TerminateInstance(ctx, &TerminateInstanceInput{Cluster: e.c.Name(), ContainerInstance: s.inst.arn}); err != nil {
			return nil, err
		}
		c.cpMu.Lock()
		s.g.remove(s.inst)
		s.g.activity(now, true, "Terminating EC2 instance: %s", s.inst.id)
		c.cpMu.Unlock()
		out.Terminated = append(out.Terminated, s.inst.arn)
	}
	if launched {
		before := len(out.Registered)
		if err := c.registerReady(ctx, e, now, out); err != nil {
			return nil, err
		}
		if len(out.Registered) > before {
			if err := c.placeProvisioning(e, now, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// registerReady registers the cluster's launched instances whose launch
// delay has passed.
func (c *Client) registerReady(ctx context.Context, e *clusterEntry, now time.Time, out *ManageCapacityOutput) error {
	type ready struct {
		g    *autoScalingGroup
		inst *asgInstance
		reg  *RegisterContainerInstanceInput
	}
	var todo []ready
	c.cpMu.Lock()
	for _, g := range c.sortedGroups(e.c.Name()) {
		for _, inst := range g.instances {
			if inst.state == lifecyclePending && !now.Before(inst.readyAt) {
				todo = append(todo, ready{g, inst, g.registration(inst)})
			}
		}
	}
	c.cpMu.Unlock()
	for _, r := range todo {
		reg, err := c.RegisterContainerInstance(ctx, r.reg)
		if err != nil {
			return err
		}
		arn := reg.ContainerInstance.ContainerInstanceArn
		c.cpMu.Lock()
		r.inst.state, r.inst.arn, r.inst.registered = lifecycleInService, arn, now
		c.cpMu.Unlock()
		out.Registered = append(out.Registered, arn)
	}
	return nil
}

// placeProvisioning places or times out the cluster's PROVISIONING tasks.
func (c *Client) placeProvisioning(e *clusterEntry, now time.Time, out *ManageCapacityOutput) error {
	type waiting struct {
		id       string
		spec     *cluster.TaskSpec
		created  time.Time
		instance *cluster.Instance
		reason   cluster.Reason
	}
	var ws []waiting
	e.c.Read(func(v *cluster.View) {
		for t := range v.Provisioning() {
			ws = append(ws, waiting{id: t.ID(), spec: t.Spec(), created: t.CreatedAt()})
		}
	})
	e.mu.Lock()
	e.c.Read(func(v *cluster.View) {
		for id := range e.provisioning { // stopped by StopTask meanwhile
			if t, ok := v.Task(id); !ok || t.LastStatus() != cluster.TaskProvisioning {
				delete(e.provisioning, id)
			}
		}
	})
	e.mu.Unlock()
	if len(ws) == 0 {
		return nil
	}
	rc := c.runTaskCall()
	defer rc.release()
	var p cluster.Pending
	for i := range ws {
		w := &ws[i]
		e.mu.Lock()
		plan := e.provisioning[w.id]
		e.mu.Unlock()
		if now.Sub(w.created) >= ProvisioningTimeout {
			reason := plan.reason
			if reason == cluster.ReasonNone {
				reason = cluster.ReasonCapacityProvider
			}
			info, err := e.c.StopTask(w.id, "TaskFailedToStart: "+reason.String(), cluster.StopTaskFailedToStart)
			if err != nil {
				continue // stopped meanwhile
			}
			e.forgetProvisioning(w.id)
			out.Failed = append(out.Failed, c.task(info))
			continue
		}
		var d placement.Decision
		e.c.Read(func(v *cluster.View) {
			p.Reset()
			d = e.engine.Place(v, &placement.Request{Spec: w.spec, Strategies: plan.strategies, Constraints: plan.constraints, Rand: rc.rnd}, &p)
			if d.Instance != nil {
				w.instance = d.Instance
			}
		})
		if d.Instance == nil {
			e.mu.Lock()
			if pl, ok := e.provisioning[w.id]; ok {
				pl.reason = d.Reason
				e.provisioning[w.id] = pl
			}
			e.mu.Unlock()
			continue
		}
		info, err := e.c.PlaceProvisioning(w.id, cluster.Placement{InstanceID: w.instance.ID(), Instance: w.instance})
		var conflict *cluster.ConflictError
		if errors.As(err, &conflict) {
			continue // the next step tries again
		}
		if err != nil {
			return err
		}
		e.forgetProvisioning(w.id)
		out.Placed = append(out.Placed, c.task(info))
	}
	return nil
}

// forgetProvisioning drops a task's provisioning plan.
func (e *clusterEntry) forgetProvisioning(id string) {
	e.mu.Lock()
	delete(e.provisioning, id)
	e.mu.Unlock()
}

// daemonGroups returns the task groups of the cluster's DAEMON services.
func (e *clusterEntry) daemonGroups() map[string]bool {
	out := map[string]bool{}
	for _, name := range e.services.Names(true) {
		if s, ok := e.services.Get(name); ok && s.Config.Daemon {
			out["service:"+name] = true
		}
	}
	return out
}

// busyInstances counts, per container instance ARN of the groups'
// in-service instances, the tasks other than daemon tasks (PENDING or
// RUNNING) on it, plus one for a task protected from scale-in (so that
// managed draining waits for it), and the ARNs of those that are INACTIVE
// or gone. Call it with cpMu held.
func (c *Client) busyInstances(e *clusterEntry, groups []*autoScalingGroup, daemons map[string]bool) (busy map[string]int, gone map[string]bool) {
	busy, gone = map[string]int{}, map[string]bool{}
	now := c.clock.Now()
	e.c.Read(func(v *cluster.View) {
		for _, g := range groups {
			for _, inst := range g.instances {
				if inst.arn == "" {
					continue
				}
				ci, ok := v.Instance(inst.arn)
				if !ok || ci.Status() == cluster.InstanceInactive {
					gone[inst.arn] = true
					continue
				}
				n := 0
				for t := range v.InstanceTasks(ci) {
					if !daemons[t.Group()] || t.Protected(now) {
						n++
					}
				}
				busy[inst.arn] = n
			}
		}
	})
	return busy, gone
}

// protectBusy is managed termination protection: on the groups of
// providers with it (and managed scaling) enabled, an in-service instance
// is protected from scale-in exactly while it runs tasks other than
// daemon tasks. Call it with cpMu held.
func (c *Client) protectBusy(groups []*autoScalingGroup, busy map[string]int) {
	for _, g := range groups {
		p := g.provider
		if p == nil || !p.scales() || p.AutoScalingGroupProvider.ManagedTerminationProtection != enabled {
			continue
		}
		for _, inst := range g.instances {
			if inst.state == lifecycleInService {
				inst.protected = busy[inst.arn] > 0
			}
		}
	}
}

// scale is managed scaling for the providers of the groups. Call it with
// cpMu held.
func (c *Client) scale(e *clusterEntry, groups []*autoScalingGroup, busy map[string]int, now time.Time, out *ManageCapacityOutput) {
	// What waits for capacity: the PROVISIONING tasks, and the service
	// tasks the last reconcile could not place on their providers.
	waiting := map[string][]waitingDemand{}
	e.c.Read(func(v *cluster.View) {
		for t := range v.Provisioning() {
			d := t.Demand()
			waiting[d.CapacityProvider()] = append(waiting[d.CapacityProvider()], waitingDemand{d, 1, false})
		}
	})
	// A service's unplaced tasks are what the last reconcile found; they
	// do not count on a group that registered an instance since this
	// step began, as the next reconcile may place them there.
	for _, u := range e.services.Unplaced() {
		waiting[u.Provider] = append(waiting[u.Provider], waitingDemand{u.Demand, u.Count, true})
	}
	for _, g := range groups {
		p := g.provider
		if p == nil || p.cluster != e.c.Name() || !p.scales() {
			continue
		}
		ms := p.AutoScalingGroupProvider.ManagedScaling
		n, launching, m := 0, 0, 0
		for _, inst := range g.instances {
			switch inst.state {
			case lifecyclePending:
				n++
				launching++
			case lifecycleInService:
				n++
				if busy[inst.arn] > 0 {
					m++
				}
			}
		}
		ws := waiting[p.Name]
		if slices.ContainsFunc(g.instances, func(inst *asgInstance) bool { return inst.registered.Equal(now) }) {
			ws = slices.DeleteFunc(slices.Clone(ws), func(w waitingDemand) bool { return w.service })
		}
		if need := g.instancesFor(ws, c.groupTaskENIs(g)); need > 0 {
			m = n + max(need-launching, 0)
		}
		metric := reservation(m, n)
		target := (m*100 + ms.TargetCapacity - 1) / ms.TargetCapacity
		switch {
		case target > g.desired:
			p.scale.belowSince = time.Time{}
			step := min(max(target-g.desired, ms.MinimumScalingStepSize), ms.MaximumScalingStepSize)
			if d := min(g.desired+step, g.max); d > g.desired {
				g.activity(now, true, "Capacity provider %s: CapacityProviderReservation %.0f above target %d; desired capacity %d to %d.", p.Name, metric, ms.TargetCapacity, g.desired, d)
				g.desired = d
			}
		case target < g.desired && metric < float64(ms.TargetCapacity):
			if p.scale.belowSince.IsZero() {
				p.scale.belowSince = now
			}
			if now.Sub(p.scale.belowSince) >= ScaleInAfter {
				if d := max(target, g.min); d < g.desired {
					g.activity(now, true, "Capacity provider %s: CapacityProviderReservation %.0f below target %d for %v; desired capacity %d to %d.", p.Name, metric, ms.TargetCapacity, ScaleInAfter, g.desired, d)
					g.desired = d
				}
				p.scale.belowSince = time.Time{}
			}
		default:
			p.scale.belowSince = time.Time{}
		}
		out.Metrics = append(out.Metrics, CapacityProviderMetric{
			CapacityProvider: p.Name, CapacityProviderReservation: metric,
			Instances: n, InstancesNeeded: m, DesiredCapacity: g.desired,
		})
	}
	slices.SortFunc(out.Metrics, func(a, b CapacityProviderMetric) int { return strings.Compare(a.CapacityProvider, b.CapacityProvider) })
}

// Reservation returns the CapacityProviderReservation metric for M
// instances needed and N instances running, as ECS computes it: M/N × 100,
// except 100 when both are 0 and 200 when only N is.
func Reservation(m, n int) float64 { return reservation(m, n) }

func reservation(m, n int) float64 {
	switch {
	case n == 0 && m == 0:
		return 100
	case n == 0:
		return 200
	}
	return float64(m) * 100 / float64(n)
}

// waitingDemand is n tasks of demand d waiting for capacity.
type waitingDemand struct {
	d       *cluster.Demand
	n       int
	service bool // a service's, not a PROVISIONING task
}

// groupTaskENIs returns how many awsvpc tasks an instance the group
// launches can run (0: no limit), as its registration will find it.
func (c *Client) groupTaskENIs(g *autoScalingGroup) int {
	it, ok := instancetypes.Lookup(g.instanceType)
	if !ok {
		return 0
	}
	return it.TaskENIs(it.SupportsTrunking() && c.accountSetting("awsvpcTrunking") == "enabled")
}

// instancesFor returns a lower bound on the new instances of the group's
// shape the waiting demands need: per resource, the demands' sum over one
// instance's amount, rounded up — CPU, memory, and ENIs over the awsvpc
// tasks one instance runs (enis, 0 for no limit) —; the count of demands
// of any one static host port (one per instance); and at least 1 when any
// demand fits an instance at all. Demands larger than an instance are
// left out: no scale-out places them [INF: ECS documents that it
// estimates M from the waiting tasks' CPU, memory, ENI, port and GPU
// requirements and the group's instance types, without the formula].
func (g *autoScalingGroup) instancesFor(ds []waitingDemand, enis int) int {
	cpu, _ := ResourceNamed(g.resources, "CPU")
	mem, _ := ResourceNamed(g.resources, "MEMORY")
	var sumCPU, sumMem, sumENIs int64
	fits := 0
	ports := map[uint32]int64{} // TCP ports as is, UDP ones + 1<<16
	perPort := int64(0)
	for _, w := range ds {
		d := w.d
		if d.CPU() > cpu.IntegerValue || d.Memory() > mem.IntegerValue {
			continue
		}
		sumCPU += d.CPU() * int64(w.n)
		sumMem += d.Memory() * int64(w.n)
		sumENIs += int64(d.ENIs()) * int64(w.n)
		fits += w.n
		for p := range d.Ports().All() {
			ports[uint32(p)] += int64(w.n)
			perPort = max(perPort, ports[uint32(p)])
		}
		for p := range d.PortsUDP().All() {
			ports[uint32(p)+1<<16] += int64(w.n)
			perPort = max(perPort, ports[uint32(p)+1<<16])
		}
	}
	if fits == 0 {
		return 0
	}
	need := max(int64(1), perPort)
	if cpu.IntegerValue > 0 {
		need = max(need, (sumCPU+cpu.IntegerValue-1)/cpu.IntegerValue)
	}
	if mem.IntegerValue > 0 {
		need = max(need, (sumMem+mem.IntegerValue-1)/mem.IntegerValue)
	}
	if enis > 0 {
		need = max(need, (sumENIs+int64(enis)-1)/int64(enis))
	}
	return int(need)
}
