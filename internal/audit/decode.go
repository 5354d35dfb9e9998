package audit

import (
	"bytes"
	"encoding/json/jsontext"
	json "encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
// offending field ("" for the document as a whole, "items[3].stage" inside a list), Offset the byte offset in the
// input where the offending character or value starts (-1 when the input is well-formed JSON and a field's value
// is wrong).
type DecodeError struct {
	Field  string
	Offset int64
	Msg    string
	Err    error // the encoding/json/v2 or jsontext error, when there is one
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
	w := &wireEvent{}
	if err := unmarshal(data, w, "Event"); err != nil {
		return nil, err
	}
	ev := w.event()
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

// UnmarshalEvent reads one event into ev with the decoder DecodeEvent uses, without DecodeEvent's checks and
// without filling in apiVersion and kind: for records this program wrote itself (the queue's), and for tests that
// compare decoders. Errors are *DecodeErrors.
func UnmarshalEvent(data []byte, ev *auditv1.Event) error {
	var w wireEvent
	if err := unmarshal(data, &w, "Event"); err != nil {
		return err
	}
	*ev = *w.event()
	return nil
}

// DecodeEventList decodes one audit.k8s.io/v1 EventList, the body the API server's webhook backend POSTs, and
// checks every item as DecodeEvent does. Items may omit apiVersion and kind (the webhook backend leaves them out);
// when present they must be right, and when absent they are filled in, so that events look the same whichever
// intake they came through.
func DecodeEventList(data []byte) (*auditv1.EventList, error) {
	w := &wireList{}
	if err := unmarshal(data, w, "EventList"); err != nil {
		return nil, err
	}
	list := &w.EventList
	if w.Items != nil {
		list.Items = make([]auditv1.Event, len(w.Items))
		for i := range w.Items {
			list.Items[i] = *w.Items[i].event()
		}
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

// decodeOptions are how every audit event is read, chosen against what writes them: the API server encodes events
// with encoding/json v1 from Go structs, so its lines have each member once, named exactly as tagged, in valid
// UTF-8; what differs from that is a hand-edited line of a file the detector tails, or a forgery.
//
//   - Names match case-sensitively (v2's default; v1 matched "Verb" to verb). The API server never writes another
//     case, and Kubernetes' own decoders (sigs.k8s.io/json) are case-sensitive too. Matching case-insensitively
//     would let {"verb":"get","VERB":"delete"} read as delete here while jq, a SIEM or the API server's own tools
//     read get; a member in another case is now an unknown member, ignored like any other.
//   - A name twice in the event's own members is an error (v2's default; v1 took the last), for the same reason:
//     a line that says two things is read one way here and maybe another way elsewhere, so it is refused with the
//     offset of the second name, never guessed at. Inside requestObject and responseObject duplicates are kept
//     (see rawBody): those bodies are logged as the client sent them.
//   - Invalid UTF-8 is accepted and each bad byte read as U+FFFD, as v1 did. The API server's encoder never
//     writes it; a request body logged verbatim can carry it, and a stray byte in a hand-edited userAgent must
//     not make the detector drop the event. v1's reading is kept, so that a string means the same as before.
//   - Unknown members are ignored (both versions' default), so that events of newer API servers decode.
//
// metav1.MicroTime and runtime.Unknown have v1 UnmarshalJSON methods; v2 would call them with a copy of each value
// and, for timestamps, a second decode of the string. wireEvent shadows those fields with types whose
// UnmarshalJSONFrom methods read them from the token stream, with the same results. (Registering the same code as
// json.WithUnmarshalers would cost a lookup by type for every value of the event, a tenth of the decode.)
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(true),
)

// bodyOptions read requestObject and responseObject. A patch's body is logged as the client sent it, duplicates
// and all, and the API server applied it with v1's decoder, last member winning; refusing such an event would let
// any client hide a patch from the detector by repeating a key. The body is kept as raw bytes here; the detector
// decodes it with the same last-wins reading (detect.decodeObject).
var bodyOptions = jsontext.AllowDuplicateNames(true)

// wireEvent is an auditv1.Event as it is decoded: the inlined Event takes every member but the four that the
// outer fields, being shallower, take instead (Go's and v2's rule for embedded fields).
type wireEvent struct {
	auditv1.Event            `json:",inline"`
	RequestObject            *rawBody  `json:"requestObject,omitempty"`
	ResponseObject           *rawBody  `json:"responseObject,omitempty"`
	RequestReceivedTimestamp microTime `json:"requestReceivedTimestamp"`
	StageTimestamp           microTime `json:"stageTimestamp"`
}

// event moves the shadowed fields into the Event.
func (w *wireEvent) event() *auditv1.Event {
	ev := &w.Event
	ev.RequestObject, ev.ResponseObject = (*runtime.Unknown)(w.RequestObject), (*runtime.Unknown)(w.ResponseObject)
	ev.RequestReceivedTimestamp, ev.StageTimestamp = metav1.MicroTime(w.RequestReceivedTimestamp), metav1.MicroTime(w.StageTimestamp)
	return ev
}

// wireList is an auditv1.EventList whose items are wireEvents.
type wireList struct {
	auditv1.EventList `json:",inline"`
	Items             []wireEvent `json:"items"`
}

// microTime reads a metav1.MicroTime as its UnmarshalJSON does: null is the zero time, a string is parsed with
// metav1.RFC3339Micro and converted to local time.
type microTime metav1.MicroTime

func (t *microTime) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case 'n':
		t.Time = time.Time{}
		return nil
	case '"':
	default:
		return fmt.Errorf("JSON %s is not a timestamp: want a string like %q", kindName(v.Kind()), metav1.RFC3339Micro)
	}
	s, err := unquote(v)
	if err != nil {
		return err
	}
	pt, err := parseMicro(s)
	if err != nil {
		return err
	}
	t.Time = pt.Local()
	return nil
}

// rawBody keeps requestObject or responseObject as raw JSON, as runtime.Unknown's UnmarshalJSON does (same Raw
// bytes, ContentType application/json), read with duplicate names allowed (bodyOptions). A null body never gets
// here: the pointer is set to nil, as v1 did. Its content type is a promise the detector relies on: the bytes have
// been checked to be JSON here, and it does not check them again.
type rawBody runtime.Unknown

func (u *rawBody) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	// The value is read through v2 (not dec.ReadValue) for bodyOptions; it arrives as a copy of the input
	// (jsontext.Value's UnmarshalJSON stores one), the body's own.
	var raw jsontext.Value
	if err := json.UnmarshalDecode(dec, &raw, bodyOptions); err != nil {
		return err
	}
	*u = rawBody{Raw: raw, ContentType: runtime.ContentTypeJSON}
	return nil
}

// unquote returns the string a JSON string literal denotes. The common literal, ASCII without escapes, is sliced;
// anything else is unmarshaled as any string member is (invalid UTF-8 read as U+FFFD).
func unquote(v jsontext.Value) (string, error) {
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && isASCII(in) {
		return string(in), nil
	}
	var s string
	err := json.Unmarshal(v, &s, jsontext.AllowInvalidUTF8(true))
	return s, err
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// parseMicro is time.Parse(metav1.RFC3339Micro, s) with a fast path for the one form the API server writes,
// "2006-01-02T15:04:05.000000Z": the generic layout parser costs more than the rest of a timestamp's decode. Any
// other form, and any out-of-range field, is left to time.Parse, so that results and errors stay the same.
func parseMicro(s string) (time.Time, error) {
	if len(s) == len("2006-01-02T15:04:05.000000Z") && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		s[16] == ':' && s[19] == '.' && s[26] == 'Z' {
		year, ok1 := digits(s[0:4])
		month, ok2 := digits(s[5:7])
		day, ok3 := digits(s[8:10])
		hour, ok4 := digits(s[11:13])
		minute, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		micro, ok7 := digits(s[20:26])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && month >= 1 && month <= 12 && day >= 1 &&
			day <= daysIn(time.Month(month), year) && hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC), nil
		}
	}
	return time.Parse(metav1.RFC3339Micro, s)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// unmarshal decodes data into v with decodeOptions and turns the decoder's errors into DecodeErrors that carry the
// byte offset, the path of the offending field and, for syntax errors, the text around the offset.
func unmarshal(data []byte, v any, what string) error {
	if len(data) == 0 {
		return &DecodeError{Offset: -1, Msg: "empty input: want an " + APIVersion + " " + what + " JSON object"}
	}
	err := json.Unmarshal(data, v, decodeOptions)
	if err == nil {
		return nil
	}
	return decodeError(data, err, what)
}

// decodeError turns an error of json.Unmarshal into a DecodeError.
func decodeError(data []byte, err error, what string) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		reason := syn.Err
		if errors.Is(reason, io.ErrUnexpectedEOF) {
			reason = errors.New("unexpected end of input")
		}
		msg := fmt.Sprintf("%s is not valid JSON: %v near %q", what, reason, jsonpos.Around(data, syn.ByteOffset))
		if errors.Is(reason, jsontext.ErrDuplicateName) {
			msg = fmt.Sprintf("member %q a second time: the API server writes each member once, so the line was edited or forged; refused rather than guessed at", syn.JSONPointer.LastToken())
		}
		return &DecodeError{Field: fieldPath(syn.JSONPointer), Offset: syn.ByteOffset, Msg: msg, Err: err}
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		field := fieldPath(sem.JSONPointer)
		var msg string
		switch {
		case sem.Err != nil && sem.JSONKind == 0:
			// A value our unmarshalers refused (a timestamp that does not parse): say why.
			msg = fmt.Sprintf("%v", sem.Err)
		case field == "":
			msg = fmt.Sprintf("JSON %s is not an %s object", kindName(sem.JSONKind), what)
		default:
			msg = fmt.Sprintf("JSON %s where %s wants %s", kindName(sem.JSONKind), what, goTypeName(sem.GoType))
			if sem.Err != nil {
				msg += ": " + sem.Err.Error()
			}
		}
		return &DecodeError{Field: field, Offset: sem.ByteOffset, Msg: msg, Err: err}
	}
	return &DecodeError{Offset: -1, Msg: fmt.Sprintf("decode %s: %v", what, err), Err: err}
}

// goTypeName names a Go type in an error message as the API types name it, not as the decoder's wire types do.
func goTypeName(t reflect.Type) string {
	if t == nil {
		return "a different value"
	}
	return strings.NewReplacer("audit.wireEvent", "v1.Event", "audit.rawBody", "runtime.Unknown", "audit.microTime", "v1.MicroTime").Replace(t.String())
}

// kindName names a JSON kind in an error message as v1 did ("string", "number", "object").
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// fieldPath renders a JSON Pointer ("/items/3/user/groups/0") as the field path of a DecodeError
// ("items[3].user.groups[0]"). A name that is all digits is taken for an array index: the event has no map whose
// keys could be, except annotations, where the path stays unambiguous enough for a person.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 0); err == nil && tok != "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
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
