package stevedore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// DeploymentConfiguration bounds the tasks of a service during a
// deployment or while instances drain. Nil fields mean the defaults:
// maximumPercent 200 and minimumHealthyPercent 100 for REPLICA services,
// 100 and 0 for DAEMON services.
type DeploymentConfiguration struct {
	MaximumPercent           *int                      `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int                      `json:"minimumHealthyPercent,omitempty"`
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
}

// DeploymentCircuitBreaker stops a deployment whose tasks keep failing to
// start, and rolls it back if asked.
type DeploymentCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// LoadBalancer is a load balancer of a service. The model records it; it
// does not route traffic or run health checks.
type LoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    int    `json:"containerPort,omitempty"`
}

// Deployment is one deployment of a service.
type Deployment struct {
	Id             string    `json:"id"`
	Status         string    `json:"status"`
	TaskDefinition string    `json:"taskDefinition"`
	DesiredCount   int       `json:"desiredCount"`
	PendingCount   int       `json:"pendingCount"`
	RunningCount   int       `json:"runningCount"`
	FailedTasks    int       `json:"failedTasks"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// LaunchType and CapacityProviderStrategy are the service's.
	LaunchType               string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	RolloutState             string                         `json:"rolloutState"`
	RolloutStateReason       string                         `json:"rolloutStateReason,omitempty"`
}

// ServiceEvent is an entry of a service's event log.
type ServiceEvent struct {
	Id        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Message   string    `json:"message"`
}

// Service is a service as DescribeServices reports it.
type Service struct {
	ServiceArn    string         `json:"serviceArn"`
	ServiceName   string         `json:"serviceName"`
	ClusterArn    string         `json:"clusterArn"`
	LoadBalancers []LoadBalancer `json:"loadBalancers"`
	Status        string         `json:"status"`
	DesiredCount  int            `json:"desiredCount"`
	RunningCount  int            `json:"runningCount"`
	PendingCount  int            `json:"pendingCount"`
	// LaunchType is EC2, or empty for a service with a capacity provider
	// strategy.
	LaunchType               string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	TaskDefinition           string                         `json:"taskDefinition"`
	// AvailabilityZoneRebalancing is ENABLED or DISABLED.
	AvailabilityZoneRebalancing string                  `json:"availabilityZoneRebalancing"`
	DeploymentConfiguration     DeploymentConfiguration `json:"deploymentConfiguration"`
	Deployments                 []Deployment            `json:"deployments"`
	RoleArn                     string                  `json:"roleArn,omitempty"`
	Events                      []ServiceEvent          `json:"events"`
	CreatedAt                   time.Time               `json:"createdAt"`
	PlacementConstraints        []PlacementConstraint   `json:"placementConstraints"`
	PlacementStrategy           []PlacementStrategy     `json:"placementStrategy"`
	SchedulingStrategy          string                  `json:"schedulingStrategy"`
	// NetworkConfiguration is the awsvpc configuration of the service's
	// tasks.
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// HealthCheckGracePeriodSeconds is recorded as given; the model runs
	// no health checks.
	HealthCheckGracePeriodSeconds int `json:"healthCheckGracePeriodSeconds,omitempty"`
	// Tags are in the output of CreateService, and of DescribeServices
	// with include TAGS.
	Tags []Tag `json:"tags,omitempty"`
}

// CreateServiceInput is the input of [Client.CreateService], in the shape
// `aws ecs create-service --cli-input-json` takes (decode one with
// [DecodeCreateServiceInput]).
type CreateServiceInput struct {
	Cluster        string `json:"cluster,omitempty"`
	ServiceName    string `json:"serviceName"`
	TaskDefinition string `json:"taskDefinition"`
	// DesiredCount is required for REPLICA and refused for DAEMON.
	DesiredCount            *int                     `json:"desiredCount,omitempty"`
	LoadBalancers           []LoadBalancer           `json:"loadBalancers,omitempty"`
	ClientToken             string                   `json:"clientToken,omitempty"`
	Role                    string                   `json:"role,omitempty"`
	DeploymentConfiguration *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	PlacementConstraints    []PlacementConstraint    `json:"placementConstraints,omitempty"`
	PlacementStrategy       []PlacementStrategy      `json:"placementStrategy,omitempty"`
	// SchedulingStrategy is REPLICA (the default) or DAEMON.
	SchedulingStrategy string `json:"schedulingStrategy,omitempty"`
	LaunchType         string `json:"launchType,omitempty"`
	// CapacityProviderStrategy runs the service's tasks on the cluster's
	// capacity providers; it cannot be given with LaunchType, nor for a
	// DAEMON service. When neither is given, a REPLICA service takes the
	// cluster's default strategy, if it has one.
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	// AvailabilityZoneRebalancing is ENABLED or DISABLED; left empty, it
	// is ENABLED for a service that can rebalance (REPLICA, with no
	// placement strategy or spread over attribute:ecs.availability-zone
	// first), else DISABLED.
	AvailabilityZoneRebalancing string `json:"availabilityZoneRebalancing,omitempty"`
	// HealthCheckGracePeriodSeconds is 0 (none, the default) to
	// 2,147,483,647.
	HealthCheckGracePeriodSeconds int `json:"healthCheckGracePeriodSeconds,omitempty"`
	// Tags follow ECS's tagging rules (see taskdef.ValidateTags).
	Tags []Tag `json:"tags,omitempty"`
	// Unmodelled holds the members of ECS's request that the model keeps
	// but does not act on, as [DecodeCreateServiceInput] found them; they
	// change nothing.
	Unmodelled map[string]json.RawMessage `json:"-"`
}

// unmodelledServiceFields are the members of ECS's CreateService and
// UpdateService requests that the model takes and keeps but does not act
// on (see the aws-sdk-go-v2 service/ecs inputs).
var unmodelledServiceFields = map[string]bool{
	"deploymentController": true,
	"enableECSManagedTags": true, "enableExecuteCommand": true, "gatewayConnectors": true, "monitoring": true,
	"platformVersion": true, "propagateTags": true, "serviceConnectConfiguration": true,
	"serviceRegistries": true, "volumeConfigurations": true, "vpcLatticeConfigurations": true,
}

// unmodelledUpdateFields are UpdateService's members, beyond those above,
// that the model keeps without acting on them.
var unmodelledUpdateFields = map[string]bool{"loadBalancers": true}

// decodeServiceInput decodes ECS JSON into in, case-sensitively: a member
// in's type names is decoded, one of ECS's that the model does not act on
// (or of the extra unmodelled ones) is kept in the returned map, anything
// else is a ClientException naming it.
func decodeServiceInput(what string, data []byte, in any, unmodelled map[string]bool) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		return nil, clientException(err, "%s input: %v", what, err)
	}
	if dec.More() {
		return nil, clientException(nil, "%s input: data after the JSON object", what)
	}
	known := jsonNames(reflect.TypeOf(in).Elem())
	modelled := map[string]json.RawMessage{}
	var kept map[string]json.RawMessage
	for name, v := range members {
		switch {
		case known[name]:
			modelled[name] = v
		case unmodelledServiceFields[name] || unmodelled[name]:
			if kept == nil {
				kept = map[string]json.RawMessage{}
			}
			kept[name] = v
		default:
			return nil, clientException(nil, "%s input: unknown field %q", what, name)
		}
	}
	body, _ := json.Marshal(modelled) // re-encoding decoded raw members cannot fail
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(in); err != nil {
		return nil, clientException(err, "%s input: %v", what, err)
	}
	return kept, nil
}

// jsonNames returns the JSON member names of a struct type's fields.
func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}

// DecodeCreateServiceInput decodes the JSON that `aws ecs create-service
// --cli-input-json` takes. It accepts every member of ECS's CreateService
// request, case-sensitively: the ones the model does not act on
// (deploymentController, serviceRegistries, ...)
// are kept in Unmodelled; a member ECS does not have is a ClientException
// naming it.
func DecodeCreateServiceInput(data []byte) (*CreateServiceInput, error) {
	var in CreateServiceInput
	kept, err := decodeServiceInput("create-service", data, &in, nil)
	if err != nil {
		return nil, err
	}
	in.Unmodelled = kept
	return &in, nil
}

// DecodeUpdateServiceInput decodes the JSON that `aws ecs update-service
// --cli-input-json` takes, as [DecodeCreateServiceInput] decodes
// create-service's.
func DecodeUpdateServiceInput(data []byte) (*UpdateServiceInput, error) {
	var in UpdateServiceInput
	kept, err := decodeServiceInput("update-service", data, &in, unmodelledUpdateFields)
	if err != nil {
		return nil, err
	}
	in.Unmodelled = kept
	return &in, nil
}

// CreateServiceOutput is the output of [Client.CreateService].
type CreateServiceOutput struct {
	Service Service `json:"service"`
}

// Bounds on service parameters. ECS's quota is 5,000 tasks per service,
// adjustable; the model allows more (the benchmarks run 10,000) but bounds
// desiredCount and maximumPercent so that desiredCount × maximumPercent
// cannot overflow [INF].
const (
	MaxServiceDesiredCount = 1_000_000
	MaxMaximumPercent      = 10_000
)

const (
	daemonDesiredCount = "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again"
	daemonStrategy     = "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again"
)

// CreateService creates a service: a task definition kept at its desired
// count (REPLICA) or on every qualifying instance (DAEMON) by the service
// scheduler, which runs at each [Client.Reconcile].
func (c *Client) CreateService(ctx context.Context, in *CreateServiceInput) (*CreateServiceOutput, error) {
	if in == nil {
		in = &CreateServiceInput{}
	}
	if !clusterNameRE.MatchString(in.ServiceName) {
		return nil, invalidParameter(nil, "serviceName %q: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", in.ServiceName)
	}
	daemon := false
	switch in.SchedulingStrategy {
	case "", "REPLICA":
	case "DAEMON":
		daemon = true
	default:
		return nil, invalidParameter(nil, "schedulingStrategy must be REPLICA or DAEMON, not %q.", in.SchedulingStrategy)
	}
	if err := checkLaunchType(in.LaunchType); err != nil {
		return nil, err
	}
	desired := 0
	switch {
	case daemon && in.DesiredCount != nil:
		return nil, invalidParameter(nil, daemonDesiredCount)
	case daemon && len(in.PlacementStrategy) > 0:
		return nil, invalidParameter(nil, daemonStrategy)
	case !daemon && in.DesiredCount == nil:
		return nil, invalidParameter(nil, "desiredCount is required for services with the REPLICA scheduling strategy.")
	case !daemon:
		desired = *in.DesiredCount
	}
	if desired < 0 || desired > MaxServiceDesiredCount {
		return nil, invalidParameter(nil, "desiredCount must be between 0 and %d, got %d.", MaxServiceDesiredCount, desired)
	}
	maxPct, minPct, cb, err := deploymentConfig(in.DeploymentConfiguration, daemon, 200, 100)
	if err != nil {
		return nil, err
	}
	if err := checkGracePeriod(in.HealthCheckGracePeriodSeconds); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	td, err := c.serviceTaskDef(in.TaskDefinition, in.NetworkConfiguration)
	if err != nil {
		return nil, err
	}
	strategies, constraints, err := parsePlacement(in.PlacementStrategy, in.PlacementConstraints, len(td.Constraints))
	if err != nil {
		return nil, err
	}
	cfg := scheduler.ServiceConfig{
		TaskDef: td, DesiredCount: desired, Daemon: daemon,
		MaximumPercent: maxPct, MinimumHealthyPercent: minPct, CircuitBreaker: cb,
		Strategies: strategies, Constraints: constraints,
	}
	if cfg.AvailabilityZoneRebalancing, err = azRebalancing(in.AvailabilityZoneRebalancing, daemon, strategies, true); err != nil {
		return nil, err
	}
	var out *CreateServiceOutput
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		items, err := c.serviceStrategy(e, daemon, in.LaunchType, in.CapacityProviderStrategy)
		if err != nil {
			return err
		}
		cfg.CapacityProviders = items
		s, err := e.services.Create(in.ServiceName, cfg)
		if err != nil {
			return serviceError(err, in.ServiceName)
		}
		e.extras(in.ServiceName, serviceExtras{
			loadBalancers: slices.Clone(in.LoadBalancers), role: in.Role, network: in.NetworkConfiguration.clone(),
			gracePeriod: in.HealthCheckGracePeriodSeconds, tags: slices.Clone(in.Tags),
		})
		out = &CreateServiceOutput{Service: e.describeService(s, true)}
		return nil
	})
	return out, err
}

// MaxHealthCheckGracePeriod is the largest healthCheckGracePeriodSeconds
// ECS takes (2,147,483,647 seconds).
const MaxHealthCheckGracePeriod = 1<<31 - 1

func checkGracePeriod(p int) error {
	if p < 0 || p > MaxHealthCheckGracePeriod {
		return invalidParameter(nil, "healthCheckGracePeriodSeconds must be between 0 and %d, got %d.", MaxHealthCheckGracePeriod, p)
	}
	return nil
}

// azRebalancing checks availabilityZoneRebalancing (ENABLED, DISABLED or,
// when def, empty for the default) against the service it would be set
// on: only a REPLICA service whose placement spreads over Availability
// Zones first (or has no strategy, and so ECS's default spread) can
// rebalance [INF: ECS's documented support; the message is ours]. Empty
// gives ENABLED when it can, else DISABLED.
func azRebalancing(v string, daemon bool, strategies []placement.Strategy, def bool) (bool, error) {
	can := !daemon && (len(strategies) == 0 || strategies[0].Type() == placement.Spread && strategies[0].Field() == "attribute:ecs.availability-zone")
	switch v {
	case "":
		if def {
			return can, nil
		}
		return false, nil
	case "DISABLED":
		return false, nil
	case "ENABLED":
		if !can {
			return false, invalidParameter(nil, "availabilityZoneRebalancing ENABLED needs the REPLICA scheduling strategy and either no placementStrategy or spread on attribute:ecs.availability-zone first.")
		}
		return true, nil
	}
	return false, invalidParameter(nil, "availabilityZoneRebalancing must be ENABLED or DISABLED, not %q.", v)
}

// serviceStrategy is callStrategy for CreateService: a DAEMON service
// takes no capacity provider strategy, neither its own nor, without a
// launch type, the cluster's default [INF: ECS refuses the second too
// (containers-roadmap#692); give launchType EC2 to create one].
func (c *Client) serviceStrategy(e *clusterEntry, daemon bool, launchType string, items []CapacityProviderStrategyItem) ([]scheduler.StrategyItem, error) {
	if daemon && (len(items) > 0 || launchType == "" && len(e.defaultStrategy) > 0) {
		return nil, invalidParameter(scheduler.ErrDaemonCapacityProviders, "%v", scheduler.ErrDaemonCapacityProviders)
	}
	return c.callStrategy(e, launchType, items)
}

func checkLaunchType(lt string) error {
	switch lt {
	case "", "EC2", "EXTERNAL":
		return nil
	case "FARGATE", "MANAGED_INSTANCES":
		return invalidParameter(nil, "launchType %s is not supported: Stevedore models the EC2 launch type.", lt)
	}
	return invalidParameter(nil, "launch type should be one of [EC2,FARGATE,EXTERNAL]")
}

// deploymentConfig applies the defaults and ECS's rules to a deployment
// configuration.
func deploymentConfig(dc *DeploymentConfiguration, daemon bool, maxDefault, minDefault int) (int, int, scheduler.CircuitBreaker, error) {
	maxPct, minPct := maxDefault, minDefault
	if daemon {
		maxPct, minPct = 100, 0
	}
	var cb scheduler.CircuitBreaker
	if dc != nil {
		if dc.MaximumPercent != nil {
			maxPct = *dc.MaximumPercent
		}
		if dc.MinimumHealthyPercent != nil {
			minPct = *dc.MinimumHealthyPercent
		}
		if b := dc.DeploymentCircuitBreaker; b != nil {
			cb = scheduler.CircuitBreaker{Enable: b.Enable, Rollback: b.Rollback}
		}
	}
	switch {
	case daemon && maxPct != 100:
		return 0, 0, cb, invalidParameter(nil, "deploymentConfiguration.maximumPercent must be 100 for the DAEMON scheduling strategy.")
	case minPct < 0 || minPct > 100:
		return 0, 0, cb, invalidParameter(nil, "deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got %d.", minPct)
	case maxPct < 100 || maxPct > MaxMaximumPercent:
		return 0, 0, cb, invalidParameter(nil, "deploymentConfiguration.maximumPercent must be between 100 and %d, got %d.", MaxMaximumPercent, maxPct)
	}
	return maxPct, minPct, cb, nil
}

// serviceTaskDef resolves the task definition of a service.
func (c *Client) serviceTaskDef(ref string, net *NetworkConfiguration) (scheduler.TaskDef, error) {
	spec, e, err := c.taskSpec(ref, "", "", net, nil)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	cs, err := taskDefConstraints(e)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	return scheduler.TaskDef{ARN: e.ARN(), Family: e.Family(), Demand: spec.Demand, Constraints: cs}, nil
}

// parsePlacement parses a call's strategies and constraints; fromDef is how
// many constraints the task definition adds (at most 10 together).
func parsePlacement(strategies []PlacementStrategy, constraints []PlacementConstraint, fromDef int) ([]placement.Strategy, placement.Constraints, error) {
	if len(strategies) > MaxPlacementStrategies {
		return nil, nil, invalidParameter(nil, "placementStrategy can have at most %d items.", MaxPlacementStrategies)
	}
	if n := len(constraints) + fromDef; n > MaxPlacementConstraints {
		return nil, nil, invalidParameter(nil, "placementConstraints can have at most %d items, the task definition's included; got %d.", MaxPlacementConstraints, n)
	}
	var ss []placement.Strategy
	for i, s := range strategies {
		st, err := placement.ParseStrategy(s.Type, s.Field)
		if err != nil {
			return nil, nil, invalidParameter(err, "placementStrategy[%d]: %v", i, err)
		}
		ss = append(ss, st)
	}
	var cs placement.Constraints
	for i, pc := range constraints {
		con, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return nil, nil, invalidParameter(err, "placementConstraints[%d]: %v", i, err)
		}
		cs = append(cs, con)
	}
	return ss, cs, nil
}

func serviceError(err error, name string) error {
	switch {
	case errors.Is(err, scheduler.ErrServiceExists):
		return invalidParameter(err, "Creation of service was not idempotent.")
	case errors.Is(err, scheduler.ErrServiceNotFound):
		return &ServiceNotFoundException{Message: "Service not found: " + name, Err: err}
	case errors.Is(err, scheduler.ErrServiceNotActive):
		return &ServiceNotActiveException{Message: "Service was not ACTIVE: " + name, Err: err}
	case errors.Is(err, scheduler.ErrServiceScaled):
		return invalidParameter(err, "The service cannot be stopped while it is scaled above 0.")
	}
	return err
}

// serviceExtras are what a service records without scheduling on them.
// They are replaced whole, never changed in place.
type serviceExtras struct {
	loadBalancers []LoadBalancer
	role          string
	network       *NetworkConfiguration
	gracePeriod   int
	tags          []Tag
}

func (e *clusterEntry) serviceExtra(name string) serviceExtras {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.serviceExtras[name]
}

// updateExtras applies f to a copy of the service's extras and stores it.
func (e *clusterEntry) updateExtras(name string, f func(x *serviceExtras)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.serviceExtras[name]
	f(&x)
	if e.serviceExtras == nil {
		e.serviceExtras = map[string]serviceExtras{}
	}
	e.serviceExtras[name] = x
}

func (e *clusterEntry) extras(name string, x serviceExtras) {
	e.updateExtras(name, func(old *serviceExtras) { *old = x })
}

// describeService describes s, with its tags if withTags.
func (e *clusterEntry) describeService(s scheduler.Service, withTags bool) Service {
	x := e.serviceExtra(s.Name)
	out := Service{
		ServiceArn: s.ARN, ServiceName: s.Name, ClusterArn: e.c.ARN(),
		LoadBalancers: append([]LoadBalancer{}, x.loadBalancers...), RoleArn: x.role,
		Status: string(s.Status), DesiredCount: s.Config.DesiredCount,
		RunningCount: s.RunningCount, PendingCount: s.PendingCount,
		LaunchType: "EC2", TaskDefinition: s.Config.TaskDef.ARN,
		CapacityProviderStrategy:    describedStrategy(s.Config.CapacityProviders),
		AvailabilityZoneRebalancing: enabledText(s.Config.AvailabilityZoneRebalancing),
		DeploymentConfiguration: DeploymentConfiguration{
			MaximumPercent:        new(s.Config.MaximumPercent),
			MinimumHealthyPercent: new(s.Config.MinimumHealthyPercent),
			DeploymentCircuitBreaker: &DeploymentCircuitBreaker{
				Enable: s.Config.CircuitBreaker.Enable, Rollback: s.Config.CircuitBreaker.Rollback,
			},
		},
		Deployments:          []Deployment{},
		Events:               []ServiceEvent{},
		CreatedAt:            s.CreatedAt,
		PlacementConstraints: []PlacementConstraint{},
		PlacementStrategy:    []PlacementStrategy{},
		SchedulingStrategy:   "REPLICA",
	}
	out.NetworkConfiguration = x.network.clone()
	out.HealthCheckGracePeriodSeconds = x.gracePeriod
	if withTags {
		out.Tags = slices.Clone(x.tags)
	}
	if s.Config.Daemon {
		out.SchedulingStrategy = "DAEMON"
	}
	if out.CapacityProviderStrategy != nil {
		out.LaunchType = ""
	}
	for _, d := range s.Deployments {
		out.Deployments = append(out.Deployments, Deployment{
			Id: d.ID, Status: d.Status, TaskDefinition: d.TaskDef.ARN,
			DesiredCount: d.DesiredCount, PendingCount: d.PendingCount, RunningCount: d.RunningCount,
			FailedTasks: d.FailedTasks, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
			LaunchType: out.LaunchType, CapacityProviderStrategy: slices.Clone(out.CapacityProviderStrategy),
			RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
		})
	}
	for _, ev := range s.Events {
		out.Events = append(out.Events, ServiceEvent{Id: ev.ID, CreatedAt: ev.CreatedAt, Message: ev.Message})
	}
	for _, st := range s.Config.Strategies {
		out.PlacementStrategy = append(out.PlacementStrategy, PlacementStrategy{Type: st.Type().String(), Field: st.Field()})
	}
	for _, con := range s.Config.Constraints {
		out.PlacementConstraints = append(out.PlacementConstraints, PlacementConstraint{Type: con.Type().String(), Expression: con.Text()})
	}
	return out
}

// describedStrategy is a scheduler strategy in ECS's shape (nil for none).
func describedStrategy(items []scheduler.StrategyItem) []CapacityProviderStrategyItem {
	if len(items) == 0 {
		return nil
	}
	out := make([]CapacityProviderStrategyItem, len(items))
	for i, it := range items {
		out[i] = CapacityProviderStrategyItem{CapacityProvider: it.Provider, Base: it.Base, Weight: it.Weight}
	}
	return out
}

// UpdateServiceInput is the input of [Client.UpdateService]. Fields left
// nil (or empty, for TaskDefinition) keep their value; a non-nil empty
// PlacementStrategy or PlacementConstraints removes them.
type UpdateServiceInput struct {
	Cluster                 string                   `json:"cluster,omitempty"`
	Service                 string                   `json:"service"`
	DesiredCount            *int                     `json:"desiredCount,omitempty"`
	TaskDefinition          string                   `json:"taskDefinition,omitempty"`
	DeploymentConfiguration *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	PlacementConstraints    []PlacementConstraint    `json:"placementConstraints,omitempty"`
	PlacementStrategy       []PlacementStrategy      `json:"placementStrategy,omitempty"`
	// CapacityProviderStrategy, when not nil, replaces the service's
	// (checked against the cluster's providers); a non-nil empty one
	// returns the service to the EC2 launch type. It does not start a
	// deployment: tasks started from then on follow it, and
	// ForceNewDeployment replaces the others.
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	ForceNewDeployment       bool                           `json:"forceNewDeployment,omitempty"`
	// AvailabilityZoneRebalancing, when not empty, turns rebalancing on
	// (ENABLED) or off (DISABLED); ENABLED is checked against the
	// placement strategy the service has after the update.
	AvailabilityZoneRebalancing string `json:"availabilityZoneRebalancing,omitempty"`
	// NetworkConfiguration, for an awsvpc task definition, replaces the
	// service's; nil keeps it, also when TaskDefinition names a new
	// revision (one that is not awsvpc drops it).
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// HealthCheckGracePeriodSeconds, when not nil, replaces the service's.
	HealthCheckGracePeriodSeconds *int `json:"healthCheckGracePeriodSeconds,omitempty"`
	// Unmodelled holds the members of ECS's request that the model keeps
	// but does not act on, as [DecodeUpdateServiceInput] found them.
	Unmodelled map[string]json.RawMessage `json:"-"`
}

// UpdateServiceOutput is the output of [Client.UpdateService].
type UpdateServiceOutput struct {
	Service Service `json:"service"`
}

// UpdateService changes a service. A new task definition, a changed
// network configuration or ForceNewDeployment starts a new deployment,
// rolled out by the reconciler within the deployment configuration; the
// other changes do not. Every field is checked before anything is written:
// a call that fails changes nothing.
func (c *Client) UpdateService(ctx context.Context, in *UpdateServiceInput) (*UpdateServiceOutput, error) {
	if in == nil {
		in = &UpdateServiceInput{}
	}
	if in.Service == "" {
		return nil, invalidParameter(nil, "service is required.")
	}
	if p := in.HealthCheckGracePeriodSeconds; p != nil {
		if err := checkGracePeriod(*p); err != nil {
			return nil, err
		}
	}
	var out *UpdateServiceOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		name := serviceName(in.Service)
		cur, ok := e.services.Get(name)
		if !ok {
			return serviceError(scheduler.ErrServiceNotFound, name)
		}
		if cur.Status != scheduler.ServiceActive {
			return serviceError(scheduler.ErrServiceNotActive, name)
		}
		u, net, netChanged, err := c.serviceUpdate(e, cur, in)
		if err != nil {
			return err
		}
		// Everything is checked: now write, the scheduler's part first.
		s, err := e.services.Update(name, u)
		if err != nil {
			return serviceError(err, name)
		}
		e.updateExtras(name, func(x *serviceExtras) {
			if netChanged { // else a concurrent update's network stands
				x.network = net.clone()
			}
			if p := in.HealthCheckGracePeriodSeconds; p != nil {
				x.gracePeriod = *p
			}
		})
		out = &UpdateServiceOutput{Service: e.describeService(s, false)}
		return nil
	})
	return out, err
}

// serviceUpdate checks an UpdateService call against the service cur and
// returns the scheduler's update, the network configuration the service
// has afterwards and whether that changes it. It writes nothing.
func (c *Client) serviceUpdate(e *clusterEntry, cur scheduler.Service, in *UpdateServiceInput) (scheduler.Update, *NetworkConfiguration, bool, error) {
	var u scheduler.Update
	u.ForceNewDeployment = in.ForceNewDeployment
	if in.DesiredCount != nil {
		if cur.Config.Daemon {
			return u, nil, false, invalidParameter(nil, daemonDesiredCount)
		}
		if *in.DesiredCount < 0 || *in.DesiredCount > MaxServiceDesiredCount {
			return u, nil, false, invalidParameter(nil, "desiredCount must be between 0 and %d, got %d.", MaxServiceDesiredCount, *in.DesiredCount)
		}
		u.DesiredCount = in.DesiredCount
	}
	if cur.Config.Daemon && len(in.PlacementStrategy) > 0 {
		return u, nil, false, invalidParameter(nil, daemonStrategy)
	}
	if dc := in.DeploymentConfiguration; dc != nil {
		// Each given field is checked on its own and applied by the
		// registry under its lock, so concurrent updates of different
		// fields do not undo each other.
		if dc.MaximumPercent != nil {
			if cur.Config.Daemon && *dc.MaximumPercent != 100 {
				return u, nil, false, invalidParameter(nil, "deploymentConfiguration.maximumPercent must be 100 for the DAEMON scheduling strategy.")
			}
			if *dc.MaximumPercent < 100 || *dc.MaximumPercent > MaxMaximumPercent {
				return u, nil, false, invalidParameter(nil, "deploymentConfiguration.maximumPercent must be between 100 and %d, got %d.", MaxMaximumPercent, *dc.MaximumPercent)
			}
			u.MaximumPercent = new(*dc.MaximumPercent)
		}
		if dc.MinimumHealthyPercent != nil {
			if *dc.MinimumHealthyPercent < 0 || *dc.MinimumHealthyPercent > 100 {
				return u, nil, false, invalidParameter(nil, "deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got %d.", *dc.MinimumHealthyPercent)
			}
			u.MinimumHealthyPercent = new(*dc.MinimumHealthyPercent)
		}
		if b := dc.DeploymentCircuitBreaker; b != nil {
			u.CircuitBreaker = &scheduler.CircuitBreaker{Enable: b.Enable, Rollback: b.Rollback}
		}
	}
	// The network configuration: the given one, else the service's own,
	// checked against the task definition the service will run.
	old := e.serviceExtra(cur.Name).network
	net := cmp.Or(in.NetworkConfiguration, old)
	tdRef := cur.Config.TaskDef.ARN
	if in.TaskDefinition != "" {
		tdRef = in.TaskDefinition
		if in.NetworkConfiguration == nil && old != nil {
			// A new revision keeps the service's awsvpc configuration
			// [INF]; one that is not awsvpc runs without it.
			if def, err := c.registry.Resolve(in.TaskDefinition); err == nil && def.NetworkMode() != taskdef.NetworkModeAwsvpc {
				net = nil
			}
		}
	}
	td := cur.Config.TaskDef
	if in.TaskDefinition != "" || in.NetworkConfiguration != nil {
		// Only then: a service on an INACTIVE revision may still change
		// its desired count.
		var err error
		if td, err = c.serviceTaskDef(tdRef, net); err != nil {
			return u, nil, false, err
		}
	}
	if in.TaskDefinition != "" {
		u.TaskDef = &td
	}
	changed := !reflect.DeepEqual(net, old)
	if changed {
		u.ForceNewDeployment = true // a changed network configuration (§4.3)
	}
	// The limit counts the constraints the service keeps too.
	tdConstraints := len(td.Constraints)
	if in.PlacementConstraints == nil {
		tdConstraints += len(cur.Config.Constraints)
	}
	strategies, constraints, err := parsePlacement(in.PlacementStrategy, in.PlacementConstraints, tdConstraints)
	if err != nil {
		return u, nil, false, err
	}
	if in.PlacementStrategy != nil {
		u.Strategies = &strategies
	}
	if in.PlacementConstraints != nil {
		u.Constraints = &constraints
	}
	after := cur.Config.Strategies
	if in.PlacementStrategy != nil {
		after = strategies
	}
	switch {
	case in.AvailabilityZoneRebalancing != "":
		on, err := azRebalancing(in.AvailabilityZoneRebalancing, cur.Config.Daemon, after, false)
		if err != nil {
			return u, nil, false, err
		}
		u.AvailabilityZoneRebalancing = &on
	case cur.Config.AvailabilityZoneRebalancing:
		// A placement strategy that cannot rebalance turns it off [INF].
		if on, _ := azRebalancing("", cur.Config.Daemon, after, true); !on {
			u.AvailabilityZoneRebalancing = &on
		}
	}
	if in.CapacityProviderStrategy != nil {
		if cur.Config.Daemon && len(in.CapacityProviderStrategy) > 0 {
			return u, nil, false, invalidParameter(scheduler.ErrDaemonCapacityProviders, "%v", scheduler.ErrDaemonCapacityProviders)
		}
		var items []scheduler.StrategyItem
		if len(in.CapacityProviderStrategy) > 0 {
			var err error
			if items, err = c.callStrategy(e, "", in.CapacityProviderStrategy); err != nil {
				return u, nil, false, err
			}
		}
		u.CapacityProviders = &items
	}
	return u, net, changed, nil
}

// serviceName takes the name out of a service name or ARN.
func serviceName(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref[strings.LastIndexByte(ref, '/')+1:]
	}
	return ref
}

// DeleteServiceInput is the input of [Client.DeleteService].
type DeleteServiceInput struct {
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service"`
	// Force deletes a REPLICA service that is scaled above 0.
	Force bool `json:"force,omitempty"`
}

// DeleteServiceOutput is the output of [Client.DeleteService].
type DeleteServiceOutput struct {
	Service Service `json:"service"`
}

// DeleteService deletes a service: it becomes DRAINING, the reconciler
// stops its tasks, and it becomes INACTIVE when none is left (at once if it
// has none). Its name can then be used again.
func (c *Client) DeleteService(ctx context.Context, in *DeleteServiceInput) (*DeleteServiceOutput, error) {
	if in == nil {
		in = &DeleteServiceInput{}
	}
	var out *DeleteServiceOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		name := serviceName(in.Service)
		s, err := e.services.Delete(name, in.Force)
		if err != nil {
			return serviceError(err, name)
		}
		out = &DeleteServiceOutput{Service: e.describeService(s, false)}
		return nil
	})
	return out, err
}

// DescribeServicesInput is the input of [Client.DescribeServices].
type DescribeServicesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Services are 1 to 10 names or ARNs.
	Services []string `json:"services"`
	// Include may name TAGS, to describe the services' tags.
	Include []string `json:"include,omitempty"`
}

// DescribeServicesOutput is the output of [Client.DescribeServices].
type DescribeServicesOutput struct {
	Services []Service `json:"services"`
	Failures []Failure `json:"failures"`
}

// DescribeServices describes services, DRAINING and INACTIVE ones included;
// unknown names are MISSING failures, with the ARN as given or, for a name,
// as ECS writes it. Running and pending counts are the cluster's now, so an
// agent's report shows before the next Reconcile.
func (c *Client) DescribeServices(ctx context.Context, in *DescribeServicesInput) (*DescribeServicesOutput, error) {
	if in == nil {
		in = &DescribeServicesInput{}
	}
	if len(in.Services) == 0 {
		return nil, invalidParameter(nil, "Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParameter(nil, "services can have at most 10 items.")
	}
	tags := false
	for _, inc := range in.Include {
		if inc != "TAGS" {
			return nil, invalidParameter(nil, "include must be TAGS, not %q.", inc)
		}
		tags = true
	}
	out := &DescribeServicesOutput{Services: []Service{}, Failures: []Failure{}}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		for _, ref := range in.Services {
			name := serviceName(ref)
			s, ok := e.services.Describe(name) // counts as the cluster stands now
			if !ok {
				arn := ref // an ARN comes back as it was given
				if !isARN(ref) {
					arn = c.arnPrefix + "service/" + e.c.Name() + "/" + name
				}
				out.Failures = append(out.Failures, Failure{Arn: arn, Reason: "MISSING"})
				continue
			}
			out.Services = append(out.Services, e.describeService(s, tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListServicesInput is the input of [Client.ListServices].
type ListServicesInput struct {
	Cluster            string `json:"cluster,omitempty"`
	LaunchType         string `json:"launchType,omitempty"`
	SchedulingStrategy string `json:"schedulingStrategy,omitempty"`
	// MaxResults is 1 to 100; 0 means 10, ECS's default for ListServices.
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListServicesOutput is the output of [Client.ListServices].
type ListServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   string   `json:"nextToken,omitempty"`
}

// ListServices lists the ARNs of the ACTIVE services, sorted, in pages.
func (c *Client) ListServices(ctx context.Context, in *ListServicesInput) (*ListServicesOutput, error) {
	if in == nil {
		in = &ListServicesInput{}
	}
	if in.SchedulingStrategy != "" && in.SchedulingStrategy != "REPLICA" && in.SchedulingStrategy != "DAEMON" {
		return nil, invalidParameter(nil, "schedulingStrategy must be REPLICA or DAEMON, not %q.", in.SchedulingStrategy)
	}
	if in.LaunchType != "" && in.LaunchType != "EC2" {
		return nil, invalidParameter(nil, "launchType must be EC2 or empty, not %q.", in.LaunchType)
	}
	var arns []string
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		for _, name := range e.services.Names(false) {
			s, _ := e.services.Get(name)
			if in.SchedulingStrategy == "DAEMON" && !s.Config.Daemon || in.SchedulingStrategy == "REPLICA" && s.Config.Daemon {
				continue
			}
			arns = append(arns, s.ARN)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	maxResults := in.MaxResults
	if maxResults == 0 {
		maxResults = 10
	}
	page, next, err := paginate(arns, maxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &ListServicesOutput{ServiceArns: page, NextToken: next}, nil
}

// ReconcileInput is the input of [Client.Reconcile].
type ReconcileInput struct {
	Cluster string `json:"cluster,omitempty"`
}

// ReconcileOutput is what one reconcile step did.
type ReconcileOutput struct {
	Started  []Task    `json:"started"`
	Stopped  []Task    `json:"stopped"`
	Failures []Failure `json:"failures"`
}

// Reconcile runs one deterministic step of the service scheduler over every
// service of the cluster (see scheduler.Services.Reconcile for the rules).
// It is not an ECS operation: ECS runs its scheduler continuously; here a
// program or test decides when a step happens, with the clock it injected.
func (c *Client) Reconcile(ctx context.Context, in *ReconcileInput) (*ReconcileOutput, error) {
	if in == nil {
		in = &ReconcileInput{}
	}
	var out *ReconcileOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		res, err := e.services.Reconcile()
		if err != nil {
			return err
		}
		out = &ReconcileOutput{Started: c.tasks(res.Started), Stopped: c.tasks(res.Stopped), Failures: failures(res.Failures)}
		return nil
	})
	return out, err
}

// StartPendingTasksInput is the input of [Client.StartPendingTasks].
type StartPendingTasksInput struct {
	Cluster string `json:"cluster,omitempty"`
}

// StartPendingTasksOutput is the output of [Client.StartPendingTasks].
type StartPendingTasksOutput struct {
	TaskArns []string `json:"taskArns"`
}

// StartPendingTasks has the agents of the cluster report every PENDING task
// RUNNING, as SubmitTaskStateChange would one by one (not an ECS
// operation: a simulation's shortcut for healthy agents).
func (c *Client) StartPendingTasks(ctx context.Context, in *StartPendingTasksInput) (*StartPendingTasksOutput, error) {
	if in == nil {
		in = &StartPendingTasksInput{}
	}
	out := &StartPendingTasksOutput{TaskArns: []string{}}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		var ids []string
		e.c.Read(func(v *cluster.View) {
			for in := range v.Instances() {
				for t := range v.InstanceTasks(in) {
					if t.LastStatus() == cluster.TaskPending {
						ids = append(ids, t.ID())
					}
				}
			}
		})
		for _, id := range ids {
			info, err := e.c.TaskStarted(id)
			if errors.Is(err, cluster.ErrInvalidTransition) || errors.Is(err, cluster.ErrTaskNotFound) {
				continue // another caller moved it meanwhile
			}
			if err != nil {
				return err
			}
			out.TaskArns = append(out.TaskArns, info.ARN)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// enabledText is ENABLED or DISABLED.
func enabledText(on bool) string {
	if on {
		return "ENABLED"
	}
	return "DISABLED"
}
