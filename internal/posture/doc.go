// Package posture answers "is the platform in a state an attacker can use?" for the VNFs it runs: who could
// instantiate a fake VNF or open a shell in a stopped one (rbac), which API is open without authentication
// (exposure), which existing workload breaks the admission policy (workloads: the very checks of package policy,
// one code path), and which VNF is reachable from outside (network). Every answer is a finding.Finding with Source
// "posture", a FiGHT technique, the mitigation that applies (M1018, M1035, M1026, M1038, M1030), and — when the
// object belongs to one — the VNF instance.
//
// The same scan runs over a live cluster (FromCluster) and over exported manifests (FromFiles); package report
// renders the findings.
package posture
