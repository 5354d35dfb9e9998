// Package console proves vnfguard's findings console in a real browser: vnfguard serve runs against a real
// control plane (internal/lab: API server, audit webhook to vnfguard, an inventory that changes) with a findings
// store, an attacker leaves real admission and audit findings (and variants of them fill a few pages), and headless
// Chromium signs in with a ServiceAccount token, reads the overview (chart, table, totals), filters, sorts, pages,
// and opens a finding's page and a VNF instance's page. Tokens without the RBAC grant, and no token, are refused.
// With VNFGUARD_SCREENSHOTS=DIR the test writes the three pages' screenshots there (docs/console holds them).
package console
