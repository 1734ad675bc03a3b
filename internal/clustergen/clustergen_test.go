package clustergen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/clustergen"
)

// TestClusterIsConsistent: every generated cluster keeps the accounting
// invariant (remaining = registered - demands of the non-stopped tasks),
// has no task on an INACTIVE instance, and its instances carry the
// documented attributes.
func TestClusterIsConsistent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := clustergen.Cluster().Draw(t, "cluster")
		c.Read(func(v *cluster.View) {
			for in := range v.Instances() {
				var cpu, mem int64
				gpus := 0
				for task := range v.InstanceTasks(in) {
					require.NotEqual(t, cluster.TaskStopped, task.LastStatus())
					cpu += task.Demand().CPU()
					mem += task.Demand().Memory()
					gpus += task.Demand().GPUs()
				}
				require.Equal(t, in.RegisteredCPU()-cpu, in.RemainingCPU(), "remaining CPU of %s", in.ID())
				require.Equal(t, in.RegisteredMemory()-mem, in.RemainingMemory(), "remaining memory of %s", in.ID())
				require.Equal(t, len(in.Info().RegisteredGPUs)-gpus, in.FreeGPUs(), "free GPUs of %s", in.ID())
				if in.Status() == cluster.InstanceInactive {
					require.Zero(t, in.TaskCount(), "tasks on INACTIVE %s", in.ID())
				}
				_, ok := in.Attribute(clustergen.AttrInstanceType)
				require.True(t, ok, "%s has no instance type", in.ID())
				_, ok = in.Attribute(clustergen.AttrMissing)
				require.False(t, ok, "%s has the missing attribute", in.ID())
			}
		})
	})
}

// TestRequestIsValid: every generated request passes Validate.
func TestRequestIsValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		req := clustergen.Request().Draw(t, "request")
		require.NoError(t, req.Validate())
		require.Contains(t, clustergen.Groups(), req.Spec.Group)
	})
}

// TestClusterCoversTheCases: over many draws, the generator produces every
// kind of instance and task the placement properties rely on.
func TestClusterCoversTheCases(t *testing.T) {
	seen := map[string]bool{}
	rapid.Check(t, func(t *rapid.T) {
		c := clustergen.Cluster().Draw(t, "cluster")
		c.Read(func(v *cluster.View) {
			for in := range v.Instances() {
				seen["instance "+in.Status().String()] = true
				if !in.AgentConnected() && in.Status() != cluster.InstanceInactive {
					seen["agent disconnected"] = true
				}
				if _, ok := in.Attribute(clustergen.AttrAZ); !ok {
					seen["no AZ"] = true
				}
				if _, ok := in.Attribute(clustergen.AttrRack); !ok {
					seen["no rack"] = true
				}
				if in.FreeGPUs() > 0 {
					seen["GPUs"] = true
				}
			}
			for task := range v.Tasks() {
				seen["task "+task.LastStatus().String()] = true
			}
		})
	})
	for _, want := range []string{
		"instance ACTIVE", "instance DRAINING", "instance INACTIVE", "agent disconnected",
		"no AZ", "no rack", "GPUs", "task PENDING", "task RUNNING", "task STOPPED",
	} {
		assert.True(t, seen[want], "no generated cluster had %s", want)
	}
}
