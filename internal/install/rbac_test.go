package install

import (
	"os"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/manifest"
	"github.com/vnfguard/vnfguard/internal/posture/rbac"
)

const serveSA = "ServiceAccount vnfguard/vnfguard"

func analyze(t *testing.T, objs []runtime.Object, protected ...string) *rbac.Analysis {
	t.Helper()
	return rbac.Analyze(rbac.FromObjects(objs, func(ns string) bool {
		for _, p := range protected {
			if p == ns {
				return true
			}
		}
		return false
	}))
}

func holders(grants []rbac.Grant) []string {
	var out []string
	for _, g := range grants {
		out = append(out, rbac.Identity(g.Subject))
	}
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The rendered RBAC, judged by the posture scan's own analysis (Kubernetes' rule matching): vnfguard reads what it
// needs and nothing an attacker who stole its token could use to instantiate, exec or read Secrets elsewhere.
func TestServeIsLeastPrivilege(t *testing.T) {
	objs := RBAC(Options{DataNamespaces: []string{"vnf-upf", "vnf-udr"}})
	a := analyze(t, objs, "vnf-upf", "vnf-udr")
	for _, q := range []struct {
		verb, resource, sub, ns string
		want                    bool
	}{
		{"list", "pods", "", "", true},
		{"watch", "namespaces", "", "", true},
		{"watch", "persistentvolumes", "", "", true},
		// The instance label on instances' volumes (reconcile.labelVolumes); no volume is made or removed.
		{"patch", "persistentvolumes", "", "", true},
		{"create", "persistentvolumes", "", "", false},
		{"delete", "persistentvolumes", "", "", false},
		{"list", "deployments.apps", "", "", true},
		{"list", "replicationcontrollers", "", "", true},
		{"watch", "validatingwebhookconfigurations.admissionregistration.k8s.io", "", "", true},
		// The node agents' tokens, checked by /runtime, and the console's readers (TokenReview, then a
		// SubjectAccessReview); no token of its own making.
		{"create", "tokenreviews.authentication.k8s.io", "", "", true},
		{"create", "subjectaccessreviews.authorization.k8s.io", "", "", true},
		{"create", "localsubjectaccessreviews.authorization.k8s.io", "", "vnf-upf", false},
		// Its PolicyReports, and nothing else of the report API's neighbours.
		{"create", "policyreports.wgpolicyk8s.io", "", "vnf-upf", true},
		{"delete", "clusterpolicyreports.wgpolicyk8s.io", "", "", true},
		{"patch", "reports.openreports.io", "", "vnf-upf", true},
		{"delete", "clusterreports.openreports.io", "", "", true},
		{"list", "reports.openreports.io", "", "", true},
		{"get", "tokenreviews.authentication.k8s.io", "", "", false},
		{"list", "secrets", "", "vnf-upf", true},
		{"watch", "configmaps", "", "vnf-udr", true},
		// No Secrets outside the protected namespaces, nor cluster-wide.
		{"list", "secrets", "", "default", false},
		{"get", "secrets", "", "kube-system", false},
		{"list", "secrets", "", "", false},
		// Nothing that creates, changes or reaches into a workload.
		{"create", "pods", "", "vnf-upf", false},
		{"create", "deployments.apps", "", "vnf-upf", false},
		{"update", "namespaces", "", "", false},
		{"create", "pods", "exec", "vnf-upf", false},
		{"get", "pods", "exec", "vnf-upf", false},
		{"get", "nodes", "proxy", "", false},
		{"delete", "validatingwebhookconfigurations.admissionregistration.k8s.io", "", "", false},
		{"update", "validatingwebhookconfigurations.admissionregistration.k8s.io", "", "", false},
		{"create", "rolebindings.rbac.authorization.k8s.io", "", "vnf-upf", false},
		{"create", "serviceaccounts", "token", "vnfguard", false},
	} {
		got := has(holders(a.WhoCan(q.verb, q.resource, q.sub, q.ns)), serveSA)
		if got != q.want {
			t.Errorf("vnfguard can %s %s/%s in %q = %v, want %v", q.verb, q.resource, q.sub, q.ns, got, q.want)
		}
	}
	// The posture scan's own danger definitions find nothing high or critical held by vnfguard.
	for _, f := range a.Findings(time.Now()) {
		if strings.Contains(f.Identity, "vnfguard/vnfguard") && f.Severity >= finding.High {
			t.Errorf("posture finds %s %s for vnfguard's service account: %s", f.Severity, f.Rule, f.Message)
		}
	}
}

func TestReapplyIsLimitedToItsOwnConfigurations(t *testing.T) {
	objs := RBAC(Options{WebhookConfigurations: []string{"vnfguard", "vnfguard-protected"}, Reapply: true})
	a := analyze(t, objs)
	for _, q := range []struct {
		verb, name string
		want       bool
	}{
		{"update", "vnfguard", true},
		{"patch", "vnfguard-protected", true},
		{"update", "kyverno-resource-validating-webhook-cfg", false},
		{"delete", "vnfguard", true},
		{"delete", "kyverno-resource-validating-webhook-cfg", false},
	} {
		grants := a.WhoCanRequest(rbac.Request{Verb: q.verb, APIGroup: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: q.name})
		if got := has(holders(grants), serveSA); got != q.want {
			t.Errorf("vnfguard can %s validatingwebhookconfiguration %s = %v, want %v", q.verb, q.name, got, q.want)
		}
	}
	// Without re-apply, no write at all.
	grants := analyze(t, RBAC(Options{WebhookConfigurations: []string{"vnfguard"}})).WhoCanRequest(rbac.Request{
		Verb: "update", APIGroup: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "vnfguard"})
	if has(holders(grants), serveSA) {
		t.Error("vnfguard can update its registration although re-apply is off")
	}
}

// Leader election: the replicas may read, create and renew the one Lease, in their own namespace, and nothing
// else: not another component's Lease (kube-controller-manager's, a node's heartbeat), not a Lease elsewhere.
func TestLeaderElectionIsLimitedToItsLease(t *testing.T) {
	a := analyze(t, RBAC(Options{}))
	for _, q := range []struct {
		verb, ns, name string
		want           bool
	}{
		{"get", "vnfguard", LeaseName, true},
		{"update", "vnfguard", LeaseName, true},
		{"create", "vnfguard", "", true},
		{"update", "vnfguard", "other-lease", false},
		{"get", "vnfguard", "other-lease", false},
		{"delete", "vnfguard", LeaseName, false},
		{"patch", "vnfguard", LeaseName, false},
		{"list", "vnfguard", "", false},
		{"get", "kube-system", "kube-controller-manager", false},
		{"update", "kube-system", "kube-controller-manager", false},
		{"create", "kube-system", "", false},
		{"update", "kube-node-lease", "node-1", false},
	} {
		grants := a.WhoCanRequest(rbac.Request{Verb: q.verb, APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: q.ns, Name: q.name})
		if got := has(holders(grants), serveSA); got != q.want {
			t.Errorf("vnfguard can %s lease %s/%s = %v, want %v", q.verb, q.ns, q.name, got, q.want)
		}
	}
	// In another namespace of vnfguard's own, the Role follows it.
	grants := analyze(t, RBAC(Options{Namespace: "security"})).WhoCanRequest(rbac.Request{
		Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "security", Name: LeaseName})
	if !has(holders(grants), "ServiceAccount security/vnfguard") {
		t.Error("with namespace security, vnfguard cannot renew its Lease there")
	}
}

func TestScannerReadsNoSecrets(t *testing.T) {
	objs := append(RBAC(Options{}), &rbacv1.ClusterRoleBinding{
		TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta("scanner", ""),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ScannerRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "auditor"}},
	})
	a := analyze(t, objs)
	if !has(holders(a.WhoCan("list", "clusterrolebindings.rbac.authorization.k8s.io", "", "")), "User auditor") {
		t.Error("the scanner cannot list ClusterRoleBindings: the RBAC scan needs them")
	}
	for _, res := range []string{"secrets", "configmaps"} {
		if has(holders(a.WhoCan("list", res, "", "vnf-upf")), "User auditor") {
			t.Errorf("the scanner can list %s", res)
		}
	}
}

// The YAML is what kubectl apply reads: every document decodes into the typed object it came from.
func TestYAMLRoundTrips(t *testing.T) {
	objs := RBAC(Options{DataNamespaces: []string{"vnf-upf"}, WebhookConfigurations: []string{"vnfguard"}, Reapply: true})
	out, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := manifest.Parse(out, "rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(objs) {
		t.Fatalf("%d documents decoded, want %d:\n%s", len(back), len(objs), out)
	}
	for i := range objs {
		want, _ := yaml.Marshal(objs[i])
		got, _ := yaml.Marshal(back[i].Object)
		if string(want) != string(got) {
			t.Errorf("document %d changed in a round trip:\n%s\nwant\n%s", i, got, want)
		}
	}
}

// The Helm chart's RBAC comes from these rules: its files/rules.yaml is what RulesYAML renders.
func TestChartRulesAreCurrent(t *testing.T) {
	want, err := RulesYAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../deploy/helm/vnfguard/files/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("deploy/helm/vnfguard/files/rules.yaml is out of date: go run ./hack/chartrules > deploy/helm/vnfguard/files/rules.yaml\n%s", want)
	}
}

// The self-managed certificate: the replicas may read, watch and update their two Secrets and create Secrets in
// their own namespace (create cannot be limited by name), and nothing more of Secrets outside the protected
// namespaces.
func TestCertificatesAreLimitedToTheirSecrets(t *testing.T) {
	a := analyze(t, RBAC(Options{}))
	for _, q := range []struct {
		verb, ns, name string
		want           bool
	}{
		{"get", "vnfguard", TLSSecret, true},
		{"watch", "vnfguard", CASecret, true},
		{"list", "vnfguard", TLSSecret, true},
		{"update", "vnfguard", CASecret, true},
		{"create", "vnfguard", "", true},
		{"get", "vnfguard", "vnfguard-store", false},
		{"list", "vnfguard", "", false},
		{"update", "vnfguard", "vnfguard-audit", false},
		{"delete", "vnfguard", TLSSecret, false},
		{"patch", "vnfguard", CASecret, false},
		{"create", "kube-system", "", false},
		{"get", "kube-system", TLSSecret, false},
	} {
		grants := a.WhoCanRequest(rbac.Request{Verb: q.verb, Resource: "secrets", Namespace: q.ns, Name: q.name})
		if got := has(holders(grants), serveSA); got != q.want {
			t.Errorf("vnfguard can %s secret %s/%s = %v, want %v", q.verb, q.ns, q.name, got, q.want)
		}
	}
}
