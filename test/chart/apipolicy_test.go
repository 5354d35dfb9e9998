package chart

import (
	"os"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/manifest"
)

// The chart installs what config.admission.mode needs: in policies mode the admission-policies role (the rules of
// internal/install) and no webhook registration; in webhook mode (the default) no such role; in every mode the CRD
// of the lifecycle parameters, which is internal/apipolicy's.
func TestAdmissionModes(t *testing.T) {
	crd, err := os.ReadFile(chartDir + "/crds/vnflifecycles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(crd) != string(apipolicy.CRD) {
		t.Error("deploy/helm/vnfguard/crds/vnflifecycles.yaml differs from internal/apipolicy/crd.yaml: cp internal/apipolicy/crd.yaml deploy/helm/vnfguard/crds/vnflifecycles.yaml")
	}
	h := helm(t)
	role := func(objs []manifest.Object) *rbacv1.ClusterRole {
		return find[*rbacv1.ClusterRole](objs, "ClusterRole", "vnfguard-admission-policies")
	}
	webhookFlags := func(d *appsv1.Deployment) []string {
		var out []string
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--webhook-") {
				out = append(out, a)
			}
		}
		return out
	}
	def := render(t, h)
	if role(def) != nil {
		t.Error("webhook mode (the default) grants the admission-policies role")
	}
	if d := find[*appsv1.Deployment](def, "Deployment", "vnfguard"); len(webhookFlags(d)) == 0 {
		t.Error("webhook mode: serve is not told of its webhook registration")
	}
	for _, mode := range []string{"policies", "both"} {
		objs := render(t, h, "--set", "config.admission.mode="+mode)
		r := role(objs)
		if r == nil {
			t.Fatalf("mode %s: no ClusterRole vnfguard-admission-policies", mode)
		}
		if want := install.Rules()[install.AdmissionPoliciesRole]; !reflect.DeepEqual(r.Rules, want) {
			t.Errorf("mode %s: admission-policies rules %v, want internal/install's %v", mode, r.Rules, want)
		}
		if find[*rbacv1.ClusterRoleBinding](objs, "ClusterRoleBinding", "vnfguard-admission-policies") == nil {
			t.Errorf("mode %s: the admission-policies role is not bound", mode)
		}
		flags := webhookFlags(find[*appsv1.Deployment](objs, "Deployment", "vnfguard"))
		if registers := len(flags) > 0; registers != (mode == "both") {
			t.Errorf("mode %s: webhook registration flags %v", mode, flags)
		}
	}
}
