// Package lifecycle proves the VNF inventory and reconciliation end to end: a real control plane (internal/lab),
// a VNFM speaking ETSI SOL003 whose every request and response is checked against ETSI's OpenAPI
// (internal/inventory/sol003/vnfmtest), and the vnfguard binary built from this tree — `vnfguard serve` with the
// SOL003 inventory, its LCM-notification subscription and continuous reconciliation, and `vnfguard reconcile
// --once`. It runs on a control plane of its own, so that its webhook and namespaces never meet test/e2e's.
package lifecycle
