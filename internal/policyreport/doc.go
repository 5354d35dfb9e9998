// Package policyreport publishes vnfguard's posture and reconciliation results as policy reports — per namespace
// and one cluster-scoped report for cluster-scoped objects — in the report APIs the UIs built on them read:
// wgpolicyk8s.io/v1alpha2 PolicyReport and ClusterPolicyReport (written by Kyverno, Trivy Operator and kube-bench
// adapters, read by every Policy Reporter) and openreports.io/v1alpha1 Report and ClusterReport (their successor:
// Kyverno >= 1.15 with --openreportsEnabled, Policy Reporter 3). The results are built from openreports.io's Go
// types, whose schema wgpolicyk8s.io's results share, and written in whichever APIs the cluster serves (discovery,
// at every Publish) or the ones chosen.
//
// Each source (posture, reconcile) owns one report per namespace and API, named vnfguard-SOURCE and labelled
// app.kubernetes.io/managed-by=vnfguard and vnfguard.io/report-source=SOURCE. Sync makes an API hold exactly the
// reports of the source's current results: it applies (server-side) the ones that changed, and deletes the
// source's reports of namespaces left without results. Reports it did not make are never touched.
package policyreport
