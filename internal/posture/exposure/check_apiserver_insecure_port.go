package exposure

import (
	"fmt"
	"net"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-insecure-port (M1035) flags a kube-apiserver with an insecure HTTP port
(--insecure-port other than 0, Kubernetes before 1.20; the flag was removed in 1.24): requests on it skip
authentication and authorization altogether. Critical when --insecure-bind-address is not a loopback address
(anyone on the network is cluster-admin), high on loopback (anything on the node is).

Fine: --insecure-port=0, or no --insecure-port (its default on 1.20+, and the only choice since 1.24). An
--insecure-bind-address without a port is reported at info level: a leftover that does nothing.
*/
const ruleAPIServerInsecurePort = "exposure-apiserver-insecure-port"

func checkAPIServerInsecurePort(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	port, portSet := s.Flags.Get("insecure-port")
	bind, bindSet := s.Flags.Get("insecure-bind-address")
	if !portSet || port.Value == "0" {
		if bindSet {
			ev := flagEvidence("insecure-bind-address", bind, true, "")
			return []finding.Finding{newFinding(s, ruleAPIServerInsecurePort, finding.MaliciousVNFInstantiation, mitNetwork, finding.Info,
				"kube-apiserver sets --insecure-bind-address but no insecure port: a leftover of an old set-up, remove it", ev)}
		}
		return nil
	}
	ev := flagEvidence("insecure-port", port, true, "")
	if _, err := strconv.ParseUint(port.Value, 10, 16); err != nil {
		return []finding.Finding{newFinding(s, ruleAPIServerInsecurePort, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
			fmt.Sprintf("kube-apiserver --insecure-port=%q is not a port number", port.Value), ev)}
	}
	addr := "127.0.0.1" // the flag's default
	if bindSet {
		addr = bind.Value
		ev["insecure-bind-address"] = bind.Value
	}
	if isLoopbackHost(addr) {
		return []finding.Finding{newFinding(s, ruleAPIServerInsecurePort, finding.MaliciousVNFInstantiation, mitNetwork, finding.High,
			fmt.Sprintf("kube-apiserver serves plain HTTP without authentication or authorization on %s:%s: every process on the node is cluster-admin", addr, port.Value), ev)}
	}
	return []finding.Finding{newFinding(s, ruleAPIServerInsecurePort, finding.MaliciousVNFInstantiation, mitNetwork, finding.Critical,
		fmt.Sprintf("kube-apiserver serves plain HTTP without authentication or authorization on %s:%s: anyone on the network can create a fake VNF", addr, port.Value), ev)}
}

// isLoopbackHost says whether a host (an IP or "localhost") only listens on the loopback interface. An empty
// host or 0.0.0.0 listens everywhere.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
