package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// DockerdPath is Debian's Docker Engine (package docker.io; hack/node-deps.sh installs it).
const DockerdPath = "/usr/sbin/dockerd"

// DockerEngine is a Docker Engine on the real node, as Doki and TeamTNT find one: its API on a TCP port without
// TLS or authentication (here on loopback). It runs its containers on the node's containerd, in containerd
// namespace moby, as a Docker Engine installed beside the kubelet does.
type DockerEngine struct {
	// API is the Engine API's base URL (http://127.0.0.1:PORT).
	API  string
	Port int
	dir  string
	proc *process
	http *http.Client
}

// StartDockerEngine starts dockerd on the node's containerd and waits for its API (~8 s).
func (cp *ControlPlane) StartDockerEngine(ctx context.Context) (*DockerEngine, error) {
	n := cp.node
	if n == nil {
		return nil, fmt.Errorf("lab: a Docker Engine needs the real node (Options.RealNode)")
	}
	if _, err := os.Stat(DockerdPath); err != nil {
		return nil, fmt.Errorf("lab: %s missing (install docker.io: bash hack/node-deps.sh): %w", DockerdPath, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &DockerEngine{Port: port, API: "http://127.0.0.1:" + strconv.Itoa(port), dir: filepath.Join(n.Dir, "dk"), http: &http.Client{Timeout: 60 * time.Second}}
	for _, sub := range []string{"data", "exec"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("lab: create %s: %w", d.dir, err)
		}
	}
	d.proc, err = startProcess("dockerd", DockerdPath, []string{
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"), "--pidfile", filepath.Join(d.dir, "dockerd.pid"),
		"-H", "unix://" + filepath.Join(d.dir, "docker.sock"), "-H", "tcp://127.0.0.1:" + strconv.Itoa(port),
		"--containerd", n.socket(), "--iptables=false", "--ip6tables=false", "--bridge=none", "--userland-proxy=false",
		"--storage-driver=overlay2",
	}, filepath.Join(cp.WorkDir, "dockerd.log"), func(c *exec.Cmd) error {
		c.Env = append(childEnv(), "DOCKER_HOST=") // its own settings only
		return nil
	})
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.docker = d
	cp.mu.Unlock()
	err = waitFor(ctx, 60*time.Second, d.proc, "Docker Engine API", func(ctx context.Context) (bool, error) {
		resp, err := d.do(ctx, http.MethodGet, "/_ping", "", nil)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *DockerEngine) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.API+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return d.http.Do(req)
}

func (d *DockerEngine) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, err := d.do(ctx, method, path, ct, body)
	if err != nil {
		return fmt.Errorf("lab: Docker Engine %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("lab: Docker Engine %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// ImportBusybox imports the lab's busybox root file system as image ref (docker import, through the API).
func (d *DockerEngine) ImportBusybox(ctx context.Context, ref string) error {
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	rootfs := mutate.Extract(img)
	defer rootfs.Close()
	repo, tag := ref, "latest"
	if i := bytes.LastIndexByte([]byte(ref), ':'); i > 0 {
		repo, tag = ref[:i], ref[i+1:]
	}
	q := url.Values{"fromSrc": {"-"}, "repo": {repo}, "tag": {tag}}
	resp, err := d.do(ctx, http.MethodPost, "/images/create?"+q.Encode(), "application/x-tar", rootfs)
	if err != nil {
		return fmt.Errorf("lab: docker import %s: %w", ref, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("lab: docker import %s: %s: %s", ref, resp.Status, bytes.TrimSpace(out))
	}
	return nil
}

// RunDetached creates and starts a container the way the Doki and TeamTNT droppers do, through the raw Engine API:
// POST /containers/create with the host's root bind-mounted, then /start. Returns the container's ID (which is
// also its containerd ID in namespace moby).
func (d *DockerEngine) RunDetached(ctx context.Context, name, image string, cmd []string, binds []string) (string, error) {
	var created struct{ ID string }
	spec := map[string]any{"Image": image, "Cmd": cmd, "HostConfig": map[string]any{"Binds": binds, "NetworkMode": "none"}}
	if err := d.call(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(name), spec, &created); err != nil {
		return "", err
	}
	if err := d.call(ctx, http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		return "", err
	}
	return created.ID, nil
}

// stop removes every container of the engine, then stops it.
func (d *DockerEngine) stop() {
	if d == nil || d.proc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var list []struct{ ID string }
	if err := d.call(ctx, http.MethodGet, "/containers/json?all=1", nil, &list); err == nil {
		for _, c := range list {
			_ = d.call(ctx, http.MethodDelete, "/containers/"+c.ID+"?force=1", nil, nil)
		}
	}
	d.proc.stop(15 * time.Second)
	unmountUnder(d.dir)
	_ = os.RemoveAll(d.dir)
}
