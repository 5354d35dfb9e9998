// Package report renders the findings of one vnfguard run — a posture scan of a cluster or of exported manifests
// — for people and for tools: a kubectl-style table, JSON for scripts, SARIF 2.1.0 for code-scanning dashboards
// and a self-contained HTML page that summarises the run per MITRE FiGHT technique and mitigation and then groups
// the findings by VNF instance.
//
// Every format sorts the findings the same way (severity, most urgent first, then technique, rule and object), so
// the same scan renders the same bytes. Findings are input, not trusted text: the HTML page escapes everything
// through html/template and forbids scripts and remote fetches with a Content-Security-Policy, the table strips
// control characters so a crafted message cannot forge columns or lines, and the JSON encoders replace invalid
// UTF-8, so JSON and SARIF output is always valid JSON.
package report
