package stevedore

import (
	"context"
	"slices"
	"strings"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/taskdef"
)

// TagResourceInput is the input of [Client.TagResource].
type TagResourceInput struct {
	// ResourceArn is the ARN of a cluster, service, task definition,
	// container instance or task.
	ResourceArn string `json:"resourceArn"`
	// Tags are added; a tag whose key the resource has replaces it.
	Tags []Tag `json:"tags"`
}

// TagResourceOutput is the output of [Client.TagResource].
type TagResourceOutput struct{}

// UntagResourceInput is the input of [Client.UntagResource].
type UntagResourceInput struct {
	ResourceArn string `json:"resourceArn"`
	// TagKeys are the keys of the tags to remove; keys the resource does
	// not have are ignored.
	TagKeys []string `json:"tagKeys"`
}

// UntagResourceOutput is the output of [Client.UntagResource].
type UntagResourceOutput struct{}

// ListTagsForResourceInput is the input of [Client.ListTagsForResource].
type ListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn"`
}

// ListTagsForResourceOutput is the output of [Client.ListTagsForResource].
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

// TagResource adds tags to a resource, replacing those of the same keys;
// the result must keep ECS's tagging rules (taskdef.ValidateTags: at most
// 50 tags, ...) or nothing changes.
func (c *Client) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	if in == nil {
		in = &TagResourceInput{}
	}
	if len(in.Tags) == 0 {
		return nil, invalidParameter(nil, "tags cannot be empty.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	err := c.updateTags(ctx, in.ResourceArn, func(old []Tag) []Tag {
		out := slices.Clone(old)
		for _, t := range in.Tags {
			if i := slices.IndexFunc(out, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
				out[i] = t
			} else {
				out = append(out, t)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// UntagResource removes tags from a resource by key.
func (c *Client) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	if in == nil {
		in = &UntagResourceInput{}
	}
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter(nil, "tagKeys cannot be empty.")
	}
	err := c.updateTags(ctx, in.ResourceArn, func(old []Tag) []Tag {
		return slices.DeleteFunc(slices.Clone(old), func(t Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
	})
	if err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

// ListTagsForResource returns a resource's tags.
func (c *Client) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	if in == nil {
		in = &ListTagsForResourceInput{}
	}
	var tags []Tag
	err := c.updateTags(ctx, in.ResourceArn, func(old []Tag) []Tag {
		tags = slices.Clone(old)
		return nil // no change
	})
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []Tag{}
	}
	return &ListTagsForResourceOutput{Tags: tags}, nil
}

// updateTags finds the resource arn names, calls f with its tags and, when
// f returns non-nil tags, stores them once they pass ECS's rules. Cluster
// and service tags are where DescribeClusters and DescribeServices read
// them, task definitions' in the registry, container instances' and
// tasks' in the client.
func (c *Client) updateTags(ctx context.Context, arn string, f func(old []Tag) []Tag) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(arn, c.arnPrefix)
	kind, name, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return invalidParameter(nil, "resourceArn %q is not an ARN of this account and region's ECS resources.", arn)
	}
	notFound := &ResourceNotFoundException{Message: "The specified resource could not be found: " + arn + "."}
	apply := func(old []Tag, store func([]Tag)) error {
		nw := f(old)
		if nw == nil {
			return nil
		}
		if err := checkTags(nw); err != nil {
			return err
		}
		store(nw)
		return nil
	}
	switch kind {
	case "cluster":
		c.mu.Lock()
		defer c.mu.Unlock()
		e, ok := c.clusters[name]
		if !ok || !e.active {
			return notFound
		}
		return apply(e.tags, func(t []Tag) { e.tags = t })
	case "task-definition":
		if _, ok := taskdef.ParseCursor(arn); !ok {
			return notFound // a revision is required
		}
		var applyErr error
		_, err := c.registry.UpdateTags(arn, func(old []Tag) ([]Tag, error) {
			var nw []Tag
			applyErr = apply(old, func(t []Tag) { nw = t })
			return nw, applyErr
		})
		if applyErr != nil {
			return applyErr
		}
		if err != nil {
			return notFound
		}
		return nil
	case "service", "container-instance", "task":
		clusterName, id, _ := strings.Cut(name, "/")
		c.mu.RLock()
		defer c.mu.RUnlock()
		e, ok := c.clusters[clusterName]
		if !ok || !e.active || id == "" {
			return notFound
		}
		if kind == "service" {
			s, ok := e.services.Get(id)
			if !ok || s.Status == "INACTIVE" {
				return notFound
			}
			var err error
			e.updateExtras(id, func(x *serviceExtras) {
				err = apply(x.tags, func(t []Tag) { x.tags = t })
			})
			return err
		}
		exists := false
		e.c.Read(func(v *cluster.View) {
			if kind == "task" {
				_, exists = v.Task(id)
			} else {
				_, exists = v.Instance(id)
			}
		})
		if !exists {
			return notFound
		}
		c.tagsMu.Lock()
		defer c.tagsMu.Unlock()
		return apply(c.tags[arn], func(t []Tag) {
			if c.tags == nil {
				c.tags = map[string][]Tag{}
			}
			c.tags[arn] = t
		})
	}
	return invalidParameter(nil, "resourceArn %q names no taggable resource (cluster, service, task-definition, container-instance, task).", arn)
}
