package intake

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/audit/pgqueue"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// findingLog collects what reached stdout and what reached a sink, by audit ID.
type findingLog struct {
	mu     sync.Mutex
	stdout bytes.Buffer
	sink   map[string]int
}

func (l *findingLog) stdoutIDs(t *testing.T) map[string]int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(l.stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		ids[f.Evidence["auditID"]]++
	}
	return ids
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// backend opens one kind of queue for a test; reopening on the same place is a restart.
type backend struct {
	name string
	open func(t *testing.T) func() (Backend, func() bool) // the second result reports whether the queue is drained
}

func diskBackend(t *testing.T) func() (Backend, func() bool) {
	dir := t.TempDir()
	return func() (Backend, func() bool) {
		d, err := OpenDisk(dir, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return d, func() bool { return d.Queue.Stats().UnackedBytes == 0 }
	}
}

func postgresBackend(t *testing.T) func() (Backend, func() bool) {
	dsn := testDSN(t)
	return func() (Backend, func() bool) {
		q := openPG(t, dsn, pgqueue.Options{Cluster: "test"})
		return q, func() bool {
			s, err := q.Stats(context.Background())
			return err == nil && s.Pending == 0
		}
	}
}

func openPG(t *testing.T, dsn string, opts pgqueue.Options) *pgqueue.Queue {
	t.Helper()
	opts.Logger, opts.PollInterval = quiet, 20*time.Millisecond
	q, err := pgqueue.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// testDSN gives the test a schema of its own in VNFGUARD_TEST_POSTGRES (hack/postgres.sh), dropped afterwards.
func testDSN(t *testing.T) string {
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
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var b [6]byte
	_, _ = crand.Read(b[:])
	schema := "i_" + hex.EncodeToString(b[:])
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

var quiet = slog.New(slog.DiscardHandler)

func newEngine(t *testing.T) *detect.Engine {
	t.Helper()
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	inv := vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), nil)}
	engine, err := detect.NewEngine(rules, detect.Env{Config: cfg, Inventory: inv, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

func newIntake(t *testing.T, b Backend, out io.Writer, publish func(context.Context, []finding.Finding)) *Intake {
	t.Helper()
	in, err := New(Options{Backend: b, Receiver: audit.ReceiverOptions{BearerTokens: []string{"secret-token"}}, Engine: newEngine(t),
		Cluster: "test", Publish: publish, Out: out, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// anonymousLists are events the built-in rules report: anonymous reads of secrets.
func anonymousLists(prefix string, n int) []auditv1.Event {
	var events []auditv1.Event
	for i := range n {
		events = append(events, auditv1.Event{
			TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
			AuditID:  types.UID(fmt.Sprintf("%s-%d", prefix, i)), Stage: auditv1.StageResponseComplete, Verb: "list",
			// In one namespace: a cluster-wide list would also be secret-dumping, two findings an event.
			RequestURI: "/api/v1/namespaces/default/secrets", User: authnv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
			SourceIPs: []string{"203.0.113.7"}, ObjectRef: &auditv1.ObjectReference{Resource: "secrets", Namespace: "default", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 200},
		})
	}
	return events
}

func TestExactlyOnceAcrossShutdown(t *testing.T) {
	for _, b := range []backend{{"disk", diskBackend}, {"postgres", postgresBackend}} {
		t.Run(b.name, func(t *testing.T) { testExactlyOnceAcrossShutdown(t, b.open(t)) })
	}
}

// After SIGTERM during processing, a finding already printed and sent is not printed and sent again on restart,
// and none is lost: each appears exactly once on stdout and in the sink. On main, serve's shutdown closed the
// dedupe set under the consumer, which had printed the first finding: the event was never remembered nor
// acknowledged, and the restart printed it again (the sink, whose request the shutdown cancelled, missed it).
func testExactlyOnceAcrossShutdown(t *testing.T, open func() (Backend, func() bool)) {
	events := anonymousLists("anon", 5)
	log := &findingLog{sink: map[string]int{}}
	// The sink delivers only while its context lives, as the webhook and syslog sinks do.
	publish := func(ctx context.Context, fs []finding.Finding) {
		if ctx.Err() != nil {
			return
		}
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, f := range fs {
			log.sink[f.Evidence["auditID"]]++
		}
	}

	// First run: SIGTERM arrives while the first finding is being written (a slow stdout).
	ctx, sigterm := context.WithCancel(context.Background())
	var once sync.Once
	out := writerFunc(func(p []byte) (int, error) {
		log.mu.Lock()
		n, err := log.stdout.Write(p)
		log.mu.Unlock()
		once.Do(func() {
			sigterm()
			time.Sleep(300 * time.Millisecond)
		})
		return n, err
	})
	b, _ := open()
	in := newIntake(t, b, out, publish)
	if err := b.Append(events); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- in.Run(ctx) }() // as serve starts it
	<-ctx.Done()
	in.Close() // as serve's deferred close, once the signal ended serve
	select {
	case err := <-stopped:
		if err != nil {
			t.Logf("first run ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not stop after shutdown")
	}
	if len(log.stdoutIDs(t)) == 0 {
		t.Fatal("the first run printed nothing: the shutdown did not happen during processing")
	}

	// Restart on the same queue directory: the rest comes out, and nothing again.
	b2, drained := open()
	in2 := newIntake(t, b2, writerFunc(func(p []byte) (int, error) {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.stdout.Write(p)
	}), publish)
	ctx2, stop2 := context.WithCancel(context.Background())
	go func() { stopped <- in2.Run(ctx2) }()
	for deadline := time.Now().Add(30 * time.Second); !drained(); {
		if time.Now().After(deadline) {
			t.Fatal("the restarted consumer did not drain the queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop2()
	in2.Close()
	<-stopped

	got := log.stdoutIDs(t)
	for _, ev := range events {
		id := string(ev.AuditID)
		if got[id] != 1 || log.sink[id] != 1 {
			t.Errorf("finding of %s: %d times on stdout, %d times in the sink; want exactly once each", id, got[id], log.sink[id])
		}
	}
}

// Two replicas on one PostgreSQL queue and store: replica A records the findings of a claimed batch and dies (its
// connection terminated, as a SIGKILLed pod's) before it marks the events done. Replica B processes the whole batch
// again: no event is lost, and the stored finding counts each event once.
func TestPostgresReplicaDeathLosesAndDoublesNothing(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	record := func(ctx context.Context, fs []finding.Finding) {
		if err := st.Record(ctx, fs); err != nil {
			t.Errorf("record: %v", err)
		}
	}
	const n = 20
	events := anonymousLists("kill", n)

	// Replica A: records every event's findings, then hangs (dead) before its batch is marked.
	// Named, so that the test terminates replica A's connections only, whatever else runs on the server.
	victim := "vnfguard-a-" + hex.EncodeToString([]byte(time.Now().Format("150405.000")))
	qa := openPG(t, dsn+"&application_name="+url.QueryEscape(victim), pgqueue.Options{Cluster: "test", BatchSize: n})
	dead := make(chan struct{})
	var wake sync.Once
	recordedByA := 0
	a := newIntake(t, qa, io.Discard, func(ctx context.Context, fs []finding.Finding) {
		record(ctx, fs)
		if recordedByA++; recordedByA == n {
			<-dead
		}
	})
	if err := qa.Append(events); err != nil {
		t.Fatal(err)
	}
	runA := make(chan error, 1)
	go func() { runA <- a.Run(ctx) }()
	// Also when the test fails: a hung replica A would keep its locks and stop the schema's cleanup.
	t.Cleanup(func() { wake.Do(func() { close(dead) }); a.Close() })
	waitFor(t, "replica A to record all its findings", func() bool {
		fs, err := st.List(ctx, store.Filter{})
		return err == nil && len(fs) == 1 && fs[0].Count == n
	})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, victim).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d backends, want replica A's claim", killed)
	}

	// Replica B takes the batch over.
	qb := openPG(t, dsn, pgqueue.Options{Cluster: "test"})
	var processedByB sync.Map
	b := newIntake(t, qb, io.Discard, func(ctx context.Context, fs []finding.Finding) {
		for _, f := range fs {
			processedByB.Store(f.Evidence["auditID"], true)
		}
		record(ctx, fs)
	})
	ctxB, stopB := context.WithCancel(ctx)
	runB := make(chan error, 1)
	go func() { runB <- b.Run(ctxB) }()
	waitFor(t, "replica B to drain the queue", func() bool {
		s, err := qb.Stats(ctx)
		return err == nil && s.Pending == 0 && s.Processed == n
	})
	for _, ev := range events {
		if _, ok := processedByB.Load(string(ev.AuditID)); !ok {
			t.Errorf("event %s of the dead replica's claim was not processed again", ev.AuditID)
		}
	}
	fs, err := st.List(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Count != n {
		t.Fatalf("stored findings after the replay: %d findings, count %d; want 1 finding counting %d events", len(fs), fs[0].Count, n)
	}
	wake.Do(func() { close(dead) })
	stopB()
	b.Close()
	a.Close()
	for _, ch := range []chan error{runA, runB} {
		if err := <-ch; err != nil {
			t.Errorf("intake run: %v", err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
