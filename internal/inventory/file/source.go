package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Defaults of Source's timing. The debounce lets an editor or `cp` finish writing before the file is read; the
// poll catches changes no event reports (network file systems, a watch lost with a removed directory).
const (
	DefaultPollInterval = 3 * time.Second
	DefaultDebounce     = 20 * time.Millisecond
	// settle is how long a failed read waits before looking again: a file written in place is briefly empty or
	// half written, and that is not an edit to complain about.
	settle     = 60 * time.Millisecond
	maxSettles = 5
)

// Source is the file inventory: it holds the snapshot of the last good version of the file and, while Run runs,
// replaces it when the file changes. It implements vnf.Inventory.
type Source struct {
	// OnChange, when set before Run, is called (from Run's goroutine) with each new snapshot after it is in
	// force. It is not called for the load NewSource does.
	OnChange func(*vnf.Snapshot)
	// PollInterval and Debounce default to DefaultPollInterval and DefaultDebounce; set them before Run.
	PollInterval time.Duration
	Debounce     time.Duration

	path    string
	logger  *slog.Logger
	noWatch bool // tests: poll only
	snap    atomic.Pointer[vnf.Snapshot]
	history vnf.History // the loaded snapshots, for SnapshotAt

	mu      sync.Mutex // serialises reloads and guards the fields below
	lastErr error
	badHash string // version of the content that failed last, so that a poll does not report it again
}

var _ vnf.Historian = (*Source)(nil)

// RecordHistory hands every snapshot that comes into force, starting with the current one, to record (see
// vnf.History.SetRecorder).
func (s *Source) RecordHistory(record func(*vnf.Snapshot)) { s.history.SetRecorder(record) }

// SnapshotAt returns the snapshot that was in force at t (see vnf.Historian).
func (s *Source) SnapshotAt(t time.Time) *vnf.Snapshot {
	if snap := s.history.At(t); snap != nil {
		return snap
	}
	return s.Snapshot()
}

// NewSource returns the source for the file at path (made absolute) and loads it once. A file that is missing or
// invalid at this point is not an error: Snapshot returns an unloaded snapshot (Loaded false, so protected
// namespaces fail closed), LastError says why, and Run loads the file as soon as it becomes valid. The error is
// for an unusable path only. A nil logger discards logs.
func NewSource(path string, logger *slog.Logger) (*Source, error) {
	if path == "" {
		return nil, errors.New("inventory file: no path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("inventory file %s: %w", path, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{path: abs, logger: logger.With("inventory", "file:"+abs)}
	s.snap.Store(vnf.Empty("file:" + abs))
	s.reload(context.Background(), "start")
	return s, nil
}

// Path is the absolute path of the file.
func (s *Source) Path() string { return s.path }

// Snapshot returns the snapshot in force. It never blocks.
func (s *Source) Snapshot() *vnf.Snapshot { return s.snap.Load() }

// LastError is the error of the last load attempt, nil when it succeeded (or the file has not changed since).
func (s *Source) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Reload reads the file now, as Run does on a change, and returns the error of that attempt.
func (s *Source) Reload(ctx context.Context) error {
	s.reload(ctx, "requested")
	return s.LastError()
}

// Run watches the file until ctx ends, reloading it when it changes, and returns nil then. It watches the
// directory rather than the file, because editors and Kubernetes replace files instead of writing them: an
// editor renames a new file over the old one, and a ConfigMap volume swaps its ..data symlink. When the path is a
// symlink, the directory of its target is watched too. Without fsnotify it falls back to polling alone.
func (s *Source) Run(ctx context.Context) error {
	poll := s.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	debounce := s.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	var events chan fsnotify.Event
	var watchErrs chan error
	watcher, err := fsnotify.NewWatcher()
	if err == nil && s.noWatch {
		watcher.Close()
		watcher, err = nil, errors.New("watching disabled")
	}
	if err != nil {
		s.logger.Warn("cannot watch the inventory file; polling only", "error", err.Error(), "pollInterval", poll.String())
	} else {
		defer watcher.Close()
		events, watchErrs = watcher.Events, watcher.Errors
		s.watch(watcher)
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// The first event arms the timer and later ones ride along, so that a busy directory cannot postpone a
	// reload for ever; a write that lands after the read raises another event and another reload.
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			_ = ev // any change in the directory may be ours: a rename, a symlink swap, a write
			if !pending {
				timer.Reset(debounce)
				pending = true
			}
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			s.logger.Warn("inventory file watch error; polling continues", "error", err.Error())
		case <-timer.C:
			pending = false
			s.reload(ctx, "change")
			if watcher != nil {
				s.watch(watcher) // a symlink may now point into another directory
			}
		case <-ticker.C:
			if watcher != nil {
				s.watch(watcher) // re-add a watch lost when the directory was removed and recreated
			}
			s.reload(ctx, "poll")
		}
	}
}

// watch adds the file's directory and, for a symlink, its target's directory. Adding a watched path again is a
// no-op, so this is called freely.
func (s *Source) watch(w *fsnotify.Watcher) {
	dirs := []string{filepath.Dir(s.path)}
	if target, err := filepath.EvalSymlinks(s.path); err == nil && filepath.Dir(target) != dirs[0] {
		dirs = append(dirs, filepath.Dir(target))
	}
	for _, dir := range dirs {
		if err := w.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger.Warn("cannot watch the inventory directory; polling continues", "dir", dir, "error", err.Error())
		}
	}
}

// reload reads the file and swaps a new snapshot in when its content changed and is valid, then tells OnChange
// (outside the lock, so that the hook may call back into the source).
func (s *Source) reload(ctx context.Context, reason string) {
	if snap := s.load(ctx, reason); snap != nil && s.OnChange != nil && reason != "start" {
		s.OnChange(snap)
	}
}

// load does reload's work under the lock and returns the new snapshot, or nil when none was put in force. A
// failure keeps the snapshot in force and is logged once per distinct content.
func (s *Source) load(ctx context.Context, reason string) *vnf.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	current := s.snap.Load()
	var (
		data []byte
		snap *vnf.Snapshot
		err  error
	)
	for attempt := 0; ; attempt++ {
		data, err = os.ReadFile(s.path)
		readOK := err == nil
		if readOK {
			version := Version(data)
			if current.Loaded && version == current.Version {
				if s.lastErr != nil {
					s.logger.Info("inventory file is back to the version in force", "version", current.Version, "reason", reason)
				}
				s.lastErr, s.badHash = nil, ""
				return nil
			}
			if version == s.badHash {
				return nil // rejected and reported already
			}
			if snap, err = snapshot(data, s.path, time.Now()); err == nil {
				break
			}
		}
		// Give a writer that is halfway through a chance to finish before calling the edit bad: a file written
		// in place is briefly empty or partial, and a replaced one briefly missing.
		if attempt == maxSettles || !s.sleep(ctx, settle) {
			break
		}
		if again, rerr := os.ReadFile(s.path); readOK && rerr == nil && bytes.Equal(again, data) {
			break // stable content, really bad
		}
	}
	if err != nil {
		s.fail(err, data, current, reason)
		return nil
	}
	s.snap.Store(snap)
	s.history.Add(snap)
	s.lastErr, s.badHash = nil, ""
	attrs := []any{"version", snap.Version, "instances", snap.Len(), "reason", reason}
	if current.Loaded {
		attrs = append(attrs, "previousVersion", current.Version)
	}
	s.logger.Info("inventory loaded", attrs...)
	return snap
}

func (s *Source) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fail records and logs a failed load, saying which version stays in force.
func (s *Source) fail(err error, data []byte, current *vnf.Snapshot, reason string) {
	if s.lastErr != nil && data == nil && s.badHash == "" && s.lastErr.Error() == err.Error() {
		return // the same read error as last time (a missing file): said already
	}
	s.lastErr = err
	s.badHash = ""
	if data != nil {
		s.badHash = Version(data)
	}
	attrs := []any{"error", err.Error(), "reason", reason}
	var first *Error
	if errors.As(err, &first) {
		attrs = append(attrs, "file", first.File, "line", first.Line, "path", first.Path)
	}
	if current.Loaded {
		attrs = append(attrs, "versionInForce", current.Version, "versionAge", time.Since(current.LoadedAt).Round(time.Second).String())
		s.logger.Error("inventory file rejected; the previous version stays in force", attrs...)
		return
	}
	s.logger.Error("inventory file not loaded; no inventory is in force, so protected namespaces fail closed", attrs...)
}
