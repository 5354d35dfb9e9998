package finding

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSeverityText(t *testing.T) {
	for _, s := range []Severity{Info, Low, Medium, High, Critical} {
		var back Severity
		text, _ := s.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("%v does not round-trip: %v %v", s, back, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil || !strings.Contains(err.Error(), "critical") {
		t.Errorf("unknown severity must list the valid ones, got %v", err)
	}
	if s, _ := ParseSeverity("HIGH"); s != High {
		t.Error("severity names are case-insensitive")
	}
}

func TestKeyAndJSON(t *testing.T) {
	obj := ObjectRef{Kind: "Pod", Namespace: "vnf", Name: "upf-0", Subresource: "exec"}
	// IDs are stored and compared across versions: these are the values every release has computed.
	for want, ref := range map[string]ObjectRef{
		"516044ab3f04fdd4b32d9630": {Kind: "Pod", Namespace: "core", Name: "upf-0", Subresource: "exec"},
		"b0f66adc8364158665686681": {},
	} {
		rule, instance := "exec-into-vnf", "upf-1"
		if ref.Kind == "" {
			rule, instance = "", ""
		}
		if got := Key(rule, ref, instance); got != want {
			t.Errorf("Key(%q, %+v, %q) = %s, want %s", rule, ref, instance, got, want)
		}
	}
	first, again := Key("a", obj, "i"), Key("a", ObjectRef{Kind: "Pod", Namespace: "vnf", Name: "upf-0", Subresource: "exec"}, "i")
	if first != again || first == Key("b", obj, "i") || first == Key("a", obj, "j") {
		t.Error("keys must be stable and differ by rule and instance")
	}
	f := &Finding{ID: Key("a", obj, "i"), Rule: "a", Technique: AccessingTerminatedVNF, Severity: Critical, Object: obj, VNFInstance: "i"}
	line, err := f.JSONLine()
	if err != nil || !strings.HasSuffix(string(line), "\n") || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("JSONLine: %q %v", line, err)
	}
	var back map[string]any
	if err := json.Unmarshal(line, &back); err != nil || back["severity"] != "critical" || back["technique"] != "FGT1609.501" || back["vnfInstance"] != "i" {
		t.Errorf("JSON: %s", line)
	}
	if obj.String() != "Pod vnf/upf-0/exec" {
		t.Errorf("ObjectRef.String() = %q", obj.String())
	}
}

func TestInCluster(t *testing.T) {
	base := Finding{ID: Key("exec-into-vnf", ObjectRef{Kind: "Pod", Namespace: "core", Name: "upf-0"}, "upf-1"), Rule: "exec-into-vnf"}
	unnamed := []Finding{base}
	InCluster(unnamed, "")
	if unnamed[0].ID != base.ID || unnamed[0].Cluster != "" {
		t.Errorf("an unnamed cluster changed the finding: %+v", unnamed[0])
	}
	east, west := []Finding{base}, []Finding{base}
	InCluster(east, "edge-east")
	InCluster(west, "edge-west")
	if east[0].Cluster != "edge-east" || west[0].Cluster != "edge-west" {
		t.Errorf("clusters not named: %q, %q", east[0].Cluster, west[0].Cluster)
	}
	if east[0].ID == base.ID || east[0].ID == west[0].ID {
		t.Errorf("IDs %s (east), %s (west), %s (unnamed): each cluster needs its own", east[0].ID, west[0].ID, base.ID)
	}
	again := append([]Finding(nil), east...)
	InCluster(again, "edge-west")
	if again[0].ID != east[0].ID || again[0].Cluster != "edge-east" {
		t.Errorf("a finding named once was renamed: %+v", again[0])
	}
}
