package posture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/report/sariftest"
)

const vnfNamespace = "vnf-upf"

// TestLiveScan seeds the cluster, scans it with the binary and checks each seeded risk is reported with its
// technique, mitigation, severity and subject or object.
func TestLiveScan(t *testing.T) {
	_, binary := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(t.TempDir(), "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin, _ := cp.ClientFor(lab.Admin)
	seed(t, ctx, cp, admin)

	dir := t.TempDir()
	inventory := filepath.Join(dir, "inventory.yaml")
	write(t, inventory, `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - id: upf-1
    vnfdId: upf-vnfd
    vnfProductName: UPF
    instantiationState: INSTANTIATED
    instantiatedVnfInfo: {flavourId: simple, vnfState: STARTED, metadata: {namespace: `+vnfNamespace+`}}
`)
	configPath := filepath.Join(dir, "vnfguard.yaml")
	write(t, configPath, lab.ConfigYAML(inventory))
	// The scan runs with the read-only ClusterRole vnfguard ships for it (install.ScannerRole), not as an admin.
	kubeconfig := cp.Kubeconfig(lab.Scanner)
	apiHost := strings.TrimPrefix(cp.URL, "https://")

	code, out, stderr := run(t, ctx, binary, "scan", "--kubeconfig", kubeconfig, "--config", configPath, "-o", "json", "--probe", apiHost)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (critical findings)\n%s\n%s", code, stderr, out)
	}
	var rep struct {
		Target   string
		Findings []finding.Finding
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if !strings.Contains(rep.Target, cp.URL) {
		t.Errorf("target %q does not name the cluster %s", rep.Target, cp.URL)
	}
	for _, w := range []struct {
		rule, identity, kind, name string
		technique, mitigation      string
		atLeast                    finding.Severity
	}{
		{"rbac-read-secrets", "User system:anonymous", "ClusterRoleBinding", "anonymous-secrets", finding.AccessingTerminatedVNF, finding.MitigationUserAccounts, finding.Critical},
		{"rbac-exec", "ServiceAccount " + vnfNamespace + "/default", "RoleBinding", "default-exec", finding.AccessingTerminatedVNF, finding.MitigationUserAccounts, finding.High},
		{"rbac-create-workloads", "Group system:authenticated", "RoleBinding", "everyone-creates", finding.MaliciousVNFInstantiation, finding.MitigationUserAccounts, finding.Critical},
		{"rbac-mounted-token", "ServiceAccount " + vnfNamespace + "/default", "ServiceAccount", "default", finding.AccessingTerminatedVNF, finding.MitigationUserAccounts, finding.High},
		{"posture-pod-security", "", "Pod", "debug", finding.MaliciousVNFInstantiation, finding.MitigationPrivilegedAccounts, finding.High},
		{"exposed-service", "", "Service", "node-agent", finding.MaliciousVNFInstantiation, finding.MitigationNetworkSegmentation, finding.Critical},
		{"no-default-deny", "", "Namespace", vnfNamespace, finding.AccessingTerminatedVNF, finding.MitigationNetworkSegmentation, finding.Medium},
		{"exposure-probe-apiserver-anonymous", "", "Component", "", finding.MaliciousVNFInstantiation, finding.MitigationLimitNetworkAccess, finding.Low},
	} {
		var got *finding.Finding
		for i, f := range rep.Findings {
			if f.Rule == w.rule && (w.identity == "" || f.Identity == w.identity) && f.Object.Kind == w.kind && (w.name == "" || f.Object.Name == w.name) {
				got = &rep.Findings[i]
				break
			}
		}
		if got == nil {
			t.Errorf("no %s finding for %q on %s %s; findings:\n%s", w.rule, w.identity, w.kind, w.name, describe(rep.Findings))
			continue
		}
		if got.Technique != w.technique || !containsString(got.Mitigations, w.mitigation) || got.Severity < w.atLeast || got.Source != "posture" {
			t.Errorf("%s %s: technique %s mitigations %v severity %s source %q; want %s, %s, at least %s, posture",
				w.rule, w.name, got.Technique, got.Mitigations, got.Severity, got.Source, w.technique, w.mitigation, w.atLeast)
		}
	}
	// The privileged pod in the VNF namespace is bound to nothing; the exec grant there reaches the UPF.
	for _, f := range rep.Findings {
		if f.Rule == "rbac-exec" && f.Object.Name == "default-exec" && !strings.Contains(f.Evidence["vnfInstances"], "upf-1") {
			t.Errorf("the exec grant in %s does not name the UPF it reaches: %v", vnfNamespace, f.Evidence)
		}
	}

	// SARIF: valid against the official schema.
	code, sarif, stderr := run(t, ctx, binary, "scan", "--kubeconfig", kubeconfig, "--config", configPath, "-o", "sarif", "--fail-on", "none")
	if code != 0 {
		t.Fatalf("-o sarif --fail-on none: exit %d: %s", code, stderr)
	}
	if err := sariftest.Validate(sarif); err != nil {
		t.Fatalf("the SARIF output does not validate against %s: %v", sariftest.SchemaPath(), err)
	}

	// HTML to a file.
	page := filepath.Join(dir, "posture.html")
	if code, _, stderr := run(t, ctx, binary, "scan", "--kubeconfig", kubeconfig, "--config", configPath, "-o", "html", "--output-file", page, "--fail-on", "none"); code != 0 {
		t.Fatalf("-o html: exit %d: %s", code, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(html, []byte("upf-1")) || !bytes.Contains(html, []byte("FGT1609.501")) {
		t.Fatalf("the HTML report lacks the instance or the technique (err %v, %d bytes)", err, len(html))
	}

	// who-can names the subject and the binding.
	code, table, stderr := run(t, ctx, binary, "scan", "rbac", "--who-can", "get", "pods/exec", "-n", vnfNamespace, "--kubeconfig", kubeconfig)
	if code != 0 || !strings.Contains(string(table), "ServiceAccount "+vnfNamespace+"/default") || !strings.Contains(string(table), "RoleBinding "+vnfNamespace+"/default-exec") {
		t.Fatalf("scan rbac --who-can get pods/exec: exit %d\n%s\n%s", code, table, stderr)
	}
}

func seed(t *testing.T, ctx context.Context, cp *lab.ControlPlane, admin *kubernetes.Clientset) {
	t.Helper()
	if err := cp.EnsureNamespace(ctx, vnfNamespace, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
	rbacAPI := admin.RbacV1()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rbacAPI.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{}))
	must(rbacAPI.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "anonymous-secrets"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "secret-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:anonymous"}}}, metav1.CreateOptions{}))
	must(rbacAPI.Roles(vnfNamespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "exec-get"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}))
	must(rbacAPI.RoleBindings(vnfNamespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "default-exec"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "exec-get"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: vnfNamespace}}}, metav1.CreateOptions{}))
	must(rbacAPI.Roles(vnfNamespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-creator"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}}}}, metav1.CreateOptions{}))
	must(rbacAPI.RoleBindings(vnfNamespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "everyone-creates"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-creator"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:authenticated"}}}, metav1.CreateOptions{}))
	// A privileged debug pod in the VNF namespace, with the default service account's token mounted.
	must(admin.CoreV1().Pods(vnfNamespace).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debug"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sh", Image: lab.UPF.Image(),
			SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}}, metav1.CreateOptions{}))
	must(admin.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "node-agent"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 10250, TargetPort: intstr.FromInt32(10250)}}}}, metav1.CreateOptions{}))
}

// build builds the binary from this tree.
func build(t *testing.T) (root, binary string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if root = lab.RepoRoot(wd); root == "" {
		t.Fatalf("%s is not inside the vnfguard repository", wd)
	}
	if err := lab.CheckBinaries(lab.DefaultBinDir(), true); err != nil {
		t.Fatalf("the posture e2e needs the real control plane: %v", err)
	}
	binary = filepath.Join(t.TempDir(), "vnfguard")
	if err := lab.BuildVNFGuard(root, binary); err != nil {
		t.Fatal(err)
	}
	return root, binary
}

func run(t *testing.T, ctx context.Context, binary string, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		return ee.ExitCode(), out, stderr.String()
	}
	return 0, out, stderr.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func describe(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s %s %s [%s]\n", f.Severity, f.Rule, f.Identity, f.Object, f.VNFInstance)
	}
	return b.String()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
