package vnf

import (
	"sync"
	"time"
)

// Historian is an Inventory that remembers its recent snapshots, so that an event can be judged with the inventory
// that was in force when it happened: an audit batch arrives a second or more after the request, and an exec into
// a running VNF must not read as an exec into a stopped one because the NFVO stopped it in between.
type Historian interface {
	Inventory
	// SnapshotAt returns the snapshot in force at t: the newest one loaded at or before t, or the oldest one
	// remembered when t is older than all of them.
	SnapshotAt(t time.Time) *Snapshot
}

// historyLen bounds the snapshots a History keeps: enough for minutes of LCM operations, little memory (snapshots
// share nothing, but an inventory changes a handful of times a minute at most).
const historyLen = 64

// History is the bounded list of a source's recent snapshots. The zero value is ready to use.
type History struct {
	mu       sync.Mutex
	snaps    []*Snapshot // oldest first
	recorder func(*Snapshot)
}

// Add records a snapshot that has just come into force, and hands it to the recorder, if one is set.
func (h *History) Add(s *Snapshot) {
	h.mu.Lock()
	h.snaps = append(h.snaps, s)
	if len(h.snaps) > historyLen {
		h.snaps = append(h.snaps[:0], h.snaps[len(h.snaps)-historyLen:]...)
	}
	record := h.recorder
	h.mu.Unlock()
	if record != nil {
		record(s)
	}
}

// SetRecorder hands every snapshot added from now on to record (a HistoryWriter keeps them beyond the bounded
// memory, for forensics), starting with the one in force now, if any. record runs on the caller of Add.
func (h *History) SetRecorder(record func(*Snapshot)) {
	h.mu.Lock()
	h.recorder = record
	var current *Snapshot
	if len(h.snaps) > 0 {
		current = h.snaps[len(h.snaps)-1]
	}
	h.mu.Unlock()
	if current != nil && record != nil {
		record(current)
	}
}

// HistorySource is an inventory source whose snapshots can be recorded as they come into force.
type HistorySource interface {
	RecordHistory(record func(*Snapshot))
}

// At returns the snapshot in force at t, or nil when none has been added.
func (h *History) At(t time.Time) *Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.snaps) - 1; i >= 0; i-- {
		if !h.snaps[i].LoadedAt.After(t) {
			return h.snaps[i]
		}
	}
	if len(h.snaps) > 0 {
		return h.snaps[0]
	}
	return nil
}

// SnapshotAt gives the snapshot of inv in force at t when inv remembers its history, and its current one otherwise
// (or when t is zero).
func SnapshotAt(inv Inventory, t time.Time) *Snapshot {
	if h, ok := inv.(Historian); ok && !t.IsZero() {
		if s := h.SnapshotAt(t); s != nil {
			return s
		}
	}
	return inv.Snapshot()
}
