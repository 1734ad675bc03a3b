package stevedore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// ImportReport is what [Import] made of a snapshot: how much it imported,
// what it left out and why, where the resources it recomputed differ from
// what ECS described, and what the snapshot holds that Stevedore does not
// model.
type ImportReport struct {
	Clusters, ContainerInstances, Tasks, Services, TaskDefinitions int
	// Skipped are the described items not imported.
	Skipped []ImportSkipped
	// Drift lists each resource of a container instance whose remaining
	// amount, recomputed from its tasks' demands, differs from the
	// described remainingResources, and each task count that differs.
	Drift []ResourceDrift
	// Unmodelled counts what the snapshot holds that the model does not
	// act on, by member path (see [Snapshot].Unmodelled) or by what it is
	// ("tasks: dynamic host ports").
	Unmodelled map[string]int
}

// ImportSkipped is an item of a snapshot that [Import] left out.
type ImportSkipped struct {
	// Kind is "cluster", "containerInstance", "task" or "service".
	Kind   string
	Arn    string
	Reason string
}

// ResourceDrift is one resource of a container instance whose described
// value differs from the one Stevedore computed from the tasks it holds.
type ResourceDrift struct {
	ContainerInstanceArn string
	// Resource is CPU, MEMORY, PORTS, PORTS_UDP, GPU, runningTasksCount
	// or pendingTasksCount.
	Resource  string
	Described string
	Computed  string
}

// String is the report as a few lines of text.
func (r *ImportReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "imported %d clusters, %d container instances, %d tasks, %d services, %d task definitions\n",
		r.Clusters, r.ContainerInstances, r.Tasks, r.Services, r.TaskDefinitions)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "left out %d:\n", len(r.Skipped))
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "  %s %s: %s\n", s.Kind, s.Arn, s.Reason)
		}
	}
	if len(r.Drift) > 0 {
		fmt.Fprintf(&b, "drift (described vs computed) on %d resources:\n", len(r.Drift))
		for _, d := range r.Drift {
			fmt.Fprintf(&b, "  %s %s: %s vs %s\n", d.ContainerInstanceArn, d.Resource, d.Described, d.Computed)
		}
	}
	if len(r.Unmodelled) > 0 {
		b.WriteString("not modelled:\n")
		for _, k := range slices.Sorted(maps.Keys(r.Unmodelled)) {
			fmt.Fprintf(&b, "  %s: %d\n", k, r.Unmodelled[k])
		}
	}
	return b.String()
}

// arnParts splits arn:aws:ecs:<region>:<account>:<resource>.
func arnParts(arn string) (region, account, resource string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", "", false
	}
	return parts[3], parts[4], parts[5], true
}

// Import makes a Client holding what snap describes, with its identity:
// the ARNs of clusters, container instances (old and long formats), tasks,
// services and task definition revisions; EC2 instance ids, registration
// times, statuses, agent states, versions, attributes and GPUs; tasks on
// their instances with their statuses, groups, startedBy, timestamps and
// GPU ids; services with their deployments, whose ids their tasks carry as
// startedBy, and their events. The Client then runs like any other:
// RunTask, UpdateService, draining, Reconcile, a [Driver].
//
// opts configures the Client as for [New]; an empty Region or AccountID
// is taken from the snapshot's ARNs, which must all be of one region and
// account. [INF] What the model cannot hold is left out and reported, not
// an error: Fargate tasks and services, tasks whose task definition or
// instance the snapshot lacks, tasks that do not fit on their instance as
// Stevedore accounts demand; a task STOPPING (or DEACTIVATING,
// DEPROVISIONING) is imported STOPPED, as the model's agent stops
// containers at once. Remaining resources are recomputed from the tasks;
// where they differ from the described ones the report's Drift says so.
// The rules are docs/semantics.md §8.
//
// Errors, which leave no Client: ARNs of several accounts or regions, an
// ARN that is not ECS's, a container instance whose cluster cannot be told
// (an old-format ARN in a snapshot of several clusters that no task names),
// a task definition that does not validate, and what [New] refuses.
func Import(ctx context.Context, snap *Snapshot, opts Options) (*Client, *ImportReport, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, nil, err
	}
	if snap == nil {
		snap = &Snapshot{}
	}
	if err := snapshotAccount(snap, &opts); err != nil {
		return nil, nil, err
	}
	c, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	im := importer{c: c, snap: snap, rep: &ImportReport{Unmodelled: maps.Clone(snap.Unmodelled)}}
	if im.rep.Unmodelled == nil {
		im.rep.Unmodelled = map[string]int{}
	}
	if err := im.run(); err != nil {
		return nil, nil, err
	}
	return c, im.rep, nil
}

// snapshotAccount checks that every ARN of snap has one region and account
// and fills opts' empty Region and AccountID with them.
func snapshotAccount(snap *Snapshot, opts *Options) error {
	var arns []string
	for _, cl := range snap.Clusters {
		arns = append(arns, cl.ClusterArn)
	}
	for _, in := range snap.ContainerInstances {
		arns = append(arns, in.ContainerInstanceArn)
	}
	for _, t := range snap.Tasks {
		arns = append(arns, t.TaskArn, t.ClusterArn)
	}
	for _, s := range snap.Services {
		arns = append(arns, s.ServiceArn, s.ClusterArn)
	}
	for _, td := range snap.TaskDefinitions {
		arns = append(arns, td.TaskDefinitionArn)
	}
	region, account := opts.Region, opts.AccountID
	for _, arn := range arns {
		if arn == "" {
			continue
		}
		r, a, _, ok := arnParts(arn)
		if !ok {
			return invalidParameter(nil, "snapshot: %q is not an ECS ARN (arn:aws:ecs:<region>:<account>:...).", arn)
		}
		if region == "" {
			region = r
		}
		if account == "" {
			account = a
		}
		if r != region || a != account {
			return invalidParameter(nil, "snapshot: %s is of region %s and account %s, not %s and %s: a Client models one region and account.", arn, r, a, region, account)
		}
	}
	opts.Region, opts.AccountID = region, account
	return nil
}

type importer struct {
	c    *Client
	snap *Snapshot
	rep  *ImportReport
	// instanceCluster names the cluster of each container instance ARN
	// a task names.
	instanceCluster map[string]string
}

func (im *importer) skip(kind, arn, format string, args ...any) {
	im.rep.Skipped = append(im.rep.Skipped, ImportSkipped{Kind: kind, Arn: arn, Reason: fmt.Sprintf(format, args...)})
}

func (im *importer) run() error {
	c := im.c
	seen := map[string]bool{}
	for i, td := range im.snap.TaskDefinitions {
		if seen[td.TaskDefinitionArn] {
			continue // the same revision in two files
		}
		seen[td.TaskDefinitionArn] = true
		if _, err := c.registry.Import(td); err != nil {
			return taskDefinitionError(fmt.Errorf("snapshot task definition %d (%s): %w", i, td.TaskDefinitionArn, err))
		}
		im.rep.TaskDefinitions++
	}

	// The clusters: those described, and those the other items name.
	clusters := map[string]*clusterEntry{}
	var names []string
	addCluster := func(name string, tags []Tag) *clusterEntry {
		if e := clusters[name]; e != nil {
			return e
		}
		e := c.newClusterEntry(name, tags)
		clusters[name] = e
		names = append(names, name)
		return e
	}
	for _, cl := range im.snap.Clusters {
		name := cl.ClusterName
		if name == "" {
			name = lastPart(cl.ClusterArn)
		}
		if cl.Status != "" && cl.Status != "ACTIVE" {
			im.skip("cluster", cl.ClusterArn, "status %s: only ACTIVE clusters are imported", cl.Status)
			continue
		}
		if !clusterNameRE.MatchString(name) {
			return invalidParameter(nil, "snapshot: cluster name %q is not a cluster name.", name)
		}
		addCluster(name, cl.Tags)
	}
	im.instanceCluster = map[string]string{}
	for _, t := range im.snap.Tasks {
		if t.ContainerInstanceArn != "" && t.ClusterArn != "" {
			im.instanceCluster[t.ContainerInstanceArn] = lastPart(t.ClusterArn)
		}
	}

	// Container instances, by cluster.
	byCluster := map[string][]cluster.ImportInstance{}
	described := map[string]*SnapshotContainerInstance{}
	for i := range im.snap.ContainerInstances {
		si := &im.snap.ContainerInstances[i]
		name, err := im.clusterOfInstance(si.ContainerInstanceArn, names)
		if err != nil {
			return err
		}
		ii, err := im.instance(si)
		if err != nil {
			return err
		}
		if described[si.ContainerInstanceArn] != nil {
			continue // the same instance in two pages
		}
		described[si.ContainerInstanceArn] = si
		addCluster(name, nil)
		byCluster[name] = append(byCluster[name], ii)
	}

	// Tasks, by cluster.
	tasksBy := map[string][]cluster.ImportTask{}
	taskSeen := map[string]bool{}
	for i := range im.snap.Tasks {
		st := &im.snap.Tasks[i]
		if taskSeen[st.TaskArn] {
			continue
		}
		taskSeen[st.TaskArn] = true
		it, ok := im.task(st)
		if !ok {
			continue
		}
		name := lastPart(st.ClusterArn)
		if clusters[name] == nil {
			im.skip("task", st.TaskArn, "its cluster %s is not in the snapshot", st.ClusterArn)
			continue
		}
		tasksBy[name] = append(tasksBy[name], it)
	}

	for _, name := range names {
		e := clusters[name]
		skipped, err := e.c.Import(byCluster[name], tasksBy[name])
		if err != nil {
			return invalidParameter(err, "snapshot cluster %s: %v", name, err)
		}
		for _, s := range skipped {
			if s.Reason == cluster.ReasonMissing {
				im.skip("task", s.ARN, "its container instance is not in the snapshot, or is INACTIVE")
			} else {
				im.skip("task", s.ARN, "it does not fit on its container instance as Stevedore accounts demand: %s", s.Reason)
			}
		}
		im.rep.ContainerInstances += len(byCluster[name])
		im.rep.Tasks += len(tasksBy[name]) - len(skipped)
		im.drift(e, described)
	}
	for i := range im.snap.Services {
		if err := im.service(&im.snap.Services[i], clusters); err != nil {
			return err
		}
	}

	// Tags of instances and tasks.
	c.tagsMu.Lock()
	setTags := func(arn string, tags []Tag) {
		if len(tags) == 0 {
			return
		}
		if c.tags == nil {
			c.tags = map[string][]Tag{}
		}
		c.tags[arn] = slices.Clone(tags)
	}
	for _, si := range im.snap.ContainerInstances {
		setTags(si.ContainerInstanceArn, si.Tags)
	}
	for _, st := range im.snap.Tasks {
		setTags(st.TaskArn, st.Tags)
	}
	c.tagsMu.Unlock()

	c.mu.Lock()
	for _, name := range names {
		c.clusters[name] = clusters[name]
	}
	c.mu.Unlock()
	im.rep.Clusters = len(names)
	for k, n := range im.rep.Unmodelled {
		if n == 0 {
			delete(im.rep.Unmodelled, k)
		}
	}
	return nil
}

// clusterOfInstance tells the cluster of a container instance: from its
// ARN in the long format, else from a task on it, else the snapshot's one
// cluster.
func (im *importer) clusterOfInstance(arn string, names []string) (string, error) {
	_, _, res, ok := arnParts(arn)
	if !ok || !strings.HasPrefix(res, "container-instance/") {
		return "", invalidParameter(nil, "snapshot: containerInstanceArn %q is not a container instance ARN.", arn)
	}
	if rest := strings.TrimPrefix(res, "container-instance/"); strings.Contains(rest, "/") {
		name, _, _ := strings.Cut(rest, "/")
		return name, nil
	}
	if name, ok := im.instanceCluster[arn]; ok {
		return name, nil
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", invalidParameter(nil, "snapshot: the cluster of container instance %s cannot be told: its ARN is of the old format, no task names it and the snapshot has %d clusters.", arn, len(names))
}

// instance converts a described container instance.
func (im *importer) instance(si *SnapshotContainerInstance) (cluster.ImportInstance, error) {
	fail := func(format string, args ...any) (cluster.ImportInstance, error) {
		return cluster.ImportInstance{}, invalidParameter(nil, "snapshot container instance %s: "+format, append([]any{si.ContainerInstanceArn}, args...)...)
	}
	status, ok := cluster.ParseInstanceStatus(cmp.Or(si.Status, "ACTIVE"))
	if !ok {
		switch si.Status {
		case "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED":
			// [INF] a registration under way is taken as done; one that
			// failed or a deregistration under way as INACTIVE.
			status = cluster.InstanceActive
			if si.Status != "REGISTERING" {
				status = cluster.InstanceInactive
			}
			im.rep.Unmodelled["containerInstances: status "+si.Status]++
		default:
			return fail("status %q is not a container instance status.", si.Status)
		}
	}
	spec := cluster.InstanceSpec{Ports: []uint16{}, Version: cluster.VersionInfo(si.VersionInfo)}
	var haveCPU, haveMem bool
	for _, r := range si.RegisteredResources {
		switch r.Name {
		case "CPU", "MEMORY":
			v, err := integerResource(r)
			if err != nil {
				return fail("registeredResources %s: %v", r.Name, err)
			}
			if r.Name == "CPU" {
				spec.CPU, haveCPU = v, true
			} else {
				spec.Memory, haveMem = v, true
			}
		case "PORTS", "PORTS_UDP":
			ports, err := portList(r.StringSetValue)
			if err != nil {
				return fail("registeredResources %s: %v", r.Name, err)
			}
			if r.Name == "PORTS" {
				spec.Ports = ports
			} else {
				spec.PortsUDP = ports
			}
		case "GPU":
			spec.GPUs = slices.Clone(r.StringSetValue)
		default:
			im.rep.Unmodelled["containerInstances: resource "+r.Name]++
		}
	}
	if !haveCPU || !haveMem {
		return fail("registeredResources must include CPU and MEMORY.")
	}
	attrs := map[string]string{}
	for _, a := range si.Attributes {
		spec.Attributes = append(spec.Attributes, cluster.Attribute{Name: a.Name, Value: a.Value})
		attrs[a.Name] = a.Value
	}
	enis, err := eniLimit(attrs)
	if err != nil {
		return fail("%v", err)
	}
	spec.ENIs = enis
	return cluster.ImportInstance{
		ARN: si.ContainerInstanceArn, EC2InstanceID: si.Ec2InstanceId, Status: status,
		AgentDisconnected: !si.AgentConnected, RegisteredAt: si.RegisteredAt.Time, Version: si.Version,
		Spec: spec,
	}, nil
}

func portList(values []string) ([]uint16, error) {
	ports := make([]uint16, 0, len(values))
	for _, s := range values {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("%q is not a port number from 1 to 65535", s)
		}
		if !slices.Contains(ports, uint16(p)) {
			ports = append(ports, uint16(p))
		}
	}
	return ports, nil
}

// taskStatus maps ECS's task lifecycle onto the model's three states.
// [INF] PROVISIONING and ACTIVATING are PENDING (the task holds its
// resources); DEACTIVATING, STOPPING and DEPROVISIONING are STOPPED (the
// model's agent stops containers at once).
func taskStatus(s string) (cluster.TaskStatus, bool) {
	switch s {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		return cluster.TaskPending, true
	case "RUNNING":
		return cluster.TaskRunning, true
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED":
		return cluster.TaskStopped, true
	}
	return 0, false
}

// task converts a described task; ok is false when it is left out (and
// reported).
func (im *importer) task(st *SnapshotTask) (cluster.ImportTask, bool) {
	c := im.c
	if st.LastStatus == "PROVISIONING" {
		im.rep.Unmodelled["tasks: PROVISIONING (not imported)"]++
		im.skip("task", st.TaskArn, "tasks waiting for a capacity provider are not imported")
		return cluster.ImportTask{}, false
	}
	if st.LaunchType == "FARGATE" || st.ContainerInstanceArn == "" {
		im.rep.Unmodelled["tasks: FARGATE (not imported)"]++
		im.skip("task", st.TaskArn, "Fargate tasks are not modelled")
		return cluster.ImportTask{}, false
	}
	last, ok1 := taskStatus(st.LastStatus)
	desired, ok2 := taskStatus(st.DesiredStatus)
	if !ok1 || !ok2 {
		im.skip("task", st.TaskArn, "lastStatus %q or desiredStatus %q is not a task status", st.LastStatus, st.DesiredStatus)
		return cluster.ImportTask{}, false
	}
	if st.LastStatus != "STOPPED" && last == cluster.TaskStopped {
		im.rep.Unmodelled["tasks: "+st.LastStatus+" (imported STOPPED)"]++
	}
	e, err := c.registry.Resolve(st.TaskDefinitionArn)
	if err != nil {
		im.skip("task", st.TaskArn, "its task definition %s is not in the snapshot", st.TaskDefinitionArn)
		return cluster.ImportTask{}, false
	}
	base, err := c.defaultSpec(e)
	if err != nil {
		im.skip("task", st.TaskArn, "%v", err)
		return cluster.ImportTask{}, false
	}
	spec := *base
	spec.Group = cmp.Or(st.Group, base.Group)
	spec.StartedBy = st.StartedBy
	d := base.Demand
	if st.Overrides.Changes() {
		od, kept, err := c.overriddenDemand(e, st.Overrides.Compact())
		if err != nil {
			im.skip("task", st.TaskArn, "its overrides: %v", err)
			return cluster.ImportTask{}, false
		}
		d, spec.Demand, spec.Overrides = od, od, kept
	}
	// The described task cpu and memory, where given, are what ECS
	// accounts (they include task-level overrides).
	cpu, mem := d.CPU(), d.Memory()
	if v, err := strconv.ParseInt(st.Cpu, 10, 64); err == nil && v >= 0 {
		cpu = v
	}
	if v, err := strconv.ParseInt(st.Memory, 10, 64); err == nil && v >= 0 {
		mem = v
	}
	if cpu != d.CPU() || mem != d.Memory() {
		nd, err := cluster.NewDemand(cpu, mem, d.Ports().Slice(), d.PortsUDP().Slice(), d.GPUs(), d.RequiredAttributes()...)
		if err != nil {
			im.skip("task", st.TaskArn, "cpu %s, memory %s: %v", st.Cpu, st.Memory, err)
			return cluster.ImportTask{}, false
		}
		if d.ENIs() > 0 {
			nd = nd.WithENIs(d.ENIs())
		}
		spec.Demand = nd
	}
	gpus := slices.Clone(st.GpuIds)
	for _, ct := range st.Containers {
		gpus = append(gpus, ct.GpuIds...)
		for _, nb := range ct.NetworkBindings {
			static := d.Ports()
			if strings.EqualFold(nb.Protocol, "udp") {
				static = d.PortsUDP()
			}
			if nb.HostPort > 0 && nb.HostPort <= 65535 && !static.Contains(uint16(nb.HostPort)) {
				im.rep.Unmodelled["tasks: dynamic host ports"]++
			}
		}
	}
	slices.Sort(gpus)
	gpus = slices.Compact(gpus)
	if last == cluster.TaskStopped {
		gpus = nil
	}
	stoppedAt := st.StoppedAt.Time
	if last == cluster.TaskStopped && stoppedAt.IsZero() {
		stoppedAt = cmp.Or(st.StoppingAt.Time, st.CreatedAt.Time)
	}
	return cluster.ImportTask{
		ARN: st.TaskArn, Spec: &spec, InstanceARN: st.ContainerInstanceArn,
		LastStatus: last, DesiredStatus: desired, GPUIDs: gpus, Version: st.Version,
		CreatedAt: st.CreatedAt.Time, StartedAt: st.StartedAt.Time, StoppingAt: st.StoppingAt.Time, StoppedAt: stoppedAt,
		StoppedReason: st.StoppedReason, StopCode: cluster.StopCode(st.StopCode),
	}, true
}

// drift compares each imported instance of e with its description.
func (im *importer) drift(e *clusterEntry, described map[string]*SnapshotContainerInstance) {
	e.c.Read(func(v *cluster.View) {
		for in := range v.Instances() {
			si := described[in.ARN()]
			if si == nil {
				continue
			}
			info := in.Info()
			add := func(res, d, c string) {
				if d != c {
					im.rep.Drift = append(im.rep.Drift, ResourceDrift{ContainerInstanceArn: in.ARN(), Resource: res, Described: d, Computed: c})
				}
			}
			for _, r := range si.RemainingResources {
				switch r.Name {
				case "CPU", "MEMORY":
					want, _ := integerResource(r)
					got := info.RemainingCPU
					if r.Name == "MEMORY" {
						got = info.RemainingMemory
					}
					add(r.Name, strconv.FormatInt(want, 10), strconv.FormatInt(got, 10))
				case "PORTS", "PORTS_UDP":
					ports, _ := portList(r.StringSetValue)
					got := info.RemainingPorts
					if r.Name == "PORTS_UDP" {
						got = info.RemainingPortsUDP
					}
					add(r.Name, strings.Join(cluster.NewPortSet(ports...).Strings(), ","), strings.Join(got.Strings(), ","))
				case "GPU":
					want := slices.Sorted(slices.Values(r.StringSetValue))
					got := slices.Sorted(slices.Values(info.RemainingGPUs))
					add("GPU", strings.Join(want, ","), strings.Join(got, ","))
				}
			}
			if in.Status() != cluster.InstanceInactive {
				add("runningTasksCount", strconv.Itoa(si.RunningTasksCount), strconv.Itoa(info.RunningTasksCount))
				add("pendingTasksCount", strconv.Itoa(si.PendingTasksCount), strconv.Itoa(info.PendingTasksCount))
			}
		}
	})
}

// service imports a described service into its cluster.
func (im *importer) service(ss *SnapshotService, clusters map[string]*clusterEntry) error {
	name := cmp.Or(ss.ServiceName, lastPart(ss.ServiceArn))
	e := clusters[lastPart(ss.ClusterArn)]
	if e == nil && len(clusters) == 1 && ss.ClusterArn == "" {
		for _, only := range clusters {
			e = only
		}
	}
	switch {
	case e == nil:
		im.skip("service", ss.ServiceArn, "its cluster %s is not in the snapshot", ss.ClusterArn)
		return nil
	case ss.LaunchType == "FARGATE":
		im.rep.Unmodelled["services: FARGATE (not imported)"]++
		im.skip("service", ss.ServiceArn, "Fargate services are not modelled")
		return nil
	case ss.Status == "INACTIVE":
		im.skip("service", ss.ServiceArn, "INACTIVE services are not imported")
		return nil
	}
	if dc := ss.DeploymentController; dc != nil && dc.Type != "" && dc.Type != "ECS" {
		im.rep.Unmodelled["services: deploymentController "+dc.Type+" (deployed as ECS rolling updates)"]++
	}
	fail := func(err error) error {
		return invalidParameter(err, "snapshot service %s: %v", ss.ServiceArn, err)
	}
	daemon := ss.SchedulingStrategy == "DAEMON"
	maxPct, minPct, cb, err := deploymentConfig(&ss.DeploymentConfiguration, daemon, 200, 100)
	if err != nil {
		return fail(err)
	}
	td, err := im.serviceTaskDef(ss.TaskDefinition)
	if err != nil {
		im.skip("service", ss.ServiceArn, "%v", err)
		return nil
	}
	strategies, constraints, err := parsePlacement(ss.PlacementStrategy, ss.PlacementConstraints, len(td.Constraints))
	if err != nil {
		return fail(err)
	}
	svc := scheduler.Service{
		Name: name, ARN: ss.ServiceArn, Status: scheduler.ServiceStatus(cmp.Or(ss.Status, "ACTIVE")),
		Config: scheduler.ServiceConfig{
			TaskDef: td, DesiredCount: ss.DesiredCount, Daemon: daemon,
			MaximumPercent: maxPct, MinimumHealthyPercent: minPct, CircuitBreaker: cb,
			Strategies: strategies, Constraints: constraints,
			AvailabilityZoneRebalancing: ss.AvailabilityZoneRebalancing == "ENABLED" && !daemon,
		},
		CreatedAt: ss.CreatedAt.Time,
	}
	for _, d := range ss.Deployments {
		dtd, err := im.serviceTaskDef(d.TaskDefinition)
		if err != nil {
			im.skip("service", ss.ServiceArn, "deployment %s: %v", d.Id, err)
			return nil
		}
		svc.Deployments = append(svc.Deployments, scheduler.Deployment{
			ID: d.Id, Status: d.Status, TaskDef: dtd, DesiredCount: d.DesiredCount,
			PendingCount: d.PendingCount, RunningCount: d.RunningCount, FailedTasks: d.FailedTasks,
			RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
			CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time,
		})
	}
	// The PRIMARY deployment first, as ECS lists it.
	slices.SortStableFunc(svc.Deployments, func(a, b scheduler.Deployment) int {
		return boolRank(b.Status == scheduler.DeploymentPrimary) - boolRank(a.Status == scheduler.DeploymentPrimary)
	})
	if len(svc.Deployments) == 0 {
		// [INF] a description without deployments gets one PRIMARY
		// deployment of the service's task definition, completed.
		at := ss.CreatedAt.Time
		svc.Deployments = []scheduler.Deployment{{ID: "ecs-svc/0000000000000000000", Status: scheduler.DeploymentPrimary,
			TaskDef: td, DesiredCount: ss.DesiredCount, RolloutState: scheduler.RolloutCompleted, CreatedAt: at, UpdatedAt: at}}
	}
	for _, ev := range ss.Events {
		svc.Events = append(svc.Events, scheduler.Event{ID: ev.Id, CreatedAt: ev.CreatedAt.Time, Message: ev.Message})
	}
	var ids []string
	group := "service:" + name
	e.c.Read(func(v *cluster.View) {
		for t := range v.Tasks() {
			if t.Group() == group && t.LastStatus() != cluster.TaskStopped {
				ids = append(ids, t.ID())
			}
		}
	})
	if err := e.services.Import(svc, ids); err != nil {
		return fail(err)
	}
	e.extras(name, serviceExtras{
		loadBalancers: slices.Clone(ss.LoadBalancers), role: ss.RoleArn, network: ss.NetworkConfiguration.clone(),
		gracePeriod: ss.HealthCheckGracePeriodSeconds, tags: slices.Clone(ss.Tags),
	})
	im.rep.Services++
	return nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serviceTaskDef is Client.serviceTaskDef for an imported service, whose
// revision may be INACTIVE.
func (im *importer) serviceTaskDef(ref string) (scheduler.TaskDef, error) {
	e, err := im.c.registry.Resolve(ref)
	if err != nil {
		return scheduler.TaskDef{}, fmt.Errorf("its task definition %s is not in the snapshot", ref)
	}
	spec, err := im.c.defaultSpec(e)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	cs, err := taskDefConstraints(e)
	if err != nil {
		return scheduler.TaskDef{}, err
	}
	return scheduler.TaskDef{ARN: e.ARN(), Family: e.Family(), Demand: spec.Demand, Constraints: cs}, nil
}

// lastPart is the part of an ARN after its last slash (all of it if none).
func lastPart(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}
