package posture

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestSharedHostPathTable: the posture scan's host-takeover finding agrees with danger.HostPathCases, the table
// admission and detection run too.
func TestSharedHostPathTable(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range danger.HostPathCases {
		file := filepath.Join(dir, "case-"+strconv.Itoa(i)+".yaml")
		manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: team-a}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: c, image: "registry.example/app@sha256:` + zeros + `"}]
      volumes: [{name: h, hostPath: {path: ` + strconv.Quote(tc.Path) + `}}]
`
		if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := FromFiles([]string{file}, "")
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Scan(context.Background(), in, Options{Config: config.Default()})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, f := range fs {
			got = got || f.Rule == "posture-host-takeover"
		}
		if got != tc.Takeover {
			t.Errorf("posture: hostPath %q host-takeover %v, the shared table says %v", tc.Path, got, tc.Takeover)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// scanObjects writes objs as one manifest file and scans it with cfg and inv.
func scanObjects(t *testing.T, cfg *config.Config, inv *vnf.Snapshot, objs ...runtime.Object) []finding.Finding {
	t.Helper()
	var docs []string
	for _, o := range objs {
		raw, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(raw))
	}
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := FromFiles([]string{file}, "")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Scan(context.Background(), in, Options{Config: cfg, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func hasRule(fs []finding.Finding, match func(string) bool) (bool, string) {
	for _, f := range fs {
		if match(f.Rule) {
			return true, f.Message
		}
	}
	return false, ""
}

// upfWorld is a configuration where product UPF has a profile with the given allowances, and an inventory with
// instance upf-1 of that product in namespace team-a.
func upfWorld(allowCaps []string, allowRoot bool) (*config.Config, *vnf.Snapshot) {
	cfg := config.Default()
	cfg.Profiles = []config.Profile{{Name: "upf", Products: []string{"UPF"}, AllowCapabilities: allowCaps, AllowRunAsRoot: allowRoot}}
	inst := &vnf.Instance{ID: "upf-1", VnfdID: "vnfd-upf", VnfProductName: "UPF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "team-a"}}}
	return cfg, vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})
}

// upfDeployment is a Deployment of instance upf-1 with the given pod spec (images pinned, so that only the
// shape matters).
func upfDeployment(spec corev1.PodSpec) *appsv1.Deployment {
	spec = *spec.DeepCopy()
	for i := range spec.Containers {
		spec.Containers[i].Image = "registry.example/app@sha256:" + zeros
	}
	for i := range spec.InitContainers {
		spec.InitContainers[i].Image = "registry.example/app@sha256:" + zeros
	}
	labels := map[string]string{"app": "upf"}
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "upf", Namespace: "team-a", Labels: map[string]string{"tacker_vnf_instance_id": "upf-1"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
}

// TestSharedCapabilityTable: the posture scan's posture-dangerous-capability finding agrees with
// danger.CapabilityCases, the table admission and detection run too.
func TestSharedCapabilityTable(t *testing.T) {
	for _, tc := range danger.CapabilityCases {
		cfg, inv := upfWorld(tc.Allow, false)
		got, msg := hasRule(scanObjects(t, cfg, inv, upfDeployment(tc.Spec)), func(r string) bool { return r == "posture-dangerous-capability" })
		if got != tc.Dangerous {
			t.Errorf("posture: %s: dangerous-capability %v (%s), the shared table says %v", tc.Name, got, msg, tc.Dangerous)
		}
	}
}

// TestSharedRootUserTable: the posture scan's posture-root-user finding agrees with danger.RootUserCases.
func TestSharedRootUserTable(t *testing.T) {
	for _, tc := range danger.RootUserCases {
		cfg, inv := upfWorld(nil, tc.AllowRoot)
		got, msg := hasRule(scanObjects(t, cfg, inv, upfDeployment(tc.Spec)), func(r string) bool { return r == "posture-root-user" })
		if got != tc.Root {
			t.Errorf("posture: %s: root-user %v (%s), the shared table says %v", tc.Name, got, msg, tc.Root)
		}
	}
}

// TestSharedGrantTable: the posture scan reports a ClusterRole of each dangerous row of danger.GrantCases, bound
// to an ordinary user, with one of its rbac-* grant findings, and none for the harmless rows.
func TestSharedGrantTable(t *testing.T) {
	notGrant := map[string]bool{"rbac-powerful-binding": true, "rbac-dangling-binding": true, "rbac-mounted-token": true}
	for _, tc := range danger.GrantCases {
		role := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: tc.Rules}
		crb := &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}
		got, msg := hasRule(scanObjects(t, config.Default(), nil, role, crb), func(r string) bool { return strings.HasPrefix(r, "rbac-") && !notGrant[r] })
		if got != tc.Dangerous {
			t.Errorf("posture: %s: dangerous grant %v (%s), the shared table says %v", tc.Name, got, msg, tc.Dangerous)
		}
	}
}

// TestSharedBindingTable: the posture scan's rbac-powerful-binding finding agrees with danger.BindingCases
// (namespace 5gc protected, so that RoleBindings there are judged for every subject).
func TestSharedBindingTable(t *testing.T) {
	cfg := config.Default()
	cfg.ProtectedNamespaces.Names = append(cfg.ProtectedNamespaces.Names, "5gc")
	for _, tc := range danger.BindingCases {
		var obj runtime.Object
		if tc.Binding.Namespace == "" {
			obj = &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: tc.Binding.RoleRef, Subjects: tc.Binding.Subjects}
		} else {
			obj = &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: tc.Binding.Namespace}, RoleRef: tc.Binding.RoleRef, Subjects: tc.Binding.Subjects}
		}
		got, msg := hasRule(scanObjects(t, cfg, nil, obj), func(r string) bool { return r == "rbac-powerful-binding" })
		if got != tc.Powerful {
			t.Errorf("posture: %s: powerful binding %v (%s), the shared table says %v", tc.Name, got, msg, tc.Powerful)
		}
	}
}
