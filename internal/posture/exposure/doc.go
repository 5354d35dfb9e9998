// Package exposure answers "which control-plane API is open?" (MITRE M1035, Limit Access to Resource Over
// Network): an API server, kubelet, etcd or Docker Engine that answers without authentication lets anyone deploy a
// fake VNF (FGT5013) or read a VNF's data (FGT1609.501).
//
// Two ways in:
//   - offline, Load reads the files an operator exports (kube-apiserver and etcd static pod manifests, a
//     KubeletConfiguration, /etc/docker/daemon.json, an etcd configuration file, or a plain file of command-line
//     flags) and Check judges them, one check per check_*.go file;
//   - active and opt-in, Probe asks the addresses the user names, without credentials, what answers there and
//     whether it serves anonymous requests. It never chooses a target itself.
//
// Every answer is a finding.Finding with Source "posture", Object {Kind "Component", Name <component>} and the
// evidence (file, line, flag or field, value; or target, status, server header, version).
package exposure
