package cluster

import (
	"fmt"
	"slices"
	"strings"
)

// MaxCustomAttributes is the most custom attributes one container instance
// may carry. Built-in attributes (names beginning "ecs." or
// "com.amazonaws.ecs.") do not count.
const MaxCustomAttributes = 10

// AttributeAvailabilityZone is the built-in attribute naming an instance's
// Availability Zone; a task records it when it is placed.
const AttributeAvailabilityZone = "ecs.availability-zone"

// IsBuiltinAttribute reports whether name is one ECS or the agent sets.
func IsBuiltinAttribute(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.")
}

// ValidateAttribute checks an attribute's name and value against ECS's
// rules: a name of 1–128 letters, digits, '-', '_', '/', '\' or '.'; a value,
// if any, of 1–128 letters, digits, '-', '_', '.', '@', '/', '\', ':' or
// spaces, without leading or trailing white space.
func ValidateAttribute(a Attribute) error {
	if n := len(a.Name); n == 0 || n > 128 {
		return fmt.Errorf("%w: attribute name %q must be 1 to 128 characters", ErrInvalidSpec, a.Name)
	}
	for _, r := range a.Name {
		if !isAlnum(r) && !strings.ContainsRune(`-_/\.`, r) {
			return fmt.Errorf("%w: attribute name %q contains %q; allowed are letters, digits and - _ / \\ .", ErrInvalidSpec, a.Name, r)
		}
	}
	if len(a.Value) > 128 {
		return fmt.Errorf("%w: value of attribute %q is longer than 128 characters", ErrInvalidSpec, a.Name)
	}
	if strings.TrimSpace(a.Value) != a.Value {
		return fmt.Errorf("%w: value of attribute %q has leading or trailing white space", ErrInvalidSpec, a.Name)
	}
	for _, r := range a.Value {
		if !isAlnum(r) && !strings.ContainsRune(`-_.@/\: `, r) {
			return fmt.Errorf("%w: value of attribute %q contains %q; allowed are letters, digits, spaces and - _ . @ / \\ :", ErrInvalidSpec, a.Name, r)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// AttributeOp puts (or, with Delete, removes) one attribute of one
// instance. A put replaces the value of an attribute of the same name.
type AttributeOp struct {
	InstanceID string
	Attribute  Attribute
	Delete     bool
}

// ApplyAttributes applies the operations all or nothing: it fails with
// [ErrInstanceNotFound] if an instance does not exist (or is INACTIVE),
// [ErrInvalidSpec] if an attribute is malformed, and [ErrAttributeLimit]
// if an instance would end with more than [MaxCustomAttributes] custom
// attributes. Deleting an attribute the instance lacks is not an error.
func (c *Cluster) ApplyAttributes(ops []AttributeOp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make(map[*Instance][]Attribute)
	var order []*Instance
	for _, op := range ops {
		in, ok := c.instance(op.InstanceID)
		if !ok || in.status == InstanceInactive {
			return fmt.Errorf("%w: %s", ErrInstanceNotFound, op.InstanceID)
		}
		if !op.Delete {
			if err := ValidateAttribute(op.Attribute); err != nil {
				return err
			}
		}
		attrs, seen := next[in]
		if !seen {
			attrs = slices.Clone(in.attrs)
			order = append(order, in)
		}
		i, found := slices.BinarySearchFunc(attrs, op.Attribute.Name, cmpAttr)
		switch {
		case op.Delete && found:
			attrs = slices.Delete(attrs, i, i+1)
		case !op.Delete && found:
			attrs[i].Value = op.Attribute.Value
		case !op.Delete:
			attrs = slices.Insert(attrs, i, op.Attribute)
		}
		next[in] = attrs
	}
	for _, in := range order {
		if n := customCount(next[in]); n > MaxCustomAttributes {
			return fmt.Errorf("%w: container instance %s would have %d custom attributes; the limit is %d",
				ErrAttributeLimit, in.id, n, MaxCustomAttributes)
		}
	}
	for _, in := range order {
		in.attrs = next[in]
		in.attrEpoch++
		c.touch(in)
	}
	c.flush(InstanceUpdated)
	return nil
}

func customCount(attrs []Attribute) int {
	n := 0
	for _, a := range attrs {
		if !IsBuiltinAttribute(a.Name) {
			n++
		}
	}
	return n
}
