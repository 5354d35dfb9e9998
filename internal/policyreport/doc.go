// Package policyreport publishes vnfguard's posture and reconciliation results as PolicyReport (per namespace) and
// ClusterPolicyReport (cluster-scoped objects) objects of the wgpolicyk8s.io/v1alpha2 API — the API Kyverno, Trivy
// Operator and kube-bench adapters write and Policy Reporter reads — so that the UIs built on it show vnfguard's
// results beside theirs.
//
// Each source (posture, reconcile) owns one report per namespace, named vnfguard-SOURCE and labelled
// app.kubernetes.io/managed-by=vnfguard and vnfguard.io/report-source=SOURCE. Sync makes the cluster hold exactly
// the reports of the source's current results: it applies (server-side) the ones that changed, and deletes the
// source's reports of namespaces left without results. Reports it did not make are never touched.
package policyreport
