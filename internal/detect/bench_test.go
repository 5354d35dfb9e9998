package detect

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/rules"

	"k8s.io/apimachinery/pkg/types"
)

// The corpus is 200 recorded-shape audit events (testdata/corpus.jsonl): kubelet and controller traffic, lease
// renewals, the VNFM's reads, pod creates with bodies, and some attacks. Each event is decoded with
// audit.DecodeEvent, the decoder every intake uses (the log reader and tail for each line, the queue consumer
// through audit.UnmarshalEvent, the webhook receiver per list item). BenchmarkEngine decodes and evaluates them
// through the full built-in pack; BenchmarkDecodeOnly only decodes, the floor no detector goes below;
// BenchmarkEvaluate only evaluates. Compare their events/s in one run:
//
//	go test ./internal/detect -run '^$' -bench 'Engine$|DecodeOnly|Evaluate$' -cpu 1
//
// Each also reports events/cpu-s, events per second of the process's CPU time: on a machine busy with other work
// the wall-clock rate falls while this one holds, and "per core" is what it means.
//
// The ratio itself is best read from BenchmarkEngineAgainstFloor, which alternates the two within one run.

func corpusLines(b *testing.B) [][]byte {
	b.Helper()
	data, err := os.ReadFile("testdata/corpus.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// builtinSuites is the built-in pack and the rule test suites under rules/tests.
func builtinSuites(tb testing.TB) ([]*Rule, []*Suite) {
	tb.Helper()
	pack, err := Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	suites, err := LoadSuites(rules.FS, "tests")
	if err != nil {
		tb.Fatal(err)
	}
	return pack, suites
}

// suitesEngine is a new engine for pack in the world of the last of the rule test suites (a running, a stopped and
// a terminated instance), the world of the benchmarks.
func suitesEngine(tb testing.TB, pack []*Rule, suites []*Suite) *Engine {
	tb.Helper()
	e, err := suites[len(suites)-1].Engine(pack)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// benchEngine is the built-in pack in the world of the rule tests (a running, a stopped and a terminated instance).
func benchEngine(tb testing.TB) *Engine {
	tb.Helper()
	pack, suites := builtinSuites(tb)
	return suitesEngine(tb, pack, suites)
}

// decodeLine is the production decode of one line, for the benchmarks.
func decodeLine(b *testing.B, line []byte) *auditv1.Event {
	ev, err := audit.DecodeEvent(line)
	if err != nil {
		b.Fatal(err)
	}
	return ev
}

// BenchmarkDecodeOnly measures audit.DecodeEvent alone over the corpus lines: the whole event decoded and checked
// into the *auditv1.Event that Engine.Evaluate takes, request and response bodies kept as raw JSON (runtime.Unknown)
// as the engine receives them. It is the same decoder and the same output BenchmarkEngine starts from, so the
// ratio of their events/s is the share of the work that is detection's; decoding a body into a map is detection's
// work, done only for the events a rule reads the body of.
func BenchmarkDecodeOnly(b *testing.B) {
	lines := corpusLines(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportRate(b)()
	for i := 0; b.Loop(); i++ {
		decodeLine(b, lines[i%len(lines)])
	}
}

// BenchmarkDecodeBesideEngine is BenchmarkDecodeOnly in the process a detector runs in: the engine of
// BenchmarkEngine is built first and kept, so that the collector marks its rules and programs (and cel-go's parser
// tables, built when the first rule is compiled) in every cycle, as it does in production, where no decoder runs
// without the engine. The floor proper stays BenchmarkDecodeOnly; this says how much of the gap between it and
// BenchmarkEngine is the engine's memory alone.
func BenchmarkDecodeBesideEngine(b *testing.B) {
	lines := corpusLines(b)
	e := benchEngine(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportRate(b)()
	for i := 0; b.Loop(); i++ {
		decodeLine(b, lines[i%len(lines)])
	}
	runtime.KeepAlive(e)
}

// BenchmarkEngine is detection as production runs it on a JSON line: audit.DecodeEvent, then Engine.Evaluate.
func BenchmarkEngine(b *testing.B) {
	lines := corpusLines(b)
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportRate(b)()
	findings := 0
	for i := 0; b.Loop(); i++ {
		fs, err := e.Evaluate(ctx, decodeLine(b, lines[i%len(lines)]))
		if err != nil {
			b.Fatal(err)
		}
		findings += len(fs)
	}
	if b.N >= len(lines) && findings == 0 {
		b.Fatal("the corpus produced no findings: the benchmark measures nothing")
	}
	if st := e.Stats(); len(st.RuleErrors) > 0 {
		b.Fatalf("rule errors over the corpus: %v", st.RuleErrors)
	}
}

// BenchmarkEngineAgainstFloor measures the ratio BenchmarkEngine and BenchmarkDecodeOnly are compared for, in one
// loop: each op is a pass of the decoder alone over the corpus and a pass of decode-then-evaluate over it, in turns
// (every other op the other way round), each pass timed. On a shared machine the speed of the CPU drifts by tens of
// percent between runs of a few seconds, so separate benchmarks give ratios of 0.5 to 0.9 for the same code; passes
// of a millisecond or two alternated within one run see the same machine, and the ratio they report moves by about
// a hundredth. The collector's work falls on whichever pass is allocating, in proportion to what each allocates,
// as it does between the two benchmarks. It reports floor-ns/event, engine-ns/event and ratio (floor over engine:
// the share of the floor's rate detection keeps).
//
//	go test ./internal/detect -run '^$' -bench EngineAgainstFloor -cpu 1 -benchtime 3s
func BenchmarkEngineAgainstFloor(b *testing.B) {
	lines := corpusLines(b)
	e := benchEngine(b)
	ctx := context.Background()
	var floor, engine time.Duration
	decodePass := func() {
		start := time.Now()
		for _, l := range lines {
			decodeLine(b, l)
		}
		floor += time.Since(start)
	}
	enginePass := func() {
		start := time.Now()
		for _, l := range lines {
			if _, err := e.Evaluate(ctx, decodeLine(b, l)); err != nil {
				b.Fatal(err)
			}
		}
		engine += time.Since(start)
	}
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			decodePass()
			enginePass()
		} else {
			enginePass()
			decodePass()
		}
	}
	events := float64(b.N * len(lines))
	b.ReportMetric(float64(floor.Nanoseconds())/events, "floor-ns/event")
	b.ReportMetric(float64(engine.Nanoseconds())/events, "engine-ns/event")
	b.ReportMetric(float64(floor)/float64(engine), "ratio")
}

// BenchmarkEvaluate is the rule pack alone, over events decoded once before the timer starts (bodies still raw:
// their decode is part of evaluation).
func BenchmarkEvaluate(b *testing.B) {
	lines := corpusLines(b)
	evs := make([]*auditv1.Event, len(lines))
	for i, l := range lines {
		evs[i] = decodeLine(b, l)
	}
	e := benchEngine(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportRate(b)()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Evaluate(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
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
		evs[i] = *decodeLine(b, l)
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

// BenchmarkReadView is the view of a pod create's body (the 23 of the corpus, 1.0–1.1 KB each), as the decoder
// leaves it: raw JSON of content type JSON, read once by the scanner.
//
//	go test ./internal/detect -run '^$' -bench ReadView -cpu 1
func BenchmarkReadView(b *testing.B) {
	var creates []*auditv1.Event
	for _, l := range corpusLines(b) {
		ev := decodeLine(b, l)
		if ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Subresource == "" {
			creates = append(creates, ev)
		}
	}
	if len(creates) == 0 {
		b.Fatal("the corpus has no pod create")
	}
	var v bodyView
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		readView(creates[i%len(creates)].RequestObject, &v)
		if !v.object {
			b.Fatal("a pod body read as {}")
		}
	}
}
