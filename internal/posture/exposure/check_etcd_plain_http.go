package exposure

import (
	"net"
	"net/url"
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-etcd-plain-http (M1035) flags an etcd listening for clients on plain http:// on an address that
is not loopback (--listen-client-urls): no TLS means no client certificates, so whoever reaches that address reads
every Secret and writes any Pod. Critical.

Fine: https:// client URLs; http://127.0.0.1 (the kubeadm layout keeps a loopback listener for the local API
server). Unset --listen-client-urls defaults to http://localhost:2379, which is fine too.
*/
const ruleEtcdPlainHTTP = "exposure-etcd-plain-http"

func checkEtcdPlainHTTP(s *Source) []finding.Finding {
	if s.Component != Etcd {
		return nil
	}
	urls, lines, _ := s.Flags.List("listen-client-urls")
	var out []finding.Finding
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || isLoopbackHost(u.Hostname()) {
			continue
		}
		ev := map[string]string{"flag": "--listen-client-urls", "value": raw}
		if lines[i] > 0 {
			ev["line"] = itoa(lines[i])
		}
		f := newFinding(s, ruleEtcdPlainHTTP, finding.MaliciousVNFInstantiation, mitNetwork, finding.Critical,
			"etcd serves clients over plain HTTP on "+raw+": no TLS, no client certificates, the cluster's state is open to the network", ev)
		f.ID = finding.Key(ruleEtcdPlainHTTP, finding.ObjectRef{Kind: "Component", Name: Etcd, Subresource: s.File + "#" + raw}, "")
		out = append(out, f)
	}
	return out
}

// nonLoopbackURL returns the first URL of a URL-list flag whose host is not loopback ("" when none).
func nonLoopbackURL(flags Flags, name string) string {
	urls, _, _ := flags.List(name)
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && !ip.IsLoopback()) || (ip == nil && !strings.EqualFold(host, "localhost")) {
			return raw
		}
	}
	return ""
}
