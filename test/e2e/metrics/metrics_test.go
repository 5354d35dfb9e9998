package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/lab"
)

const (
	protected = "vnf-upf"
	cluster   = "lab-metrics"
)

// panelQuery is one target of one panel of the dashboard.
type panelQuery struct {
	panel, refID, expr string
}

// dashboardQueries reads every panel's targets (rows' nested panels included) from the dashboard JSON.
func dashboardQueries(t *testing.T, path string) []panelQuery {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []panelQuery
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", path, err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q target %s has an empty expression", p.Title, tg.RefID)
				}
				out = append(out, panelQuery{panel: p.Title, refID: tg.RefID, expr: tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	return out
}

// grafanaVariables stand in for what Grafana substitutes before it sends a query.
func grafanaVariables(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$__range", "10m", "$cluster", cluster).Replace(expr)
}

// prometheus runs Debian's prometheus on loopback, scraping target every second.
type prometheus struct {
	url  string
	cmd  *exec.Cmd
	done chan error
}

func startPrometheus(t *testing.T, ctx context.Context, dir, target string) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run hack/prometheus-deps.sh (as root)")
	}
	ports, err := lab.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vnfguard
    static_configs: [{targets: ["`+target+`"]}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &prometheus{url: "http://" + addr, done: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1h")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		_ = os.RemoveAll(filepath.Join(dir, "tsdb"))
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus not ready after 30 s: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	v, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// query evaluates expr now and returns the instant vector (a scalar comes back as one sample).
func (p *prometheus) query(ctx context.Context, expr string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("prometheus answer %q: %w", body, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var v []sample
		return v, json.Unmarshal(r.Data.Result, &v)
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, err
		}
		return []sample{{Value: s}}, nil
	}
	return nil, fmt.Errorf("prometheus: result type %s", r.Data.ResultType)
}

// hasData reports whether a result holds at least one finite value: a histogram quantile over a window without
// observations is NaN, which Grafana draws as nothing.
func hasData(v []sample) bool {
	for _, s := range v {
		if f := s.float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return true
		}
	}
	return false
}

func TestEveryDashboardPanelReturnsData(t *testing.T) {
	queries := dashboardQueries(t, "../../../deploy/grafana/vnfguard.json")
	if len(queries) < 10 {
		t.Fatalf("the dashboard has %d queries; it lost panels", len(queries))
	}
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	inventory := filepath.Join(dir, "inventory.yaml")
	configPath := filepath.Join(dir, "vnfguard.yaml")
	for path, data := range map[string]string{
		inventory: `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - {id: upf-1, vnfdId: upf-vnfd, vnfProvider: Acme, vnfProductName: UPF, instantiationState: INSTANTIATED,
     instantiatedVnfInfo: {flavourId: simple, vnfState: STARTED, metadata: {namespace: ` + protected + `}}}
`,
		configPath: `apiVersion: vnfguard.io/v1alpha1
kind: Config
clusterName: ` + cluster + `
protectedNamespaces: {names: [` + protected + `]}
identities:
  vnfm: {users: [` + lab.VNFM + `]}
inventory: {file: inventory.yaml}
`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger,
		APIServerOnly: true, AuditToVNFGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	for _, ns := range []string{lab.Sandbox, protected} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	// An alert receiver for the webhook sink: its batches are what the sink panel counts.
	var batches atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		batches.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()
	guard, err := cp.StartVNFGuard(ctx, binary, configPath, "--store", filepath.Join(dir, "findings.db"), "--sink-webhook", receiver.URL)
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, ctx, dir, strings.TrimPrefix(guard.MetricsURL, "http://"))
	waitFor := func(what, expr string, ok func([]sample) bool) []sample {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			v, err := prom.query(ctx, expr)
			if err == nil && ok(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s answered %v %v within 60 s", what, expr, v, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitFor("the first scrape", `up{job="vnfguard"}`, func(v []sample) bool { return len(v) == 1 && v[0].float() == 1 })

	// The attacker's requests, after Prometheus has seen the counters at their start: an admission denial (the
	// Peirates pod, FGT5013) and an audit finding (every Secret of the cluster listed, FGT1609.501).
	attacker, _ := cp.ClientFor(lab.Attacker)
	before := guard.FindingCount()
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "peirates"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !lab.IsWebhookDenial(err) {
		t.Fatalf("the Peirates pod: %v, want a denial", err)
	}
	if _, err := attacker.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the attacker's secret dump: %v", err)
	}
	sources := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); !sources["admission"] || !sources["audit"]; {
		if time.Now().After(deadline) {
			t.Fatalf("findings after the attack: %v; want admission and audit ones", guard.Findings()[before:])
		}
		guard.WaitFindings(ctx, guard.FindingCount(), time.Second)
		for _, f := range guard.Findings()[before:] {
			sources[f.Source] = true
		}
	}

	// The findings counter as Prometheus sees it, by technique and source, for this cluster.
	byTechnique := waitFor("findings by technique", `sum by (technique, source) (vnfguard_findings_total{cluster="`+cluster+`"})`,
		func(v []sample) bool {
			seen := map[string]bool{}
			for _, s := range v {
				seen[s.Metric["technique"]+"/"+s.Metric["source"]] = s.float() > 0
			}
			return seen["FGT5013/admission"] && seen["FGT1609.501/audit"]
		})
	t.Logf("vnfguard_findings_total by technique and source: %d series", len(byTechnique))
	if batches.Load() == 0 {
		waitFor("webhook sink deliveries", `sum(vnfguard_sink_webhook_batches_total{result="sent"})`, func(v []sample) bool { return len(v) == 1 && v[0].float() > 0 })
	}
	time.Sleep(3 * time.Second) // a few more scrapes: every rate() window holds the increase

	for _, q := range queries {
		expr := grafanaVariables(q.expr)
		v, err := prom.query(ctx, expr)
		switch {
		case err != nil:
			t.Errorf("panel %q (%s): %s: %v", q.panel, q.refID, expr, err)
		case !hasData(v):
			t.Errorf("panel %q (%s) returns no data: %s -> %v", q.panel, q.refID, expr, v)
		default:
			t.Logf("panel %q (%s): %d series", q.panel, q.refID, len(v))
		}
	}
	// The cluster variable filters: another cluster's name selects nothing.
	if v, err := prom.query(ctx, `sum(vnfguard_findings_total{cluster=~"other-cluster"})`); err != nil || len(v) != 0 {
		t.Errorf("findings of another cluster: %v %v, want none", v, err)
	}
}
