package detect

import (
	"bytes"
	"context"
	jsonv1 "encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"reflect"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/rules"
)

// The differential test of the audit decoder: every event of the repository's corpora is decoded the old way
// (encoding/json v1, which the intakes used before encoding/json/v2, kept here only) and the new way
// (audit.UnmarshalEvent, under audit.DecodeEvent, DecodeEventList and the queue), and the two must give the same
// event, field for field, and the same findings from the built-in pack, finding for finding.

func decodeV1(line []byte) (*auditv1.Event, error) {
	ev := &auditv1.Event{}
	if err := jsonv1.Unmarshal(line, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

func decodeV2(line []byte) (*auditv1.Event, error) {
	ev := &auditv1.Event{}
	if err := audit.UnmarshalEvent(line, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// diffLines decodes each non-blank line both ways. Lines both decoders refuse are counted and skipped; a line only
// one of them accepts, or decoded differently, fails the test.
func diffLines(t *testing.T, name string, data []byte) (old, new []*auditv1.Event, refused int) {
	t.Helper()
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		a, errA := decodeV1(line)
		b, errB := decodeV2(line)
		switch {
		case errA != nil && errB != nil:
			refused++
			continue
		case errA != nil || errB != nil:
			t.Errorf("%s:%d: v1 error %v, v2 error %v", name, i+1, errA, errB)
			continue
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s:%d: decoded differently:\nv1 %s\nv2 %s", name, i+1, dump(a), dump(b))
			continue
		}
		old, new = append(old, a), append(new, b)
	}
	return old, new, refused
}

func dump(ev *auditv1.Event) string {
	b, _ := jsonv1.Marshal(ev)
	return fmt.Sprintf("%s (request %v, response %v)", b, ev.RequestObject, ev.ResponseObject)
}

// sameFindings evaluates old and new events each in an engine of its own, built by mk, and compares the findings
// event by event. It returns how many findings there were.
func sameFindings(t *testing.T, name string, mk func() *Engine, old, new []*auditv1.Event) int {
	t.Helper()
	ctx := context.Background()
	a, b := mk(), mk()
	n := 0
	for i := range old {
		fa, err1 := a.Evaluate(ctx, old[i])
		fb, err2 := b.Evaluate(ctx, new[i])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: evaluate: %v, %v", name, err1, err2)
		}
		if !reflect.DeepEqual(fa, fb) {
			t.Errorf("%s: event %d (%s): findings from v1's event %v, from v2's %v", name, i, old[i].AuditID, fa, fb)
		}
		n += len(fa)
	}
	if sa, sb := a.Stats(), b.Stats(); !reflect.DeepEqual(sa, sb) {
		t.Errorf("%s: engine stats from v1's events %+v, from v2's %+v", name, sa, sb)
	}
	return n
}

func TestDecodersAgreeOnCorpora(t *testing.T) {
	pack, suites := builtinSuites(t)
	benchWorld := func() *Engine { return suitesEngine(t, pack, suites) }
	total, findings := 0, 0

	// The JSON-lines corpora, in the benchmark's world.
	for _, name := range []string{"testdata/corpus.jsonl", "testdata/exec-get.json", "testdata/cases/events.jsonl",
		"../audit/testdata/corpus.jsonl", "../audit/testdata/mixed.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		old, new, refused := diffLines(t, name, data)
		if name == "../audit/testdata/mixed.jsonl" && refused == 0 {
			t.Errorf("%s: no line refused by both decoders: its malformed lines decoded", name)
		}
		total += len(old)
		findings += sameFindings(t, name, benchWorld, old, new)
	}

	// The webhook backend's EventList.
	data, err := os.ReadFile("../audit/testdata/eventlist.json")
	if err != nil {
		t.Fatal(err)
	}
	var listV1 auditv1.EventList
	if err := jsonv1.Unmarshal(data, &listV1); err != nil {
		t.Fatal(err)
	}
	listV2, err := audit.DecodeEventList(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(listV1.Items) != len(listV2.Items) || len(listV1.Items) == 0 {
		t.Fatalf("eventlist.json: %d items with v1, %d with v2", len(listV1.Items), len(listV2.Items))
	}
	var oldItems, newItems []*auditv1.Event
	for i := range listV1.Items {
		a, b := &listV1.Items[i], &listV2.Items[i]
		a.APIVersion, a.Kind = audit.APIVersion, "Event" // what DecodeEventList fills in, v1 or v2
		if !reflect.DeepEqual(a, b) {
			t.Errorf("eventlist.json: item %d decoded differently:\nv1 %s\nv2 %s", i, dump(a), dump(b))
		}
		oldItems, newItems = append(oldItems, a), append(newItems, b)
	}
	total += len(oldItems)
	findings += sameFindings(t, "eventlist.json", benchWorld, oldItems, newItems)

	// The audit log recorded from a real API server, in the world it was recorded in (as corpus.Replay runs it).
	raw := corpusFiles(t)[4]
	old, new, refused := diffLines(t, "corpus/testdata/audit.jsonl.gz", raw)
	if refused > 0 {
		t.Errorf("corpus/testdata/audit.jsonl.gz: %d lines of the real API server's log refused", refused)
	}
	env := recordedEnv(t)
	total += len(old)
	findings += sameFindings(t, "recorded corpus", func() *Engine {
		e, err := NewEngine(pack, env)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}, old, new)

	// The rule test suites: each case's events decoded both ways, run in the suite's world; the cases must pass
	// with the new decoder's events too.
	for _, s := range suites {
		for ci, c := range s.Cases {
			var lines [][]byte
			for _, ev := range c.Events {
				lines = append(lines, ev)
			}
			if c.EventsFile != "" {
				data, err := fs.ReadFile(rules.FS, path.Join("tests", c.EventsFile))
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, bytes.Split(data, []byte("\n"))...)
			}
			name := fmt.Sprintf("%s: case %d (%s)", s.File, ci+1, c.Name)
			old, new, refused := diffLines(t, name, bytes.Join(lines, []byte("\n")))
			if refused > 0 {
				t.Errorf("%s: %d events refused by both decoders", name, refused)
			}
			for i := range old {
				for _, ev := range []*auditv1.Event{old[i], new[i]} {
					if ev.Stage == "" {
						ev.Stage = auditv1.StageResponseComplete // as the suites do
					}
				}
			}
			got := map[string]int{}
			mk := func() *Engine {
				e, err := s.Engine(pack)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			e := mk()
			var fs []finding.Finding
			for _, ev := range new {
				out, err := e.Evaluate(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, out...)
			}
			for _, f := range fs {
				got[f.Rule]++
			}
			if p := diffCounts(c.want, got); p != "" {
				t.Errorf("%s: with the new decoder's events: %s", name, p)
			}
			total += len(old)
			findings += sameFindings(t, name, mk, old, new)
		}
	}
	t.Logf("%d events decoded alike, %d findings alike", total, findings)
	if total < 800 || findings < 50 {
		t.Errorf("only %d events and %d findings compared: a corpus went missing", total, findings)
	}
}
