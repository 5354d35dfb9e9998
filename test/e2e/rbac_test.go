package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestVNFGuardRunsLeastPrivilege: the scenario's vnfguard ran as its own ServiceAccount with the RBAC it ships, and
// the real API server's authorizer says that RBAC reads Secrets only in the protected namespaces and writes nothing
// an attacker holding vnfguard's token could use.
func TestVNFGuardRunsLeastPrivilege(t *testing.T) {
	run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, _ := suite.env.CP.ClientFor(lab.Admin)
	for _, q := range []struct {
		verb, group, resource, sub, ns string
		want                           bool
	}{
		{"list", "", "secrets", "", lab.UPF.Namespace, true},
		{"watch", "", "configmaps", "", lab.UDR.Namespace, true},
		{"list", "", "pods", "", "", true},
		{"list", "", "secrets", "", lab.Sandbox, false},
		{"get", "", "secrets", "", "kube-system", false},
		{"list", "", "secrets", "", "", false},
		{"create", "", "pods", "", lab.UPF.Namespace, false},
		{"create", "", "pods", "exec", lab.UPF.Namespace, false},
		{"get", "", "pods", "exec", lab.UPF.Namespace, false},
		{"update", "", "namespaces", "", "", false},
		{"delete", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "", false},
	} {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:   lab.VNFGuard,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:vnfguard", "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Verb: q.verb, Group: q.group, Resource: q.resource,
				Subresource: q.sub, Namespace: q.ns},
		}}
		res, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != q.want {
			t.Errorf("vnfguard may %s %s %s/%s in %q: %v, want %v (%s)", q.verb, q.group, q.resource, q.sub, q.ns, res.Status.Allowed, q.want, res.Status.Reason)
		}
	}
	// `vnfguard unregister` (the chart's pre-delete hook) may delete vnfguard's own registration and no other: the
	// real API server refuses another name, and an admin is told a missing one is not there.
	binary := filepath.Join(suite.tmp, "vnfguard")
	out, err := exec.CommandContext(ctx, binary, "unregister", "--name", "kyverno-resource-validating-webhook-cfg",
		"--kubeconfig", suite.env.CP.Kubeconfig(lab.VNFGuard)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "forbidden") {
		t.Errorf("unregister of another tool's registration as vnfguard: %v\n%s; want forbidden", err, out)
	}
	out, err = exec.CommandContext(ctx, binary, "unregister", "--name", "no-such-registration",
		"--kubeconfig", suite.env.CP.Kubeconfig(lab.Admin)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no-such-registration: not found") {
		t.Errorf("unregister of a missing registration: %v\n%s; want exit 0 and not found", err, out)
	}
	// And it really ran under that identity: the API server's audit log names it for the view's lists.
	if !auditMentions(t, suite.env.CP.AuditLogFile, `"username":"`+lab.VNFGuard+`"`) {
		t.Errorf("no request by %s in the audit log: vnfguard did not run as its ServiceAccount", lab.VNFGuard)
	}
}

func auditMentions(t *testing.T, file, s string) bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), s)
}

// TestRBACIsWhatIsDocumented is `kubectl auth can-i --list` as vnfguard's ServiceAccount: what the real API server
// says it may do, in a protected namespace, in an ordinary one and in its own, is exactly the rules internal/install
// documents (deploy/rbac.yaml) — no more, no less — besides what every authenticated user may do.
func TestRBACIsWhatIsDocumented(t *testing.T) {
	run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	self, _ := suite.env.CP.ClientFor(lab.VNFGuard)
	rules := install.Rules()
	registration := rules[install.RegistrationRole]
	registration[0].ResourceNames = []string{"vnfguard"} // the lab's webhook configuration
	for _, tc := range []struct {
		namespace string
		want      [][]rbacv1.PolicyRule
	}{
		{lab.UPF.Namespace, [][]rbacv1.PolicyRule{rules[install.ServeRole], registration, rules[install.NamespaceDataRole]}},
		{lab.Sandbox, [][]rbacv1.PolicyRule{rules[install.ServeRole], registration}},
		{"vnfguard", [][]rbacv1.PolicyRule{rules[install.ServeRole], registration, rules[install.LeaderElectionRole], rules[install.CertificatesRole], rules[install.UninstallRole]}},
	} {
		extra, missing, err := lab.RulesDiff(ctx, self, tc.namespace, tc.want...)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range extra {
			t.Errorf("%s: the API server lets vnfguard %s, which internal/install does not document", tc.namespace, key)
		}
		for _, key := range missing {
			t.Errorf("%s: documented %s, which the API server does not grant", tc.namespace, key)
		}
	}
}
