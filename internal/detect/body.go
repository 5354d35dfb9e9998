package detect

import (
	"bytes"
	"encoding/json/jsontext"
	json "encoding/json/v2"
	"errors"
	"strconv"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
)

// Request and response bodies are decoded here, once per event and only when a rule or helper reads them (the
// activation caches the result). The audit decoder keeps them as raw bytes, already checked to be JSON, so that an
// event no rule reads the body of costs a copy, not a decode.
//
// The result must be what encoding/json v1 made of the body when it decoded it into map[string]any, because that is
// what the API server itself did with the body it logged: a patch is logged as the client sent it, and the API
// server applied it with v1's reading. So:
//   - a name twice in one object: the last value replaces the earlier one (v2's map decoding would merge two object
//     values instead, and so see a patch the API server did not apply);
//   - invalid UTF-8: each bad byte reads as U+FFFD;
//   - numbers: float64, and a number out of float64's range fails the whole body, as in v1;
//   - anything that is not a single JSON object (protobuf, an array, garbage, null) is the empty object.
//
// TestDecodeObjectMatchesV1 and FuzzDecodeObject hold this reading to v1's, value for value. Building the map
// from jsontext's tokens instead of through reflection halves the time of the pod bodies in the benchmark corpus,
// and exact-size maps and slices save most of the rest of the allocations.

// bodyOptions read a body the way the audit decoder read it: duplicate names and invalid UTF-8 allowed.
var bodyOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, m *map[string]any) error {
		if dec.PeekKind() != '{' {
			return errNotObject
		}
		var b bodyBuilder
		v, err := b.value(dec)
		if err != nil {
			return err
		}
		*m = v.(map[string]any)
		return nil
	})),
)

var errNotObject = errors.New("not a JSON object")

// A shape is the part of a body a decode keeps: for an object, the members kept (each of its own shape, nil for
// the whole value) and no other; for an array, the shape of each element. A value of another kind than its shape
// wants is kept whole.
type shape struct {
	fields map[string]*shape
	elem   *shape
}

func object(fields map[string]*shape) *shape { return &shape{fields: fields} }
func array(elem *shape) *shape               { return &shape{elem: elem} }

// viewShape is what the engine's own helpers read of a body: objectMeta() (kind, metadata's name, namespace, labels
// and ownerReferences), and of the pod spec in it (podSpecOf: a Pod's spec, a workload's template, a CronJob's job
// template) what hostTakeover, podCommands and danger.PodOfMap read. The view of a body holds those members,
// decoded as the full decode decodes them, and nothing else; TestBodyViewIsFullDecodePruned and FuzzDecodeObject
// hold it to the full decode pruned to this shape, and TestBodyViewHelpers the helpers to their results on the
// full decode. A pod create then costs a decode of its metadata and spec's few members rather than of the whole
// body; CEL's requestObject, responseObject, object() and podSpec() still get the full decode.
var viewShape = func() *shape {
	exec := object(map[string]*shape{"exec": object(map[string]*shape{"command": nil})})
	container := object(map[string]*shape{
		"name": nil, "command": nil, "args": nil,
		"securityContext": object(map[string]*shape{"privileged": nil, "runAsUser": nil, "runAsNonRoot": nil,
			"capabilities": object(map[string]*shape{"add": nil})}),
		"env":           array(object(map[string]*shape{"value": nil})),
		"lifecycle":     object(map[string]*shape{"postStart": exec, "preStop": exec}),
		"livenessProbe": exec, "readinessProbe": exec, "startupProbe": exec,
	})
	podSpec := map[string]*shape{
		"hostPID": nil, "hostIPC": nil, "hostNetwork": nil,
		"volumes":         array(object(map[string]*shape{"name": nil, "hostPath": object(map[string]*shape{"path": nil})})),
		"securityContext": object(map[string]*shape{"runAsUser": nil, "runAsNonRoot": nil}),
		"initContainers":  array(container), "containers": array(container), "ephemeralContainers": array(container),
	}
	spec := map[string]*shape{
		"template":    object(map[string]*shape{"spec": object(podSpec)}),
		"jobTemplate": object(map[string]*shape{"spec": object(map[string]*shape{"template": object(map[string]*shape{"spec": object(podSpec)})})}),
	}
	for k, v := range podSpec {
		spec[k] = v // a Pod's spec is the pod spec; a workload's holds it under template
	}
	owner := object(map[string]*shape{"apiVersion": nil, "kind": nil, "name": nil, "controller": nil})
	return object(map[string]*shape{
		"kind":     nil,
		"metadata": object(map[string]*shape{"name": nil, "namespace": nil, "labels": nil, "ownerReferences": array(owner)}),
		"spec":     object(spec),
	})
}()

// viewBody is the type the view is decoded into, so that its unmarshaler is not the full decode's.
type viewBody map[string]any

var viewOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, m *viewBody) error {
		if dec.PeekKind() != '{' {
			return errNotObject
		}
		var b bodyBuilder
		v, err := b.shaped(dec, viewShape)
		if err != nil {
			return err
		}
		*m = v.(map[string]any)
		return nil
	})),
)

// decodeView decodes the view of a body (viewShape): decodeObject's result pruned to what the helpers read, {}
// where decodeObject gives {}.
func decodeView(u *runtime.Unknown) map[string]any {
	if u == nil || len(u.Raw) == 0 {
		return map[string]any{}
	}
	var m viewBody
	if json.Unmarshal(u.Raw, &m, viewOptions) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// decodeObject decodes an audit object body; a body that is not a JSON object (protobuf, or garbage) is {}.
func decodeObject(u *runtime.Unknown) map[string]any {
	if u == nil || len(u.Raw) == 0 {
		return map[string]any{}
	}
	var m map[string]any
	if json.Unmarshal(u.Raw, &m, bodyOptions) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// bodyBuilder builds one body's value tree. The members of the objects and arrays being built wait on two stacks,
// so that each map and slice is made once at its final size.
type bodyBuilder struct {
	keys []string
	vals []any
}

func (b *bodyBuilder) value(dec *jsontext.Decoder) (any, error) { return b.shaped(dec, nil) }

// shaped builds a value of the given shape (nil: the whole value).
func (b *bodyBuilder) shaped(dec *jsontext.Decoder, sh *shape) (any, error) {
	switch dec.PeekKind() {
	case '{':
		if sh != nil && sh.fields == nil {
			sh = nil // an object where the shape wants an array: kept whole, as the full decode has it
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		base := len(b.vals)
		for dec.PeekKind() == '"' {
			name, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			key, err := unquote(name)
			if err != nil {
				return nil, err
			}
			var member *shape
			if sh != nil {
				var kept bool
				if member, kept = sh.fields[key]; !kept {
					if err := skipValue(dec); err != nil {
						return nil, err
					}
					continue
				}
			}
			v, err := b.shaped(dec, member)
			if err != nil {
				return nil, err
			}
			b.keys, b.vals = append(b.keys, key), append(b.vals, v)
		}
		if _, err := dec.ReadToken(); err != nil { // the '}', or the syntax error where it should be
			return nil, err
		}
		m := make(map[string]any, len(b.vals)-base)
		for i := base; i < len(b.vals); i++ {
			m[b.keys[i]] = b.vals[i] // in order: a later duplicate replaces the earlier value
		}
		b.pop(base)
		return m, nil
	case '[':
		var elem *shape
		if sh != nil {
			elem = sh.elem // nil for an array where the shape wants an object: kept whole
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		base := len(b.vals)
		for k := dec.PeekKind(); k != ']' && k != 0; k = dec.PeekKind() {
			v, err := b.shaped(dec, elem)
			if err != nil {
				return nil, err
			}
			b.keys, b.vals = append(b.keys, ""), append(b.vals, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		s := make([]any, len(b.vals)-base)
		copy(s, b.vals[base:])
		b.pop(base)
		return s, nil
	case '"':
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		return unquote(v)
	case '0':
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		return strconv.ParseFloat(string(v), 64)
	default: // true, false, null, or the syntax error the token reports
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch tok.Kind() {
		case 't':
			return true, nil
		case 'f':
			return false, nil
		}
		return nil, nil
	}
}

// skipValue reads past a member the shape leaves out. The full decode fails the whole body on a number out of
// float64's range wherever it stands, so the skipped value's numbers are checked too: only one with an exponent or
// of more than 300 characters can be out of range (without an exponent, 300 digits are less than 1e300 and
// a fraction never fails), and only those are parsed.
func skipValue(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9':
			j, exp := i, false
			for ; j < len(raw) && isNumberByte(raw[j]); j++ {
				exp = exp || raw[j] == 'e' || raw[j] == 'E'
			}
			if exp || j-i > 300 {
				if _, err := strconv.ParseFloat(string(raw[i:j]), 64); err != nil {
					return err
				}
			}
			i = j - 1
		}
	}
	return nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// pop drops the members above base, clearing them so that the stacks keep no finished value alive.
func (b *bodyBuilder) pop(base int) {
	clear(b.vals[base:])
	clear(b.keys[base:])
	b.keys, b.vals = b.keys[:base], b.vals[:base]
}

// unquote returns the string a JSON string literal denotes: sliced when it has no escapes and is valid UTF-8, else
// through jsontext, which reads invalid UTF-8 as U+FFFD (the decoder allows it, so that is its only complaint).
func unquote(v jsontext.Value) (string, error) {
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	err := json.Unmarshal(v, &s, jsontext.AllowInvalidUTF8(true))
	return s, err
}
