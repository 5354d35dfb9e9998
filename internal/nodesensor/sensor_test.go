package nodesensor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// fakeRuntime is a containerd whose containers, CRI list and events the test sets.
type fakeRuntime struct {
	mu         sync.Mutex
	containers map[string]Container // namespace/id
	cri        map[string]bool
	criErr     error
	events     chan Event
}

func newFake() *fakeRuntime {
	return &fakeRuntime{containers: map[string]Container{}, cri: map[string]bool{}, events: make(chan Event, 16)}
}

func (f *fakeRuntime) add(c Container, viaCRI bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[c.Namespace+"/"+c.ID] = c
	if viaCRI {
		f.cri[c.ID] = true
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

func (f *fakeRuntime) CRIKnows(context.Context) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.criErr != nil {
		return nil, f.criErr
	}
	out := map[string]bool{}
	for k, v := range f.cri {
		out[k] = v
	}
	return out, nil
}

func (f *fakeRuntime) Events(ctx context.Context) (<-chan Event, <-chan error) {
	return f.events, make(chan error)
}

// collector gathers the reported findings.
type collector struct {
	mu sync.Mutex
	fs []finding.Finding
}

func (c *collector) report(fs []finding.Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fs = append(c.fs, fs...)
}

func (c *collector) ids() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, f := range c.fs {
		out[f.Evidence["containerdNamespace"]+"/"+f.Evidence["containerID"]]++
	}
	return out
}

func old() time.Time { return time.Now().Add(-time.Hour) }

func start(t *testing.T, rt Runtime, out *collector, settle time.Duration) context.CancelFunc {
	t.Helper()
	s, err := New(Options{Runtime: rt, Node: "node-1", Report: out.report, Settle: settle, Resync: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return cancel
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// At start the whole inventory is judged: the containers of a Docker Engine and of ctr are reported once each,
// however many resyncs follow; the kubelet's are not. A restarted sensor reports them again (its inventory finds
// what it missed while it was down).
func TestInventoryAtStartAndRestart(t *testing.T) {
	rt := newFake()
	rt.add(Container{Namespace: "k8s.io", ID: "kubelet-made", Created: old(), Running: true}, true)
	rt.add(Container{Namespace: "moby", ID: "doki", Image: "alpine", Created: old(), Running: true, Pid: 42}, false)
	rt.add(Container{Namespace: "k8s.io", ID: "ctr-made", Created: old()}, false)
	out := &collector{}
	stop := start(t, rt, out, time.Second)
	eventually(t, "both rogue containers reported", func() bool { return len(out.ids()) == 2 })
	time.Sleep(200 * time.Millisecond) // several resyncs
	ids := out.ids()
	if ids["moby/doki"] != 1 || ids["k8s.io/ctr-made"] != 1 || ids["k8s.io/kubelet-made"] != 0 {
		t.Fatalf("reported %v; want moby/doki and k8s.io/ctr-made once each, not the kubelet's", ids)
	}
	for _, f := range out.fs {
		if f.Rule != RuleRogueContainer || f.Technique != finding.MaliciousVNFInstantiation || f.Source != "runtime" || f.ID == "" {
			t.Errorf("finding %+v", f)
		}
		if f.Evidence["containerID"] == "doki" && (f.Severity != finding.Critical || f.Evidence["image"] != "alpine") {
			t.Errorf("the running Docker container: severity %s, image %q; want critical, alpine", f.Severity, f.Evidence["image"])
		}
	}
	stop()
	again := &collector{}
	start(t, rt, again, time.Second)
	eventually(t, "the restarted sensor to report both again", func() bool { return len(again.ids()) == 2 })
}

// A container containerd reports created in k8s.io is not reported while the CRI plugin may still be about to list
// it; once it lists it, never. One the plugin never lists is reported after the settle time.
func TestNewContainerSettles(t *testing.T) {
	rt := newFake()
	out := &collector{}
	start(t, rt, out, 300*time.Millisecond)
	rt.add(Container{Namespace: "k8s.io", ID: "kubelet-new", Created: time.Now()}, false)
	rt.events <- Event{Namespace: "k8s.io", Topic: "/containers/create", ID: "kubelet-new"}
	time.Sleep(100 * time.Millisecond)
	rt.mu.Lock()
	rt.cri["kubelet-new"] = true // CreateContainer returned
	rt.mu.Unlock()
	rt.add(Container{Namespace: "k8s.io", ID: "ctr-new", Created: time.Now()}, false)
	rt.events <- Event{Namespace: "k8s.io", Topic: "/containers/create", ID: "ctr-new"}
	eventually(t, "ctr-new reported", func() bool { return out.ids()["k8s.io/ctr-new"] == 1 })
	time.Sleep(400 * time.Millisecond)
	if ids := out.ids(); ids["k8s.io/kubelet-new"] != 0 || len(ids) != 1 {
		t.Errorf("reported %v; want only k8s.io/ctr-new", ids)
	}
}

// When the CRI plugin's list cannot be read, containers in k8s.io are not judged (nothing to judge them by), and
// a container outside k8s.io, which needs no list, still is.
func TestCRIFailureKeepsTheOtherNamespaces(t *testing.T) {
	rt := newFake()
	rt.criErr = errors.New("CRI: unavailable")
	rt.add(Container{Namespace: "k8s.io", ID: "unknown", Created: old()}, false)
	rt.add(Container{Namespace: "moby", ID: "doki", Created: old()}, false)
	out := &collector{}
	start(t, rt, out, time.Second)
	eventually(t, "the Docker container reported", func() bool { return out.ids()["moby/doki"] == 1 })
	time.Sleep(150 * time.Millisecond)
	if ids := out.ids(); len(ids) != 1 {
		t.Errorf("reported %v while the CRI list was unreadable; want only moby/doki", ids)
	}
	rt.mu.Lock()
	rt.criErr = nil
	rt.mu.Unlock()
	eventually(t, "k8s.io/unknown reported once the list is readable", func() bool { return out.ids()["k8s.io/unknown"] == 1 })
}
