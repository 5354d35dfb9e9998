package nodesensor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// fakeRuntime is a containerd whose containers, CRI list and events the test sets.
type fakeRuntime struct {
	mu         sync.Mutex
	containers map[string]Container // namespace/id
	cri        map[string]CRIContainer
	criErr     error
	events     chan Event
}

func newFake() *fakeRuntime {
	return &fakeRuntime{containers: map[string]Container{}, cri: map[string]CRIContainer{}, events: make(chan Event, 16)}
}

func (f *fakeRuntime) add(c Container, pod *CRIContainer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[c.Namespace+"/"+c.ID] = c
	if pod != nil {
		f.cri[c.ID] = *pod
	}
}

func (f *fakeRuntime) Containers(context.Context) ([]Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Container
	for _, c := range f.containers {
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeRuntime) Container(_ context.Context, ns, id string) (Container, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[ns+"/"+id]
	return c, ok, nil
}

func (f *fakeRuntime) CRIKnows(context.Context) (map[string]CRIContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.criErr != nil {
		return nil, f.criErr
	}
	out := map[string]CRIContainer{}
	for k, v := range f.cri {
		out[k] = v
	}
	return out, nil
}

func (f *fakeRuntime) Events(context.Context) (<-chan Event, <-chan error) {
	return f.events, make(chan error)
}

// collector gathers what the sensor emits.
type collector struct {
	mu  sync.Mutex
	got []runtimeevent.Event
}

func (c *collector) emit(evs []runtimeevent.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			panic("the sensor emitted an invalid event: " + err.Error())
		}
	}
	c.got = append(c.got, evs...)
}

func (c *collector) waitFor(t *testing.T, match func(runtimeevent.Event) bool) runtimeevent.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, e := range c.got {
			if match(e) {
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no such event among %d", len(c.got))
	return runtimeevent.Event{}
}

var upfPod = &CRIContainer{PodNamespace: "vnf-upf", PodName: "upf-0", PodUID: "u1", Name: "upf"}

func TestInventoryReportsEveryContainerWithItsOrigin(t *testing.T) {
	rt := newFake()
	old := time.Now().Add(-time.Hour)
	// Two execs run in the UPF at containerd's list: probe-1 is still running when its command line is read; probe-2
	// has ended by then (no /proc entry), and its exec-started event reports it, not the inventory.
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: old, Running: true, Pid: 10,
		Execs: []ExecProcess{{ID: "probe-1", Pid: 11}, {ID: "probe-2", Pid: 12}}}, upfPod)
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "11"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "11", "cmdline"), []byte("cat\x00/etc/hostname\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt.add(Container{Namespace: KubeletNamespace, ID: "ctr-made", Created: old, Running: true,
		Labels: map[string]string{labelPodNamespace: "vnf-upf", labelPodName: "upf-0"}}, nil)
	rt.add(Container{Namespace: "moby", ID: "doki", Image: "alpine", Created: old, Running: true}, nil)
	rt.add(Container{Namespace: KubeletNamespace, ID: "young", Created: time.Now()}, nil)
	var got collector
	s, err := New(Options{Runtime: rt, Node: "n1", Emit: got.emit, ProcRoot: proc})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Inventory(context.Background()); err != nil {
		t.Fatal(err)
	}
	origins := map[string]string{}
	for _, e := range got.got {
		if e.Kind == runtimeevent.KindContainer {
			origins[e.Container.ID] = e.Container.Origin
		}
	}
	want := map[string]string{"upf": runtimeevent.OriginCRI, "ctr-made": runtimeevent.OriginContainerd, "doki": runtimeevent.OriginEngine}
	if len(origins) != len(want) {
		t.Fatalf("reported %v, want %v (a container younger than Settle waits for its own event)", origins, want)
	}
	for id, o := range want {
		if origins[id] != o {
			t.Errorf("%s: origin %q, want %q", id, origins[id], o)
		}
	}
	exec := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindExec })
	if exec.Exec.ID != "probe-1" || exec.Container.Pod == nil || exec.Container.Pod.Name != "upf-0" || exec.Container.Pod.Container != "upf" {
		t.Errorf("the running exec found at the inventory: %+v pod %+v", exec.Exec, exec.Container.Pod)
	}
	if !slices.Equal(exec.Exec.Command, []string{"cat", "/etc/hostname"}) || exec.Exec.CommandError != "" {
		t.Errorf("the running exec's command line: %q (%s)", exec.Exec.Command, exec.Exec.CommandError)
	}
	if slices.ContainsFunc(got.got, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindExec && e.Exec.ID == "probe-2" }) {
		t.Error("the exec that ended before its command line could be read was reported by the inventory")
	}
	// The same inventory taken again is a new fact (the VNF's state may have changed meanwhile).
	first := got.got[0].ID
	if err := s.Inventory(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(got.got[len(got.got)/2:], func(e runtimeevent.Event) bool { return e.ID == first }) {
		t.Errorf("a resync reused the ID %s", first)
	}
}

func TestCRIListUnreadableReportsOnlyOtherNamespaces(t *testing.T) {
	rt := newFake()
	old := time.Now().Add(-time.Hour)
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: old}, upfPod)
	rt.add(Container{Namespace: "default", ID: "ctr-run", Created: old}, nil)
	rt.criErr = context.DeadlineExceeded
	var got collector
	s, _ := New(Options{Runtime: rt, Node: "n1", Emit: got.emit})
	if err := s.Inventory(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got.got) != 1 || got.got[0].Container.ID != "ctr-run" || got.got[0].Container.Origin != runtimeevent.OriginEngine {
		t.Fatalf("with the CRI list unreadable: %+v; want only the default-namespace container, as engine-made", got.got)
	}
}

func TestEventsReportNewContainersAndExecs(t *testing.T) {
	rt := newFake()
	var got collector
	s, _ := New(Options{Runtime: rt, Node: "n1", Emit: got.emit, Settle: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	// ctr -n k8s.io run: new, not (yet) listed by the CRI plugin — reported once it has settled.
	rt.add(Container{Namespace: KubeletNamespace, ID: "sneaky", Created: time.Now(), Running: true}, nil)
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/start", ID: "sneaky"}
	e := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Container.ID == "sneaky" })
	if e.Container.Origin != runtimeevent.OriginContainerd || e.Observed != "event" {
		t.Errorf("sneaky: %+v", e.Container)
	}

	// A kubelet container listed at once.
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: time.Now(), Running: true}, upfPod)
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/containers/create", ID: "upf"}
	e = got.waitFor(t, func(e runtimeevent.Event) bool { return e.Container.ID == "upf" })
	if e.Container.Origin != runtimeevent.OriginCRI || e.Container.Pod.Name != "upf-0" {
		t.Errorf("upf: %+v", e.Container)
	}

	// An exec, with the command read from /proc as the event arrived.
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "x1", Pid: 42, Command: []string{"cat", "/data/secret"}}
	e = got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindExec })
	if e.Exec.ID != "x1" || !slices.Equal(e.Exec.Command, []string{"cat", "/data/secret"}) || e.Container.Pod.Container != "upf" {
		t.Errorf("exec: %+v in %+v", e.Exec, e.Container)
	}
	// An exec into a container the runtime no longer knows is still reported.
	rt.events <- Event{Namespace: "moby", Topic: "/tasks/exec-started", ID: "gone", ExecID: "x2", Pid: 43}
	got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindExec && e.Exec.ID == "x2" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReadCommand(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "7", "cmdline"), []byte("sh\x00-c\x00cat /etc/shadow\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readCommand(root, 7)
	if err != nil || !slices.Equal(got, []string{"sh", "-c", "cat /etc/shadow"}) {
		t.Errorf("readCommand = %q, %v", got, err)
	}
	if _, err := readCommand(root, 8); err == nil {
		t.Error("a process that is gone must be an error")
	}
	self, err := readCommand("/proc", uint32(os.Getpid()))
	if err != nil || len(self) == 0 {
		t.Errorf("this test's own command line: %q, %v", self, err)
	}
}

// fakeProbes is a kubelet whose probe counts the test sets.
type fakeProbes struct {
	mu   sync.Mutex
	runs map[string]uint64
	fail int // the next reads that fail, as a busy kubelet's do
}

func (f *fakeProbes) ProbeRuns(context.Context) (map[string]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("kubelet: context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	}
	out := map[string]uint64{}
	for k, v := range f.runs {
		out[k] = v
	}
	return out, nil
}

func (f *fakeProbes) ran(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[key]++
}

// TestUnreadableExecsAreAccountedByTheKubeletsProbeCount: each probe run the kubelet counts accounts for one exec
// whose command could not be read, never for two; the runs before the sensor started account for none.
func TestUnreadableExecsAreAccountedByTheKubeletsProbeCount(t *testing.T) {
	rt := newFake()
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: time.Now().Add(-time.Hour), Running: true}, upfPod)
	readiness := probeKey("vnf-upf", "upf-0", "upf", "Readiness")
	probes := &fakeProbes{runs: map[string]uint64{readiness: 40}} // runs before the sensor started
	var got collector
	s, _ := New(Options{Runtime: rt, Node: "n1", Emit: got.emit, Probes: probes, ProbeWait: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindContainer }) // started

	probes.ran(readiness) // the kubelet probes once ...
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "probe", Pid: 1 << 30}
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "run", Pid: 1<<30 + 1} // ... and /run runs once
	probe := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Exec != nil && e.Exec.ID == "probe" })
	run := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Exec != nil && e.Exec.ID == "run" })
	if accounted := []string{probe.Exec.KubeletProbe, run.Exec.KubeletProbe}; slices.Compact(slices.Sorted(slices.Values(accounted)))[0] != "" ||
		(probe.Exec.KubeletProbe == "") == (run.Exec.KubeletProbe == "") {
		t.Errorf("one probe run must account for exactly one of the two execs: %q", accounted)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestProbeAccountSurvivesAFailedRead: a read of the kubelet's probe counts that fails while an exec waits for
// its account is read again within the wait (in CI a busy kubelet failed one, and a probe was reported unaccounted).
func TestProbeAccountSurvivesAFailedRead(t *testing.T) {
	rt := newFake()
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: time.Now().Add(-time.Hour), Running: true}, upfPod)
	readiness := probeKey("vnf-upf", "upf-0", "upf", "Readiness")
	probes := &fakeProbes{runs: map[string]uint64{readiness: 3}}
	var got collector
	s, _ := New(Options{Runtime: rt, Node: "n1", Emit: got.emit, Probes: probes, ProbeWait: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindContainer }) // started

	probes.mu.Lock()
	probes.fail = 2
	probes.mu.Unlock()
	probes.ran(readiness)
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "probe", Pid: 1 << 30}
	if probe := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Exec != nil && e.Exec.ID == "probe" }); probe.Exec.KubeletProbe != "Readiness" {
		t.Errorf("exec after two failed reads of the probe counts: kubelet probe %q, want Readiness", probe.Exec.KubeletProbe)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestKubeletPosture: a read-only port serving the node's pods without credentials is reported with the exposure
// probe's finding; a kubelet that refuses anonymous requests is reported with none.
func TestKubeletPosture(t *testing.T) {
	readOnly := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pods" {
			_, _ = w.Write([]byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer readOnly.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.Listener.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name    string
		targets []string
		want    string
	}{
		{"read-only port open", []string{strings.TrimPrefix(readOnly.URL, "http://"), closedAddr}, "exposure-probe-kubelet-read-only"},
		{"nothing answers", []string{closedAddr}, ""},
	} {
		var got collector
		s, _ := New(Options{Runtime: newFake(), Node: "n1", Emit: got.emit, KubeletTargets: tc.targets})
		if err := s.Inventory(context.Background()); err != nil {
			t.Fatal(err)
		}
		e := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindKubelet })
		switch {
		case tc.want == "" && len(e.Exposures) > 0:
			t.Errorf("%s: exposures %+v", tc.name, e.Exposures)
		case tc.want != "" && (len(e.Exposures) != 1 || e.Exposures[0].Rule != tc.want || e.Exposures[0].Service != "kubelet-read-only"):
			t.Errorf("%s: exposures %+v, want one %s", tc.name, e.Exposures, tc.want)
		}
	}
}
