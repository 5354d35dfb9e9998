package nodesensor

import (
	"strings"
	"testing"
)

func TestParseProbeRuns(t *testing.T) {
	const metrics = `# HELP prober_probe_total [ALPHA] Cumulative number of a liveness, readiness or startup probe for a container by result.
# TYPE prober_probe_total counter
prober_probe_total{container="edge",namespace="vnf-edge",pod="edge-0",pod_uid="u",probe_type="Readiness",result="successful"} 7
prober_probe_total{container="edge",namespace="vnf-edge",pod="edge-0",pod_uid="u",probe_type="Readiness",result="failed"} 2
prober_probe_total{container="edge",namespace="vnf-edge",pod="edge-0",pod_uid="u",probe_type="Liveness",result="successful"} 1
`
	got, err := parseProbeRuns(strings.NewReader(metrics))
	if err != nil {
		t.Fatal(err)
	}
	if got[probeKey("vnf-edge", "edge-0", "edge", "Readiness")] != 9 || got[probeKey("vnf-edge", "edge-0", "edge", "Liveness")] != 1 || len(got) != 2 {
		t.Errorf("parsed %v", got)
	}
	if _, err := parseProbeRuns(strings.NewReader("prober_probe_total{ 7\n")); err == nil {
		t.Error("malformed metrics must be an error")
	}
}
