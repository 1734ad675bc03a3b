package stevedore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/placement"
	"github.com/stevedore-go/stevedore/taskdef"
)

// RegisterTaskDefinitionInput is the input of
// [Client.RegisterTaskDefinition]: a task definition in the shape
// `aws ecs register-task-definition --cli-input-json` takes (decode one with
// taskdef.Decode). The fields ECS fills in (taskDefinitionArn, revision,
// status, ...) must be empty.
type RegisterTaskDefinitionInput struct {
	taskdef.TaskDefinition
}

// RegisterTaskDefinitionOutput is the output of
// [Client.RegisterTaskDefinition].
type RegisterTaskDefinitionOutput struct {
	TaskDefinition taskdef.TaskDefinition `json:"taskDefinition"`
	Tags           []Tag                  `json:"tags,omitempty"`
}

// RegisterTaskDefinition validates a task definition and registers it as
// the next revision of its family.
func (c *Client) RegisterTaskDefinition(ctx context.Context, in *RegisterTaskDefinitionInput) (*RegisterTaskDefinitionOutput, error) {
	if in == nil {
		in = &RegisterTaskDefinitionInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	td := in.TaskDefinition
	if td.TaskDefinitionArn != "" || td.Revision != 0 || td.Status != "" || len(td.Compatibilities) > 0 ||
		len(td.RequiresAttributes) > 0 || !td.RegisteredAt.IsZero() || !td.DeregisteredAt.IsZero() {
		return nil, clientException(nil, "taskDefinitionArn, revision, status, compatibilities, requiresAttributes, registeredAt and deregisteredAt are set by ECS and cannot be registered.")
	}
	for i, pc := range td.PlacementConstraints {
		if pc.Type != taskdef.PlacementConstraintMemberOf || pc.Expression == "" {
			continue // Register names the rule these break
		}
		if _, err := placement.ParseConstraint(string(pc.Type), pc.Expression); err != nil {
			return nil, invalidParameter(err, "placementConstraints[%d].expression: %v", i, err)
		}
	}
	e, err := c.registry.Register(td, c.clock.Now())
	if err != nil {
		return nil, taskDefinitionError(err)
	}
	def := e.Definition()
	return &RegisterTaskDefinitionOutput{TaskDefinition: def, Tags: def.Tags}, nil
}

// checkTags applies ECS's tagging rules (taskdef.ValidateTags) to the tags
// of a call.
func checkTags(tags []Tag) error {
	if err := taskdef.ValidateTags(tags); err != nil {
		return taskDefinitionError(err)
	}
	return nil
}

// taskDefinitionError maps a taskdef error to an ECS exception.
func taskDefinitionError(err error) error {
	if ve, ok := errors.AsType[*taskdef.ValidationError](err); ok {
		msg := strings.TrimPrefix(ve.Error(), "taskdef: ")
		msg = strings.TrimPrefix(msg, ve.Exception+": ")
		if ve.Exception == "InvalidParameterException" {
			return invalidParameter(err, "%s", msg)
		}
		return clientException(err, "%s", msg)
	}
	if le, ok := errors.AsType[*taskdef.LimitExceededException](err); ok {
		return &LimitExceededException{Message: le.Error(), Err: err}
	}
	if re, ok := errors.AsType[*taskdef.ReferenceError](err); ok {
		return clientException(err, "%s", re.Reason)
	}
	return err
}

// DescribeTaskDefinitionInput is the input of
// [Client.DescribeTaskDefinition].
type DescribeTaskDefinitionInput struct {
	// TaskDefinition is a family (its latest ACTIVE revision),
	// family:revision or an ARN.
	TaskDefinition string `json:"taskDefinition"`
}

// DescribeTaskDefinitionOutput is the output of
// [Client.DescribeTaskDefinition].
type DescribeTaskDefinitionOutput struct {
	TaskDefinition taskdef.TaskDefinition `json:"taskDefinition"`
	Tags           []Tag                  `json:"tags,omitempty"`
}

// DescribeTaskDefinition describes a task definition revision, ACTIVE or
// INACTIVE.
func (c *Client) DescribeTaskDefinition(ctx context.Context, in *DescribeTaskDefinitionInput) (*DescribeTaskDefinitionOutput, error) {
	if in == nil {
		in = &DescribeTaskDefinitionInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	e, err := c.registry.Resolve(in.TaskDefinition)
	if err != nil {
		return nil, taskDefinitionError(err)
	}
	def := e.Definition()
	return &DescribeTaskDefinitionOutput{TaskDefinition: def, Tags: def.Tags}, nil
}

// ListTaskDefinitionsInput is the input of [Client.ListTaskDefinitions].
type ListTaskDefinitionsInput struct {
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	// Status is ACTIVE (the default) or INACTIVE.
	Status string `json:"status,omitempty"`
	// Sort is ASC (the default: family, then revision) or DESC.
	Sort       string `json:"sort,omitempty"`
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListTaskDefinitionsOutput is the output of [Client.ListTaskDefinitions].
type ListTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          string   `json:"nextToken,omitempty"`
}

// ListTaskDefinitions lists task definition ARNs by family and revision.
func (c *Client) ListTaskDefinitions(ctx context.Context, in *ListTaskDefinitionsInput) (*ListTaskDefinitionsOutput, error) {
	if in == nil {
		in = &ListTaskDefinitionsInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	status := taskdef.StatusActive
	switch in.Status {
	case "", "ACTIVE":
	case "INACTIVE":
		status = taskdef.StatusInactive
	default:
		return nil, invalidParameter(nil, "status must be one of [ACTIVE, INACTIVE], not %q.", in.Status)
	}
	if in.Sort != "" && in.Sort != "ASC" && in.Sort != "DESC" {
		return nil, invalidParameter(nil, "sort must be one of [ASC, DESC], not %q.", in.Sort)
	}
	if in.MaxResults < 0 || in.MaxResults > DefaultMaxResults {
		return nil, invalidParameter(nil, "maxResults must be between 1 and %d, got %d.", DefaultMaxResults, in.MaxResults)
	}
	var after taskdef.Cursor
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		cur, ok := taskdef.ParseCursor(string(raw))
		if err != nil || !ok {
			return nil, invalidParameter(err, "nextToken %q is not valid.", in.NextToken)
		}
		after = cur
	}
	arns, last, more := c.registry.Page(in.FamilyPrefix, status, in.Sort == "DESC", after, cmp.Or(in.MaxResults, DefaultMaxResults))
	out := &ListTaskDefinitionsOutput{TaskDefinitionArns: arns}
	if more {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(last.Family + ":" + strconv.Itoa(last.Revision)))
	}
	return out, nil
}

// DeregisterTaskDefinitionInput is the input of
// [Client.DeregisterTaskDefinition].
type DeregisterTaskDefinitionInput struct {
	// TaskDefinition is family:revision or an ARN.
	TaskDefinition string `json:"taskDefinition"`
}

// DeregisterTaskDefinitionOutput is the output of
// [Client.DeregisterTaskDefinition].
type DeregisterTaskDefinitionOutput struct {
	TaskDefinition taskdef.TaskDefinition `json:"taskDefinition"`
}

// DeregisterTaskDefinition makes a revision INACTIVE: it can no longer run
// new tasks, running tasks are untouched, and its number is never reused.
func (c *Client) DeregisterTaskDefinition(ctx context.Context, in *DeregisterTaskDefinitionInput) (*DeregisterTaskDefinitionOutput, error) {
	if in == nil {
		in = &DeregisterTaskDefinitionInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	e, err := c.registry.Deregister(in.TaskDefinition, c.clock.Now())
	if err != nil {
		return nil, taskDefinitionError(err)
	}
	return &DeregisterTaskDefinitionOutput{TaskDefinition: e.Definition()}, nil
}

// defaultSpec returns the task spec of a task definition revision for a
// call that names no group, startedBy or constraints: the revision's
// demand, group "family:<family>". Specs are cached by ARN (the demand of
// a revision never changes) in a sync.Map, whose reads take no lock; the
// returned spec is shared and must not be modified.
func (c *Client) defaultSpec(e *taskdef.Entry) (*cluster.TaskSpec, error) {
	if spec, ok := c.specs.Load(e.ARN()); ok {
		return spec.(*cluster.TaskSpec), nil
	}
	td := e.Demand()
	def := e.Definition()
	attrs := make([]string, len(def.RequiresAttributes))
	for i, a := range def.RequiresAttributes {
		attrs[i] = a.Name
	}
	d, err := newDemand(td, attrs)
	if err != nil {
		return nil, clientException(err, "task definition %s: %v", e.ARN(), err)
	}
	spec, _ := c.specs.LoadOrStore(e.ARN(), &cluster.TaskSpec{
		TaskDefinitionARN: e.ARN(), Family: e.Family(), Demand: d, Group: "family:" + e.Family(),
	})
	return spec.(*cluster.TaskSpec), nil
}

// ListTaskDefinitionFamiliesInput is the input of
// [Client.ListTaskDefinitionFamilies].
type ListTaskDefinitionFamiliesInput struct {
	// FamilyPrefix keeps the families whose names begin with it.
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	// Status is ACTIVE (families with an ACTIVE revision), INACTIVE
	// (families without one) or ALL, the default.
	Status     string `json:"status,omitempty"`
	MaxResults int    `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListTaskDefinitionFamiliesOutput is the output of
// [Client.ListTaskDefinitionFamilies].
type ListTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken string   `json:"nextToken,omitempty"`
}

// ListTaskDefinitionFamilies lists the task definition families, sorted,
// in pages.
func (c *Client) ListTaskDefinitionFamilies(ctx context.Context, in *ListTaskDefinitionFamiliesInput) (*ListTaskDefinitionFamiliesOutput, error) {
	if in == nil {
		in = &ListTaskDefinitionFamiliesInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	status := taskdef.StatusAll
	switch in.Status {
	case "", "ALL":
	case "ACTIVE":
		status = taskdef.StatusActive
	case "INACTIVE":
		status = taskdef.StatusInactive
	default:
		return nil, invalidParameter(nil, "status must be one of [ACTIVE, INACTIVE, ALL], not %q.", in.Status)
	}
	page, next, err := paginate(c.registry.Families(in.FamilyPrefix, status), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &ListTaskDefinitionFamiliesOutput{Families: page, NextToken: next}, nil
}

// DeleteTaskDefinitionsInput is the input of [Client.DeleteTaskDefinitions].
type DeleteTaskDefinitionsInput struct {
	// TaskDefinitions are 1 to 10 family:revision references or ARNs of
	// INACTIVE revisions.
	TaskDefinitions []string `json:"taskDefinitions"`
}

// DeleteTaskDefinitionsOutput is the output of
// [Client.DeleteTaskDefinitions].
type DeleteTaskDefinitionsOutput struct {
	TaskDefinitions []taskdef.TaskDefinition `json:"taskDefinitions"`
	Failures        []Failure                `json:"failures"`
}

// MaxDeleteTaskDefinitions is the most revisions one DeleteTaskDefinitions
// call names.
const MaxDeleteTaskDefinitions = 10

// DeleteTaskDefinitions marks INACTIVE revisions DELETE_IN_PROGRESS: they
// are no longer listed, are still described, and their tasks keep running.
// A revision that is ACTIVE or unknown is a failure, not an error.
func (c *Client) DeleteTaskDefinitions(ctx context.Context, in *DeleteTaskDefinitionsInput) (*DeleteTaskDefinitionsOutput, error) {
	if in == nil {
		in = &DeleteTaskDefinitionsInput{}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if n := len(in.TaskDefinitions); n == 0 || n > MaxDeleteTaskDefinitions {
		return nil, invalidParameter(nil, "taskDefinitions must name 1 to %d task definitions, got %d.", MaxDeleteTaskDefinitions, n)
	}
	out := &DeleteTaskDefinitionsOutput{TaskDefinitions: []taskdef.TaskDefinition{}, Failures: []Failure{}}
	for _, ref := range in.TaskDefinitions {
		e, err := c.registry.Delete(ref)
		switch {
		case err == nil:
			out.TaskDefinitions = append(out.TaskDefinitions, e.Definition())
		case errors.Is(err, taskdef.ErrStillActive):
			out.Failures = append(out.Failures, Failure{Arn: c.taskDefinitionARN(ref), Reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again."})
		case errors.Is(err, taskdef.ErrNotFound):
			out.Failures = append(out.Failures, Failure{Arn: c.taskDefinitionARN(ref), Reason: "The specified task definition does not exist."})
		default: // a malformed reference: the others are still deleted [INF]
			reason := err.Error()
			if re, ok := errors.AsType[*taskdef.ReferenceError](err); ok {
				reason = re.Reason
			}
			out.Failures = append(out.Failures, Failure{Arn: c.taskDefinitionARN(ref), Reason: reason})
		}
	}
	return out, nil
}

// taskDefinitionARN is the ARN a family:revision reference names.
func (c *Client) taskDefinitionARN(ref string) string {
	if isARN(ref) {
		return ref
	}
	return c.arnPrefix + "task-definition/" + ref
}

// newDemand makes the placement demand of a task definition's demand
// vector, with its ENI for awsvpc.
func newDemand(td taskdef.Demand, attrs []string) (*cluster.Demand, error) {
	d, err := cluster.NewDemand(td.CPU, td.Memory, td.Ports, td.PortsUDP, td.GPUs, attrs...)
	if err != nil || td.ENIs == 0 {
		return d, err
	}
	return d.WithENIs(td.ENIs), nil
}
