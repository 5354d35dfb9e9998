// Package ha is the end-to-end test of vnfguard's high availability on a real API server: several `vnfguard serve`
// replicas as vnfguard's own ServiceAccount, one Lease, exactly one replica running the singletons, findings
// reported once through a shared PostgreSQL store, failover after a graceful stop and after SIGKILL, and admission
// answered by every replica throughout. Needs the control plane (hack/build-controlplane.sh) and PostgreSQL
// (eval "$(bash hack/postgres.sh | tail -n1)").
package ha
