package ecsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stevedore-go/stevedore"
)

// TargetPrefix is what X-Amz-Target names an ECS operation with:
// TargetPrefix + "." + the operation's name.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// DefaultMaxBodyBytes is the largest request body a Handler reads when
// [Options.MaxBodyBytes] is 0: 1 MiB (a task definition is at most 64 KiB).
const DefaultMaxBodyBytes = 1 << 20

// Options configures a [Handler]. The zero value serves every request
// without authentication.
type Options struct {
	// Credentials maps access key ids to their secret keys. When it is not
	// empty, every request must carry a valid SigV4 signature by one of
	// them (see the package documentation); when it is empty, none is
	// checked, as local ECS emulators do.
	Credentials map[string]string
	// Region, when set, is the only region a signature's scope may name;
	// empty accepts any.
	Region string
	// Clock gives the time signatures are checked against; nil means
	// time.Now. Tests pass a fixed clock.
	Clock func() time.Time
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Handler serves a [stevedore.Client] over ECS's JSON 1.1 protocol. Build
// it with [NewHandler].
type Handler struct {
	client   *stevedore.Client
	opts     Options
	requests atomic.Uint64 // numbers the request ids
}

// NewHandler returns a Handler serving c.
func NewHandler(c *stevedore.Client, opts Options) *Handler {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Handler{client: c, opts: opts}
}

// operation is one ECS operation: it decodes its input from the body and
// calls the Client.
type operation func(ctx context.Context, c *stevedore.Client, body []byte) (any, error)

// op adapts a Client method to an operation.
func op[In, Out any](method func(*stevedore.Client, context.Context, *In) (*Out, error)) operation {
	return func(ctx context.Context, c *stevedore.Client, body []byte) (any, error) {
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		return method(c, ctx, in)
	}
}

// operations are the ECS operations the Handler serves, by name.
var operations = map[string]operation{
	"CreateCluster":                 op((*stevedore.Client).CreateCluster),
	"DescribeClusters":              op((*stevedore.Client).DescribeClusters),
	"ListClusters":                  op((*stevedore.Client).ListClusters),
	"DeleteCluster":                 op((*stevedore.Client).DeleteCluster),
	"RegisterContainerInstance":     op((*stevedore.Client).RegisterContainerInstance),
	"DescribeContainerInstances":    op((*stevedore.Client).DescribeContainerInstances),
	"ListContainerInstances":        op((*stevedore.Client).ListContainerInstances),
	"DeregisterContainerInstance":   op((*stevedore.Client).DeregisterContainerInstance),
	"UpdateContainerInstancesState": op((*stevedore.Client).UpdateContainerInstancesState),
	"PutAttributes":                 op((*stevedore.Client).PutAttributes),
	"DeleteAttributes":              op((*stevedore.Client).DeleteAttributes),
	"RegisterTaskDefinition":        op((*stevedore.Client).RegisterTaskDefinition),
	"DescribeTaskDefinition":        op((*stevedore.Client).DescribeTaskDefinition),
	"ListTaskDefinitions":           op((*stevedore.Client).ListTaskDefinitions),
	"DeregisterTaskDefinition":      op((*stevedore.Client).DeregisterTaskDefinition),
	"RunTask":                       op((*stevedore.Client).RunTask),
	"StartTask":                     op((*stevedore.Client).StartTask),
	"DescribeTasks":                 op((*stevedore.Client).DescribeTasks),
	"ListTasks":                     op((*stevedore.Client).ListTasks),
	"StopTask":                      op((*stevedore.Client).StopTask),
	"SubmitTaskStateChange":         op((*stevedore.Client).SubmitTaskStateChange),
	"CreateService":                 op((*stevedore.Client).CreateService),
	"UpdateService":                 op((*stevedore.Client).UpdateService),
	"DeleteService":                 op((*stevedore.Client).DeleteService),
	"DescribeServices":              op((*stevedore.Client).DescribeServices),
	"ListServices":                  op((*stevedore.Client).ListServices),
	"ListAttributes":                op((*stevedore.Client).ListAttributes),
	"ListTaskDefinitionFamilies":    op((*stevedore.Client).ListTaskDefinitionFamilies),
	"DeleteTaskDefinitions":         op((*stevedore.Client).DeleteTaskDefinitions),
	"TagResource":                   op((*stevedore.Client).TagResource),
	"UntagResource":                 op((*stevedore.Client).UntagResource),
	"ListTagsForResource":           op((*stevedore.Client).ListTagsForResource),
	"UpdateTaskProtection":          op((*stevedore.Client).UpdateTaskProtection),
	"GetTaskProtection":             op((*stevedore.Client).GetTaskProtection),
	"CreateCapacityProvider":        op((*stevedore.Client).CreateCapacityProvider),
	"UpdateCapacityProvider":        op((*stevedore.Client).UpdateCapacityProvider),
	"DeleteCapacityProvider":        op((*stevedore.Client).DeleteCapacityProvider),
	"DescribeCapacityProviders":     op((*stevedore.Client).DescribeCapacityProviders),
	"PutClusterCapacityProviders":   op((*stevedore.Client).PutClusterCapacityProviders),
	"PutAccountSetting":             op((*stevedore.Client).PutAccountSetting),
	"PutAccountSettingDefault":      op((*stevedore.Client).PutAccountSettingDefault),
	"ListAccountSettings":           op((*stevedore.Client).ListAccountSettings),
}

// Operations returns the names of the operations a Handler serves, sorted.
func Operations() []string {
	names := make([]string, 0, len(operations))
	for name := range operations {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, body, ok := h.Precheck(w, r)
	if !ok {
		return
	}
	h.Call(r.Context(), w, name, body)
}

// Precheck makes the checks a Handler makes before it calls the Client:
// the request id header, POST to /, the body within MaxBodyBytes, the
// signature when Credentials are set, and a known operation. When one
// fails it writes ECS's error to w and returns ok false; otherwise it
// returns the operation's name and the body, for [Handler.Call]. A
// replicated server prechecks a call where it arrives and calls it where
// the state is.
func (h *Handler) Precheck(w http.ResponseWriter, r *http.Request) (name string, body []byte, ok bool) {
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", h.requests.Add(1), h.opts.Clock().UnixNano()&(1<<48-1))
	w.Header().Set("x-amzn-RequestId", id)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, &wireError{status: http.StatusNotFound, code: "UnknownOperationException", message: "Only POST / is served."})
		return "", nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &wireError{status: http.StatusRequestEntityTooLarge, code: "SerializationException", message: fmt.Sprintf("The request body is over %d bytes.", h.opts.MaxBodyBytes)})
			return "", nil, false
		}
		writeError(w, &wireError{status: http.StatusBadRequest, code: "SerializationException", message: "The request body could not be read."})
		return "", nil, false
	}
	if len(h.opts.Credentials) > 0 {
		if werr := verify(r, body, h.opts.Credentials, h.opts.Region, h.opts.Clock()); werr != nil {
			writeError(w, werr)
			return "", nil, false
		}
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok = strings.CutPrefix(target, TargetPrefix+".")
	if !ok || operations[name] == nil {
		writeError(w, &wireError{status: http.StatusBadRequest, code: "UnknownOperationException", message: fmt.Sprintf("Unknown operation %q.", target)})
		return "", nil, false
	}
	return name, body, true
}

// Call runs the operation name with the request body on the Client and
// writes its output, or ECS's error, to w. It makes none of Precheck's
// checks but the operation's: an unknown name is an
// UnknownOperationException.
func (h *Handler) Call(ctx context.Context, w http.ResponseWriter, name string, body []byte) {
	call := operations[name]
	if call == nil {
		writeError(w, &wireError{status: http.StatusBadRequest, code: "UnknownOperationException", message: fmt.Sprintf("Unknown operation %q.", TargetPrefix+"."+name)})
		return
	}
	out, err := call(ctx, h.client, body)
	if err != nil {
		writeError(w, errorOf(err))
		return
	}
	payload, err := encode(out)
	if err != nil {
		writeError(w, &wireError{status: http.StatusInternalServerError, code: "ServerException", message: "The response could not be encoded."})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// decode reads a request body into in: ECS's field names, fields the model
// does not know ignored [INF], an empty body as an empty object.
func decode(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(in); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return &wireError{status: http.StatusBadRequest, code: "SerializationException", message: fmt.Sprintf("Field %s: expected %s, got a JSON %s.", typ.Field, typ.Type, typ.Value)}
		}
		return &wireError{status: http.StatusBadRequest, code: "SerializationException", message: "The request body is not a JSON object: " + err.Error()}
	}
	if dec.More() {
		return &wireError{status: http.StatusBadRequest, code: "SerializationException", message: "The request body has data after its JSON object."}
	}
	return nil
}

// encode writes an output as ECS does: its JSON with every timestamp (a
// member named ...At) as epoch seconds.
func encode(out any) ([]byte, error) {
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return epochSeconds(raw), nil
}

// userMaps are the members whose values are maps with keys of the user's
// choosing (docker labels, log and volume driver options): their keys are
// not ECS's, so a key ending in "At" there is no timestamp.
var userMaps = map[string]bool{"dockerLabels": true, "options": true, "driverOpts": true, "labels": true}

// epochSeconds rewrites, in the compact JSON b that encoding/json wrote,
// the RFC 3339 string values of object members whose names end in "At" (and of expirationDate) as
// epoch seconds, in one pass that follows the JSON's structure: member
// names apart from string values, and the contents of userMaps left alone.
func epochSeconds(b []byte) []byte {
	type frame struct {
		object, user, wantKey bool
	}
	out := make([]byte, 0, len(b))
	stack := make([]frame, 0, 16)
	key := ""
	for i := 0; i < len(b); {
		c := b[i]
		switch c {
		case '{', '[':
			user := len(stack) > 0 && stack[len(stack)-1].user || c == '{' && userMaps[key]
			stack = append(stack, frame{object: c == '{', user: user, wantKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		case ':':
			if n := len(stack); n > 0 {
				stack[n-1].wantKey = false
			}
		case '"':
			end := i + 1
			for end < len(b) && b[end] != '"' {
				if b[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(b) {
				return append(out, b[i:]...) // not JSON encoding/json writes
			}
			str := b[i : end+1]
			i = end + 1
			top := frame{}
			if n := len(stack); n > 0 {
				top = stack[n-1]
			}
			switch {
			case top.object && top.wantKey:
				key = string(str[1 : len(str)-1])
			case top.object && !top.user && (strings.HasSuffix(key, "At") || key == "expirationDate"):
				if t, err := time.Parse(time.RFC3339Nano, string(str[1:len(str)-1])); err == nil {
					out = strconv.AppendFloat(out, float64(t.UnixNano())/1e9, 'f', -1, 64)
					continue
				}
			}
			out = append(out, str...)
			continue
		}
		out = append(out, c)
		i++
	}
	return out
}

// wireError is an error as the protocol carries it.
type wireError struct {
	status  int
	code    string
	message string
}

func (e *wireError) Error() string { return e.code + ": " + e.message }

// errorOf maps a Client error to the wire: ECS's exceptions keep their code
// with status 400; a context that ended is a 400 too (the caller gave up)
// [INF]; anything else is a ServerException (500).
func errorOf(err error) *wireError {
	var we *wireError
	if errors.As(err, &we) {
		return we
	}
	var apiErr stevedore.APIError
	if errors.As(err, &apiErr) {
		return &wireError{status: http.StatusBadRequest, code: apiErr.ErrorCode(), message: apiErr.ErrorMessage()}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &wireError{status: http.StatusBadRequest, code: "ClientException", message: "The request was cancelled: " + err.Error()}
	}
	return &wireError{status: http.StatusInternalServerError, code: "ServerException", message: err.Error()}
}

func writeError(w http.ResponseWriter, e *wireError) { WriteError(w, e.status, e.code, e.message) }

// WriteError answers a request with an ECS error: the HTTP status, the
// exception's code (such as "ServerException") and its message, in the
// shape the SDKs turn into their typed errors. A wrapper around a Handler
// uses it to refuse a request the same way the Handler would.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	payload, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazonaws.ecs#" + code, message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(status)
	_, _ = w.Write(payload)
}
