package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/jsonpos"
)

// APIVersion is the audit API version vnfguard works in; the API server has written it since Kubernetes 1.12.
// Events of audit.k8s.io/v1beta1 (removed from the API server in 1.24, still in archived logs and other tools'
// fixtures) are read too: for every field vnfguard reads the two versions are the same JSON, so they are taken
// as v1 (their extra metadata and timestamp fields are ignored).
const APIVersion = "audit.k8s.io/v1"

// APIVersionV1beta1 is the older audit API version vnfguard also reads.
const APIVersionV1beta1 = "audit.k8s.io/v1beta1"

// DecodeStats counts the events the decoders took although they were not plain audit.k8s.io/v1: of version
// v1beta1, or without apiVersion and kind (a log line of an otherwise complete event, as some tools write them).
type DecodeStats struct {
	V1beta1, Untyped uint64
}

var (
	v1beta1Events, untypedEvents atomic.Uint64
	v1beta1Once, untypedOnce     sync.Once
)

// Stats returns the counts of tolerated events since the process started.
func Stats() DecodeStats {
	return DecodeStats{V1beta1: v1beta1Events.Load(), Untyped: untypedEvents.Load()}
}

// tolerated counts an event of v1beta1 or without type and logs the first of each kind.
func tolerated(apiVersion, kind string) {
	switch {
	case apiVersion == APIVersionV1beta1:
		v1beta1Events.Add(1)
		v1beta1Once.Do(func() {
			slog.Default().Warn("reading audit.k8s.io/v1beta1 events as v1 (logged once; see the counter): set the API server's --audit-log-version to audit.k8s.io/v1")
		})
	case apiVersion == "" && kind == "":
		untypedEvents.Add(1)
		untypedOnce.Do(func() {
			slog.Default().Warn("reading audit events without apiVersion and kind as audit.k8s.io/v1 Events (logged once; see the counter)")
		})
	}
}

// DecodeError says why a document is not an acceptable audit event or event list: Field is the JSON path of the
// offending field ("" for the document as a whole, "items[3].stage" inside a list), Offset the byte offset of a
// syntax or type error in the input (-1 when the input is well-formed JSON and a field's value is wrong).
type DecodeError struct {
	Field  string
	Offset int64
	Msg    string
	Err    error // the encoding/json error, when there is one
}

func (e *DecodeError) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Offset >= 0 {
		s += " (at byte offset " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DecodeEvent decodes one audit.k8s.io/v1 Event, as the log backend writes it on each line, and checks that it
// carries what every later stage relies on: apiVersion and kind, auditID, a known stage, and verb. Unknown fields
// are ignored, so that events of newer API servers still decode.
func DecodeEvent(data []byte) (*auditv1.Event, error) {
	ev := &auditv1.Event{}
	if err := unmarshal(data, ev, "Event"); err != nil {
		return nil, err
	}
	if err := checkTypeMeta(ev.APIVersion, ev.Kind, "Event", "", true); err != nil {
		return nil, err
	}
	if err := checkEvent(ev, ""); err != nil {
		return nil, err
	}
	tolerated(ev.APIVersion, ev.Kind)
	ev.APIVersion, ev.Kind = APIVersion, "Event"
	return ev, nil
}

// DecodeEventList decodes one audit.k8s.io/v1 EventList, the body the API server's webhook backend POSTs, and
// checks every item as DecodeEvent does. Items may omit apiVersion and kind (the webhook backend leaves them out);
// when present they must be right, and when absent they are filled in, so that events look the same whichever
// intake they came through.
func DecodeEventList(data []byte) (*auditv1.EventList, error) {
	list := &auditv1.EventList{}
	if err := unmarshal(data, list, "EventList"); err != nil {
		return nil, err
	}
	if err := checkTypeMeta(list.APIVersion, list.Kind, "EventList", "", false); err != nil {
		return nil, err
	}
	list.APIVersion = APIVersion
	for i := range list.Items {
		ev := &list.Items[i]
		field := "items[" + strconv.Itoa(i) + "]"
		if err := checkTypeMeta(ev.APIVersion, ev.Kind, "Event", field+".", true); err != nil {
			return nil, err
		}
		if err := checkEvent(ev, field+"."); err != nil {
			return nil, err
		}
		if list.APIVersion == APIVersionV1beta1 || ev.APIVersion == APIVersionV1beta1 {
			tolerated(APIVersionV1beta1, "Event")
		}
		ev.APIVersion, ev.Kind = APIVersion, "Event"
	}
	return list, nil
}

// unmarshal decodes data into v and turns encoding/json's errors into DecodeErrors that carry the byte offset
// and, for syntax errors, the text around it.
func unmarshal(data []byte, v any, what string) error {
	if len(data) == 0 {
		return &DecodeError{Offset: -1, Msg: "empty input: want an " + APIVersion + " " + what + " JSON object"}
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &DecodeError{Offset: syn.Offset, Msg: fmt.Sprintf("%s is not valid JSON: %v near %q", what, syn, jsonpos.Around(data, syn.Offset)), Err: err}
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		msg := fmt.Sprintf("JSON %s where %s wants %s", typ.Value, what, typ.Type)
		if field == "" {
			msg = fmt.Sprintf("JSON %s is not an %s object", typ.Value, what)
		}
		return &DecodeError{Field: field, Offset: typ.Offset, Msg: msg, Err: err}
	}
	// Errors from custom unmarshalers (timestamps, runtime.Unknown) carry no offset.
	return &DecodeError{Offset: -1, Msg: fmt.Sprintf("decode %s: %v", what, err), Err: err}
}

func checkTypeMeta(apiVersion, kind, wantKind, prefix string, optional bool) error {
	if optional && apiVersion == "" && kind == "" {
		return nil
	}
	if apiVersion != APIVersion && apiVersion != APIVersionV1beta1 {
		if apiVersion == "" {
			return &DecodeError{Field: prefix + "apiVersion", Offset: -1, Msg: "missing: want " + strconv.Quote(APIVersion) + " (or neither apiVersion nor kind)"}
		}
		return &DecodeError{Field: prefix + "apiVersion", Offset: -1, Msg: fmt.Sprintf("is %q, want %q or %q (set the API server's --audit-log-version/--audit-webhook-version to %s)", apiVersion, APIVersion, APIVersionV1beta1, APIVersion)}
	}
	if kind != wantKind {
		if kind == "" {
			return &DecodeError{Field: prefix + "kind", Offset: -1, Msg: "missing: want " + strconv.Quote(wantKind)}
		}
		return &DecodeError{Field: prefix + "kind", Offset: -1, Msg: fmt.Sprintf("is %q, want %q", kind, wantKind)}
	}
	return nil
}

// checkEvent checks the fields dedupe (auditID, stage) and every rule (verb) depend on.
func checkEvent(ev *auditv1.Event, prefix string) error {
	if ev.AuditID == "" {
		return &DecodeError{Field: prefix + "auditID", Offset: -1, Msg: "missing: every audit event carries one"}
	}
	switch ev.Stage {
	case auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete, auditv1.StagePanic:
	case "":
		return &DecodeError{Field: prefix + "stage", Offset: -1, Msg: "missing: every audit event carries one"}
	default:
		return &DecodeError{Field: prefix + "stage", Offset: -1, Msg: fmt.Sprintf("%q is not a stage (want RequestReceived, ResponseStarted, ResponseComplete or Panic)", ev.Stage)}
	}
	if ev.Verb == "" {
		return &DecodeError{Field: prefix + "verb", Offset: -1, Msg: "missing: every audit event carries one"}
	}
	return nil
}
