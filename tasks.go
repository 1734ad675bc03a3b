package stevedore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Limits of RunTask and StartTask.
const (
	// MaxTasksPerCall is the most tasks one RunTask or StartTask starts.
	MaxTasksPerCall = 10
	// MaxPlacementConstraints is the most placement constraints a task
	// has, its task definition's and the call's together.
	MaxPlacementConstraints = 10
	// MaxPlacementStrategies is the most strategy rules a call has.
	MaxPlacementStrategies = 5
)

// maxReason bounds a stoppedReason given to StopTask or
// SubmitTaskStateChange.
const maxReason = 255

// RunTaskInput is the input of [Client.RunTask].
type RunTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	// TaskDefinition is a family (latest ACTIVE revision),
	// family:revision or ARN. Required.
	TaskDefinition string `json:"taskDefinition"`
	// Count is 1 to 10; 0 means 1.
	Count int `json:"count,omitempty"`
	// Group is the task group; empty means "family:<family>".
	Group string `json:"group,omitempty"`
	// StartedBy is up to 128 letters, digits, '-', '/' and '_'.
	StartedBy string `json:"startedBy,omitempty"`
	// LaunchType is EC2 (the default) or EXTERNAL; FARGATE is not modelled.
	LaunchType string `json:"launchType,omitempty"`
	// CapacityProviderStrategy splits the tasks over capacity providers
	// of the cluster (see [CapacityProviderStrategyItem]); each provider's
	// tasks run only on its instances. Not with LaunchType. Neither given
	// means the cluster's default strategy, if it has one. Tasks of a
	// provider with managed scaling that fit nowhere wait in PROVISIONING
	// (at most [MaxProvisioningTasks] per cluster) and are part of Tasks;
	// the others are failures.
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	// PlacementConstraints and PlacementStrategy shape the placement.
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	PlacementStrategy    []PlacementStrategy   `json:"placementStrategy,omitempty"`
	// NetworkConfiguration is required for awsvpc task definitions.
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// Overrides change the task definition for these tasks; their cpu,
	// memory and GPUs are the tasks' demand. See [TaskOverride].
	Overrides *TaskOverride `json:"overrides,omitempty"`
}

// RunTaskOutput is the output of [Client.RunTask]: the tasks started and
// one failure per task that could not be placed.
type RunTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// RunTask starts Count tasks of a task definition, placed by the scheduler
// (see scheduler.RandomSpread for the default, the whitepaper's random
// spread). Tasks are placed one after another; a task that fits nowhere is a
// failure naming the closest matching container instance and the reason,
// never an error.
func (c *Client) RunTask(ctx context.Context, in *RunTaskInput) (*RunTaskOutput, error) {
	if in == nil {
		in = &RunTaskInput{}
	}
	count := in.Count
	if count == 0 {
		count = 1
	}
	if count < 1 || count > MaxTasksPerCall {
		return nil, invalidParameter(nil, "count must be between 1 and %d, got %d.", MaxTasksPerCall, in.Count)
	}
	if err := checkStartedBy(in.StartedBy, 128); err != nil {
		return nil, err
	}
	switch in.LaunchType {
	case "", "EC2", "EXTERNAL":
	case "FARGATE", "MANAGED_INSTANCES":
		return nil, invalidParameter(nil, "launchType %s is not supported: Stevedore models the EC2 launch type.", in.LaunchType)
	default:
		return nil, invalidParameter(nil, "launch type should be one of [EC2,FARGATE,EXTERNAL]")
	}
	spec, def, err := c.taskSpec(in.TaskDefinition, in.Group, in.StartedBy, in.NetworkConfiguration, in.Overrides)
	if err != nil {
		return nil, err
	}
	strategies, constraints, err := placementOf(def, in.PlacementConstraints, in.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	rc := c.runTaskCall()
	defer rc.release()
	var out *RunTaskOutput
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		items, err := c.callStrategy(e, in.LaunchType, in.CapacityProviderStrategy)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			if _, err := c.runShare(e, rc, spec, count, strategies, constraints); err != nil {
				return err
			}
			if rc.empty {
				return invalidParameter(nil, "No Container Instances were found in your cluster.")
			}
			out = &RunTaskOutput{Tasks: c.tasks(rc.res.Tasks), Failures: failures(rc.res.Failures)}
			return nil
		}
		out = &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
		rc.counted = true // a cluster without instances is not an error: its providers may scale
		for i, n := range scheduler.SplitStrategy(items, nil, count) {
			if n == 0 {
				continue
			}
			name := items[i].Provider
			used, err := c.runShare(e, rc, c.providerSpec(spec, name), n, strategies, constraints)
			if err != nil {
				return err
			}
			out.Tasks = append(out.Tasks, c.tasks(rc.res.Tasks)...)
			fails := rc.res.Failures
			if len(fails) > 0 && c.managedScalingOn(name) {
				waiting, err := c.provision(e, used, len(fails), strategies, constraints)
				if err != nil {
					return err
				}
				out.Tasks = append(out.Tasks, waiting...)
				fails = fails[len(waiting):]
			}
			out.Failures = append(out.Failures, failures(fails)...)
			clearResult(&rc.res)
		}
		return nil
	})
	return out, err
}

// runShare places count tasks of spec, as RunTask does, into rc.res, and
// returns the spec the tasks were placed with (guarded by the
// constraints).
func (c *Client) runShare(e *clusterEntry, rc *runTaskCall, spec *cluster.TaskSpec, count int, strategies []placement.Strategy, constraints placement.Constraints) (*cluster.TaskSpec, error) {
	if len(constraints) > 0 {
		guarded := *spec // spec may be shared
		guarded.Guard = constraints
		spec = &guarded
	}
	rc.spread = scheduler.RandomSpread{Spec: spec, Count: count, Rand: rc.rnd, Constraints: constraints, Survey: e.engine}
	rc.inner = &rc.spread
	if len(strategies) > 0 {
		rc.inner = &scheduler.Strategic{
			Request: placement.Request{Spec: spec, Strategies: strategies, Constraints: constraints, Rand: rc.rnd},
			Count:   count,
			Place:   e.place,
		}
	}
	return spec, scheduler.ExecuteTo(e.c, rc, c.opts.MaxCommitAttempts, &rc.res)
}

// provision starts n tasks of spec in PROVISIONING, as many as the
// cluster's quota leaves room for, remembering how to place them.
func (c *Client) provision(e *clusterEntry, spec *cluster.TaskSpec, n int, strategies []placement.Strategy, constraints placement.Constraints) ([]Task, error) {
	e.mu.Lock() // before Provision: placeProvisioning reads the plan under e.mu
	defer e.mu.Unlock()
	infos, err := e.c.Provision(spec, n, MaxProvisioningTasks)
	if err != nil {
		return nil, err
	}
	if e.provisioning == nil {
		e.provisioning = map[string]provisioningPlan{}
	}
	for _, info := range infos {
		e.provisioning[info.ID] = provisioningPlan{strategies: strategies, constraints: constraints}
	}
	return c.tasks(infos), nil
}

var startedByRE = regexp.MustCompile(`^[A-Za-z0-9/_-]*$`)

func checkStartedBy(s string, limit int) error {
	if len(s) > limit || !startedByRE.MatchString(s) {
		return invalidParameter(nil, "startedBy: up to %d letters (uppercase and lowercase), numbers, hyphens, underscores, and forward slashes are allowed.", limit)
	}
	return nil
}

// placementOf parses the placement parameters of a call, adding the task
// definition's memberOf constraints to the call's (at most 10 together).
func placementOf(e *taskdef.Entry, constraints []PlacementConstraint, strategies []PlacementStrategy) ([]placement.Strategy, placement.Constraints, error) {
	fromDef, err := taskDefConstraints(e)
	if err != nil {
		return nil, nil, err
	}
	ss, cs, err := parsePlacement(strategies, constraints, len(fromDef))
	if err != nil {
		return nil, nil, err
	}
	return ss, append(fromDef, cs...), nil
}

// taskDefConstraints parses a task definition's placement constraints.
func taskDefConstraints(e *taskdef.Entry) (placement.Constraints, error) {
	var cs placement.Constraints
	for i, pc := range e.PlacementConstraints() {
		con, err := placement.ParseConstraint(pc.Type, pc.Expression)
		if err != nil {
			return nil, invalidParameter(err, "task definition placementConstraints[%d]: %v", i, err)
		}
		cs = append(cs, con)
	}
	return cs, nil
}

// taskSpec resolves the task definition and builds the spec of the tasks
// a call starts. A call with the default group, no startedBy and no
// overrides that change anything gets the revision's shared spec: callers
// copy a spec before they modify it.
func (c *Client) taskSpec(ref, group, startedBy string, net *NetworkConfiguration, overrides *TaskOverride) (*cluster.TaskSpec, *taskdef.Entry, error) {
	if ref == "" {
		return nil, nil, invalidParameter(nil, "taskDefinition is required.")
	}
	e, err := c.registry.Resolve(ref)
	if errors.Is(err, taskdef.ErrNotFound) {
		return nil, nil, clientException(err, "TaskDefinition not found.")
	}
	if err != nil {
		return nil, nil, taskDefinitionError(err)
	}
	if e.Status() != taskdef.StatusActive {
		return nil, nil, invalidParameter(nil, "TaskDefinition is inactive")
	}
	awsvpc := e.NetworkMode() == taskdef.NetworkModeAwsvpc
	if awsvpc && (net == nil || net.AwsvpcConfiguration == nil) {
		return nil, nil, invalidParameter(nil, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if !awsvpc && net != nil {
		return nil, nil, invalidParameter(nil, "Network Configuration is not valid for the given networkMode of this task definition.")
	}
	if net != nil && len(net.AwsvpcConfiguration.Subnets) == 0 {
		return nil, nil, invalidParameter(nil, "subnets can not be empty.")
	}
	spec, err := c.defaultSpec(e)
	if err != nil {
		return nil, nil, err
	}
	if len(cmp.Or(group, spec.Group)) > 255 { // the default "family:<family>" too
		return nil, nil, invalidParameter(nil, "group must be at most 255 characters.")
	}
	changes := overrides.Changes()
	if overrides != nil && !changes {
		// Checked though they change nothing (overriddenDemand checks
		// the others): a name-only override of a container the
		// definition lacks is an error.
		if _, err := e.Definition().Override(*overrides); err != nil {
			return nil, nil, taskDefinitionError(err)
		}
	}
	if (group != "" && group != spec.Group) || startedBy != "" || changes {
		own := *spec
		own.Group = cmp.Or(group, spec.Group)
		own.StartedBy = startedBy
		if changes {
			if own.Demand, own.Overrides, err = c.overriddenDemand(e, overrides); err != nil {
				return nil, nil, err
			}
		}
		spec = &own
	}
	return spec, e, nil
}

// overriddenDemand applies overrides to a task definition and returns the
// demand of its tasks and a copy of the overrides to keep. Equal demands
// are one *cluster.Demand (see internDemand).
func (c *Client) overriddenDemand(e *taskdef.Entry, o *TaskOverride) (*cluster.Demand, *TaskOverride, error) {
	def, err := e.Definition().Override(*o)
	if err != nil {
		return nil, nil, taskDefinitionError(err)
	}
	td, err := def.Demand()
	if err != nil {
		return nil, nil, invalidParameter(err, "overrides: %v", err)
	}
	attrs := make([]string, len(def.RequiresAttributes))
	for i, a := range def.RequiresAttributes {
		attrs[i] = a.Name
	}
	d, err := c.internDemand(td, attrs)
	if err != nil {
		return nil, nil, invalidParameter(err, "overrides: %v", err)
	}
	return d, o.Compact(), nil
}

// maxInterned bounds the demands internDemand keeps.
const maxInterned = 4096

// internDemand returns the one *cluster.Demand of a demand vector, so that
// tasks started with the same overrides share it: the placement engine
// keeps its censuses per *Demand, and a new pointer per call would make
// each call survey the cluster again. Past maxInterned distinct vectors, a
// demand is made afresh.
func (c *Client) internDemand(td taskdef.Demand, attrs []string) (*cluster.Demand, error) {
	var key strings.Builder
	fmt.Fprintf(&key, "%d/%d/%d/%d/%v/%v/%q", td.CPU, td.Memory, td.GPUs, td.ENIs, td.Ports, td.PortsUDP, attrs)
	if d, ok := c.demands.Load(key.String()); ok {
		return d.(*cluster.Demand), nil
	}
	d, err := newDemand(td, attrs)
	if err != nil {
		return nil, err
	}
	if c.interned.Load() < maxInterned {
		if got, loaded := c.demands.LoadOrStore(key.String(), d); loaded {
			return got.(*cluster.Demand), nil
		}
		c.interned.Add(1)
	}
	return d, nil
}

// describedOverrides returns the overrides a task describes: its own,
// with every container of its task definition listed, or the shared
// description of a task without overrides.
func (c *Client) describedOverrides(t *cluster.TaskInfo) *TaskOverride {
	if t.Overrides == nil {
		if d, ok := c.described.Load(t.TaskDefinitionARN); ok {
			return d.(*TaskOverride)
		}
	}
	var def taskdef.TaskDefinition
	e, err := c.registry.Resolve(t.TaskDefinitionARN)
	if err == nil {
		def = e.Definition()
	}
	d := t.Overrides.Described(&def)
	if t.Overrides != nil || err != nil { // cache only what the definition says
		return &d
	}
	shared, _ := c.described.LoadOrStore(t.TaskDefinitionARN, &d)
	return shared.(*TaskOverride)
}

func (c *Client) tasks(infos []cluster.TaskInfo) []Task {
	out := make([]Task, len(infos))
	for i := range infos {
		out[i] = c.task(infos[i])
	}
	return out
}

func (c *Client) task(t cluster.TaskInfo) Task {
	return Task{
		TaskArn: t.ARN, ClusterArn: t.ClusterARN, TaskDefinitionArn: t.TaskDefinitionARN,
		ContainerInstanceArn: t.InstanceARN,
		LastStatus:           t.LastStatus.String(), DesiredStatus: t.DesiredStatus.String(),
		Cpu: unitText(t.CPU), Memory: unitText(t.Memory),
		Group: t.Group, StartedBy: t.StartedBy, LaunchType: "EC2", Version: t.Version,
		AvailabilityZone: t.AvailabilityZone,
		GpuIds:           t.GPUIDs,
		CreatedAt:        t.CreatedAt, StartedAt: t.StartedAt, StoppingAt: t.StoppingAt, StoppedAt: t.StoppedAt,
		StoppedReason: t.StoppedReason, StopCode: string(t.StopCode),
		Overrides:            c.describedOverrides(&t),
		CapacityProviderName: t.CapacityProvider,
		Containers:           c.taskContainers(&t),
	}
}

// unitTexts caches the decimal text of CPU and memory amounts, which the
// tasks of a task definition share, so that converting a task allocates
// none: a map replaced whole when an amount is added (copy on write), read
// without a lock, and kept to maxUnitTexts amounts.
var unitTexts atomic.Pointer[map[int64]string]

const maxUnitTexts = 1024

// unitText returns n in decimal.
func unitText(n int64) string {
	m := unitTexts.Load()
	if m != nil {
		if s, ok := (*m)[n]; ok {
			return s
		}
	}
	s := strconv.FormatInt(n, 10)
	if m == nil || len(*m) < maxUnitTexts {
		grown := make(map[int64]string, 1)
		if m != nil {
			grown = maps.Clone(*m)
		}
		grown[n] = s
		unitTexts.CompareAndSwap(m, &grown) // a lost race only skips caching
	}
	return s
}

func failures(fs []scheduler.Failure) []Failure {
	out := make([]Failure, len(fs))
	for i, f := range fs {
		out[i] = Failure{Arn: f.ARN, Reason: f.Reason.String(), Detail: f.Detail}
		for _, r := range cluster.CheckOrder {
			if n := f.Tally.Count(r); n > 0 {
				if out[i].Checks == nil {
					out[i].Checks = map[FailureReason]int{}
				}
				out[i].Checks[FailureReason(r.String())] = n
			}
		}
	}
	return out
}

// StartTaskInput is the input of [Client.StartTask].
type StartTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	// TaskDefinition is a family, family:revision or ARN. Required.
	TaskDefinition string `json:"taskDefinition"`
	// ContainerInstances are 1 to 10 ids or ARNs; one task starts on each.
	ContainerInstances []string `json:"containerInstances"`
	// Group is the task group; empty means "family:<family>".
	Group string `json:"group,omitempty"`
	// StartedBy is up to 36 letters, digits, '-', '/' and '_' (ECS's
	// StartTask limit).
	StartedBy            string                `json:"startedBy,omitempty"`
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// Overrides change the task definition for these tasks, as on RunTask.
	Overrides *TaskOverride `json:"overrides,omitempty"`
}

// StartTaskOutput is the output of [Client.StartTask].
type StartTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// StartTask starts one task on each named container instance, the
// primitive of custom schedulers. Resources are still checked: an instance
// that cannot take the task is a failure (MISSING, INACTIVE, RESOURCE:*,
// ATTRIBUTE, AGENT), never an error. [INF] StartTask does not evaluate the
// task definition's memberOf constraints: the caller chose the instance.
func (c *Client) StartTask(ctx context.Context, in *StartTaskInput) (*StartTaskOutput, error) {
	if in == nil {
		in = &StartTaskInput{}
	}
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParameter(nil, "Container Instances cannot be empty.")
	}
	if len(in.ContainerInstances) > MaxTasksPerCall {
		return nil, invalidParameter(nil, "containerInstances can have at most %d items.", MaxTasksPerCall)
	}
	if err := checkStartedBy(in.StartedBy, 36); err != nil {
		return nil, err
	}
	spec, _, err := c.taskSpec(in.TaskDefinition, in.Group, in.StartedBy, in.NetworkConfiguration, in.Overrides)
	if err != nil {
		return nil, err
	}
	var out *StartTaskOutput
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		res := results.Get().(*scheduler.Result)
		defer releaseResult(res)
		if err := scheduler.ExecuteTo(e.c, &scheduler.Pin{Spec: spec, Instances: in.ContainerInstances}, c.opts.MaxCommitAttempts, res); err != nil {
			return err
		}
		out = &StartTaskOutput{Tasks: c.tasks(res.Tasks), Failures: failures(res.Failures)}
		return nil
	})
	return out, err
}

// DescribeTasksInput is the input of [Client.DescribeTasks].
type DescribeTasksInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Tasks are 1 to 100 ids or ARNs.
	Tasks []string `json:"tasks"`
}

// DescribeTasksOutput is the output of [Client.DescribeTasks].
type DescribeTasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// DescribeTasks describes tasks; unknown ones (or STOPPED ones past their
// retention) are MISSING failures.
func (c *Client) DescribeTasks(ctx context.Context, in *DescribeTasksInput) (*DescribeTasksOutput, error) {
	if in == nil {
		in = &DescribeTasksInput{}
	}
	if len(in.Tasks) == 0 {
		return nil, invalidParameter(nil, "Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParameter(nil, "taskIds can have at most 100 items.")
	}
	out := &DescribeTasksOutput{Tasks: []Task{}, Failures: []Failure{}}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		e.c.Read(func(v *cluster.View) {
			for _, ref := range in.Tasks {
				t, ok := v.Task(ref)
				if !ok {
					out.Failures = append(out.Failures, Failure{Arn: c.taskARN(v.Name(), ref), Reason: "MISSING"})
					continue
				}
				out.Tasks = append(out.Tasks, c.task(v.TaskInfo(t)))
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func isARN(s string) bool { return len(s) > 4 && s[:4] == "arn:" }

// taskARN returns the ARN a failure names for a task reference: an ARN as
// given, an id as the ARN it would have in the cluster.
func (c *Client) taskARN(clusterName, ref string) string {
	if isARN(ref) {
		return ref
	}
	return c.arnPrefix + "task/" + clusterName + "/" + ref
}

// ListTasksInput is the input of [Client.ListTasks].
type ListTasksInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	Family            string `json:"family,omitempty"`
	// ServiceName lists the tasks of group "service:<ServiceName>".
	ServiceName string `json:"serviceName,omitempty"`
	// StartedBy must be the only filter when given.
	StartedBy string `json:"startedBy,omitempty"`
	// DesiredStatus is RUNNING (the default), PENDING or STOPPED.
	DesiredStatus string `json:"desiredStatus,omitempty"`
	// LaunchType is EC2 or empty.
	LaunchType string `json:"launchType,omitempty"`
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListTasksOutput is the output of [Client.ListTasks].
type ListTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken string   `json:"nextToken,omitempty"`
}

// ListTasks lists task ARNs in pages, filtered by instance, family,
// service, startedBy and desired status. Tasks come in the order they were
// created [INF: ECS does not document the order]; a page costs O(1) plus
// the tasks it passes over, so listing every task of a large cluster costs
// O(t) in all, and pages stay right while tasks come and go: a task
// created after a page was read comes on a later page.
func (c *Client) ListTasks(ctx context.Context, in *ListTasksInput) (*ListTasksOutput, error) {
	if in == nil {
		in = &ListTasksInput{}
	}
	desired := cluster.TaskRunning
	if in.DesiredStatus != "" {
		s, ok := cluster.ParseTaskStatus(in.DesiredStatus)
		if !ok {
			return nil, invalidParameter(nil, "desiredStatus must be one of [RUNNING, PENDING, STOPPED], not %q.", in.DesiredStatus)
		}
		desired = s
	}
	if in.StartedBy != "" && (in.ContainerInstance != "" || in.Family != "" || in.ServiceName != "" || in.DesiredStatus != "") {
		return nil, invalidParameter(nil, "startedBy must be the only filter when it is used.")
	}
	if in.LaunchType != "" && in.LaunchType != "EC2" {
		return nil, invalidParameter(nil, "launchType must be EC2 or empty, not %q.", in.LaunchType)
	}
	maxResults, after, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &ListTasksOutput{TaskArns: []string{}}
	err = c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		if in.ServiceName != "" {
			if s, ok := e.services.Get(serviceName(in.ServiceName)); !ok || s.Status == scheduler.ServiceInactive {
				return serviceError(scheduler.ErrServiceNotFound, in.ServiceName)
			}
		}
		var err error
		e.c.Read(func(v *cluster.View) {
			var only *cluster.Instance
			if in.ContainerInstance != "" {
				inst, ok := v.Instance(in.ContainerInstance)
				if !ok {
					err = invalidParameter(nil, "Container instance not found: %s", in.ContainerInstance)
					return
				}
				only = inst
			}
			for t := range v.TasksAfter(after) {
				switch {
				case only != nil && t.Instance() != only,
					in.Family != "" && t.Family() != in.Family,
					in.ServiceName != "" && t.Group() != "service:"+in.ServiceName,
					in.StartedBy != "" && t.StartedBy() != in.StartedBy,
					in.StartedBy == "" && !desiredMatches(t, desired):
					continue
				}
				if len(out.TaskArns) == maxResults {
					out.NextToken = pageToken(after) // more follow
					return
				}
				out.TaskArns = append(out.TaskArns, v.TaskInfo(t).ARN)
				after = t.Seq()
			}
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pageParams checks maxResults (0 means DefaultMaxResults) and decodes a
// nextToken of a List operation that pages in creation order.
func pageParams(maxResults int, token string) (int, uint64, error) {
	if maxResults < 0 || maxResults > DefaultMaxResults {
		return 0, 0, invalidParameter(nil, "maxResults must be between 1 and %d, got %d.", DefaultMaxResults, maxResults)
	}
	if maxResults == 0 {
		maxResults = DefaultMaxResults
	}
	if token == "" {
		return maxResults, 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n, perr := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || perr != nil {
		return 0, 0, invalidParameter(cmp.Or(err, perr), "nextToken %q is not valid.", token)
	}
	return maxResults, n, nil
}

// pageToken encodes the position a page ended at.
func pageToken(after uint64) string {
	return base64.RawURLEncoding.EncodeToString(strconv.AppendUint(nil, after, 10))
}

// desiredMatches applies ListTasks' desiredStatus filter. ECS never sets a
// desired status of PENDING; [INF] filtering on PENDING lists the tasks whose
// last status is PENDING.
func desiredMatches(t *cluster.Task, s cluster.TaskStatus) bool {
	if s == cluster.TaskPending {
		return t.LastStatus() == cluster.TaskPending
	}
	return t.DesiredStatus() == s
}

// StopTaskInput is the input of [Client.StopTask].
type StopTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Task is an id or ARN. Required.
	Task string `json:"task"`
	// Reason becomes the task's stoppedReason (up to 255 characters).
	Reason string `json:"reason,omitempty"`
}

// StopTaskOutput is the output of [Client.StopTask].
type StopTaskOutput struct {
	Task Task `json:"task"`
}

// StopTask stops a task: it becomes STOPPED (stopCode UserInitiated) and
// its CPU, memory, ports and GPUs are released at once [INF: the model's
// agent stops containers instantly]. Stopping a stopped task returns it.
func (c *Client) StopTask(ctx context.Context, in *StopTaskInput) (*StopTaskOutput, error) {
	if in == nil {
		in = &StopTaskInput{}
	}
	if in.Task == "" {
		return nil, invalidParameter(nil, "task is required.")
	}
	if len(in.Reason) > maxReason {
		return nil, invalidParameter(nil, "reason must be at most %d characters.", maxReason)
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	var out *StopTaskOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		info, err := e.c.StopTask(in.Task, reason, cluster.StopUserInitiated)
		if err != nil {
			return taskError(err)
		}
		out = &StopTaskOutput{Task: c.task(info)}
		return nil
	})
	return out, err
}

func taskError(err error) error {
	switch {
	case errors.Is(err, cluster.ErrTaskNotFound):
		return invalidParameter(err, "The referenced task was not found.")
	case errors.Is(err, cluster.ErrInvalidTransition):
		return invalidParameter(err, "%v", err)
	}
	return err
}

// SubmitTaskStateChangeInput is the input of [Client.SubmitTaskStateChange],
// the call an ECS agent makes when a task changes state.
type SubmitTaskStateChangeInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Task is an id or ARN.
	Task string `json:"task"`
	// Status is RUNNING (a PENDING task started) or STOPPED (an
	// essential container exited).
	Status string `json:"status"`
	// Reason is the stoppedReason of a STOPPED task; empty means
	// "Essential container in task exited".
	Reason string `json:"reason,omitempty"`
}

// SubmitTaskStateChangeOutput is the output of
// [Client.SubmitTaskStateChange].
type SubmitTaskStateChangeOutput struct {
	Acknowledgment string `json:"acknowledgment"`
}

// SubmitTaskStateChange records what the agent reports of a task: RUNNING
// moves a PENDING task to RUNNING; STOPPED stops a task whose essential
// container exited (stopCode TaskFailedToStart if it never reached
// RUNNING, EssentialContainerExited otherwise) and releases its resources.
func (c *Client) SubmitTaskStateChange(ctx context.Context, in *SubmitTaskStateChangeInput) (*SubmitTaskStateChangeOutput, error) {
	if in == nil {
		in = &SubmitTaskStateChangeInput{}
	}
	if in.Task == "" {
		return nil, invalidParameter(nil, "task is required.")
	}
	if in.Status != "RUNNING" && in.Status != "STOPPED" {
		return nil, invalidParameter(nil, "status must be RUNNING or STOPPED, not %q.", in.Status)
	}
	if len(in.Reason) > maxReason {
		// [INF] the agent's reason becomes the stoppedReason, bounded as
		// StopTask bounds it.
		return nil, invalidParameter(nil, "reason must be at most %d characters.", maxReason)
	}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		var err error
		if in.Status == "RUNNING" {
			_, err = e.c.TaskStarted(in.Task)
		} else {
			_, err = e.c.TaskExited(in.Task, in.Reason)
		}
		return taskError(err)
	})
	if err != nil {
		return nil, err
	}
	return &SubmitTaskStateChangeOutput{Acknowledgment: "true"}, nil
}

// SetAgentConnectedInput is the input of [Client.SetAgentConnected].
type SetAgentConnectedInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance"`
	Connected         bool   `json:"connected"`
}

// SetAgentConnectedOutput is the output of [Client.SetAgentConnected].
type SetAgentConnectedOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// SetAgentConnected records an instance's agent disconnecting or
// reconnecting (not an ECS operation: the agent's connection is implicit
// in ECS). Tasks keep running; a disconnected instance takes no new tasks
// (placement failure AGENT).
func (c *Client) SetAgentConnected(ctx context.Context, in *SetAgentConnectedInput) (*SetAgentConnectedOutput, error) {
	if in == nil {
		in = &SetAgentConnectedInput{}
	}
	var out *SetAgentConnectedOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		info, err := e.c.SetAgentConnected(in.ContainerInstance, in.Connected)
		if err != nil {
			return instanceError(err)
		}
		out = &SetAgentConnectedOutput{ContainerInstance: containerInstance(info)}
		return nil
	})
	return out, err
}

// TerminateInstanceInput is the input of [Client.TerminateInstance].
type TerminateInstanceInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance"`
}

// TerminateInstanceOutput is the output of [Client.TerminateInstance].
type TerminateInstanceOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// TerminateInstance models the loss of the EC2 instance behind a container
// instance (not an ECS operation): its tasks stop with "Host EC2 (instance
// <id>) terminated.", and it becomes INACTIVE with its agent disconnected.
func (c *Client) TerminateInstance(ctx context.Context, in *TerminateInstanceInput) (*TerminateInstanceOutput, error) {
	if in == nil {
		in = &TerminateInstanceInput{}
	}
	var out *TerminateInstanceOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		info, err := e.c.InstanceLost(in.ContainerInstance)
		if err != nil {
			return instanceError(err)
		}
		out = &TerminateInstanceOutput{ContainerInstance: containerInstance(info)}
		return nil
	})
	return out, err
}
