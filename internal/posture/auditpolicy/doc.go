// Package auditpolicy holds vnfguard's recommended kube-apiserver audit policy (recommended.yaml, the one source
// of the copies in deploy/ and the Helm chart, and the policy the lab's control plane runs with) and judges any
// audit policy against what the detection rules need of it.
//
// The needs table (needs.go) states, for every built-in rule, which requests it must see at which audit level and
// stage. Judge probes each of those requests through kube-apiserver's own policy evaluator
// (k8s.io/apiserver/pkg/audit/policy) and reports audit-policy-starves-rule for every rule the policy starves,
// naming what it needs, what the policy gives, and the policy rule and line that gives it. Parse reads a policy
// exactly as kube-apiserver's --audit-policy-file does, with errors that name the file and line.
package auditpolicy
