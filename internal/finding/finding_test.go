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
