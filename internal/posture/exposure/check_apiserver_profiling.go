package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-profiling (M1035) flags a kube-apiserver serving /debug/pprof: --profiling=true, or
unset (its default is true). Profiles reveal the API server's internals and a CPU profile ties it up; only
identities allowed the non-resource URL get them, so low (FGT1609.501).

Fine: --profiling=false.
*/
const ruleAPIServerProfiling = "exposure-apiserver-profiling"

func checkAPIServerProfiling(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	on, set, _ := s.Flags.Bool("profiling", true)
	if !on {
		return nil
	}
	f, _ := s.Flags.Get("profiling")
	msg := "kube-apiserver serves profiling data on /debug/pprof (--profiling=true)"
	if !set {
		msg = "kube-apiserver serves profiling data on /debug/pprof: --profiling is unset and defaults to true"
	}
	return []finding.Finding{newFinding(s, ruleAPIServerProfiling, finding.AccessingTerminatedVNF, mitNetwork, finding.Low, msg, flagEvidence("profiling", f, set, "true"))}
}
