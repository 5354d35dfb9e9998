package vnf

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// Record is one inventory snapshot as the inventory history keeps it, one JSON object per line: when it came into
// force, where from, and every instance with what vnfguard derived of it (namespace, declared images, termination,
// the LCM operation in progress), so that a later reader judges an event exactly as serve did at the time.
type Record struct {
	LoadedAt  time.Time        `json:"loadedAt"`
	Source    string           `json:"source"`
	Version   string           `json:"version,omitempty"`
	Instances []RecordInstance `json:"instances"`
}

// RecordInstance is an instance in a Record: SOL003's fields and, under x-vnfguard, what vnfguard derived.
type RecordInstance struct {
	*Instance
	Derived RecordDerived `json:"x-vnfguard"`
}

// RecordDerived is what vnfguard derived of an instance (the json:"-" fields of Instance).
type RecordDerived struct {
	Namespace            string           `json:"namespace,omitempty"`
	DeclaredImages       []DeclaredImage  `json:"declaredImages,omitempty"`
	TerminationRequested bool             `json:"terminationRequested,omitempty"`
	TerminatedAt         *time.Time       `json:"terminatedAt,omitempty"`
	ActiveOperation      *ActiveOperation `json:"activeOperation,omitempty"`
}

// RecordOf turns a snapshot into its record.
func RecordOf(s *Snapshot) Record {
	r := Record{LoadedAt: s.LoadedAt, Source: s.Source, Version: s.Version, Instances: make([]RecordInstance, 0, s.Len())}
	for _, inst := range s.Instances() {
		r.Instances = append(r.Instances, RecordInstance{Instance: inst, Derived: RecordDerived{
			Namespace: inst.Namespace, DeclaredImages: inst.DeclaredImages, TerminationRequested: inst.TerminationRequested,
			TerminatedAt: inst.TerminatedAt, ActiveOperation: inst.ActiveOperation,
		}})
	}
	return r
}

// Snapshot rebuilds the snapshot the record was made of.
func (r Record) Snapshot() *Snapshot {
	instances := make([]*Instance, 0, len(r.Instances))
	for _, ri := range r.Instances {
		inst := *ri.Instance
		inst.Namespace, inst.DeclaredImages = ri.Derived.Namespace, ri.Derived.DeclaredImages
		inst.TerminationRequested, inst.TerminatedAt = ri.Derived.TerminationRequested, ri.Derived.TerminatedAt
		inst.ActiveOperation = ri.Derived.ActiveOperation
		instances = append(instances, &inst)
	}
	return NewSnapshot(r.Source, r.Version, r.LoadedAt, instances)
}

// Timeline is an inventory history read back: every recorded snapshot, oldest first. As an Inventory its current
// snapshot is the newest; as a Historian it answers with the snapshot in force at any recorded time, so that
// `detect --file` judges each event with the lifecycle state of its own time.
type Timeline struct {
	snaps []*Snapshot
}

var _ Historian = (*Timeline)(nil)

// Snapshot implements Inventory: the newest recorded snapshot.
func (t *Timeline) Snapshot() *Snapshot { return t.snaps[len(t.snaps)-1] }

// SnapshotAt implements Historian: the newest snapshot loaded at or before at, or the oldest when at precedes the
// whole history.
func (t *Timeline) SnapshotAt(at time.Time) *Snapshot {
	i, _ := slices.BinarySearchFunc(t.snaps, at, func(s *Snapshot, at time.Time) int {
		if s.LoadedAt.After(at) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return t.snaps[0]
	}
	return t.snaps[i-1]
}

// Len is the number of recorded snapshots.
func (t *Timeline) Len() int { return len(t.snaps) }

// ReadTimelineFile reads an inventory history file (see ReadTimeline).
func ReadTimelineFile(path string) (*Timeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory history: %w", err)
	}
	defer f.Close()
	return ReadTimeline(f, path)
}

// ReadTimeline reads an inventory history: JSON lines of Records, as HistoryWriter writes them. Blank lines are
// skipped; anything else that is not a complete record is an error naming its line, never skipped, since a lost
// record would judge events with the wrong lifecycle state. Records need not be in order.
func ReadTimeline(r io.Reader, name string) (*Timeline, error) {
	t := &Timeline{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for line := 1; sc.Scan(); line++ {
		data := sc.Bytes()
		if len(trimSpace(data)) == 0 {
			continue
		}
		rec, err := decodeRecord(data)
		if err != nil {
			return nil, fmt.Errorf("inventory history %s line %d: %w", name, line, err)
		}
		t.snaps = append(t.snaps, rec.Snapshot())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory history %s: %w", name, err)
	}
	if len(t.snaps) == 0 {
		return nil, fmt.Errorf("inventory history %s: no records (serve --inventory-history writes one each time the inventory changes)", name)
	}
	slices.SortStableFunc(t.snaps, func(a, b *Snapshot) int { return a.LoadedAt.Compare(b.LoadedAt) })
	return t, nil
}

func decodeRecord(data []byte) (Record, error) {
	var rec struct {
		Record
		Instances *[]json.RawMessage `json:"instances"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return Record{}, fmt.Errorf("not a record: %w", err)
	}
	if rec.LoadedAt.IsZero() {
		return Record{}, errors.New("loadedAt is missing: a record without its time cannot place events on the timeline")
	}
	if rec.Instances == nil {
		return Record{}, errors.New("instances is missing (an empty inventory is recorded as instances: [])")
	}
	out := rec.Record
	out.Instances = make([]RecordInstance, 0, len(*rec.Instances))
	for i, raw := range *rec.Instances {
		ri := RecordInstance{Instance: &Instance{}}
		if err := json.Unmarshal(raw, &ri); err != nil {
			return Record{}, fmt.Errorf("instances[%d]: %w", i, err)
		}
		if ri.ID == "" {
			return Record{}, fmt.Errorf("instances[%d]: id is missing", i)
		}
		out.Instances = append(out.Instances, ri)
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// HistoryWriter appends Records to an inventory history file, one line each, synced to disk before Record returns:
// the history is evidence, and a crash must not lose the snapshot an incident is judged with.
type HistoryWriter struct {
	mu   sync.Mutex
	f    *os.File
	last string // version of the last record written, so that a reload without a change is not written twice
}

// OpenHistoryWriter opens (creating it if needed) the history file at path for appending.
func OpenHistoryWriter(path string) (*HistoryWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("inventory history: %w", err)
	}
	return &HistoryWriter{f: f}, nil
}

// Record appends the snapshot's record, unless it is the same version as the last one written.
func (w *HistoryWriter) Record(s *Snapshot) error {
	if s == nil || !s.Loaded {
		return nil // nothing has been read yet: there is no state to record
	}
	data, err := json.Marshal(RecordOf(s))
	if err != nil {
		return fmt.Errorf("inventory history: encode snapshot %s: %w", s.Version, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.Version != "" && s.Version == w.last {
		return nil
	}
	if _, err := w.f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("inventory history %s: %w", w.f.Name(), err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("inventory history %s: %w", w.f.Name(), err)
	}
	w.last = s.Version
	return nil
}

// Close closes the file.
func (w *HistoryWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// StateChange is an instance's lifecycle state from a time on: INSTANTIATED/STARTED, STOPPED, NOT_INSTANTIATED,
// or Deleted when the VNFM no longer lists it.
type StateChange struct {
	At    time.Time `json:"at"`
	State string    `json:"state"`
}

// Deleted is the state of an instance a snapshot no longer lists.
const Deleted = "DELETED"

// Lifecycle returns the instance's state changes, oldest first: its state in the first snapshot that lists it,
// then each snapshot where the state differs from the one before.
func (t *Timeline) Lifecycle(id string) []StateChange {
	var out []StateChange
	for _, s := range t.snaps {
		state := Deleted
		if inst, ok := s.Instance(id); ok {
			state = inst.State()
		} else if len(out) == 0 {
			continue
		}
		if len(out) == 0 || out[len(out)-1].State != state {
			out = append(out, StateChange{At: s.LoadedAt, State: state})
		}
	}
	return out
}
