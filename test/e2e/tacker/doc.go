// Package tacker is the end-to-end test of vnfguard against the real VNFM: OpenStack Tacker 11.0.0 from source
// (hack/tacker-tree.sh, third_party/tacker) drives a CNF's whole lifecycle in the lab's cluster through its
// Kubernetes VIM as the least-privileged tacker-vnfm identity, while vnfguard reads the inventory from Tacker's
// SOL003 API and notifications; then the scenario's attacks run against the VNFs Tacker made.
package tacker
