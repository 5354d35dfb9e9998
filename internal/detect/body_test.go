package detect

import (
	"bytes"
	"compress/gzip"
	jsonv1 "encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

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

// FuzzDecodeObject holds the body decoder to encoding/json v1's reading on any input: same map, or both {}.
func FuzzDecodeObject(f *testing.F) {
	for i, raw := range corpusBodies(f) {
		if i%5 == 0 { // a sample is enough to seed; the fuzzer mutates from there
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"a":{"x":1},"a":{"y":2},"b":"\ud800"}`))
	f.Add([]byte("{\"k\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := decodeObject(&runtime.Unknown{Raw: raw})
		if want := decodeObjectV1(raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q:\ngot  %#v\nwant %#v", raw, got, want)
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
