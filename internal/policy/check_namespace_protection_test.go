package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

const namespaceProtectionConfig = `
apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces:
  names: [vnf-5gc]
  selector: {matchLabels: {vnfguard.io/protected: "true"}}
identities:
  vnfm: {users: [tacker-vnfm]}
  administrators: {groups: ["vnfguard:admins"]}
`

var guardAdmin = authnv1.UserInfo{Username: "alice", Groups: []string{"vnfguard:admins", "system:authenticated"}}

func namespaceObj(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{"kubernetes.io/metadata.name": name}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// namespaceRequest is an admission request on a Namespace as the API server sends it: cluster-scoped, named.
func namespaceRequest(op string, user authnv1.UserInfo, obj, old *corev1.Namespace) *Request {
	r := &Request{UID: "uid-ns", Operation: op, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"},
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, User: user}
	if obj != nil {
		r.Object, r.Name = obj, obj.Name
	}
	if old != nil {
		r.OldObject, r.Name = old, old.Name
	}
	return r
}

func TestNamespaceProtection(t *testing.T) {
	cfg, err := config.Parse([]byte(namespaceProtectionConfig))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: testSnapshot()}})
	if err != nil {
		t.Fatal(err)
	}
	protected := map[string]string{"vnfguard.io/protected": "true"}
	withTeam := map[string]string{"vnfguard.io/protected": "true", "team": "core"}
	tests := []struct {
		name     string
		req      *Request
		allowed  bool
		findings int    // critical namespace-protection findings
		action   string // of that finding
		inMsg    string
	}{
		{"label removed by an attacker", namespaceRequest(Update, attacker, namespaceObj("vnf-upf", nil), namespaceObj("vnf-upf", protected)),
			false, 1, "denied", "vnfguard.io/protected: true → removed"},
		{"label changed to false", namespaceRequest(Update, opsAdmin, namespaceObj("vnf-upf", map[string]string{"vnfguard.io/protected": "false"}), namespaceObj("vnf-upf", protected)),
			false, 1, "denied", "true → false"},
		{"the VNFM is no administrator", namespaceRequest(Update, vnfmUser, namespaceObj("vnf-upf", nil), namespaceObj("vnf-upf", protected)),
			false, 1, "denied", "only vnfguard administrators"},
		{"label removed by an administrator: allowed, still critical", namespaceRequest(Update, guardAdmin, namespaceObj("vnf-upf", nil), namespaceObj("vnf-upf", protected)),
			true, 1, "allowed", "allowed for vnfguard administrator alice"},
		{"protected namespace deleted", namespaceRequest(Delete, attacker, nil, namespaceObj("vnf-upf", protected)),
			false, 1, "denied", "deleting protected namespace vnf-upf"},
		{"namespace protected by name deleted", namespaceRequest(Delete, attacker, nil, namespaceObj("vnf-5gc", nil)),
			false, 1, "denied", "deleting protected namespace vnf-5gc"},
		{"protected namespace deleted by an administrator", namespaceRequest(Delete, guardAdmin, nil, namespaceObj("vnf-upf", protected)),
			true, 1, "allowed", "deleting"},
		{"label removed from a namespace protected by name: still protected", namespaceRequest(Update, attacker, namespaceObj("vnf-5gc", nil), namespaceObj("vnf-5gc", protected)),
			true, 0, "", ""},
		{"another label added", namespaceRequest(Update, attacker, namespaceObj("vnf-upf", withTeam), namespaceObj("vnf-upf", protected)),
			true, 0, "", ""},
		{"label added (protection gained)", namespaceRequest(Update, attacker, namespaceObj("team-a", protected), namespaceObj("team-a", nil)),
			true, 0, "", ""},
		{"unprotected namespace deleted", namespaceRequest(Delete, attacker, nil, namespaceObj("team-a", nil)),
			true, 0, "", ""},
		{"namespace created", namespaceRequest(Create, attacker, namespaceObj("team-b", nil), nil),
			true, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ev.Evaluate(context.Background(), tt.req)
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v: %s (errors %v)", d.Allowed, tt.allowed, d.Message(), d.Errors)
			}
			var got []finding.Finding
			for _, f := range d.Findings(time.Now()) {
				if f.Rule == "namespace-protection" {
					got = append(got, f)
				}
			}
			if len(got) != tt.findings {
				t.Fatalf("%d namespace-protection findings, want %d: %+v", len(got), tt.findings, got)
			}
			if tt.findings == 0 {
				return
			}
			f := got[0]
			if f.Severity != finding.Critical || f.Action != tt.action || f.Technique != finding.MaliciousVNFInstantiation {
				t.Errorf("finding severity %s action %s technique %s, want critical %s FGT5013", f.Severity, f.Action, f.Technique, tt.action)
			}
			if !strings.Contains(f.Message, tt.inMsg) || f.Identity != tt.req.User.Username || f.Object.Kind != "Namespace" || f.Object.Name != tt.req.Name {
				t.Errorf("finding %+v: want message with %q, identity %s, object Namespace %s", f, tt.inMsg, tt.req.User.Username, tt.req.Name)
			}
			if !tt.allowed && !strings.Contains(d.Message(), "[namespace-protection FGT5013]") {
				t.Errorf("denial message does not name the check: %s", d.Message())
			}
		})
	}
}

// TestNamespaceObjectsDecode: an AdmissionReview on a Namespace decodes into typed Namespaces, so that the check
// sees the labels before and after.
func TestNamespaceObjectsDecode(t *testing.T) {
	obj, err := DecodeObject(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vnf-upf","labels":{"a":"b"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var _ runtime.Object = obj
	if ns, ok := obj.(*corev1.Namespace); !ok || ns.Labels["a"] != "b" {
		t.Fatalf("decoded %T %+v, want *corev1.Namespace with its labels", obj, obj)
	}
}
