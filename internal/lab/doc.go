// Package lab is vnfguard's laboratory: a local control plane and the attack and benign scenarios that the
// end-to-end tests, the demo (`vnfguard-lab demo`, cmd/vnfguard-lab) and the API-server benchmark run against it.
//
// The control plane is real: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from the Go
// module proxy by hack/build-controlplane.sh, and kwok simulating a node so that pods are scheduled and reach
// Running without a kubelet. Everything listens on loopback on ports picked at run time. The API server
// authenticates a fixed set of token identities (see the Identity constants) and authorizes with RBAC; every
// human identity gets cluster-admin rights, so that every denial a scenario sees comes from vnfguard, not RBAC.
//
// vnfguard itself runs as a separate process (the real binary, `vnfguard serve`), registered as a validating
// admission webhook from the output of `vnfguard webhook-config`. The lab plays the NFVO by rewriting the
// inventory file and waiting until vnfguard's /readyz reports the new version.
//
// Scenarios are data (Scenario, Step): each step names the identity, the request in words, the action (client-go
// calls) and the verdict it must get. RunScenario runs them in order and RenderTable prints the results.
package lab
