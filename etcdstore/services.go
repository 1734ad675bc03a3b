package etcdstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Task definitions and services are keys too: a task definition revision
// at Prefix+"taskdefs/<family>/<revision, 8 digits>" (account-wide, as in
// ECS: every cluster under the prefix shares them), a service at the
// cluster's key + "/services/<name>". The service scheduler runs in one
// process at a time (Cluster.RunServices): it reads the services' keys at
// each tick and commits through the Cluster like any other scheduler,
// guarded also by its election term.

// ErrNoTaskDefinition is returned for a task definition ARN that has no
// key.
var ErrNoTaskDefinition = errors.New("etcdstore: no such task definition revision")

// ErrInvalidService wraps a service spec that cannot run: a desired count
// below zero, an unknown scheduling strategy, a placement strategy or
// constraint that does not parse.
var ErrInvalidService = errors.New("etcdstore: invalid service")

// ServiceSpec is a service as its key holds it, in ECS's names: what
// CreateService sets and UpdateService changes.
type ServiceSpec struct {
	ServiceName string `json:"serviceName"`
	// TaskDefinition is the ARN of a revision registered with
	// [Cluster.RegisterTaskDefinition].
	TaskDefinition string `json:"taskDefinition"`
	DesiredCount   int    `json:"desiredCount"`
	// SchedulingStrategy is REPLICA (empty means REPLICA) or DAEMON.
	SchedulingStrategy      string                            `json:"schedulingStrategy,omitempty"`
	DeploymentConfiguration stevedore.DeploymentConfiguration `json:"deploymentConfiguration"`
	PlacementStrategy       []stevedore.PlacementStrategy     `json:"placementStrategy,omitempty"`
	PlacementConstraints    []stevedore.PlacementConstraint   `json:"placementConstraints,omitempty"`
	CreatedAt               time.Time                         `json:"createdAt"`
	// Status is ACTIVE (empty means ACTIVE), or DRAINING once
	// DeleteService has been called: the service scheduler stops its
	// tasks, then deletes the key.
	Status scheduler.ServiceStatus `json:"status,omitempty"`
}

func (c *Cluster) serviceKey(name string) string { return c.key + "/services/" + name }

func (c *Cluster) taskDefinitionKey(family string, revision int) string {
	return fmt.Sprintf("%staskdefs/%s/%08d", c.opts.Prefix, family, revision)
}

// RegisterTaskDefinition registers td as its family's next revision: it
// is validated as ECS validates it (taskdef.Registry.Register), given its
// ARN, revision, status ACTIVE and registration time, and written under
// a key of its own, guarded so that two processes registering the same
// family get two revisions. It returns the registered definition.
func (c *Cluster) RegisterTaskDefinition(ctx context.Context, td taskdef.TaskDefinition) (taskdef.TaskDefinition, error) {
	region, account := arnParts(c.opts.ARNPrefix)
	scratch := taskdef.NewRegistry(region, account)
	now := c.opts.Clock.Now()
	e, err := scratch.Register(td, now)
	if err != nil {
		return taskdef.TaskDefinition{}, err
	}
	def := e.Definition()
	prefix := fmt.Sprintf("%staskdefs/%s/", c.opts.Prefix, def.Family)
	for {
		resp, err := c.etcd.Get(ctx, prefix, clientv3.WithLastKey()...)
		if err != nil {
			return taskdef.TaskDefinition{}, fmt.Errorf("etcdstore: %w", err)
		}
		rev := 1
		if len(resp.Kvs) == 1 {
			last, _ := strconv.Atoi(strings.TrimPrefix(string(resp.Kvs[0].Key), prefix))
			rev = last + 1
		}
		def.Revision = rev
		def.TaskDefinitionArn = fmt.Sprintf("%stask-definition/%s:%d", c.opts.ARNPrefix, def.Family, rev)
		body, err := json.Marshal(def)
		if err != nil {
			return taskdef.TaskDefinition{}, err
		}
		key := c.taskDefinitionKey(def.Family, rev)
		txn, err := c.etcd.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(body))).Commit()
		if err != nil {
			return taskdef.TaskDefinition{}, fmt.Errorf("etcdstore: %w", err)
		}
		if txn.Succeeded {
			return def, nil
		}
		// Another process took this revision: take the next.
	}
}

// TaskDefinition returns the registered revision arn names
// ("arn:...:task-definition/family:revision").
func (c *Cluster) TaskDefinition(ctx context.Context, arn string) (taskdef.TaskDefinition, error) {
	ref := arn[strings.LastIndexByte(arn, '/')+1:]
	family, revText, ok := strings.Cut(ref, ":")
	rev, err := strconv.Atoi(revText)
	if !ok || err != nil || rev < 1 {
		return taskdef.TaskDefinition{}, fmt.Errorf("%w: %q is not family:revision", ErrNoTaskDefinition, arn)
	}
	resp, err := c.etcd.Get(ctx, c.taskDefinitionKey(family, rev))
	if err != nil {
		return taskdef.TaskDefinition{}, fmt.Errorf("etcdstore: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return taskdef.TaskDefinition{}, fmt.Errorf("%w: %s", ErrNoTaskDefinition, arn)
	}
	return taskdef.DecodeDescribed(resp.Kvs[0].Value)
}

// arnParts returns the region and account of "arn:aws:ecs:REGION:ACCOUNT:".
func arnParts(prefix string) (region, account string) {
	parts := strings.Split(prefix, ":")
	if len(parts) < 5 {
		return "us-east-1", "123456789012"
	}
	return parts[3], parts[4]
}

// CreateService writes a service's key. Its task definition must be
// registered and its spec valid ([ErrInvalidService]); a service of that
// name is scheduler.ErrServiceExists. The elected process's RunServices
// starts its tasks at its next tick.
func (c *Cluster) CreateService(ctx context.Context, spec ServiceSpec) error {
	if spec.ServiceName == "" || strings.ContainsAny(spec.ServiceName, "/\x00") {
		return fmt.Errorf("%w: serviceName %q must be non-empty, without '/'", ErrInvalidService, spec.ServiceName)
	}
	if _, err := c.serviceConfig(ctx, spec, nil); err != nil {
		return err
	}
	spec.CreatedAt, spec.Status = c.opts.Clock.Now(), ""
	body, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	key := c.serviceKey(spec.ServiceName)
	txn, err := c.etcd.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(body))).Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: %w", err)
	}
	if !txn.Succeeded {
		return scheduler.ErrServiceExists
	}
	return nil
}

// UpdateService changes a service's desired count (when desiredCount is
// not nil) and task definition (when taskDefinition is not empty: a new
// deployment), guarded by the key's mod revision so that concurrent
// updates are applied one after the other. It returns the new spec.
func (c *Cluster) UpdateService(ctx context.Context, name string, desiredCount *int, taskDefinition string) (ServiceSpec, error) {
	return c.changeSpec(ctx, name, func(spec *ServiceSpec) (bool, error) {
		if spec.Status == scheduler.ServiceDraining {
			return false, scheduler.ErrServiceNotActive
		}
		if desiredCount != nil {
			spec.DesiredCount = *desiredCount
		}
		if taskDefinition != "" {
			spec.TaskDefinition = taskDefinition
		}
		_, err := c.serviceConfig(ctx, *spec, nil)
		return true, err
	})
}

// changeSpec reads a service's spec, lets change change it (or say it
// need not be written, or refuse), and writes it guarded by the key's mod
// revision, again from a fresh read when another write came first.
func (c *Cluster) changeSpec(ctx context.Context, name string, change func(spec *ServiceSpec) (write bool, err error)) (ServiceSpec, error) {
	key := c.serviceKey(name)
	for {
		resp, err := c.etcd.Get(ctx, key)
		if err != nil {
			return ServiceSpec{}, fmt.Errorf("etcdstore: %w", err)
		}
		if len(resp.Kvs) == 0 {
			return ServiceSpec{}, scheduler.ErrServiceNotFound
		}
		var spec ServiceSpec
		if err := json.Unmarshal(resp.Kvs[0].Value, &spec); err != nil {
			return ServiceSpec{}, err
		}
		write, err := change(&spec)
		if err != nil {
			return ServiceSpec{}, err
		}
		if !write {
			return spec, nil
		}
		body, err := json.Marshal(spec)
		if err != nil {
			return ServiceSpec{}, err
		}
		txn, err := c.etcd.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).Then(clientv3.OpPut(key, string(body))).Commit()
		if err != nil {
			return ServiceSpec{}, fmt.Errorf("etcdstore: %w", err)
		}
		if txn.Succeeded {
			return spec, nil
		}
	}
}

// DeleteService marks a service DRAINING, as ECS's DeleteService does: a
// service still scaled above 0 needs force (else
// scheduler.ErrServiceScaled). The elected service scheduler stops its
// tasks, then deletes its key. It returns the spec as written.
func (c *Cluster) DeleteService(ctx context.Context, name string, force bool) (ServiceSpec, error) {
	return c.changeSpec(ctx, name, func(spec *ServiceSpec) (bool, error) {
		switch {
		case spec.Status == scheduler.ServiceDraining:
			return false, nil
		case spec.DesiredCount > 0 && !force:
			return false, scheduler.ErrServiceScaled
		}
		spec.Status = scheduler.ServiceDraining
		return true, nil
	})
}

// ServiceSpecs returns the services' specs, by name.
func (c *Cluster) ServiceSpecs(ctx context.Context) ([]ServiceSpec, error) {
	resp, err := c.etcd.Get(ctx, c.key+"/services/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcdstore: %w", err)
	}
	specs := make([]ServiceSpec, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var s ServiceSpec
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			return nil, fmt.Errorf("etcdstore: %s: %w", kv.Key, err)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// serviceConfig resolves a spec into the scheduler's configuration;
// defs caches task definitions by ARN when not nil.
func (c *Cluster) serviceConfig(ctx context.Context, spec ServiceSpec, defs map[string]scheduler.TaskDef) (scheduler.ServiceConfig, error) {
	var cfg scheduler.ServiceConfig
	if spec.DesiredCount < 0 {
		return cfg, fmt.Errorf("%w: desiredCount %d is below 0", ErrInvalidService, spec.DesiredCount)
	}
	switch spec.SchedulingStrategy {
	case "", "REPLICA":
	case "DAEMON":
		cfg.Daemon = true
	default:
		return cfg, fmt.Errorf("%w: schedulingStrategy %q is not REPLICA or DAEMON", ErrInvalidService, spec.SchedulingStrategy)
	}
	td, err := c.taskDef(ctx, spec.TaskDefinition, defs)
	if err != nil {
		return cfg, err
	}
	cfg.TaskDef, cfg.DesiredCount = td, spec.DesiredCount
	dc := spec.DeploymentConfiguration
	cfg.MaximumPercent = cmp.Or(deref(dc.MaximumPercent), 200)
	cfg.MinimumHealthyPercent = deref(dc.MinimumHealthyPercent)
	if dc.MinimumHealthyPercent == nil {
		cfg.MinimumHealthyPercent = 100
	}
	if dc.DeploymentCircuitBreaker != nil {
		cfg.CircuitBreaker = scheduler.CircuitBreaker{Enable: dc.DeploymentCircuitBreaker.Enable, Rollback: dc.DeploymentCircuitBreaker.Rollback}
	}
	for i, ps := range spec.PlacementStrategy {
		s, err := placement.ParseStrategy(ps.Type, ps.Field)
		if err != nil {
			return cfg, fmt.Errorf("%w: placementStrategy %d: %w", ErrInvalidService, i, err)
		}
		cfg.Strategies = append(cfg.Strategies, s)
	}
	for i, pc := range spec.PlacementConstraints {
		k, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return cfg, fmt.Errorf("%w: placementConstraints %d: %w", ErrInvalidService, i, err)
		}
		cfg.Constraints = append(cfg.Constraints, k)
	}
	return cfg, nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// taskDef resolves a task definition ARN into what the scheduler places.
func (c *Cluster) taskDef(ctx context.Context, arn string, defs map[string]scheduler.TaskDef) (scheduler.TaskDef, error) {
	if td, ok := defs[arn]; ok {
		return td, nil
	}
	def, err := c.TaskDefinition(ctx, arn)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	d, err := def.Demand()
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	demand, err := cluster.NewDemand(d.CPU, d.Memory, d.Ports, d.PortsUDP, d.GPUs)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	if d.ENIs > 0 {
		demand = demand.WithENIs(d.ENIs)
	}
	td := scheduler.TaskDef{ARN: def.TaskDefinitionArn, Family: def.Family, Demand: demand}
	for i, pc := range def.PlacementConstraints {
		k, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return scheduler.TaskDef{}, fmt.Errorf("task definition %s: placementConstraints %d: %w", arn, i, err)
		}
		td.Constraints = append(td.Constraints, k)
	}
	if defs != nil {
		defs[arn] = td
	}
	return td, nil
}

// ServicesOptions configure [Cluster.RunServices].
type ServicesOptions struct {
	// Name is this process's value in the election; empty means a random
	// id.
	Name string
	// SessionTTL is the election's lease, in seconds: how long a dead
	// leader keeps it. 0 means 5.
	SessionTTL int
	// Seed seeds the service scheduler's random choices and deployment
	// ids.
	Seed uint64
}

// termState is the Cluster as one term's service scheduler commits to it:
// every commit guarded by the term.
type termState struct {
	c    *Cluster
	lead *term
}

func (s termState) Read(fn func(v *cluster.View)) { s.c.Read(fn) }

// Apply commits p guarded by the term. A proposal too large for one etcd
// transaction (a service scaled by hundreds of tasks, a DAEMON service on
// hundreds of instances) is committed in parts, stops first, each part
// all or nothing: a service scheduler's round need not be atomic, as ECS's
// is not. When a part after the first fails, the earlier parts stay
// committed and Apply returns errPartial: the term's scheduler is then
// made again from the records (RunServices).
func (s termState) Apply(p cluster.Proposal) (cluster.Applied, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.c.opts.Timeout)
	defer cancel()
	a, err := s.c.apply(ctx, p, s.lead)
	if !errors.Is(err, ErrTooLarge) {
		return a, err
	}
	// Each stop or start writes its task and at most one instance; the
	// term adds one guard.
	size := max((s.c.opts.MaxTxnOps-1)/2, 1)
	var parts []cluster.Proposal
	for i := 0; i < len(p.Stops); i += size {
		parts = append(parts, cluster.Proposal{Stops: p.Stops[i:min(i+size, len(p.Stops))], Attempt: p.Attempt})
	}
	for i := 0; i < len(p.Placements); i += size {
		parts = append(parts, cluster.Proposal{Placements: p.Placements[i:min(i+size, len(p.Placements))], Attempt: p.Attempt})
	}
	var out cluster.Applied
	for i, part := range parts {
		a, err := s.c.apply(ctx, part, s.lead)
		if err != nil {
			if i == 0 {
				return cluster.Applied{}, err // nothing committed: as for one transaction
			}
			// Not wrapped: a conflict in a later part must not be taken
			// for one that left nothing committed (scheduler.Execute would
			// decide again, and lose what the first parts started).
			return cluster.Applied{}, fmt.Errorf("%w: part %d of %d: %v", errPartial, i+1, len(parts), err)
		}
		out.Stopped = append(out.Stopped, a.Stopped...)
		out.Started = append(out.Started, a.Started...)
	}
	return out, nil
}

// errPartial is a service scheduler's round committed only in part.
var errPartial = errors.New("etcdstore: the round was committed in part")

// Leading reports whether this process runs the cluster's service
// scheduler.
func (c *Cluster) Leading() bool { return c.election.leading.Load() }

// RunServices campaigns for the cluster's service scheduler (an etcd
// election at the cluster's key + "/leader") and, while this process is
// elected, runs a reconcile of every service at each time ticks
// delivers: it reads the services' keys, takes up the ones it does not
// run yet — with their tasks, grouped into deployments by their startedBy
// as the previous leader left them — and commits through the Cluster,
// each commit guarded by its term as well as by the records it touches,
// so that a process that lost the election commits nothing; then it
// prunes the keys of tasks STOPPED past their retention. When the
// leader dies its lease ends within SessionTTL seconds and another
// process's RunServices takes over. It returns when ctx ends or ticks is
// closed, or with the copy's error when it is closed or can no longer
// follow etcd (ErrClosed, ErrDiverged); while etcd cannot be reached it
// waits, and campaigns again when etcd is back. Call it at most once at a
// time per Cluster.
func (c *Cluster) RunServices(ctx context.Context, ticks <-chan time.Time, opts ServicesOptions) error {
	if opts.Name != "" {
		c.election.name = opts.Name
	}
	if opts.SessionTTL > 0 {
		c.election.ttl = opts.SessionTTL
	}
	c.engineOnce.Do(func() {
		c.engine = placement.NewEngine(opts.Seed)
		c.Subscribe(c.engine)
	})
	rnd := rand.New(rand.NewPCG(opts.Seed, 7))
	return c.election.run(ctx, func(ctx context.Context, t term) error {
		var ss *scheduler.Services
		var run map[string]ServiceSpec
		fresh := func() { // the term's scheduler, made from the records
			// The term's revision is mixed in, so that no two terms draw
			// the same deployment ids.
			ss = scheduler.NewServices(termState{c: c, lead: &t}, c.name, c.engine.Place, c.opts.ARNPrefix, c.opts.Clock,
				rand.New(rand.NewPCG(rnd.Uint64()^uint64(t.rev), rnd.Uint64())))
			run = map[string]ServiceSpec{}
		}
		fresh()
		defs := map[string]scheduler.TaskDef{}
		return t.each(ctx, ticks, func(time.Time) error {
			err := c.reconcile(ctx, &t, ss, run, defs)
			if errors.Is(err, errPartial) {
				fresh() // what the round did is on record; take it up from there
				return nil
			}
			return err // not the leader any more, or etcd failed: give the election up
		})
	})
}

// reconcile is one tick of the elected service scheduler.
func (c *Cluster) reconcile(ctx context.Context, t *term, ss *scheduler.Services, run map[string]ServiceSpec, defs map[string]scheduler.TaskDef) error {
	if err := c.Sync(ctx); err != nil {
		return err
	}
	specs, err := c.ServiceSpecs(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, spec := range specs {
		live[spec.ServiceName] = true
		if spec.Status == scheduler.ServiceDraining {
			if err := c.drain(ctx, t, ss, run, spec, defs); err != nil {
				return err
			}
			continue
		}
		cfg, err := c.serviceConfig(ctx, spec, defs)
		if errors.Is(err, ErrInvalidService) || errors.Is(err, ErrNoTaskDefinition) {
			continue // a spec that stopped resolving keeps its tasks
		}
		if err != nil {
			return err
		}
		old, ok := run[spec.ServiceName]
		switch {
		case !ok:
			if err := c.adopt(ctx, ss, spec, cfg, defs); err != nil {
				return err
			}
		case old.DesiredCount != spec.DesiredCount || old.TaskDefinition != spec.TaskDefinition:
			u := scheduler.Update{DesiredCount: &cfg.DesiredCount}
			if old.TaskDefinition != spec.TaskDefinition {
				u.TaskDef = &cfg.TaskDef
			}
			if _, err := ss.Update(spec.ServiceName, u); err != nil {
				return err
			}
		}
		run[spec.ServiceName] = spec
	}
	for name := range run {
		if !live[name] { // its key was deleted without DeleteService: stop its tasks
			if _, err := ss.Delete(name, true); err != nil && !errors.Is(err, scheduler.ErrServiceNotFound) {
				return err
			}
			delete(run, name)
		}
	}
	if _, err = ss.Reconcile(); err != nil {
		return err
	}
	_, err = c.PruneStopped(ctx)
	return err
}

// adopt makes the term's scheduler run a service with the tasks it has:
// those of its group that are not STOPPED, in one deployment per
// startedBy; the PRIMARY one is the deployment of the spec's task
// definition with the most tasks (a new one if there is none), the
// others are ACTIVE with their tasks' task definition and count, as a
// rolling deployment the previous leader had not finished.
func (c *Cluster) adopt(ctx context.Context, ss *scheduler.Services, spec ServiceSpec, cfg scheduler.ServiceConfig, defs map[string]scheduler.TaskDef) error {
	type dep struct {
		def string
		ids []string
	}
	deps := map[string]*dep{}
	var all []string
	c.Read(func(v *cluster.View) {
		for t := range v.Tasks() {
			if t.Group() != "service:"+spec.ServiceName || t.LastStatus() == cluster.TaskStopped || !strings.HasPrefix(t.StartedBy(), "ecs-svc/") {
				continue // not a task a service scheduler started
			}
			d := deps[t.StartedBy()]
			if d == nil {
				d = &dep{def: t.TaskDefinitionARN()}
				deps[t.StartedBy()] = d
			}
			d.ids = append(d.ids, t.ID())
			all = append(all, t.ID())
		}
	})
	now := c.opts.Clock.Now()
	primary := ""
	for id, d := range deps {
		if d.def == cfg.TaskDef.ARN && (primary == "" || len(d.ids) > len(deps[primary].ids) || (len(d.ids) == len(deps[primary].ids) && id < primary)) {
			primary = id
		}
	}
	if primary == "" {
		c.rndMu.Lock()
		primary = fmt.Sprintf("ecs-svc/%019d", c.rnd.Uint64()%1e19)
		c.rndMu.Unlock()
	}
	svc := scheduler.Service{
		Name: spec.ServiceName, ARN: c.opts.ARNPrefix + "service/" + c.name + "/" + spec.ServiceName,
		Status: scheduler.ServiceActive, Config: cfg, CreatedAt: spec.CreatedAt,
		Deployments: []scheduler.Deployment{{ID: primary, Status: scheduler.DeploymentPrimary, TaskDef: cfg.TaskDef,
			DesiredCount: cfg.DesiredCount, RolloutState: scheduler.RolloutInProgress, CreatedAt: now, UpdatedAt: now}},
	}
	others := make([]string, 0, len(deps))
	for id := range deps {
		if id != primary {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	for _, id := range others {
		td, err := c.taskDef(ctx, deps[id].def, defs)
		if err != nil {
			td = scheduler.TaskDef{ARN: deps[id].def, Demand: cfg.TaskDef.Demand}
		}
		svc.Deployments = append(svc.Deployments, scheduler.Deployment{ID: id, Status: scheduler.DeploymentActive, TaskDef: td,
			DesiredCount: len(deps[id].ids), RolloutState: scheduler.RolloutInProgress, CreatedAt: now, UpdatedAt: now})
	}
	if len(svc.Deployments) == 1 && len(all) == cfg.DesiredCount {
		// [INF] A single deployment at its desired count is taken as the
		// completed one, which a circuit breaker rolls back to.
		svc.Deployments[0].RolloutState = scheduler.RolloutCompleted
	}
	slices.Sort(all)
	return ss.Import(svc, all)
}

// drain runs a deleted service (its spec DRAINING) until its tasks are
// gone, then deletes its key, guarded by the term.
func (c *Cluster) drain(ctx context.Context, t *term, ss *scheduler.Services, run map[string]ServiceSpec, spec ServiceSpec, defs map[string]scheduler.TaskDef) error {
	name := spec.ServiceName
	if _, ok := run[name]; !ok {
		if cfg, err := c.serviceConfig(ctx, spec, defs); err == nil {
			if err := c.adopt(ctx, ss, spec, cfg, defs); err != nil {
				return err
			}
		}
		run[name] = spec
	}
	if svc, ok := ss.Get(name); ok && svc.Status == scheduler.ServiceActive {
		if _, err := ss.Delete(name, true); err != nil {
			return err
		}
	}
	left := 0
	c.Read(func(v *cluster.View) {
		for task := range v.Tasks() {
			if task.Group() == "service:"+name && task.LastStatus() != cluster.TaskStopped {
				left++
			}
		}
	})
	if left == 0 {
		// Gone for good once its tasks are: the key goes, by the leader only.
		resp, err := c.etcd.Txn(ctx).If(t.guard()).Then(clientv3.OpDelete(c.serviceKey(name))).Commit()
		if err != nil {
			return fmt.Errorf("etcdstore: %w", err)
		}
		if !resp.Succeeded {
			return errNotLeader
		}
		delete(run, name)
	}
	return nil
}
