package stevedore

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/stevedore-go/stevedore/internal/mix"
)

// A modelled EC2 Auto Scaling group (not an ECS operation): what a
// capacity provider scales. It launches instances of one shape, spread
// over its Availability Zones, which register with its cluster after
// LaunchDelay; it terminates instances when its desired capacity falls.
// Its faults (slow launches, failing launches) are what managed scaling
// must cope with.

// AutoScalingGroup describes a modelled Auto Scaling group, with EC2 Auto
// Scaling's field names.
type AutoScalingGroup struct {
	AutoScalingGroupName string `json:"autoScalingGroupName"`
	AutoScalingGroupARN  string `json:"autoScalingGroupARN"`
	// Cluster is the cluster its instances register with (the ECS_CLUSTER
	// of a real group's launch template).
	Cluster                          string                `json:"cluster"`
	InstanceType                     string                `json:"instanceType,omitempty"`
	MinSize                          int                   `json:"minSize"`
	MaxSize                          int                   `json:"maxSize"`
	DesiredCapacity                  int                   `json:"desiredCapacity"`
	AvailabilityZones                []string              `json:"availabilityZones"`
	NewInstancesProtectedFromScaleIn bool                  `json:"newInstancesProtectedFromScaleIn"`
	Instances                        []AutoScalingInstance `json:"instances"`
	// LaunchDelay is how long a launched instance takes to register.
	LaunchDelay time.Duration `json:"launchDelay"`
	// FailLaunches: while true, every launch fails (no capacity).
	FailLaunches bool `json:"failLaunches"`
	// Activities are the group's recent scaling activities, oldest first
	// (at most 100).
	Activities []ScalingActivity `json:"activities"`
}

// AutoScalingInstance is an instance of a group.
type AutoScalingInstance struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	// LifecycleState is Pending (launching), InService, or
	// Terminating:Wait (draining before it terminates).
	LifecycleState       string `json:"lifecycleState"`
	ProtectedFromScaleIn bool   `json:"protectedFromScaleIn"`
	// ContainerInstanceArn is the container instance it registered as,
	// once InService.
	ContainerInstanceArn string    `json:"containerInstanceArn,omitempty"`
	LaunchTime           time.Time `json:"launchTime"`
}

// ScalingActivity is one thing a group did: StatusCode Successful or
// Failed, and a description in EC2 Auto Scaling's words.
type ScalingActivity struct {
	Time        time.Time `json:"time"`
	StatusCode  string    `json:"statusCode"`
	Description string    `json:"description"`
}

// autoScalingGroup is a group's record; guarded by Client.cpMu.
type autoScalingGroup struct {
	name, arn, cluster string
	instanceType       string
	resources          []Resource
	attributes         []Attribute
	zones              []string
	min, max, desired  int
	protectNew         bool
	launchDelay        time.Duration
	failLaunches       bool
	instances          []*asgInstance // in launch order
	launched           uint64
	seed               uint64
	provider           *capacityProvider // the ACTIVE provider using it, or nil
	activities         []ScalingActivity
}

// asgInstance is one instance of a group.
type asgInstance struct {
	id, zone   string
	state      string
	protected  bool
	arn        string // the container instance, once registered
	launchedAt time.Time
	readyAt    time.Time
	// registered is the clock's time when it joined the cluster.
	registered time.Time
}

// The lifecycle states of a group's instances.
const (
	lifecyclePending     = "Pending"
	lifecycleInService   = "InService"
	lifecycleTerminating = "Terminating:Wait"
)

// maxActivities bounds a group's activity log.
const maxActivities = 100

var asgNameRE = regexp.MustCompile(`^[\x20-\x7e]{1,255}$`)

// CreateAutoScalingGroupInput is the input of [Client.CreateAutoScalingGroup].
type CreateAutoScalingGroupInput struct {
	// AutoScalingGroupName is unique in the Client. Required.
	AutoScalingGroupName string `json:"autoScalingGroupName"`
	// Cluster is a name or ARN; empty means "default". It must exist.
	Cluster string `json:"cluster,omitempty"`
	// InstanceType becomes each instance's ecs.instance-type attribute.
	InstanceType string `json:"instanceType,omitempty"`
	// TotalResources are what each instance registers (CPU and MEMORY
	// required; see RegisterContainerInstanceInput.TotalResources).
	TotalResources []Resource `json:"totalResources"`
	// Attributes are each instance's custom attributes.
	Attributes []Attribute `json:"attributes,omitempty"`
	// AvailabilityZones are where instances launch, kept balanced; empty
	// means the Region's "a" zone.
	AvailabilityZones []string `json:"availabilityZones,omitempty"`
	// MinSize ≤ DesiredCapacity ≤ MaxSize; a nil DesiredCapacity means
	// MinSize.
	MinSize         int  `json:"minSize"`
	MaxSize         int  `json:"maxSize"`
	DesiredCapacity *int `json:"desiredCapacity,omitempty"`
	// NewInstancesProtectedFromScaleIn protects every new instance from
	// scale-in; managed termination protection needs it.
	NewInstancesProtectedFromScaleIn bool `json:"newInstancesProtectedFromScaleIn,omitempty"`
	// LaunchDelay is how long a launch takes before the instance
	// registers; 0 means it registers in the same ManageCapacity step.
	LaunchDelay time.Duration `json:"launchDelay,omitempty"`
}

// CreateAutoScalingGroupOutput is the output of [Client.CreateAutoScalingGroup].
type CreateAutoScalingGroupOutput struct {
	AutoScalingGroup AutoScalingGroup `json:"autoScalingGroup"`
}

// CreateAutoScalingGroup creates a modelled Auto Scaling group (not an ECS
// operation) whose ARN CreateCapacityProvider takes. It launches nothing
// by itself: [Client.ManageCapacity] moves it toward its desired capacity.
func (c *Client) CreateAutoScalingGroup(ctx context.Context, in *CreateAutoScalingGroupInput) (*CreateAutoScalingGroupOutput, error) {
	if in == nil {
		in = &CreateAutoScalingGroupInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if !asgNameRE.MatchString(in.AutoScalingGroupName) {
		return nil, invalidParameter(nil, "autoScalingGroupName %q: 1 to 255 printable characters are allowed.", in.AutoScalingGroupName)
	}
	desired := in.MinSize
	if in.DesiredCapacity != nil {
		desired = *in.DesiredCapacity
	}
	if err := checkSizes(in.MinSize, in.MaxSize, desired); err != nil {
		return nil, err
	}
	if in.LaunchDelay < 0 {
		return nil, invalidParameter(nil, "launchDelay cannot be negative, got %v.", in.LaunchDelay)
	}
	// The instances' registration is checked now, so that a launch cannot
	// fail on its input later.
	probe := &RegisterContainerInstanceInput{TotalResources: in.TotalResources, Attributes: in.Attributes,
		InstanceIdentityDocument: IdentityDocument("i-00000000000000000", in.InstanceType, "zone")}
	spec, err := c.instanceSpec(probe)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, instanceError(err)
	}
	zones := slices.Clone(in.AvailabilityZones)
	if len(zones) == 0 {
		zones = []string{c.opts.Region + "a"}
	}
	for i, z := range zones {
		if z == "" || slices.Contains(zones[:i], z) {
			return nil, invalidParameter(nil, "availabilityZones[%d] %q: each zone is a non-empty name, given once.", i, z)
		}
	}
	clusterName := c.clusterName(in.Cluster)
	c.mu.RLock()
	e, ok := c.clusters[clusterName]
	active := ok && e.active
	c.mu.RUnlock()
	if !active {
		return nil, clusterNotFoundError(clusterName)
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if _, ok := c.asgs[in.AutoScalingGroupName]; ok {
		return nil, invalidParameter(nil, "AlreadyExists: an AutoScalingGroup with the name %s already exists.", in.AutoScalingGroupName)
	}
	c.asgCount++
	seed := mix.Nth(c.callSeed[0]^0x5ca1ab1e, c.asgCount)
	g := &autoScalingGroup{
		name: in.AutoScalingGroupName, cluster: clusterName, instanceType: in.InstanceType,
		arn: fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s",
			c.opts.Region, c.opts.AccountID, uuidOf(seed), in.AutoScalingGroupName),
		resources: slices.Clone(in.TotalResources), attributes: slices.Clone(in.Attributes), zones: zones,
		min: in.MinSize, max: in.MaxSize, desired: desired,
		protectNew: in.NewInstancesProtectedFromScaleIn, launchDelay: in.LaunchDelay, seed: seed,
	}
	c.asgs[g.name] = g
	return &CreateAutoScalingGroupOutput{AutoScalingGroup: g.describe()}, nil
}

// uuidOf formats a UUID from a seed.
func uuidOf(seed uint64) string {
	a, b := mix.Nth(seed, 1), mix.Nth(seed, 2)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func checkSizes(minSize, maxSize, desired int) error {
	if minSize < 0 || maxSize < minSize {
		return invalidParameter(nil, "minSize (%d) and maxSize (%d): 0 ≤ minSize ≤ maxSize is required.", minSize, maxSize)
	}
	if maxSize > 10000 {
		return invalidParameter(nil, "maxSize can be at most 10000, got %d.", maxSize)
	}
	if desired < minSize || desired > maxSize {
		return invalidParameter(nil, "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)
	}
	return nil
}

// asgByRef returns the group a name or ARN names. Call it with cpMu held.
func (c *Client) asgByRef(ref string) (*autoScalingGroup, bool) {
	if g, ok := c.asgs[ref]; ok {
		return g, true
	}
	for _, g := range c.asgs {
		if g.arn == ref {
			return g, true
		}
	}
	return nil, false
}

func (g *autoScalingGroup) describe() AutoScalingGroup {
	out := AutoScalingGroup{
		AutoScalingGroupName: g.name, AutoScalingGroupARN: g.arn, Cluster: g.cluster, InstanceType: g.instanceType,
		MinSize: g.min, MaxSize: g.max, DesiredCapacity: g.desired, AvailabilityZones: slices.Clone(g.zones),
		NewInstancesProtectedFromScaleIn: g.protectNew, Instances: []AutoScalingInstance{},
		LaunchDelay: g.launchDelay, FailLaunches: g.failLaunches, Activities: slices.Clone(g.activities),
	}
	if out.Activities == nil {
		out.Activities = []ScalingActivity{}
	}
	for _, in := range g.instances {
		out.Instances = append(out.Instances, AutoScalingInstance{
			InstanceID: in.id, AvailabilityZone: in.zone, LifecycleState: in.state,
			ProtectedFromScaleIn: in.protected, ContainerInstanceArn: in.arn, LaunchTime: in.launchedAt,
		})
	}
	return out
}

// activity records a scaling activity.
func (g *autoScalingGroup) activity(now time.Time, ok bool, format string, args ...any) {
	code := "Successful"
	if !ok {
		code = "Failed"
	}
	if len(g.activities) == maxActivities {
		g.activities = slices.Delete(g.activities, 0, 1)
	}
	g.activities = append(g.activities, ScalingActivity{Time: now, StatusCode: code, Description: fmt.Sprintf(format, args...)})
}

// UpdateAutoScalingGroupInput is the input of [Client.UpdateAutoScalingGroup].
// Nil fields keep their value.
type UpdateAutoScalingGroupInput struct {
	AutoScalingGroupName string         `json:"autoScalingGroupName"`
	MinSize              *int           `json:"minSize,omitempty"`
	MaxSize              *int           `json:"maxSize,omitempty"`
	DesiredCapacity      *int           `json:"desiredCapacity,omitempty"`
	LaunchDelay          *time.Duration `json:"launchDelay,omitempty"`
	// FailLaunches makes every launch fail while true (a fault).
	FailLaunches *bool `json:"failLaunches,omitempty"`
}

// UpdateAutoScalingGroupOutput is the output of [Client.UpdateAutoScalingGroup].
type UpdateAutoScalingGroupOutput struct {
	AutoScalingGroup AutoScalingGroup `json:"autoScalingGroup"`
}

// UpdateAutoScalingGroup changes a group's sizes, launch delay or launch
// fault. As in EC2 Auto Scaling, a new MinSize or MaxSize that the desired
// capacity falls outside of moves the desired capacity to it.
func (c *Client) UpdateAutoScalingGroup(ctx context.Context, in *UpdateAutoScalingGroupInput) (*UpdateAutoScalingGroupOutput, error) {
	if in == nil {
		in = &UpdateAutoScalingGroupInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	g, ok := c.asgs[in.AutoScalingGroupName]
	if !ok {
		return nil, invalidParameter(nil, "AutoScalingGroup name not found - %s", in.AutoScalingGroupName)
	}
	minSize, maxSize := g.min, g.max
	if in.MinSize != nil {
		minSize = *in.MinSize
	}
	if in.MaxSize != nil {
		maxSize = *in.MaxSize
	}
	desired := g.desired
	if in.DesiredCapacity != nil {
		desired = *in.DesiredCapacity
	} else {
		desired = min(max(desired, minSize), max(maxSize, minSize))
	}
	if err := checkSizes(minSize, maxSize, desired); err != nil {
		return nil, err
	}
	if in.LaunchDelay != nil && *in.LaunchDelay < 0 {
		return nil, invalidParameter(nil, "launchDelay cannot be negative, got %v.", *in.LaunchDelay)
	}
	g.min, g.max, g.desired = minSize, maxSize, desired
	if in.LaunchDelay != nil {
		g.launchDelay = *in.LaunchDelay
	}
	if in.FailLaunches != nil {
		g.failLaunches = *in.FailLaunches
	}
	return &UpdateAutoScalingGroupOutput{AutoScalingGroup: g.describe()}, nil
}

// DescribeAutoScalingGroupsInput is the input of
// [Client.DescribeAutoScalingGroups].
type DescribeAutoScalingGroupsInput struct {
	// AutoScalingGroupNames to describe; empty means all, sorted by name.
	AutoScalingGroupNames []string `json:"autoScalingGroupNames,omitempty"`
}

// DescribeAutoScalingGroupsOutput is the output of
// [Client.DescribeAutoScalingGroups].
type DescribeAutoScalingGroupsOutput struct {
	AutoScalingGroups []AutoScalingGroup `json:"autoScalingGroups"`
}

// DescribeAutoScalingGroups describes groups; unknown names are left out,
// as EC2 Auto Scaling does.
func (c *Client) DescribeAutoScalingGroups(ctx context.Context, in *DescribeAutoScalingGroupsInput) (*DescribeAutoScalingGroupsOutput, error) {
	if in == nil {
		in = &DescribeAutoScalingGroupsInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	names := in.AutoScalingGroupNames
	if len(names) == 0 {
		for name := range c.asgs {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	out := &DescribeAutoScalingGroupsOutput{AutoScalingGroups: []AutoScalingGroup{}}
	for _, name := range names {
		if g, ok := c.asgs[name]; ok {
			out.AutoScalingGroups = append(out.AutoScalingGroups, g.describe())
		}
	}
	return out, nil
}

// launch starts n instances, each in the zone with the fewest, and
// returns them; a group whose launches fail starts none.
func (g *autoScalingGroup) launch(n int, now time.Time) []*asgInstance {
	if g.failLaunches {
		g.activity(now, false, "Launching %d new EC2 instance(s). Status Reason: We currently do not have sufficient capacity in the Availability Zones you requested. Launching EC2 instance failed.", n)
		return nil
	}
	var out []*asgInstance
	for range n {
		perZone := make(map[string]int, len(g.zones))
		for _, in := range g.instances {
			perZone[in.zone]++
		}
		zone := g.zones[0]
		for _, z := range g.zones {
			if perZone[z] < perZone[zone] {
				zone = z
			}
		}
		g.launched++
		in := &asgInstance{
			id: "i-0" + strconv.FormatUint(mix.Nth(g.seed, g.launched)|1<<60, 16), zone: zone,
			state: lifecyclePending, protected: g.protectNew, launchedAt: now, readyAt: now.Add(g.launchDelay),
		}
		g.instances = append(g.instances, in)
		out = append(out, in)
		g.activity(now, true, "Launching a new EC2 instance: %s", in.id)
	}
	return out
}

// victims picks n instances to terminate on scale-in: launches still
// pending first (newest first), then InService instances not protected
// from scale-in, from the zone with the most instances, oldest first
// [INF: EC2 Auto Scaling's default termination policy balances zones,
// then takes the oldest launch template; every instance of a modelled
// group has the same one, so the oldest instance goes].
func (g *autoScalingGroup) victims(n int) []*asgInstance {
	var out []*asgInstance
	for i := len(g.instances) - 1; i >= 0 && len(out) < n; i-- {
		if in := g.instances[i]; in.state == lifecyclePending {
			out = append(out, in)
		}
	}
	for len(out) < n {
		perZone := map[string]int{}
		for _, in := range g.instances {
			if in.state == lifecycleInService && !slices.Contains(out, in) {
				perZone[in.zone]++
			}
		}
		var pick *asgInstance
		for _, in := range g.instances {
			if in.state != lifecycleInService || in.protected || slices.Contains(out, in) {
				continue
			}
			if pick == nil || perZone[in.zone] > perZone[pick.zone] {
				pick = in
			}
		}
		if pick == nil {
			break
		}
		out = append(out, pick)
	}
	return out
}

// live counts the instances that are launching or in service.
func (g *autoScalingGroup) live() int {
	n := 0
	for _, in := range g.instances {
		if in.state == lifecyclePending || in.state == lifecycleInService {
			n++
		}
	}
	return n
}

// remove drops an instance from the group.
func (g *autoScalingGroup) remove(in *asgInstance) {
	g.instances = slices.DeleteFunc(g.instances, func(x *asgInstance) bool { return x == in })
}

// registration is the RegisterContainerInstance call that brings in up.
func (g *autoScalingGroup) registration(in *asgInstance) *RegisterContainerInstanceInput {
	r := &RegisterContainerInstanceInput{
		Cluster: g.cluster, InstanceIdentityDocument: IdentityDocument(in.id, g.instanceType, in.zone),
		TotalResources: slices.Clone(g.resources), Attributes: slices.Clone(g.attributes),
	}
	if g.provider != nil {
		r.CapacityProviderName = g.provider.Name
	}
	return r
}

// sortedGroups returns the groups of a cluster by name. Call it with cpMu
// held.
func (c *Client) sortedGroups(clusterName string) []*autoScalingGroup {
	var out []*autoScalingGroup
	for _, g := range c.asgs {
		if g.cluster == clusterName {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b *autoScalingGroup) int { return cmp.Compare(a.name, b.name) })
	return out
}
