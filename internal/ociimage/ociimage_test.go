package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"debug/elf"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The real vnfguard binary, built the way `make image` builds it, in two versions (a different binary).
var (
	buildOnce    sync.Once
	binDir       string
	binV1, binV2 string
	buildErr     error
	created      = time.Date(2026, 12, 4, 18, 28, 37, 0, time.UTC)
	testOpts     = Options{Version: "v0.0.0-imagetest", Revision: "5db077acdcd8a1151af35ab8039d835942d5b787", Source: "https://github.com/vnfguard/vnfguard", Created: created}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func vnfguardBinaries(t *testing.T) (v1Path, v2Path string) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "ociimage-test-"); buildErr != nil {
			return
		}
		for _, b := range []struct {
			out     *string
			version string
		}{{&binV1, testOpts.Version}, {&binV2, "v0.0.0-imagetest2"}} {
			*b.out = filepath.Join(binDir, b.version, "vnfguard")
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid= -X main.version="+b.version, "-o", *b.out, "./cmd/vnfguard")
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build vnfguard %s: %w\n%s", b.version, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binV1, binV2
}

func build(t *testing.T, bin string, opts Options) (v1.Image, v1.Hash) {
	t.Helper()
	img, err := Build(bin, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d
}

// The same binary and options give the same digest, whatever the file's path or modification time, and the
// layout written from it is byte for byte the same; another binary, or another commit, gives another digest.
func TestBuildIsReproducible(t *testing.T) {
	bin, bin2 := vnfguardBinaries(t)
	_, d1 := build(t, bin, testOpts)

	// A copy elsewhere, touched now: the file's own metadata must not reach the image.
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "other-name")
	if err := os.WriteFile(copyPath, data, 0o700); err != nil {
		t.Fatal(err)
	}
	_, d2 := build(t, copyPath, testOpts)
	if d1 != d2 {
		t.Fatalf("same binary, same options: digests %s and %s", d1, d2)
	}

	if _, d := build(t, bin2, testOpts); d == d1 {
		t.Fatalf("a different binary gave the same digest %s", d)
	}
	other := testOpts
	other.Revision = "0000000000000000000000000000000000000000"
	if _, d := build(t, bin, other); d == d1 {
		t.Fatalf("a different revision gave the same digest %s", d)
	}
	other = testOpts
	other.Created = created.Add(time.Second)
	if _, d := build(t, bin, other); d == d1 {
		t.Fatalf("a different commit time gave the same digest %s", d)
	}

	// Two layouts from two builds: the same files with the same bytes.
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, dir := range dirs {
		img, _ := build(t, bin, testOpts)
		if err := WriteLayout(dir, img, testOpts.Version); err != nil {
			t.Fatal(err)
		}
	}
	a, b := treeDigest(t, dirs[0]), treeDigest(t, dirs[1])
	if a != b {
		t.Fatalf("two layouts of the same build differ:\n%s\n%s", a, b)
	}
	// The layout is a real OCI layout: read back with the layout package, the one image has the digest built.
	p, err := layout.FromPath(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != d1 || im.Manifests[0].Annotations[RefNameAnnotation] != testOpts.Version {
		t.Fatalf("layout index %+v, want one manifest %s named %s", im.Manifests, d1, testOpts.Version)
	}
}

// treeDigest lists every file under dir with its content, for comparing two directories.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h, _, err := v1.SHA256(f)
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&b, "%s %s\n", rel, h)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestConfig(t *testing.T) {
	bin, _ := vnfguardBinaries(t)
	img, _ := build(t, bin, testOpts)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cf.Config.User)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "/vnfguard" || len(cf.Config.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want [/vnfguard] and none", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %s, want the commit time %s", cf.Created.Time, created)
	}
	want := map[string]string{LabelSource: testOpts.Source, LabelRevision: testOpts.Revision, LabelVersion: testOpts.Version,
		LabelCreated: "2026-12-04T18:28:37Z", LabelTitle: "vnfguard"}
	if fmt.Sprint(cf.Config.Labels) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", cf.Config.Labels, want)
	}
	if len(cf.Config.Env) != 0 {
		t.Errorf("env %q: nothing of the build host belongs in the image", cf.Config.Env)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("manifest %s, config %s, layers %+v: want OCI media types and one layer", m.MediaType, m.Config.MediaType, m.Layers)
	}
	if fmt.Sprint(m.Annotations) != fmt.Sprint(want) {
		t.Errorf("manifest annotations %v, want the labels %v", m.Annotations, want)
	}
	// Epoch, not the current time, when no time is given.
	noTime := testOpts
	noTime.Created = time.Time{}
	img, _ = build(t, bin, noTime)
	if cf, err = img.ConfigFile(); err != nil || cf.Created.Unix() != 0 {
		t.Errorf("without Created: created %v (%v), want the Unix epoch", cf.Created, err)
	}
}

// The layer holds exactly the binary, /etc/passwd and /etc/group (and their directory), all root-owned and
// writable by nobody, so the process running as 65532 cannot replace its own binary.
func TestLayerContents(t *testing.T) {
	bin, _ := vnfguardBinaries(t)
	img, _ := build(t, bin, testOpts)
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v (%v), want one", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		mode     int64
		uid, gid int
		typ      byte
	}
	entries := map[string]got{}
	var names []string
	contents := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		entries[h.Name] = got{h.Mode, h.Uid, h.Gid, h.Typeflag}
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: mtime %s, want the commit time %s", h.Name, h.ModTime, created)
		}
		if contents[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(names, " ") != "etc/ etc/group etc/passwd vnfguard" {
		t.Fatalf("layer entries %q, want exactly etc/ etc/group etc/passwd vnfguard, in that order", names)
	}
	wantEntries := map[string]got{
		"etc/":       {0o755, 0, 0, tar.TypeDir},
		"etc/group":  {0o444, 0, 0, tar.TypeReg},
		"etc/passwd": {0o444, 0, 0, tar.TypeReg},
		"vnfguard":   {0o555, 0, 0, tar.TypeReg},
	}
	for n, w := range wantEntries {
		if entries[n] != w {
			t.Errorf("%s: %+v, want %+v", n, entries[n], w)
		}
	}
	if !bytes.Equal(contents["vnfguard"], want) {
		t.Error("the layer's /vnfguard is not the binary given")
	}
	if !strings.Contains(string(contents["etc/passwd"]), "\nnonroot:x:65532:65532:") || !strings.Contains(string(contents["etc/group"]), "\nnonroot:x:65532:") {
		t.Errorf("passwd %q, group %q: want user and group 65532", contents["etc/passwd"], contents["etc/group"])
	}
}

// Pushed to a real registry server on loopback (plain HTTP) and pulled back by digest and by the version tag: the
// same image; the binary taken out of the pulled layer is static and runs.
func TestPushPullAndRun(t *testing.T) {
	bin, _ := vnfguardBinaries(t)
	img, digest := build(t, bin, testOpts)
	srv := httptest.NewServer(registry.New(registry.Logger(stdlog.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ref, err := Push(context.Background(), host+"/vnfguard", img, testOpts.Version)
	if err != nil {
		t.Fatal(err)
	}
	if ref.String() != host+"/vnfguard@"+digest.String() {
		t.Fatalf("pushed %s, want %s/vnfguard@%s", ref, host, digest)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := pulled.Digest(); err != nil || d != digest {
		t.Fatalf("pulled by digest: %s (%v), want %s", d, err, digest)
	}
	tag, err := name.ParseReference(host + "/vnfguard:" + testOpts.Version)
	if err != nil {
		t.Fatal(err)
	}
	byTag, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := byTag.Digest(); err != nil || d != digest {
		t.Fatalf("pulled by tag %s: %s (%v), want %s", tag, d, err, digest)
	}

	// The image's file system as a runtime unpacks it; the binary in it must need no loader and must run.
	root := t.TempDir()
	unpack(t, pulled, root)
	exe := filepath.Join(root, "vnfguard")
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("/vnfguard has a %s program header: not static", p.Type)
		}
	}
	if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
		t.Error("/vnfguard has an .interp or .dynamic section: not static")
	}
	f.Close()
	out, err := exec.Command(exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vnfguard "+testOpts.Version+"\n") {
		t.Fatalf("vnfguard version: %v\n%s\nwant it to start with vnfguard %s", err, out, testOpts.Version)
	}
}

// vnfguard serve starts and answers /healthz from the image's file system mounted read-only, with nothing else in
// it — no /tmp, no writable home — and its store and audit queue on a volume. A user and mount namespace (unshare)
// stands in for the container runtime (it runs as the namespace's root there: the mount is what is read-only).
func TestServeOnReadOnlyRoot(t *testing.T) {
	bin, _ := vnfguardBinaries(t)
	img, _ := build(t, bin, testOpts)
	root := t.TempDir()
	unpack(t, img, root)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	// What a pod gives it: one writable volume, here at /data, for the SQLite store and the audit queue (the
	// mount point is made as a runtime makes it); everything else read-only.
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "audit-tokens"), []byte("a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && mount --bind "$3" "$1/data" && ` +
		`exec chroot "$1" /vnfguard serve --self-signed --listen "$2" --reconcile=false ` +
		`--store /data/findings.db --audit-queue-dir /data/audit --audit-token-file /data/audit-tokens`
	// --kill-child: killing unshare kills serve too, so nothing outlives the test.
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "--fork", "--kill-child", "sh", "-c", script, "sh", root, addr, data)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = []string{"HOME=/nonexistent"} // what the runtime sets from /etc/passwd
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve on a read-only root exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := client.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz 200 from serve on a read-only root within 60 s (last: %v)\n%s", err, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("serve on a read-only root answered /healthz:\n%s", out)
	for _, f := range []string{"findings.db", "audit/queue", "audit/seen"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("the store and the queue belong on the volume: %v", err)
		}
	}
	// The control: the same set-up, asked to write to the root (--write-ca /ca.pem), fails on the read-only mount,
	// so a write vnfguard needed would have shown above.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	control := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--mount", "--fork", "--kill-child", "sh", "-c",
		`mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec chroot "$1" /vnfguard serve --self-signed --listen 127.0.0.1:0 --reconcile=false --write-ca /ca.pem`,
		"sh", root)
	control.WaitDelay = 5 * time.Second
	if msg, err := control.CombinedOutput(); err == nil || !strings.Contains(string(msg), "read-only file system") {
		t.Fatalf("serve --write-ca /ca.pem on the read-only root: %v, want it to fail with read-only file system\n%s", err, msg)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// unpack writes the image's flattened file system into dir, as a runtime would.
func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o777|0o200); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected tar type %c", h.Name, h.Typeflag)
		}
	}
}

func TestStaticELF(t *testing.T) {
	bin, _ := vnfguardBinaries(t)
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if arch, err := StaticELF(f); err != nil || arch != "amd64" {
		t.Fatalf("the CGO_ENABLED=0 vnfguard: %q, %v; want amd64", arch, err)
	}
	// The system's own /bin/true is linked against the C library: refused, by Build too.
	if _, err := Build("/bin/true", testOpts); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("Build(/bin/true) = %v, want a dynamically linked error", err)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(notELF, testOpts); err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Fatalf("Build(a shell script) = %v, want not an ELF file", err)
	}
	if _, err := Build(bin, Options{}); err == nil {
		t.Fatal("Build without a version succeeded")
	}
}

func TestHasTagOrDigest(t *testing.T) {
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/vnfguard":           false,
		"127.0.0.1:5000/vnfguard:v1":        true,
		"127.0.0.1:5000/a/vnfguard@sha256:": true,
		"vnfguard":                          false,
		"localhost:5000/vnfguard":           false,
	} {
		if got := hasTagOrDigest(ref); got != want {
			t.Errorf("hasTagOrDigest(%q) = %v, want %v", ref, got, want)
		}
	}
}
