package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// staticBinary builds a tiny static Go program: the flags are what this command adds, not the binary.
func staticBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", "hi", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "hi")
}

func TestRun(t *testing.T) {
	bin := staticBinary(t)
	dir := filepath.Join(t.TempDir(), "image")
	t.Setenv("SOURCE_DATE_EPOCH", "1796408917")
	var out bytes.Buffer
	if err := run([]string{"--binary", bin, "--version", "v1.2.3", "--revision", "abc", "--layout", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `revision "abc", created 2026-12-04T18:28:37Z`) || !strings.Contains(out.String(), "wrote OCI layout "+dir) {
		t.Fatalf("output %q: want the revision, SOURCE_DATE_EPOCH as the time, and the layout", out.String())
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || !strings.Contains(out.String(), m.Manifests[0].Digest.String()) {
		t.Fatalf("layout index %+v (%v): want the one image the output names", m, err)
	}

	// --created wins over SOURCE_DATE_EPOCH.
	out.Reset()
	if err := run([]string{"--binary", bin, "--version", "v1.2.3", "--created", "0", "--layout", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created 1970-01-01T00:00:00Z") {
		t.Fatalf("output %q: want --created 0", out.String())
	}
}

func TestRunRefuses(t *testing.T) {
	bin := staticBinary(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--binary", bin, "--layout", dir}, "--binary and --version are required"},
		{[]string{"--binary", bin, "--version", "v1"}, "give --layout, --push or both"},
		{[]string{"--binary", bin, "--version", "v1", "--layout", dir, "--created", "yesterday"}, "want Unix seconds"},
		{[]string{"--binary", "/bin/true", "--version", "v1", "--layout", dir}, "dynamically linked"},
	} {
		if err := run(c.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q = %v, want an error with %q", c.args, err, c.want)
		}
	}
}
