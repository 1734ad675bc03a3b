package taskdef

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sentinels a [*ReferenceError] wraps.
var (
	// ErrNotFound: the reference is well formed but names no registered
	// revision (unknown family or revision, no ACTIVE revision, another
	// region or account).
	ErrNotFound = errors.New("taskdef: task definition not found")
	// ErrInvalidReference: the reference is malformed.
	ErrInvalidReference = errors.New("taskdef: invalid task definition reference")
	// ErrStillActive: DeleteTaskDefinitions named an ACTIVE revision.
	ErrStillActive = errors.New("taskdef: the task definition is still ACTIVE")
)

// ReferenceError reports a task definition reference (family, family:revision
// or ARN) that [Registry.Resolve] or [Registry.Deregister] cannot use. Err is
// [ErrNotFound] or [ErrInvalidReference]; Reason is the message ECS (or moto)
// gives, e.g. "Invalid revision number. Number: foo". ECS raises
// ClientException for both.
type ReferenceError struct {
	Ref    string
	Reason string
	Err    error
}

// Error implements error.
func (e *ReferenceError) Error() string {
	return fmt.Sprintf("taskdef: ClientException: task definition %q: %s", e.Ref, e.Reason)
}

// Unwrap returns the sentinel, [ErrNotFound] or [ErrInvalidReference].
func (e *ReferenceError) Unwrap() error { return e.Err }

// LimitExceededException is returned by [Registry.Register] when a family
// already has [MaxRevisions] revisions (deregistered ones included).
type LimitExceededException struct {
	Family string
	Limit  int
}

// Error implements error.
func (e *LimitExceededException) Error() string {
	return fmt.Sprintf("taskdef: LimitExceededException: family %q has reached the limit of %d revisions", e.Family, e.Limit)
}

// Entry is one registered revision. It is immutable once returned: a
// deregistration stores a new Entry and leaves old pointers unchanged, so an
// Entry may be read from any goroutine without locking.
type Entry struct {
	def    TaskDefinition // never modified; handed out only as deep copies
	demand Demand
}

// ARN returns arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>.
func (e *Entry) ARN() string { return e.def.TaskDefinitionArn }

// Family returns the task definition family.
func (e *Entry) Family() string { return e.def.Family }

// Revision returns the revision number, 1 for the first of a family.
func (e *Entry) Revision() int { return e.def.Revision }

// Status returns ACTIVE or INACTIVE.
func (e *Entry) Status() Status { return e.def.Status }

// RegisteredAt returns the registration time.
func (e *Entry) RegisteredAt() time.Time { return e.def.RegisteredAt }

// DeregisteredAt returns the deregistration time, zero while ACTIVE.
func (e *Entry) DeregisteredAt() time.Time { return e.def.DeregisteredAt }

// NetworkMode returns the effective network mode (bridge when omitted).
func (e *Entry) NetworkMode() NetworkMode { return e.def.NetworkMode.Effective() }

// Demand returns the task demand vector computed at registration. It is on
// the placement hot path and does not copy: the Ports and PortsUDP slices are
// shared with the Entry and must be treated as read-only.
func (e *Entry) Demand() Demand { return e.demand }

// PlacementConstraints returns a copy of the task-definition placement constraints.
func (e *Entry) PlacementConstraints() []PlacementConstraint {
	return slices.Clone(e.def.PlacementConstraints)
}

// Definition returns a deep copy of the registered task definition, in its
// describe shape (ARN, revision, status, compatibilities, normalised cpu and
// memory filled in).
func (e *Entry) Definition() TaskDefinition { return e.def.Clone() }

// Registry is the family:revision store of RegisterTaskDefinition,
// DeregisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions and
// ListTaskDefinitionFamilies for one region and account.
//
// A Registry is safe for concurrent use by any number of goroutines: reads
// share a read lock, writes take the write lock and apply all or nothing.
// The [*Entry] values it returns are immutable snapshots.
type Registry struct {
	region, accountID string
	maxRevisions      int // MaxRevisions; lowered by tests

	mu       sync.RWMutex
	families map[string]*family
	names    []string // the family names, sorted
}

type family struct {
	// revisions[r-1] is revision r; never shrinks. It is nil for a
	// revision an import skipped (see [Registry.Import]).
	revisions    []*Entry
	latestActive int // highest ACTIVE revision, 0 if none
	// active and inactive hold the revisions (r at position r-1) of each
	// status, and all every revision there is, so that a page costs its
	// size.
	active, inactive, all revSet
}

// set returns the revisions of status: [StatusAll] is every one.
func (f *family) set(status Status) *revSet {
	switch status {
	case StatusActive:
		return &f.active
	case StatusInactive:
		return &f.inactive
	}
	return &f.all
}

// NewRegistry returns an empty registry whose ARNs use region and accountID.
func NewRegistry(region, accountID string) *Registry {
	return &Registry{
		region:       region,
		accountID:    accountID,
		maxRevisions: MaxRevisions,
		families:     make(map[string]*family),
	}
}

func (r *Registry) arnPrefix() string {
	return "arn:aws:ecs:" + r.region + ":" + r.accountID + ":task-definition/"
}

// Register validates td and stores it as the next revision of its family,
// like RegisterTaskDefinition. td is deep-copied and its output-only fields
// are ignored. The stored definition gets revision n+1 (numbers are never
// reused, even after deregistration), its ARN, status ACTIVE, registeredAt =
// at, compatibilities (requiresCompatibilities, or [EC2] when omitted), task
// cpu and memory rewritten as plain units and MiB ("1 vCPU" -> "1024"), and
// requiresAttributes derived from the features it uses ([INF]: only
// ecs.capability.task-eni for awsvpc, com.amazonaws.ecs.capability.task-iam-role
// for a task role and com.amazonaws.ecs.capability.logging-driver.<driver> for
// each log driver). Its [Demand] is computed once.
//
// Errors: a [*ValidationError] from [TaskDefinition.Validate], or a
// [*LimitExceededException] after [MaxRevisions] revisions. On error nothing changes.
func (r *Registry) Register(td TaskDefinition, at time.Time) (*Entry, error) {
	def, demand, err := prepare(td.Clone().inputOnly())
	if err != nil {
		return nil, err
	}
	if len(def.RequiresCompatibilities) > 0 {
		def.Compatibilities = slices.Clone(def.RequiresCompatibilities)
	} else {
		def.Compatibilities = []Compatibility{CompatibilityEC2}
	}
	def.RequiresAttributes = requiredAttributes(def)
	def.Status = StatusActive
	def.RegisteredAt = at

	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.families[def.Family]
	rev := 1
	if f != nil {
		rev = len(f.revisions) + 1
	}
	if rev > r.maxRevisions {
		return nil, &LimitExceededException{Family: def.Family, Limit: r.maxRevisions}
	}
	def.Revision = rev
	def.TaskDefinitionArn = r.arnPrefix() + def.Family + ":" + strconv.Itoa(rev)
	return r.store(&Entry{def: def, demand: demand}), nil
}

// store adds e, whose revision is not in its family, under the write lock.
func (r *Registry) store(e *Entry) *Entry {
	f := r.families[e.def.Family]
	if f == nil {
		f = &family{}
		r.families[e.def.Family] = f
		i, _ := slices.BinarySearch(r.names, e.def.Family)
		r.names = slices.Insert(r.names, i, e.def.Family)
	}
	rev := e.def.Revision
	for len(f.revisions) < rev {
		f.revisions = append(f.revisions, nil)
	}
	f.revisions[rev-1] = e
	f.all.add(rev - 1)
	switch e.def.Status {
	case StatusActive:
		f.active.add(rev - 1)
		f.latestActive = max(f.latestActive, rev)
	case StatusInactive:
		f.inactive.add(rev - 1)
	}
	return e
}

// Import stores a revision as ECS described it (describe-task-definition),
// with its own revision number, ARN, status, registration and
// deregistration times, compatibilities and requiresAttributes, so that
// tasks and services of a real cluster find it by the ARN they carry. The
// revisions of a family need not be consecutive: those not imported do not
// exist here, and the next [Registry.Register] of the family gets the
// number after the highest. The definition must pass
// [TaskDefinition.Validate]; its ARN must be this registry's, for its family
// and revision; its status ACTIVE (or empty), INACTIVE or
// DELETE_IN_PROGRESS; the revision must not be there already. On error
// nothing changes.
func (r *Registry) Import(td TaskDefinition) (*Entry, error) {
	def, demand, err := prepare(td.Clone().inputOnly())
	if err != nil {
		return nil, err
	}
	want := r.arnPrefix() + def.Family + ":" + strconv.Itoa(td.Revision)
	if td.Revision < 1 || td.TaskDefinitionArn != want {
		return nil, &ReferenceError{Ref: td.TaskDefinitionArn, Reason: fmt.Sprintf("taskDefinitionArn of revision %d of %s must be %s", td.Revision, def.Family, want), Err: ErrInvalidReference}
	}
	if td.Revision > r.maxRevisions {
		return nil, &LimitExceededException{Family: def.Family, Limit: r.maxRevisions}
	}
	def.Revision, def.TaskDefinitionArn = td.Revision, td.TaskDefinitionArn
	def.Status = cmp.Or(td.Status, StatusActive)
	switch def.Status {
	case StatusActive, StatusInactive, StatusDeleteInProgress:
	default:
		return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("%q is not ACTIVE, INACTIVE or DELETE_IN_PROGRESS", td.Status)}
	}
	def.RegisteredAt, def.DeregisteredAt, def.RegisteredBy = td.RegisteredAt, td.DeregisteredAt, td.RegisteredBy
	def.Compatibilities = slices.Clone(td.Compatibilities)
	if len(def.Compatibilities) == 0 {
		def.Compatibilities = []Compatibility{CompatibilityEC2}
	}
	def.RequiresAttributes = slices.Clone(td.RequiresAttributes)
	if len(def.RequiresAttributes) == 0 {
		def.RequiresAttributes = requiredAttributes(def)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.families[def.Family]; f != nil && td.Revision <= len(f.revisions) && f.revisions[td.Revision-1] != nil {
		return nil, &ReferenceError{Ref: want, Reason: "the revision exists already", Err: ErrInvalidReference}
	}
	return r.store(&Entry{def: def, demand: demand}), nil
}

// prepare validates the input part of a definition and normalises it:
// task cpu and memory as plain units and MiB, its demand computed.
func prepare(def TaskDefinition) (TaskDefinition, Demand, error) {
	normalise(reflect.ValueOf(&def).Elem())
	if err := def.Validate(); err != nil {
		return def, Demand{}, err
	}
	if def.CPU != "" {
		n, _ := ParseCPU(def.CPU) // checked by Validate
		def.CPU = strconv.FormatInt(n, 10)
	}
	if def.Memory != "" {
		n, _ := ParseMemory(def.Memory)
		def.Memory = strconv.FormatInt(n, 10)
	}
	demand, err := def.Demand()
	return def, demand, err // no error after Validate
}

// requiredAttributes derives requiresAttributes. [INF] ECS derives many more
// (docker-remote-api versions, ...); these are the ones placement most needs.
func requiredAttributes(td TaskDefinition) []Attribute {
	var attrs []Attribute
	add := func(name string) {
		if !slices.ContainsFunc(attrs, func(a Attribute) bool { return a.Name == name }) {
			attrs = append(attrs, Attribute{Name: name})
		}
	}
	if td.NetworkMode == NetworkModeAwsvpc {
		add("ecs.capability.task-eni")
	}
	if td.TaskRoleArn != "" {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	for _, c := range td.ContainerDefinitions {
		if c.LogConfiguration != nil && c.LogConfiguration.LogDriver != "" {
			add("com.amazonaws.ecs.capability.logging-driver." + c.LogConfiguration.LogDriver)
		}
	}
	slices.SortFunc(attrs, func(a, b Attribute) int { return cmp.Compare(a.Name, b.Name) })
	return attrs
}

// parseRef splits a reference into family and revision (0 when the reference
// is a bare family).
func (r *Registry) parseRef(ref string) (string, int, error) {
	fam, revStr, hasRev := ref, "", false
	if strings.HasPrefix(ref, "arn:") {
		// arn:<partition>:ecs:<region>:<account>:task-definition/<family>:<revision>
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[2] != "ecs" || !strings.HasPrefix(parts[5], "task-definition/") {
			return "", 0, &ReferenceError{Ref: ref, Reason: "Invalid task definition ARN.", Err: ErrInvalidReference}
		}
		fam, revStr, hasRev = strings.Cut(strings.TrimPrefix(parts[5], "task-definition/"), ":")
		if !hasRev {
			return "", 0, &ReferenceError{Ref: ref, Reason: "Revision is missing.", Err: ErrInvalidReference}
		}
		if parts[1] != "aws" || parts[3] != r.region || parts[4] != r.accountID {
			// [INF] a well-formed ARN of another partition, region or account is not found here.
			return "", 0, &ReferenceError{Ref: ref, Reason: "Unable to describe task definition.", Err: ErrNotFound}
		}
	} else {
		fam, revStr, hasRev = strings.Cut(ref, ":")
	}
	if !validName(fam) {
		return "", 0, &ReferenceError{Ref: ref, Reason: "Invalid family name.", Err: ErrInvalidReference}
	}
	if !hasRev {
		return fam, 0, nil
	}
	if revStr == "" {
		return "", 0, &ReferenceError{Ref: ref, Reason: "Revision is missing.", Err: ErrInvalidReference}
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev <= 0 || revStr[0] == '+' {
		return "", 0, &ReferenceError{Ref: ref, Reason: "Invalid revision number. Number: " + revStr, Err: ErrInvalidReference}
	}
	return fam, rev, nil
}

// lookup returns the entry for fam/rev (rev 0: latest ACTIVE). Caller holds r.mu.
func (r *Registry) lookup(ref, fam string, rev int) (*Entry, *family, error) {
	f := r.families[fam]
	if f == nil {
		return nil, nil, &ReferenceError{Ref: ref, Reason: "Unable to describe task definition.", Err: ErrNotFound}
	}
	if rev == 0 {
		rev = f.latestActive
	}
	if rev == 0 || rev > len(f.revisions) || f.revisions[rev-1] == nil {
		return nil, nil, &ReferenceError{Ref: ref, Reason: "Unable to describe task definition.", Err: ErrNotFound}
	}
	return f.revisions[rev-1], f, nil
}

// Resolve finds the revision a reference names, like DescribeTaskDefinition:
// "family" gives the latest ACTIVE revision, "family:revision" and the full
// ARN give that revision whatever its status. An ARN must carry this
// registry's region and account. Errors are [*ReferenceError] wrapping
// [ErrNotFound] or [ErrInvalidReference]. Cost: O(len(ref)).
func (r *Registry) Resolve(ref string) (*Entry, error) {
	fam, rev, err := r.parseRef(ref)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, _, err := r.lookup(ref, fam, rev)
	return e, err
}

// Deregister marks a revision INACTIVE, like DeregisterTaskDefinition, and
// returns the new entry (deregisteredAt = at). The reference must include the
// revision (family:revision or ARN); a bare family is an [ErrInvalidReference].
// [INF] Deregistering an INACTIVE revision succeeds and returns the stored
// entry unchanged (its first deregisteredAt is kept). Existing tasks and
// pointers to the old entry are unaffected: the old [*Entry] still says ACTIVE.
func (r *Registry) Deregister(ref string, at time.Time) (*Entry, error) {
	fam, rev, err := r.parseRef(ref)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, &ReferenceError{Ref: ref, Reason: "Revision is missing.", Err: ErrInvalidReference}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, f, err := r.lookup(ref, fam, rev)
	if err != nil {
		return nil, err
	}
	if old.def.Status != StatusActive {
		return old, nil
	}
	def := old.def // shallow copy: both entries are read-only
	def.Status = StatusInactive
	def.DeregisteredAt = at
	e := &Entry{def: def, demand: old.demand}
	f.revisions[rev-1] = e
	f.active.remove(rev - 1)
	f.inactive.add(rev - 1)
	if f.latestActive == rev {
		f.latestActive = f.active.prev(rev-1) + 1 // 0 when none is left
	}
	return e, nil
}

// revision resolves ref (family:revision or ARN, a revision required) for a
// change. Caller holds r.mu for writing.
func (r *Registry) revision(ref string) (*Entry, *family, error) {
	fam, rev, err := r.parseRef(ref)
	if err != nil {
		return nil, nil, err
	}
	if rev == 0 {
		return nil, nil, &ReferenceError{Ref: ref, Reason: "Revision is missing.", Err: ErrInvalidReference}
	}
	return r.lookup(ref, fam, rev)
}

// Delete marks an INACTIVE revision DELETE_IN_PROGRESS, like
// DeleteTaskDefinitions: it is listed no more (ListTaskDefinitions lists
// ACTIVE or INACTIVE revisions) but is still described, and what runs on it
// keeps running. An ACTIVE revision is [ErrStillActive]; one already
// DELETE_IN_PROGRESS is returned as it is.
func (r *Registry) Delete(ref string) (*Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, f, err := r.revision(ref)
	if err != nil {
		return nil, err
	}
	switch old.def.Status {
	case StatusActive:
		return nil, ErrStillActive
	case StatusDeleteInProgress:
		return old, nil
	}
	def := old.def
	def.Status = StatusDeleteInProgress
	e := &Entry{def: def, demand: old.demand}
	f.revisions[old.def.Revision-1] = e
	f.inactive.remove(old.def.Revision - 1)
	return e, nil
}

// UpdateTags replaces the tags of a revision (TagResource, UntagResource)
// with what update returns for the current ones, under the registry's
// lock, so that concurrent updates do not undo each other. When update
// returns an error, or nil tags, nothing changes.
func (r *Registry) UpdateTags(ref string, update func(old []Tag) ([]Tag, error)) (*Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, f, err := r.revision(ref)
	if err != nil {
		return nil, err
	}
	tags, err := update(slices.Clone(old.def.Tags))
	if err != nil || tags == nil {
		return old, err
	}
	def := old.def
	def.Tags = slices.Clone(tags)
	e := &Entry{def: def, demand: old.demand}
	f.revisions[old.def.Revision-1] = e
	return e, nil
}

// List returns the ARNs of the revisions of family with the given status,
// like ListTaskDefinitions: sorted by family then revision, ascending or, if
// descending, the reverse. As in ECS, familyPrefix is the full family name
// (not a prefix); "" lists every family. status "" means [StatusActive] (the
// ECS default) and [StatusAll] any status. Cost: O(F + N) over the families
// F and revisions N it lists; [Registry.Page] lists one page.
func (r *Registry) List(familyPrefix string, status Status, descending bool) []string {
	var arns []string
	for after := (Cursor{}); ; {
		page, next, more := r.Page(familyPrefix, status, descending, after, 1000)
		arns = append(arns, page...)
		if !more {
			return arns
		}
		after = next
	}
}

// Cursor is a position in ListTaskDefinitions' order: the family and
// revision of the last ARN a page returned. The zero Cursor is the start.
type Cursor struct {
	Family   string
	Revision int
}

// ParseCursor returns the position of a task definition ARN (or
// family:revision) that a page returned.
func ParseCursor(arn string) (Cursor, bool) {
	tail := arn[strings.LastIndexByte(arn, '/')+1:]
	fam, rev, ok := strings.Cut(tail, ":")
	n, err := strconv.Atoi(rev)
	if !ok || err != nil || n < 1 || !validName(fam) {
		return Cursor{}, false
	}
	return Cursor{Family: fam, Revision: n}, true
}

// Page returns up to limit ARNs of [Registry.List]'s order that come after
// the position after, the position of the last one, and whether more
// follow. A limit below 1 is taken as 1. Cost: O(limit), plus O(1) for each family without a revision of
// the status it passes over and one step per 4,096 revisions of another
// status it skips; it does not depend on how many revisions there are.
func (r *Registry) Page(familyPrefix string, status Status, descending bool, after Cursor, limit int) (arns []string, last Cursor, more bool) {
	switch status {
	case "":
		status = StatusActive
	case StatusActive, StatusInactive, StatusAll:
	default:
		return nil, Cursor{}, false // no revision has another status
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	limit = max(limit, 1)
	names := r.names
	if familyPrefix != "" {
		names = nil
		if r.families[familyPrefix] != nil {
			names = []string{familyPrefix}
		}
	}
	// i: the first family to look at; rev: where in it to start
	// (0: from its first revision in the page's direction).
	i, found := slices.BinarySearch(names, after.Family)
	rev := 0
	switch {
	case after.Family == "":
		if descending {
			i = len(names) - 1
		} else {
			i = 0
		}
	case found:
		rev = after.Revision
	case descending:
		i-- // the families before after.Family
	}
	arns = make([]string, 0, min(limit, 100))
	step := 1
	if descending {
		step = -1
	}
	for ; i >= 0 && i < len(names); i, rev = i+step, 0 {
		f := r.families[names[i]]
		set := f.set(status)
		if set.n == 0 {
			continue
		}
		// pos walks the revisions' positions (revision pos+1).
		pos := 0
		switch {
		case rev > 0 && descending:
			pos = rev - 2
		case rev > 0:
			pos = rev
		case descending:
			pos = len(f.revisions) - 1
		}
		for {
			if descending {
				pos = set.prev(pos)
			} else {
				pos = set.next(pos)
			}
			if pos < 0 {
				break
			}
			if len(arns) == limit {
				return arns, last, true
			}
			arns = append(arns, f.revisions[pos].def.TaskDefinitionArn)
			last = Cursor{Family: names[i], Revision: pos + 1}
			pos += step
		}
	}
	return arns, last, false
}

// Families returns the sorted family names starting with prefix, like
// ListTaskDefinitionFamilies: status ACTIVE lists families with at least one
// ACTIVE revision, INACTIVE those with none, and "" or [StatusAll] every
// family (the ECS default). Cost: O(log F) plus the families it lists.
func (r *Registry) Families(prefix string, status Status) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	i, _ := slices.BinarySearch(r.names, prefix)
	for _, name := range r.names[i:] {
		if !strings.HasPrefix(name, prefix) {
			break
		}
		active := r.families[name].latestActive > 0
		switch status {
		case "", StatusAll:
		case StatusActive:
			if !active {
				continue
			}
		case StatusInactive:
			if active {
				continue
			}
		default:
			continue
		}
		out = append(out, name)
	}
	return out
}
