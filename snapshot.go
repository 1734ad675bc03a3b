package stevedore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-go/stevedore/taskdef"
)

// Snapshot is a real cluster as the AWS CLI describes it: the output of
// `aws ecs describe-clusters`, `describe-container-instances` (pages of
// 100), `describe-tasks` (pages of 100), `describe-services` (pages of 10)
// and `describe-task-definition`, verbatim. [ReadSnapshot] reads a
// directory of such files; [Import] makes a Client of it.
//
// Decoding is lenient where ECS's output is wide: every member ECS prints
// is accepted, and those Stevedore does not model are counted in
// Unmodelled (a member whose value is null, empty, false or zero is not
// counted), never an error.
type Snapshot struct {
	Clusters           []SnapshotCluster
	ContainerInstances []SnapshotContainerInstance
	Tasks              []SnapshotTask
	Services           []SnapshotService
	TaskDefinitions    []taskdef.TaskDefinition
	// Unmodelled counts the members ECS printed that Stevedore does not
	// model, by path: "tasks[].attachments": 12.
	Unmodelled map[string]int
}

// Timestamp is a time as the AWS CLI prints it: seconds since the epoch as
// a JSON number (what the SDKs send, and what AWS CLI v1 prints) or an ISO
// 8601 string (AWS CLI v2: "2026-11-30T09:00:00.123000+00:00").
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch {
	case s == "null":
		return nil
	case strings.HasPrefix(s, `"`):
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", str, err)
		}
		t.Time = at.UTC()
		return nil
	}
	at, err := epochSeconds(s)
	if err != nil {
		return err
	}
	t.Time = at
	return nil
}

// MarshalJSON implements json.Marshaler: epoch seconds, as the SDKs send.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(formatEpoch(t.Time)), nil
}

// epochSeconds parses a JSON number of seconds since the epoch exactly
// (to the nanosecond), without going through a float.
func epochSeconds(s string) (time.Time, error) {
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 9 || strings.ContainsAny(frac, "eE+-") || (frac == "" && strings.Contains(s, ".")) {
		f, ferr := strconv.ParseFloat(s, 64) // 1.7e9 and the like
		if ferr != nil || f != f || f > 1e15 || f < -1e15 {
			return time.Time{}, fmt.Errorf("timestamp %s is not a number of seconds", s)
		}
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	if sec > 1e15 || sec < -1e15 {
		return time.Time{}, fmt.Errorf("timestamp %s is out of range", s)
	}
	var ns int64
	if frac != "" {
		ns, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err != nil || ns < 0 {
			return time.Time{}, fmt.Errorf("timestamp %s is not a number of seconds", s)
		}
		if neg {
			ns = -ns
		}
	}
	return time.Unix(sec, ns).UTC(), nil
}

func formatEpoch(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}

// SnapshotCluster is a cluster of describe-clusters.
type SnapshotCluster struct {
	ClusterArn                        string `json:"clusterArn"`
	ClusterName                       string `json:"clusterName"`
	Status                            string `json:"status"`
	RegisteredContainerInstancesCount int    `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int    `json:"runningTasksCount"`
	PendingTasksCount                 int    `json:"pendingTasksCount"`
	ActiveServicesCount               int    `json:"activeServicesCount"`
	Tags                              []Tag  `json:"tags"`
	// Statistics are printed with include STATISTICS; they are not
	// modelled (the Client counts its own).
	Statistics json.RawMessage `json:"statistics"`
}

// SnapshotContainerInstance is a container instance of
// describe-container-instances.
type SnapshotContainerInstance struct {
	ContainerInstanceArn string      `json:"containerInstanceArn"`
	Ec2InstanceId        string      `json:"ec2InstanceId"`
	Version              int64       `json:"version"`
	VersionInfo          VersionInfo `json:"versionInfo"`
	RemainingResources   []Resource  `json:"remainingResources"`
	RegisteredResources  []Resource  `json:"registeredResources"`
	Status               string      `json:"status"`
	StatusReason         string      `json:"statusReason"`
	AgentConnected       bool        `json:"agentConnected"`
	RunningTasksCount    int         `json:"runningTasksCount"`
	PendingTasksCount    int         `json:"pendingTasksCount"`
	Attributes           []Attribute `json:"attributes"`
	RegisteredAt         Timestamp   `json:"registeredAt"`
	Tags                 []Tag       `json:"tags"`
}

// SnapshotTask is a task of describe-tasks.
type SnapshotTask struct {
	TaskArn              string              `json:"taskArn"`
	ClusterArn           string              `json:"clusterArn"`
	TaskDefinitionArn    string              `json:"taskDefinitionArn"`
	ContainerInstanceArn string              `json:"containerInstanceArn"`
	LastStatus           string              `json:"lastStatus"`
	DesiredStatus        string              `json:"desiredStatus"`
	Cpu                  string              `json:"cpu"`
	Memory               string              `json:"memory"`
	Group                string              `json:"group"`
	StartedBy            string              `json:"startedBy"`
	LaunchType           string              `json:"launchType"`
	Version              int64               `json:"version"`
	AvailabilityZone     string              `json:"availabilityZone"`
	Containers           []SnapshotContainer `json:"containers"`
	// GpuIds is where Stevedore's own DescribeTasks puts a task's GPUs;
	// ECS lists them on the containers.
	GpuIds        []string  `json:"gpuIds"`
	CreatedAt     Timestamp `json:"createdAt"`
	StartedAt     Timestamp `json:"startedAt"`
	StoppingAt    Timestamp `json:"stoppingAt"`
	StoppedAt     Timestamp `json:"stoppedAt"`
	StoppedReason string    `json:"stoppedReason"`
	StopCode      string    `json:"stopCode"`
	Tags          []Tag     `json:"tags"`
	// Overrides are the task's overrides; those that change the task
	// definition are kept on the imported task.
	Overrides *TaskOverride `json:"overrides"`
	// Timestamps of the task's life that the model does not keep.
	PullStartedAt      Timestamp `json:"pullStartedAt"`
	PullStoppedAt      Timestamp `json:"pullStoppedAt"`
	ConnectivityAt     Timestamp `json:"connectivityAt"`
	ExecutionStoppedAt Timestamp `json:"executionStoppedAt"`
}

// SnapshotContainer is a container of a described task.
type SnapshotContainer struct {
	ContainerArn      string           `json:"containerArn"`
	TaskArn           string           `json:"taskArn"`
	Name              string           `json:"name"`
	Image             string           `json:"image"`
	LastStatus        string           `json:"lastStatus"`
	NetworkBindings   []NetworkBinding `json:"networkBindings"`
	GpuIds            []string         `json:"gpuIds"`
	Cpu               string           `json:"cpu"`
	Memory            string           `json:"memory"`
	MemoryReservation string           `json:"memoryReservation"`
}

// NetworkBinding is a host port a container of a task is bound to.
type NetworkBinding struct {
	BindIP        string `json:"bindIP,omitempty"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol,omitempty"`
}

// SnapshotService is a service of describe-services.
type SnapshotService struct {
	ServiceArn              string                  `json:"serviceArn"`
	ServiceName             string                  `json:"serviceName"`
	ClusterArn              string                  `json:"clusterArn"`
	LoadBalancers           []LoadBalancer          `json:"loadBalancers"`
	Status                  string                  `json:"status"`
	DesiredCount            int                     `json:"desiredCount"`
	RunningCount            int                     `json:"runningCount"`
	PendingCount            int                     `json:"pendingCount"`
	LaunchType              string                  `json:"launchType"`
	TaskDefinition          string                  `json:"taskDefinition"`
	DeploymentConfiguration DeploymentConfiguration `json:"deploymentConfiguration"`
	Deployments             []SnapshotDeployment    `json:"deployments"`
	RoleArn                 string                  `json:"roleArn"`
	Events                  []SnapshotEvent         `json:"events"`
	CreatedAt               Timestamp               `json:"createdAt"`
	PlacementConstraints    []PlacementConstraint   `json:"placementConstraints"`
	PlacementStrategy       []PlacementStrategy     `json:"placementStrategy"`
	SchedulingStrategy      string                  `json:"schedulingStrategy"`
	// AvailabilityZoneRebalancing is ENABLED or DISABLED (absent: DISABLED,
	// as ECS treats a service that never had it set).
	AvailabilityZoneRebalancing   string                `json:"availabilityZoneRebalancing,omitempty"`
	NetworkConfiguration          *NetworkConfiguration `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds int                   `json:"healthCheckGracePeriodSeconds"`
	DeploymentController          *struct {
		Type string `json:"type"`
	} `json:"deploymentController"`
	Tags []Tag `json:"tags"`
}

// SnapshotDeployment is a deployment of a described service.
type SnapshotDeployment struct {
	Id                 string    `json:"id"`
	Status             string    `json:"status"`
	TaskDefinition     string    `json:"taskDefinition"`
	DesiredCount       int       `json:"desiredCount"`
	PendingCount       int       `json:"pendingCount"`
	RunningCount       int       `json:"runningCount"`
	FailedTasks        int       `json:"failedTasks"`
	CreatedAt          Timestamp `json:"createdAt"`
	UpdatedAt          Timestamp `json:"updatedAt"`
	LaunchType         string    `json:"launchType"`
	RolloutState       string    `json:"rolloutState"`
	RolloutStateReason string    `json:"rolloutStateReason"`
}

// SnapshotEvent is an event of a described service.
type SnapshotEvent struct {
	Id        string    `json:"id"`
	CreatedAt Timestamp `json:"createdAt"`
	Message   string    `json:"message"`
}

// SnapshotError is a snapshot file that cannot be read: its name and what
// is wrong, naming the member.
type SnapshotError struct {
	File string
	Err  error
}

// Error implements error.
func (e *SnapshotError) Error() string { return "snapshot " + e.File + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SnapshotError) Unwrap() error { return e.Err }

// ReadSnapshot reads every *.json file under the root of fsys (say
// os.DirFS(dir)), in name order, with [Snapshot.Add].
func ReadSnapshot(fsys fs.FS) (*Snapshot, error) {
	s := &Snapshot{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return s.Add(p, data)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Add decodes one describe-* output (its kind is told by its top-level
// member: clusters, containerInstances, tasks, services or taskDefinition)
// and adds what it describes. name names it in errors. A document of
// another kind, or JSON that is not such an output, is a
// [*SnapshotError]; on error s is unchanged.
func (s *Snapshot) Add(name string, data []byte) error {
	fail := func(format string, args ...any) error {
		return &SnapshotError{File: name, Err: fmt.Errorf(format, args...)}
	}
	if !json.Valid(data) {
		var v any
		return fail("not JSON: %v", json.Unmarshal(data, &v))
	}
	if i := skipSpace(data, 0); i >= len(data) || data[i] != '{' {
		return fail("not a JSON object")
	}
	top := map[string]json.RawMessage{}
	eachMember(data, func(k string, v []byte) { top[k] = v })
	unmodelled := map[string]int{}
	// decode decodes the items of top[key] into a new slice at into; s is
	// written only once every item decoded.
	decode := func(key string, into any) error {
		var items [][]byte
		if v := top[key]; len(v) == 0 || v[0] != '[' {
			return fail("%s: not an array", key)
		}
		eachElement(top[key], func(v []byte) { items = append(items, v) })
		slice := reflect.ValueOf(into).Elem()
		slice.Set(reflect.MakeSlice(slice.Type(), len(items), len(items)))
		elem := slice.Type().Elem()
		for i, raw := range items {
			if err := json.Unmarshal(raw, slice.Index(i).Addr().Interface()); err != nil {
				return fail("%s[%d]: %v", key, i, err)
			}
			countUnmodelled(raw, elem, key+"[]", unmodelled)
		}
		return nil
	}
	var (
		clusters  []SnapshotCluster
		instances []SnapshotContainerInstance
		tasks     []SnapshotTask
		services  []SnapshotService
		td        taskdef.TaskDefinition
		isTD      bool
		err       error
	)
	switch {
	case top["taskDefinition"] != nil:
		var unknown []string
		td, unknown, err = decodeDescribedTaskDefinition(data)
		if err != nil {
			return fail("%v", err)
		}
		for _, p := range unknown {
			unmodelled["taskDefinition."+p]++
		}
		isTD = true
	case top["containerInstances"] != nil:
		err = decode("containerInstances", &instances)
	case top["tasks"] != nil:
		err = decode("tasks", &tasks)
	case top["services"] != nil:
		err = decode("services", &services)
	case top["clusters"] != nil:
		err = decode("clusters", &clusters)
	default:
		return fail("not the output of aws ecs describe-clusters, describe-container-instances, describe-tasks, describe-services or describe-task-definition")
	}
	if err != nil {
		return err
	}
	s.Clusters = append(s.Clusters, clusters...)
	s.ContainerInstances = append(s.ContainerInstances, instances...)
	s.Tasks = append(s.Tasks, tasks...)
	s.Services = append(s.Services, services...)
	if isTD {
		s.TaskDefinitions = append(s.TaskDefinitions, td)
	}
	if len(unmodelled) > 0 && s.Unmodelled == nil {
		s.Unmodelled = map[string]int{}
	}
	for k, n := range unmodelled {
		s.Unmodelled[k] += n
	}
	return nil
}

// modelledNested are the nested members whose own members are checked too.
var modelledNested = map[string]reflect.Type{
	"containers":  reflect.TypeFor[SnapshotContainer](),
	"deployments": reflect.TypeFor[SnapshotDeployment](),
}

// countUnmodelled counts the members of the object raw that t does not
// have, or that t keeps only to say they are not modelled, by path.
func countUnmodelled(raw json.RawMessage, t reflect.Type, at string, counts map[string]int) {
	known := jsonNamesOf(t)
	eachMember(raw, func(k string, v []byte) {
		if nt, ok := modelledNested[k]; ok && known[k] {
			eachElement(v, func(item []byte) { countUnmodelled(item, nt, at+"."+k+"[]", counts) })
			return
		}
		if (known[k] && !unmodelledMembers[k]) || emptyJSON(v) {
			return
		}
		counts[at+"."+k]++
	})
}

// namesCache keeps jsonNames of the snapshot types.
var namesCache sync.Map // reflect.Type → map[string]bool

func jsonNamesOf(t reflect.Type) map[string]bool {
	if m, ok := namesCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m, _ := namesCache.LoadOrStore(t, jsonNames(t))
	return m.(map[string]bool)
}

// eachMember calls fn with each member of the JSON object raw, which is
// valid JSON (json.Unmarshal accepted it), in one pass and without
// decoding the values. It does nothing when raw is not an object.
func eachMember(raw []byte, fn func(key string, value []byte)) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != '"' {
			return
		}
		end := skipValue(raw, i)
		key := string(raw[i+1 : end-1])
		if strings.IndexByte(key, '\\') >= 0 {
			_ = json.Unmarshal(raw[i:end], &key)
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return
		}
		start := skipSpace(raw, i+1)
		end = skipValue(raw, start)
		fn(key, raw[start:end])
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ',' {
			return
		}
		i++
	}
}

// eachElement calls fn with each element of the JSON array raw (valid
// JSON); it does nothing when raw is not an array.
func eachElement(raw []byte, fn func(value []byte)) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return
	}
	for i < len(raw) {
		start := skipSpace(raw, i)
		end := skipValue(raw, start)
		fn(raw[start:end])
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// unmodelledMembers are members the snapshot types decode (to read them
// or to say so) but the model does not act on.
var unmodelledMembers = map[string]bool{
	"statistics": true, "statusReason": true, "pullStartedAt": true, "pullStoppedAt": true,
	"connectivityAt": true, "executionStoppedAt": true, "image": true, "containerArn": true,
	"taskArn": false, "memoryReservation": true,
}

// emptyJSON reports whether a member's value says nothing: null, "", false,
// 0, [] or {}.
func emptyJSON(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "null", `""`, "false", "0", "[]", "{}":
		return true
	}
	return false
}

// decodeDescribedTaskDefinition is taskdef.DecodeDescribed with
// registeredAt and deregisteredAt accepted as epoch seconds too.
func decodeDescribedTaskDefinition(data []byte) (taskdef.TaskDefinition, []string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return taskdef.TaskDefinition{}, nil, err
	}
	var td map[string]json.RawMessage
	if err := json.Unmarshal(top["taskDefinition"], &td); err == nil && td != nil {
		changed := false
		for _, k := range []string{"registeredAt", "deregisteredAt"} {
			if v, ok := td[k]; ok && !bytes.HasPrefix(bytes.TrimSpace(v), []byte(`"`)) {
				var ts Timestamp
				if err := ts.UnmarshalJSON(v); err != nil {
					return taskdef.TaskDefinition{}, nil, fmt.Errorf("taskDefinition.%s: %v", k, err)
				}
				if ts.IsZero() {
					delete(td, k)
				} else {
					td[k], _ = json.Marshal(ts.Format(time.RFC3339Nano))
				}
				changed = true
			}
		}
		if changed {
			top["taskDefinition"], _ = json.Marshal(td)
			data, _ = json.Marshal(top)
		}
	}
	return taskdef.DecodeDescribedLenient(data)
}

// Files returns the snapshot as the AWS CLI's describe-* output, one JSON
// document per file name, in the pages ECS gives: describe-clusters.json,
// describe-container-instances-<cluster>-<page>.json and
// describe-tasks-<cluster>-<page>.json (100 a page),
// describe-services-<cluster>-<page>.json (10 a page) and
// describe-task-definition-<family>-<revision>.json. Times are epoch
// seconds, as the SDKs send them. [ReadSnapshot] reads them back.
func (s *Snapshot) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	put := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		files[name] = append(b, '\n')
		return nil
	}
	type failures struct{}
	if len(s.Clusters) > 0 {
		if err := put("describe-clusters.json", map[string]any{"clusters": s.Clusters, "failures": []failures{}}); err != nil {
			return nil, err
		}
	}
	clusterOf := func(arn string) string {
		_, _, res, _ := arnParts(arn)
		parts := strings.Split(res, "/")
		if len(parts) == 3 {
			return parts[1]
		}
		return "all"
	}
	pages := func(kind string, n, size int, clusterAt func(i int) string, item func(i int) any) error {
		byCluster := map[string][]any{}
		var order []string
		for i := range n {
			name := clusterAt(i)
			if _, ok := byCluster[name]; !ok {
				order = append(order, name)
			}
			byCluster[name] = append(byCluster[name], item(i))
		}
		for _, name := range order {
			items := byCluster[name]
			for p := 0; p*size < len(items); p++ {
				page := items[p*size : min(len(items), (p+1)*size)]
				key := map[string]string{"container-instances": "containerInstances", "tasks": "tasks", "services": "services"}[kind]
				if err := put(fmt.Sprintf("describe-%s-%s-%03d.json", kind, name, p+1), map[string]any{key: page, "failures": []failures{}}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := pages("container-instances", len(s.ContainerInstances), 100, func(i int) string { return clusterOf(s.ContainerInstances[i].ContainerInstanceArn) }, func(i int) any { return s.ContainerInstances[i] }); err != nil {
		return nil, err
	}
	if err := pages("tasks", len(s.Tasks), 100, func(i int) string { return lastPart(s.Tasks[i].ClusterArn) }, func(i int) any { return s.Tasks[i] }); err != nil {
		return nil, err
	}
	if err := pages("services", len(s.Services), 10, func(i int) string { return lastPart(s.Services[i].ClusterArn) }, func(i int) any { return s.Services[i] }); err != nil {
		return nil, err
	}
	for _, td := range s.TaskDefinitions {
		tags := td.Tags
		td.Tags = nil
		if tags == nil {
			tags = []Tag{}
		}
		if err := put(fmt.Sprintf("describe-task-definition-%s-%d.json", td.Family, td.Revision), map[string]any{"taskDefinition": td, "tags": tags}); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Time is the newest time the snapshot tells (a registration, a task's
// creation, start or stop, a deployment's update, a service event): near
// when it was taken. A simulation of it starts its clock there, so that
// the STOPPED tasks it holds are as old as they were. Zero if it tells
// none.
func (s *Snapshot) Time() time.Time {
	var at time.Time
	see := func(ts ...Timestamp) {
		for _, t := range ts {
			if t.After(at) {
				at = t.Time
			}
		}
	}
	for _, in := range s.ContainerInstances {
		see(in.RegisteredAt)
	}
	for _, t := range s.Tasks {
		see(t.CreatedAt, t.StartedAt, t.StoppingAt, t.StoppedAt)
	}
	for _, sv := range s.Services {
		see(sv.CreatedAt)
		for _, d := range sv.Deployments {
			see(d.CreatedAt, d.UpdatedAt)
		}
		for _, e := range sv.Events {
			see(e.CreatedAt)
		}
	}
	return at
}
