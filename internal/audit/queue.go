package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

var (
	// ErrQueueFull is returned by Append when the batch would take the unacknowledged bytes over MaxBytes. The
	// webhook receiver answers 429 with Retry-After, and the API server sends the batch again later.
	ErrQueueFull = errors.New("audit queue full")
	// ErrBatchTooLarge is returned by Append for a batch bigger than MaxBytes on its own: no amount of waiting
	// makes room for it.
	ErrBatchTooLarge = errors.New("audit batch larger than the whole queue")
	// ErrClosed is returned by a Queue after Close.
	ErrClosed = errors.New("audit queue closed")
)

const (
	frameHeader   = 8        // uint32 payload length, uint32 CRC-32C of the payload, little-endian
	maxFrameBytes = 64 << 20 // a length above this is a torn or corrupt header, not an event
	segmentSuffix = ".seg"
	ackFileName   = "ack"
	lockFileName  = "LOCK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// QueueOptions sizes a Queue. Zero values take the defaults.
type QueueOptions struct {
	// MaxBytes bounds the unacknowledged bytes on disk (default 1 GiB); Append beyond it returns ErrQueueFull.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started (default 64 MiB); fully acknowledged
	// segments are deleted, so disk use is about MaxBytes plus one segment.
	SegmentBytes int64
	// Fsync makes Append call fsync before it returns, so an accepted batch survives a power loss, not only a
	// crash of the process. The webhook receiver turns it on. The ack position is written at every Ack (it survives
	// a crash of the process) but synced only before segments are deleted and at Close: after a power loss a few
	// acknowledged events may come again, which Dedupe filters.
	Fsync bool
	// Logger gets recovery records (torn tails, corrupt records); default slog.Default().
	Logger *slog.Logger
}

// Record is one queued event and its place in the queue; pass it to Ack once it is processed.
type Record struct {
	Event auditv1.Event
	Pos   uint64 // logical byte position of the record's frame
	End   uint64 // position just after it; what Ack persists
}

// QueueStats describes a queue's state, for metrics and tests.
type QueueStats struct {
	Segments      int
	WritePos      uint64 // end of the appended data
	ReadPos       uint64 // where Next goes on
	AckedPos      uint64 // everything before it is acknowledged
	UnackedBytes  int64
	TruncatedTail int64 // bytes of a torn tail dropped when the queue was opened
	// Pending is the number of events appended and not acknowledged yet (the one being processed included).
	Pending int64
	// Corrupt counts the segments whose rest was skipped at a corrupt record, Undecodable the records skipped
	// because their JSON did not decode; both only on a damaged disk.
	Corrupt, Undecodable uint64
}

type segment struct {
	base uint64 // logical position of the segment's first byte; also its file name
	size int64
}

func (s segment) end() uint64 { return s.base + uint64(s.size) }

// Queue is a durable FIFO of audit events in a directory of append-only segment files (see the package
// documentation for the format). One process owns a directory at a time (a lock file enforces it). Append and the
// consumer methods may be called from different goroutines.
type Queue struct {
	dir  string
	opts QueueOptions
	log  *slog.Logger
	lock *os.File

	mu        sync.Mutex
	segs      []segment // sorted by base; the last one is written to
	active    *os.File
	ackFile   *os.File
	writePos  uint64
	readPos   uint64
	acked     uint64
	truncated int64
	notify    chan struct{} // closed and replaced on every append and on Close
	closed    bool
	rf        *os.File // read handle on the segment at rfBase
	rfBase    uint64
	pending   int64 // complete frames in [acked, writePos)

	corrupt, undecodable atomic.Uint64
}

// OpenQueue opens the queue in dir, creating it if needed. It recovers from a crash: a torn record at the end of
// the last segment is truncated (with a log record), and reading starts at the last acknowledged position, so every
// event appended but not acknowledged before the crash is delivered again.
func OpenQueue(dir string, opts QueueOptions) (*Queue, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 30
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit queue: %w", err)
	}
	q := &Queue{dir: dir, opts: opts, log: opts.Logger.With("queue", dir), notify: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			q.closeFiles()
		}
	}()
	lock, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit queue %s: %w", dir, err)
	}
	q.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("open audit queue %s: locked by another process (%w); one vnfguard per queue directory", dir, err)
	}
	if err := q.readAck(); err != nil {
		return nil, err
	}
	if err := q.loadSegments(); err != nil {
		return nil, err
	}
	if err := q.recoverTail(); err != nil {
		return nil, err
	}
	first, last := q.segs[0], q.segs[len(q.segs)-1]
	q.writePos = last.end()
	switch {
	case q.acked > q.writePos:
		// Only possible when appended data was lost after it was acknowledged (a power loss without Fsync).
		q.log.Warn("acknowledged position beyond the data, clamping", "acked", q.acked, "end", q.writePos)
		q.acked = q.writePos
	case q.acked < first.base:
		q.acked = first.base
	}
	q.readPos = q.acked
	q.pending = q.countFramesLocked(q.acked, q.writePos)
	q.active, err = os.OpenFile(q.segPath(last.base), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit queue segment: %w", err)
	}
	if err := q.deleteAckedLocked(); err != nil {
		return nil, err
	}
	ok = true
	return q, nil
}

func (q *Queue) segPath(base uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", base, segmentSuffix))
}

// readAck reads the acknowledged position: 8 bytes of position and the CRC-32C of them. A missing file is a new
// queue; a corrupt one means redelivering from the first segment, which Dedupe absorbs.
func (q *Queue) readAck() error {
	f, err := os.OpenFile(filepath.Join(q.dir, ackFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open audit queue ack file: %w", err)
	}
	q.ackFile = f
	var b [12]byte
	n, err := f.ReadAt(b[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read audit queue ack file: %w", err)
	}
	if n == 0 {
		return nil
	}
	if n != len(b) || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		q.log.Warn("ack file corrupt, redelivering from the oldest segment (duplicates are removed by dedupe)", "bytes", n)
		return nil
	}
	q.acked = binary.LittleEndian.Uint64(b[:8])
	return nil
}

func (q *Queue) writeAckLocked(sync bool) error {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], q.acked)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	// One small write in place: it survives a crash of the process at once; fsync makes it survive the machine.
	if _, err := q.ackFile.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("persist audit queue ack position %d: %w", q.acked, err)
	}
	if sync {
		if err := q.ackFile.Sync(); err != nil {
			return fmt.Errorf("sync audit queue ack file: %w", err)
		}
	}
	return nil
}

func (q *Queue) loadSegments() error {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("list audit queue %s: %w", q.dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		base, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil {
			q.log.Warn("ignoring a file that is not a queue segment", "file", name)
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("stat audit queue segment %s: %w", name, err)
		}
		q.segs = append(q.segs, segment{base: base, size: info.Size()})
	}
	sort.Slice(q.segs, func(i, j int) bool { return q.segs[i].base < q.segs[j].base })
	if len(q.segs) == 0 {
		// A new queue, or one whose segments were all acknowledged and deleted: go on from the ack position.
		f, err := os.OpenFile(q.segPath(q.acked), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("create audit queue segment: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("create audit queue segment: %w", err)
		}
		if err := syncDir(q.dir); err != nil {
			return err
		}
		q.segs = []segment{{base: q.acked}}
	}
	return nil
}

// recoverTail checks the frames of the last segment and truncates it at the first one that is incomplete or fails
// its CRC: a crash in the middle of Append leaves such a tail, and the API server never got 200 for that batch.
func (q *Queue) recoverTail() error {
	last := &q.segs[len(q.segs)-1]
	path := q.segPath(last.base)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open audit queue segment: %w", err)
	}
	defer f.Close()
	var off int64
	var hdr [frameHeader]byte
	payload := make([]byte, 0, 64<<10)
	for off < last.size {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			break
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n == 0 || n > maxFrameBytes || off+frameHeader+int64(n) > last.size {
			break
		}
		payload = append(payload[:0], make([]byte, n)...)
		if _, err := f.ReadAt(payload, off+frameHeader); err != nil {
			break
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			break
		}
		off += frameHeader + int64(n)
	}
	if off == last.size {
		return nil
	}
	q.log.Warn("audit queue: truncating a torn record at the end of the last segment (a crash during append; that batch was never acknowledged to its sender)",
		"segment", filepath.Base(path), "offset", off, "droppedBytes", last.size-off)
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("truncate torn tail of %s at %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	q.truncated = last.size - off
	last.size = off
	return nil
}

// Append writes the batch durably: every event is framed, the whole batch goes out in one write, and with Fsync the
// file is synced before Append returns. It returns ErrQueueFull when the unacknowledged bytes would exceed
// MaxBytes, ErrBatchTooLarge when the batch alone would.
func (q *Queue) Append(events []auditv1.Event) error {
	if len(events) == 0 {
		return nil
	}
	buf := make([]byte, 0, 2048*len(events))
	for i := range events {
		start := len(buf)
		buf = append(buf, make([]byte, frameHeader)...)
		var err error
		buf, err = appendJSON(buf, &events[i])
		if err != nil {
			return fmt.Errorf("audit queue: encode event %d (audit ID %s): %w", i, events[i].AuditID, err)
		}
		n := len(buf) - start - frameHeader
		if n > maxFrameBytes {
			return fmt.Errorf("audit queue: event %d (audit ID %s) is %d bytes encoded, over %d: %w", i, events[i].AuditID, n, maxFrameBytes, ErrBatchTooLarge)
		}
		binary.LittleEndian.PutUint32(buf[start:], uint32(n))
		binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+frameHeader:], castagnoli))
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	size := int64(len(buf))
	if size > q.opts.MaxBytes {
		return fmt.Errorf("audit queue: batch of %d events is %d bytes, queue holds at most %d: %w", len(events), size, q.opts.MaxBytes, ErrBatchTooLarge)
	}
	if int64(q.writePos-q.acked)+size > q.opts.MaxBytes {
		return fmt.Errorf("audit queue: %d bytes unacknowledged, %d more would exceed %d: %w", q.writePos-q.acked, size, q.opts.MaxBytes, ErrQueueFull)
	}
	last := &q.segs[len(q.segs)-1]
	if last.size >= q.opts.SegmentBytes {
		if err := q.rollLocked(); err != nil {
			return err
		}
		last = &q.segs[len(q.segs)-1]
	}
	if _, err := q.active.Write(buf); err != nil {
		// Leave no half batch behind for the reader: the sender gets an error and sends the batch again.
		if terr := q.active.Truncate(last.size); terr != nil {
			q.log.Error("audit queue: cannot undo a failed append; the torn record is dropped at the next open", "err", terr)
		}
		return fmt.Errorf("audit queue: append %d events: %w", len(events), err)
	}
	if q.opts.Fsync {
		if err := q.active.Sync(); err != nil {
			return fmt.Errorf("audit queue: sync after appending %d events: %w", len(events), err)
		}
	}
	last.size += size
	q.writePos += uint64(size)
	q.pending += int64(len(events))
	close(q.notify)
	q.notify = make(chan struct{})
	return nil
}

func appendJSON(buf []byte, ev *auditv1.Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return buf, err
	}
	return append(buf, b...), nil
}

// rollLocked starts a new segment at the write position.
func (q *Queue) rollLocked() error {
	if err := q.active.Sync(); err != nil {
		return fmt.Errorf("audit queue: sync full segment: %w", err)
	}
	f, err := os.OpenFile(q.segPath(q.writePos), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit queue: start segment: %w", err)
	}
	if err := syncDir(q.dir); err != nil {
		f.Close()
		return err
	}
	if err := q.active.Close(); err != nil {
		q.log.Warn("audit queue: closing a full segment", "err", err)
	}
	q.active = f
	q.segs = append(q.segs, segment{base: q.writePos})
	return nil
}

// Next returns the next record after the last one it returned, waiting for an Append when there is none. Records
// come in append order; after a reopen, Next starts again at the first unacknowledged record.
func (q *Queue) Next(ctx context.Context) (Record, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Record{}, ErrClosed
		}
		if q.readPos < q.writePos {
			rec, payload, err := q.readLocked()
			q.mu.Unlock()
			if err != nil {
				return Record{}, err
			}
			if payload == nil {
				continue // skipped something unreadable; look again
			}
			// Decoding outside the lock keeps Append, and so the webhook's answers, off the consumer's path. The
			// record was checked when it was accepted; it is read with the decoder every intake uses.
			if err := UnmarshalEvent(payload, &rec.Event); err != nil {
				q.undecodable.Add(1)
				q.log.Error("audit queue: undecodable record skipped", "position", rec.Pos, "err", err)
				continue
			}
			return rec, nil
		}
		wait := q.notify
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return Record{}, ctx.Err()
		case <-wait:
		}
	}
}

// readLocked reads the frame at readPos and returns its place and payload. The payload is nil when it moved readPos
// past a gap or a corrupt record instead.
func (q *Queue) readLocked() (Record, []byte, error) {
	i := sort.Search(len(q.segs), func(i int) bool { return q.segs[i].end() > q.readPos })
	if i == len(q.segs) {
		q.readPos = q.writePos
		return Record{}, nil, nil
	}
	seg := q.segs[i]
	if q.readPos < seg.base {
		q.readPos = seg.base // a gap between segments (a segment lost its tail): go on with the next one
		return Record{}, nil, nil
	}
	if q.rf == nil || q.rfBase != seg.base {
		if q.rf != nil {
			q.rf.Close()
			q.rf = nil
		}
		f, err := os.Open(q.segPath(seg.base))
		if err != nil {
			return Record{}, nil, fmt.Errorf("audit queue: open segment for reading: %w", err)
		}
		q.rf, q.rfBase = f, seg.base
	}
	off := int64(q.readPos - seg.base)
	var hdr [frameHeader]byte
	corrupt := func(why string) (Record, []byte, error) {
		// Only a damaged disk gets here (the tail was checked at open): skip the rest of the segment, loudly.
		q.corrupt.Add(1)
		q.log.Error("audit queue: corrupt record, skipping the rest of its segment", "segment", filepath.Base(q.segPath(seg.base)), "offset", off, "reason", why, "skippedBytes", seg.size-off)
		q.readPos = seg.end()
		return Record{}, nil, nil
	}
	if _, err := q.rf.ReadAt(hdr[:], off); err != nil {
		return corrupt("header: " + err.Error())
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n == 0 || n > maxFrameBytes || off+frameHeader+int64(n) > seg.size {
		return corrupt(fmt.Sprintf("length %d", n))
	}
	payload := make([]byte, n)
	if _, err := q.rf.ReadAt(payload, off+frameHeader); err != nil {
		return corrupt("payload: " + err.Error())
	}
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
		return corrupt("CRC mismatch")
	}
	rec := Record{Pos: q.readPos, End: q.readPos + frameHeader + uint64(n)}
	q.readPos = rec.End
	return rec, payload, nil
}

// Ack acknowledges r and every record before it, persists the position, and deletes segments that are now fully
// acknowledged. Acknowledging an older record again is a no-op.
func (q *Queue) Ack(r Record) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if r.End <= q.acked {
		return nil
	}
	if r.End > q.readPos {
		return fmt.Errorf("audit queue: ack of position %d, beyond what Next returned (%d)", r.End, q.readPos)
	}
	if r.Pos == q.acked {
		q.pending-- // the usual case: the consumer acknowledges each record in turn
	} else {
		q.pending = q.countFramesLocked(r.End, q.writePos) // records skipped or acknowledged together
	}
	q.pending = max(q.pending, 0)
	q.acked = r.End
	return q.deleteAckedLocked()
}

// countFramesLocked counts the complete frames between two positions by walking their headers (at open, and after
// an acknowledgement that was not of the next record), stopping in a segment at the first implausible header.
func (q *Queue) countFramesLocked(from, to uint64) int64 {
	var n int64
	var hdr [frameHeader]byte
	for _, seg := range q.segs {
		if seg.end() <= from || seg.base >= to {
			continue
		}
		f, err := os.Open(q.segPath(seg.base))
		if err != nil {
			continue
		}
		off := int64(max(from, seg.base) - seg.base)
		end := int64(min(to, seg.end()) - seg.base)
		for off < end {
			if _, err := f.ReadAt(hdr[:], off); err != nil {
				break
			}
			size := binary.LittleEndian.Uint32(hdr[:4])
			if size == 0 || size > maxFrameBytes || off+frameHeader+int64(size) > end {
				break
			}
			n++
			off += frameHeader + int64(size)
		}
		f.Close()
	}
	return n
}

// deleteAckedLocked persists the ack position and removes every segment before the active one that lies wholly
// before it. The position is synced first, so that no crash leaves it pointing into a deleted segment.
func (q *Queue) deleteAckedLocked() error {
	n := 0
	for n < len(q.segs)-1 && q.segs[n].end() <= q.acked {
		n++
	}
	if err := q.writeAckLocked(n > 0); err != nil {
		return err
	}
	for _, s := range q.segs[:n] {
		if q.rf != nil && q.rfBase == s.base {
			q.rf.Close()
			q.rf = nil
		}
		if err := os.Remove(q.segPath(s.base)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit queue: delete acknowledged segment: %w", err)
		}
	}
	q.segs = q.segs[n:]
	return nil
}

// Rewind makes Next return r again (and everything after it): for a consumer that could not process r and will try
// again. Rewinding to before the acknowledged position goes to the acknowledged position.
func (q *Queue) Rewind(r Record) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.Pos < q.readPos {
		q.readPos = max(r.Pos, q.acked)
	}
}

// Stats returns the queue's positions.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{
		Segments: len(q.segs), WritePos: q.writePos, ReadPos: q.readPos, AckedPos: q.acked,
		UnackedBytes: int64(q.writePos - q.acked), TruncatedTail: q.truncated,
		Pending: q.pending, Corrupt: q.corrupt.Load(), Undecodable: q.undecodable.Load(),
	}
}

// Close syncs the ack position and releases the directory; waiting Next calls return ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	close(q.notify)
	var err error
	if q.active != nil {
		err = q.active.Sync()
	}
	if q.ackFile != nil {
		if serr := q.ackFile.Sync(); err == nil {
			err = serr
		}
	}
	q.closeFiles()
	if err != nil {
		return fmt.Errorf("close audit queue %s: %w", q.dir, err)
	}
	return nil
}

func (q *Queue) closeFiles() {
	for _, f := range []*os.File{q.active, q.rf, q.ackFile, q.lock} {
		if f != nil {
			f.Close()
		}
	}
	q.active, q.rf, q.ackFile, q.lock = nil, nil, nil, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
