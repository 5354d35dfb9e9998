package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// corpusLines returns the first n lines of testdata/corpus.jsonl, each with its newline.
func corpusLines(t testing.TB, n int) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) < n {
		t.Fatalf("corpus has %d lines, want %d", len(lines), n)
	}
	return lines[:n]
}

func auditIDOf(t testing.TB, line string) string {
	t.Helper()
	ev, err := DecodeEvent([]byte(strings.TrimSpace(line)))
	if err != nil {
		t.Fatal(err)
	}
	return string(ev.AuditID)
}

// collector runs Follow in the background and records what it hands out.
type collector struct {
	mu        sync.Mutex
	ids       []string
	malformed int
	done      chan error
	cancel    context.CancelFunc
}

func startFollow(t *testing.T, path string, opts FollowOptions) *collector {
	t.Helper()
	c := &collector{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	opts.PollInterval = 20 * time.Millisecond
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Malformed = func(*LineError) { c.mu.Lock(); c.malformed++; c.mu.Unlock() }
	go func() {
		c.done <- Follow(ctx, path, func(ev *auditv1.Event) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.ids = append(c.ids, string(ev.AuditID))
			return nil
		}, opts)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-c.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	})
	return c
}

// waitFor waits until the collector holds n events and m malformed lines, failing after 10s.
func (c *collector) waitFor(t *testing.T, n, m int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		ids, bad := append([]string(nil), c.ids...), c.malformed
		c.mu.Unlock()
		if len(ids) == n && bad == m {
			return ids
		}
		if len(ids) > n || bad > m || time.Now().After(deadline) {
			t.Fatalf("have %d events and %d malformed lines, want %d and %d", len(ids), bad, n, m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func appendFile(t *testing.T, path string, s ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(s, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func ids(t *testing.T, lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, auditIDOf(t, l))
	}
	return out
}

func sameIDs(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events out of order or wrong:\n got %v\nwant %v", got, want)
	}
}

func TestFollowAppend(t *testing.T) {
	lines := corpusLines(t, 6)
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, lines[:3]...)
	c := startFollow(t, path, FollowOptions{})
	c.waitFor(t, 3, 0)
	appendFile(t, path, lines[3:]...)
	sameIDs(t, c.waitFor(t, 6, 0), ids(t, lines))
}

func TestFollowFromEndAndLateFile(t *testing.T) {
	lines := corpusLines(t, 4)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	// FromEnd skips what the file holds when Follow starts.
	appendFile(t, path, lines[:2]...)
	c := startFollow(t, path, FollowOptions{FromEnd: true})
	time.Sleep(100 * time.Millisecond) // let Follow open the file and seek to its end
	appendFile(t, path, lines[2:]...)
	sameIDs(t, c.waitFor(t, 2, 0), ids(t, lines[2:]))

	// A file that does not exist yet is waited for and read from its beginning, FromEnd or not.
	late := filepath.Join(dir, "late.log")
	c2 := startFollow(t, late, FollowOptions{FromEnd: true})
	time.Sleep(50 * time.Millisecond)
	appendFile(t, late, lines...)
	sameIDs(t, c2.waitFor(t, 4, 0), ids(t, lines))
}

// TestFollowRenameRotation: the writer renames the log, still appends to the old file (as a writer that reopens on
// a signal does), then creates the new one. Every event is read once, the old file's to its end first.
func TestFollowRenameRotation(t *testing.T) {
	lines := corpusLines(t, 7)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	appendFile(t, path, lines[:2]...)
	c := startFollow(t, path, FollowOptions{})
	c.waitFor(t, 2, 0)

	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(dir, "audit-2026-11-24T06-00-00.log")); err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteString(lines[2] + lines[3]); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, lines[4:6]...)
	c.waitFor(t, 6, 0)
	appendFile(t, path, lines[6])
	sameIDs(t, c.waitFor(t, 7, 0), ids(t, lines))
}

// TestFollowCopyTruncate: logrotate's copytruncate empties the file in place; Follow starts again at offset 0.
func TestFollowCopyTruncate(t *testing.T) {
	lines := corpusLines(t, 10)
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, lines[:8]...)
	c := startFollow(t, path, FollowOptions{})
	c.waitFor(t, 8, 0)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a copytruncate writer goes on after a pause; the new content is shorter
	appendFile(t, path, lines[8:]...)
	sameIDs(t, c.waitFor(t, 10, 0), ids(t, lines))
}

// TestFollowPartialLine: a line the writer has not finished is not read until its newline arrives.
func TestFollowPartialLine(t *testing.T) {
	lines := corpusLines(t, 2)
	path := filepath.Join(t.TempDir(), "audit.log")
	half := len(lines[1]) / 2
	appendFile(t, path, lines[0], lines[1][:half])
	c := startFollow(t, path, FollowOptions{})
	c.waitFor(t, 1, 0)
	time.Sleep(150 * time.Millisecond) // several poll rounds: the half line must stay pending, not be malformed
	c.waitFor(t, 1, 0)
	appendFile(t, path, lines[1][half:])
	sameIDs(t, c.waitFor(t, 2, 0), ids(t, lines))
}

// TestFollowMalformed: malformed lines are counted and skipped; mixed.jsonl ends in a truncated line, which counts
// once its newline arrives.
func TestFollowMalformed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "mixed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, string(data))
	c := startFollow(t, path, FollowOptions{MaxLineBytes: 4096})
	c.waitFor(t, 2, 3)
	appendFile(t, path, "\n", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"long","stage":"Panic","verb":"get","annotations":{"a":"`+strings.Repeat("x", 5000)+`"}}`+"\n")
	c.waitFor(t, 2, 5)
	l := corpusLines(t, 1)
	appendFile(t, path, l[0])
	c.waitFor(t, 3, 5)
}

// TestFollowCallbackError: an error of fn stops Follow and names the file and line.
func TestFollowCallbackError(t *testing.T) {
	lines := corpusLines(t, 3)
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, lines...)
	boom := errors.New("store down")
	n := 0
	err := Follow(context.Background(), path, func(*auditv1.Event) error {
		n++
		if n == 2 {
			return boom
		}
		return nil
	}, FollowOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "audit.log: line 2") {
		t.Fatalf("Follow returned %v, want the callback's error at line 2", err)
	}
}
