package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	admregv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Guard is a running `vnfguard serve` process registered as the API server's validating webhook.
type Guard struct {
	// URL is the webhook server's base address, https://127.0.0.1:PORT.
	URL string
	// MetricsURL is its plain-HTTP metrics listener, http://127.0.0.1:PORT: /metrics and the detailed /readyz
	// (the webhook port's /readyz only says ready or not).
	MetricsURL string
	// ConfigPath is the vnfguard configuration it runs with.
	ConfigPath string
	// StdoutFile holds every finding line vnfguard printed; StderrFile its logs.
	StdoutFile, StderrFile string
	// WebhookNames are the ValidatingWebhookConfigurations registered for it.
	WebhookNames []string
	// HistoryFile is its --inventory-history, when it keeps one (StartGuard).
	HistoryFile string

	cp     *ControlPlane
	binary string
	proc   *process
	// admin reaches the metrics listener (plain HTTP).
	admin *http.Client
	sink  *findingSink
}

// ReadyStatus is the body of vnfguard's detailed /readyz, on its metrics listener.
type ReadyStatus struct {
	Ready     bool `json:"ready"`
	Inventory struct {
		Loaded     bool    `json:"loaded"`
		Source     string  `json:"source"`
		Version    string  `json:"version"`
		Instances  int     `json:"instances"`
		AgeSeconds float64 `json:"ageSeconds"`
		// Subscribed: whether the SOL003 subscription exists (nil without one configured).
		Subscribed *bool `json:"subscribed"`
	} `json:"inventory"`
	// Election says whether this replica runs the singletons (leader, follower, or standalone).
	Election struct {
		Role     string `json:"role"`
		Identity string `json:"identity"`
		Holder   string `json:"holder"`
	} `json:"election"`
}

// StartVNFGuard runs `binary serve` with the configuration at configPath, the kubeconfig of vnfguard's own
// ServiceAccount (its shipped RBAC, plus the RoleBindings `binary rbac` prints for the namespaces the configuration
// protects by name) and a serving certificate from the lab's CA on a free loopback port, waits for /readyz,
// registers the webhook configuration that `binary webhook-config` prints, and waits until the API server actually calls it (a dry-run create of a
// host-takeover pod is denied). The control plane's Stop stops it too. extraArgs are appended to serve's flags.
// It runs without leader election (--leader-elect=false): one vnfguard, its own installation.
func (cp *ControlPlane) StartVNFGuard(ctx context.Context, binary, configPath string, extraArgs ...string) (*Guard, error) {
	return cp.StartVNFGuardReplica(ctx, binary, configPath, ReplicaOptions{}, extraArgs...)
}

// ReplicaOptions start one more replica of `vnfguard serve` beside the first, as a Deployment's second pod runs.
type ReplicaOptions struct {
	// Name is the replica's directory under the work directory (default vnfguard); each replica needs its own.
	Name string
	// NoRegister leaves the webhook registration alone: the API server keeps calling the replica that registered.
	NoRegister bool
	// LeaderElect lets the replica run its singletons only while it holds the Lease, like every replica of an
	// installation. Off (StartVNFGuard), each vnfguard the lab starts is an installation of its own and runs
	// everything itself, as the tests that start several differently configured vnfguards expect.
	LeaderElect bool
}

// StartVNFGuardReplica is StartVNFGuard for one replica among several: its own directory, ports and audit queue,
// and optionally no registration of its own.
func (cp *ControlPlane) StartVNFGuardReplica(ctx context.Context, binary, configPath string, ro ReplicaOptions, extraArgs ...string) (*Guard, error) {
	if ro.Name == "" {
		ro.Name = "vnfguard"
	}
	dir := filepath.Join(cp.WorkDir, ro.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: create %s: %w", dir, err)
	}
	certFile, keyFile, err := cp.CA.WriteServing(dir, "vnfguard")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2) // distinct: see startEtcd
	if err != nil {
		return nil, err
	}
	port, metricsPort := ports[0], ports[1]
	if cp.guardPort != 0 && ro.Name == "vnfguard" {
		port = cp.guardPort // reserved when the audit webhook goes to vnfguard
	}
	for metricsPort == port { // the reserved port was freed and handed out again
		if metricsPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	g := &Guard{
		URL: "https://127.0.0.1:" + strconv.Itoa(port), MetricsURL: "http://127.0.0.1:" + strconv.Itoa(metricsPort), ConfigPath: configPath,
		StdoutFile: filepath.Join(dir, "stdout.jsonl"), StderrFile: filepath.Join(dir, "stderr.log"),
		cp: cp, binary: binary,
		admin: &http.Client{Timeout: 3 * time.Second},
	}
	out, err := os.Create(g.StdoutFile)
	if err != nil {
		return nil, fmt.Errorf("lab: create %s: %w", g.StdoutFile, err)
	}
	g.sink = newFindingSink(out, cp.logger)
	// vnfguard runs as its own ServiceAccount with the RBAC it ships, never as an administrator: every end-to-end
	// test proves that RBAC is enough.
	if err := cp.applyRBACOf(ctx, binary, configPath); err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", configPath, "--kubeconfig", cp.kubeconfigs[VNFGuard],
		"--listen", "127.0.0.1:" + strconv.Itoa(port), "--metrics-listen", "127.0.0.1:" + strconv.Itoa(metricsPort),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile}
	if cp.auditTokenFile != "" {
		args = append(args, "--audit-queue-dir", filepath.Join(dir, "audit-queue"), "--audit-token-file", cp.auditTokenFile)
	}
	if !ro.LeaderElect {
		args = append(args, "--leader-elect=false")
	}
	args = append(args, extraArgs...)
	g.proc, err = startProcess("vnfguard", binary, args, g.StderrFile, func(c *exec.Cmd) error {
		c.Stdout = g.sink // exec copies the pipe into it; Wait returns once everything is written
		return nil
	})
	if err != nil {
		out.Close()
		return nil, err
	}
	cp.mu.Lock()
	cp.guards = append(cp.guards, g)
	cp.mu.Unlock()

	err = waitFor(ctx, 60*time.Second, g.proc, "vnfguard /readyz", func(ctx context.Context) (bool, error) {
		st, code, err := g.Ready(ctx)
		return err == nil && code == http.StatusOK && st.Ready, nil
	})
	if err != nil {
		g.Stop()
		return nil, err
	}
	if ro.NoRegister {
		cp.logger.Info("vnfguard replica ready", "url", g.URL, "name", ro.Name)
		return g, nil
	}
	if err := g.Register(ctx); err != nil {
		g.Stop()
		return nil, err
	}
	cp.logger.Info("vnfguard ready and registered", "url", g.URL, "webhooks", strings.Join(g.WebhookNames, ","))
	return g, nil
}

// Ready fetches the detailed /readyz from the metrics listener and returns its body and HTTP status.
func (g *Guard) Ready(ctx context.Context) (ReadyStatus, int, error) {
	return readyz(ctx, g.admin, g.MetricsURL)
}

// readyz fetches the detailed /readyz of the metrics listener at base (http://HOST:PORT).
func readyz(ctx context.Context, client *http.Client, base string) (ReadyStatus, int, error) {
	var st ReadyStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return st, 0, fmt.Errorf("lab: build /readyz request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, 0, fmt.Errorf("lab: GET %s/readyz: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, resp.StatusCode, fmt.Errorf("lab: read /readyz: %w", err)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, resp.StatusCode, fmt.Errorf("lab: /readyz answered %d with a body that is not the expected JSON (%q): %w", resp.StatusCode, truncate(string(body), 200), err)
	}
	return st, resp.StatusCode, nil
}

// Metrics fetches vnfguard's /metrics (Prometheus text format) from the metrics listener.
func (g *Guard) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.MetricsURL+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("lab: build /metrics request: %w", err)
	}
	resp, err := g.admin.Do(req)
	if err != nil {
		return "", fmt.Errorf("lab: GET %s/metrics: %w", g.MetricsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", fmt.Errorf("lab: read /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("lab: /metrics answered %d: %s", resp.StatusCode, truncate(string(body), 200))
	}
	return string(body), nil
}

// WaitInventory waits until vnfguard reports the inventory version (the sha256 hex of the file's bytes), i.e.
// until it has taken in the file the lab just wrote.
func (g *Guard) WaitInventory(ctx context.Context, version string) error {
	var last string
	err := waitFor(ctx, 30*time.Second, g.proc, "vnfguard to load inventory version "+version, func(ctx context.Context) (bool, error) {
		st, _, err := g.Ready(ctx)
		if err != nil {
			return false, nil
		}
		last = st.Inventory.Version
		return st.Inventory.Loaded && st.Inventory.Version == version, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last version reported: %q)", err, last)
	}
	return nil
}

// Register creates the ValidatingWebhookConfiguration(s) `vnfguard webhook-config` prints for this server
// (updating any of the same name in place) and waits until the API server calls the webhook.
func (g *Guard) Register(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, g.binary, "webhook-config", "--config", g.ConfigPath,
		"--url", g.URL+"/validate", "--ca-file", g.cp.CAFile, "-o", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("lab: %s webhook-config: %w: %s", g.binary, err, strings.TrimSpace(stderr.String()))
	}
	configs, err := decodeWebhookConfigs(out)
	if err != nil {
		return fmt.Errorf("lab: output of %s webhook-config: %w", g.binary, err)
	}
	admin := g.cp.clients[Admin]
	api := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	g.WebhookNames = nil
	for i := range configs {
		c := &configs[i]
		// Create, or update in place: a delete-and-create would open a window in which the API server calls
		// nobody, and a watching vnfguard would rightly report it.
		live, err := api.Get(ctx, c.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err = api.Create(ctx, c, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				// A vnfguard that registers itself was quicker: put ours over it.
				if live, err = api.Get(ctx, c.Name, metav1.GetOptions{}); err == nil {
					c.ResourceVersion = live.ResourceVersion
					_, err = api.Update(ctx, c, metav1.UpdateOptions{})
				}
			}
		case err == nil:
			c.ResourceVersion = live.ResourceVersion
			_, err = api.Update(ctx, c, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("lab: create or update ValidatingWebhookConfiguration %s: %w", c.Name, err)
		}
		g.WebhookNames = append(g.WebhookNames, c.Name)
	}
	return g.waitEffective(ctx)
}

// Unregister deletes the webhook configurations and waits until the API server has stopped calling vnfguard
// (the dry-run probe is allowed again).
func (g *Guard) Unregister(ctx context.Context) error {
	api := g.cp.clients[Admin].AdmissionregistrationV1().ValidatingWebhookConfigurations()
	for _, name := range g.WebhookNames {
		if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("lab: delete ValidatingWebhookConfiguration %s: %w", name, err)
		}
	}
	g.WebhookNames = nil
	var last error
	err := waitFor(ctx, 30*time.Second, g.proc, "the API server to stop calling the vnfguard webhook", func(ctx context.Context) (bool, error) {
		last = g.probe(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last answer to the probe: %v)", err, last)
	}
	return nil
}

// probe sends a dry-run create of a host-takeover pod as the attacker: the webhook, when the API server calls it,
// denies it; nothing else does.
func (g *Guard) probe(ctx context.Context) error {
	pod := PeiratesPod(probeNamespace, "vnfguard-lab-probe")
	_, err := g.cp.clients[Attacker].CoreV1().Pods(probeNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// probeNamespace is where the registration probe sends its dry-run pod: host takeover is denied everywhere.
const probeNamespace = "default"

// waitEffective waits until a dry-run create of a host-takeover pod is denied by the webhook: the API server
// picks up new webhook configurations asynchronously. Each probe leaves one denial finding on vnfguard's stdout.
func (g *Guard) waitEffective(ctx context.Context) error {
	if err := g.cp.EnsureNamespace(ctx, probeNamespace, nil); err != nil {
		return err
	}
	var last error
	err := waitFor(ctx, 30*time.Second, g.proc, "the API server to call the vnfguard webhook", func(ctx context.Context) (bool, error) {
		last = g.probe(ctx)
		return IsWebhookDenial(last), nil
	})
	if err != nil {
		return fmt.Errorf("%w (last answer to the probe: %v)", err, last)
	}
	return nil
}

// decodeWebhookConfigs reads one ValidatingWebhookConfiguration or a List of them.
func decodeWebhookConfigs(data []byte) ([]admregv1.ValidatingWebhookConfiguration, error) {
	var head struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	raws := []json.RawMessage{data}
	if head.Kind == "List" || head.Kind == "ValidatingWebhookConfigurationList" {
		raws = head.Items
	}
	var out []admregv1.ValidatingWebhookConfiguration
	for i, raw := range raws {
		var c admregv1.ValidatingWebhookConfiguration
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if c.Kind != "ValidatingWebhookConfiguration" {
			return nil, fmt.Errorf("item %d is a %q, want ValidatingWebhookConfiguration", i, c.Kind)
		}
		if len(c.Webhooks) == 0 {
			return nil, fmt.Errorf("ValidatingWebhookConfiguration %s has no webhooks", c.Name)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no ValidatingWebhookConfiguration in it")
	}
	return out, nil
}

// Findings returns a copy of every finding vnfguard has printed so far, in order.
func (g *Guard) Findings() []finding.Finding { return g.sink.all() }

// FindingCount is the number of findings printed so far; Findings()[n:] are those printed after a count of n.
func (g *Guard) FindingCount() int { return g.sink.count() }

// WaitFindings waits up to timeout until more than n findings have been printed and returns those after the first
// n (possibly none, when the timeout passes first).
func (g *Guard) WaitFindings(ctx context.Context, n int, timeout time.Duration) []finding.Finding {
	return g.sink.waitBeyond(ctx, n, timeout)
}

// Stop stops the vnfguard process (SIGTERM, then SIGKILL) and waits for it. It does not unregister the webhook:
// with the control plane stopping too, nobody is left to call it.
func (g *Guard) Stop() {
	if g.proc != nil {
		g.proc.stop(10 * time.Second)
	}
	g.sink.close()
}

// Kill ends the vnfguard process with SIGKILL, as a node failure or the OOM killer would (no shutdown, no release of
// what it holds), and waits for it.
func (g *Guard) Kill() {
	if g.proc != nil && !g.proc.exited() {
		_ = g.proc.cmd.Process.Kill()
		<-g.proc.done
	}
	g.sink.close()
}

// findingSink receives vnfguard's stdout: it copies every byte to a file and parses each line as a Finding.
type findingSink struct {
	mu       sync.Mutex
	out      io.WriteCloser
	partial  []byte
	findings []finding.Finding
	changed  chan struct{} // closed and replaced whenever a finding arrives
	logger   interface{ Warn(string, ...any) }
}

func newFindingSink(out io.WriteCloser, logger interface{ Warn(string, ...any) }) *findingSink {
	return &findingSink{out: out, changed: make(chan struct{}), logger: logger}
}

// Write is called by os/exec's copying goroutine.
func (s *findingSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out != nil {
		if _, err := s.out.Write(p); err != nil {
			return 0, err
		}
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSpace(s.partial[:i])
		s.partial = s.partial[i+1:]
		if len(line) == 0 {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal(line, &f); err != nil {
			s.logger.Warn("vnfguard printed a stdout line that is not a finding", "line", truncate(string(line), 300), "error", err)
			continue
		}
		s.appendLocked(f)
	}
	return len(p), nil
}

// add records a finding that came another way than stdout (an installed vnfguard's store).
func (s *findingSink) add(f finding.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendLocked(f)
}

func (s *findingSink) appendLocked(f finding.Finding) {
	s.findings = append(s.findings, f)
	close(s.changed)
	s.changed = make(chan struct{})
}

// close closes the copy of stdout; the process has exited, so nothing writes any more.
func (s *findingSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out != nil {
		_ = s.out.Close()
		s.out = nil
	}
}

func (s *findingSink) all() []finding.Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]finding.Finding(nil), s.findings...)
}

func (s *findingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.findings)
}

func (s *findingSink) waitBeyond(ctx context.Context, n int, timeout time.Duration) []finding.Finding {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.findings) > n {
			out := append([]finding.Finding(nil), s.findings[n:]...)
			s.mu.Unlock()
			return out
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// GuardURL reserves, when it is not reserved yet, the loopback port that StartVNFGuard will serve on, and returns
// vnfguard's base URL: configurations that must name vnfguard's own address before it starts (a SOL003
// subscription's callback) use it.
func (cp *ControlPlane) GuardURL() (string, error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.guardPort == 0 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		cp.guardPort = port
	}
	return "https://127.0.0.1:" + strconv.Itoa(cp.guardPort), nil
}
