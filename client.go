package stevedore

import (
	"cmp"
	"context"
	"encoding/base64"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/mix"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/scheduler"
	"github.com/stevedore-go/stevedore/taskdef"
)

// Options configures a [Client]. The zero value means the defaults; every
// field is optional.
type Options struct {
	// Region goes into every ARN; empty means "us-east-1".
	Region string
	// AccountID goes into every ARN; empty means "123456789012".
	AccountID string
	// Clock stamps every change; nil means the wall clock. Tests and
	// simulations pass a *cluster.ManualClock.
	Clock cluster.Clock
	// Rand is the source of every random choice (RunTask's random spread,
	// ids); nil means rand.NewPCG(0, 0), so that runs replay by default.
	// The Client serialises its use.
	Rand rand.Source
	// StoppedTaskRetention is how long STOPPED tasks stay visible; zero
	// means cluster.DefaultStoppedTaskRetention (one hour).
	StoppedTaskRetention time.Duration
	// MaxCommitAttempts bounds how often a scheduling round is decided
	// again when its commit conflicts with a concurrent change; zero
	// means scheduler.DefaultMaxAttempts.
	MaxCommitAttempts int
}

// Client is an in-process Amazon ECS control plane: clusters, container
// instances, task definitions and tasks, with ECS's operations as methods.
// Its methods are safe for concurrent use. A method that returns an error
// changed nothing: every input is checked before anything is written. (The
// one exception is [Client.RunTaskAll], a loop over RunTask, whose doc says
// what its later calls leave.) Every
// method takes a nil context as context.Background(), and a nil input as
// the zero input.
type Client struct {
	// Read by every call, written rarely.
	opts      Options
	arnPrefix string
	// clusterPrefix is arnPrefix + "cluster/": a cluster ARN without its
	// name.
	clusterPrefix string
	clock         cluster.Clock
	registry      *taskdef.Registry
	clusters      map[string]*clusterEntry // guarded by mu
	// RunTask calls are seeded without a lock: the n-th call (callCount)
	// seeds its generator with mix.Nth(callSeed[i], n).
	callSeed [2]uint64
	specs    sync.Map // task definition ARN → its default *cluster.TaskSpec
	// described: task definition ARN → the *TaskOverride its tasks without
	// overrides describe.
	described sync.Map
	// containers: task definition ARN → its []containerTemplate.
	containers sync.Map
	// demands: a demand vector's text → its shared *cluster.Demand, at
	// most maxInterned of them (interned counts them).
	demands  sync.Map
	interned atomic.Int64

	// Written by every call: on cache lines of their own, away from the
	// fields above.
	_         cacheLinePad
	mu        sync.RWMutex // guards clusters; held for reading by every cluster-scoped call
	callCount atomic.Uint64
	_         cacheLinePad

	rndMu sync.Mutex
	rnd   *rand.Rand

	tagsMu sync.Mutex
	tags   map[string][]Tag // container instances' and tasks' tags, by ARN

	// cpMu guards the capacity providers and the Auto Scaling groups. It
	// is taken after mu, never before.
	cpMu      sync.Mutex
	providers map[string]*capacityProvider // by name, INACTIVE ones too
	asgs      map[string]*autoScalingGroup // by name
	asgCount  uint64
	// providerDemands: a demand and a provider name → the demand on that
	// provider (see providerSpec); counted in interned.
	providerDemands sync.Map

	settingsMu sync.Mutex
	settings   map[string]string // account settings, by name
}

// cacheLinePad separates fields that different cores write: 128 bytes, two
// cache lines, as adjacent lines are fetched together.
type cacheLinePad [128]byte

type clusterEntry struct {
	c        *cluster.Cluster
	engine   *placement.Engine
	services *scheduler.Services

	mu            sync.Mutex // guards serviceExtras and provisioning
	capMu         sync.Mutex // serialises ManageCapacity on the cluster
	serviceExtras map[string]serviceExtras
	active        bool // false once deleted; guarded by Client.mu
	tags          []Tag
	// providers are the cluster's capacity providers by name and
	// defaultStrategy its default strategy; written under Client.mu's
	// write lock, Client.cpMu and mu, so that either lock reads them.
	providers       []string
	defaultStrategy []CapacityProviderStrategyItem
	// provisioning: the placement of each PROVISIONING task, by task id;
	// guarded by mu.
	provisioning map[string]provisioningPlan
}

var (
	regionRE    = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// New returns a Client with no clusters and no task definitions. A Region
// that is not lowercase letters and digits in hyphen-separated words (at
// most 32 characters, like "eu-west-1") or an AccountID that is not 12
// digits would make every ARN the Client writes malformed: New rejects them
// with an *InvalidParameterException naming the field, and returns no
// Client.
func New(opts Options) (*Client, error) {
	opts.Region = cmp.Or(opts.Region, "us-east-1")
	opts.AccountID = cmp.Or(opts.AccountID, "123456789012")
	if len(opts.Region) > 32 || !regionRE.MatchString(opts.Region) {
		return nil, invalidParameter(nil, "Options.Region %q: lowercase letters and digits in words joined by hyphens, at most 32 characters, are allowed.", opts.Region)
	}
	if !accountIDRE.MatchString(opts.AccountID) {
		return nil, invalidParameter(nil, "Options.AccountID %q: an AWS account id is 12 digits.", opts.AccountID)
	}
	if opts.StoppedTaskRetention < 0 {
		return nil, invalidParameter(nil, "Options.StoppedTaskRetention %v must not be negative.", opts.StoppedTaskRetention)
	}
	if opts.MaxCommitAttempts < 0 {
		return nil, invalidParameter(nil, "Options.MaxCommitAttempts %d must not be negative.", opts.MaxCommitAttempts)
	}
	if opts.Clock == nil {
		opts.Clock = cluster.SystemClock{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.NewPCG(0, 0)
	}
	arnPrefix := "arn:aws:ecs:" + opts.Region + ":" + opts.AccountID + ":"
	c := &Client{
		opts:          opts,
		arnPrefix:     arnPrefix,
		clusterPrefix: arnPrefix + "cluster/",
		clock:         opts.Clock,
		registry:      taskdef.NewRegistry(opts.Region, opts.AccountID),
		clusters:      make(map[string]*clusterEntry),
		rnd:           rand.New(opts.Rand),
		providers:     make(map[string]*capacityProvider),
		asgs:          make(map[string]*autoScalingGroup),
	}
	c.callSeed = [2]uint64{c.rnd.Uint64(), c.rnd.Uint64()}
	return c, nil
}

// ctxErr is ctx.Err(), with a nil ctx taken as context.Background(): every
// method of the Client accepts a nil context and then runs to completion.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// childRand returns a new generator seeded from the client's source, for
// one call to use without holding the client's lock.
func (c *Client) childRand() *rand.Rand {
	c.rndMu.Lock()
	defer c.rndMu.Unlock()
	return rand.New(rand.NewPCG(c.rnd.Uint64(), c.rnd.Uint64()))
}

// runTaskCall is what one RunTask call needs for its decisions: a
// generator seeded from the client's source and, without placement
// strategies, the scheduler. runTaskCalls keeps them between calls, so that
// the common RunTask allocates neither. It is itself the scheduler the
// call runs: it notes a cluster without instances (which RunTask rejects)
// in the same read as the decision.
type runTaskCall struct {
	pcg     rand.PCG
	rnd     *rand.Rand
	spread  scheduler.RandomSpread
	inner   scheduler.Scheduler
	res     scheduler.Result // the round's result; its memory is reused
	counted bool             // the instances have been counted
	empty   bool             // the cluster had no ACTIVE or DRAINING instance
}

// Decide implements scheduler.Scheduler. The cluster's instances are
// counted in the first decision only: a call that found instances and then
// conflicted reports its placements' failures, as ECS would, whatever
// happens to the instances meanwhile.
func (rc *runTaskCall) Decide(v *cluster.View, plan *scheduler.Plan) {
	if !rc.counted {
		instances, _, _ := v.Counts()
		rc.counted, rc.empty = true, instances == 0
	}
	if !rc.empty {
		rc.inner.Decide(v, plan)
	}
}

var runTaskCalls = sync.Pool{New: func() any {
	rc := new(runTaskCall)
	rc.rnd = rand.New(&rc.pcg)
	return rc
}}

// runTaskCall returns a pooled runTaskCall whose generator has the call's
// own seed, derived from the client's source, so that runs replay.
func (c *Client) runTaskCall() *runTaskCall {
	rc := runTaskCalls.Get().(*runTaskCall)
	n := c.callCount.Add(1)
	rc.pcg.Seed(mix.Nth(c.callSeed[0], n), mix.Nth(c.callSeed[1], n))
	return rc
}

// release returns rc to the pool; nothing may use it afterwards.
func (rc *runTaskCall) release() {
	rc.spread, rc.inner, rc.counted, rc.empty = scheduler.RandomSpread{}, nil, false, false
	clearResult(&rc.res)
	runTaskCalls.Put(rc)
}

// results keeps scheduling results between calls, so that a call's task
// infos need no memory of their own; a call converts them to its output
// before it releases the result.
var results = sync.Pool{New: func() any { return new(scheduler.Result) }}

// releaseResult returns res to results.
func releaseResult(res *scheduler.Result) {
	clearResult(res)
	results.Put(res)
}

// clearResult empties res, keeping its memory but none of what it held.
func clearResult(res *scheduler.Result) {
	clear(res.Tasks)
	clear(res.Stopped)
	clear(res.Failures)
	*res = scheduler.Result{Tasks: res.Tasks[:0], Stopped: res.Stopped[:0], Failures: res.Failures[:0]}
}

var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// clusterName resolves a cluster reference (name or ARN; empty means
// "default") to a name.
func (c *Client) clusterName(ref string) string {
	if ref == "" {
		return "default"
	}
	if rest, ok := strings.CutPrefix(ref, c.clusterPrefix); ok {
		return rest
	}
	return ref
}

// withCluster runs fn on the ACTIVE cluster ref names, holding the client's
// read lock so that the cluster cannot be deleted meanwhile.
func (c *Client) withCluster(ctx context.Context, ref string, fn func(e *clusterEntry) error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	name := c.clusterName(ref)
	e, ok := c.clusters[name]
	if !ok || !e.active {
		return clusterNotFoundError(name)
	}
	return fn(e)
}

// CreateClusterInput is the input of [Client.CreateCluster].
type CreateClusterInput struct {
	// ClusterName is up to 255 letters, digits, hyphens and underscores;
	// empty means "default".
	ClusterName string `json:"clusterName,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
	// CapacityProviders and DefaultCapacityProviderStrategy are the new
	// cluster's, as PutClusterCapacityProviders would set them; a cluster
	// that exists keeps its own.
	CapacityProviders               []string                       `json:"capacityProviders,omitempty"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy,omitempty"`
}

// CreateClusterOutput is the output of [Client.CreateCluster].
type CreateClusterOutput struct {
	Cluster Cluster `json:"cluster"`
}

// CreateCluster creates a cluster. As in ECS it is idempotent: creating a
// cluster that exists and is ACTIVE returns it. A name whose cluster was
// deleted (INACTIVE) gets a new, empty cluster.
func (c *Client) CreateCluster(ctx context.Context, in *CreateClusterInput) (*CreateClusterOutput, error) {
	if in == nil {
		in = &CreateClusterInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	name := cmp.Or(in.ClusterName, "default")
	if !clusterNameRE.MatchString(name) {
		return nil, invalidParameter(nil, "clusterName %q: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.", name)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.clusters[name]
	if !ok || !e.active {
		var providers []string
		var strategy []CapacityProviderStrategyItem
		if len(in.CapacityProviders)+len(in.DefaultCapacityProviderStrategy) > 0 {
			c.cpMu.Lock()
			defer c.cpMu.Unlock()
			var err error
			if providers, strategy, err = c.clusterProviders(name, in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
				return nil, err
			}
			for _, n := range providers {
				c.providers[n].cluster = name
			}
		}
		e = c.newClusterEntry(name, in.Tags)
		e.providers, e.defaultStrategy = providers, strategy
		c.clusters[name] = e
	}
	return &CreateClusterOutput{Cluster: e.describe()}, nil
}

// newClusterEntry makes an empty ACTIVE cluster named name, not yet in
// c.clusters.
func (c *Client) newClusterEntry(name string, tags []Tag) *clusterEntry {
	e := &clusterEntry{
		c: cluster.New(name, cluster.Options{
			Clock: c.clock, Rand: c.childRand(), ARNPrefix: c.arnPrefix,
			StoppedTaskRetention: c.opts.StoppedTaskRetention,
		}),
		engine: placement.NewEngine(c.childRand().Uint64()),
		active: true,
		tags:   slices.Clone(tags),
	}
	e.c.Subscribe(e.engine)
	e.services = scheduler.NewServices(e.c, name, e.place, c.arnPrefix, c.clock, c.childRand())
	e.services.MaxAttempts = c.opts.MaxCommitAttempts
	return e
}

func (e *clusterEntry) describe() Cluster {
	e.mu.Lock()
	out := Cluster{ClusterArn: e.c.ARN(), ClusterName: e.c.Name(), Status: "ACTIVE", Tags: slices.Clone(e.tags),
		CapacityProviders:               append([]string{}, e.providers...),
		DefaultCapacityProviderStrategy: append([]CapacityProviderStrategyItem{}, e.defaultStrategy...)}
	e.mu.Unlock()
	if !e.active {
		out.Status = "INACTIVE"
	}
	e.c.Read(func(v *cluster.View) {
		out.RegisteredContainerInstancesCount, out.RunningTasksCount, out.PendingTasksCount = v.Counts()
	})
	out.ActiveServicesCount = len(e.services.Names(false))
	return out
}

// DescribeClustersInput is the input of [Client.DescribeClusters].
type DescribeClustersInput struct {
	// Clusters are names or ARNs, at most 100; empty means "default".
	Clusters []string `json:"clusters,omitempty"`
	// Include may name STATISTICS (the commit counters) and TAGS.
	Include []string `json:"include,omitempty"`
}

// DescribeClustersOutput is the output of [Client.DescribeClusters].
type DescribeClustersOutput struct {
	Clusters []Cluster `json:"clusters"`
	Failures []Failure `json:"failures"`
}

// DescribeClusters describes clusters, INACTIVE ones included. A cluster
// that does not exist is a MISSING failure, not an error.
func (c *Client) DescribeClusters(ctx context.Context, in *DescribeClustersInput) (*DescribeClustersOutput, error) {
	if in == nil {
		in = &DescribeClustersInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	if len(refs) > 100 {
		return nil, invalidParameter(nil, "clusters can have at most 100 items.")
	}
	stats := false
	for _, inc := range in.Include {
		switch inc {
		case "STATISTICS":
			stats = true
		case "TAGS", "ATTACHMENTS", "CONFIGURATIONS", "SETTINGS":
		default:
			return nil, invalidParameter(nil, "include must be one of [ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS], not %q.", inc)
		}
	}
	out := &DescribeClustersOutput{Clusters: []Cluster{}, Failures: []Failure{}}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ref := range refs {
		name := c.clusterName(ref)
		if e, ok := c.clusters[name]; ok {
			d := e.describe()
			if stats {
				st := e.c.Stats()
				d.Statistics = []KeyValuePair{
					{Name: "commits", Value: strconv.FormatInt(st.Commits, 10)},
					{Name: "commitConflicts", Value: strconv.FormatInt(st.Conflicts, 10)},
					{Name: "tasksStarted", Value: strconv.FormatInt(st.TasksStarted, 10)},
					{Name: "tasksStopped", Value: strconv.FormatInt(st.TasksStopped, 10)},
					{Name: "commitRetries", Value: strconv.FormatInt(st.Retries, 10)},
				}
			}
			out.Clusters = append(out.Clusters, d)
		} else {
			out.Failures = append(out.Failures, Failure{Arn: c.arnPrefix + "cluster/" + name, Reason: "MISSING"})
		}
	}
	return out, nil
}

// ListClustersInput is the input of [Client.ListClusters].
type ListClustersInput struct {
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListClustersOutput is the output of [Client.ListClusters].
type ListClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   string   `json:"nextToken,omitempty"`
}

// ListClusters lists the ARNs of the ACTIVE clusters, sorted, in pages.
func (c *Client) ListClusters(ctx context.Context, in *ListClustersInput) (*ListClustersOutput, error) {
	if in == nil {
		in = &ListClustersInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	arns := make([]string, 0, len(c.clusters))
	for _, e := range c.clusters {
		if e.active {
			arns = append(arns, e.c.ARN())
		}
	}
	c.mu.RUnlock()
	page, next, err := paginate(arns, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &ListClustersOutput{ClusterArns: page, NextToken: next}, nil
}

// DeleteClusterInput is the input of [Client.DeleteCluster].
type DeleteClusterInput struct {
	Cluster string `json:"cluster"`
}

// DeleteClusterOutput is the output of [Client.DeleteCluster].
type DeleteClusterOutput struct {
	Cluster Cluster `json:"cluster"`
}

// DeleteCluster makes an empty cluster INACTIVE. A cluster with ACTIVE or
// DRAINING container instances, or with tasks that are not stopped, cannot
// be deleted.
func (c *Client) DeleteCluster(ctx context.Context, in *DeleteClusterInput) (*DeleteClusterOutput, error) {
	if in == nil {
		in = &DeleteClusterInput{}
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
	var instances, running, pending int
	e.c.Read(func(v *cluster.View) {
		instances, running, pending = v.Counts()
		pending += v.ProvisioningCount()
	})
	if instances > 0 {
		return nil, &ClusterContainsContainerInstancesException{Message: "The Cluster cannot be deleted while Container Instances are active or draining."}
	}
	if e.services.Live() > 0 {
		return nil, &ClusterContainsServicesException{Message: "The Cluster cannot be deleted while Services are active."}
	}
	if running+pending > 0 {
		return nil, &ClusterContainsTasksException{Message: "The Cluster cannot be deleted while Tasks are active."}
	}
	e.active = false
	c.cpMu.Lock()
	for _, n := range e.providers { // a deleted cluster has no providers
		if p, ok := c.providers[n]; ok && p.cluster == name {
			p.cluster, p.scale = "", scaleState{}
		}
	}
	c.cpMu.Unlock()
	return &DeleteClusterOutput{Cluster: e.describe()}, nil
}

// DefaultMaxResults is the page size of the List operations when
// maxResults is not given; it is also the largest allowed.
const DefaultMaxResults = 100

// paginate returns the page of items, sorted, after the token's item.
func paginate(items []string, maxResults int, token string) ([]string, string, error) {
	slices.Sort(items)
	return paginateFunc(items, strings.Compare, maxResults, token)
}

// paginateFunc returns the page of items (sorted by cmp) that follows the
// token's item. The token is opaque to callers: the last item of the
// previous page, base64-encoded, so pages stay correct while items are
// added or removed between calls.
func paginateFunc(items []string, cmp func(a, b string) int, maxResults int, token string) ([]string, string, error) {
	if maxResults < 0 || maxResults > DefaultMaxResults {
		return nil, "", invalidParameter(nil, "maxResults must be between 1 and %d, got %d.", DefaultMaxResults, maxResults)
	}
	if maxResults == 0 {
		maxResults = DefaultMaxResults
	}
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", invalidParameter(err, "nextToken %q is not valid.", token)
		}
		start, _ = slices.BinarySearchFunc(items, string(after), cmp)
		if start < len(items) && items[start] == string(after) {
			start++
		}
	}
	end := min(start+maxResults, len(items))
	page := append([]string{}, items[start:end]...)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(items[end-1]))
	}
	return page, next, nil
}

// place decides one task with the placement engine.
func (e *clusterEntry) place(v *cluster.View, req *placement.Request, p *cluster.Pending) placement.Decision {
	return e.engine.Place(v, req, p)
}
