package lab

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// CNFPod is a typical pod of the lab's running UPF instance, which every admission engine must let the VNFM create
// in its protected namespace: the instance label, the declared image by digest, two containers with restricted
// security contexts (the UPF's with NET_ADMIN, which its profile allows). The admission benchmarks create it
// (bench/apiserver-latency end to end, internal/apipolicy's BenchmarkAPIServerPolicies in-process); it is the pod
// the baseline latencies were measured with.
func CNFPod(namespace, name string) *corev1.Pod {
	no, yes := false, true
	uid := int64(10001)
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{vnf.DefaultInstanceLabel: UPF.InstanceID, "app": "upf"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "upf", Image: UPF.Image(), Command: []string{"/usr/bin/upf", "--config", "/etc/upf/upf.yaml"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_ADMIN"}}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
			}, {
				Name: "metrics", Image: UPF.Image(), Command: []string{"/usr/bin/upf-exporter"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
}

// CNFPodWithProbes is CNFPod with what more of a production CNF pod the reverse-shell checks read: environment
// variables, an exec liveness probe and an HTTP readiness probe.
func CNFPodWithProbes(namespace, name string) *corev1.Pod {
	p := CNFPod(namespace, name)
	upf, metrics := &p.Spec.Containers[0], &p.Spec.Containers[1]
	upf.Env = []corev1.EnvVar{{Name: "UPF_N3_IFACE", Value: "n3"}, {Name: "UPF_N6_IFACE", Value: "n6"},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	upf.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/usr/bin/upf", "--health"}}}}
	metrics.Env = []corev1.EnvVar{{Name: "EXPORTER_PORT", Value: "9100"}}
	metrics.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/metrics", Port: intstr.FromInt32(9100)}}}
	return p
}
