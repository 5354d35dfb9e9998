package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// DefaultDedupeCapacity is how many (auditID, stage) keys a Dedupe remembers by default: far more than the events
// of the batches the API server may send again (its webhook backend retries a batch for about a minute).
const DefaultDedupeCapacity = 200_000

// Dedupe is a bounded, persistent set of (auditID, stage) keys: the events already processed. The API server sends a
// batch again when it did not get our 200 (a lost response, a timeout), and the queue delivers unacknowledged
// records again after a crash; both are filtered here. It keeps the newest Capacity keys; every Add is appended to
// a file at once (one write, so a crash of the process loses nothing), and the file is rewritten with the keys in
// memory when it grows to twice the capacity.
type Dedupe struct {
	mu       sync.Mutex
	path     string
	capacity int
	f        *os.File
	set      map[string]struct{}
	ring     []string // keys in insertion order, oldest at next once full
	next     int
	lines    int // lines in the file
	log      *slog.Logger
	// duplicates counts the events Consume passed over because they were seen before.
	duplicates atomic.Uint64
}

// Duplicates is the number of events Consume passed over as already processed (a batch the API server sent
// again, records delivered again after a crash).
func (d *Dedupe) Duplicates() uint64 { return d.duplicates.Load() }

// OpenDedupe opens (or creates) the set kept in the file at path, usually beside the queue; capacity <= 0 means
// DefaultDedupeCapacity. A torn last line (a crash mid-write) is ignored.
func OpenDedupe(path string, capacity int, logger *slog.Logger) (*Dedupe, error) {
	if capacity <= 0 {
		capacity = DefaultDedupeCapacity
	}
	if logger == nil {
		logger = slog.Default()
	}
	d := &Dedupe{path: path, capacity: capacity, set: make(map[string]struct{}, capacity), log: logger.With("dedupe", path)}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open dedupe set: %w", err)
	default:
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		bad := 0
		for sc.Scan() {
			d.lines++
			key, ok := parseDedupeLine(sc.Text())
			if !ok {
				bad++
				continue
			}
			d.remember(key)
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read dedupe set %s at line %d: %w", path, d.lines+1, err)
		}
		if bad > 0 {
			d.log.Warn("dedupe set: skipped unreadable lines (a torn write at a crash)", "lines", bad)
		}
	}
	if err := d.rewrite(); err != nil {
		return nil, err
	}
	return d, nil
}

func dedupeKey(ev *auditv1.Event) string { return string(ev.Stage) + " " + string(ev.AuditID) }

// formatDedupeLine quotes the audit ID: clients may set it (the Audit-ID header), so it may hold anything.
func formatDedupeLine(key string) string {
	stage, id, _ := strings.Cut(key, " ")
	return stage + " " + strconv.Quote(id) + "\n"
}

func parseDedupeLine(line string) (string, bool) {
	stage, quoted, ok := strings.Cut(line, " ")
	if !ok || stage == "" {
		return "", false
	}
	id, err := strconv.Unquote(quoted)
	if err != nil || id == "" {
		return "", false
	}
	return stage + " " + id, true
}

func (d *Dedupe) remember(key string) {
	if _, ok := d.set[key]; ok {
		return
	}
	if len(d.ring) < d.capacity {
		d.ring = append(d.ring, key)
	} else {
		delete(d.set, d.ring[d.next])
		d.ring[d.next] = key
		d.next = (d.next + 1) % d.capacity
	}
	d.set[key] = struct{}{}
}

// Seen reports whether the event's (auditID, stage) was added before.
func (d *Dedupe) Seen(ev *auditv1.Event) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[dedupeKey(ev)]
	return ok
}

// Add remembers the event's (auditID, stage) and appends it to the file.
func (d *Dedupe) Add(ev *auditv1.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return errors.New("dedupe set closed")
	}
	key := dedupeKey(ev)
	if _, ok := d.set[key]; ok {
		return nil
	}
	d.remember(key)
	if _, err := d.f.WriteString(formatDedupeLine(key)); err != nil {
		return fmt.Errorf("dedupe set %s: append: %w", d.path, err)
	}
	d.lines++
	if d.lines >= 2*d.capacity {
		return d.rewrite()
	}
	return nil
}

// rewrite replaces the file with the keys in memory, oldest first, through a synced temporary file and a rename.
func (d *Dedupe) rewrite() error {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	tmp := d.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("dedupe set: rewrite: %w", err)
	}
	w := bufio.NewWriter(f)
	n := len(d.ring)
	for i := range n {
		w.WriteString(formatDedupeLine(d.ring[(d.next+i)%n]))
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, d.path)
	}
	if err != nil {
		return fmt.Errorf("dedupe set %s: rewrite: %w", d.path, err)
	}
	d.lines = n
	d.f, err = os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dedupe set: reopen: %w", err)
	}
	return nil
}

// Len returns the number of keys remembered.
func (d *Dedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.set)
}

// Close syncs and closes the file.
func (d *Dedupe) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.f = nil
	if err != nil {
		return fmt.Errorf("close dedupe set %s: %w", d.path, err)
	}
	return nil
}
