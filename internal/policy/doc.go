// Package policy is vnfguard's admission policy: a Request (a decoded admission request) goes in, a Decision comes
// out. Each check lives in its own file (check_*.go) with a doc comment saying what it restricts and what it
// allows, the way Kubernetes' Pod Security Admission lays out its checks; the Evaluator runs them with the VNF
// lifecycle in view — which instance an object belongs to, what state the NFVO says it is in, which images its
// package declared — and applies each check's mode (enforce, warn, audit).
//
// The webhook server (package admission) and `vnfguard policy test` both call Evaluator.Evaluate: one code path.
package policy
