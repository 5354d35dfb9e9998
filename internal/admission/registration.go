package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The webhook names. The API server reports them in every refusal ("admission webhook "protected.vnfguard.io"
// denied the request: ...") and in its metrics.
const (
	ProtectedWebhook      = "protected.vnfguard.io"
	ProtectedNamesWebhook = "protected-names.vnfguard.io"
	ClusterWebhook        = "cluster.vnfguard.io"
	NamespacesWebhook     = "namespaces.vnfguard.io"
	VolumesWebhook        = "volumes.vnfguard.io"
	HostAccessWebhook     = "host-access.vnfguard.io"
	KubeletWebhook        = "kubelet.vnfguard.io"
)

// DefaultPath is the path the server judges AdmissionReviews on.
const DefaultPath = "/validate"

// NamespaceNameLabel is the label the API server sets on every namespace to its name.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// ServiceReference points the API server at vnfguard behind a Kubernetes Service.
type ServiceReference struct {
	Namespace, Name string
	Port            int32  // 443 when zero
	Path            string // DefaultPath when empty
}

// ParseServiceReference reads NAMESPACE/NAME[:PORT][/PATH], the form of `vnfguard webhook-config --service`.
func ParseServiceReference(s string) (*ServiceReference, error) {
	ns, rest, ok := strings.Cut(s, "/")
	if !ok || ns == "" || rest == "" {
		return nil, fmt.Errorf("service %q: want NAMESPACE/NAME[:PORT][/PATH]", s)
	}
	ref := &ServiceReference{Namespace: ns}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		ref.Path, rest = rest[i:], rest[:i]
	}
	if name, port, hasPort := strings.Cut(rest, ":"); hasPort {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("service %q: port %q is not a number from 1 to 65535", s, port)
		}
		ref.Name, ref.Port = name, int32(p)
	} else {
		ref.Name = rest
	}
	if ref.Name == "" {
		return nil, fmt.Errorf("service %q: empty service name; want NAMESPACE/NAME[:PORT][/PATH]", s)
	}
	return ref, nil
}

// RegistrationOptions describe the ValidatingWebhookConfiguration to generate.
type RegistrationOptions struct {
	// Name is the configuration's metadata.name ("vnfguard" when empty).
	Name string
	// Config supplies the protected namespaces (config.Default() when nil).
	Config *config.Config
	// URL or Service says where the API server reaches vnfguard; exactly one must be set. A URL without a path
	// gets DefaultPath.
	URL     string
	Service *ServiceReference
	// CABundle is the PEM CA that signed the serving certificate.
	CABundle []byte
	// TimeoutSeconds bounds each call (5 when zero; the API server allows 1 to 30).
	TimeoutSeconds int32
}

// Validate reports what is wrong with the options, naming the field.
func (o RegistrationOptions) Validate() error {
	errs := []error{o.ValidateTarget()}
	if len(o.CABundle) == 0 {
		errs = append(errs, errors.New("webhook registration: empty caBundle: the API server could not verify vnfguard's certificate"))
	} else if !strings.Contains(string(o.CABundle), "-----BEGIN CERTIFICATE-----") {
		errs = append(errs, errors.New("webhook registration: caBundle holds no PEM certificate"))
	}
	return errors.Join(errs...)
}

// ValidateTarget is Validate without the caBundle, for a registration whose caBundle comes later (from the CA
// Secret vnfguard manages itself; see Watchdog.SetCABundle).
func (o RegistrationOptions) ValidateTarget() error {
	var errs []error
	switch {
	case o.URL == "" && o.Service == nil:
		errs = append(errs, errors.New("webhook registration: give a URL or a Service"))
	case o.URL != "" && o.Service != nil:
		errs = append(errs, errors.New("webhook registration: give a URL or a Service, not both"))
	case o.URL != "":
		u, err := url.Parse(o.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook registration: URL %q: %w", o.URL, err))
		} else if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("webhook registration: URL %q: want https://HOST[:PORT][/PATH] without user, query or fragment (the API server's rule)", o.URL))
		}
	default:
		if o.Service.Namespace == "" || o.Service.Name == "" {
			errs = append(errs, errors.New("webhook registration: Service needs a namespace and a name"))
		}
	}
	if o.TimeoutSeconds < 0 || o.TimeoutSeconds > 30 {
		errs = append(errs, fmt.Errorf("webhook registration: timeoutSeconds %d: want 1 to 30", o.TimeoutSeconds))
	}
	return errors.Join(errs...)
}

// WebhookConfiguration builds the registration: the same rules and match conditions in up to three webhooks that
// differ in the namespaces they cover and in what an outage does.
//
//   - protected.vnfguard.io: the protected namespaces (the configured label selector), failurePolicy Fail — a
//     VNF namespace is never left open because vnfguard is down.
//   - protected-names.vnfguard.io: only when the configuration also names protected namespaces; a namespace
//     selector cannot express "selector OR names", so the names get a webhook of their own, Fail as well.
//   - cluster.vnfguard.io: every other namespace except kube-system, failurePolicy Ignore, so that an outage
//     never blocks the whole cluster (the failure most reported against Kyverno and Gatekeeper).
//   - host-access.vnfguard.io: the same namespaces, only pod creations with access to the host (HostAccessCondition:
//     a hostPath volume, hostPID, hostIPC, hostNetwork or a privileged container — a superset of host-takeover),
//     failurePolicy Fail; cluster.vnfguard.io leaves those out. An outage, or a replica killed mid-request,
//     then never admits a Peirates pod unjudged (measured on the lab's real node: with the Ignore webhook alone,
//     2 of 2 000 Peirates pods were admitted while a replica was SIGKILLed under load), and blocks only pods
//     that ask for the node.
//   - namespaces.vnfguard.io: UPDATE and DELETE of the protected Namespace objects themselves (check
//     namespace-protection), failurePolicy Fail. For a request on a Namespace the API server matches a
//     namespaceSelector against that Namespace's own new labels, so a selector would miss exactly the update that
//     removes the protected label; this webhook has none and is scoped instead by a match condition on
//     oldObject — the namespace as it was — that spells out the protected names and selector in CEL.
//   - kubelet.vnfguard.io: CONNECT on nodes/proxy whose path opens a session into a pod through the kubelet API
//     (check kubelet-session; the match condition is danger.KubeletSessionCondition, so metrics and stats scrapes
//     through the proxy never reach vnfguard), failurePolicy Fail: such a session skips pods/exec admission, and
//     an outage must not open it.
//   - volumes.vnfguard.io: the hand-over of volumes (VolumeRules): PersistentVolume updates that change the claim
//     a volume is bound to or its instance label (cluster-scoped, so in every namespace class), and the claims of kube-system that name
//     their volume, failurePolicy Fail. A dormant VNF's retained volume binds to a new claim only once its
//     claimRef lets it, so failing closed on that edit keeps the data out of reach even while vnfguard is down,
//     and costs an outage only the (rare) static bindings. A claim naming a dormant volume in a fail-open
//     namespace is let through during an outage, and cannot bind.
//
// No objectSelector anywhere: the API server does not apply it to CONNECT (pods/exec), so it would only give a
// false sense of scope. The output is deterministic. Call Validate first: an invalid option is rendered as given.
func WebhookConfiguration(o RegistrationOptions) *admissionregistrationv1.ValidatingWebhookConfiguration {
	cfg := o.Config
	if cfg == nil {
		cfg = config.Default()
	}
	name := o.Name
	if name == "" {
		name = "vnfguard"
	}
	timeout := o.TimeoutSeconds
	if timeout == 0 {
		timeout = 5
	}
	base := func(webhookName string, fail admissionregistrationv1.FailurePolicyType, sel *metav1.LabelSelector) admissionregistrationv1.ValidatingWebhook {
		sideEffects := admissionregistrationv1.SideEffectClassNone
		match := admissionregistrationv1.Equivalent
		return admissionregistrationv1.ValidatingWebhook{
			Name:                    webhookName,
			ClientConfig:            clientConfig(o),
			Rules:                   Rules(),
			FailurePolicy:           &fail,
			MatchPolicy:             &match,
			NamespaceSelector:       sel,
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions:         MatchConditions(cfg.InstanceLabel),
		}
	}

	protectedSel := selectorOf(cfg.ProtectedNamespaces.Selector)
	names := sortedUnique(cfg.ProtectedNamespaces.Names)
	var hooks []admissionregistrationv1.ValidatingWebhook
	if protectedSel != nil {
		hooks = append(hooks, base(ProtectedWebhook, admissionregistrationv1.Fail, protectedSel))
	}
	if len(names) > 0 {
		hookName := ProtectedWebhook
		if protectedSel != nil {
			hookName = ProtectedNamesWebhook
		}
		hooks = append(hooks, base(hookName, admissionregistrationv1.Fail, &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: NamespaceNameLabel, Operator: metav1.LabelSelectorOpIn, Values: names}},
		}))
	}
	cluster := base(ClusterWebhook, admissionregistrationv1.Ignore, clusterSelector(protectedSel, names))
	cluster.MatchConditions = append(cluster.MatchConditions, admissionregistrationv1.MatchCondition{
		Name: "not-host-access", Expression: "!(" + HostAccessCondition + ")"})
	host := base(HostAccessWebhook, admissionregistrationv1.Fail, clusterSelector(protectedSel, names))
	host.Rules = HostAccessRules()
	host.MatchConditions = append(host.MatchConditions, admissionregistrationv1.MatchCondition{
		Name: "host-access", Expression: HostAccessCondition})
	hooks = append(hooks, cluster, host)
	volumes := base(VolumesWebhook, admissionregistrationv1.Fail, &metav1.LabelSelector{
		// The namespaced claim rule for kube-system only, which the other webhooks leave out; the selector does
		// not apply to PersistentVolumes (cluster-scoped objects never skip a webhook on it).
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: NamespaceNameLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"kube-system"}}},
	})
	volumes.Rules = VolumeRules()
	hooks = append(hooks, volumes)
	if cond := protectedNamespaceCondition(names, protectedSel); cond != "" {
		ns := base(NamespacesWebhook, admissionregistrationv1.Fail, nil)
		ns.Rules = NamespaceRules()
		ns.MatchConditions = append(MatchConditions(cfg.InstanceLabel), admissionregistrationv1.MatchCondition{Name: "was-protected", Expression: cond})
		hooks = append(hooks, ns)
	}
	kubelet := base(KubeletWebhook, admissionregistrationv1.Fail, nil)
	kubelet.Rules = KubeletRules()
	// Only the session condition: the others are about objects a nodes/proxy request does not carry.
	kubelet.MatchConditions = []admissionregistrationv1.MatchCondition{{
		Name: "kubelet-session", Expression: danger.KubeletSessionCondition("object.?path.orValue('')")}}
	hooks = append(hooks, kubelet)

	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"app.kubernetes.io/name": "vnfguard", "app.kubernetes.io/component": "admission-webhook",
		}},
		Webhooks: hooks,
	}
}

func clientConfig(o RegistrationOptions) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: o.CABundle}
	if o.Service != nil {
		port, path := o.Service.Port, o.Service.Path
		if port == 0 {
			port = 443
		}
		if path == "" {
			path = DefaultPath
		}
		cc.Service = &admissionregistrationv1.ServiceReference{Namespace: o.Service.Namespace, Name: o.Service.Name, Port: &port, Path: &path}
		return cc
	}
	u := o.URL
	if parsed, err := url.Parse(u); err == nil && (parsed.Path == "" || parsed.Path == "/") {
		parsed.Path = DefaultPath
		u = parsed.String()
	}
	cc.URL = &u
	return cc
}

// Rules are the requests vnfguard judges: pod and workload creation and change (instantiation, images, pod
// security), the pod subresources that reach a running container (exec, attach, port-forward — CONNECT — and
// ephemeral containers, which `kubectl debug` uses), the workloads that make pods (ReplicationControllers
// included: the core group's ReplicaSet still creates pods), scaling, and volume snapshots and claims that name
// their volume (a dormant VNF's data).
func Rules() []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.NamespacedScope
	rule := func(group string, resources []string, ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{
			Operations: ops,
			Rule: admissionregistrationv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources, Scope: &scope,
			},
		}
	}
	create, update, connect := admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Connect
	return []admissionregistrationv1.RuleWithOperations{
		rule("", []string{"pods"}, create, update),
		rule("", []string{"pods/attach", "pods/exec", "pods/portforward"}, connect),
		rule("", []string{"pods/ephemeralcontainers"}, update),
		rule("", []string{"replicationcontrollers"}, create, update),
		rule("", []string{"replicationcontrollers/scale"}, update),
		rule("apps", []string{"daemonsets", "deployments", "replicasets", "statefulsets"}, create, update),
		rule("apps", []string{"deployments/scale", "replicasets/scale", "statefulsets/scale"}, update),
		rule("batch", []string{"cronjobs", "jobs"}, create, update),
		rule("snapshot.storage.k8s.io", []string{"volumesnapshots"}, create),
		rule("", []string{"persistentvolumeclaims"}, create),
	}
}

// VolumeRules are the requests of volumes.vnfguard.io: claims (those of kube-system, by its namespace selector)
// and PersistentVolume updates, narrowed by MatchConditions to those that bind a claim to a named volume or
// change the claim a volume is bound to.
func VolumeRules() []admissionregistrationv1.RuleWithOperations {
	namespaced, cluster := admissionregistrationv1.NamespacedScope, admissionregistrationv1.ClusterScope
	return []admissionregistrationv1.RuleWithOperations{
		{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"persistentvolumeclaims"}, Scope: &namespaced}},
		{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update}, Rule: admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"persistentvolumes"}, Scope: &cluster}},
	}
}

// KubeletRules are the requests of kubelet.vnfguard.io: CONNECT on nodes/proxy (any HTTP verb: the API server
// proxies them all to the kubelet), narrowed by its match condition to the paths that open a session into a pod.
func KubeletRules() []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.ClusterScope
	return []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"nodes/proxy"}, Scope: &scope},
	}}
}

// NamespaceRules are the Namespace requests vnfguard judges: updates (the status and finalize subresources carry
// the whole object, labels included) and deletes.
func NamespaceRules() []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.ClusterScope
	return []admissionregistrationv1.RuleWithOperations{
		{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces", "namespaces/finalize", "namespaces/status"}, Scope: &scope}},
		{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}, Scope: &scope}},
	}
}

// protectedNamespaceCondition is a CEL match condition that holds when oldObject, a Namespace, was protected: its
// name is one of names, or its labels match sel. "" when nothing is protected.
func protectedNamespaceCondition(names []string, sel *metav1.LabelSelector) string {
	var alternatives []string
	if len(names) > 0 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = strconv.Quote(n)
		}
		alternatives = append(alternatives, "oldObject.metadata.name in ["+strings.Join(quoted, ", ")+"]")
	}
	if sel != nil {
		const labels = "oldObject.metadata.labels"
		has := func(key string) string {
			return "(has(" + labels + ") && " + strconv.Quote(key) + " in " + labels
		}
		var reqs []string
		keys := make([]string, 0, len(sel.MatchLabels))
		for k := range sel.MatchLabels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			reqs = append(reqs, has(k)+" && "+labels+"["+strconv.Quote(k)+"] == "+strconv.Quote(sel.MatchLabels[k])+")")
		}
		for _, e := range sel.MatchExpressions {
			vals := make([]string, len(e.Values))
			for i, v := range e.Values {
				vals[i] = strconv.Quote(v)
			}
			in := has(e.Key) + " && " + labels + "[" + strconv.Quote(e.Key) + "] in [" + strings.Join(vals, ", ") + "])"
			switch e.Operator {
			case metav1.LabelSelectorOpIn:
				reqs = append(reqs, in)
			case metav1.LabelSelectorOpNotIn:
				reqs = append(reqs, "!"+in)
			case metav1.LabelSelectorOpExists:
				reqs = append(reqs, has(e.Key)+")")
			case metav1.LabelSelectorOpDoesNotExist:
				reqs = append(reqs, "!"+has(e.Key)+")")
			default:
				// config validation refuses other operators; never let one widen the condition silently.
				reqs = append(reqs, "false")
			}
		}
		alternatives = append(alternatives, "("+strings.Join(reqs, " && ")+")")
	}
	return strings.Join(alternatives, " || ")
}

// HostAccessCondition is true for the creation of a pod that asks for the node: a hostPath volume, hostPID,
// hostIPC, hostNetwork, or a privileged container (init and ephemeral containers included). It is a superset of
// what check host-takeover denies, written in the API server's CEL so that it holds while vnfguard is down.
const HostAccessCondition = "request.resource.resource == 'pods' && request.operation == 'CREATE' && (" +
	"object.spec.?hostPID.orValue(false) || object.spec.?hostIPC.orValue(false) || object.spec.?hostNetwork.orValue(false) || " +
	"object.spec.?volumes.orValue([]).exists(v, has(v.hostPath)) || " +
	"[object.spec.?containers.orValue([]), object.spec.?initContainers.orValue([]), object.spec.?ephemeralContainers.orValue([])].exists(cs, " +
	"cs.exists(c, c.?securityContext.?privileged.orValue(false))))"

// HostAccessRules are the requests of host-access.vnfguard.io: pod creations.
func HostAccessRules() []admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.NamespacedScope
	return []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &scope},
	}}
}

// MatchConditions keep the API server's own requests (system:apiserver, e.g. its bootstrap and loopback
// traffic) away from the webhook, so that a webhook outage can never deadlock the API server itself; and of the
// volume requests they send only those check lifecycle-data judges: a claim that names its volume
// (spec.volumeName), and a PersistentVolume update that hands the volume to another claim — the CEL twin of
// vnf.ClaimRef.Repoints, so that the PersistentVolume controller's own bindings (filling in a claim's UID) and
// every other volume update never wait on vnfguard; or one that changes the volume's instance label (instanceLabel,
// the configured key), which is what keeps a retained volume its instance's once its claim is gone.
func MatchConditions(instanceLabel string) []admissionregistrationv1.MatchCondition {
	if instanceLabel == "" {
		instanceLabel = vnf.DefaultInstanceLabel
	}
	ref := func(obj, field string) string { return obj + ".spec.?claimRef.?" + field + ".orValue('')" }
	repoints := ref("object", "namespace") + " != " + ref("oldObject", "namespace") + " || " +
		ref("object", "name") + " != " + ref("oldObject", "name") + " || " +
		"(" + ref("oldObject", "uid") + " != '' && " + ref("object", "uid") + " != " + ref("oldObject", "uid") + ")"
	// A label key is a DNS subdomain prefix and a name: no quote or backslash can be in it.
	label := func(obj string) string { return obj + ".?metadata.?labels[?'" + instanceLabel + "'].orValue('')" }
	relabels := label("object") + " != " + label("oldObject")
	return []admissionregistrationv1.MatchCondition{
		{Name: "exclude-apiserver", Expression: "request.userInfo.username != 'system:apiserver'"},
		{Name: "claims-naming-a-volume", Expression: "request.resource.resource != 'persistentvolumeclaims' || object.spec.?volumeName.orValue('') != ''"},
		{Name: "volume-handed-over", Expression: "request.resource.resource != 'persistentvolumes' || " + repoints + " || " + relabels},
	}
}

// selectorOf converts the configured protected-namespace selector; nil when there is none or it is empty (an
// empty selector would match every namespace).
func selectorOf(sel *config.LabelSelector) *metav1.LabelSelector {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return nil
	}
	out := &metav1.LabelSelector{}
	if len(sel.MatchLabels) > 0 {
		out.MatchLabels = make(map[string]string, len(sel.MatchLabels))
		for k, v := range sel.MatchLabels {
			out.MatchLabels[k] = v
		}
	}
	for _, e := range sel.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: slices.Clone(e.Values),
		})
	}
	return out
}

// clusterSelector selects every namespace that is neither kube-system nor protected. Names are excluded with
// NotIn on the namespace-name label. A label selector can only be negated requirement by requirement when it has
// exactly one requirement (NOT(a AND b) needs an OR, which selectors lack); a multi-requirement protected selector
// is therefore left out, and those namespaces get both webhooks — the same decision twice, never none.
func clusterSelector(protected *metav1.LabelSelector, names []string) *metav1.LabelSelector {
	excluded := sortedUnique(append([]string{"kube-system"}, names...))
	sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: excluded},
	}}
	if neg, ok := negate(protected); ok {
		sel.MatchExpressions = append(sel.MatchExpressions, neg)
	}
	return sel
}

// negate returns the requirement that matches exactly the namespaces a one-requirement selector does not.
func negate(sel *metav1.LabelSelector) (metav1.LabelSelectorRequirement, bool) {
	if sel == nil || len(sel.MatchLabels)+len(sel.MatchExpressions) != 1 {
		return metav1.LabelSelectorRequirement{}, false
	}
	for k, v := range sel.MatchLabels {
		return metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v}}, true
	}
	e := sel.MatchExpressions[0]
	opposite := map[metav1.LabelSelectorOperator]metav1.LabelSelectorOperator{
		metav1.LabelSelectorOpIn: metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpNotIn: metav1.LabelSelectorOpIn,
		metav1.LabelSelectorOpExists: metav1.LabelSelectorOpDoesNotExist, metav1.LabelSelectorOpDoesNotExist: metav1.LabelSelectorOpExists,
	}
	op, ok := opposite[e.Operator]
	if !ok {
		return metav1.LabelSelectorRequirement{}, false
	}
	return metav1.LabelSelectorRequirement{Key: e.Key, Operator: op, Values: slices.Clone(e.Values)}, true
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}

// Render writes the configuration as "yaml" (the default when format is empty) or "json" (indented).
func Render(vwc *admissionregistrationv1.ValidatingWebhookConfiguration, format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		out, err := yaml.Marshal(vwc)
		if err != nil {
			return nil, fmt.Errorf("render webhook configuration as YAML: %w", err)
		}
		return out, nil
	case "json":
		out, err := json.MarshalIndent(vwc, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("render webhook configuration as JSON: %w", err)
		}
		return append(out, '\n'), nil
	}
	return nil, fmt.Errorf("output format %q: want yaml or json", format)
}
