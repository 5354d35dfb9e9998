package posture

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposed-service (M1030, M1035) flags Services reachable from outside the cluster — type NodePort or
LoadBalancer, or with externalIPs — that expose a management port or a dashboard: the Kubernetes API (6443, 8443,
8080), the kubelet (10250, 10255), etcd (2379, 2380), the Docker Engine API (2375, 2376), SSH and telnet (22, 23),
and web consoles (the Kubernetes dashboard, Grafana 3000, Kibana 5601, Prometheus 9090, Jupyter 8888, Weave Scope
4040). FiGHT's mitigation is a gateway, never direct remote access to management. Critical for the container
APIs (a Docker or kubelet API reachable from outside runs any container), high for the rest.

Allowed: ClusterIP and headless Services; external Services whose ports are none of these (the VNF's own
traffic: N2, N3, SBI…).
*/
const ruleExposedService = "exposed-service"

// managementPorts are the ports that give control of a node, a container runtime or the cluster.
var managementPorts = map[int32]string{
	22: "SSH", 23: "telnet", 2375: "Docker Engine API (no TLS)", 2376: "Docker Engine API", 2379: "etcd client",
	2380: "etcd peer", 6443: "Kubernetes API", 8080: "Kubernetes API (insecure port) or web console",
	8443: "Kubernetes API or dashboard", 10250: "kubelet API", 10255: "kubelet read-only API",
	3000: "Grafana", 5601: "Kibana", 9090: "Prometheus", 8888: "Jupyter", 4040: "Weave Scope",
}

// containerAPIs are the management ports that run containers on request.
var containerAPIs = map[int32]bool{2375: true, 2376: true, 10250: true, 2379: true}

var dashboardWords = []string{"dashboard", "grafana", "kibana", "jupyter", "weave-scope", "console"}

func (s *scope) checkExposedServices() []finding.Finding {
	var out []finding.Finding
	for _, svc := range of[*corev1.Service](s.in) {
		external := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer || len(svc.Spec.ExternalIPs) > 0
		if !external {
			continue
		}
		var what []string
		sev := finding.High
		for _, p := range svc.Spec.Ports {
			port := p.Port
			if p.TargetPort.IntValue() != 0 {
				if _, known := managementPorts[port]; !known {
					port = int32(p.TargetPort.IntValue())
				}
			}
			if name, ok := managementPorts[port]; ok {
				what = append(what, fmt.Sprintf("%s on port %d", name, port))
				if containerAPIs[port] {
					sev = finding.Critical
				}
			}
		}
		lower := strings.ToLower(svc.Name)
		for _, w := range dashboardWords {
			if strings.Contains(lower, w) {
				what = append(what, "a "+w+" by its name")
				break
			}
		}
		if len(what) == 0 {
			continue
		}
		sort.Strings(what)
		how := string(svc.Spec.Type)
		if len(svc.Spec.ExternalIPs) > 0 {
			how += " with externalIPs " + strings.Join(svc.Spec.ExternalIPs, ",")
		}
		ports := make([]string, 0, len(svc.Spec.Ports))
		for _, p := range svc.Spec.Ports {
			ports = append(ports, strconv.Itoa(int(p.Port)))
		}
		msg := fmt.Sprintf("Service %s/%s (%s) exposes %s outside the cluster: put management behind a gateway", svc.Namespace, svc.Name, how, strings.Join(what, ", "))
		out = append(out, s.finding(ruleExposedService, finding.MaliciousVNFInstantiation,
			[]string{finding.MitigationNetworkSegmentation, finding.MitigationLimitNetworkAccess}, sev, svc, msg,
			map[string]string{"type": string(svc.Spec.Type), "ports": strings.Join(ports, ","), "exposes": strings.Join(what, "; ")}))
	}
	return out
}
