// Package policyreport proves `vnfguard scan --policy-reports` against a real control plane (internal/lab, API
// server only) with the wgpolicyk8s.io/v1alpha2 CRDs Policy Reporter reads: the reports hold exactly the scan's
// findings per namespace, a rescan that finds the same does not rewrite them, a namespace made clean loses its
// report, another tool's report is never touched, and a cluster without the CRDs is told so without failing.
package policyreport
