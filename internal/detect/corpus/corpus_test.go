package corpus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestRecordedCorpus replays the corpus recorded from the real control plane (test/e2e TestCorpus with
// VNFGUARD_RECORD_CORPUS): no finding in a benign window, every procedure found with its technique.
func TestRecordedCorpus(t *testing.T) {
	c, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Replay(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Check(c.Windows, fs) {
		t.Error(p)
	}
	procedures, rules := 0, map[string]bool{}
	for _, w := range c.Windows {
		if !w.Benign {
			procedures++
			for _, e := range w.Expect {
				rules[e.Rule] = true
			}
		}
	}
	if procedures < 5 || len(c.Windows)-procedures < 10 {
		t.Fatalf("%d procedures, %d benign windows: the recorded corpus is incomplete", procedures, len(c.Windows)-procedures)
	}
	t.Logf("%d events, %d windows (%d procedures, %d rules expected), %d findings", len(c.Events), len(c.Windows), procedures, len(rules), len(fs))
}

// The corpus judged with the inventory as it was at the end of the run (every VNF terminated) loses the states the
// events happened in: the timeline is what places them.
func TestCorpusNeedsTheTimeline(t *testing.T) {
	c, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	states := func() map[string]int {
		fs, err := Replay(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, f := range fs {
			if s := f.Evidence["vnfState"]; s != "" {
				out[s]++
			}
		}
		return out
	}
	withTimeline := states()
	if withTimeline["INSTANTIATED"] == 0 || withTimeline["STOPPED"] == 0 {
		t.Fatalf("with the timeline: states %v, want findings on a running and on a STOPPED VNF", withTimeline)
	}
	c.Timeline = timelineOf(t, c.Timeline.Snapshot())
	today := states()
	if today["INSTANTIATED"] != 0 || today["STOPPED"] != 0 {
		t.Errorf("with the final inventory alone: states %v; the run's last inventory still has running or stopped VNFs, so this test shows nothing", today)
	}
	t.Logf("states with the timeline %v, with the final inventory %v", withTimeline, today)
}

// timelineOf is a timeline of one snapshot.
func timelineOf(t *testing.T, s *vnf.Snapshot) *vnf.Timeline {
	t.Helper()
	rec := vnf.RecordOf(s)
	data, err := jsonLine(rec)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := vnf.ReadTimeline(strings.NewReader(data), "final")
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestCheck(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	windows := []Window{
		{Name: "lifecycle", Identity: "tacker", Benign: true, Start: t0, End: t0.Add(time.Second)},
		{Name: "dump", Identity: "mallory", Start: t0.Add(2 * time.Second), End: t0.Add(3 * time.Second),
			Expect: []Expect{{Rule: "secret-dumping", Technique: finding.AccessingTerminatedVNF}}},
	}
	at := func(d time.Duration, rule, technique string) finding.Finding {
		return finding.Finding{Time: t0.Add(d), Rule: rule, Technique: technique}
	}
	for _, c := range []struct {
		name     string
		findings []finding.Finding
		want     string
	}{
		{"as expected", []finding.Finding{at(2500*time.Millisecond, "secret-dumping", finding.AccessingTerminatedVNF)}, ""},
		{"noise in a benign window", []finding.Finding{at(500*time.Millisecond, "exec-any-pod", finding.AccessingTerminatedVNF),
			at(2500*time.Millisecond, "secret-dumping", finding.AccessingTerminatedVNF)}, `benign step "lifecycle"`},
		{"procedure missed", nil, `procedure "dump" (mallory): no secret-dumping`},
		{"wrong technique", []finding.Finding{at(2500*time.Millisecond, "secret-dumping", finding.MaliciousVNFInstantiation)}, "with technique FGT1609.501"},
		{"found outside the window", []finding.Finding{at(4*time.Second, "secret-dumping", finding.AccessingTerminatedVNF)}, "no secret-dumping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(Check(windows, c.findings), "\n")
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), AuditFile) {
		t.Errorf("an empty directory: %v, want an error naming %s", err, AuditFile)
	}
}

func jsonLine(v any) (string, error) {
	data, err := json.Marshal(v)
	return string(data) + "\n", err
}
