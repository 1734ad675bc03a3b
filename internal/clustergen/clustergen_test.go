package clustergen_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/stevedore-go/stevedore/cluster"
	"github.com/stevedore-go/stevedore/internal/clustergen"
	"github.com/stevedore-go/stevedore/placement"
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

// TestWorldTranscript: a World's transcript registers its instances in
// order, under the EC2 instance ids EC2InstanceID gives, and commits its
// tasks; rapid prints it as the World's GoString.
func TestWorldTranscript(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := clustergen.Cluster().Draw(t, "cluster")
		var registered, committed int
		for _, line := range w.Transcript() {
			switch {
			case strings.HasPrefix(line, "RegisterInstance "+clustergen.EC2InstanceID(registered)+" "):
				registered++
			case strings.HasPrefix(line, "Commit "):
				committed++
			}
		}
		require.Len(t, w.InstanceIDs, registered)
		require.Len(t, w.TaskIDs, committed)
		w.Read(func(v *cluster.View) {
			require.Equal(t, len(w.InstanceIDs), v.NumSlots())
			for i, id := range w.InstanceIDs {
				require.Equal(t, clustergen.EC2InstanceID(i), v.InstanceAt(i).EC2InstanceID())
				require.Equal(t, id, v.InstanceAt(i).ID())
			}
		})
		for _, line := range w.Transcript() {
			require.Contains(t, w.GoString(), line)
		}
	})
}

func TestDescribe(t *testing.T) {
	d, err := cluster.NewDemand(256, 512, []uint16{80}, []uint16{53}, 1, clustergen.AttrTaskENI)
	require.NoError(t, err)
	req := &placement.Request{
		Spec: &cluster.TaskSpec{Demand: d, Group: "service:api"},
		Strategies: []placement.Strategy{
			placement.MustParseStrategy("spread", "attribute:"+clustergen.AttrAZ),
			placement.MustParseStrategy("binpack", "memory"),
		},
		Constraints: placement.Constraints{
			placement.MustParseConstraint("distinctInstance", ""),
			placement.MustParseConstraint("memberOf", "attribute:rack != r1"),
		},
	}
	assert.Equal(t, "service:api cpu=256 memory=512 ports=[80] udp=[53] gpus=1 requires=[ecs.capability.task-eni]"+
		" strategies [spread(attribute:ecs.availability-zone), binpack(memory)]"+
		" constraints [distinctInstance, memberOf attribute:rack != r1]", clustergen.Describe(req))
}
