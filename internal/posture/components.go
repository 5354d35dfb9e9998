package posture

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/posture/exposure"
)

// checkComponents runs the exposure checks over the configuration files given and, for the inputs' control-plane
// static pods (kube-apiserver, etcd in kube-system, as a live cluster shows them), over their command lines: the
// flags are the same whether read from /etc/kubernetes/manifests or from the mirror pod.
func (s *scope) checkComponents(files *exposure.Config) []finding.Finding {
	cfg := &exposure.Config{}
	if files != nil {
		cfg.Sources = append(cfg.Sources, files.Sources...)
	}
	for _, pod := range of[*corev1.Pod](s.in) {
		if pod.Namespace != "kube-system" || !controlPlanePod(pod) {
			continue
		}
		data, err := yaml.Marshal(pod)
		if err != nil {
			continue
		}
		src, _, err := exposure.Parse("pod kube-system/"+pod.Name, data)
		if err != nil || src == nil {
			s.logger.Debug("posture: control-plane pod not read as a component configuration", "pod", pod.Name, "error", err)
			continue
		}
		cfg.Sources = append(cfg.Sources, src)
	}
	return exposure.Check(cfg, s.now)
}

// controlPlanePod reports whether a kube-system pod runs kube-apiserver or etcd (kubeadm's static pods carry a
// component label; their names start with the component's).
func controlPlanePod(pod *corev1.Pod) bool {
	for _, c := range []string{"kube-apiserver", "etcd"} {
		if pod.Labels["component"] == c || strings.HasPrefix(pod.Name, c+"-") {
			return true
		}
	}
	return false
}
