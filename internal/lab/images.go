package lab

import (
	"archive/tar"
	"bytes"
	"context"
	_ "embed" // the pause program's source
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

//go:embed testdata/pause/main.go
var pauseSource []byte

// BusyboxPath is the static busybox (Debian's busybox-static, installed by hack/node-deps.sh) the VNF image carries.
const BusyboxPath = "/bin/busybox"

// Images are the references of the lab's images in its loopback registry.
type Images struct {
	// Pause is the sandbox image containerd starts first in every pod.
	Pause string
	// VNF is a small image with a static busybox (sh, nc, cat, sleep ...): the lab's VNF and attacker image.
	VNF string
	// VNFDigest is VNF's manifest digest (sha256:...), what a VNF package pinning it declares.
	VNFDigest string
}

// imageRegistry is an in-process OCI registry (go-containerregistry's pkg/registry, in memory) on a free loopback
// port, plain HTTP: containerd pulls from it through a hosts.toml that allows only this host.
type imageRegistry struct {
	host string // 127.0.0.1:PORT
	srv  *http.Server
	done chan struct{}
}

func startRegistry(logFile string) (*imageRegistry, error) {
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab: open registry log: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("lab: listen for the image registry: %w", err)
	}
	r := &imageRegistry{
		host: ln.Addr().String(),
		srv:  &http.Server{Handler: registry.New(registry.Logger(log.New(out, "", log.LstdFlags))), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		defer out.Close()
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(out, "registry stopped: %v\n", err)
		}
	}()
	return r, nil
}

func (r *imageRegistry) stop() {
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	<-r.done
}

// buildImages builds the pause and VNF images under dir and pushes them to the registry at host.
func buildImages(ctx context.Context, host, dir string) (Images, error) {
	pauseBin, err := buildPause(ctx, filepath.Join(dir, "pause"))
	if err != nil {
		return Images{}, err
	}
	pauseLayer, err := layerOf([]tarEntry{{name: "pause", file: pauseBin, mode: 0o755}})
	if err != nil {
		return Images{}, fmt.Errorf("lab: pause image layer: %w", err)
	}
	imgs := Images{Pause: host + "/lab/pause:1", VNF: host + "/lab/vnf:1"}
	if _, err := pushImage(ctx, imgs.Pause, pauseLayer, func(c *v1.Config) { c.Entrypoint = []string{"/pause"} }); err != nil {
		return Images{}, err
	}
	vnfLayer, err := busyboxLayer()
	if err != nil {
		return Images{}, err
	}
	if imgs.VNFDigest, err = pushImage(ctx, imgs.VNF, vnfLayer, func(c *v1.Config) {
		c.Cmd = []string{"/bin/sh"}
		c.Env = []string{"PATH=/bin"}
	}); err != nil {
		return Images{}, err
	}
	return imgs, nil
}

// buildPause builds testdata/pause (embedded) as a static binary in dir, in a module of its own so that it does
// not depend on where the lab runs from.
func buildPause(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lab: create %s: %w", dir, err)
	}
	for file, data := range map[string][]byte{"main.go": pauseSource, "go.mod": []byte("module lab.local/pause\n\ngo 1.24\n")} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			return "", fmt.Errorf("lab: write pause source: %w", err)
		}
	}
	bin := filepath.Join(dir, "pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lab: go build the pause program in %s: %w\n%s", dir, err, out)
	}
	return bin, nil
}

// busyboxLayer is a root file system with the static busybox, a symlink per applet in /bin, a root user and a /tmp.
func busyboxLayer() (v1.Layer, error) {
	list, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("lab: list the applets of %s (install busybox-static: bash hack/node-deps.sh): %w", BusyboxPath, err)
	}
	entries := []tarEntry{
		{name: "bin/", mode: 0o755}, {name: "etc/", mode: 0o755}, {name: "tmp/", mode: 0o1777},
		{name: "bin/busybox", file: BusyboxPath, mode: 0o755},
		{name: "etc/passwd", data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), mode: 0o644},
		{name: "etc/group", data: []byte("root:x:0:\nnobody:x:65534:\n"), mode: 0o644},
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			entries = append(entries, tarEntry{name: "bin/" + applet, link: "busybox"})
		}
	}
	layer, err := layerOf(entries)
	if err != nil {
		return nil, fmt.Errorf("lab: busybox image layer: %w", err)
	}
	return layer, nil
}

// tarEntry is one file of an image layer: a directory (name ends in /), a symlink (link), a copy of a host file
// (file) or literal data.
type tarEntry struct {
	name string
	file string
	data []byte
	link string
	mode int64
}

// layerOf writes the entries as an uncompressed tar owned by root and makes it a layer.
func layerOf(entries []tarEntry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		data := e.data
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag = tar.TypeDir
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			if e.file != "" {
				var err error
				if data, err = os.ReadFile(e.file); err != nil {
					return nil, err
				}
			}
			h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
}

// pushImage makes a one-layer image for this machine's platform — containerd skips an image whose config names
// no OS and architecture — and pushes it to ref.
func pushImage(ctx context.Context, ref string, layer v1.Layer, configure func(*v1.Config)) (string, error) {
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", fmt.Errorf("lab: image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("lab: image %s: config: %w", ref, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	configure(&cf.Config)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", fmt.Errorf("lab: image %s: set config: %w", ref, err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("lab: image reference %s: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("lab: push %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("lab: image %s: digest: %w", ref, err)
	}
	return digest.String(), nil
}
