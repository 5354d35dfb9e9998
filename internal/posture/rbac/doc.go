// Package rbac computes who can do what in a cluster from its RBAC objects, the way the API server's RBAC
// authorizer does, and reports the grants that let a subject instantiate a fake VNF or reach into a running or
// stopped one (M1018, least privilege on the container service).
//
// The input is plain typed objects (Input), so the same code judges a live cluster and exported manifests.
// Analyze resolves aggregated ClusterRoles itself (offline exports may carry them with empty rules; the union with
// whatever the aggregation controller already filled in is taken), resolves each binding's roleRef (a RoleBinding
// to a ClusterRole grants the ClusterRole's rules in the binding's namespace only; a binding to a missing role
// grants nothing), and matches rules with Kubernetes' own helper, validation.Covers of
// k8s.io/component-helpers/auth/rbac/validation: `*` verbs, resources and API groups, `*/subresource`, and
// resourceNames behave exactly as the authorizer's (a live test compares the answers with SubjectAccessReviews).
//
// Analysis.WhoCan answers one question, like kubectl-who-can; Analysis.Findings reports the risky grants, one
// check per file (check_*.go, each with what it flags and what is fine), with the subject as Identity and the
// binding as Object.
//
// Which subjects are reported at which severity (decided here, the issue is silent on the exact scale):
//   - system:anonymous, system:unauthenticated, system:authenticated and system:serviceaccounts (every account of
//     the cluster): critical, in any namespace;
//   - a namespace's default ServiceAccount, and system:serviceaccounts:<ns> (every account of one namespace):
//     at least high, in any namespace — every pod that names no account runs with the default one;
//   - administrators — the system:masters group and Users or Groups bound to cluster-admin by a
//     ClusterRoleBinding —: low while there are at most MaxExpectedAdmins of them, medium beyond (too many
//     administrators is itself the finding);
//   - anyone else: the check's own severity, one step lower when the rule is limited by resourceNames; grants
//     by a RoleBinding in a namespace that is not protected are not reported for them (namespaced rights outside
//     the VNF namespaces are ordinary tenancy); cluster-wide grants always are.
//
// Kubernetes' own component identities are skipped, so that the report is not drowned in the bootstrap policy:
// the Users system:kube-controller-manager, system:kube-scheduler, system:kube-proxy, system:apiserver,
// system:kube-apiserver, system:volume-scheduler and kube-apiserver-kubelet-client, every User
// system:node:<name>, the Group system:nodes, and
// ServiceAccounts of kube-system bound through a role whose name starts with "system:" (the controllers' accounts
// under --use-service-account-credentials, and add-ons' bootstrap roles). A kube-system account bound to any
// other role — cluster-admin included — is reported.
package rbac
