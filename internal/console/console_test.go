package console

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
)

// tokens stands in for the cluster's TokenReview and SubjectAccessReview (the real ones are exercised by
// test/e2e/console against a real API server).
func tokens(ctx context.Context, token string) (string, error) {
	switch token {
	case "reader":
		return "reader", nil
	case "outsider":
		return "outsider", fmt.Errorf("%w (user outsider)", ErrForbidden)
	case "down":
		return "", errors.New("TokenReview: connection refused")
	}
	return "", ErrUnauthenticated
}

func newTestConsole(t testing.TB, st store.Store) *Console {
	t.Helper()
	c, err := New(Options{Store: st.(Store), Authorize: tokens, Now: func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sqliteStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func get(t *testing.T, h http.Handler, path, token string) (int, map[string]any, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body, rec.Header()
}

func TestAccess(t *testing.T) {
	c := newTestConsole(t, sqliteStore(t))
	for _, tc := range []struct {
		path, token string
		want        int
		location    string
	}{
		{"/console/api/findings", "", http.StatusUnauthorized, ""},
		{"/console/api/findings", "forged", http.StatusUnauthorized, ""},
		{"/console/api/findings", "outsider", http.StatusForbidden, ""},
		{"/console/api/findings", "down", http.StatusServiceUnavailable, ""},
		{"/console/api/findings", "reader", http.StatusOK, ""},
		{"/console/", "", http.StatusFound, "/console/login"},
		{"/console/", "reader", http.StatusOK, ""},
		{"/console/login", "", http.StatusOK, ""},
		{"/console/static/app.js", "", http.StatusOK, ""},
	} {
		code, _, h := get(t, c, tc.path, tc.token)
		if code != tc.want || (tc.location != "" && h.Get("Location") != tc.location) {
			t.Errorf("GET %s with %q: %d (Location %q), want %d %q", tc.path, tc.token, code, h.Get("Location"), tc.want, tc.location)
		}
		if h.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", tc.path)
		}
	}
	// The login form keeps an accepted token in a cookie the page's requests then carry.
	form := url.Values{"token": {"reader"}}
	req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookies %+v; want a redirect and one HttpOnly, Secure, SameSite=Strict cookie", rec.Code, cookies)
	}
	req = httptest.NewRequest(http.MethodGet, "/console/api/facets", nil)
	req.AddCookie(cookies[0])
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("API with the login cookie: %d", rec.Code)
	}
	// A refused token sets no cookie and says why on the form.
	req = httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(url.Values{"token": {"outsider"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	if len(rec.Result().Cookies()) != 0 || !strings.Contains(rec.Header().Get("Location"), "error=") {
		t.Errorf("refused login: cookies %v, Location %q", rec.Result().Cookies(), rec.Header().Get("Location"))
	}
}

func TestAPI(t *testing.T) {
	st := sqliteStore(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var fs []finding.Finding
	for i := range 30 {
		fs = append(fs, finding.Finding{ID: fmt.Sprintf("f%02d", i), Time: now.Add(-time.Duration(i) * time.Hour), Source: "audit",
			Rule: []string{"exec-dormant-vnf", "residual-pvc"}[i%2], Technique: "FGT1609.501", Severity: finding.Severity(i % 5),
			VNFInstance: "upf-1", Message: "m", Object: finding.ObjectRef{Kind: "Pod", Namespace: "vnf-upf", Name: fmt.Sprintf("p%d", i)}})
	}
	if err := st.Record(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	c := newTestConsole(t, st)
	code, body, _ := get(t, c, "/console/api/findings?range=24h&limit=10&sort=severity", "reader")
	if code != http.StatusOK || body["total"] != float64(25) || len(body["findings"].([]any)) != 10 {
		t.Fatalf("findings of the last day: %d %v", code, body)
	}
	first := body["findings"].([]any)[0].(map[string]any)
	if first["severityName"] != "critical" || first["status"] != "open" {
		t.Errorf("first by severity: %v", first)
	}
	code, body, _ = get(t, c, "/console/api/histogram?range=24h", "reader")
	n := 0
	for _, b := range body["buckets"].([]any) {
		n += int(b.(map[string]any)["count"].(float64))
	}
	if code != http.StatusOK || n != 25 { // 0 h to 24 h ago, both ends included
		t.Errorf("histogram of the last day: %d, %d findings", code, n)
	}
	code, body, _ = get(t, c, "/console/api/instances/upf-1", "reader")
	if code != http.StatusOK || len(body["residual"].([]any)) != 15 || len(body["open"].([]any)) != 15 {
		t.Errorf("instance page: %d residual %v open %v", code, len(body["residual"].([]any)), len(body["open"].([]any)))
	}
	if code, _, _ := get(t, c, "/console/api/instances/nothing", "reader"); code != http.StatusNotFound {
		t.Errorf("unknown instance: %d", code)
	}
	if code, body, _ := get(t, c, "/console/api/findings/f03", "reader"); code != http.StatusOK || body["id"] != "f03" {
		t.Errorf("a finding: %d %v", code, body)
	}
	if code, _, _ := get(t, c, "/console/api/findings/nope", "reader"); code != http.StatusNotFound {
		t.Errorf("unknown finding: %d", code)
	}
	for _, bad := range []string{"severity=urgent", "range=2y", "sort=colour", "offset=-3", "limit=many", "status=gone", "since=yesterday"} {
		code, body, _ := get(t, c, "/console/api/findings?"+bad, "reader")
		name, _, _ := strings.Cut(bad, "=")
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), name) {
			t.Errorf("%s: %d %v, want 400 naming %s", bad, code, body, name)
		}
	}
}

// BenchmarkOverview100k: the three requests the overview makes (facets, the last day's histogram, the first page
// sorted by last seen) over 100 000 findings in PostgreSQL (hack/postgres.sh), through the console's handler.
func BenchmarkOverview100k(b *testing.B) {
	c := console100k(b)
	requests := []string{"/console/api/facets?range=24h", "/console/api/histogram?range=24h", "/console/api/findings?range=24h&limit=50"}
	if os.Getenv("VNFGUARD_BENCH_RANGE") == "all" {
		// The heaviest overview: every finding, facets over all of them, sorted by severity.
		requests = []string{"/console/api/facets?range=all", "/console/api/histogram?range=24h", "/console/api/findings?range=all&limit=50&sort=severity"}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, path := range requests {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer reader")
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
			}
		}
	}
}

// console100k is a console over 100 000 findings in a schema of their own in PostgreSQL (hack/postgres.sh): 8
// rules, 2 techniques, 5 severities, 4 clusters, 50 VNF instances and 20 namespaces, one every 26 s back from now.
func console100k(b *testing.B) *Console {
	b.Helper()
	dsn := os.Getenv("VNFGUARD_TEST_POSTGRES")
	if dsn == "" {
		b.Fatal(`VNFGUARD_TEST_POSTGRES is unset: run eval "$(hack/postgres.sh | tail -1)" first`)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	var rnd [6]byte
	_, _ = crand.Read(rnd[:])
	schema := "bench_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); _ = conn.Close(ctx) })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	st, err := store.Open(ctx, dsn+sep+"search_path="+schema, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now()
	rules := []string{"exec-dormant-vnf", "host-takeover", "secret-dumping", "read-dormant-vnf-data", "rogue-container", "residual-pvc", "pod-security", "reverse-shell"}
	batch := make([]finding.Finding, 0, 1000)
	for i := range 100_000 {
		batch = append(batch, finding.Finding{ID: fmt.Sprintf("b%06d", i), Time: now.Add(-time.Duration(i) * 26 * time.Second), Source: "audit",
			Rule: rules[i%len(rules)], Technique: []string{"FGT5013", "FGT1609.501"}[i%2], Severity: finding.Severity(i % 5),
			Cluster: fmt.Sprintf("edge-%d", i%4), VNFInstance: fmt.Sprintf("vnf-%d", i%50), Message: "benchmark finding",
			Object: finding.ObjectRef{Kind: "Pod", Namespace: fmt.Sprintf("ns-%d", i%20), Name: fmt.Sprintf("pod-%d", i)}})
		if len(batch) == cap(batch) {
			if err := st.Record(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := conn.Exec(ctx, "ANALYZE "+schema+".findings"); err != nil {
		b.Fatal(err)
	}
	c, err := New(Options{Store: st.(Store), Authorize: tokens})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
