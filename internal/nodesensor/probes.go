package nodesensor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vnfguard/vnfguard/internal/selfcert"
)

// ProbeCounter tells how many probes the kubelet has run, per container and probe type. An exec probe's process
// usually ends before its command line can be read, so the sensor accounts for such execs with the kubelet's own
// count: an exec the kubelet's probe counter does not account for is not a probe.
type ProbeCounter interface {
	// ProbeRuns returns the counts by probeKey (namespace/pod/container/probeType).
	ProbeRuns(ctx context.Context) (map[string]uint64, error)
}

func probeKey(namespace, pod, container, probeType string) string {
	return namespace + "/" + pod + "/" + container + "/" + probeType
}

// KubeletProbes reads the kubelet's /metrics/probes (prober_probe_total{namespace,pod,container,probe_type}).
// The kubelet authorises it as nodes/metrics (get) of its node.
type KubeletProbes struct {
	url, tokenFile string
	client         *http.Client
}

// NewKubeletProbes returns a counter over the kubelet at baseURL (https://NODE:10250); caFile verifies its serving
// certificate (empty: the system roots).
func NewKubeletProbes(baseURL, tokenFile, caFile string) (*KubeletProbes, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := selfcert.ReadCertPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("nodesensor: kubelet CA: %w", err)
		}
		tlsCfg.RootCAs = pool
	}
	return &KubeletProbes{url: strings.TrimSuffix(baseURL, "/") + "/metrics/probes", tokenFile: tokenFile,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 1}}}, nil
}

// ProbeRuns implements ProbeCounter.
func (k *KubeletProbes) ProbeRuns(ctx context.Context) (map[string]uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	if k.tokenFile != "" {
		token, err := os.ReadFile(k.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("nodesensor: read the token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("nodesensor: kubelet probe metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("nodesensor: kubelet probe metrics %s: %s (the agent needs get on nodes/metrics)", k.url, resp.Status)
	}
	return parseProbeRuns(resp.Body)
}

func parseProbeRuns(r interface{ Read([]byte) (int, error) }) (map[string]uint64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("nodesensor: kubelet probe metrics: %w", err)
	}
	out := map[string]uint64{}
	fam := fams["prober_probe_total"]
	if fam == nil {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if m.GetCounter() == nil {
			continue
		}
		out[probeKey(l["namespace"], l["pod"], l["container"], l["probe_type"])] += uint64(m.GetCounter().GetValue())
	}
	return out, nil
}
