package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/rules"

	"k8s.io/apimachinery/pkg/types"
)

// The corpus is 200 recorded-shape audit events (testdata/corpus.jsonl): kubelet and controller traffic, lease
// renewals, the VNFM's reads, pod creates with bodies, and some attacks. BenchmarkEngine decodes and evaluates them
// through the full built-in pack; BenchmarkDecodeOnly only decodes, the floor no detector goes below. Compare
// their events/s in one run:
//
//	go test ./internal/detect -run '^$' -bench 'Engine|DecodeOnly|Evaluate' -cpu 1

func corpusLines(b *testing.B) [][]byte {
	b.Helper()
	data, err := os.ReadFile("testdata/corpus.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// benchEngine is the built-in pack in the world of the rule tests (a running, a stopped and a terminated instance).
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	pack, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	suites, err := LoadSuites(rules.FS, "tests")
	if err != nil {
		b.Fatal(err)
	}
	e, err := suites[len(suites)-1].Engine(pack)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkDecodeOnly(b *testing.B) {
	lines := corpusLines(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ev auditv1.Event
		if err := json.Unmarshal(lines[i%len(lines)], &ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkEngine(b *testing.B) {
	lines := corpusLines(b)
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	findings := 0
	for i := 0; i < b.N; i++ {
		var ev auditv1.Event
		if err := json.Unmarshal(lines[i%len(lines)], &ev); err != nil {
			b.Fatal(err)
		}
		fs, err := e.Evaluate(ctx, &ev)
		if err != nil {
			b.Fatal(err)
		}
		findings += len(fs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if b.N >= len(lines) && findings == 0 {
		b.Fatal("the corpus produced no findings: the benchmark measures nothing")
	}
	if st := e.Stats(); len(st.RuleErrors) > 0 {
		b.Fatalf("rule errors over the corpus: %v", st.RuleErrors)
	}
}

// BenchmarkEvaluate is the rule pack alone, over decoded events.
func BenchmarkEvaluate(b *testing.B) {
	lines := corpusLines(b)
	evs := make([]*auditv1.Event, len(lines))
	for i, l := range lines {
		evs[i] = &auditv1.Event{}
		if err := json.Unmarshal(l, evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Evaluate(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngineMemory checks that the engine's memory stays flat over a long stream: every event gets a fresh
// audit ID and object name (so the pod state, the object memory and the denial counters keep meeting new keys and
// must evict), and the live heap is sampled after the first tenth and at the end. Run it with a fixed count:
//
//	go test -run '^$' -bench EngineMemory -benchtime 10000000x ./internal/detect/
func BenchmarkEngineMemory(b *testing.B) {
	lines := corpusLines(b)
	evs := make([]auditv1.Event, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal(l, &evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	e := benchEngine(b)
	ctx := context.Background()
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	var early float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		ev.AuditID = types.UID("mem-" + strconv.Itoa(i))
		if ev.ObjectRef != nil {
			ref := *ev.ObjectRef
			if ref.Name != "" {
				ref.Name += "-" + strconv.Itoa(i)
			}
			ev.ObjectRef = &ref
		}
		if _, err := e.Evaluate(ctx, &ev); err != nil {
			b.Fatal(err)
		}
		if i == b.N/10 {
			early = heap()
		}
	}
	b.StopTimer()
	b.ReportMetric(early, "heapMB@10%")
	b.ReportMetric(heap(), "heapMB@end")
}
