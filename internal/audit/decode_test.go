package audit

import (
	"encoding/json/jsontext"
	json "encoding/json/v2"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

func TestDecodeEvent(t *testing.T) {
	const ok = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/upf/pods/p/exec","objectRef":{"resource":"pods","namespace":"upf","name":"p","subresource":"exec"},"requestReceivedTimestamp":"2026-11-24T06:00:00.000001Z","stageTimestamp":"2026-11-24T06:00:00.000002Z"}`
	tests := []struct {
		name      string
		in        string
		wantField string
		wantOff   int64 // -1: no offset
		wantMsg   string
	}{
		{"ok", ok, "", 0, ""},
		{"empty", ``, "", -1, "empty input"},
		{"syntax", `{"kind":"Event",auditID:1}`, "", 16, "not valid JSON"},
		{"truncated", ok[:40], "apiVersion", 40, "not valid JSON: unexpected end of input"},
		{"trailing garbage", ok + `x`, "", int64(len(ok)), "not valid JSON"},
		{"not an object", `[1,2]`, "", 0, "not an Event object"},
		{"wrong type", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":7}`, "verb", 95, "wants string"},
		{"bad timestamp", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","stageTimestamp":"yesterday"}`, "stageTimestamp", 118, `parsing time "yesterday"`},
		{"timestamp not a string", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","stageTimestamp":5}`, "stageTimestamp", 118, "JSON number is not a timestamp"},
		{"duplicate member", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","verb":"delete"}`, "verb", 101, `member "verb" a second time`},
		{"duplicate nested member", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","user":{"username":"a","username":"b"}}`, "user.username", 124, `member "username" a second time`},
		{"member in another case", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","Verb":"get"}`, "verb", -1, "missing"},
		{"no apiVersion", `{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get"}`, "apiVersion", -1, "missing"},
		{"pre-1.8 apiVersion", `{"kind":"Event","apiVersion":"audit.k8s.io/v1alpha1","auditID":"a","stage":"ResponseComplete","verb":"get"}`, "apiVersion", -1, `"audit.k8s.io/v1alpha1"`},
		{"kind without apiVersion", `{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get"}`, "apiVersion", -1, "missing"},
		{"wrong kind", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get"}`, "kind", -1, `want "Event"`},
		{"no auditID", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get"}`, "auditID", -1, "missing"},
		{"no stage", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get"}`, "stage", -1, "missing"},
		{"bad stage", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Done","verb":"get"}`, "stage", -1, `"Done" is not a stage`},
		{"no verb", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Panic"}`, "verb", -1, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.in))
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("DecodeEvent: %v", err)
				}
				if ev.AuditID != "a1" || ev.Verb != "get" || ev.ObjectRef.Subresource != "exec" || ev.StageTimestamp.IsZero() {
					t.Fatalf("decoded %+v", ev)
				}
				return
			}
			if ev != nil {
				t.Fatalf("event %+v returned with an error", ev)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Field != tc.wantField || de.Offset != tc.wantOff || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q: field %q offset %d, want field %q offset %d and %q", err, de.Field, de.Offset, tc.wantField, tc.wantOff, tc.wantMsg)
			}
		})
	}
}

func TestDecodeEventList(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "eventlist.json"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := DecodeEventList(good)
	if err != nil {
		t.Fatalf("DecodeEventList(eventlist.json): %v", err)
	}
	if len(list.Items) != 5 || list.Items[0].RequestObject == nil || len(list.Items[0].RequestObject.Raw) == 0 || list.Items[4].Kind != "Event" || list.Items[4].APIVersion != APIVersion {
		t.Fatalf("decoded %d items, first request object %v", len(list.Items), list.Items[0].RequestObject)
	}
	tests := []struct {
		name, in, wantField, wantMsg string
	}{
		{"empty list", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, "", ""},
		{"event, not list", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","items":[]}`, "kind", `want "EventList"`},
		{"item without auditID", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"a","stage":"Panic","verb":"get"},{"stage":"Panic","verb":"get"}]}`, "items[1].auditID", "missing"},
		{"item with wrong kind", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Pod","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Panic","verb":"get"}]}`, "items[0].kind", `"Pod"`},
		{"items not a list", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}`, "items", "wants []v1.Event"},
		{"syntax", `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[}`, "items[0]", "at byte offset 60"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := DecodeEventList([]byte(tc.in))
			if tc.wantMsg == "" {
				if err != nil || list == nil {
					t.Fatalf("DecodeEventList: %v", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Field != tc.wantField || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %v, want a DecodeError on field %q containing %q", err, tc.wantField, tc.wantMsg)
			}
		})
	}
}

func TestReaderCorpus(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, "corpus.jsonl")
	verbs := map[string]int{}
	for {
		ev, err := r.Next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("Next: %v", err)
			}
			break
		}
		verbs[ev.Verb]++
	}
	if s := r.Stats(); s.Events != 200 || s.Malformed != 0 || s.Lines != 200 {
		t.Fatalf("stats %+v, want 200 events", s)
	}
	if verbs["get"] == 0 || verbs["create"] == 0 || verbs["patch"] == 0 {
		t.Fatalf("verbs %v: the corpus must hold gets, creates and patches", verbs)
	}
}

// TestReaderMalformed reads a file that mixes good and malformed lines: each malformed line is reported with its
// line number and the reader carries on to the end.
func TestReaderMalformed(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "mixed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, "mixed.jsonl")
	var got []string
	for {
		ev, err := r.Next()
		var le *LineError
		switch {
		case err == nil:
			got = append(got, "event "+string(ev.Stage))
		case errors.As(err, &le):
			got = append(got, le.Error()[:min(len(le.Error()), 40)])
		default:
			if err.Error() != "EOF" {
				t.Fatalf("Next: %v", err)
			}
			want := []string{
				"event ResponseComplete",
				"mixed.jsonl:2: Event is not valid JSON: ",
				"mixed.jsonl:4: apiVersion: is \"audit.k8s",
				"mixed.jsonl:5: auditID: missing: every a",
				"event ResponseComplete",
				"mixed.jsonl:7: verb: Event is not valid ",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if s := r.Stats(); s.Events != 2 || s.Malformed != 4 || s.Lines != 7 {
				t.Fatalf("stats %+v", s)
			}
			return
		}
	}
}

func TestReaderLongLine(t *testing.T) {
	ok := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Panic","verb":"get"}`
	long := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"b","stage":"Panic","verb":"get","annotations":{"x":"` + strings.Repeat("y", 300<<10) + `"}}`
	in := ok + "\n" + long + "\n" + ok + "\n" + long // the last long line has no newline
	for _, tc := range []struct {
		max        int
		wantEvents int64
	}{{1 << 20, 4}, {200 << 10, 2}} {
		r := NewReader(strings.NewReader(in), "long")
		r.SetMaxLineBytes(tc.max)
		var tooLong int
		for {
			_, err := r.Next()
			if err == nil {
				continue
			}
			if errors.Is(err, ErrLineTooLong) {
				tooLong++
				continue
			}
			if err.Error() != "EOF" {
				t.Fatalf("max %d: %v", tc.max, err)
			}
			break
		}
		if s := r.Stats(); s.Events != tc.wantEvents || int(s.Malformed) != tooLong || s.Malformed != 4-tc.wantEvents {
			t.Fatalf("max %d: stats %+v, %d too long", tc.max, s, tooLong)
		}
	}
}

// refOptions decode with the same flags as decodeOptions but through the API types' own UnmarshalJSON methods
// (metav1.MicroTime, runtime.Unknown) instead of wireEvent's: the reference for the fuzz target.
var refOptions = json.JoinOptions(json.MatchCaseInsensitiveNames(false), jsontext.AllowDuplicateNames(false), jsontext.AllowInvalidUTF8(true))

// FuzzDecodeEvent: DecodeEvent never panics; it returns an event with the required fields or a *DecodeError whose
// offset lies in the input; and the decoder reads exactly what the reference reading does (the same flags, the
// API types' own UnmarshalJSON methods) except for duplicate names inside a body, which it keeps on purpose.
func FuzzDecodeEvent(f *testing.F) {
	seedLines(f, "corpus.jsonl", 20)
	seedLines(f, "mixed.jsonl", 10)
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"requestObject":1}`, `{"stageTimestamp":""}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Panic","verb":"get","requestObject":{"a":1,"a":2},"stageTimestamp":"2026-02-29T00:00:00.000000Z"}`,
		`{"auditID":"a","stage":"Panic","verb":"get","verb":"x","requestReceivedTimestamp":null,"responseObject":null}`,
		"{\"auditID\":\"\xff\",\"stage\":\"Panic\",\"verb\":\"get\",\"userAgent\":\"\\ud800\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			var de *DecodeError
			if ev != nil || err.Error() == "" || !errors.As(err, &de) || de.Offset < -1 || de.Offset > int64(len(data)) {
				t.Fatalf("error %q (%T) with event %v", err, err, ev)
			}
		} else if ev.AuditID == "" || ev.Verb == "" || ev.APIVersion != APIVersion || ev.Kind != "Event" {
			t.Fatalf("accepted an event without the required fields: %+v", ev)
		}

		var got, want auditv1.Event
		gotErr := UnmarshalEvent(data, &got)
		wantErr := json.Unmarshal(data, &want, refOptions)
		switch {
		case gotErr == nil && wantErr == nil:
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %+v, the reference %+v", got, want)
			}
		case gotErr != nil && wantErr == nil:
			t.Fatalf("refused what the reference reads: %v", gotErr)
		case gotErr == nil:
			// Only a duplicate name inside a body, which the reference refuses.
			var syn *jsontext.SyntacticError
			if !errors.As(wantErr, &syn) || !errors.Is(wantErr, jsontext.ErrDuplicateName) || !inBody(syn.JSONPointer) {
				t.Fatalf("accepted what the reference refuses: %v", wantErr)
			}
		}
	})
}

func inBody(p jsontext.Pointer) bool {
	for tok := range p.Tokens() {
		return tok == "requestObject" || tok == "responseObject"
	}
	return false
}

// FuzzParseMicro: the fast path of the timestamp parser gives time.Parse's result, or its error.
func FuzzParseMicro(f *testing.F) {
	for _, s := range []string{"2026-11-24T06:00:00.000001Z", "2024-02-29T23:59:59.999999Z", "2023-02-29T00:00:00.000000Z",
		"2026-13-01T00:00:00.000000Z", "2026-01-01T24:00:00.000000Z", "2026-01-01T00:60:00.000000Z", "2026-01-01T00:00:60.000000Z",
		"2026-01-00T00:00:00.000000Z", "2026-01-01T00:00:00.000000+01:00", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z",
		"0000-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.00000aZ", "+026-01-01T00:00:00.000000Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := parseMicro(s)
		want, wantErr := time.Parse(metav1.RFC3339Micro, s)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: error %v, time.Parse's %v", s, gotErr, wantErr)
		}
		gotZone, gotOff := got.Zone()
		wantZone, wantOff := want.Zone()
		if !got.Equal(want) || gotZone != wantZone || gotOff != wantOff || got.Location().String() != want.Location().String() {
			t.Fatalf("%q: %v, time.Parse's %v", s, got, want)
		}
	})
}

// TestDecodeOptions pins the choices decodeOptions makes where v1 and v2 differ (see its comment).
func TestDecodeOptions(t *testing.T) {
	const head = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"patch"`
	// A patch body is kept verbatim, duplicates, invalid UTF-8 and all.
	body := "{\"metadata\":{\"labels\":{\"p\":\"1\",\"p\":null}},\"x\":\"\xff\"}"
	ev, err := DecodeEvent([]byte(head + `,"requestObject":` + body + `,"responseObject":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.RequestObject == nil || string(ev.RequestObject.Raw) != body || ev.RequestObject.ContentType != "application/json" || ev.ResponseObject != nil {
		t.Errorf("request body %+v, response %+v: want the body verbatim and no response", ev.RequestObject, ev.ResponseObject)
	}
	// Invalid UTF-8 in the event's own strings reads as U+FFFD, as in v1.
	ev, err = DecodeEvent([]byte(head + ",\"userAgent\":\"curl\xff\"}"))
	if err != nil || ev.UserAgent != "curl\uFFFD" {
		t.Errorf("userAgent %q, %v: want curl and U+FFFD", ev.UserAgent, err)
	}
	// A member in another case is not the member (v1 matched it case-insensitively).
	ev, err = DecodeEvent([]byte(head + `,"objectRef":{"resource":"pods","Resource":"secrets"},"USERAGENT":"x"}`))
	if err != nil || ev.ObjectRef.Resource != "pods" || ev.UserAgent != "" {
		t.Errorf("objectRef %+v, userAgent %q, %v: want pods and no userAgent", ev.ObjectRef, ev.UserAgent, err)
	}
	// Timestamps: the API server's form, null, and other RFC 3339 forms refused as metav1.MicroTime refuses them.
	ev, err = DecodeEvent([]byte(head + `,"requestReceivedTimestamp":null,"stageTimestamp":"2026-11-24T06:00:00.000002Z"}`))
	if err != nil || !ev.RequestReceivedTimestamp.IsZero() || !ev.StageTimestamp.Time.Equal(time.Date(2026, 11, 24, 6, 0, 0, 2000, time.UTC)) || ev.StageTimestamp.Location() != time.Local {
		t.Errorf("timestamps %v, %v (%v): want zero and 06:00:00.000002 UTC in local time", ev.RequestReceivedTimestamp, ev.StageTimestamp, err)
	}
	if _, err := DecodeEvent([]byte(head + `,"stageTimestamp":"2026-11-24T06:00:00Z"}`)); err == nil || !strings.Contains(err.Error(), "stageTimestamp: parsing time") {
		t.Errorf("a timestamp without microseconds: %v, want the parse error", err)
	}
}

func FuzzDecodeEventList(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "eventlist.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, s := range []string{``, `{}`, `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}`, `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := DecodeEventList(data)
		if err != nil {
			if list != nil || err.Error() == "" {
				t.Fatalf("error %q with list %v", err, list)
			}
			return
		}
		for i, ev := range list.Items {
			if ev.AuditID == "" || ev.Verb == "" || ev.Stage == "" {
				t.Fatalf("accepted item %d without the required fields: %+v", i, ev)
			}
		}
	})
}

func seedLines(f *testing.F, name string, n int) {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if i >= n {
			break
		}
		f.Add([]byte(line))
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		lines = append(lines, []byte(l))
	}
	b.SetBytes(int64(len(data)) / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	var ev *auditv1.Event
	for i := 0; b.Loop(); i++ {
		ev, err = DecodeEvent(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
	}
	_ = ev
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestReaderReadError: an error of the underlying reader ends the stream with the error, wrapped with the position.
func TestReaderReadError(t *testing.T) {
	ok := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"Panic","verb":"get"}` + "\n"
	boom := errors.New("disk gone")
	r := NewReader(io.MultiReader(strings.NewReader(ok+`{"kind":`), iotest.ErrReader(boom)), "audit.log")
	if ev, err := r.Next(); err != nil || ev.AuditID != "a" {
		t.Fatalf("first Next: %v", err)
	}
	_, err := r.Next()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "audit.log at line 2") {
		t.Fatalf("second Next: %v, want the read error at line 2", err)
	}
}

// TestTolerantDecode: audit.k8s.io/v1beta1 events (archived logs, other tools' fixtures) and complete events without
// apiVersion and kind are read as v1, and counted.
func TestTolerantDecode(t *testing.T) {
	before := Stats()
	v1beta1 := `{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2019-01-01T00:00:00Z"},"level":"Metadata","timestamp":"2019-01-01T00:00:00Z","auditID":"b1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets","verb":"list","user":{"username":"mallory"},"objectRef":{"resource":"secrets","namespace":"kube-system","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2019-01-01T00:00:00.000000Z","stageTimestamp":"2019-01-01T00:00:00.100000Z"}`
	untyped := `{"level":"Metadata","auditID":"u1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/5gc/pods/p/exec?command=sh","verb":"create","user":{"username":"mallory"},"objectRef":{"resource":"pods","namespace":"5gc","name":"p","subresource":"exec"}}`
	for _, doc := range []string{v1beta1, untyped} {
		ev, err := DecodeEvent([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc[:40], err)
		}
		if ev.APIVersion != APIVersion || ev.Kind != "Event" || ev.User.Username != "mallory" || ev.ObjectRef == nil {
			t.Errorf("%s: decoded as %+v", doc[:40], ev)
		}
	}
	list, err := DecodeEventList([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[` + v1beta1 + `]}`))
	if err != nil || len(list.Items) != 1 || list.APIVersion != APIVersion || list.Items[0].APIVersion != APIVersion {
		t.Fatalf("v1beta1 list: %+v %v", list, err)
	}
	after := Stats()
	if after.V1beta1-before.V1beta1 != 2 || after.Untyped-before.Untyped != 1 {
		t.Errorf("counted %+v → %+v; want 2 v1beta1 and 1 untyped", before, after)
	}
}

// TestDecodeBodyOwnsItsBytes: requestObject's bytes are the event's own, not a window on the input: the readers
// decode each line from a buffer they reuse for the next one.
func TestDecodeBodyOwnsItsBytes(t *testing.T) {
	line := []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"create","requestObject":{"kind":"Pod","metadata":{"name":"upf-0"}},"responseObject":{"kind":"Pod"}}`)
	ev, err := DecodeEvent(line)
	if err != nil {
		t.Fatal(err)
	}
	req, resp := string(ev.RequestObject.Raw), string(ev.ResponseObject.Raw)
	for i := range line {
		line[i] = 'x'
	}
	if string(ev.RequestObject.Raw) != req || string(ev.ResponseObject.Raw) != resp || req != `{"kind":"Pod","metadata":{"name":"upf-0"}}` {
		t.Fatalf("the bodies changed with the input: %s, %s", ev.RequestObject.Raw, ev.ResponseObject.Raw)
	}
}
