// Package policyreport proves `vnfguard scan --policy-reports` against a real control plane (internal/lab, API
// server only) with the report CRDs as published — Kyverno's wgpolicyk8s.io/v1alpha2 ones (from its module) and
// openreports.io/v1alpha1's (from the reports-api module), so that the API server judges every report by the
// real schemas — through a cluster's generations of the report API: none, wgpolicyk8s.io only, both, and
// openreports.io only. The reports hold exactly the scan's findings per namespace in every API served, a rescan
// that finds the same does not rewrite them, a fixed problem leaves its report, Kyverno's reports are never
// touched, an API chosen by name (--policy-report-api) leaves vnfguard's reports in the other, and a cluster
// without the CRDs is told so.
package policyreport
