package install

import (
	"bytes"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
)

// The names of the RBAC objects vnfguard ships.
const (
	// ServeRole is the ClusterRole (and ClusterRoleBinding) of `vnfguard serve`: cluster-wide reads, no Secrets.
	ServeRole = "vnfguard"
	// NamespaceDataRole is the ClusterRole for Secrets and ConfigMaps, bound by a RoleBinding of the same name in
	// each protected namespace and nowhere else.
	NamespaceDataRole = "vnfguard-namespace-data"
	// RegistrationRole lets vnfguard re-apply its own webhook configurations (registration.reapply).
	RegistrationRole = "vnfguard-registration"
	// ScannerRole is the read-only ClusterRole of `vnfguard scan` against a live cluster; bind it to whoever runs
	// the scans.
	ScannerRole = "vnfguard-scanner"
	// LeaderElectionRole is the Role (and RoleBinding), in vnfguard's own namespace, that lets its replicas elect
	// the one that runs the singletons on Lease LeaseName.
	LeaderElectionRole = "vnfguard-leader-election"
	// LeaseName is the coordination.k8s.io Lease the replicas of `vnfguard serve` hold in turn.
	LeaseName = "vnfguard-singletons"
	// CertificatesRole is the Role (and RoleBinding), in vnfguard's own namespace, that lets `serve --tls-secret`
	// keep its serving certificate and CA in the Secrets TLSSecret and CASecret (internal/selfcert).
	CertificatesRole = "vnfguard-certificates"
	// UninstallRole is the Role (and RoleBinding), in vnfguard's own namespace, that lets `vnfguard unregister
	// --scale-down` (the chart's pre-delete hook) scale vnfguard's own Deployment to zero before it deletes the
	// registration, so that no replica's registration watchdog puts the registration back afterwards.
	UninstallRole = "vnfguard-uninstall"
	// AdmissionPoliciesRole is the ClusterRole (and ClusterRoleBinding) that lets `serve` with admission.mode policies
	// or both keep the API server's own policies (internal/apipolicy) and write the VNF lifecycle parameters they
	// read.
	AdmissionPoliciesRole = "vnfguard-admission-policies"
	// TLSSecret and CASecret are the default names of those Secrets (the chart's, with fullname vnfguard).
	TLSSecret = "vnfguard-webhook-tls"
	CASecret  = "vnfguard-webhook-ca"
)

// Options says whom the RBAC is for.
type Options struct {
	// Namespace and ServiceAccount identify `vnfguard serve` (default vnfguard/vnfguard).
	Namespace, ServiceAccount string
	// DataNamespaces are the protected namespaces: each gets a RoleBinding to NamespaceDataRole.
	DataNamespaces []string
	// WebhookConfigurations are the names of vnfguard's ValidatingWebhookConfigurations. With Reapply, vnfguard may
	// update those (and create them again when they were deleted).
	WebhookConfigurations []string
	Reapply               bool
	// Workload is vnfguard's Deployment in Namespace (default vnfguard), which UninstallRole may scale.
	Workload string
	// AdmissionPolicies grants AdmissionPoliciesRole (admission.mode policies or both).
	AdmissionPolicies bool
	// CertificateSecrets are the Secrets of `serve --tls-secret/--tls-ca-secret` in Namespace (default TLSSecret
	// and CASecret).
	CertificateSecrets []string
}

func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = "vnfguard"
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = "vnfguard"
	}
	if o.Workload == "" {
		o.Workload = "vnfguard"
	}
	if len(o.CertificateSecrets) == 0 {
		o.CertificateSecrets = []string{TLSSecret, CASecret}
	}
	return o
}

var readOnly = []string{"get", "list", "watch"}

// serveRules are what `vnfguard serve` reads cluster-wide, each for a reason:
var serveRules = []rbacv1.PolicyRule{
	// The cluster view and reconciliation: owners up a pod's chain, the pods CONNECT requests reach, the claims a
	// pod mounts, rogue and zombie workloads, exposed Services; namespaces for their protection labels. Read as
	// metadata (the cluster view) or whole (reconciliation), never written.
	{APIGroups: []string{""}, Resources: []string{"pods", "persistentvolumeclaims", "services", "namespaces", "replicationcontrollers"}, Verbs: readOnly},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Verbs: readOnly},
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: readOnly},
	// Volumes retained after a VNF's termination, and snapshots of its claims (FGT1609.501's data). patch: the
	// instance label reconciliation puts on a volume bound to an instance's claim (reconcile.labelVolumes), so that
	// the volume stays the instance's once the claim is gone; admission refuses everyone, vnfguard included, a
	// claimRef edit of such a volume.
	{APIGroups: []string{""}, Resources: []string{"persistentvolumes"}, Verbs: []string{"get", "list", "watch", "patch"}},
	{APIGroups: []string{"snapshot.storage.k8s.io"}, Resources: []string{"volumesnapshots"}, Verbs: readOnly},
	// The vulnerability gate's trivy-operator reports (images.vulnerabilities.operatorReports).
	{APIGroups: []string{"aquasecurity.github.io"}, Resources: []string{"vulnerabilityreports"}, Verbs: readOnly},
	// Its own registration, to see it drift or disappear.
	{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, Verbs: readOnly},
	// The node agents' tokens (serve --runtime): /runtime asks the API server who presented each one, and which
	// node it is bound to. A TokenReview reads and changes nothing; it says whether a token is valid.
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	// The findings console (/console) lets in whom the cluster's RBAC lets get findings.vnfguard.io: a
	// SubjectAccessReview per reader (cached a minute), which reads and changes nothing.
	{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	// Reconciliation results published as wgpolicyk8s.io PolicyReports and openreports.io Reports for Policy
	// Reporter (serve --policy-reports, in the APIs of --policy-report-api): vnfguard writes and garbage-collects
	// only the reports it labelled as its own.
	{APIGroups: []string{"wgpolicyk8s.io"}, Resources: []string{"policyreports", "clusterpolicyreports"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"openreports.io"}, Resources: []string{"reports", "clusterreports"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
}

// namespaceDataRules are granted only inside protected namespaces: reading a Secret's metadata needs the same
// grant as reading its data.
var namespaceDataRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: readOnly},
}

// scannerRules are what `vnfguard scan` lists from a live cluster: workloads, services, network policies and
// RBAC. No Secrets, no ConfigMaps.
var scannerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"namespaces", "pods", "services", "serviceaccounts", "replicationcontrollers"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"}, Verbs: []string{"get", "list"}},
}

// registrationRules let vnfguard manage its own registration: update and delete only its own configurations, by
// name (delete is `vnfguard unregister`, which the Helm chart runs before uninstalling, so that a fail-closed webhook
// never outlives its server). create cannot be limited by name in RBAC: it is what putting back a deleted
// registration takes.
func registrationRules(names []string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, ResourceNames: names, Verbs: []string{"update", "patch", "delete"}},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, Verbs: []string{"create"}},
	}
}

// Rules are the rules of the ClusterRoles, by role, for manifests rendered elsewhere (the Helm chart reads them
// from its files/rules.yaml, which a test keeps equal to these); Registration is a template whose resourceNames the
// chart fills in.
func Rules() map[string][]rbacv1.PolicyRule {
	return map[string][]rbacv1.PolicyRule{
		ServeRole:             serveRules,
		NamespaceDataRole:     namespaceDataRules,
		ScannerRole:           scannerRules,
		RegistrationRole:      registrationRules(nil),
		LeaderElectionRole:    leaderElectionRules,
		AdmissionPoliciesRole: admissionPolicyRules(),
		// The chart sets the names to its own Secrets' (the defaults with fullname vnfguard).
		CertificatesRole: certificateRules([]string{CASecret, TLSSecret}),
		// The chart sets the name to its own Deployment's.
		UninstallRole: uninstallRules("vnfguard"),
	}
}

// ReleaseRules are Rules with the names the Helm chart fills in for a release whose full name is fullname: its
// webhook configuration, its certificate Secrets and its Deployment.
func ReleaseRules(fullname string) map[string][]rbacv1.PolicyRule {
	rules := Rules()
	rules[RegistrationRole] = registrationRules([]string{fullname})
	rules[CertificatesRole] = certificateRules([]string{fullname + "-webhook-ca", fullname + "-webhook-tls"})
	rules[UninstallRole] = uninstallRules(fullname)
	return rules
}

// RulesYAML renders Rules as YAML, sorted by role.
func RulesYAML() ([]byte, error) {
	out, err := yaml.Marshal(Rules())
	if err != nil {
		return nil, fmt.Errorf("install: render rules: %w", err)
	}
	return append([]byte("# Generated from internal/install (install.RulesYAML); a test keeps it equal. Do not edit.\n"), out...), nil
}

// leaderElectionRules let the replicas hold Lease LeaseName in turn (client-go's leaderelection: get, then create
// or update). get and update are limited to that Lease by name; create cannot be limited by name in RBAC, and the
// Role confines it to vnfguard's namespace, where vnfguard creates nothing else.
var leaderElectionRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "update"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
}

// certificateRules let every replica keep its serving certificate and CA in two Secrets of its own namespace (the
// Kyverno pattern): get, list, watch and update only those two, by name — list and watch by name work because the
// replicas watch each Secret with a metadata.name field selector. create cannot be limited by name in RBAC (the
// name is not known to the authorizer before the object exists): the Role confines it to vnfguard's namespace. No
// delete, no patch, and no other Secret may be read.
func certificateRules(names []string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: names, Verbs: []string{"get", "list", "watch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
	}
}

// uninstallRules let `vnfguard unregister --scale-down` read vnfguard's own Deployment (its selector, to wait for
// its pods to go) and set its scale to zero, by name; nothing else in the namespace. The pods it waits for are
// listed with serve's cluster-wide read.
func uninstallRules(workload string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{workload}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, ResourceNames: []string{workload}, Verbs: []string{"get", "update", "patch"}},
	}
}

// admissionPolicyRules let vnfguard keep its ValidatingAdmissionPolicies and bindings (update, patch and delete only
// its own, by name; create cannot be limited by name in RBAC, and list and watch find the ones an earlier
// configuration left) and write the lifecycle parameters: the VNFLifecycle objects of its own CRD
// (vnflifecycles.vnfguard.io), one per protected namespace. The twin params-guard refuses everyone else a change of
// them.
func admissionPolicyRules() []rbacv1.PolicyRule {
	names := apipolicy.PolicyNames()
	resources := []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: resources, Verbs: []string{"get", "list", "watch", "create"}},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: resources, ResourceNames: names, Verbs: []string{"update", "patch", "delete"}},
		// get on every object of the kind: the API server asks it of whoever names the kind as a policy's paramKind.
		{APIGroups: []string{apipolicy.ParamsGroup}, Resources: []string{apipolicy.ParamsResource}, Verbs: []string{"get", "list", "watch", "create", "patch", "update"}},
	}
}

// RBAC returns the objects to apply, in an order `kubectl apply -f` accepts: the ServiceAccount (its namespace must
// exist), the ClusterRoles and the Role, then the bindings.
func RBAC(o Options) []runtime.Object {
	o = o.withDefaults()
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: o.Namespace, Name: o.ServiceAccount}}
	objs := []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(o.ServiceAccount, o.Namespace),
			AutomountServiceAccountToken: ptr(true)},
		clusterRole(ServeRole, serveRules),
		clusterRole(NamespaceDataRole, namespaceDataRules),
		clusterRole(ScannerRole, scannerRules),
		clusterRoleBinding(ServeRole, ServeRole, subject),
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(LeaderElectionRole, o.Namespace), Rules: leaderElectionRules},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(LeaderElectionRole, o.Namespace),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: LeaderElectionRole}, Subjects: subject},
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(CertificatesRole, o.Namespace),
			Rules: certificateRules(slices.Sorted(slices.Values(o.CertificateSecrets)))},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(CertificatesRole, o.Namespace),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: CertificatesRole}, Subjects: subject},
		&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta(UninstallRole, o.Namespace), Rules: uninstallRules(o.Workload)},
		&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(UninstallRole, o.Namespace),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: UninstallRole}, Subjects: subject},
	}
	if o.Reapply && len(o.WebhookConfigurations) > 0 {
		names := slices.Sorted(slices.Values(o.WebhookConfigurations))
		objs = append(objs, clusterRole(RegistrationRole, registrationRules(names)), clusterRoleBinding(RegistrationRole, RegistrationRole, subject))
	}
	if o.AdmissionPolicies {
		objs = append(objs, clusterRole(AdmissionPoliciesRole, admissionPolicyRules()), clusterRoleBinding(AdmissionPoliciesRole, AdmissionPoliciesRole, subject))
	}
	for _, ns := range slices.Compact(slices.Sorted(slices.Values(o.DataNamespaces))) {
		objs = append(objs, DataRoleBinding(ns, o))
	}
	return objs
}

// DataRoleBinding is the RoleBinding that lets vnfguard read Secrets and ConfigMaps (as metadata) in one protected
// namespace; apply one in every namespace you protect.
func DataRoleBinding(namespace string, o Options) *rbacv1.RoleBinding {
	o = o.withDefaults()
	return &rbacv1.RoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
		ObjectMeta: meta(NamespaceDataRole, namespace),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: NamespaceDataRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: o.Namespace, Name: o.ServiceAccount}},
	}
}

// YAML renders objects as one multi-document YAML stream.
func YAML(objs []runtime.Object) ([]byte, error) {
	var out bytes.Buffer
	for i, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("install: render object %d: %w", i, err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func clusterRole(name string, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta(name, ""), Rules: rules}
}

func clusterRoleBinding(name, role string, subjects []rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta(name, ""),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects,
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/name": "vnfguard", "app.kubernetes.io/component": "rbac"}}
}

func ptr[T any](v T) *T { return &v }
