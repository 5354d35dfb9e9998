// Package install renders what installing vnfguard in a cluster takes, starting with its least-privilege RBAC:
// the ServiceAccount `vnfguard serve` runs as, a ClusterRole with the cluster-wide reads it needs (metadata of pods,
// workloads, claims and namespaces; volumes, snapshots and vulnerability reports), a ClusterRole for Secrets and
// ConfigMaps that is bound only in the protected namespaces (RBAC cannot grant metadata-only access, so whoever may
// list Secrets reads them: vnfguard holds that grant nowhere else), and a read-only ClusterRole for `vnfguard scan`.
// `vnfguard rbac` prints it; the lab applies the same objects and runs every end-to-end test under them.
package install
