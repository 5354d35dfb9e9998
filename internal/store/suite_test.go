package store

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// opener opens stores on the same database each time within one test (so that reopening, and several stores sharing
// one database, can be tested); every test gets a database of its own.
type opener struct{ dsn string }

// open opens a store on the test's database, closed when the test ends.
func (o opener) open(t testing.TB, opts ...Option) Store { return mustOpen(t, o.dsn, opts...) }

// newOpener makes the opener of one backend for one test.
type newOpener func(t testing.TB) opener

func TestSQLite(t *testing.T) { runSuite(t, sqliteOpener) }

func TestPostgres(t *testing.T) { runSuite(t, postgresOpener(t)) }

func sqliteOpener(t testing.TB) opener {
	path := filepath.Join(t.TempDir(), "findings.db")
	return opener{dsn: "sqlite://" + path}
}

// postgresDSN reads VNFGUARD_TEST_POSTGRES. In CI its absence is a failure: the PostgreSQL half of the store would go
// untested. Elsewhere the PostgreSQL tests are skipped, so that `go test` works on a machine without the server.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("VNFGUARD_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	const hint = `VNFGUARD_TEST_POSTGRES is unset: run eval "$(hack/postgres.sh | tail -1)" first (it starts a throw-away PostgreSQL on loopback)`
	if os.Getenv("CI") != "" {
		t.Fatal(hint)
	}
	t.Skip(hint + "; skipped because CI is unset")
	return ""
}

// postgresOpener gives every test a schema of its own (dropped afterwards) through the search_path, so that tests
// neither see each other's rows nor need a database each.
func postgresOpener(t testing.TB) newOpener {
	dsn := postgresDSN(t)
	return func(t testing.TB) opener {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to VNFGUARD_TEST_POSTGRES (%s): %v", redactDSN(dsn), err)
		}
		defer func() { _ = conn.Close(ctx) }()
		var b [6]byte
		_, _ = crand.Read(b[:])
		schema := "t_" + hex.EncodeToString(b[:])
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatalf("create schema %s: %v", schema, err)
		}
		t.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Errorf("connect to drop schema %s: %v", schema, err)
				return
			}
			defer func() { _ = c.Close(context.Background()) }()
			if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse VNFGUARD_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return opener{dsn: u.String()}
	}
}

func mustOpen(t testing.TB, dsn string, opts ...Option) Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, nil, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func loadFixtures(t testing.TB) []finding.Finding {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []finding.Finding
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatalf("testdata/findings.json: %v", err)
	}
	return fs
}

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// occurrence is a finding of one ID at a given time with one audit ID.
func occurrence(id string, at time.Time, auditID string, sev finding.Severity, msg string) finding.Finding {
	return finding.Finding{ID: id, Time: at, Rule: "exec-into-vnf", Technique: finding.AccessingTerminatedVNF,
		Severity: sev, Message: msg, VNFInstance: "upf-1",
		Object:   finding.ObjectRef{Kind: "Pod", Namespace: "core", Name: "upf-0", Subresource: "exec"},
		Evidence: map[string]string{EvidenceAuditID: auditID, "verb": "get"}}
}

func ids(fs []finding.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

func record(t testing.TB, s Store, fs ...finding.Finding) {
	t.Helper()
	if err := s.Record(context.Background(), fs); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func get(t testing.TB, s Store, id string) finding.Finding {
	t.Helper()
	f, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return f
}

// runSuite runs every case against one backend.
func runSuite(t *testing.T, backend newOpener) {
	cases := []struct {
		name string
		run  func(t *testing.T, db opener)
	}{
		{"record and get round-trip every field", testRoundTrip},
		{"list filters, newest first", testListFilters},
		{"get of an unknown ID is ErrNotFound", testGetMissing},
		{"a finding without ID gets finding.Key", testDefaultID},
		{"repeats within the window aggregate", testAggregate},
		{"audit IDs are bounded to the latest", testAuditIDBound},
		{"an audit event recorded twice counts once", testReplayCountsOnce},
		{"a repeat after the window restarts, an old replay is ignored", testWindowRestart},
		{"a late event within the window moves FirstSeen back only", testLateEvent},
		{"prune deletes by age", testPrune},
		{"concurrent writers lose no counts", testConcurrent},
		{"reopen keeps findings and migrations are idempotent", testReopen},
		{"replicas opening at once all get the schema", testConcurrentOpen},
		{"resolve marks open findings, a new occurrence reopens", testResolve},
		{"clusters sharing a store keep their findings apart", testClusters},
		{"browse pages, sorts and counts; histogram and facets", testBrowse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, backend(t)) })
	}
}

func testRoundTrip(t *testing.T, db opener) {
	s := db.open(t)
	fixtures := loadFixtures(t)
	record(t, s, fixtures...)
	for _, want := range fixtures {
		got := get(t, s, want.ID)
		want.FirstSeen, want.LastSeen, want.Count = want.Time, want.Time, 1
		// The audit IDs come back under one key, comma-separated.
		if len(want.Evidence) > 0 {
			ev := map[string]string{}
			for k, v := range want.Evidence {
				if k == EvidenceAuditID {
					k = EvidenceAuditIDs
				}
				ev[k] = v
			}
			want.Evidence = ev
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("Get(%s):\n got %s\nwant %s", want.ID, gotJSON, wantJSON)
		}
	}
}

func testListFilters(t *testing.T, db opener) {
	s := db.open(t)
	record(t, s, loadFixtures(t)...)
	all := []string{"anonymous-get", "daemonset-core", "peirates-pod", "secret-udr-terminated", "exec-upf-stopped"}
	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"no filter", Filter{}, all},
		{"technique", Filter{Technique: finding.AccessingTerminatedVNF}, []string{"secret-udr-terminated", "exec-upf-stopped"}},
		{"min severity high", Filter{MinSeverity: finding.High}, []string{"peirates-pod", "secret-udr-terminated", "exec-upf-stopped"}},
		{"min severity critical", Filter{MinSeverity: finding.Critical}, []string{"peirates-pod", "exec-upf-stopped"}},
		{"namespace", Filter{Namespace: "core"}, []string{"daemonset-core", "secret-udr-terminated", "exec-upf-stopped"}},
		{"vnf instance", Filter{VNFInstance: "udr-1"}, []string{"secret-udr-terminated"}},
		{"rule", Filter{Rule: "host-takeover-mount"}, []string{"peirates-pod"}},
		{"since is inclusive", Filter{Since: t0.Add(2 * time.Minute)}, []string{"anonymous-get", "daemonset-core", "peirates-pod"}},
		{"limit", Filter{Limit: 2}, all[:2]},
		{"combined", Filter{Technique: finding.MaliciousVNFInstantiation, Namespace: "core", MinSeverity: finding.Medium}, []string{"daemonset-core"}},
		{"nothing matches", Filter{VNFInstance: "nope"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(context.Background(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.filter, g, tc.want)
			}
		})
	}
}

func testGetMissing(t *testing.T, db opener) {
	s := db.open(t)
	_, err := s.Get(context.Background(), "no-such-id")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(no-such-id) = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "no-such-id") {
		t.Errorf("error %q does not name the ID", err)
	}
}

func testDefaultID(t *testing.T, db opener) {
	s := db.open(t)
	f := occurrence("", t0, "a1", finding.High, "m")
	record(t, s, f)
	want := finding.Key(f.Rule, f.Object, f.VNFInstance)
	if got := get(t, s, want); got.Rule != f.Rule {
		t.Errorf("stored under %s: rule %q, want %q", want, got.Rule, f.Rule)
	}
}

func testAggregate(t *testing.T, db opener) {
	s := db.open(t)
	record(t, s, occurrence("x", t0, "a1", finding.High, "first"))
	// Two more in one batch, one of them pre-aggregated (Count 3) by its producer.
	second := occurrence("x", t0.Add(time.Minute), "a2", finding.Critical, "second")
	third := occurrence("x", t0.Add(2*time.Minute), "a3", finding.Medium, "third")
	third.Count = 3
	record(t, s, second, third)
	got := get(t, s, "x")
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"count", got.Count, 5},
		{"first seen", got.FirstSeen, t0},
		{"last seen", got.LastSeen, t0.Add(2 * time.Minute)},
		{"time", got.Time, t0.Add(2 * time.Minute)},
		{"severity (highest)", got.Severity, finding.Critical},
		{"message (latest)", got.Message, "third"},
		{"audit IDs", got.Evidence[EvidenceAuditIDs], "a1,a2,a3"},
		{"other evidence", got.Evidence["verb"], "get"},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func testAuditIDBound(t *testing.T, db opener) {
	s := db.open(t, WithMaxAuditIDs(5))
	var batch []finding.Finding
	for i := range 12 {
		batch = append(batch, occurrence("x", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("a%02d", i), finding.High, "m"))
	}
	// An occurrence carrying an old audit ID with a new one moves the old one to the end rather than duplicating it.
	again := occurrence("x", t0.Add(time.Minute), "a12", finding.High, "m")
	again.Evidence[EvidenceAuditIDs] = "a03"
	batch = append(batch, again)
	record(t, s, batch...)
	got := get(t, s, "x")
	if want := "a09,a10,a11,a03,a12"; got.Evidence[EvidenceAuditIDs] != want {
		t.Errorf("audit IDs = %q, want %q", got.Evidence[EvidenceAuditIDs], want)
	}
	if got.Count != 13 {
		t.Errorf("count = %d, want 13", got.Count)
	}
}

// An audit event processed twice — in one batch, in a later batch, long after its ID left the bounded audit_ids
// list, or by two replicas at once — counts once, in both backends. Another finding of the same event, and an
// occurrence without audit IDs, still count.
func testReplayCountsOnce(t *testing.T, db opener) {
	s := db.open(t, WithMaxAuditIDs(3))
	record(t, s, occurrence("x", t0, "a1", finding.High, "first"), occurrence("x", t0, "a1", finding.High, "first again"))
	if got := get(t, s, "x"); got.Count != 1 {
		t.Fatalf("an event twice in one batch: count %d, want 1", got.Count)
	}
	for i := 2; i <= 10; i++ {
		record(t, s, occurrence("x", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("a%d", i), finding.High, "m"))
	}
	before := get(t, s, "x")
	if before.Count != 10 || before.Evidence[EvidenceAuditIDs] != "a8,a9,a10" {
		t.Fatalf("after 10 events: count %d audit %q, want 10 and a8,a9,a10", before.Count, before.Evidence[EvidenceAuditIDs])
	}
	// Replay all ten (an intake that crashed before marking them done): a1 has long left audit_ids.
	var replay []finding.Finding
	for i := 1; i <= 10; i++ {
		replay = append(replay, occurrence("x", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("a%d", i), finding.High, "replayed"))
	}
	record(t, s, replay...)
	after := get(t, s, "x")
	if after.Count != 10 || after.Evidence[EvidenceAuditIDs] != "a8,a9,a10" || after.Message == "replayed" {
		t.Errorf("after a replay: count %d audit %q message %q; want the stored finding unchanged (10, a8,a9,a10)",
			after.Count, after.Evidence[EvidenceAuditIDs], after.Message)
	}
	// Replicas processing the same event at once: one of them counts it.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Record(context.Background(), []finding.Finding{occurrence("x", t0.Add(20*time.Second), "a20", finding.High, "m")}); err != nil {
				t.Errorf("concurrent Record: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := get(t, s, "x"); got.Count != 11 {
		t.Errorf("one event recorded by 4 writers at once: count %d, want 11", got.Count)
	}
	// The same event behind another finding counts there; findings without audit IDs count every time.
	record(t, s, occurrence("y", t0, "a1", finding.High, "other rule"))
	rogue := occurrence("rogue", t0, "", finding.High, "rogue")
	record(t, s, rogue, rogue)
	if y, r := get(t, s, "y"), get(t, s, "rogue"); y.Count != 1 || r.Count != 2 {
		t.Errorf("other finding of the same event: count %d, want 1; finding without audit IDs twice: count %d, want 2", y.Count, r.Count)
	}
	// A new store on the same database (a restarted replica) still knows the counted events.
	again := db.open(t, WithMaxAuditIDs(3))
	record(t, again, occurrence("x", t0.Add(time.Second), "a1", finding.High, "after restart"))
	if got := get(t, again, "x"); got.Count != 11 {
		t.Errorf("a replay after a restart: count %d, want 11", got.Count)
	}
}

func testWindowRestart(t *testing.T, db opener) {
	s := db.open(t, WithWindow(10*time.Minute))
	record(t, s, occurrence("x", t0, "a1", finding.Critical, "first"), occurrence("x", t0.Add(time.Minute), "a2", finding.Critical, "second"))
	later := t0.Add(time.Minute + 10*time.Minute + time.Second) // just past the window after LastSeen
	record(t, s, occurrence("x", later, "a3", finding.Low, "restarted"))
	got := get(t, s, "x")
	if got.Count != 1 || !got.FirstSeen.Equal(later) || !got.LastSeen.Equal(later) ||
		got.Evidence[EvidenceAuditIDs] != "a3" || got.Severity != finding.Low || got.Message != "restarted" {
		t.Errorf("after the window: count %d first %v last %v audit %q severity %v message %q; want a fresh occurrence at %v",
			got.Count, got.FirstSeen, got.LastSeen, got.Evidence[EvidenceAuditIDs], got.Severity, got.Message, later)
	}
	// A replay of an event from long before leaves the newer occurrence alone.
	record(t, s, occurrence("x", t0.Add(-time.Hour), "old", finding.Critical, "old replay"))
	again := get(t, s, "x")
	if again.Count != 1 || again.Message != "restarted" || again.Evidence[EvidenceAuditIDs] != "a3" {
		t.Errorf("after an old replay: count %d message %q audit %q; want the stored occurrence unchanged",
			again.Count, again.Message, again.Evidence[EvidenceAuditIDs])
	}
	// Exactly at the window's edge still aggregates.
	edge := later.Add(10 * time.Minute)
	record(t, s, occurrence("x", edge, "a4", finding.Low, "edge"))
	if e := get(t, s, "x"); e.Count != 2 || !e.FirstSeen.Equal(later) {
		t.Errorf("at the window's edge: count %d first %v, want 2 and %v", e.Count, e.FirstSeen, later)
	}
}

func testLateEvent(t *testing.T, db opener) {
	s := db.open(t)
	record(t, s, occurrence("x", t0.Add(5*time.Minute), "a2", finding.High, "latest"))
	record(t, s, occurrence("x", t0, "a1", finding.Medium, "late"))
	got := get(t, s, "x")
	if got.Count != 2 || !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(5*time.Minute)) ||
		got.Message != "latest" || got.Severity != finding.High || got.Evidence[EvidenceAuditIDs] != "a1,a2" {
		t.Errorf("late event: count %d first %v last %v message %q severity %v audit %q",
			got.Count, got.FirstSeen, got.LastSeen, got.Message, got.Severity, got.Evidence[EvidenceAuditIDs])
	}
}

func testPrune(t *testing.T, db opener) {
	s := db.open(t)
	record(t, s, loadFixtures(t)...) // last seen at t0 + 0..4 min
	n, err := s.Prune(context.Background(), t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Prune deleted %d, want 2", n)
	}
	got, err := s.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"anonymous-get", "daemonset-core", "peirates-pod"}; !slices.Equal(ids(got), want) {
		t.Errorf("after Prune: %v, want %v", ids(got), want)
	}
	if n, err := s.Prune(context.Background(), t0); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
	}
}

// testConcurrent has 10 writers over two stores on one database (two replicas) record the same 100 IDs, each in its
// own order: every ID must end with count 10 and ten audit IDs.
func testConcurrent(t *testing.T, db opener) {
	stores := []Store{db.open(t), db.open(t)}
	const writers, perWriter = 10, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]finding.Finding, perWriter)
			for i := range batch {
				batch[i] = occurrence(fmt.Sprintf("id-%03d", i), t0.Add(time.Duration(w)*time.Second), fmt.Sprintf("w%d-%d", w, i), finding.High, "m")
			}
			r := rand.New(rand.NewPCG(uint64(w), 1))
			r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			// Half in one batch, half one by one: both paths contend.
			if err := stores[w%2].Record(context.Background(), batch[:perWriter/2]); err != nil {
				errs <- err
				return
			}
			for _, f := range batch[perWriter/2:] {
				if err := stores[w%2].Record(context.Background(), []finding.Finding{f}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := stores[0].List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != perWriter {
		t.Fatalf("%d findings stored, want %d", len(got), perWriter)
	}
	total := 0
	for _, f := range got {
		total += f.Count
		if f.Count != writers {
			t.Errorf("%s: count %d, want %d", f.ID, f.Count, writers)
		}
		if n := len(strings.Split(f.Evidence[EvidenceAuditIDs], ",")); n != writers {
			t.Errorf("%s: %d audit IDs, want %d", f.ID, n, writers)
		}
		if !f.FirstSeen.Equal(t0) || !f.LastSeen.Equal(t0.Add((writers-1)*time.Second)) {
			t.Errorf("%s: first %v last %v, want %v and %v", f.ID, f.FirstSeen, f.LastSeen, t0, t0.Add((writers-1)*time.Second))
		}
	}
	if total != writers*perWriter {
		t.Errorf("total count %d, want %d", total, writers*perWriter)
	}
}

func testReopen(t *testing.T, db opener) {
	s := db.open(t)
	record(t, s, occurrence("x", t0, "a1", finding.High, "m"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := db.open(t) // runs the migrations once more: they must find nothing to do
	record(t, again, occurrence("x", t0.Add(time.Minute), "a2", finding.High, "m"))
	got := get(t, again, "x")
	if got.Count != 2 || got.Evidence[EvidenceAuditIDs] != "a1,a2" {
		t.Errorf("after reopen: count %d audit %q, want 2 and a1,a2", got.Count, got.Evidence[EvidenceAuditIDs])
	}
}

func testConcurrentOpen(t *testing.T, db opener) {
	const replicas = 5
	stores := make([]Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), db.dsn, nil)
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		t.Cleanup(func() { _ = s.Close() })
		record(t, s, occurrence("x", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("a%d", i), finding.High, "m"))
	}
	if got := get(t, stores[0], "x"); got.Count != replicas {
		t.Errorf("count %d, want %d", got.Count, replicas)
	}
}

func testResolve(t *testing.T, db opener) {
	s := db.open(t)
	ctx := context.Background()
	rogue := occurrence("rogue", t0, "", finding.High, "rogue pod")
	rogue.Source = "reconcile"
	zombie := occurrence("zombie", t0, "", finding.High, "zombie pod")
	zombie.Source = "reconcile"
	audit := occurrence("exec", t0, "a1", finding.High, "exec")
	audit.Source = "audit"
	record(t, s, rogue, zombie, audit)

	// Many IDs, most unknown, cross the chunk boundary: only the open, known ones count.
	asked := []string{"rogue"}
	for i := range resolveChunk + 5 {
		asked = append(asked, fmt.Sprintf("unknown-%d", i))
	}
	n, err := s.Resolve(ctx, asked, t0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Resolve = %d, %v; want 1 resolved", n, err)
	}
	if n, err := s.Resolve(ctx, []string{"rogue"}, t0.Add(2*time.Minute)); err != nil || n != 0 {
		t.Fatalf("resolving again = %d, %v; want 0 (already resolved, time kept)", n, err)
	}
	got := get(t, s, "rogue")
	if !got.Resolved.Equal(t0.Add(time.Minute)) || got.Count != 1 || !got.LastSeen.Equal(t0) {
		t.Fatalf("resolved finding = resolved %v count %d lastSeen %v; want resolved at +1m, count and lastSeen untouched", got.Resolved, got.Count, got.LastSeen)
	}
	for _, tc := range []struct {
		filter Filter
		want   []string
	}{
		{Filter{Source: "reconcile", Status: StatusOpen}, []string{"zombie"}},
		{Filter{Source: "reconcile", Status: StatusResolved}, []string{"rogue"}},
		{Filter{Source: "reconcile"}, []string{"rogue", "zombie"}},
		{Filter{Status: StatusOpen}, []string{"exec", "zombie"}},
	} {
		list, err := s.List(ctx, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(list)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%+v) = %v, want %v", tc.filter, got, tc.want)
		}
	}
	// The condition comes back: a new occurrence opens the finding again.
	again := occurrence("rogue", t0.Add(time.Hour), "", finding.High, "rogue pod again")
	again.Source = "reconcile"
	record(t, s, again)
	if got := get(t, s, "rogue"); !got.Resolved.IsZero() || got.Message != "rogue pod again" {
		t.Fatalf("after a new occurrence: resolved %v, message %q; want open with the new message", got.Resolved, got.Message)
	}
}

// testClusters: two clusters' vnfguards report the same rule on the same object; in a shared store they stay two
// findings, each listed under its own cluster, and a finding of an unnamed cluster keeps its plain ID.
func testClusters(t *testing.T, db opener) {
	s := db.open(t)
	plain := occurrence("exec-upf", t0, "a1", finding.Critical, "exec into a stopped UPF")
	east := []finding.Finding{occurrence("exec-upf", t0, "e1", finding.Critical, "exec into a stopped UPF")}
	west := []finding.Finding{occurrence("exec-upf", t0.Add(time.Second), "w1", finding.Critical, "exec into a stopped UPF")}
	finding.InCluster(east, "edge-east")
	finding.InCluster(west, "edge-west")
	record(t, s, plain, east[0], west[0])
	all, err := s.List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d findings, want 3 (one per cluster): %v", len(all), ids(all))
	}
	for cluster, want := range map[string]string{"edge-east": east[0].ID, "edge-west": west[0].ID} {
		got, err := s.List(context.Background(), Filter{Cluster: cluster})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != want || got[0].Cluster != cluster || got[0].Count != 1 {
			t.Errorf("--cluster %s: %+v, want only %s with its cluster", cluster, got, want)
		}
	}
	if f := get(t, s, "exec-upf"); f.Cluster != "" {
		t.Errorf("the unnamed cluster's finding reads back with cluster %q", f.Cluster)
	}
}
