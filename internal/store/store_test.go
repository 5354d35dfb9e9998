package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, kind, target, err string
	}{
		{dsn: "/var/lib/vnfguard/findings.db", kind: kindSQLite, target: "/var/lib/vnfguard/findings.db"},
		{dsn: "findings.db", kind: kindSQLite, target: "findings.db"},
		{dsn: "sqlite:///var/lib/f.db", kind: kindSQLite, target: "/var/lib/f.db"},
		{dsn: "sqlite:rel/f.db", kind: kindSQLite, target: "rel/f.db"},
		{dsn: "postgres://u:p@db:5432/vnfguard?sslmode=require", kind: kindPostgres, target: "postgres://u:p@db:5432/vnfguard?sslmode=require"},
		{dsn: "postgresql://db/vnfguard", kind: kindPostgres, target: "postgresql://db/vnfguard"},
		{dsn: "", err: "empty DSN"},
		{dsn: "sqlite://", err: "no file path"},
		{dsn: "mysql://db/x", err: `unknown DSN scheme "mysql"`},
		{dsn: "postgres://u:secret@db:bad port/x", err: "malformed PostgreSQL DSN"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			kind, target, err := parseDSN(tc.dsn)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseDSN(%q) error = %v, want one containing %q", tc.dsn, err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil || kind != tc.kind || target != tc.target {
				t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q", tc.dsn, kind, target, err, tc.kind, tc.target)
			}
		})
	}
}

// TestOpenErrorsHidePassword opens a PostgreSQL DSN nothing listens on: the error names the DSN, never the password.
func TestOpenErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://vnfguard:hunter2@127.0.0.1:1/findings?connect_timeout=2", nil)
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "127.0.0.1:1/findings") || !strings.Contains(msg, "connect") {
		t.Errorf("error does not name the DSN and the operation: %s", msg)
	}
}

func TestOpenSQLiteErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(notDB, []byte("this is not a SQLite database, it is a text file of some length......"), 0o600); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"not a database", notDB, "not-a-db"},
		{"directory is a file", filepath.Join(blocker, "f.db"), "is not a directory"},
		{"directory does not exist", filepath.Join(dir, "nonexistent", "f.db"), "directory " + filepath.Join(dir, "nonexistent") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.path, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%s) = %v, want an error containing %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestOpenSQLiteMissingDirectoryCreatesNothing: a --store in a directory that does not exist is an error, and
// neither the directory nor a database appears.
func TestOpenSQLiteMissingDirectoryCreatesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent")
	s, err := Open(context.Background(), filepath.Join(missing, "findings.db"), nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open in a directory that does not exist succeeded")
	}
	if _, statErr := os.Stat(missing); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("Open failed (%v) but left %s behind (stat: %v)", err, missing, statErr)
	}
}

// TestSQLiteFilesArePrivate: the database file, and the WAL and shared-memory files SQLite makes beside it, are
// created 0600 whatever the umask lets through: findings name identities, objects and audit IDs.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the common default, which would give 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "findings.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Record(context.Background(), []finding.Finding{occurrence("f1", t0, "a1", finding.High, "exec")}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), perm)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db/x?sslmode=disable": "postgres://u:xxxxx@db/x?sslmode=disable",
		"postgres://db/x":                          "postgres://db/x",
		"postgres://u:secret@db:bad port/x":        "(malformed DSN)",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeAuditIDs(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		keep int
		want string
	}{
		{"", "", 20, ""},
		{"a", "", 20, "a"},
		{"", "b", 20, "b"},
		{"a,b", "c", 20, "a,b,c"},
		{"a,b,c", "a", 20, "b,c,a"},
		{"a,b,c", "d,e", 3, "c,d,e"},
		{"a,,b", " c ,", 20, "a,b,c"},
		{"a,a,a", "a", 20, "a"},
	} {
		if got := mergeAuditIDs(tc.a, tc.b, tc.keep); got != tc.want {
			t.Errorf("mergeAuditIDs(%q, %q, %d) = %q, want %q", tc.a, tc.b, tc.keep, got, tc.want)
		}
	}
}

func TestRebind(t *testing.T) {
	if got, want := rebind("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)"; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"", "f.db", "sqlite:///x", "sqlite:", "postgres://u:p@h:1/d", "postgres://%zz", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		kind, target, err := parseDSN(dsn)
		if err != nil {
			return
		}
		if target == "" || (kind != kindSQLite && kind != kindPostgres) {
			t.Errorf("parseDSN(%q) = %q, %q without an error", dsn, kind, target)
		}
	})
}

func FuzzMergeAuditIDs(f *testing.F) {
	f.Add("a,b", "b,c", 2)
	f.Add("", ",,", 1)
	f.Fuzz(func(t *testing.T, a, b string, keep int) {
		if keep < 1 || keep > 1000 {
			return
		}
		got := mergeAuditIDs(a, b, keep)
		if got == "" {
			return
		}
		parts := strings.Split(got, ",")
		if len(parts) > keep {
			t.Errorf("%d IDs kept, bound %d", len(parts), keep)
		}
		seen := map[string]bool{}
		for _, p := range parts {
			if p == "" || seen[p] {
				t.Errorf("merge(%q, %q) = %q: empty or repeated ID %q", a, b, got, p)
			}
			seen[p] = true
		}
		if again := mergeAuditIDs(got, "", keep); again != got {
			t.Errorf("merge is not idempotent: %q then %q", got, again)
		}
	})
}

// BenchmarkRecord measures findings recorded per second, in batches of 100, over 1 000 IDs, so that a run mixes
// inserts and aggregations as a busy detector would. The PostgreSQL half needs VNFGUARD_TEST_POSTGRES.
func BenchmarkRecord(b *testing.B) {
	backends := []struct {
		name string
		open newOpener
	}{
		{"sqlite", sqliteOpener},
		{"postgres", func(tb testing.TB) opener { return postgresOpener(tb)(tb) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b).open(b)
			const batchSize, distinct = 100, 1000
			batch := make([]finding.Finding, batchSize)
			n := 0
			b.ResetTimer()
			for b.Loop() {
				for i := range batch {
					batch[i] = occurrence(fmt.Sprintf("bench-%04d", n%distinct), t0.Add(time.Duration(n)*time.Millisecond),
						fmt.Sprintf("audit-%d", n), finding.High, "exec into a stopped VNF")
					n++
				}
				if err := s.Record(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
		})
	}
}

// TestNewerSchemaRefused: a database migrated by a newer vnfguard is not written by this one.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := s.(*sqliteStore).db
	if _, err := db.Exec(insertVersion, latestVersion+1, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), path, nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if want := fmt.Sprintf("schema version %d, newer", latestVersion+1); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file and say %q", err, want)
	}
}
