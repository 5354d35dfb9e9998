package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testEvent(id string) auditv1.Event {
	return auditv1.Event{AuditID: types.UID(id), Stage: auditv1.StageResponseComplete, Verb: "get", RequestURI: "/api/v1/namespaces/upf/secrets/db",
		ObjectRef: &auditv1.ObjectReference{Resource: "secrets", Namespace: "upf", Name: "db"}}
}

func batch(prefix string, n int) []auditv1.Event {
	var evs []auditv1.Event
	for i := range n {
		evs = append(evs, testEvent(fmt.Sprintf("%s-%d", prefix, i)))
	}
	return evs
}

func openQ(t *testing.T, dir string, opts QueueOptions) *Queue {
	t.Helper()
	opts.Logger = quiet
	q, err := OpenQueue(dir, opts)
	if err != nil {
		t.Fatalf("OpenQueue: %v", err)
	}
	return q
}

// drain returns the audit IDs of every record available now, acking up to and including the first ack of them
// (ack < 0: none).
func drain(t *testing.T, q *Queue, ack int) []string {
	t.Helper()
	var ids []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		rec, err := q.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return ids
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		ids = append(ids, string(rec.Event.AuditID))
		if len(ids) <= ack {
			if err := q.Ack(rec); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
}

func TestQueueAppendAckReopen(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, dir, QueueOptions{Fsync: true, SegmentBytes: 512})
	for _, b := range []string{"a", "b", "c"} {
		if err := q.Append(batch(b, 3)); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if s := q.Stats(); s.Segments < 3 {
		t.Fatalf("stats %+v: want several segments of 512 bytes", s)
	}
	got := drain(t, q, 4) // ack a-0 … b-0
	if strings.Join(got, ",") != "a-0,a-1,a-2,b-0,b-1,b-2,c-0,c-1,c-2" {
		t.Fatalf("delivered %v", got)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQ(t, dir, QueueOptions{SegmentBytes: 512})
	defer q.Close()
	got = drain(t, q, -1)
	if strings.Join(got, ",") != "b-1,b-2,c-0,c-1,c-2" {
		t.Fatalf("after reopen, delivered %v, want everything after b-0", got)
	}
	// Segments wholly before the ack position are gone; the ack survives a reopen without Close.
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if s := q.Stats(); len(files) != s.Segments || s.AckedPos == 0 || s.ReadPos != s.WritePos {
		t.Fatalf("stats %+v with %d segment files", s, len(files))
	}
}

func TestQueueAckDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, dir, QueueOptions{SegmentBytes: 256})
	defer q.Close()
	for i := range 10 {
		if err := q.Append(batch(strconv.Itoa(i), 2)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if got := drain(t, q, 20); len(got) != 20 {
		t.Fatalf("delivered %d records", len(got))
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(before) < 5 || len(after) != 1 {
		t.Fatalf("%d segments before acking everything, %d after; want many, then only the active one", len(before), len(after))
	}
	if s := q.Stats(); s.UnackedBytes != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Appending goes on in the remaining segment, and a reopen starts from the ack position.
	if err := q.Append(batch("z", 1)); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, q, -1); strings.Join(got, ",") != "z-0" {
		t.Fatalf("delivered %v", got)
	}
}

// TestQueueTornTail cuts the last segment inside its last record, as a crash in the middle of a write does, and
// flips a byte of a payload: opening truncates at the first bad frame and delivers everything before it.
func TestQueueTornTail(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(data []byte) []byte
		wantIDs string
	}{
		{"cut in the payload", func(d []byte) []byte { return d[:len(d)-10] }, "a-0,a-1,a-2,b-0,b-1"},
		{"cut in the header", func(d []byte) []byte { return d[:len(d)-lastFrameLen(d)+3] }, "a-0,a-1,a-2,b-0,b-1"},
		{"zeroed tail", func(d []byte) []byte { return append(d, make([]byte, 100)...) }, "a-0,a-1,a-2,b-0,b-1,b-2"},
		{"CRC mismatch", func(d []byte) []byte { d[len(d)-2] ^= 0xff; return d }, "a-0,a-1,a-2,b-0,b-1"},
		{"huge length", func(d []byte) []byte { return append(d, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1) }, "a-0,a-1,a-2,b-0,b-1,b-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQ(t, dir, QueueOptions{})
			for _, b := range []string{"a", "b"} {
				if err := q.Append(batch(b, 3)); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) != 1 {
				t.Fatalf("%d segments", len(segs))
			}
			data, err := os.ReadFile(segs[0])
			if err != nil {
				t.Fatal(err)
			}
			good := int64(len(data))
			data = tc.damage(data)
			if err := os.WriteFile(segs[0], data, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			q, err = OpenQueue(dir, QueueOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if got := drain(t, q, -1); strings.Join(got, ",") != tc.wantIDs {
				t.Fatalf("delivered %v, want %s", got, tc.wantIDs)
			}
			s := q.Stats()
			if s.TruncatedTail == 0 || !strings.Contains(logs.String(), "torn record") {
				t.Fatalf("stats %+v, log %q: want the truncation counted and logged", s, logs.String())
			}
			if info, _ := os.Stat(segs[0]); info.Size() > good || info.Size() != int64(s.WritePos) {
				t.Fatalf("segment is %d bytes after recovery, write position %d", info.Size(), s.WritePos)
			}
			// New appends follow the last good record.
			if err := q.Append(batch("c", 1)); err != nil {
				t.Fatal(err)
			}
			if got := drain(t, q, -1); strings.Join(got, ",") != "c-0" {
				t.Fatalf("after recovery delivered %v", got)
			}
		})
	}
}

// lastFrameLen finds the length of the last frame of an undamaged segment by walking it.
func lastFrameLen(d []byte) int {
	off, last := 0, 0
	for off < len(d) {
		n := int(uint32(d[off]) | uint32(d[off+1])<<8 | uint32(d[off+2])<<16 | uint32(d[off+3])<<24)
		last = frameHeader + n
		off += last
	}
	return last
}

func TestQueueFull(t *testing.T) {
	dir := t.TempDir()
	one := batch("x", 1)
	q := openQ(t, dir, QueueOptions{MaxBytes: 1000})
	defer q.Close()
	n := 0
	for ; ; n++ {
		err := q.Append(one)
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || q.Stats().UnackedBytes > 1000 {
		t.Fatalf("appended %d before full; stats %+v", n, q.Stats())
	}
	if err := q.Append(batch("big", 20)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("Append of a batch over MaxBytes: %v, want ErrBatchTooLarge", err)
	}
	// Acknowledging makes room again.
	rec, err := q.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(rec); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(one); err != nil {
		t.Fatalf("Append after an ack: %v", err)
	}
	if err := q.Ack(Record{End: q.Stats().WritePos}); err == nil {
		t.Fatal("Ack beyond what Next returned succeeded")
	}
}

func TestQueueLockedAndClosed(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, dir, QueueOptions{})
	if _, err := OpenQueue(dir, QueueOptions{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second OpenQueue of the same directory: %v, want a lock error", err)
	}
	done := make(chan error, 1)
	go func() { _, err := q.Next(context.Background()); done <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next waiting at Close: %v", err)
	}
	if err := q.Append(batch("a", 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
}

func TestDedupe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dedupe")
	d, err := OpenDedupe(path, 4, quiet)
	if err != nil {
		t.Fatal(err)
	}
	evs := batch("e", 6)
	weird := testEvent("id with \"quotes\" and\nnewline")
	for _, ev := range append(append([]auditv1.Event(nil), evs[:5]...), weird) {
		if err := d.Add(&ev); err != nil {
			t.Fatal(err)
		}
	}
	other := evs[4]
	other.Stage = auditv1.StageRequestReceived
	for _, tc := range []struct {
		ev   auditv1.Event
		want bool
	}{{evs[0], false}, {evs[1], false}, {evs[2], true}, {evs[4], true}, {weird, true}, {other, false}, {evs[5], false}} {
		if got := d.Seen(&tc.ev); got != tc.want {
			t.Fatalf("Seen(%s %s) = %v, want %v (capacity 4 keeps the newest four)", tc.ev.AuditID, tc.ev.Stage, got, tc.want)
		}
	}
	// Reopen without Close (a crash) plus a torn last line: the same newest four keys.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`ResponseComplete "torn`)
	f.Close()
	d2, err := OpenDedupe(path, 4, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if d2.Len() != 4 || !d2.Seen(&weird) || !d2.Seen(&evs[2]) || d2.Seen(&evs[1]) {
		t.Fatalf("after reopen: %d keys", d2.Len())
	}
	for i := range 20 { // forces rewrites at 2×capacity lines
		ev := testEvent("r" + strconv.Itoa(i))
		if err := d2.Add(&ev); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	if lines := strings.Count(string(data), "\n"); lines >= 8 || lines < 4 {
		t.Fatalf("dedupe file has %d lines, want it bounded by twice the capacity", lines)
	}
}

const crashChildEnv = "VNFGUARD_AUDIT_QUEUE_CRASH_DIR"

// TestQueueCrashChild is the child of TestQueueCrash: it appends batches until it is killed, printing each batch
// number after its Append returned. Every fifth batch is appended twice, as the API server does when our 200 is
// lost. It does nothing unless started by TestQueueCrash.
func TestQueueCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		return
	}
	q, err := OpenQueue(dir, QueueOptions{Fsync: true, SegmentBytes: 32 << 10, MaxBytes: 1 << 30, Logger: quiet})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		b := crashBatch(i)
		if err := q.Append(b); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		if i%5 == 0 {
			if err := q.Append(b); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
		}
		fmt.Println("acked", i) // unbuffered: written before the next Append starts
	}
}

func crashBatch(i int) []auditv1.Event {
	evs := batch("batch"+strconv.Itoa(i), 4)
	evs[3].Stage = auditv1.StageRequestReceived
	evs[3].AuditID = evs[0].AuditID // two stages of one request: distinct keys
	return evs
}

// TestQueueCrash kills a child that appends with SIGKILL mid-stream, reopens the queue, and checks that every batch
// the child saw accepted is delivered, and that after dedupe no event is delivered twice — also across a consumer
// restart in the middle of the queue.
func TestQueueCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestQueueCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "acked "); ok {
			i, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("child printed %q", line)
			}
			acked[i] = true
			if len(acked) == 300 && !killed {
				// Kill while the child is inside its next Append (it appends back to back).
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		} else if !strings.HasPrefix(line, "=== RUN") && !strings.HasPrefix(line, "--- PASS") && line != "PASS" {
			t.Fatalf("child: %s", line)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}

	// Consume in two runs with a restart between, the first run acking only some of what it processed.
	delivered := map[string]int{} // key → times delivered after dedupe
	raw := 0
	consume := func(limit int) {
		q := openQ(t, dir, QueueOptions{Fsync: true, SegmentBytes: 32 << 10})
		d, err := OpenDedupe(filepath.Join(dir, "dedupe"), 0, quiet)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; limit < 0 || n < limit; n++ {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			rec, err := q.Next(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			raw++
			if !d.Seen(&rec.Event) {
				delivered[string(rec.Event.Stage)+" "+string(rec.Event.AuditID)]++
				if err := d.Add(&rec.Event); err != nil {
					t.Fatal(err)
				}
			}
			if n%7 != 6 { // leave some processed records unacked: the restart delivers them again
				if err := q.Ack(rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		// No Close: the consumer dies too. Release the lock the way a dead process does.
		q.closeFiles()
		d.f.Close()
	}
	consume(500)
	consume(-1)

	for i := range acked {
		for _, ev := range crashBatch(i) {
			if delivered[string(ev.Stage)+" "+string(ev.AuditID)] == 0 {
				t.Fatalf("batch %d was acknowledged to the sender but event %s/%s was not delivered", i, ev.AuditID, ev.Stage)
			}
		}
	}
	for k, n := range delivered {
		if n != 1 {
			t.Fatalf("event %s delivered %d times after dedupe", k, n)
		}
	}
	if raw <= len(delivered) {
		t.Fatalf("%d raw deliveries for %d distinct events: the test must see retried batches and redeliveries", raw, len(delivered))
	}
	t.Logf("%d batches acknowledged before SIGKILL; %d records read, %d distinct events delivered", len(acked), raw, len(delivered))
}

func BenchmarkQueueAppend(b *testing.B) {
	evs := make([]auditv1.Event, 0, 200)
	lines := corpusLines(b, 200)
	for _, l := range lines {
		ev, err := DecodeEvent([]byte(strings.TrimSpace(l)))
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, *ev)
	}
	for _, tc := range []struct {
		name  string
		batch int
		fsync bool
	}{{"batch=1", 1, false}, {"batch=100", 100, false}, {"batch=100/fsync", 100, true}} {
		b.Run(tc.name, func(b *testing.B) {
			q, err := OpenQueue(b.TempDir(), QueueOptions{Fsync: tc.fsync, MaxBytes: 1 << 40, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			b.ReportAllocs()
			n := 0
			for i := 0; b.Loop(); i++ {
				start := (i * tc.batch) % (len(evs) - tc.batch + 1)
				if err := q.Append(evs[start : start+tc.batch]); err != nil {
					b.Fatal(err)
				}
				n += tc.batch
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// FuzzQueueRecover writes arbitrary bytes after two good records of a segment: opening must succeed, keep the good
// records, and never panic or deliver an event that was not appended.
func FuzzQueueRecover(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Add([]byte{2, 0, 0, 0, 0x2c, 0x0a, 0x25, 0x40, '{', '}'}) // a valid CRC-32C of "{}"
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		q, err := OpenQueue(dir, QueueOptions{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Append(batch("good", 2)); err != nil {
			t.Fatal(err)
		}
		q.Close()
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		fh, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.Write(tail)
		fh.Close()
		q, err = OpenQueue(dir, QueueOptions{Logger: quiet})
		if err != nil {
			t.Fatalf("OpenQueue after a damaged tail: %v", err)
		}
		defer q.Close()
		// Read what is there without waiting: a tail that passes the length and CRC checks is a record.
		var got []string
		for s := q.Stats(); s.ReadPos < s.WritePos; s = q.Stats() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			rec, err := q.Next(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				break // the rest was skipped as undecodable
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			got = append(got, string(rec.Event.AuditID))
		}
		if len(got) < 2 || got[0] != "good-0" || got[1] != "good-1" {
			t.Fatalf("delivered %q, want the two good records first", got)
		}
	})
}

// TestQueuePending: the queue counts its waiting events (vnfguard_audit_queue_depth) through appends, one-by-one
// and grouped acknowledgements, and a reopen; Consume counts the duplicates it passes over.
func TestQueuePending(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, dir, QueueOptions{SegmentBytes: 2 << 10})
	if err := q.Append(batch("a", 10)); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(batch("a", 5)); err != nil { // sent again
		t.Fatal(err)
	}
	if got := q.Stats().Pending; got != 15 {
		t.Fatalf("pending after appending 15 = %d", got)
	}
	var recs []Record
	for range 6 {
		rec, err := q.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := q.Ack(recs[0]); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats().Pending; got != 14 {
		t.Fatalf("pending after one ack = %d, want 14", got)
	}
	if err := q.Ack(recs[4]); err != nil { // four at once
		t.Fatal(err)
	}
	if got := q.Stats().Pending; got != 10 {
		t.Fatalf("pending after acking four together = %d, want 10", got)
	}
	q.Close()
	q = openQ(t, dir, QueueOptions{SegmentBytes: 2 << 10})
	if got := q.Stats().Pending; got != 10 {
		t.Fatalf("pending after reopen = %d, want 10", got)
	}
	d, err := OpenDedupe(filepath.Join(dir, "dedupe"), 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 5 { // a-0..a-4 were processed before
		ev := testEvent(fmt.Sprintf("a-%d", i))
		if err := d.Add(&ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = Consume(ctx, q, d, func(*auditv1.Event) error {
		if n++; n == 5 { // a-5..a-9
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for q.Stats().Pending > 0 {
		rec, err := q.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !d.Seen(&rec.Event) {
			t.Fatalf("unexpected %s", rec.Event.AuditID)
		}
		if err := q.Ack(rec); err != nil {
			t.Fatal(err)
		}
	}
	if got := q.Stats().Pending; got != 0 {
		t.Fatalf("pending after everything = %d", got)
	}
	if d.Duplicates() != 0 || n != 5 { // Consume stopped when told, before the five sent again
		t.Errorf("duplicates %d, processed %d; want 0 and 5", d.Duplicates(), n)
	}
	q.Close()
}
