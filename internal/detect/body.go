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

// value builds the value at the decoder's position.
func (b *bodyBuilder) value(dec *jsontext.Decoder) (any, error) {
	switch dec.PeekKind() {
	case '{':
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
			v, err := b.value(dec)
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
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		base := len(b.vals)
		for k := dec.PeekKind(); k != ']' && k != 0; k = dec.PeekKind() {
			v, err := b.value(dec)
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
