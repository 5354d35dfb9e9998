package file

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// inventoryText is a valid inventory whose one instance has the given id.
func inventoryText(id string) string {
	return fmt.Sprintf("apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfInstances:\n  - {id: %s, vnfdId: upf-vnfd, instantiationState: NOT_INSTANTIATED}\n", id)
}

const badText = "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfInstances:\n  - {id: broken, vnfdId: upf-vnfd, instantiationState: RUNNING}\n"

// logBuffer collects the source's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// harness runs a Source over a file and reports each new snapshot.
type harness struct {
	t       *testing.T
	src     *Source
	changes chan *vnf.Snapshot
	logs    *logBuffer
}

func start(t *testing.T, path string, configure func(*Source)) *harness {
	t.Helper()
	logs := &logBuffer{}
	src, err := NewSource(path, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, src: src, changes: make(chan *vnf.Snapshot, 16), logs: logs}
	// The hook calls back into the source, as a caller reporting the reload would: it must not deadlock.
	src.OnChange = func(s *vnf.Snapshot) { _ = src.LastError(); h.changes <- s }
	src.PollInterval = time.Minute // the watch, not the poll, must see changes
	if configure != nil {
		configure(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := src.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(50 * time.Millisecond) // let Run add its watches before the test changes anything
	return h
}

// waitFor waits for the snapshot holding instance id and returns how long it took.
func (h *harness) waitFor(id string, since time.Time) time.Duration {
	h.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case snap := <-h.changes:
			if _, ok := snap.Instance(id); ok {
				if h.src.Snapshot() != snap {
					h.t.Errorf("OnChange got a snapshot that is not the one in force")
				}
				return time.Since(since)
			}
		case <-timeout:
			h.t.Fatalf("no snapshot with instance %s; in force: %+v, last error: %v", id, h.src.Snapshot().Instances(), h.src.LastError())
		}
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSourceReloads(t *testing.T) {
	tests := []struct {
		name string
		// setup lays the file out and returns the path to watch; change replaces its content.
		setup  func(t *testing.T, dir, text string) string
		change func(t *testing.T, dir, path, text string)
		poll   bool
	}{
		{
			name:  "atomic rename",
			setup: plainFile,
			change: func(t *testing.T, dir, path, text string) {
				tmp := filepath.Join(dir, ".inventory.yaml.tmp")
				write(t, tmp, text)
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:  "in-place write",
			setup: plainFile,
			change: func(t *testing.T, dir, path, text string) {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
				if err != nil {
					t.Fatal(err)
				}
				// Two writes with a pause: a reader in between sees half a file and must not give up on it.
				half := len(text) / 2
				if _, err := f.WriteString(text[:half]); err != nil {
					t.Fatal(err)
				}
				time.Sleep(30 * time.Millisecond)
				if _, err := f.WriteString(text[half:]); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "ConfigMap symlink swap",
			setup: func(t *testing.T, dir, text string) string {
				configMapVersion(t, dir, "..2025_06_01_09_00_00.1", text)
				mustSymlink(t, "..2025_06_01_09_00_00.1", filepath.Join(dir, "..data"))
				mustSymlink(t, "..data/inventory.yaml", filepath.Join(dir, "inventory.yaml"))
				return filepath.Join(dir, "inventory.yaml")
			},
			change: func(t *testing.T, dir, path, text string) {
				// What the kubelet does: a new timestamped directory, a new ..data symlink renamed over the old.
				data := filepath.Join(dir, "..data")
				previous, err := os.Readlink(data)
				if err != nil {
					t.Fatal(err)
				}
				next := fmt.Sprintf("..2025_06_01_09_05_00.%d", time.Now().UnixNano())
				configMapVersion(t, dir, next, text)
				mustSymlink(t, next, filepath.Join(dir, "..data_tmp"))
				if err := os.Rename(filepath.Join(dir, "..data_tmp"), data); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Join(dir, previous)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "symlink to a file in another directory",
			setup: func(t *testing.T, dir, text string) string {
				target := filepath.Join(t.TempDir(), "inventory.yaml")
				write(t, target, text)
				mustSymlink(t, target, filepath.Join(dir, "inventory.yaml"))
				return filepath.Join(dir, "inventory.yaml")
			},
			change: func(t *testing.T, dir, path, text string) {
				target, err := filepath.EvalSymlinks(path)
				if err != nil {
					t.Fatal(err)
				}
				write(t, target, text)
			},
		},
		{
			name:  "poll without a watch",
			setup: plainFile,
			change: func(t *testing.T, dir, path, text string) {
				write(t, path, text)
			},
			poll: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir, inventoryText("v1"))
			h := start(t, path, func(s *Source) {
				if tt.poll {
					s.noWatch = true
					s.PollInterval = 50 * time.Millisecond
				}
			})
			first := h.src.Snapshot()
			if _, ok := first.Instance("v1"); !ok || !first.Loaded {
				t.Fatalf("initial snapshot = %+v (last error %v)", first, h.src.LastError())
			}
			for _, id := range []string{"v2", "v3"} {
				began := time.Now()
				tt.change(t, dir, path, inventoryText(id))
				latency := h.waitFor(id, began)
				t.Logf("%s: change seen after %v", id, latency)
			}
			if err := h.src.LastError(); err != nil {
				t.Errorf("LastError = %v after good edits", err)
			}
			if got := h.logs.lines("rejected"); len(got) != 0 {
				t.Errorf("a good edit was logged as rejected: %v", got)
			}
		})
	}
}

func plainFile(t *testing.T, dir, text string) string {
	path := filepath.Join(dir, "inventory.yaml")
	write(t, path, text)
	return path
}

func configMapVersion(t *testing.T, dir, name, text string) {
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, name, "inventory.yaml"), text)
}

func mustSymlink(t *testing.T, target, link string) {
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// A bad edit keeps the last good snapshot, says so once, and a later good edit recovers.
func TestSourceBadEditKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := plainFile(t, dir, inventoryText("good-1"))
	h := start(t, path, nil)
	good := h.src.Snapshot()

	write(t, path, badText)
	deadline := time.Now().Add(5 * time.Second)
	for h.src.LastError() == nil {
		if time.Now().After(deadline) {
			t.Fatal("bad edit not noticed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if h.src.Snapshot() != good {
		t.Fatalf("bad edit replaced the snapshot")
	}
	wantErr := path + `:4: vnfInstances[0].instantiationState: "RUNNING" is not a SOL003 instantiation state`
	if err := h.src.LastError(); !strings.Contains(err.Error(), wantErr) {
		t.Errorf("LastError = %v, want %q", err, wantErr)
	}
	// Polls and repeated reloads of the same bad content must not repeat the log line.
	for i := 0; i < 3; i++ {
		if err := h.src.Reload(context.Background()); err == nil {
			t.Fatal("Reload of bad content returned no error")
		}
	}
	rejected := h.logs.lines("the previous version stays in force")
	if len(rejected) != 1 {
		t.Fatalf("rejection logged %d times: %v", len(rejected), rejected)
	}
	for _, want := range []string{`"level":"ERROR"`, `"versionInForce":"` + good.Version + `"`, `"versionAge":"`, `"line":4`, `"path":"vnfInstances[0].instantiationState"`, `"file":"` + path + `"`} {
		if !strings.Contains(rejected[0], want) {
			t.Errorf("log line %s lacks %s", rejected[0], want)
		}
	}

	write(t, path, inventoryText("good-2"))
	h.waitFor("good-2", time.Now())
	if err := h.src.LastError(); err != nil {
		t.Errorf("LastError after recovery = %v", err)
	}
}

// Going back to the content in force clears the error without a new snapshot.
func TestSourceRevertToGoodClearsError(t *testing.T) {
	dir := t.TempDir()
	path := plainFile(t, dir, inventoryText("good-1"))
	logs := &logBuffer{}
	src, err := NewSource(path, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	good := src.Snapshot()
	write(t, path, badText)
	if err := src.Reload(context.Background()); err == nil {
		t.Fatal("bad content accepted")
	}
	write(t, path, inventoryText("good-1"))
	if err := src.Reload(context.Background()); err != nil {
		t.Fatalf("revert: %v", err)
	}
	if src.Snapshot() != good {
		t.Error("revert to the same content made a new snapshot")
	}
	if len(logs.lines("back to the version in force")) != 1 {
		t.Errorf("revert not logged: %s", logs.buf.String())
	}
}

// A file missing at start leaves the source unloaded (fail closed) until it appears.
func TestSourceMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inventory.yaml")
	h := start(t, path, nil)
	snap := h.src.Snapshot()
	if snap.Loaded || snap.Source != "file:"+path || snap.Len() != 0 {
		t.Fatalf("snapshot before the file exists = %+v", snap)
	}
	if err := h.src.LastError(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("LastError = %v", err)
	}
	if len(h.logs.lines("no inventory is in force")) != 1 {
		t.Errorf("missing file not logged once: %s", h.logs.buf.String())
	}
	began := time.Now()
	write(t, path, inventoryText("late"))
	t.Logf("created file seen after %v", h.waitFor("late", began))
	if !h.src.Snapshot().Loaded {
		t.Error("snapshot not loaded")
	}
}

func TestNewSourceNeedsPath(t *testing.T) {
	if _, err := NewSource("", nil); err == nil {
		t.Fatal("empty path accepted")
	}
}
