// Package posture proves `vnfguard scan` against a real control plane (internal/lab, API server only) seeded with
// risky RBAC, an exposed kubelet port, a privileged pod mounting a powerful token and a VNF namespace without a
// default-deny policy: the live scan finds each, its SARIF validates against the official SARIF 2.1.0 schema, its
// HTML report is written, `scan rbac --who-can` names the subjects and bindings, and `--probe` reports the API
// server answering without credentials. The binary is built from this tree.
package posture
