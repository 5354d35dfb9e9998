// Package selfcert is the end-to-end test of vnfguard's self-managed serving certificate on a real API server: two
// `vnfguard serve` replicas started together against an empty namespace, as vnfguard's own ServiceAccount with the
// RBAC it ships, create exactly one CA and one serving certificate, both serve it, the registration they write
// carries the CA Secret's bundle, and when the certificate is renewed and the CA rotated (short lifetimes here) both
// serve the new certificate without a restart while the API server keeps calling them. Needs the control plane
// (hack/build-controlplane.sh); the API server alone, no kubelet.
package selfcert
