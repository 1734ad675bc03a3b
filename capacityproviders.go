package stevedore

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/scheduler"
)

// Capacity providers (ECS's Auto Scaling group capacity providers): a
// capacity provider names an Auto Scaling group ([Client.CreateAutoScalingGroup]
// models one), the instances that group launches belong to it, and tasks
// started with a capacity provider strategy run only on the instances of
// the strategy's providers. With managed scaling, the provider sets the
// group's desired capacity from the CapacityProviderReservation metric, and
// tasks that fit nowhere wait in PROVISIONING until an instance they fit
// on arrives ([Client.ManageCapacity] runs that loop).

// Limits of capacity providers.
const (
	// MaxCapacityProvidersPerCluster is the most capacity providers one
	// cluster can have (ECS's quota).
	MaxCapacityProvidersPerCluster = 20
	// MaxProvisioningTasks is the most tasks one cluster holds in
	// PROVISIONING; RunTask fails the tasks beyond it.
	MaxProvisioningTasks = 300
)

// CapacityProvider is ECS's CapacityProvider.
type CapacityProvider struct {
	CapacityProviderArn string `json:"capacityProviderArn"`
	Name                string `json:"name"`
	// Status is ACTIVE, or INACTIVE once deleted.
	Status                   string                    `json:"status"`
	AutoScalingGroupProvider *AutoScalingGroupProvider `json:"autoScalingGroupProvider,omitempty"`
	// UpdateStatus is DELETE_COMPLETE after DeleteCapacityProvider and
	// UPDATE_COMPLETE after UpdateCapacityProvider (both complete at once
	// in the model).
	UpdateStatus       string `json:"updateStatus,omitempty"`
	UpdateStatusReason string `json:"updateStatusReason,omitempty"`
	Tags               []Tag  `json:"tags,omitempty"`
}

// AutoScalingGroupProvider is ECS's AutoScalingGroupProvider: the group
// and how ECS manages it.
type AutoScalingGroupProvider struct {
	// AutoScalingGroupArn is the group's ARN (or, in the model, its
	// name). Required on create; fixed afterwards.
	AutoScalingGroupArn string          `json:"autoScalingGroupArn"`
	ManagedScaling      *ManagedScaling `json:"managedScaling,omitempty"`
	// ManagedTerminationProtection is ENABLED or DISABLED (the default).
	// ENABLED needs a group whose new instances are protected from scale
	// in; ECS then keeps the protection on the instances that run tasks
	// other than daemon tasks, so that scale-in takes only empty ones. It
	// takes effect only with managed scaling.
	ManagedTerminationProtection string `json:"managedTerminationProtection,omitempty"`
	// ManagedDraining is ENABLED (the default) or DISABLED. ENABLED: an
	// instance the group scales in is first set DRAINING, and terminated
	// once only daemon tasks are left on it; a task protected from scale
	// in keeps it until the protection expires.
	ManagedDraining string `json:"managedDraining,omitempty"`
}

// ManagedScaling is ECS's ManagedScaling. Zero fields take ECS's defaults.
type ManagedScaling struct {
	// Status is ENABLED or DISABLED (the default).
	Status string `json:"status,omitempty"`
	// TargetCapacity is the CapacityProviderReservation the group is kept
	// at: 1 to 100, default 100 (no spare instance).
	TargetCapacity int `json:"targetCapacity,omitempty"`
	// MinimumScalingStepSize and MaximumScalingStepSize bound how many
	// instances one scale-out adds: 1 to 10,000, defaults 1 and 10,000.
	// Scale-in is not bounded by them.
	MinimumScalingStepSize int `json:"minimumScalingStepSize,omitempty"`
	MaximumScalingStepSize int `json:"maximumScalingStepSize,omitempty"`
	// InstanceWarmupPeriod is how many seconds a new instance takes before
	// it counts in the metric: 0 to 10,000, default 300. A nil pointer is
	// the default.
	InstanceWarmupPeriod *int `json:"instanceWarmupPeriod,omitempty"`
}

// CapacityProviderStrategyItem is ECS's CapacityProviderStrategyItem: of
// the tasks a call or a service starts, Base at least go to the provider,
// and of those beyond the bases its share is Weight over the sum of the
// weights (see [scheduler.SplitStrategy]).
type CapacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int    `json:"weight,omitempty"`
	Base             int    `json:"base,omitempty"`
}

// capacityProvider is a provider's record; guarded by Client.cpMu.
type capacityProvider struct {
	CapacityProvider
	asg     *autoScalingGroup
	cluster string // the cluster it is associated with, "" for none
	scale   scaleState
}

// The ECS enum values of capacity providers.
const (
	enabled  = "ENABLED"
	disabled = "DISABLED"
)

var capacityProviderNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// CreateCapacityProviderInput is the input of [Client.CreateCapacityProvider].
type CreateCapacityProviderInput struct {
	// Name is up to 255 letters, digits, underscores and hyphens, and does
	// not begin with "aws", "ecs" or "fargate" (in any case). Required.
	Name                     string                    `json:"name"`
	AutoScalingGroupProvider *AutoScalingGroupProvider `json:"autoScalingGroupProvider"`
	Tags                     []Tag                     `json:"tags,omitempty"`
}

// CreateCapacityProviderOutput is the output of [Client.CreateCapacityProvider].
type CreateCapacityProviderOutput struct {
	CapacityProvider CapacityProvider `json:"capacityProvider"`
}

// CreateCapacityProvider creates an ACTIVE capacity provider for an Auto
// Scaling group that no other provider uses. It belongs to no cluster
// until [Client.PutClusterCapacityProviders] associates it with one.
func (c *Client) CreateCapacityProvider(ctx context.Context, in *CreateCapacityProviderInput) (*CreateCapacityProviderOutput, error) {
	if in == nil {
		in = &CreateCapacityProviderInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := checkCapacityProviderName(in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.AutoScalingGroupProvider == nil || in.AutoScalingGroupProvider.AutoScalingGroupArn == "" {
		return nil, invalidParameter(nil, "autoScalingGroupProvider.autoScalingGroupArn is required.")
	}
	asgp := *in.AutoScalingGroupProvider
	ms, err := managedScaling(asgp.ManagedScaling, nil)
	if err != nil {
		return nil, err
	}
	asgp.ManagedScaling = &ms
	if asgp.ManagedTerminationProtection, err = enabledOr(asgp.ManagedTerminationProtection, disabled, "autoScalingGroupProvider.managedTerminationProtection"); err != nil {
		return nil, err
	}
	if asgp.ManagedDraining, err = enabledOr(asgp.ManagedDraining, enabled, "autoScalingGroupProvider.managedDraining"); err != nil {
		return nil, err
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	asg, ok := c.asgByRef(asgp.AutoScalingGroupArn)
	if !ok {
		return nil, invalidParameter(nil, "The specified Auto Scaling group ARN %s is not valid: no such Auto Scaling group.", asgp.AutoScalingGroupArn)
	}
	asgp.AutoScalingGroupArn = asg.arn
	if err := checkTerminationProtection(&asgp, asg); err != nil {
		return nil, err
	}
	if p, ok := c.providers[in.Name]; ok && p.Status == "ACTIVE" {
		return nil, clientException(nil, "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
	}
	if asg.provider != nil && asg.provider.Status == "ACTIVE" {
		return nil, invalidParameter(nil, "The specified Auto Scaling group ARN is already being used by capacity provider %s. Specify a unique Auto Scaling group ARN and try again.", asg.provider.Name)
	}
	p := &capacityProvider{CapacityProvider: CapacityProvider{
		CapacityProviderArn: c.arnPrefix + "capacity-provider/" + in.Name, Name: in.Name, Status: "ACTIVE",
		AutoScalingGroupProvider: &asgp, Tags: slices.Clone(in.Tags),
	}, asg: asg}
	c.providers[in.Name] = p
	asg.provider = p
	return &CreateCapacityProviderOutput{CapacityProvider: p.describe(true)}, nil
}

// checkTerminationProtection refuses managed termination protection on a
// group whose new instances are not protected from scale-in.
func checkTerminationProtection(asgp *AutoScalingGroupProvider, g *autoScalingGroup) error {
	if asgp.ManagedTerminationProtection == enabled && !g.protectNew {
		return invalidParameter(nil, "The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the Auto Scaling group must have instance protection from scale in enabled.")
	}
	return nil
}

// scales reports whether the provider is ACTIVE with managed scaling.
func (p *capacityProvider) scales() bool {
	return p.Status == "ACTIVE" && p.AutoScalingGroupProvider.ManagedScaling.Status == enabled
}

// checkCapacityProviderName applies ECS's rules to a new provider's name.
func checkCapacityProviderName(name string) error {
	if !capacityProviderNameRE.MatchString(name) {
		return invalidParameter(nil, "name %q: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", name)
	}
	lower := strings.ToLower(name)
	for _, prefix := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(lower, prefix) {
			return invalidParameter(nil, "The capacity provider name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\": %q.", name)
		}
	}
	return nil
}

// managedScaling checks a managedScaling setting and fills ECS's defaults;
// old, if not nil, is the setting an update starts from.
func managedScaling(in *ManagedScaling, old *ManagedScaling) (ManagedScaling, error) {
	out := ManagedScaling{Status: disabled, TargetCapacity: 100, MinimumScalingStepSize: 1, MaximumScalingStepSize: 10000}
	if old != nil {
		out = *old
	}
	if in == nil {
		in = &ManagedScaling{}
	}
	var err error
	if out.Status, err = enabledOr(in.Status, out.Status, "managedScaling.status"); err != nil {
		return ManagedScaling{}, err
	}
	fields := []struct {
		name     string
		v        int
		lo, hi   int
		dst      *int
		zeroKeep bool
	}{
		{"managedScaling.targetCapacity", in.TargetCapacity, 1, 100, &out.TargetCapacity, true},
		{"managedScaling.minimumScalingStepSize", in.MinimumScalingStepSize, 1, 10000, &out.MinimumScalingStepSize, true},
		{"managedScaling.maximumScalingStepSize", in.MaximumScalingStepSize, 1, 10000, &out.MaximumScalingStepSize, true},
	}
	for _, f := range fields {
		if f.v == 0 {
			continue // not given: the default, or the old value
		}
		if f.v < f.lo || f.v > f.hi {
			return ManagedScaling{}, invalidParameter(nil, "%s must be between %d and %d, got %d.", f.name, f.lo, f.hi, f.v)
		}
		*f.dst = f.v
	}
	if in.InstanceWarmupPeriod != nil {
		w := *in.InstanceWarmupPeriod
		if w < 0 || w > 10000 {
			return ManagedScaling{}, invalidParameter(nil, "managedScaling.instanceWarmupPeriod must be between 0 and 10000, got %d.", w)
		}
		out.InstanceWarmupPeriod = &w
	} else if out.InstanceWarmupPeriod == nil {
		w := 300
		out.InstanceWarmupPeriod = &w
	} else {
		w := *out.InstanceWarmupPeriod
		out.InstanceWarmupPeriod = &w
	}
	if out.MinimumScalingStepSize > out.MaximumScalingStepSize {
		return ManagedScaling{}, invalidParameter(nil, "managedScaling.minimumScalingStepSize (%d) cannot be greater than managedScaling.maximumScalingStepSize (%d).", out.MinimumScalingStepSize, out.MaximumScalingStepSize)
	}
	return out, nil
}

// enabledOr checks an ENABLED/DISABLED field; empty means def.
func enabledOr(v, def, field string) (string, error) {
	switch v {
	case "":
		return def, nil
	case enabled, disabled:
		return v, nil
	}
	return "", invalidParameter(nil, "%s must be ENABLED or DISABLED, got %q.", field, v)
}

// describe returns the provider as ECS describes it, with its tags if
// tags.
func (p *capacityProvider) describe(tags bool) CapacityProvider {
	out := p.CapacityProvider
	asgp := *p.AutoScalingGroupProvider
	ms := *asgp.ManagedScaling
	if ms.InstanceWarmupPeriod != nil {
		w := *ms.InstanceWarmupPeriod
		ms.InstanceWarmupPeriod = &w
	}
	asgp.ManagedScaling = &ms
	out.AutoScalingGroupProvider = &asgp
	out.Tags = nil
	if tags {
		out.Tags = slices.Clone(p.Tags)
	}
	return out
}

// UpdateCapacityProviderInput is the input of [Client.UpdateCapacityProvider].
type UpdateCapacityProviderInput struct {
	// Name is the provider's name. Required.
	Name string `json:"name"`
	// AutoScalingGroupProvider changes its managed scaling, managed
	// termination protection and managed draining; the group cannot
	// change. Fields left empty keep their value.
	AutoScalingGroupProvider *AutoScalingGroupProviderUpdate `json:"autoScalingGroupProvider"`
}

// AutoScalingGroupProviderUpdate is ECS's AutoScalingGroupProviderUpdate.
type AutoScalingGroupProviderUpdate struct {
	ManagedScaling               *ManagedScaling `json:"managedScaling,omitempty"`
	ManagedTerminationProtection string          `json:"managedTerminationProtection,omitempty"`
	ManagedDraining              string          `json:"managedDraining,omitempty"`
}

// UpdateCapacityProviderOutput is the output of [Client.UpdateCapacityProvider].
type UpdateCapacityProviderOutput struct {
	CapacityProvider CapacityProvider `json:"capacityProvider"`
}

// UpdateCapacityProvider changes an ACTIVE provider's settings; its
// updateStatus becomes UPDATE_COMPLETE.
func (c *Client) UpdateCapacityProvider(ctx context.Context, in *UpdateCapacityProviderInput) (*UpdateCapacityProviderOutput, error) {
	if in == nil {
		in = &UpdateCapacityProviderInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if in.AutoScalingGroupProvider == nil {
		return nil, invalidParameter(nil, "autoScalingGroupProvider is required.")
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	p, err := c.activeProvider(in.Name)
	if err != nil {
		return nil, err
	}
	u := in.AutoScalingGroupProvider
	asgp := *p.AutoScalingGroupProvider
	ms, err := managedScaling(u.ManagedScaling, asgp.ManagedScaling)
	if err != nil {
		return nil, err
	}
	asgp.ManagedScaling = &ms
	if asgp.ManagedTerminationProtection, err = enabledOr(u.ManagedTerminationProtection, asgp.ManagedTerminationProtection, "autoScalingGroupProvider.managedTerminationProtection"); err != nil {
		return nil, err
	}
	if asgp.ManagedDraining, err = enabledOr(u.ManagedDraining, asgp.ManagedDraining, "autoScalingGroupProvider.managedDraining"); err != nil {
		return nil, err
	}
	if err := checkTerminationProtection(&asgp, p.asg); err != nil {
		return nil, err
	}
	p.AutoScalingGroupProvider = &asgp
	p.UpdateStatus = "UPDATE_COMPLETE"
	if ms.Status != enabled {
		p.scale = scaleState{}
	}
	return &UpdateCapacityProviderOutput{CapacityProvider: p.describe(true)}, nil
}

// activeProvider returns the ACTIVE provider ref (a name or ARN) names.
// Call it with cpMu held.
func (c *Client) activeProvider(ref string) (*capacityProvider, error) {
	name := c.providerName(ref)
	p, ok := c.providers[name]
	if !ok || p.Status != "ACTIVE" {
		return nil, invalidParameter(nil, "The specified capacity provider %s does not exist.", name)
	}
	return p, nil
}

// providerName resolves a capacity provider name or ARN to a name.
func (c *Client) providerName(ref string) string {
	if rest, ok := strings.CutPrefix(ref, c.arnPrefix+"capacity-provider/"); ok {
		return rest
	}
	return ref
}

// DeleteCapacityProviderInput is the input of [Client.DeleteCapacityProvider].
type DeleteCapacityProviderInput struct {
	// CapacityProvider is a name or ARN. Required.
	CapacityProvider string `json:"capacityProvider"`
}

// DeleteCapacityProviderOutput is the output of [Client.DeleteCapacityProvider].
type DeleteCapacityProviderOutput struct {
	CapacityProvider CapacityProvider `json:"capacityProvider"`
}

// DeleteCapacityProvider makes a provider INACTIVE (updateStatus
// DELETE_COMPLETE); it stays visible to DescribeCapacityProviders, and its
// name can be used again. A provider still associated with a cluster
// cannot be deleted: remove it with PutClusterCapacityProviders first.
// Its group's instances stay registered, belonging to no provider's
// scaling [INF].
func (c *Client) DeleteCapacityProvider(ctx context.Context, in *DeleteCapacityProviderInput) (*DeleteCapacityProviderOutput, error) {
	if in == nil {
		in = &DeleteCapacityProviderInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	p, err := c.activeProvider(in.CapacityProvider)
	if err != nil {
		return nil, err
	}
	if e, ok := c.clusters[p.cluster]; ok && e.active {
		return nil, &ResourceInUseException{Message: fmt.Sprintf("The specified capacity provider %s is in use by cluster %s and cannot be deleted. Remove it from the cluster with PutClusterCapacityProviders first.", p.Name, p.cluster)}
	}
	p.Status, p.UpdateStatus, p.cluster = "INACTIVE", "DELETE_COMPLETE", ""
	p.scale = scaleState{}
	p.asg.provider = nil
	return &DeleteCapacityProviderOutput{CapacityProvider: p.describe(true)}, nil
}

// DescribeCapacityProvidersInput is the input of
// [Client.DescribeCapacityProviders].
type DescribeCapacityProvidersInput struct {
	// CapacityProviders are names or ARNs, at most 100; empty means all,
	// in pages.
	CapacityProviders []string `json:"capacityProviders,omitempty"`
	// Include may name TAGS.
	Include    []string `json:"include,omitempty"`
	MaxResults int      `json:"maxResults,omitempty"`
	NextToken  string   `json:"nextToken,omitempty"`
}

// DescribeCapacityProvidersOutput is the output of
// [Client.DescribeCapacityProviders].
type DescribeCapacityProvidersOutput struct {
	CapacityProviders []CapacityProvider `json:"capacityProviders"`
	Failures          []Failure          `json:"failures"`
	NextToken         string             `json:"nextToken,omitempty"`
}

// maxDescribeCapacityProviders is DescribeCapacityProviders' page size.
const maxDescribeCapacityProviders = 10

// DescribeCapacityProviders describes the named providers (a name that is
// not one is a MISSING failure), or all of them, INACTIVE ones included,
// sorted by name in pages of at most 10. ECS's FARGATE and FARGATE_SPOT
// providers are not modelled.
func (c *Client) DescribeCapacityProviders(ctx context.Context, in *DescribeCapacityProvidersInput) (*DescribeCapacityProvidersOutput, error) {
	if in == nil {
		in = &DescribeCapacityProvidersInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if len(in.CapacityProviders) > 100 {
		return nil, invalidParameter(nil, "capacityProviders can have at most 100 items.")
	}
	tags := false
	for _, inc := range in.Include {
		if inc != "TAGS" {
			return nil, invalidParameter(nil, "include must be TAGS, not %q.", inc)
		}
		tags = true
	}
	if in.MaxResults < 0 || in.MaxResults > maxDescribeCapacityProviders {
		return nil, invalidParameter(nil, "maxResults must be between 1 and %d, got %d.", maxDescribeCapacityProviders, in.MaxResults)
	}
	out := &DescribeCapacityProvidersOutput{CapacityProviders: []CapacityProvider{}, Failures: []Failure{}}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if len(in.CapacityProviders) > 0 {
		for _, ref := range in.CapacityProviders {
			name := c.providerName(ref)
			if p, ok := c.providers[name]; ok {
				out.CapacityProviders = append(out.CapacityProviders, p.describe(tags))
			} else {
				out.Failures = append(out.Failures, Failure{Arn: c.arnPrefix + "capacity-provider/" + name, Reason: "MISSING"})
			}
		}
		return out, nil
	}
	names := make([]string, 0, len(c.providers))
	for name := range c.providers {
		names = append(names, name)
	}
	page, next, err := paginate(names, cmp.Or(in.MaxResults, maxDescribeCapacityProviders), in.NextToken)
	if err != nil {
		return nil, err
	}
	for _, name := range page {
		out.CapacityProviders = append(out.CapacityProviders, c.providers[name].describe(tags))
	}
	out.NextToken = next
	return out, nil
}

// PutClusterCapacityProvidersInput is the input of
// [Client.PutClusterCapacityProviders].
type PutClusterCapacityProvidersInput struct {
	Cluster string `json:"cluster"`
	// CapacityProviders are the providers (names or ARNs) the cluster has
	// from now on, replacing those it had; empty removes them all.
	CapacityProviders []string `json:"capacityProviders"`
	// DefaultCapacityProviderStrategy is what RunTask and CreateService
	// use when they name neither a launch type nor a strategy; its
	// providers must be among CapacityProviders. Empty means none.
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

// PutClusterCapacityProvidersOutput is the output of
// [Client.PutClusterCapacityProviders].
type PutClusterCapacityProvidersOutput struct {
	Cluster Cluster `json:"cluster"`
}

// PutClusterCapacityProviders sets a cluster's capacity providers and its
// default capacity provider strategy. Each provider must be ACTIVE and
// belong to no other cluster. A provider that a service's strategy names,
// or that a task not stopped was started through, cannot be removed
// (ResourceInUseException).
func (c *Client) PutClusterCapacityProviders(ctx context.Context, in *PutClusterCapacityProvidersInput) (*PutClusterCapacityProvidersOutput, error) {
	if in == nil {
		in = &PutClusterCapacityProvidersInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	name := c.clusterName(in.Cluster)
	e, ok := c.clusters[name]
	if !ok || !e.active {
		return nil, clusterNotFoundError(name)
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	providers, strategy, err := c.clusterProviders(name, in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	for _, old := range e.providers {
		if slices.Contains(providers, old) {
			continue
		}
		if err := e.providerInUse(old); err != nil {
			return nil, err
		}
	}
	for _, old := range e.providers {
		if p, ok := c.providers[old]; ok && !slices.Contains(providers, old) {
			p.cluster, p.scale = "", scaleState{}
		}
	}
	for _, n := range providers {
		c.providers[n].cluster = name
	}
	e.mu.Lock()
	e.providers, e.defaultStrategy = providers, strategy
	e.mu.Unlock()
	return &PutClusterCapacityProvidersOutput{Cluster: e.describe()}, nil
}

// clusterProviders checks a cluster's new capacity providers and default
// strategy: the providers by name, and the strategy with names for refs.
// Call it with cpMu held.
func (c *Client) clusterProviders(clusterName string, refs []string, strategy []CapacityProviderStrategyItem) ([]string, []CapacityProviderStrategyItem, error) {
	if len(refs) > MaxCapacityProvidersPerCluster {
		return nil, nil, invalidParameter(nil, "capacityProviders can have at most %d items, got %d.", MaxCapacityProvidersPerCluster, len(refs))
	}
	providers := make([]string, 0, len(refs))
	for _, ref := range refs {
		p, err := c.activeProvider(ref)
		if err != nil {
			return nil, nil, err
		}
		if p.cluster != "" && p.cluster != clusterName {
			if e, ok := c.clusters[p.cluster]; ok && e.active {
				return nil, nil, invalidParameter(nil, "The specified capacity provider %s is already associated with cluster %s. An Auto Scaling group capacity provider can be associated with one cluster only.", p.Name, p.cluster)
			}
		}
		if slices.Contains(providers, p.Name) {
			return nil, nil, invalidParameter(nil, "The capacity provider %s is given twice.", p.Name)
		}
		providers = append(providers, p.Name)
	}
	if len(strategy) == 0 {
		return providers, []CapacityProviderStrategyItem{}, nil
	}
	out, err := c.strategyItems(strategy, func(name string) bool { return slices.Contains(providers, name) }, "defaultCapacityProviderStrategy")
	if err != nil {
		return nil, nil, err
	}
	return providers, out, nil
}

// strategyItems checks a capacity provider strategy: ECS's rules for
// bases and weights, and every provider one that associated accepts. The
// items come back with provider names for refs.
func (c *Client) strategyItems(items []CapacityProviderStrategyItem, associated func(name string) bool, field string) ([]CapacityProviderStrategyItem, error) {
	out := make([]CapacityProviderStrategyItem, len(items))
	split := make([]scheduler.StrategyItem, len(items))
	for i, it := range items {
		out[i] = it
		out[i].CapacityProvider = c.providerName(it.CapacityProvider)
		split[i] = scheduler.StrategyItem{Provider: out[i].CapacityProvider, Base: it.Base, Weight: it.Weight}
	}
	if err := scheduler.ValidateStrategy(split); err != nil {
		return nil, invalidParameter(err, "%s: %v.", field, err)
	}
	for _, it := range out {
		if !associated(it.CapacityProvider) {
			what := "capacity provider strategy"
			if field == "defaultCapacityProviderStrategy" {
				what = "default capacity provider strategy"
			}
			return nil, invalidParameter(nil, "The specified %s cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.", what)
		}
	}
	return out, nil
}

// providerInUse returns a ResourceInUseException if a service of the
// cluster names the provider in its strategy or a task not stopped was
// started through it.
func (e *clusterEntry) providerInUse(name string) error {
	inUse := &ResourceInUseException{Message: "The specified capacity provider is in use and cannot be removed."}
	for _, svc := range e.services.Names(true) {
		if sv, ok := e.services.Get(svc); ok && sv.Status != scheduler.ServiceInactive && slices.ContainsFunc(sv.Config.CapacityProviders, func(it scheduler.StrategyItem) bool { return it.Provider == name }) {
			return inUse
		}
	}
	var used bool
	e.c.Read(func(v *cluster.View) {
		for t := range v.Tasks() {
			if t.LastStatus() != cluster.TaskStopped && t.Demand().CapacityProvider() == name {
				used = true
				return
			}
		}
	})
	if used {
		return inUse
	}
	return nil
}
