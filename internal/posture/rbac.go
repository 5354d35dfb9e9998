package posture

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/posture/rbac"
)

// rbacAnalysis analyses the inputs' RBAC objects with the protected namespaces of the configuration.
func (s *scope) rbacAnalysis() *rbac.Analysis {
	objects := make([]runtime.Object, 0, len(s.in.Objects))
	for _, o := range s.in.Objects {
		objects = append(objects, o.Object)
	}
	in := rbac.FromObjects(objects, s.protected)
	in.Namespaces = append(in.Namespaces, s.namespace...)
	return rbac.Analyze(in)
}

// checkRBAC reports the risky grants (package rbac), naming the VNF instances of the protected namespaces a grant
// reaches: that is who could instantiate a fake VNF there or open a shell in one.
func (s *scope) checkRBAC() []finding.Finding {
	out := s.rbacAnalysis().Findings(s.now)
	byNamespace := map[string][]string{}
	for _, inst := range s.snap.Instances() {
		if inst.Namespace != "" {
			byNamespace[inst.Namespace] = append(byNamespace[inst.Namespace], inst.ID)
		}
	}
	for i := range out {
		f := &out[i]
		var reach []string
		if ns := f.Object.Namespace; ns != "" {
			reach = byNamespace[ns]
		} else if f.Object.Kind == "ClusterRoleBinding" {
			for _, ns := range s.protectedNamespaces() {
				reach = append(reach, byNamespace[ns]...)
			}
		}
		if len(reach) == 0 {
			continue
		}
		slices.Sort(reach)
		if f.Evidence == nil {
			f.Evidence = map[string]string{}
		}
		f.Evidence["vnfInstances"] = strings.Join(reach, ",")
		if len(reach) == 1 {
			f.VNFInstance = reach[0]
			if inst, ok := s.snap.Instance(reach[0]); ok {
				f.VNFProduct = inst.VnfProductName
			}
			f.ID = rbac.FindingID(*f)
		}
	}
	return out
}
