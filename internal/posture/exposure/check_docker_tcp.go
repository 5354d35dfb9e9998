package exposure

import (
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-docker-tcp (M1035) flags a Docker daemon listening on TCP (daemon.json "hosts" or dockerd -H /
--host with tcp://) without client certificate verification (tlsverify). The Docker Engine API is root on the
node: anyone who reaches it starts a privileged container — a fake VNF — or reads any container's files.
Critical without TLS at all; critical too with "tls" but no "tlsverify" (encrypted, still anonymous); high on a
loopback address (any process on the node).

Fine: unix:// and fd:// sockets; tcp:// with tlsverify true (and its CA).
*/
const ruleDockerTCP = "exposure-docker-tcp"

func checkDockerTCP(s *Source) []finding.Finding {
	if s.Component != Dockerd {
		return nil
	}
	verify, _, _ := s.Flags.Bool("tlsverify", false)
	if verify {
		return nil
	}
	tls, _, _ := s.Flags.Bool("tls", false)
	var out []finding.Finding
	for _, h := range s.Flags {
		if h.Name != "host" || !strings.HasPrefix(strings.ToLower(h.Value), "tcp://") {
			continue
		}
		ev := map[string]string{"flag": "--host", "value": h.Value, "tlsverify": "false"}
		if s.Format == FormatDaemonJSON {
			ev = map[string]string{"field": "hosts", "value": h.Value, "tlsverify": "false"}
		}
		if h.Line > 0 {
			ev["line"] = itoa(h.Line)
		}
		addr := strings.TrimPrefix(strings.ToLower(h.Value), "tcp://")
		host := addr
		if i := strings.LastIndex(addr, ":"); i >= 0 {
			host = addr[:i]
		}
		host = strings.Trim(host, "[]")
		sev := finding.Critical
		msg := "Docker Engine API listens on " + h.Value + " without TLS: anyone who reaches it is root on the node and can start a fake VNF"
		if tls {
			msg = "Docker Engine API listens on " + h.Value + " with TLS but without tlsverify: any client is accepted, root on the node"
		}
		if isLoopbackHost(host) {
			sev = finding.High
			msg += " (loopback only: any process on the node)"
		}
		f := newFinding(s, ruleDockerTCP, finding.MaliciousVNFInstantiation, mitNetwork, sev, msg, ev)
		f.ID = finding.Key(ruleDockerTCP, finding.ObjectRef{Kind: "Component", Name: Dockerd, Subresource: s.File + "#" + h.Value}, "")
		out = append(out, f)
	}
	return out
}
