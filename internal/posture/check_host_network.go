package posture

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check host-network (M1030) flags workloads whose pods share the node's network namespace (hostNetwork: true):
they bypass NetworkPolicies and reach the node's own services (kubelet, runtime APIs, the management network).
High in protected namespaces, where a VNF profile must allow it (allowHostNetwork) and the finding then names the
profile at low severity; medium elsewhere. Judged once per top-level object, as in check workloads.

Allowed: kube-system (CNI and node agents need it).
*/
const ruleHostNetwork = "host-network"

func (s *scope) checkHostNetwork() []finding.Finding {
	var out []finding.Finding
	for _, o := range s.in.Objects {
		spec := podSpecOf(o.Object)
		m, ok := o.Object.(metav1.Object)
		if spec == nil || !ok || !spec.HostNetwork || m.GetNamespace() == "kube-system" || s.controllerPresent(m) {
			continue
		}
		sev := finding.Medium
		ev := map[string]string{}
		if s.protected(m.GetNamespace()) {
			sev = finding.High
		}
		f := s.finding(ruleHostNetwork, finding.MaliciousVNFInstantiation, []string{finding.MitigationNetworkSegmentation}, sev, o.Object,
			fmt.Sprintf("%s %s/%s runs in the node's network namespace (hostNetwork): NetworkPolicies do not apply and the node's services are in reach", o.GVK.Kind, m.GetNamespace(), m.GetName()), ev)
		if f.VNFProduct != "" {
			if p := s.cfg.ProfileFor(f.VNFProduct); p != nil && p.AllowHostNetwork {
				f.Severity = finding.Low
				f.Evidence["profile"] = p.Name
				f.Message += " (allowed by profile " + p.Name + ")"
			}
		}
		out = append(out, f)
	}
	return out
}

// podSpecOf returns the pod spec of a pod or of a workload's template.
func podSpecOf(obj runtime.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.Spec
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil
		}
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}
