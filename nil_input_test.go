package stevedore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A nil input is the zero input, as in aws-sdk-go-v2: no call panics.
func TestNilInputs(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	calls := map[string]func() error{
		"CreateCluster":    func() error { _, err := c.CreateCluster(ctx, nil); return err },
		"ListClusters":     func() error { _, err := c.ListClusters(ctx, nil); return err },
		"DescribeClusters": func() error { _, err := c.DescribeClusters(ctx, nil); return err },
		"RunTask":          func() error { _, err := c.RunTask(ctx, nil); return err },
		"StartTask":        func() error { _, err := c.StartTask(ctx, nil); return err },
		"StopTask":         func() error { _, err := c.StopTask(ctx, nil); return err },
		"UpdateService":    func() error { _, err := c.UpdateService(ctx, nil); return err },
		"CreateService":    func() error { _, err := c.CreateService(ctx, nil); return err },
		"Reconcile":        func() error { _, err := c.Reconcile(ctx, nil); return err },
		"RegisterTaskDefinition": func() error {
			_, err := c.RegisterTaskDefinition(ctx, nil)
			return err
		},
		"DescribeTaskDefinition": func() error {
			_, err := c.DescribeTaskDefinition(ctx, nil)
			return err
		},
		"RegisterContainerInstance": func() error {
			_, err := c.RegisterContainerInstance(ctx, nil)
			return err
		},
	}
	for name, call := range calls {
		assert.NotPanics(t, func() { _ = call() }, name)
	}
}
