package vnf

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func upfAt(state OperationalState, instantiation InstantiationState) *Instance {
	return &Instance{ID: "upf-1", VnfdID: "vnfd-upf", VnfProductName: "UPF", InstantiationState: instantiation,
		InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: state, Metadata: map[string]any{"namespace": "5gc"},
			VnfcResourceInfo: []VnfcResourceInfo{{ID: "c1", ComputeResource: ResourceHandle{ResourceID: "upf-0", VimLevelResourceType: "StatefulSet"}}}},
		DeclaredImages: []DeclaredImage{{Name: "upf", Image: "registry.local/upf@sha256:" + strings.Repeat("a", 64)}}}
}

// The history of a UPF that ran, was stopped and terminated, written as serve writes it and read back: each
// moment answers with the state of its own time, and what vnfguard derived survives.
func TestTimelineRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := OpenHistoryWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	terminated := upfAt(Stopped, NotInstantiated)
	terminated.TerminationRequested, terminated.TerminatedAt = true, &[]time.Time{t0.Add(2 * time.Minute)}[0]
	snaps := []*Snapshot{
		NewSnapshot("file:inv.yaml", "v1", t0, []*Instance{upfAt(Started, Instantiated)}),
		NewSnapshot("file:inv.yaml", "v2", t0.Add(time.Minute), []*Instance{upfAt(Stopped, Instantiated)}),
		NewSnapshot("file:inv.yaml", "v3", t0.Add(2*time.Minute), []*Instance{terminated}),
	}
	for _, s := range snaps {
		if err := w.Record(s); err != nil {
			t.Fatal(err)
		}
	}
	// A reload that changed nothing is not written again.
	if err := w.Record(NewSnapshot("file:inv.yaml", "v3", t0.Add(3*time.Minute), []*Instance{terminated})); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tl, err := ReadTimelineFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Len() != 3 {
		t.Fatalf("%d records, want 3", tl.Len())
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Hour), "INSTANTIATED"}, // before the history: the oldest
		{t0, "INSTANTIATED"},
		{t0.Add(59 * time.Second), "INSTANTIATED"},
		{t0.Add(time.Minute), "STOPPED"},
		{t0.Add(90 * time.Second), "STOPPED"},
		{t0.Add(time.Hour), "NOT_INSTANTIATED"},
	} {
		inst, ok := tl.SnapshotAt(c.at).Instance("upf-1")
		if !ok || inst.State() != c.want {
			t.Errorf("at %s: state %v, want %s", c.at.Format(time.TimeOnly), inst, c.want)
		}
	}
	last, _ := tl.Snapshot().Instance("upf-1")
	if last.Namespace != "5gc" || len(last.DeclaredImages) != 1 || !last.TerminationRequested || last.TerminatedAt == nil {
		t.Errorf("derived fields lost: namespace %q, images %v, termination %v %v", last.Namespace, last.DeclaredImages, last.TerminationRequested, last.TerminatedAt)
	}
	if got, ok := tl.SnapshotAt(t0).ByResource("5gc", "upf-0"); !ok || got.ID != "upf-1" {
		t.Errorf("resource index not rebuilt: %v", got)
	}
}

func TestReadTimelineErrors(t *testing.T) {
	good := `{"loadedAt":"2026-12-05T10:00:00Z","source":"s","instances":[]}`
	for _, c := range []struct{ name, data, want string }{
		{"empty", "", "no records"},
		{"blank lines only", "\n\n", "no records"},
		{"truncated last line", good + "\n" + good[:30], "line 2: not a record"},
		{"no time", `{"source":"s","instances":[]}`, "line 1: loadedAt is missing"},
		{"no instances", `{"loadedAt":"2026-12-05T10:00:00Z","source":"s"}`, "line 1: instances is missing"},
		{"instance without id", `{"loadedAt":"2026-12-05T10:00:00Z","instances":[{"vnfdId":"x"}]}`, "line 1: instances[0]: id is missing"},
		{"instance of the wrong shape", `{"loadedAt":"2026-12-05T10:00:00Z","instances":[{"id":7}]}`, "line 1: instances[0]:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTimeline(strings.NewReader(c.data), "h.jsonl")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "h.jsonl") {
				t.Fatalf("error %v, want one naming h.jsonl and %q", err, c.want)
			}
		})
	}
}

// Records written out of order (two writers, or a file assembled by hand) are placed by their time.
func TestReadTimelineOrdersRecords(t *testing.T) {
	data := `{"loadedAt":"2026-12-05T10:01:00Z","instances":[{"id":"a","vnfdId":"d","instantiationState":"NOT_INSTANTIATED"}]}
{"loadedAt":"2026-12-05T10:00:00Z","instances":[{"id":"a","vnfdId":"d","instantiationState":"INSTANTIATED","instantiatedVnfInfo":{"vnfState":"STARTED"}}]}`
	tl, err := ReadTimeline(strings.NewReader(data), "h")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 10, 0, 30, 0, time.UTC)
	if inst, _ := tl.SnapshotAt(at).Instance("a"); inst.State() != "INSTANTIATED" {
		t.Errorf("at 10:00:30: %s, want INSTANTIATED", inst.State())
	}
	if inst, _ := tl.Snapshot().Instance("a"); inst.State() != "NOT_INSTANTIATED" {
		t.Errorf("newest: %s, want NOT_INSTANTIATED", inst.State())
	}
}

// A recorder set on a History gets the snapshot in force at once and every later one.
func TestHistoryRecorder(t *testing.T) {
	var h History
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	h.Add(NewSnapshot("s", "v1", t0, nil))
	var got []string
	h.SetRecorder(func(s *Snapshot) { got = append(got, s.Version) })
	h.Add(NewSnapshot("s", "v2", t0.Add(time.Second), nil))
	if strings.Join(got, ",") != "v1,v2" {
		t.Errorf("recorded %v, want v1,v2", got)
	}
}

func FuzzReadTimeline(f *testing.F) {
	f.Add([]byte(`{"loadedAt":"2026-12-05T10:00:00Z","source":"s","instances":[{"id":"a","vnfdId":"d","instantiationState":"INSTANTIATED","instantiatedVnfInfo":{"vnfState":"STOPPED"},"x-vnfguard":{"namespace":"5gc"}}]}`))
	f.Add([]byte("\n{}\n"))
	f.Add([]byte(`{"loadedAt":"2026-12-05T10:00:00Z","instances":[null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := ReadTimeline(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if tl.Len() == 0 || tl.Snapshot() == nil || tl.SnapshotAt(time.Time{}) == nil {
			t.Fatal("a timeline read without error must hold a snapshot")
		}
	})
}

// An instance's lifecycle read from the history: a state per change, Deleted once the VNFM stops listing it, and
// nothing before it first appears.
func TestTimelineLifecycle(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	terminated := upfAt(Stopped, NotInstantiated)
	tl := &Timeline{snaps: []*Snapshot{
		NewSnapshot("sol003", "v0", t0.Add(-time.Minute), nil),
		NewSnapshot("sol003", "v1", t0, []*Instance{upfAt(Started, Instantiated)}),
		NewSnapshot("sol003", "v1b", t0.Add(30*time.Second), []*Instance{upfAt(Started, Instantiated)}),
		NewSnapshot("sol003", "v2", t0.Add(time.Minute), []*Instance{upfAt(Stopped, Instantiated)}),
		NewSnapshot("sol003", "v3", t0.Add(2*time.Minute), []*Instance{terminated}),
		NewSnapshot("sol003", "v4", t0.Add(3*time.Minute), nil),
	}}
	got := tl.Lifecycle("upf-1")
	want := []StateChange{{t0, "INSTANTIATED"}, {t0.Add(time.Minute), "STOPPED"}, {t0.Add(2 * time.Minute), "NOT_INSTANTIATED"}, {t0.Add(3 * time.Minute), Deleted}}
	if len(got) != len(want) {
		t.Fatalf("lifecycle %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].State != want[i].State {
			t.Errorf("change %d: %v, want %v", i, got[i], want[i])
		}
	}
	if l := tl.Lifecycle("unknown"); len(l) != 0 {
		t.Errorf("an instance never listed: %v", l)
	}
}
