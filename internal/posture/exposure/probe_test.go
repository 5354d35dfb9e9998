package exposure_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/posture/exposure"
)

// probeOne probes a single loopback target and returns its result and finding (nil when none).
func probeOne(t *testing.T, target string) (exposure.Result, *finding.Finding) {
	t.Helper()
	if host, _, err := net.SplitHostPort(target); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Fatalf("tests probe loopback only, not %q", target)
	}
	fs, rs, err := exposure.Probe(context.Background(), []string{target}, exposure.ProbeOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Probe(%s): %v", target, err)
	}
	if len(rs) != 1 || len(fs) > 1 {
		t.Fatalf("Probe(%s): %d results, %d findings", target, len(rs), len(fs))
	}
	if len(fs) == 1 {
		return rs[0], &fs[0]
	}
	return rs[0], nil
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// The Docker Engine API's published shapes (API v1.47): GET /version (SystemVersion) and GET /containers/json
// (a list of ContainerSummary), with the headers dockerd sends.
const dockerVersion = `{"Platform":{"Name":"Docker Engine - Community"},"Components":[{"Name":"Engine","Version":"27.3.1",
"Details":{"ApiVersion":"1.47","Arch":"amd64","MinAPIVersion":"1.24","Os":"linux"}}],"Version":"27.3.1","ApiVersion":"1.47",
"MinAPIVersion":"1.24","GitCommit":"41ca978","GoVersion":"go1.22.7","Os":"linux","Arch":"amd64","KernelVersion":"6.8.0-45-generic",
"BuildTime":"2024-09-20T11:41:00.000000000+00:00"}`

const dockerContainers = `[{"Id":"8dfafdbc3a40","Names":["/upf-0"],"Image":"registry.example/upf:1.2","ImageID":"sha256:9a0b","Command":"/upf",
"Created":1727000000,"Ports":[],"Labels":{},"State":"running","Status":"Up 2 hours","HostConfig":{"NetworkMode":"host"},
"NetworkSettings":{"Networks":{}},"Mounts":[]}]`

func dockerHandler() http.Handler {
	mux := http.NewServeMux()
	header := func(w http.ResponseWriter) {
		w.Header().Set("Api-Version", "1.47")
		w.Header().Set("Server", "Docker/27.3.1 (linux)")
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Content-Type", "application/json")
	}
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) { header(w); io.WriteString(w, dockerVersion) })
	mux.HandleFunc("GET /containers/json", func(w http.ResponseWriter, r *http.Request) { header(w); io.WriteString(w, dockerContainers) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		header(w)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"page not found"}`)
	})
	return mux
}

const podList = `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"upf-0","namespace":"vnf-core"},"spec":{"containers":[{"name":"upf","image":"registry.example/upf:1.2"}]},"status":{"phase":"Running"}}]}`

// kubeletHandler answers /pods as a kubelet does: the pod list, or its authorizer's refusal.
func kubeletHandler(allow bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !allow:
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)")
		case r.URL.Path == "/pods" || r.URL.Path == "/runningpods/":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, podList)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestProbeFakes(t *testing.T) {
	dockerHTTP := httptest.NewServer(dockerHandler())
	defer dockerHTTP.Close()
	dockerTLS := httptest.NewTLSServer(dockerHandler())
	defer dockerTLS.Close()
	dockerMTLS := httptest.NewUnstartedServer(dockerHandler())
	dockerMTLS.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	dockerMTLS.StartTLS()
	defer dockerMTLS.Close()
	readOnly := httptest.NewServer(kubeletHandler(true))
	defer readOnly.Close()
	kubeletOpen := httptest.NewTLSServer(kubeletHandler(true))
	defer kubeletOpen.Close()
	kubeletDenied := httptest.NewTLSServer(kubeletHandler(false))
	defer kubeletDenied.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx/1.27")
		io.WriteString(w, `{"status":"ok","kind":"Something"}`)
	}))
	defer plain.Close()
	// A TCP service that is not HTTP: it greets and hangs up.
	banner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer banner.Close()
	go func() {
		for {
			c, err := banner.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			c.Close()
		}
	}()
	closed := freeAddr(t)

	cases := []struct {
		name, target, state, service, scheme, anonymous string
		rule                                            string
		severity                                        finding.Severity
		evidence                                        map[string]string
	}{
		{"docker over http", hostPort(t, dockerHTTP.URL), exposure.StateOpen, exposure.ServiceDocker, "http", "allowed",
			"exposure-probe-docker-anonymous", finding.Critical, map[string]string{"version": "27.3.1", "apiVersion": "1.47", "server": "Docker/27.3.1 (linux)", "GET /containers/json?limit=1": "200"}},
		{"docker over tls without client verification", hostPort(t, dockerTLS.URL), exposure.StateOpen, exposure.ServiceDocker, "https", "allowed",
			"exposure-probe-docker-anonymous", finding.Critical, map[string]string{"GET /version": "200"}},
		{"docker requiring client certificates", hostPort(t, dockerMTLS.URL), exposure.StateOpen, exposure.ServiceUnidentified, "https", "denied",
			"", 0, map[string]string{"tls": "client certificate required"}},
		{"kubelet read-only port", hostPort(t, readOnly.URL), exposure.StateOpen, exposure.ServiceKubeletReadOnly, "http", "allowed",
			"exposure-probe-kubelet-read-only", finding.High, map[string]string{"GET /pods": "200"}},
		{"kubelet api anonymous", hostPort(t, kubeletOpen.URL), exposure.StateOpen, exposure.ServiceKubelet, "https", "allowed",
			"exposure-probe-kubelet-anonymous", finding.Critical, map[string]string{"GET /pods": "200", "GET /runningpods/": "200"}},
		{"kubelet api denying", hostPort(t, kubeletDenied.URL), exposure.StateOpen, exposure.ServiceKubelet, "https", "denied",
			"", 0, map[string]string{"GET /pods": "403"}},
		{"plain http server", hostPort(t, plain.URL), exposure.StateOpen, exposure.ServiceUnidentified, "http", "",
			"", 0, map[string]string{"GET /version": "200", "GET /pods": "200", "server": "nginx/1.27"}},
		{"not http", banner.Addr().String(), exposure.StateOpen, exposure.ServiceUnidentified, "http", "", "", 0, nil},
		{"closed port", closed, exposure.StateClosed, "", "", "", "", 0, nil},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r, f := probeOne(t, tt.target)
			if r.State != tt.state || r.Service != tt.service || r.Scheme != tt.scheme || r.Anonymous != tt.anonymous {
				t.Errorf("result %+v, want state %s service %s scheme %s anonymous %q", r, tt.state, tt.service, tt.scheme, tt.anonymous)
			}
			for k, v := range tt.evidence {
				if r.Evidence[k] != v {
					t.Errorf("evidence %s = %q, want %q (all: %v)", k, r.Evidence[k], v, r.Evidence)
				}
			}
			if tt.rule == "" {
				if f != nil {
					t.Errorf("false positive: %+v", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("no finding, want %s", tt.rule)
			}
			if f.Rule != tt.rule || f.Severity != tt.severity || f.Source != "posture" || f.Evidence["target"] != tt.target ||
				f.Object.Kind != "Component" || f.ID == "" || f.Time.IsZero() {
				t.Errorf("finding %+v, want %s %s", f, tt.rule, tt.severity)
			}
			if tt.scheme == "http" && tt.service == exposure.ServiceDocker && !strings.Contains(f.Message, "without TLS") {
				t.Errorf("docker over http must say it has no TLS: %s", f.Message)
			}
		})
	}
	// All at once, in parallel: results keep the order of the targets, one finding per exposed target.
	var targets []string
	wantFindings := 0
	for _, tt := range cases {
		targets = append(targets, tt.target)
		if tt.rule != "" {
			wantFindings++
		}
	}
	fs, rs, err := exposure.Probe(context.Background(), targets, exposure.ProbeOptions{Parallel: 3})
	if err != nil || len(rs) != len(targets) || len(fs) != wantFindings {
		t.Fatalf("Probe of all: %d results, %d findings (want %d), %v", len(rs), len(fs), wantFindings, err)
	}
	for i, r := range rs {
		if r.Target != targets[i] || r.Service != cases[i].service {
			t.Errorf("result %d: %s %s, want %s %s", i, r.Target, r.Service, targets[i], cases[i].service)
		}
	}
}

func TestProbeRejectsBadTargets(t *testing.T) {
	for _, target := range []string{"127.0.0.1", "127.0.0.1:0", "127.0.0.1:http", "127.0.0.1:70000"} {
		if _, rs, err := exposure.Probe(context.Background(), []string{target}, exposure.ProbeOptions{}); err == nil || rs != nil {
			t.Errorf("target %q: want an error and nothing probed, got %v %v", target, rs, err)
		}
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestProbeEtcd starts a real etcd (the lab's binary) without TLS on loopback: its KV API answers without a client
// certificate, which is critical.
func TestProbeEtcd(t *testing.T) {
	bin := filepath.Join(lab.DefaultBinDir(), "etcd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("etcd binary: %v (run `make controlplane`)", err)
	}
	client, peer := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	clientURL, peerURL := "http://"+client, "http://"+peer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--name", "probe", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL, "--initial-cluster", "probe="+peerURL,
		"--unsafe-no-fsync", "--log-level", "warn")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") { // etcd reads ETCD_* variables as flags
			env = append(env, kv)
		}
	}
	cmd.Env = env
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(clientURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("etcd not healthy after 30 s: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, f := probeOne(t, client)
	if r.Service != exposure.ServiceEtcd || r.Scheme != "http" || r.Anonymous != "allowed" || !strings.HasPrefix(r.Evidence["version"], "3.") ||
		r.Evidence["POST /v3/kv/range"] != "200" {
		t.Errorf("result %+v", r)
	}
	if f == nil || f.Rule != "exposure-probe-etcd-anonymous" || f.Severity != finding.Critical || f.Object.Name != "etcd" {
		t.Errorf("finding %+v", f)
	}
}

// TestProbeAPIServer probes the lab's real kube-apiserver: anonymous authentication on (ExtraAPIServerArgs,
// appended last, win), RBAC denying system:anonymous → low (version only); after a ClusterRoleBinding lets
// system:anonymous list namespaces → critical. A second API server with --anonymous-auth=false appended answers
// 401 → identified, no finding.
func TestProbeAPIServer(t *testing.T) {
	dir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(dir, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := lab.Start(ctx, lab.Options{BinDir: dir, WorkDir: t.TempDir(), APIServerOnly: true, ExtraAPIServerArgs: []string{"--anonymous-auth=true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	target := hostPort(t, cp.URL)

	// The command line the lab ran, read back as a flags file by Load: the appended flag is the one that counts.
	cmdline := apiServerCommandLine(t, cp.WorkDir)
	src, _, err := exposure.Parse("kube-apiserver.cmdline", []byte(cmdline))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := src.Flags.Get("anonymous-auth"); !ok || f.Value != "true" {
		t.Errorf("the lab's API server runs with --anonymous-auth %+v", f)
	}

	r, f := probeOne(t, target)
	if r.Service != exposure.ServiceAPIServer || r.Anonymous != "limited" || r.Evidence["GET /api/v1/namespaces?limit=1"] != "403" ||
		r.Evidence["GET /version"] != "200" || r.Evidence["version"] != lab.KubernetesVersion {
		t.Errorf("before the binding: %+v", r)
	}
	if f == nil || f.Severity != finding.Low || f.Rule != "exposure-probe-apiserver-anonymous" {
		t.Errorf("before the binding, want a low finding: %+v", f)
	}

	admin, _ := cp.ClientFor(lab.Admin)
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "anonymous-list-namespaces"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}}}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "anonymous-list-namespaces"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:anonymous"}}}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The RBAC authorizer sees the binding through its informer, shortly after.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, f = probeOne(t, target)
		if r.Anonymous == "allowed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.Anonymous != "allowed" || r.Evidence["GET /api/v1/namespaces?limit=1"] != "200" || r.Evidence["GET /api/v1/pods?limit=1"] != "403" {
		t.Errorf("after the binding: %+v", r)
	}
	if f == nil || f.Severity != finding.Critical || f.Technique != finding.MaliciousVNFInstantiation ||
		!strings.Contains(strings.Join(f.Mitigations, ","), finding.MitigationUserAccounts) {
		t.Errorf("after the binding, want a critical finding: %+v", f)
	}

	closedCP, err := lab.Start(ctx, lab.Options{BinDir: dir, WorkDir: t.TempDir(), APIServerOnly: true, ExtraAPIServerArgs: []string{"--anonymous-auth=false"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closedCP.Stop)
	r, f = probeOne(t, hostPort(t, closedCP.URL))
	if r.Service != exposure.ServiceAPIServer || r.Anonymous != "denied" || r.Evidence["GET /version"] != "401" || f != nil {
		t.Errorf("anonymous off: %+v %+v", r, f)
	}
}

// apiServerCommandLine reads the "# BIN ARGS" line the lab writes at the top of the API server's log.
func apiServerCommandLine(t *testing.T, workDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workDir, "kube-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if !strings.HasPrefix(first, "# ") {
		t.Fatalf("unexpected first log line %q", first)
	}
	return strings.TrimPrefix(first, "# ")
}
