package taskdef

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func minimalTD(family string) TaskDefinition {
	return TaskDefinition{
		Family:               family,
		ContainerDefinitions: []ContainerDefinition{{Name: "app", Image: "nginx", Memory: 128}},
	}
}

func TestRegister(t *testing.T) {
	r := NewRegistry("us-east-1", "123456789012")
	in := validTD()
	in.CPU, in.Memory = "0.5 vCPU", "1GB"
	in.NetworkMode = NetworkModeBridge
	in.TaskRoleArn = "arn:aws:iam::123456789012:role/app"
	in.Revision = 99 // output-only input is ignored
	e, err := r.Register(in, t0)
	require.NoError(t, err)

	assert.Equal(t, "arn:aws:ecs:us-east-1:123456789012:task-definition/web-app_1:1", e.ARN())
	assert.Equal(t, "web-app_1", e.Family())
	assert.Equal(t, 1, e.Revision())
	assert.Equal(t, StatusActive, e.Status())
	assert.Equal(t, t0, e.RegisteredAt())
	assert.True(t, e.DeregisteredAt().IsZero())
	assert.Equal(t, NetworkModeBridge, e.NetworkMode())
	assert.Equal(t, Demand{CPU: 512, Memory: 1024, Ports: []uint16{8080}}, e.Demand())

	def := e.Definition()
	assert.Equal(t, "512", def.CPU)
	assert.Equal(t, "1024", def.Memory)
	assert.Equal(t, []Compatibility{CompatibilityEC2}, def.Compatibilities)
	assert.Equal(t, []Attribute{{Name: "com.amazonaws.ecs.capability.task-iam-role"}}, def.RequiresAttributes)

	// The registry deep-copied its input and hands out deep copies.
	in.ContainerDefinitions[0].PortMappings[0].HostPort = 1
	def.ContainerDefinitions[0].Name = "changed"
	again := e.Definition()
	assert.Equal(t, 8080, again.ContainerDefinitions[0].PortMappings[0].HostPort)
	assert.Equal(t, "web", again.ContainerDefinitions[0].Name)

	e2, err := r.Register(in, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, e2.Revision())
}

func TestRegisterCompatibilitiesAndAttributes(t *testing.T) {
	r := NewRegistry("eu-west-1", "1")
	td := minimalTD("f")
	td.NetworkMode = NetworkModeAwsvpc
	td.RequiresCompatibilities = []Compatibility{CompatibilityFargate, CompatibilityEC2}
	td.CPU, td.Memory = "256", "512"
	td.ContainerDefinitions[0].LogConfiguration = &LogConfiguration{LogDriver: "awslogs"}
	e, err := r.Register(td, t0)
	require.NoError(t, err)
	def := e.Definition()
	assert.Equal(t, []Compatibility{CompatibilityFargate, CompatibilityEC2}, def.Compatibilities)
	assert.Equal(t, []Attribute{
		{Name: "com.amazonaws.ecs.capability.logging-driver.awslogs"},
		{Name: "ecs.capability.task-eni"},
	}, def.RequiresAttributes)
	assert.Equal(t, NetworkModeAwsvpc, e.NetworkMode())
	assert.Empty(t, e.Demand().Ports)
}

func TestRegisterInvalidChangesNothing(t *testing.T) {
	r := NewRegistry("r", "a")
	td := minimalTD("f")
	td.ContainerDefinitions[0].Memory = 0
	_, err := r.Register(td, t0)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "containerDefinitions[0].memory", ve.Field)
	assert.Empty(t, r.Families("", StatusAll))

	e, err := r.Register(minimalTD("f"), t0)
	require.NoError(t, err)
	assert.Equal(t, 1, e.Revision(), "a failed registration must not use up a revision")
}

func TestRegisterRevisionLimit(t *testing.T) {
	r := NewRegistry("r", "a")
	r.maxRevisions = 3
	for range 3 {
		_, err := r.Register(minimalTD("f"), t0)
		require.NoError(t, err)
	}
	_, err := r.Deregister("f:1", t0)
	require.NoError(t, err)
	_, err = r.Register(minimalTD("f"), t0)
	var le *LimitExceededException
	require.ErrorAs(t, err, &le, "deregistered revisions count toward the limit")
	assert.Equal(t, &LimitExceededException{Family: "f", Limit: 3}, le)
	assert.Equal(t, 3, len(r.List("f", StatusAll, false)))
	_, err = r.Register(minimalTD("g"), t0)
	assert.NoError(t, err, "the limit is per family")
}

func TestResolve(t *testing.T) {
	r := NewRegistry("us-east-1", "123")
	for range 3 {
		_, err := r.Register(minimalTD("web"), t0)
		require.NoError(t, err)
	}
	_, err := r.Deregister("web:3", t0.Add(time.Hour))
	require.NoError(t, err)

	ok := []struct {
		ref    string
		rev    int
		status Status
	}{
		{"web", 2, StatusActive},
		{"web:1", 1, StatusActive},
		{"web:3", 3, StatusInactive},
		{"arn:aws:ecs:us-east-1:123:task-definition/web:3", 3, StatusInactive},
		{"web:03", 3, StatusInactive},
	}
	for _, tt := range ok {
		t.Run(tt.ref, func(t *testing.T) {
			e, err := r.Resolve(tt.ref)
			require.NoError(t, err)
			assert.Equal(t, tt.rev, e.Revision())
			assert.Equal(t, tt.status, e.Status())
		})
	}

	bad := []struct {
		ref    string
		want   error
		reason string
	}{
		{"db", ErrNotFound, ""},
		{"web:4", ErrNotFound, ""},
		{"arn:aws:ecs:eu-west-1:123:task-definition/web:1", ErrNotFound, ""},
		{"arn:aws:ecs:us-east-1:999:task-definition/web:1", ErrNotFound, ""},
		{"web:foo", ErrInvalidReference, "Invalid revision number. Number: foo"},
		{"web:0", ErrInvalidReference, "Invalid revision number. Number: 0"},
		{"web:-1", ErrInvalidReference, ""},
		{"web:+1", ErrInvalidReference, ""},
		{"web:", ErrInvalidReference, "Revision is missing."},
		{"", ErrInvalidReference, ""},
		{"we b", ErrInvalidReference, ""},
		{"arn:aws:ecs:us-east-1:123:service/web", ErrInvalidReference, ""},
		{"arn:aws:ecs:us-east-1:123:task-definition/web", ErrInvalidReference, "Revision is missing."},
		{"arn:aws", ErrInvalidReference, ""},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.ref, func(t *testing.T) {
			e, err := r.Resolve(tt.ref)
			assert.Nil(t, e)
			require.ErrorIs(t, err, tt.want)
			var re *ReferenceError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.ref, re.Ref)
			assert.Contains(t, re.Reason, tt.reason)
		})
	}
}

func TestDeregister(t *testing.T) {
	r := NewRegistry("r", "a")
	e1, err := r.Register(minimalTD("web"), t0)
	require.NoError(t, err)
	_, err = r.Register(minimalTD("web"), t0)
	require.NoError(t, err)

	_, err = r.Deregister("web", t0)
	require.ErrorIs(t, err, ErrInvalidReference, "a bare family is not enough")

	d, err := r.Deregister("arn:aws:ecs:r:a:task-definition/web:1", t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, StatusInactive, d.Status())
	assert.Equal(t, t0.Add(time.Hour), d.DeregisteredAt())
	assert.Equal(t, StatusInactive, d.Definition().Status)
	assert.Equal(t, e1.Demand(), d.Demand())
	// Copy-on-write: the old entry is unchanged.
	assert.Equal(t, StatusActive, e1.Status())
	assert.True(t, e1.DeregisteredAt().IsZero())

	// Deregistering an INACTIVE revision succeeds and changes nothing.
	again, err := r.Deregister("web:1", t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Same(t, d, again)

	_, err = r.Deregister("web:2", t0)
	require.NoError(t, err)
	_, err = r.Resolve("web")
	assert.ErrorIs(t, err, ErrNotFound, "no ACTIVE revision left")
	_, err = r.Deregister("web:9", t0)
	assert.ErrorIs(t, err, ErrNotFound)

	e3, err := r.Register(minimalTD("web"), t0)
	require.NoError(t, err)
	assert.Equal(t, 3, e3.Revision(), "revisions are never reused")
}

func TestListAndFamilies(t *testing.T) {
	r := NewRegistry("r", "a")
	for _, f := range []string{"web", "api", "web", "worker", "api", "web"} {
		_, err := r.Register(minimalTD(f), t0)
		require.NoError(t, err)
	}
	for _, ref := range []string{"web:2", "worker:1"} {
		_, err := r.Deregister(ref, t0)
		require.NoError(t, err)
	}
	arn := func(s string) string { return "arn:aws:ecs:r:a:task-definition/" + s }

	assert.Equal(t, []string{arn("api:1"), arn("api:2"), arn("web:1"), arn("web:3")}, r.List("", "", false))
	assert.Equal(t, []string{arn("web:3"), arn("web:1"), arn("api:2"), arn("api:1")}, r.List("", StatusActive, true))
	assert.Equal(t, []string{arn("web:2"), arn("worker:1")}, r.List("", StatusInactive, false))
	assert.Equal(t, []string{arn("web:1"), arn("web:2"), arn("web:3")}, r.List("web", StatusAll, false))
	assert.Empty(t, r.List("we", StatusAll, false), "familyPrefix is a full family name, as in ECS")
	assert.Empty(t, r.List("", "BOGUS", false))

	assert.Equal(t, []string{"api", "web", "worker"}, r.Families("", ""))
	assert.Equal(t, []string{"api", "web", "worker"}, r.Families("", StatusAll))
	assert.Equal(t, []string{"web", "worker"}, r.Families("w", StatusAll))
	assert.Equal(t, []string{"web"}, r.Families("w", StatusActive))
	assert.Equal(t, []string{"worker"}, r.Families("", StatusInactive))
}

func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry("r", "a")
	var wg sync.WaitGroup
	const writers, perWriter = 4, 50
	for range writers {
		wg.Go(func() {
			for i := range perWriter {
				e, err := r.Register(minimalTD("shared"), t0)
				if err != nil {
					t.Errorf("Register: %v", err)
					return
				}
				if i%3 == 0 {
					if _, err := r.Deregister(fmt.Sprintf("shared:%d", e.Revision()), t0); err != nil {
						t.Errorf("Deregister: %v", err)
					}
				}
			}
		})
		wg.Go(func() {
			for range perWriter {
				if e, err := r.Resolve("shared"); err == nil {
					_ = e.Definition()
					_ = e.Demand()
				}
				_ = r.List("shared", StatusAll, true)
				_ = r.Families("", "")
			}
		})
	}
	wg.Wait()
	assert.Len(t, r.List("shared", StatusAll, false), writers*perWriter)
}

// registryMachine checks the registry against a model: per family, the
// status of every revision ever assigned.
type registryMachine struct {
	r     *Registry
	model map[string][]Status
	now   time.Time
}

var familyGen = rapid.SampledFrom([]string{"web", "api", "db"})

func (m *registryMachine) RegisterTaskDefinition(t *rapid.T) {
	fam := familyGen.Draw(t, "family")
	m.now = m.now.Add(time.Second)
	e, err := m.r.Register(minimalTD(fam), m.now)
	if err != nil {
		t.Fatalf("Register(%s): %v", fam, err)
	}
	m.model[fam] = append(m.model[fam], StatusActive)
	if want := len(m.model[fam]); e.Revision() != want {
		t.Fatalf("Register(%s) gave revision %d, want %d", fam, e.Revision(), want)
	}
}

func (m *registryMachine) DeregisterTaskDefinition(t *rapid.T) {
	fam := familyGen.Draw(t, "family")
	revs := m.model[fam]
	if len(revs) == 0 {
		return // nothing to deregister in this family yet
	}
	rev := rapid.IntRange(1, len(revs)).Draw(t, "revision")
	m.now = m.now.Add(time.Second)
	e, err := m.r.Deregister(fmt.Sprintf("%s:%d", fam, rev), m.now)
	if err != nil {
		t.Fatalf("Deregister(%s:%d): %v", fam, rev, err)
	}
	revs[rev-1] = StatusInactive
	if e.Status() != StatusInactive || e.Revision() != rev {
		t.Fatalf("Deregister(%s:%d) gave %s revision %d", fam, rev, e.Status(), e.Revision())
	}
}

func (m *registryMachine) Check(t *rapid.T) {
	for _, fam := range []string{"web", "api", "db"} {
		revs := m.model[fam]
		latest := 0
		for i, s := range revs {
			if s == StatusActive {
				latest = i + 1
			}
		}
		e, err := m.r.Resolve(fam)
		switch {
		case latest == 0 && err == nil:
			t.Fatalf("Resolve(%s) = revision %d, want ErrNotFound", fam, e.Revision())
		case latest > 0 && err != nil:
			t.Fatalf("Resolve(%s): %v, want revision %d", fam, err, latest)
		case latest > 0 && e.Revision() != latest:
			t.Fatalf("Resolve(%s) = revision %d, want the highest ACTIVE %d", fam, e.Revision(), latest)
		}
		all := m.r.List(fam, StatusAll, false)
		if len(all) != len(revs) {
			t.Fatalf("List(%s, ALL) has %d revisions, want %d", fam, len(all), len(revs))
		}
		for i, s := range revs {
			want := fmt.Sprintf("arn:aws:ecs:r:a:task-definition/%s:%d", fam, i+1)
			if all[i] != want {
				t.Fatalf("List(%s)[%d] = %s, want %s", fam, i, all[i], want)
			}
			got, err := m.r.Resolve(want)
			if err != nil || got.Status() != s {
				t.Fatalf("Resolve(%s) = %v, %v; want status %s", want, got, err, s)
			}
		}
	}
}

func TestRegistryProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &registryMachine{r: NewRegistry("r", "a"), model: map[string][]Status{}, now: t0}
		t.Repeat(rapid.StateMachineActions(m))
	})
}
