package stevedore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
)

// DeregisterContainerInstanceInput is the input of
// [Client.DeregisterContainerInstance].
type DeregisterContainerInstanceInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance"`
	// Force deregisters an instance that still has tasks: they are marked
	// STOPPED ("Container instance deregistration forced by user").
	Force bool `json:"force,omitempty"`
}

// DeregisterContainerInstanceOutput is the output of
// [Client.DeregisterContainerInstance].
type DeregisterContainerInstanceOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// DeregisterContainerInstance makes a container instance INACTIVE. An
// instance with tasks that are not stopped needs Force.
func (c *Client) DeregisterContainerInstance(ctx context.Context, in *DeregisterContainerInstanceInput) (*DeregisterContainerInstanceOutput, error) {
	if in == nil {
		in = &DeregisterContainerInstanceInput{}
	}
	if in.ContainerInstance == "" {
		return nil, invalidParameter(nil, "containerInstance is required.")
	}
	var out *DeregisterContainerInstanceOutput
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		info, err := e.c.DeregisterInstance(in.ContainerInstance, in.Force)
		if err != nil {
			return instanceError(err)
		}
		out = &DeregisterContainerInstanceOutput{ContainerInstance: containerInstance(info)}
		return nil
	})
	return out, err
}

// UpdateContainerInstancesStateInput is the input of
// [Client.UpdateContainerInstancesState].
type UpdateContainerInstancesStateInput struct {
	Cluster string `json:"cluster,omitempty"`
	// ContainerInstances are 1 to 10 ids or ARNs.
	ContainerInstances []string `json:"containerInstances"`
	// Status is ACTIVE or DRAINING.
	Status string `json:"status"`
}

// UpdateContainerInstancesStateOutput is the output of
// [Client.UpdateContainerInstancesState].
type UpdateContainerInstancesStateOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. A
// DRAINING instance takes no new tasks. Unknown instances are MISSING
// failures, INACTIVE ones INACTIVE failures [INF]; setting the status an
// instance already has is not an error.
func (c *Client) UpdateContainerInstancesState(ctx context.Context, in *UpdateContainerInstancesStateInput) (*UpdateContainerInstancesStateOutput, error) {
	if in == nil {
		in = &UpdateContainerInstancesStateInput{}
	}
	status, ok := cluster.ParseInstanceStatus(in.Status)
	if !ok || status == cluster.InstanceInactive {
		return nil, invalidParameter(nil, "Container instance status should be one of [ACTIVE, DRAINING]")
	}
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParameter(nil, "Container Instances cannot be empty.")
	}
	if len(in.ContainerInstances) > 10 {
		return nil, invalidParameter(nil, "containerInstances can have at most 10 items.")
	}
	out := &UpdateContainerInstancesStateOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		for _, ref := range in.ContainerInstances {
			info, err := e.c.SetInstanceStatus(ref, status)
			switch {
			case err == nil:
				out.ContainerInstances = append(out.ContainerInstances, containerInstance(info))
			case errors.Is(err, cluster.ErrInstanceNotFound):
				out.Failures = append(out.Failures, Failure{Arn: c.instanceARN(e, ref), Reason: "MISSING"})
			case errors.Is(err, cluster.ErrInvalidTransition):
				out.Failures = append(out.Failures, Failure{Arn: c.instanceARN(e, ref), Reason: "INACTIVE", Detail: err.Error()})
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) instanceARN(e *clusterEntry, ref string) string {
	var arn string
	e.c.Read(func(v *cluster.View) { arn = v.InstanceARN(ref) })
	return arn
}

// PutAttributesInput is the input of [Client.PutAttributes].
type PutAttributesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Attributes are 1 to 10 attributes, each naming its container
	// instance by TargetId (an ARN, or an id with TargetType
	// "container-instance").
	Attributes []Attribute `json:"attributes"`
}

// PutAttributesOutput is the output of [Client.PutAttributes].
type PutAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}

// PutAttributes creates or replaces attributes of container instances, all
// or nothing.
func (c *Client) PutAttributes(ctx context.Context, in *PutAttributesInput) (*PutAttributesOutput, error) {
	if in == nil {
		in = &PutAttributesInput{}
	}
	if err := c.applyAttributes(ctx, in.Cluster, in.Attributes, false); err != nil {
		return nil, err
	}
	return &PutAttributesOutput{Attributes: in.Attributes}, nil
}

// DeleteAttributesInput is the input of [Client.DeleteAttributes].
type DeleteAttributesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// Attributes name the attributes to remove (Value is ignored) and
	// their targets, as in PutAttributes.
	Attributes []Attribute `json:"attributes"`
}

// DeleteAttributesOutput is the output of [Client.DeleteAttributes].
type DeleteAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}

// DeleteAttributes removes attributes from container instances, all or
// nothing.
func (c *Client) DeleteAttributes(ctx context.Context, in *DeleteAttributesInput) (*DeleteAttributesOutput, error) {
	if in == nil {
		in = &DeleteAttributesInput{}
	}
	if err := c.applyAttributes(ctx, in.Cluster, in.Attributes, true); err != nil {
		return nil, err
	}
	return &DeleteAttributesOutput{Attributes: in.Attributes}, nil
}

func (c *Client) applyAttributes(ctx context.Context, ref string, attrs []Attribute, del bool) error {
	if len(attrs) == 0 {
		return invalidParameter(nil, "attributes cannot be empty.")
	}
	if len(attrs) > 10 {
		return invalidParameter(nil, "attributes can have at most 10 items.")
	}
	ops := make([]cluster.AttributeOp, len(attrs))
	for i, a := range attrs {
		if a.TargetId == "" {
			return invalidParameter(nil, "attributes[%d].targetId is required.", i)
		}
		if a.TargetType != "" && a.TargetType != "container-instance" {
			return invalidParameter(nil, "attributes[%d].targetType must be container-instance, not %q.", i, a.TargetType)
		}
		if a.TargetType == "" && !strings.HasPrefix(a.TargetId, "arn:") {
			return invalidParameter(nil, "attributes[%d].targetType is required when targetId is not an ARN.", i)
		}
		if a.Name == TaskENILimitAttribute || a.Name == TrunkAttribute {
			// [INF] an instance's ENI capacity is fixed when it
			// registers, as its trunk ENI is in ECS.
			return invalidParameter(nil, "attributes[%d]: attribute %s is set when the container instance registers and cannot change.", i, a.Name)
		}
		for j, b := range attrs[:i] {
			// [INF] one call names an attribute of a target once.
			if b.Name == a.Name && b.TargetId == a.TargetId {
				return invalidParameter(nil, "attributes[%d]: attribute %q of %s is also attributes[%d].", i, a.Name, a.TargetId, j)
			}
		}
		ops[i] = cluster.AttributeOp{
			InstanceID: a.TargetId, Delete: del,
			Attribute: cluster.Attribute{Name: a.Name, Value: a.Value},
		}
	}
	return c.withCluster(ctx, ref, func(e *clusterEntry) error {
		err := e.c.ApplyAttributes(ops)
		if errors.Is(err, cluster.ErrInstanceNotFound) {
			return &TargetNotFoundException{Message: "Could not find the target: " + err.Error(), Err: err}
		}
		return instanceError(err)
	})
}

// ListAttributesInput is the input of [Client.ListAttributes].
type ListAttributesInput struct {
	Cluster string `json:"cluster,omitempty"`
	// TargetType is required: container-instance, the one target type.
	TargetType string `json:"targetType"`
	// AttributeName keeps the attributes of that name; AttributeValue,
	// which needs it, those of that value too.
	AttributeName  string `json:"attributeName,omitempty"`
	AttributeValue string `json:"attributeValue,omitempty"`
	MaxResults     int    `json:"maxResults,omitempty"`
	NextToken      string `json:"nextToken,omitempty"`
}

// ListAttributesOutput is the output of [Client.ListAttributes].
type ListAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
	NextToken  string      `json:"nextToken,omitempty"`
}

// ListAttributes lists the attributes of a cluster's container instances
// (those not INACTIVE), built-in and custom, each with its instance's ARN
// as targetId, by instance in registration order and then by name [INF],
// in pages.
func (c *Client) ListAttributes(ctx context.Context, in *ListAttributesInput) (*ListAttributesOutput, error) {
	if in == nil {
		in = &ListAttributesInput{}
	}
	if in.TargetType != "container-instance" {
		return nil, invalidParameter(nil, "targetType must be container-instance, not %q.", in.TargetType)
	}
	if in.AttributeValue != "" && in.AttributeName == "" {
		return nil, invalidParameter(nil, "attributeValue needs attributeName.")
	}
	type item struct {
		key  string
		attr Attribute
	}
	var items []item
	err := c.withCluster(ctx, in.Cluster, func(e *clusterEntry) error {
		e.c.Read(func(v *cluster.View) {
			for inst := range v.Instances() {
				if inst.Status() == cluster.InstanceInactive {
					continue
				}
				for _, a := range inst.Attributes() {
					if in.AttributeName != "" && a.Name != in.AttributeName || in.AttributeValue != "" && a.Value != in.AttributeValue {
						continue
					}
					items = append(items, item{
						key:  fmt.Sprintf("%016d\x00%s", inst.Slot(), a.Name),
						attr: Attribute{Name: a.Name, Value: a.Value, TargetType: "container-instance", TargetId: inst.ARN()},
					})
				}
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(items))
	byKey := make(map[string]Attribute, len(items))
	for i, it := range items {
		keys[i] = it.key
		byKey[it.key] = it.attr
	}
	page, next, err := paginate(keys, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &ListAttributesOutput{Attributes: make([]Attribute, len(page)), NextToken: next}
	for i, k := range page {
		out.Attributes[i] = byKey[k]
	}
	return out, nil
}
