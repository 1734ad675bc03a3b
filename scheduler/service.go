package scheduler

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
)

// ServiceStatus is ACTIVE, DRAINING (deleted, tasks still stopping) or
// INACTIVE.
type ServiceStatus string

// The service statuses.
const (
	ServiceActive   ServiceStatus = "ACTIVE"
	ServiceDraining ServiceStatus = "DRAINING"
	ServiceInactive ServiceStatus = "INACTIVE"
)

// Deployment statuses and rollout states, in ECS's words.
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"

	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"
)

// MaxEvents is how many events a service keeps, newest first.
const MaxEvents = 100

// MaxBackoff is the longest the scheduler waits between attempts to start
// tasks of a service whose tasks keep failing to start (ECS: "up to a
// maximum of 15 minutes").
const MaxBackoff = 15 * time.Minute

// Backoff tuning [INF]: ECS documents only the 15-minute ceiling. After
// BackoffAfter consecutive tasks that stopped before reaching RUNNING, the
// scheduler waits BackoffBase, doubling with each further failure.
const (
	BackoffAfter = 3
	BackoffBase  = 30 * time.Second
)

// TaskDef is a task definition revision as the service scheduler needs it.
type TaskDef struct {
	ARN    string
	Family string
	Demand *cluster.Demand
	// Constraints are the revision's memberOf constraints.
	Constraints placement.Constraints
}

// CircuitBreaker is the deployment circuit breaker setting.
type CircuitBreaker struct {
	Enable   bool
	Rollback bool
}

// ServiceConfig is what CreateService sets and UpdateService changes.
type ServiceConfig struct {
	TaskDef      TaskDef
	DesiredCount int
	// Daemon selects the DAEMON scheduling strategy: one task on every
	// ACTIVE instance that satisfies the constraints.
	Daemon                bool
	MaximumPercent        int
	MinimumHealthyPercent int
	CircuitBreaker        CircuitBreaker
	// Strategies and Constraints shape placement; empty Strategies means
	// ECS's service default, spread over attribute:ecs.availability-zone
	// then instanceId.
	Strategies  []placement.Strategy
	Constraints placement.Constraints
	// CapacityProviders is the service's capacity provider strategy;
	// empty runs it on the EC2 launch type, on any instance. With one,
	// each task goes to one provider and only that provider's instances
	// may take it: new tasks are split as [SplitStrategy] splits them,
	// counting the tasks of the PRIMARY deployment each provider already
	// has, and a scale-in stops first the tasks on providers that hold
	// more than their share of the desired count (see
	// Services.Reconcile). A DAEMON service cannot have one.
	CapacityProviders []StrategyItem
	// AvailabilityZoneRebalancing has the scheduler even out a steady
	// service's RUNNING tasks over the cluster's Availability Zones, one
	// move at a time: a task started in the zone with the fewest, then,
	// once it runs, one stopped in the zone with the most (see
	// Services.Reconcile).
	AvailabilityZoneRebalancing bool
}

// DefaultServiceStrategies is the service scheduler's placement when none
// is given: spread across Availability Zones, then across instances.
var defaultServiceStrategies = []placement.Strategy{
	placement.MustParseStrategy("spread", "attribute:ecs.availability-zone"),
	placement.MustParseStrategy("spread", "instanceId"),
}

// Deployment is one deployment of a service.
type Deployment struct {
	ID                 string
	Status             string
	TaskDef            TaskDef
	DesiredCount       int
	PendingCount       int
	RunningCount       int
	FailedTasks        int
	RolloutState       string
	RolloutStateReason string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	everRunning        bool
}

// Event is a service event.
type Event struct {
	ID        string
	CreatedAt time.Time
	Message   string
}

// Service is a copy of a service's state.
type Service struct {
	Name         string
	ARN          string
	Status       ServiceStatus
	Config       ServiceConfig
	RunningCount int
	PendingCount int
	Deployments  []Deployment // PRIMARY first
	Events       []Event      // newest first
	CreatedAt    time.Time
}

// service is the live record.
type service struct {
	Service
	tasks []string // ids of the service's tasks not known to be stopped
	// daemon replaces tasks for a DAEMON service once the cluster's
	// change feed is followed (daemon.go).
	daemon       *daemonIndex
	failedStarts int // consecutive tasks that stopped before RUNNING
	retryAt      time.Time
	throttled    bool
	steady       bool
	stuck        bool // the "unable to stop or start" event was given
	// protectedNoted: the "unable to scale in" event for protected
	// tasks was given, and protection still blocks the scale-in.
	protectedNoted bool
	// lastCompleted is the newest deployment that completed, which a
	// circuit breaker with rollback returns to.
	lastCompleted *Deployment
	lastPlaceMsg  string
	// unplaced are the tasks the last step could not place on their
	// capacity providers' instances, per provider.
	unplaced []Unplaced
	// Availability Zone rebalancing: rebalancing is set from the
	// "not AZ balanced" event to the "AZ balanced" one; rebalanceTask is
	// the task a move started, until the move stops one in exchange.
	rebalancing   bool
	rebalanceTask string
}

// Errors of the service registry; the API maps them to ECS exceptions.
var (
	ErrServiceExists    = errors.New("Creation of service was not idempotent.")
	ErrServiceNotFound  = errors.New("Service not found.")
	ErrServiceNotActive = errors.New("Service was not ACTIVE.")
	ErrServiceScaled    = errors.New("The service cannot be stopped while it is scaled above 0.")
)

// Services holds the services of one cluster and reconciles them. It is
// safe for concurrent use; one Reconcile runs at a time.
type Services struct {
	// MaxAttempts bounds how often a reconcile round is decided again
	// when its commit conflicts; 0 means DefaultMaxAttempts. Set it
	// before the first Reconcile.
	MaxAttempts int

	c         State
	name      string // the cluster's
	place     Placer
	arnPrefix string
	clock     cluster.Clock

	mu     sync.Mutex // guards everything below; held through Reconcile
	rnd    *rand.Rand
	byName map[string]*service
	// gen counts the calls that changed a service (Create, Update,
	// Delete); quiet is what the last step found when it was a fixed point
	// (see Reconcile), nil otherwise.
	gen          uint64
	quiet        *quietStep
	quietAllowed bool // false only in tests that compare with full steps
	// protectedNext is the earliest expiry of a scale-in protection that
	// kept the current step from stopping a task (zero for none): a
	// quiet step lasts only until then.
	protectedNext time.Time
	// feed is the cluster's change feed, when the State has one.
	feed *changeFeed
	// providerDemands holds a task definition's demand on each capacity
	// provider, one per pair so that the placement engine's census of it
	// lasts between steps (see providerDemand).
	providerDemands map[providerKey]*cluster.Demand
}

type providerKey struct {
	d        *cluster.Demand
	provider string
}

// maxProviderDemands bounds providerDemands; past it the map starts anew.
const maxProviderDemands = 4096

// providerDemand returns d on the capacity provider name. Call it with
// ss.mu held.
func (ss *Services) providerDemand(d *cluster.Demand, name string) *cluster.Demand {
	k := providerKey{d, name}
	if pd, ok := ss.providerDemands[k]; ok {
		return pd
	}
	if ss.providerDemands == nil || len(ss.providerDemands) >= maxProviderDemands {
		ss.providerDemands = map[providerKey]*cluster.Demand{}
	}
	pd := d.WithCapacityProvider(name)
	ss.providerDemands[k] = pd
	return pd
}

// Unplaced counts the tasks of a service that the last [Services.Reconcile]
// wanted to start on a capacity provider but could place on none of its
// instances: what managed scaling must make room for.
type Unplaced struct {
	Service  string
	Provider string
	// Demand is what each task needs (on Provider).
	Demand *cluster.Demand
	Count  int
}

// Unplaced returns, for every service with a capacity provider strategy,
// the tasks the last Reconcile could not place, by service and then in
// the strategy's order.
func (ss *Services) Unplaced() []Unplaced {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out []Unplaced
	for _, s := range ss.byName {
		if s.Status != ServiceInactive {
			out = append(out, s.unplaced...)
		}
	}
	slices.SortStableFunc(out, func(a, b Unplaced) int { return strings.Compare(a.Service, b.Service) })
	return out
}

// NewServices returns the service registry of the cluster named
// clusterName, whose state is c. place decides where service tasks go (the
// cluster's placement engine); arnPrefix is
// "arn:aws:ecs:<region>:<account>:".
func NewServices(c State, clusterName string, place Placer, arnPrefix string, clock cluster.Clock, rnd *rand.Rand) *Services {
	ss := &Services{c: c, name: clusterName, place: place, arnPrefix: arnPrefix, clock: clock, rnd: rnd, byName: map[string]*service{}, quietAllowed: true}
	if sub, ok := c.(subscriber); ok {
		ss.feed = &changeFeed{}
		sub.Subscribe(ss.feed)
	}
	return ss
}

func (ss *Services) deploymentID() string {
	return fmt.Sprintf("ecs-svc/%019d", ss.rnd.Uint64()%1e19)
}

func (ss *Services) newDeployment(cfg ServiceConfig, now time.Time) Deployment {
	return Deployment{
		ID: ss.deploymentID(), Status: DeploymentPrimary, TaskDef: cfg.TaskDef,
		DesiredCount: cfg.DesiredCount, RolloutState: RolloutInProgress,
		CreatedAt: now, UpdatedAt: now,
	}
}

func (s *service) event(ss *Services, now time.Time, format string, args ...any) {
	e := Event{
		ID:        fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", ss.rnd.Uint32(), ss.rnd.Uint32()&0xffff, ss.rnd.Uint32()&0xffff, ss.rnd.Uint32()&0xffff, ss.rnd.Uint64()&(1<<48-1)),
		CreatedAt: now,
		Message:   fmt.Sprintf(format, args...),
	}
	s.Events = slices.Insert(s.Events, 0, e)
	if len(s.Events) > MaxEvents {
		s.Events = s.Events[:MaxEvents]
	}
}

// Create adds a service. A live (ACTIVE or DRAINING) service of the same
// name is [ErrServiceExists]; an INACTIVE one is replaced.
func (ss *Services) Create(name string, cfg ServiceConfig) (Service, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if old, ok := ss.byName[name]; ok && old.Status != ServiceInactive {
		return Service{}, ErrServiceExists
	}
	if err := checkServiceStrategy(cfg.Daemon, cfg.CapacityProviders); err != nil {
		return Service{}, err
	}
	cfg.CapacityProviders = slices.Clone(cfg.CapacityProviders)
	now := ss.clock.Now()
	s := &service{Service: Service{
		Name: name, ARN: ss.arnPrefix + "service/" + ss.name + "/" + name,
		Status: ServiceActive, Config: cfg, CreatedAt: now,
	}}
	s.Deployments = []Deployment{ss.newDeployment(cfg, now)}
	ss.byName[name] = s
	ss.gen++
	return s.copy(), nil
}

// Import adds a service as a real cluster described it: its ARN, status,
// configuration, deployments (PRIMARY first, each with its id, which its
// tasks carry as startedBy), events (newest first) and creation time, with
// the ids of its tasks that are not stopped. The counts are the cluster's
// to say: the next Reconcile or Describe recomputes them. A live service
// of the same name is [ErrServiceExists]; a service without a deployment,
// or whose first deployment is not PRIMARY, is an error. On error nothing
// changes.
func (ss *Services) Import(svc Service, taskIDs []string) error {
	if len(svc.Deployments) == 0 || svc.Deployments[0].Status != DeploymentPrimary {
		return fmt.Errorf("scheduler: service %s: the first deployment must be the PRIMARY one", svc.Name)
	}
	if err := checkServiceStrategy(svc.Config.Daemon, svc.Config.CapacityProviders); err != nil {
		return fmt.Errorf("scheduler: service %s: %w", svc.Name, err)
	}
	switch svc.Status {
	case ServiceActive, ServiceDraining, ServiceInactive:
	default:
		return fmt.Errorf("scheduler: service %s: status %q is not ACTIVE, DRAINING or INACTIVE", svc.Name, svc.Status)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if old, ok := ss.byName[svc.Name]; ok && old.Status != ServiceInactive {
		return ErrServiceExists
	}
	s := &service{Service: svc, tasks: slices.Clone(taskIDs)}
	s.Service.Deployments = slices.Clone(svc.Deployments)
	s.Service.Events = slices.Clone(svc.Events)
	s.Config.Strategies = slices.Clone(svc.Config.Strategies)
	s.Config.Constraints = slices.Clone(svc.Config.Constraints)
	s.Config.CapacityProviders = slices.Clone(svc.Config.CapacityProviders)
	if len(s.Events) > MaxEvents {
		s.Events = s.Events[:MaxEvents]
	}
	for i := range s.Deployments {
		d := &s.Deployments[i]
		d.everRunning = d.RunningCount > 0
		if d.RolloutState == RolloutCompleted && s.lastCompleted == nil {
			done := *d
			s.lastCompleted = &done
		}
	}
	ss.byName[svc.Name] = s
	ss.gen++
	return nil
}

// Update is what UpdateService changes; nil fields stay as they are.
type Update struct {
	TaskDef               *TaskDef
	DesiredCount          *int
	MaximumPercent        *int
	MinimumHealthyPercent *int
	CircuitBreaker        *CircuitBreaker
	Strategies            *[]placement.Strategy
	Constraints           *placement.Constraints
	// CapacityProviders, when not nil, replaces the service's capacity
	// provider strategy (an empty one returns it to the launch type). It
	// does not start a deployment, as in ECS: the tasks started from then
	// on follow it, and ForceNewDeployment moves the others.
	CapacityProviders *[]StrategyItem
	// AvailabilityZoneRebalancing, when not nil, turns it on or off.
	AvailabilityZoneRebalancing *bool
	ForceNewDeployment          bool
}

// Update changes an ACTIVE service. A new task definition or
// ForceNewDeployment starts a new deployment; the other fields do not.
func (ss *Services) Update(name string, u Update) (Service, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byName[name]
	if !ok {
		return Service{}, ErrServiceNotFound
	}
	if s.Status != ServiceActive {
		return Service{}, ErrServiceNotActive
	}
	cfg := s.Config
	if u.DesiredCount != nil {
		cfg.DesiredCount = *u.DesiredCount
	}
	if u.MaximumPercent != nil {
		cfg.MaximumPercent = *u.MaximumPercent
	}
	if u.MinimumHealthyPercent != nil {
		cfg.MinimumHealthyPercent = *u.MinimumHealthyPercent
	}
	if u.CircuitBreaker != nil {
		cfg.CircuitBreaker = *u.CircuitBreaker
	}
	if u.Strategies != nil {
		cfg.Strategies = slices.Clone(*u.Strategies)
	}
	if u.Constraints != nil {
		cfg.Constraints = slices.Clone(*u.Constraints)
	}
	if u.AvailabilityZoneRebalancing != nil {
		cfg.AvailabilityZoneRebalancing = *u.AvailabilityZoneRebalancing
	}
	if u.CapacityProviders != nil {
		if err := checkServiceStrategy(cfg.Daemon, *u.CapacityProviders); err != nil {
			return Service{}, err
		}
		cfg.CapacityProviders = slices.Clone(*u.CapacityProviders)
	}
	redeploy := u.ForceNewDeployment
	if u.TaskDef != nil && u.TaskDef.ARN != cfg.TaskDef.ARN {
		cfg.TaskDef = *u.TaskDef
		redeploy = true
	}
	s.Config = cfg
	now := ss.clock.Now()
	if redeploy {
		for i := range s.Deployments {
			s.Deployments[i].Status = DeploymentActive
		}
		s.Deployments = slices.Insert(s.Deployments, 0, ss.newDeployment(cfg, now))
		// A new task definition resets the start throttle (§4.4).
		s.failedStarts, s.retryAt, s.throttled, s.steady = 0, time.Time{}, false, false
	}
	s.Deployments[0].DesiredCount = cfg.DesiredCount
	s.Deployments[0].UpdatedAt = now
	ss.gen++
	return s.copy(), nil
}

// Delete marks a service DRAINING: its desired count becomes 0 and the
// reconciler stops its tasks; it turns INACTIVE when none is left. A
// REPLICA service scaled above 0 needs force.
func (ss *Services) Delete(name string, force bool) (Service, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byName[name]
	if !ok || s.Status == ServiceInactive {
		return Service{}, ErrServiceNotFound
	}
	if s.Status == ServiceActive && !s.Config.Daemon && s.Config.DesiredCount > 0 && !force {
		return Service{}, ErrServiceScaled
	}
	s.Status = ServiceDraining
	s.Config.DesiredCount = 0
	if s.liveTasks() == 0 {
		s.Status = ServiceInactive
	}
	ss.gen++
	return s.copy(), nil
}

// Get returns a copy of the named service (INACTIVE ones included).
func (ss *Services) Get(name string) (Service, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byName[name]
	if !ok {
		return Service{}, false
	}
	return s.copy(), true
}

// Describe is [Services.Get] with the counts of the service and of its
// deployments (RUNNING and PENDING tasks) as the cluster stands now, not
// as the last Reconcile left them: an agent's report shows at once, as in
// ECS. Cost: the service's tasks.
func (ss *Services) Describe(name string) (Service, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byName[name]
	if !ok {
		return Service{}, false
	}
	out := s.copy()
	out.RunningCount, out.PendingCount = 0, 0
	for i := range out.Deployments {
		out.Deployments[i].RunningCount, out.Deployments[i].PendingCount = 0, 0
	}
	ss.c.Read(func(v *cluster.View) {
		for id := range s.liveTaskIDs() {
			t, ok := v.Task(id)
			if !ok || t.LastStatus() == cluster.TaskStopped {
				continue
			}
			running := t.LastStatus() == cluster.TaskRunning
			if running {
				out.RunningCount++
			} else {
				out.PendingCount++
			}
			for i := range out.Deployments {
				if d := &out.Deployments[i]; d.ID == t.StartedBy() {
					if running {
						d.RunningCount++
					} else {
						d.PendingCount++
					}
				}
			}
		}
	})
	return out, true
}

// liveTaskIDs yields the ids of the service's tasks not known to be
// stopped, from its task list or its daemon index.
func (s *service) liveTaskIDs() iter.Seq[string] {
	return func(yield func(string) bool) {
		if d := s.daemon; d != nil {
			for _, slot := range d.slots {
				for _, dt := range slot {
					if !yield(dt.id) {
						return
					}
				}
			}
			return
		}
		for _, id := range s.tasks {
			if !yield(id) {
				return
			}
		}
	}
}

// Names returns the names of the services with a status other than
// INACTIVE and DRAINING, sorted, or of all services with all set.
func (ss *Services) Names(all bool) []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out []string
	for name, s := range ss.byName {
		if all || s.Status == ServiceActive {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Live reports how many services are ACTIVE or DRAINING.
func (ss *Services) Live() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, s := range ss.byName {
		if s.Status != ServiceInactive {
			n++
		}
	}
	return n
}

func (s *service) copy() Service {
	c := s.Service
	c.Deployments = slices.Clone(s.Deployments)
	c.Events = slices.Clone(s.Events)
	c.Config.Strategies = slices.Clone(s.Config.Strategies)
	c.Config.Constraints = slices.Clone(s.Config.Constraints)
	c.Config.CapacityProviders = slices.Clone(s.Config.CapacityProviders)
	return c
}

// ErrDaemonCapacityProviders is returned for a DAEMON service given a
// capacity provider strategy; the message is ECS's.
var ErrDaemonCapacityProviders = errors.New("Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy.")

// checkServiceStrategy checks a service's capacity provider strategy:
// none, or a valid one on a REPLICA service.
func checkServiceStrategy(daemon bool, items []StrategyItem) error {
	if len(items) == 0 {
		return nil
	}
	if daemon {
		return ErrDaemonCapacityProviders
	}
	return ValidateStrategy(items)
}

func (s *service) group() string { return "service:" + s.Name }

// placementMessage is the service event text for a task that fits nowhere.
func placementMessage(name string, f Failure) string {
	prefix := "service " + name + " was unable to place a task because no container instance met all of its requirements."
	if f.ARN == "" {
		return prefix + " Reason: No Container Instances were found in your cluster."
	}
	id := f.ARN[strings.LastIndexByte(f.ARN, '/')+1:]
	var what string
	switch f.Reason {
	case cluster.ReasonCPU:
		what = "has insufficient CPU units available."
	case cluster.ReasonMemory:
		what = "has insufficient memory available."
	case cluster.ReasonPorts, cluster.ReasonPortsUDP:
		what = "is already using a port required by your task."
	case cluster.ReasonGPU:
		what = "has insufficient GPU available." // [INF]
	case cluster.ReasonAttribute:
		what = "is missing an attribute required by your task."
	default:
		what = `encountered error "` + f.Reason.String() + `".`
	}
	return prefix + " The closest matching container-instance " + id + " " + what
}
