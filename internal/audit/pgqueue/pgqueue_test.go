package pgqueue

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
)

var quiet = slog.New(slog.DiscardHandler)

// testDSN gives a test a schema of its own in VNFGUARD_TEST_POSTGRES (dropped afterwards) and returns a DSN whose
// search_path selects it. Without the variable the test is skipped, except in CI, where that is a failure.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("VNFGUARD_TEST_POSTGRES")
	if dsn == "" {
		const hint = `VNFGUARD_TEST_POSTGRES is unset: run eval "$(hack/postgres.sh | tail -1)" first`
		if os.Getenv("CI") != "" {
			t.Fatal(hint)
		}
		t.Skip(hint)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to VNFGUARD_TEST_POSTGRES: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var b [6]byte
	_, _ = crand.Read(b[:])
	schema := "q_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	v := u.Query()
	v.Set("search_path", schema)
	u.RawQuery = v.Encode()
	return u.String()
}

func open(t testing.TB, dsn string, opts Options) *Queue {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	q, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func events(prefix string, n int) []auditv1.Event {
	out := make([]auditv1.Event, n)
	for i := range out {
		out[i] = auditv1.Event{
			TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
			AuditID:  types.UID(fmt.Sprintf("%s-%04d", prefix, i)), Stage: auditv1.StageResponseComplete, Verb: "get",
			RequestURI: "/api/v1/namespaces/core/pods/upf-0",
		}
	}
	return out
}

func stats(t testing.TB, q *Queue) Stats {
	t.Helper()
	s, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tally counts the events handed to consumers, by audit ID.
type tally struct {
	mu  sync.Mutex
	ids map[string]int
}

func (c *tally) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int{}
	}
	c.ids[id]++
	return len(c.ids)
}

func (c *tally) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// waitDrained waits until no event of q's cluster is pending or claimed anywhere.
func waitDrained(t testing.TB, q *Queue) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if s := stats(t, q); s.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v", stats(t, q))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A batch the API server retries, to this replica or another, is stored once, also after it was processed.
func TestRetriedBatchStoredOnce(t *testing.T) {
	dsn := testDSN(t)
	a, b := open(t, dsn, Options{Cluster: "east"}), open(t, dsn, Options{Cluster: "east"})
	batch := events("ev", 10)
	for _, q := range []*Queue{a, a, b} {
		if err := q.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	// Partly new: the new half is stored.
	if err := b.Append(append(events("ev", 10)[5:], events("more", 5)...)); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, a); s.Pending != 15 {
		t.Fatalf("pending after a batch sent three times and an overlapping one: %d, want 15", s.Pending)
	}
	if n, err := a.Depth(); err != nil || n != 15 {
		t.Errorf("Depth = %d, %v; want 15", n, err)
	}
	if da, db := a.Dropped()["duplicate"], b.Dropped()["duplicate"]; da != 10 || db != 15 {
		t.Errorf("duplicates dropped: %d on a, %d on b; want 10 and 15", da, db)
	}
	var got tally
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = a.Consume(ctx, func(ev *auditv1.Event) error { got.add(string(ev.AuditID)); return nil })
	}()
	waitDrained(t, a)
	if err := b.Append(batch); err != nil { // retried after it was processed, within the horizon
		t.Fatal(err)
	}
	if s := stats(t, a); s.Pending != 0 || s.Processed != 15 {
		t.Fatalf("after a retry of a processed batch: %+v, want 0 pending, 15 processed", s)
	}
	if n, err := a.Depth(); err != nil || n != 0 || b.Dropped()["duplicate"] != 25 {
		t.Errorf("after the retry: depth %d (%v), duplicates on b %d; want 0 and 25", n, err, b.Dropped()["duplicate"])
	}
	// Another cluster's identical audit IDs are its own.
	west := open(t, dsn, Options{Cluster: "west"})
	if err := west.Append(batch); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, west); s.Pending != 10 {
		t.Fatalf("cluster west: %d pending, want 10", s.Pending)
	}
	time.Sleep(100 * time.Millisecond)
	if s := stats(t, west); s.Pending != 10 {
		t.Fatalf("east's consumer took west's events: %+v", s)
	}
	for _, ev := range append(batch, events("more", 5)...) {
		if n := got.get(string(ev.AuditID)); n != 1 {
			t.Errorf("%s handled %d times, want 1", ev.AuditID, n)
		}
	}
}

// Consumers on two replicas at once take disjoint rows and together handle every event exactly once.
func TestConsumersShareTheWork(t *testing.T) {
	dsn := testDSN(t)
	const total = 2000
	producer := open(t, dsn, Options{Cluster: "c"})
	for i := range total / 100 {
		if err := producer.Append(events(fmt.Sprintf("b%02d", i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	var got tally
	perConsumer := make([]int, 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := range 2 {
		q := open(t, dsn, Options{Cluster: "c", BatchSize: 25})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = q.Consume(ctx, func(ev *auditv1.Event) error {
				got.add(string(ev.AuditID))
				perConsumer[c]++
				time.Sleep(100 * time.Microsecond) // a little work, so both consumers get batches
				return nil
			})
		}()
	}
	waitDrained(t, producer)
	cancel()
	wg.Wait()
	if len(got.ids) != total {
		t.Fatalf("%d distinct events handled, want %d", len(got.ids), total)
	}
	for id, n := range got.ids {
		if n != 1 {
			t.Errorf("%s handled %d times", id, n)
		}
	}
	if perConsumer[0] == 0 || perConsumer[1] == 0 {
		t.Errorf("one consumer did all the work: %v", perConsumer)
	}
	t.Logf("events per consumer: %v", perConsumer)
}

// A consumer whose connection dies in the middle of a batch (its pod killed) loses nothing: PostgreSQL releases its
// rows, and another consumer handles every event of them.
func TestDeadConsumerReleasesItsRows(t *testing.T) {
	dsn := testDSN(t)
	// Named, so that the test terminates its connections only, whatever else runs on the server.
	victim := "vnfguard-d-" + hex.EncodeToString([]byte(time.Now().Format("150405.000")))
	dying := open(t, dsn+"&application_name="+url.QueryEscape(victim), Options{Cluster: "c", BatchSize: 50})
	if err := dying.Append(events("ev", 30)); err != nil {
		t.Fatal(err)
	}
	taken := make(chan struct{})
	release := make(chan struct{})
	dctx, dcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var once sync.Once
		_ = dying.Consume(dctx, func(*auditv1.Event) error {
			once.Do(func() { close(taken) })
			<-release // stuck as a killed process is: no further statement, no commit
			return nil
		})
	}()
	var wake sync.Once
	// Also when the test fails: a hung consumer would keep its locks and stop the schema's cleanup.
	t.Cleanup(func() { wake.Do(func() { close(release) }); dcancel(); <-done })
	<-taken
	if s := stats(t, dying); s.Claimed != 30 {
		t.Fatalf("the dying consumer holds %d events, want 30", s.Claimed)
	}
	// Another replica sees nothing to take while the claim holds.
	other := open(t, dsn, Options{Cluster: "c"})
	var got tally
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = other.Consume(ctx, func(ev *auditv1.Event) error { got.add(string(ev.AuditID)); return nil })
	}()
	time.Sleep(200 * time.Millisecond)
	if n := len(got.ids); n != 0 {
		t.Fatalf("another consumer took %d events a live claim holds", n)
	}
	// Kill the claim's backend as PostgreSQL sees a killed pod: its connection gone.
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var killed int
	if err := pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, victim).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d backends, want the one claim", killed)
	}
	waitDrained(t, other)
	for _, ev := range events("ev", 30) {
		if n := got.get(string(ev.AuditID)); n != 1 {
			t.Errorf("%s handled %d times by the surviving consumer, want 1", ev.AuditID, n)
		}
	}
	// The dying consumer's late commit fails; it marks nothing and the events stay processed once.
	wake.Do(func() { close(release) })
	dcancel()
	<-done
	if s := stats(t, other); s.Pending != 0 || s.Processed != 30 {
		t.Errorf("after the dead consumer woke: %+v, want 0 pending, 30 processed", s)
	}
}

// SIGTERM during a batch: the event being handled is finished and marked, the rest of the claim goes back to the
// queue, and a restart handles exactly those.
func TestCancelFinishesTheTakenEvent(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c", BatchSize: 10})
	if err := q.Append(events("ev", 10)); err != nil {
		t.Fatal(err)
	}
	var got tally
	ctx, sigterm := context.WithCancel(context.Background())
	err := q.Consume(ctx, func(ev *auditv1.Event) error {
		if got.add(string(ev.AuditID)) == 3 {
			sigterm()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume = %v, want context.Canceled", err)
	}
	if s := stats(t, q); s.Pending != 7 || s.Processed != 3 || s.Claimed != 0 {
		t.Fatalf("after SIGTERM on the third event: %+v, want 7 pending, 3 processed, none claimed", s)
	}
	ctx2, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = q.Consume(ctx2, func(ev *auditv1.Event) error { got.add(string(ev.AuditID)); return nil }) }()
	waitDrained(t, q)
	for _, ev := range events("ev", 10) {
		if n := got.get(string(ev.AuditID)); n != 1 {
			t.Errorf("%s handled %d times, want 1", ev.AuditID, n)
		}
	}
}

// A failing handler: the events before it are committed, its event stays pending and comes first next time.
func TestHandlerErrorKeepsTheEvent(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c"})
	if err := q.Append(events("ev", 5)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("sink down")
	var seen []string
	err := q.Consume(context.Background(), func(ev *auditv1.Event) error {
		if ev.AuditID == "ev-0002" {
			return boom
		}
		seen = append(seen, string(ev.AuditID))
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Consume = %v, want the handler's error", err)
	}
	if s := stats(t, q); s.Pending != 3 || s.Processed != 2 {
		t.Fatalf("after the failure: %+v, want 3 pending, 2 processed", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_ = q.Consume(ctx, func(ev *auditv1.Event) error {
		seen = append(seen, string(ev.AuditID))
		if len(seen) == 5 {
			cancel()
		}
		return nil
	})
	if fmt.Sprint(seen) != "[ev-0000 ev-0001 ev-0002 ev-0003 ev-0004]" {
		t.Errorf("handled %v, want each once in append order", seen)
	}
}

// The bound on pending events answers ErrQueueFull (429 at the receiver) until a consumer makes room; a batch bigger
// than the bound is ErrBatchTooLarge (413).
func TestQueueFull(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c", MaxPending: 10})
	if err := q.Append(events("a", 8)); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(events("b", 3)); !errors.Is(err, audit.ErrQueueFull) {
		t.Fatalf("Append over the bound = %v, want ErrQueueFull", err)
	}
	if err := q.Append(events("c", 11)); !errors.Is(err, audit.ErrBatchTooLarge) {
		t.Fatalf("Append of a batch bigger than the bound = %v, want ErrBatchTooLarge", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_ = q.Consume(ctx, func(*auditv1.Event) error {
		if n++; n == 8 {
			cancel()
		}
		return nil
	})
	if err := q.Append(events("b", 3)); err != nil {
		t.Fatalf("Append once the consumer made room: %v", err)
	}
}

// Bad input gets an error that says what is wrong, and nothing of the batch is stored.
func TestBadInput(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c"})
	noID := events("x", 2)
	noID[1].AuditID = ""
	noStage := events("y", 2)
	noStage[0].Stage = ""
	for name, batch := range map[string][]auditv1.Event{"empty": nil, "no auditID": noID, "no stage": noStage} {
		err := q.Append(batch)
		if !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: Append = %v, want ErrInvalidBatch", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if s := stats(t, q); s.Pending != 0 {
		t.Errorf("%d events stored from refused batches", s.Pending)
	}
	if _, err := Open(context.Background(), "postgres://u:secret@[::1", Options{}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open of a malformed DSN = %v, want an error without the password", err)
	}
	q.Close()
	if err := q.Append(events("z", 1)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
}

// Processed rows are kept for the dedupe horizon and pruned after it; pending rows are never pruned.
func TestPruneAfterHorizon(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c", DedupeHorizon: 300 * time.Millisecond})
	if err := q.Append(events("old", 4)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_ = q.Consume(ctx, func(*auditv1.Event) error {
		if n++; n == 4 {
			cancel()
		}
		return nil
	})
	if err := q.Append(events("pending", 2)); err != nil {
		t.Fatal(err)
	}
	if k, err := q.Prune(context.Background()); err != nil || k != 0 {
		t.Fatalf("Prune within the horizon = %d, %v; want 0", k, err)
	}
	time.Sleep(400 * time.Millisecond)
	if k, err := q.Prune(context.Background()); err != nil || k != 4 {
		t.Fatalf("Prune after the horizon = %d, %v; want 4", k, err)
	}
	if s := stats(t, q); s.Pending != 2 || s.Processed != 0 {
		t.Fatalf("after prune: %+v, want the 2 pending kept", s)
	}
}

// BenchmarkAppendConsume: batches of 100 events appended and consumed by one consumer, end to end through
// PostgreSQL.
func BenchmarkAppendConsume(b *testing.B) {
	dsn := testDSN(b)
	q := open(b, dsn, Options{Cluster: "bench", MaxPending: 10_000_000})
	const batch = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled sync.WaitGroup
	handled.Add(b.N * batch)
	go func() { _ = q.Consume(ctx, func(*auditv1.Event) error { handled.Done(); return nil }) }()
	b.ResetTimer()
	for i := range b.N {
		if err := q.Append(events(fmt.Sprintf("b%d", i), batch)); err != nil {
			b.Fatal(err)
		}
	}
	handled.Wait()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// The metrics say how many events wait and how many this process holds.
func TestMetrics(t *testing.T) {
	dsn := testDSN(t)
	q := open(t, dsn, Options{Cluster: "c"})
	reg := prometheus.NewRegistry()
	if err := q.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(events("m", 7)); err != nil {
		t.Fatal(err)
	}
	gauges := func() map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		return out
	}
	if g := gauges(); g["vnfguard_audit_queue_pending"] != 7 || g["vnfguard_audit_queue_claimed"] != 0 {
		t.Errorf("before consuming: %v, want 7 pending, 0 claimed", g)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var during map[string]float64
	_ = q.Consume(ctx, func(*auditv1.Event) error {
		if during == nil {
			during = gauges()
			cancel()
		}
		return nil
	})
	if during["vnfguard_audit_queue_claimed"] != 7 {
		t.Errorf("while consuming: %v, want 7 claimed", during)
	}
	if g := gauges(); g["vnfguard_audit_queue_pending"] != 6 || g["vnfguard_audit_queue_claimed"] != 0 {
		t.Errorf("after one event and a shutdown: %v, want 6 pending, 0 claimed", g)
	}
}
