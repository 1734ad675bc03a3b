package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// UnknownFieldError reports a JSON member that the input shape does not have,
// like the AWS CLI's "Unknown parameter in input". Field is its path, e.g.
// "foo" or "containerDefinitions[0].foo". Field names are matched exactly
// (case-sensitively), as the AWS CLI does.
type UnknownFieldError struct {
	Field string
}

// Error implements error in the AWS CLI's words.
func (e *UnknownFieldError) Error() string {
	parent, name := "input", e.Field
	if i := strings.LastIndexByte(e.Field, '.'); i >= 0 {
		parent, name = e.Field[:i], e.Field[i+1:]
	}
	return fmt.Sprintf("taskdef: Unknown parameter in %s: %q", parent, name)
}

// Decode decodes the JSON that `aws ecs register-task-definition
// --cli-input-json` takes. It is strict: a member the input shape lacks, at
// any depth, is an [*UnknownFieldError]; the output-only members
// (taskDefinitionArn, revision, status, requiresAttributes, compatibilities,
// registeredAt, deregisteredAt, registeredBy) are unknown here. Anything but
// JSON whitespace after the object is an error.
//
// The result is normalised so that Decode(Encode(td)) equals td: empty
// slices and maps become nil, raw JSON members are compacted and a raw null
// becomes nil. Decode does not validate; call [TaskDefinition.Validate].
func Decode(data []byte) (TaskDefinition, error) {
	var td TaskDefinition
	raw, err := decodeTree(data)
	if err != nil {
		return td, err
	}
	if err := checkFields(reflect.TypeFor[TaskDefinition](), raw.tree, "", false); err != nil {
		return td, err
	}
	if err := json.Unmarshal(raw.bytes, &td); err != nil {
		return TaskDefinition{}, fmt.Errorf("taskdef: decode: %w", err)
	}
	normalise(reflect.ValueOf(&td).Elem())
	return td, nil
}

// describeOutput is the shape of `aws ecs describe-task-definition` output.
type describeOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition"`
	Tags           []Tag           `json:"tags"`
}

// DecodeDescribed decodes `aws ecs describe-task-definition` output: either
// {"taskDefinition": {...}, "tags": [...]} (the outer tags are appended to
// the definition's) or the bare task definition object. Output-only members
// are accepted; other unknown members are an [*UnknownFieldError] as in [Decode].
func DecodeDescribed(data []byte) (TaskDefinition, error) {
	var td TaskDefinition
	raw, err := decodeTree(data)
	if err != nil {
		return td, err
	}
	if _, wrapped := raw.tree["taskDefinition"]; wrapped {
		if err := checkFields(reflect.TypeFor[describeOutput](), raw.tree, "", true); err != nil {
			return td, err
		}
		var out describeOutput
		if err := json.Unmarshal(raw.bytes, &out); err != nil {
			return td, fmt.Errorf("taskdef: decode: %w", err)
		}
		if out.TaskDefinition != nil {
			td = *out.TaskDefinition
		}
		td.Tags = append(td.Tags, out.Tags...)
	} else {
		if err := checkFields(reflect.TypeFor[TaskDefinition](), raw.tree, "", true); err != nil {
			return td, err
		}
		if err := json.Unmarshal(raw.bytes, &td); err != nil {
			return TaskDefinition{}, fmt.Errorf("taskdef: decode: %w", err)
		}
	}
	normalise(reflect.ValueOf(&td).Elem())
	return td, nil
}

// DecodeDescribedLenient is [DecodeDescribed] for output that may carry
// members this package does not have (ECS adds to its output over time):
// they are skipped, and returned as paths ("containerDefinitions[].foo"),
// not an error. JSON of the wrong shape is still an error.
func DecodeDescribedLenient(data []byte) (TaskDefinition, []string, error) {
	var td TaskDefinition
	raw, err := decodeTree(data)
	if err != nil {
		return td, nil, err
	}
	var unknown []string
	shape := reflect.TypeFor[TaskDefinition]()
	var tree any = raw.tree
	if inner, wrapped := raw.tree["taskDefinition"]; wrapped {
		var out describeOutput
		if err := json.Unmarshal(raw.bytes, &out); err != nil {
			return td, nil, fmt.Errorf("taskdef: decode: %w", err)
		}
		if out.TaskDefinition != nil {
			td = *out.TaskDefinition
		}
		td.Tags = append(td.Tags, out.Tags...)
		tree = inner
		for k := range raw.tree {
			if k != "taskDefinition" && k != "tags" {
				unknown = append(unknown, k)
			}
		}
	} else if err := json.Unmarshal(raw.bytes, &td); err != nil {
		return TaskDefinition{}, nil, fmt.Errorf("taskdef: decode: %w", err)
	}
	_ = walkFields(shape, tree, "", true, &unknown)
	slices.Sort(unknown)
	normalise(reflect.ValueOf(&td).Elem())
	return td, unknown, nil
}

// Encode returns td as the input of `aws ecs register-task-definition
// --cli-input-json`: the output-only fields are left out, members are indented
// by two spaces and HTML characters are not escaped. There is no trailing newline.
func Encode(td TaskDefinition) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(td.inputOnly()); err != nil {
		return nil, fmt.Errorf("taskdef: encode: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type tree struct {
	bytes []byte
	tree  map[string]any
}

// decodeTree reads exactly one JSON object from data and returns its bytes
// and its generic tree.
func decodeTree(data []byte) (tree, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return tree{}, fmt.Errorf("taskdef: decode: %w", err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return tree{}, fmt.Errorf("taskdef: decode: trailing data after the JSON object at offset %d", dec.InputOffset())
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		return tree{}, errors.New("taskdef: decode: input is not a JSON object")
	}
	gen := json.NewDecoder(bytes.NewReader(raw))
	gen.UseNumber()
	var m map[string]any
	if err := gen.Decode(&m); err != nil {
		return tree{}, fmt.Errorf("taskdef: decode: %w", err)
	}
	return tree{bytes: raw, tree: m}, nil
}

var (
	rawMessageType     = reflect.TypeFor[json.RawMessage]()
	taskDefinitionType = reflect.TypeFor[TaskDefinition]()
)

// jsonFields maps the JSON member names of struct type t to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// checkFields walks the generic JSON value v against Go type t and returns
// an [*UnknownFieldError] for the first member (in sorted order) t lacks.
// Values of the wrong JSON kind are skipped: json.Unmarshal reports them.
func checkFields(t reflect.Type, v any, path string, allowOutput bool) error {
	return walkFields(t, v, path, allowOutput, nil)
}

// walkFields is checkFields; with unknown not nil it appends every unknown
// member's path to it (with its indexes as "[]") instead of stopping at the
// first.
func walkFields(t reflect.Type, v any, path string, allowOutput bool, unknown *[]string) error {
	if t == rawMessageType || t == timeType {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok || (t == taskDefinitionType && !allowOutput && outputOnly[k]) {
				if unknown == nil {
					return &UnknownFieldError{Field: p}
				}
				*unknown = append(*unknown, p)
				continue
			}
			if err := walkFields(ft, obj[k], p, allowOutput, unknown); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range arr {
			at := path + "[" + strconv.Itoa(i) + "]"
			if unknown != nil {
				at = path + "[]"
			}
			if err := walkFields(t.Elem(), e, at, allowOutput, unknown); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := walkFields(t.Elem(), obj[k], path+"."+k, allowOutput, unknown); err != nil {
				return err
			}
		}
	}
	return nil
}

// normalise rewrites v in place so that encoding with omitempty and decoding
// again gives the same value: empty slices and maps become nil, raw JSON is
// compacted and a raw null becomes nil.
func normalise(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalise(v.Elem())
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			raw := v.Bytes()
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err == nil {
				raw = buf.Bytes()
			}
			if len(raw) == 0 || string(raw) == "null" {
				v.SetZero()
				return
			}
			v.SetBytes(raw)
			return
		}
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			normalise(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			v.SetZero()
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := range v.NumField() {
			normalise(v.Field(i))
		}
	}
}
