// Package journal replicates a Stevedore control plane as a log of calls.
//
// A [stevedore.Client] is deterministic: given the same options (seed,
// region, account) and the same calls in the same order at the same
// times, it makes the same ARNs, revisions, tasks, services and events.
// So the state of a control plane is its log: every call that can change
// the state (its ECS operation, its request body, and the time the
// Client's clock stood at) and every tick of the simulated agents and the
// service scheduler. A [Machine] applies such [Entry] values to a Client
// one at a time; two Machines that apply the same entries hold the same
// state and answer each entry alike. `stevedore serve` keeps the log in a
// file (--state) or on etcd (--store, package etcdstore in its own
// module), where several replicas apply it in the same order.
package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/stevedore-go/stevedore"
	"github.com/stevedore-go/stevedore/ecsapi"
)

// TickOp is the operation of an entry that is a tick: a step of every
// cluster's capacity management, agents and service scheduler.
const TickOp = "tick"

// Entry is one state-changing call, or a tick.
type Entry struct {
	// T is the time of the call, in Unix nanoseconds. A Machine's clock
	// never goes back: an entry older than the one before it is applied
	// at that one's time.
	T int64 `json:"t"`
	// Op is the ECS operation, or TickOp.
	Op string `json:"op"`
	// Body is the request body as it came.
	Body []byte `json:"-"`
}

// wire is an Entry's JSON: a JSON body as it is (compacted), any other
// one as a string in "raw": the call failed the same way then, and does
// again.
type wire struct {
	// V is 2 for entries written since a body that is not JSON has a
	// field of its own ("raw"); 0 for the first format, which wrapped
	// such a body as {"__raw": "..."} in "body" (read as it was written).
	V    int             `json:"v,omitempty"`
	T    int64           `json:"t"`
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
	Raw  *string         `json:"raw,omitempty"`
}

// MarshalJSON writes the entry as one line of JSON.
func (e Entry) MarshalJSON() ([]byte, error) {
	w := wire{V: 2, T: e.T, Op: e.Op}
	if len(bytes.TrimSpace(e.Body)) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, e.Body); err == nil {
			w.Body = b.Bytes()
		} else {
			raw := string(e.Body)
			w.Raw = &raw
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // a body's < > & stay as they are
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// ErrEntry is wrapped by the errors of data that is not an entry.
var ErrEntry = errors.New("journal: not an entry")

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %v", ErrEntry, err)
	}
	if w.Op == "" {
		return fmt.Errorf("%w: op is empty", ErrEntry)
	}
	*e = Entry{T: w.T, Op: w.Op, Body: []byte(w.Body)}
	switch {
	case w.V >= 2:
		if w.Raw != nil {
			e.Body = []byte(*w.Raw)
		}
	default: // the first format
		var raw struct {
			Raw *string `json:"__raw"`
		}
		if len(w.Body) > 0 && json.Unmarshal(w.Body, &raw) == nil && raw.Raw != nil {
			e.Body = []byte(*raw.Raw)
		}
	}
	return nil
}

// readOnly are the operations that change nothing.
var readOnly = map[string]bool{
	"DescribeClusters": true, "ListClusters": true, "DescribeContainerInstances": true,
	"ListContainerInstances": true, "DescribeTaskDefinition": true, "ListTaskDefinitions": true,
	"DescribeTasks": true, "ListTasks": true, "DescribeServices": true, "ListServices": true,
	"ListAttributes": true, "ListTaskDefinitionFamilies": true, "ListTagsForResource": true,
	"GetTaskProtection": true, "DescribeCapacityProviders": true, "ListAccountSettings": true,
}

// ReadOnly reports whether the ECS operation op changes nothing, so that
// it need not be logged.
func ReadOnly(op string) bool { return readOnly[op] }

// neverReached are the error codes of requests the handler refuses before
// the Client sees them.
var neverReached = map[string]bool{
	"UnrecognizedClientException": true, "InvalidSignatureException": true,
	"SerializationException": true, "UnknownOperationException": true,
}

// Reached reports whether a call answered with the error type errorType
// (the X-Amzn-ErrorType header; "" for none) reached the Client, so that
// it must be logged.
func Reached(errorType string) bool { return !neverReached[errorType] }

// Step is one tick at now: for every cluster of c, capacity management,
// then the agents reporting RUNNING the tasks PENDING for startDelay,
// then a step of the service scheduler. It goes on past a cluster that
// fails and returns the errors joined.
func Step(ctx context.Context, c *stevedore.Client, now time.Time, startDelay time.Duration) error {
	var clusters []string
	for token := ""; ; {
		out, err := c.ListClusters(ctx, &stevedore.ListClustersInput{NextToken: token})
		if err != nil {
			return err
		}
		clusters = append(clusters, out.ClusterArns...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	var errs []error
	for _, cl := range clusters {
		if _, err := c.ManageCapacity(ctx, &stevedore.ManageCapacityInput{Cluster: cl}); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := c.Agents(ctx, cl, now, startDelay); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := c.Reconcile(ctx, &stevedore.ReconcileInput{Cluster: cl}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Options are what a Machine's Client is made with; every Machine of one
// log must be given the same. The Client's random source is
// PCG(Seed, Seed^0x5eed), as `stevedore serve --seed` makes it.
type Options struct {
	Seed              uint64
	Region, AccountID string
	StartDelay        time.Duration
	MaxBodyBytes      int64
}

// Machine applies entries to a Client it owns. It is not safe for
// concurrent use: its owner serialises Apply and reads of the Client.
type Machine struct {
	// Client is the state; read it between Applies.
	Client  *stevedore.Client
	clock   *stevedore.ManualClock
	handler *ecsapi.Handler
	opts    Options
	last    int64
	applied int
}

// New returns a Machine with an empty Client.
func New(opts Options) (*Machine, error) {
	clock := stevedore.NewManualClock(time.Unix(0, 0).UTC())
	c, err := stevedore.New(stevedore.Options{Region: opts.Region, AccountID: opts.AccountID, Clock: clock, Rand: rand.NewPCG(opts.Seed, opts.Seed^0x5eed)})
	if err != nil {
		return nil, err
	}
	return &Machine{Client: c, clock: clock, handler: ecsapi.NewHandler(c, ecsapi.Options{MaxBodyBytes: opts.MaxBodyBytes}), opts: opts}, nil
}

// Response is what a call answered.
type Response struct {
	Status int
	// ErrorType is ECS's error type, "" on success.
	ErrorType string
	Body      []byte
}

// Applied counts the entries the Machine has applied.
func (m *Machine) Applied() int { return m.applied }

// Apply applies e at its time (or the previous entry's, if later) and
// returns the call's response; a tick's is a 200 with an empty body, or
// its error. The call runs to its end whatever ctx does: an entry is
// never half applied.
func (m *Machine) Apply(ctx context.Context, e Entry) Response {
	ctx = context.WithoutCancel(ctx)
	m.last = max(m.last, e.T)
	m.clock.Set(time.Unix(0, m.last).UTC())
	m.applied++
	if e.Op == TickOp {
		if err := Step(ctx, m.Client, m.clock.Now(), m.opts.StartDelay); err != nil {
			return Response{Status: http.StatusInternalServerError, ErrorType: "ServerException", Body: []byte(err.Error())}
		}
		return Response{Status: http.StatusOK}
	}
	rec := httptest.NewRecorder()
	m.handler.Call(ctx, rec, e.Op, e.Body)
	return Response{Status: rec.Code, ErrorType: rec.Header().Get("X-Amzn-ErrorType"), Body: rec.Body.Bytes()}
}

// Read runs a read-only operation (see [ReadOnly]) on the Client as it
// stands, without counting it or moving the clock; any other operation is
// refused with a 400 InvalidParameterException, as it would change the
// state outside the log.
func (m *Machine) Read(ctx context.Context, op string, body []byte) Response {
	if !ReadOnly(op) {
		return Response{Status: http.StatusBadRequest, ErrorType: "InvalidParameterException", Body: []byte(`{"__type":"com.amazonaws.ecs#InvalidParameterException","message":"` + op + ` changes the state: apply it as an entry."}`)}
	}
	rec := httptest.NewRecorder()
	m.handler.Call(ctx, rec, op, body)
	return Response{Status: rec.Code, ErrorType: rec.Header().Get("X-Amzn-ErrorType"), Body: rec.Body.Bytes()}
}
