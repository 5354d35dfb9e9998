package lab

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestImages: the lab's images are pushed to the in-process registry with the platform containerd needs, the pause
// image runs /pause, and the VNF image holds busybox with the applets the attack and the exec use.
func TestImages(t *testing.T) {
	reg, err := startRegistry(filepath.Join(t.TempDir(), "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	imgs, err := buildImages(ctx, reg.host, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for ref, entrypoint := range map[string]string{imgs.Pause: "/pause", imgs.VNF: ""} {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r, remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("pull %s back: %v", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("%s: platform %s/%s, want linux/%s (containerd skips images without one)", ref, cf.OS, cf.Architecture, runtime.GOARCH)
		}
		if entrypoint != "" && !slices.Equal(cf.Config.Entrypoint, []string{entrypoint}) {
			t.Errorf("%s: entrypoint %v, want [%s]", ref, cf.Config.Entrypoint, entrypoint)
		}
		if layers, err := img.Layers(); err != nil || len(layers) != 1 {
			t.Errorf("%s: %d layers (%v), want 1", ref, len(layers), err)
		}
	}
	layer, err := busyboxLayer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := layer.Digest(); err != nil {
		t.Fatal(err)
	}
}

// TestNodeConfigsStayInWorkDir: containerd's and the kubelet's configurations put every path they write under the
// node's directory; the only others are read-only inputs (the CNI plugins, resolv.conf, the lab CA).
func TestNodeConfigsStayInWorkDir(t *testing.T) {
	dir := "/work/lab/node"
	_, cidr, _ := net.ParseCIDR("10.213.0.0/24")
	n := &Node{Name: RealNodeName, Dir: dir, PodCIDR: cidr, Images: Images{Pause: "127.0.0.1:1/lab/pause:1"}}
	allowed := []string{dir + "/", "/usr/lib/cni\"", "/etc/resolv.conf", "/work/lab/pki/"}
	paths := regexp.MustCompile(`(?:^|[\s"=:])(/[A-Za-z0-9_./-]+"?)`)
	for what, text := range map[string]string{
		"containerd": containerdConfig(filepath.Join(dir, "ctrd"), n),
		"kubelet":    kubeletConfig(n, "/work/lab/pki/ca.crt", "/work/lab/pki/k.crt", "/work/lab/pki/k.key", 1, 2),
	} {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, m := range paths.FindAllStringSubmatch(line, -1) {
				p := strings.TrimPrefix(m[1], "//") // unix:///path
				if !slices.ContainsFunc(allowed, func(a string) bool { return strings.HasPrefix(p, a) }) {
					t.Errorf("%s configuration names %s outside %s: %q", what, p, dir, line)
				}
			}
		}
	}
}

// TestLockNodeTakesTurns: a second real node waits for the first one's lock, gets it once the first lets go, and
// gives up with a clear error when its context ends first.
func TestLockNodeTakesTurns(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	first, err := lockNode(context.Background(), dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if f, err := lockNode(short, dir, logger); err == nil || !strings.Contains(err.Error(), "another lab's real node runs") {
		if f != nil {
			f.Close()
		}
		t.Fatalf("second lock while the first is held: %v, want a timeout naming the other node", err)
	}
	got := make(chan error, 1)
	go func() {
		f, err := lockNode(context.Background(), dir, logger)
		if f != nil {
			defer f.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second lock was taken while the first was held: %v", err)
	case <-time.After(600 * time.Millisecond):
	}
	first.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the second lock after the first was released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second lock was not taken within 5 s of the first's release")
	}
}
