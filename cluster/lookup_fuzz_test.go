package cluster_test

import (
	"strings"
	"testing"

	"github.com/stevedore-go/stevedore/cluster"
)

// FuzzTaskRef: looking a task up by any string never panics, and finds a
// task only by its id or its ARN.
func FuzzTaskRef(f *testing.F) {
	c := cluster.New("fuzz", cluster.Options{})
	in, err := c.RegisterInstance(cluster.InstanceSpec{CPU: 1 << 20, Memory: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	d, err := cluster.NewDemand(1, 1, nil, nil, 0)
	if err != nil {
		f.Fatal(err)
	}
	spec := &cluster.TaskSpec{Family: "web", Group: "family:web", Demand: d}
	infos, err := c.Commit([]cluster.Placement{{InstanceID: in.ID, Spec: spec}, {InstanceID: in.ID, Spec: spec}, {InstanceID: in.ID, Spec: spec}})
	if err != nil {
		f.Fatal(err)
	}
	for _, info := range infos {
		f.Add(info.ID)
		f.Add(info.ARN)
		f.Add(strings.ToUpper(info.ID))
		f.Add(info.ID[:16] + "ffffffffffffffff")
	}
	f.Add("")
	f.Add("/")
	f.Add("ffffffffffffffffffffffffffffffff")
	f.Fuzz(func(t *testing.T, ref string) {
		c.Read(func(v *cluster.View) {
			task, ok := v.Task(ref)
			if !ok {
				return
			}
			if ref != task.ID() && ref != task.ARN() {
				t.Fatalf("%q found task %s", ref, task.ARN())
			}
		})
		if _, err := c.StopTask(ref+"x", "", cluster.StopUserInitiated); err == nil {
			t.Fatalf("StopTask(%q) found a task", ref+"x")
		}
	})
}
