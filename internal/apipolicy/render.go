package apipolicy

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	admregv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

// Names and labels of what Render makes.
const (
	// Prefix starts the name of every policy and binding: "vnfguard-" + the group of its twins (PolicyName).
	Prefix = "vnfguard-"
	// ManagedByLabel marks the objects vnfguard keeps (and deletes on unregister).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is its value.
	ManagedBy = "vnfguard"
	// CheckAnnotation names the Go checks a policy twins, comma-separated.
	CheckAnnotation = "vnfguard.io/check"
)

// Set is what the API server needs for in-process enforcement: the policies and one binding for each.
type Set struct {
	Policies []admregv1.ValidatingAdmissionPolicy
	Bindings []admregv1.ValidatingAdmissionPolicyBinding
	// withoutParams is what to apply while the API server does not serve the parameters' kind.
	withoutParams *Set
}

// WithoutParams is what the API server can take while it does not serve the lifecycle parameters' kind (the CRD is
// not installed): no policy that reads them, and the workload twins bound in every namespace, protected ones too,
// since no joint policy judges them there. A Set not made by Render is returned without its parameter policies.
func (s *Set) WithoutParams() *Set {
	if s.withoutParams != nil {
		return s.withoutParams
	}
	out := &Set{}
	for _, p := range s.Policies {
		if p.Spec.ParamKind == nil {
			out.Policies = append(out.Policies, p)
			out.Bindings = append(out.Bindings, s.BindingsOf(p.Name)...)
		}
	}
	return out
}

// Names returns the policies' names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.Policies))
	for _, p := range s.Policies {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// BindingNames returns the bindings' names, sorted.
func (s *Set) BindingNames() []string {
	out := make([]string, 0, len(s.Bindings))
	for _, b := range s.Bindings {
		out = append(out, b.Name)
	}
	sort.Strings(out)
	return out
}

// BindingsOf returns the bindings of the named policy.
func (s *Set) BindingsOf(policy string) []admregv1.ValidatingAdmissionPolicyBinding {
	var out []admregv1.ValidatingAdmissionPolicyBinding
	for _, b := range s.Bindings {
		if b.Spec.PolicyName == policy {
			out = append(out, b)
		}
	}
	return out
}

// twin is the CEL twin of one Go check.
type twin struct {
	// check is the ID of the Go check it twins; technique its FiGHT technique, for the messages.
	check, technique string
	// group names the policy the twin's validations go into (with the others of its group in the same mode).
	group string
	// params: the policy reads the lifecycle parameters (ParamsName in the request's namespace).
	params bool
	// spec builds the policy; nil (with no error) when the configuration leaves the twin nothing to judge.
	spec func(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error)
}

var twins []twin

func register(t twin) { twins = append(twins, t) }

// Checks returns the IDs of the checks that have a twin, sorted.
func Checks() []string {
	out := make([]string, 0, len(twins))
	for _, t := range twins {
		out = append(out, t.check)
	}
	sort.Strings(out)
	return out
}

// Render builds the policies and bindings for cfg. The twins of one group (all the pod and workload twins share
// group "workloads") that are in the same mode become one policy: the API server converts the request's object for
// every policy it evaluates (measured: a quarter of its CPU with one policy per twin), so one policy per group and
// mode costs one conversion. Each validation still names its own check. A check configured in audit or warn mode
// gets the same validation action in the API server (Audit, Warn) and a policy of its own (name suffix -audit,
// -warn); in enforce mode, Deny.
//
// In a protected namespace, a pod or workload would meet two policies: the workload twins' and the lifecycle twins'
// (which read the parameters). There, one joint policy (PolicyName(JointGroup, mode)) holds both groups' twins and is
// the only one bound, so the API server converts and judges the object once; the groups' own policies are bound only
// where a namespace is not protected. This needs a namespace selector that leaves out exactly the protected
// namespaces (names, and a label selector of one term); with a wider selector every policy is bound as if alone.
//
// The Set also holds what to apply while the API server does not serve the parameters' kind (WithoutParams).
func Render(cfg *config.Config) (*Set, error) {
	set, err := render(cfg, true, true)
	if err != nil {
		return nil, err
	}
	if set.withoutParams, err = render(cfg, false, true); err != nil {
		return nil, err
	}
	return set, nil
}

// JointGroup names the policy that judges the twins of jointGroups in protected namespaces.
const JointGroup = "protected"

// jointGroups are the groups judged by one policy in a protected namespace: the ones that match pods and workloads.
var jointGroups = []string{"workloads", "lifecycle"}

// part is one twin's rendering.
type part struct {
	t    twin
	spec *admregv1.ValidatingAdmissionPolicySpec
}

// render builds the Set; without params, it leaves out every twin that reads the lifecycle parameters. inline writes
// out the variables not worth declaring (inlineVariables); only a test that compares the two leaves them declared.
func render(cfg *config.Config, params, inline bool) (*Set, error) {
	r := &renderer{cfg: cfg}
	scope, err := r.scope()
	if err != nil {
		return nil, err
	}
	groups, err := r.group(func(t twin) string {
		if t.params && !params {
			return ""
		}
		return PolicyName(t.group, cfg.ModeOf(t.check))
	})
	if err != nil {
		return nil, err
	}
	// joined names the group policies whose protected namespaces a joint policy judges; joint, the joint policies.
	joined, joint := map[string]bool{}, map[string]bool{}
	if params && scope.exact && (scope.byName != nil || scope.byLabel != nil) {
		for _, mode := range []config.Mode{config.Enforce, config.Warn, config.Audit} {
			var parts []part
			var members []string
			for _, g := range jointGroups {
				if p := groups[PolicyName(g, mode)]; len(p) > 0 {
					parts = append(parts, p...)
					members = append(members, PolicyName(g, mode))
				}
			}
			if len(members) < len(jointGroups) {
				continue // nothing to save: a protected namespace meets one policy of these groups anyway
			}
			sort.Slice(parts, func(i, j int) bool { return parts[i].t.check < parts[j].t.check })
			groups[PolicyName(JointGroup, mode)] = parts
			joint[PolicyName(JointGroup, mode)] = true
			for _, m := range members {
				joined[m] = true
			}
		}
	}
	set := &Set{}
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		parts := groups[name]
		pol, err := merge(name, parts)
		if err != nil {
			return nil, err
		}
		acts := actions(cfg.ModeOf(parts[0].t.check))
		var bindings []admregv1.ValidatingAdmissionPolicyBinding
		switch {
		case joint[name]:
			// The joint policy: only where a namespace is protected, where the parameters are required.
			bindings = scope.protectedBindings(pol.ObjectMeta, name, name+byLabel, acts)
			setVariable(&pol.Spec, "protected", "true")
		case joined[name]:
			// A group of the joint policy: only where a namespace is not protected.
			bindings = []admregv1.ValidatingAdmissionPolicyBinding{scope.binding(pol.ObjectMeta, name, scope.others, pol.Spec.ParamKind != nil, admregv1.AllowAction, acts)}
			setVariable(&pol.Spec, "protected", "false")
		default:
			bindings = scope.alone(pol, acts)
		}
		if err := declareVariables(&pol.Spec, inline); err != nil {
			return nil, fmt.Errorf("render policy %s: %w", name, err)
		}
		set.Policies = append(set.Policies, pol)
		set.Bindings = append(set.Bindings, bindings...)
	}
	return set, nil
}

// group renders the twins into the policies policyOf names ("" leaves a twin out), keyed by policy name, each
// policy's twins in the order of their checks; a twin the configuration leaves nothing to judge is left out.
func (r *renderer) group(policyOf func(twin) string) (map[string][]part, error) {
	ordered := append([]twin(nil), twins...)
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].check < ordered[j].check })
	groups := map[string][]part{}
	for _, t := range ordered {
		name := policyOf(t)
		if name == "" {
			continue
		}
		spec, err := r.spec(t)
		if err != nil {
			return nil, err
		}
		if spec != nil {
			groups[name] = append(groups[name], part{t, spec})
		}
	}
	return groups, nil
}

// spec renders a twin's policy spec; nil when the configuration leaves it nothing to judge. The twins a pod CREATE
// meets get static messages unless admission.policyMessages is detailed: the API server evaluates every message
// expression of a policy for every request, admitted ones too, each in a context of its own that computes again the
// variables it reads (measured: a third of the joint policy's cost, BenchmarkAPIServerPolicies). A variable nothing
// reads then (those of the messages) is not declared (dropUnreadVariables, once the twins are merged).
func (r *renderer) spec(t twin) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	r.twin = t
	spec, err := t.spec(r)
	if err != nil {
		return nil, fmt.Errorf("render the API server policy of check %s: %w", t.check, err)
	}
	if spec == nil {
		return nil, nil
	}
	if r.cfg.Admission.PolicyMessages != config.PolicyMessagesDetailed && slices.Contains(jointGroups, t.group) {
		for i := range spec.Validations {
			spec.Validations[i].MessageExpression = ""
		}
	}
	return spec, nil
}

// merge makes one policy of the twins' specs: the union of their resources and variables, and each twin's
// validations gated to what it matches.
func merge(name string, parts []part) (admregv1.ValidatingAdmissionPolicy, error) {
	merged := &admregv1.ValidatingAdmissionPolicySpec{MatchConstraints: &admregv1.MatchResources{}}
	var checks []string
	params := false
	ungated := map[string]bool{}
	for _, p := range parts {
		merged.MatchConstraints.ResourceRules = appendRules(merged.MatchConstraints.ResourceRules, p.spec.MatchConstraints.ResourceRules)
	}
	// A gate is a variable, so that the API server evaluates it once per request however many validations it gates.
	gates := map[string]string{}
	for _, p := range parts {
		checks = append(checks, p.t.check)
		params = params || p.t.params
		var err error
		if merged.Variables, err = appendVariables(merged.Variables, p.spec.Variables); err != nil {
			return admregv1.ValidatingAdmissionPolicy{}, fmt.Errorf("render policy %s: check %s: %w", name, p.t.check, err)
		}
		gate := gateOf(p.spec, merged.MatchConstraints.ResourceRules)
		if gate != "" && gates[gate] == "" {
			gates[gate] = "applies" + strconv.Itoa(len(gates))
			merged.Variables = append(merged.Variables, admregv1.Variable{Name: gates[gate], Expression: gate})
		}
		for _, v := range p.spec.Validations {
			if ungated[v.Expression] {
				continue // an earlier twin's same validation applies to everything this one matches
			}
			if gate == "" {
				ungated[v.Expression] = true
			} else {
				v.Expression = "!variables." + gates[gate] + " || (" + v.Expression + ")"
			}
			merged.Validations = append(merged.Validations, v)
		}
	}
	fail := admregv1.Fail
	eq := admregv1.Equivalent
	merged.FailurePolicy, merged.MatchConstraints.MatchPolicy = &fail, &eq
	if params {
		merged.ParamKind = &admregv1.ParamKind{APIVersion: ParamsGroup + "/" + ParamsVersion, Kind: ParamsKind}
	}
	meta := metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{ManagedByLabel: ManagedBy},
		Annotations: map[string]string{CheckAnnotation: strings.Join(checks, ",")},
	}
	pol := admregv1.ValidatingAdmissionPolicy{ObjectMeta: meta, Spec: *merged}
	pol.APIVersion, pol.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"
	return pol, nil
}

// setVariable gives a variable the policy has a new expression: "protected" is a constant in a policy bound only
// where it is true (or only where it is false), and the API server need not read the namespace to know it.
func setVariable(spec *admregv1.ValidatingAdmissionPolicySpec, name, expression string) {
	for i := range spec.Variables {
		if spec.Variables[i].Name == name {
			spec.Variables[i].Expression = expression
		}
	}
}

// PolicyName is the name of the policy (and binding) of a group of twins in a mode.
func PolicyName(group string, mode config.Mode) string {
	if mode == config.Warn || mode == config.Audit {
		return Prefix + group + "-" + string(mode)
	}
	return Prefix + group
}

// PolicyNames are every name Render can give a policy or binding, for RBAC's resourceNames.
func PolicyNames() []string {
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, m := range []config.Mode{config.Enforce, config.Warn, config.Audit} {
		for _, t := range twins {
			n := PolicyName(t.group, m)
			add(n)
			if t.params {
				add(n+protectedByName, n+protectedByLabel)
			}
		}
		n := PolicyName(JointGroup, m)
		add(n, n+byLabel)
	}
	sort.Strings(out)
	return out
}

// The name suffixes of the bindings that require the lifecycle parameters in protected namespaces: a policy's own
// (its name is its binding's for the other namespaces), and the joint policy's (bound only there).
const (
	protectedByName  = "-protected"
	protectedByLabel = "-protected-by-label"
	byLabel          = "-by-label"
)

// scope holds the namespace selectors of the bindings: the protected namespaces by name and by label, and the others.
type scope struct {
	// others selects the namespaces that are not protected; exact when it leaves out every protected one (a label
	// selector of several terms cannot be inverted into one requirement: others then selects every namespace not
	// named, and a policy bound to both is evaluated twice in a protected namespace: correct, at twice the cost).
	others *metav1.LabelSelector
	exact  bool
	// byName and byLabel select the protected namespaces; nil when the configuration protects none that way.
	byName, byLabel *metav1.LabelSelector
}

// scope renders the configuration's protection into namespace selectors.
func (r *renderer) scope() (scope, error) {
	const nameLabel = "kubernetes.io/metadata.name"
	pn := r.cfg.ProtectedNamespaces
	s := scope{others: &metav1.LabelSelector{}, exact: true}
	var labelled *metav1.LabelSelector
	if pn.Selector != nil && (len(pn.Selector.MatchLabels) > 0 || len(pn.Selector.MatchExpressions) > 0) {
		labelled = &metav1.LabelSelector{MatchLabels: pn.Selector.MatchLabels}
		for _, e := range pn.Selector.MatchExpressions {
			labelled.MatchExpressions = append(labelled.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values})
		}
	}
	if len(pn.Names) > 0 {
		notNamed := metav1.LabelSelectorRequirement{Key: nameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: pn.Names}
		s.others.MatchExpressions = append(s.others.MatchExpressions, notNamed)
		s.byName = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: nameLabel, Operator: metav1.LabelSelectorOpIn, Values: pn.Names}}}
		if labelled != nil {
			// A namespace both named and labelled is judged by the by-name binding alone, not twice.
			s.byLabel = labelled.DeepCopy()
			s.byLabel.MatchExpressions = append(s.byLabel.MatchExpressions, notNamed)
		}
	} else {
		s.byLabel = labelled
	}
	if labelled != nil {
		if inverse, ok := invert(labelled); ok {
			s.others.MatchExpressions = append(s.others.MatchExpressions, inverse)
		} else {
			s.exact = false
		}
	}
	return s, nil
}

// binding binds a policy where sel selects (nil: everywhere); with params, to the lifecycle parameters, and with
// notFound for a namespace that has none.
func (s scope) binding(meta metav1.ObjectMeta, name string, sel *metav1.LabelSelector, params bool, notFound admregv1.ParameterNotFoundActionType, acts []admregv1.ValidationAction) admregv1.ValidatingAdmissionPolicyBinding {
	m := *meta.DeepCopy()
	m.Name = name
	b := admregv1.ValidatingAdmissionPolicyBinding{ObjectMeta: m, Spec: admregv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: meta.Name, ValidationActions: acts,
	}}
	b.APIVersion, b.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"
	if sel != nil {
		b.Spec.MatchResources = &admregv1.MatchResources{NamespaceSelector: sel.DeepCopy()}
	}
	if params {
		b.Spec.ParamRef = &admregv1.ParamRef{Name: ParamsName, ParameterNotFoundAction: &notFound}
	}
	return b
}

// alone binds a policy that no joint policy stands in for: one without parameters everywhere; one that reads them
// with Allow where a namespace is not protected and with Deny where it is (protectedBindings).
func (s scope) alone(pol admregv1.ValidatingAdmissionPolicy, acts []admregv1.ValidationAction) []admregv1.ValidatingAdmissionPolicyBinding {
	name := pol.Name
	if pol.Spec.ParamKind == nil {
		return []admregv1.ValidatingAdmissionPolicyBinding{s.binding(pol.ObjectMeta, name, nil, false, "", acts)}
	}
	return append([]admregv1.ValidatingAdmissionPolicyBinding{s.binding(pol.ObjectMeta, name, s.others, true, admregv1.AllowAction, acts)},
		s.protectedBindings(pol.ObjectMeta, name+protectedByName, name+protectedByLabel, acts)...)
}

// protectedBindings bind a policy that reads the lifecycle parameters in the protected namespaces (by name, and by
// label), where a namespace without them is refused (Deny): deleting the parameters must not open a dormant VNF.
// Where a namespace is not protected, a policy that reads them is bound with Allow (binding): it is skipped in a
// namespace that has none, as a namespace has none unless a dormant VNF lives there.
func (s scope) protectedBindings(meta metav1.ObjectMeta, byName, byLabel string, acts []admregv1.ValidationAction) []admregv1.ValidatingAdmissionPolicyBinding {
	var out []admregv1.ValidatingAdmissionPolicyBinding
	if s.byName != nil {
		out = append(out, s.binding(meta, byName, s.byName, true, admregv1.DenyAction, acts))
	}
	if s.byLabel != nil {
		out = append(out, s.binding(meta, byLabel, s.byLabel, true, admregv1.DenyAction, acts))
	}
	return out
}

// invert returns the requirement that matches exactly the namespaces sel does not, when sel is one term.
func invert(sel *metav1.LabelSelector) (metav1.LabelSelectorRequirement, bool) {
	var reqs []metav1.LabelSelectorRequirement
	for k, v := range sel.MatchLabels {
		reqs = append(reqs, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
	}
	reqs = append(reqs, sel.MatchExpressions...)
	if len(reqs) != 1 {
		return metav1.LabelSelectorRequirement{}, false
	}
	r := reqs[0]
	switch r.Operator {
	case metav1.LabelSelectorOpIn:
		r.Operator = metav1.LabelSelectorOpNotIn
	case metav1.LabelSelectorOpNotIn:
		r.Operator = metav1.LabelSelectorOpIn
	case metav1.LabelSelectorOpExists:
		r.Operator = metav1.LabelSelectorOpDoesNotExist
	case metav1.LabelSelectorOpDoesNotExist:
		r.Operator = metav1.LabelSelectorOpExists
	default:
		return metav1.LabelSelectorRequirement{}, false
	}
	return r, true
}

// appendRules adds the rules not yet in rules.
func appendRules(rules, more []admregv1.NamedRuleWithOperations) []admregv1.NamedRuleWithOperations {
	for _, m := range more {
		if !slices.ContainsFunc(rules, func(r admregv1.NamedRuleWithOperations) bool { return equality.Semantic.DeepEqual(r, m) }) {
			rules = append(rules, m)
		}
	}
	return rules
}

// appendVariables adds the variables not yet in vars; one name with two expressions is an error (twins share a
// variable only when it means the same).
func appendVariables(vars, more []admregv1.Variable) ([]admregv1.Variable, error) {
	for _, m := range more {
		i := slices.IndexFunc(vars, func(v admregv1.Variable) bool { return v.Name == m.Name })
		switch {
		case i < 0:
			vars = append(vars, m)
		case vars[i].Expression != m.Expression:
			return nil, fmt.Errorf("variable %s means %q in one twin and %q in another", m.Name, vars[i].Expression, m.Expression)
		}
	}
	return vars, nil
}

// gateOf is the CEL condition under which a twin's validations apply within a merged policy: its match conditions,
// and, when the merged policy matches resources the twin does not, the request being one of the twin's. "" when
// they always apply.
func gateOf(spec *admregv1.ValidatingAdmissionPolicySpec, merged []admregv1.NamedRuleWithOperations) string {
	var terms []string
	for _, c := range spec.MatchConditions {
		terms = append(terms, "("+c.Expression+")")
	}
	// The request's fields the API server leaves empty are absent (group "" of the core API, no subresource).
	own := spec.MatchConstraints.ResourceRules
	if len(own) != len(merged) {
		var resources []string
		for _, r := range own {
			for _, res := range r.Resources {
				for _, g := range r.APIGroups {
					if !slices.Contains(resources, g+"/"+res) {
						resources = append(resources, g+"/"+res)
					}
				}
			}
		}
		terms = append(terms, "(request.resource.?group.orValue('') + '/' + request.resource.resource + request.?subResource.optMap(s, '/' + s).orValue('')) in "+list(resources))
	}
	return strings.Join(terms, " && ")
}

func actions(m config.Mode) []admregv1.ValidationAction {
	switch m {
	case config.Warn:
		return []admregv1.ValidationAction{admregv1.Warn}
	case config.Audit:
		return []admregv1.ValidationAction{admregv1.Audit}
	}
	return []admregv1.ValidationAction{admregv1.Deny}
}

// renderer turns the configuration into CEL.
type renderer struct {
	cfg  *config.Config
	twin twin
}

// tag is the "[check TECHNIQUE]" every message starts with, as the webhook's denials do (the lab and operators read
// the check from it).
func (r *renderer) tag() string { return "[" + r.twin.check + " " + r.twin.technique + "]" }

// denied is a CEL string expression: the denial's text before its details.
func (r *renderer) denied() string {
	return quote("vnfguard denied (in the API server) ") + " + " + objectName + " + " + quote(": "+r.tag()+" ")
}

// objectName is a CEL expression naming the request's object: "Pod ns/name" (or the resource for CONNECT),
// "Namespace name" (the API server gives a Namespace request its own name as its namespace too), "NodeProxyOptions
// node" (a cluster-scoped request has no namespace at all: the API server leaves the empty field out, and reading
// it would fail the message).
const objectName = `request.kind.kind + ' ' + (request.?namespace.orValue('') != '' && request.kind.kind != 'Namespace' ? request.namespace + '/' : '') + request.name`

// quote renders s as a CEL string literal (CEL's escapes are Go's).
func quote(s string) string { return strconv.Quote(s) }

// list renders a CEL list of string literals.
func list(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// identity is a CEL condition: the request's user is in the set (config.IdentitySet.Matches).
func identity(s config.IdentitySet) string {
	users := append([]string(nil), s.Users...)
	var terms []string
	for _, sa := range s.ServiceAccounts {
		ns, name, _ := strings.Cut(sa, ":")
		if name == "*" {
			terms = append(terms, "request.userInfo.username.startsWith("+quote("system:serviceaccount:"+ns+":")+")")
			continue
		}
		users = append(users, "system:serviceaccount:"+ns+":"+name)
	}
	if len(users) > 0 {
		terms = append([]string{"request.userInfo.username in " + list(users)}, terms...)
	}
	if len(s.Groups) > 0 {
		terms = append(terms, "request.userInfo.groups.exists(g, g in "+list(s.Groups)+")")
	}
	if len(terms) == 0 {
		return "false"
	}
	return "(" + strings.Join(terms, " || ") + ")"
}

// protected is a CEL condition: the request's namespace is protected (config.Config.IsProtected), read from
// namespaceObject, which the API server supplies itself.
func (r *renderer) protected() (string, error) {
	return r.protection("request.namespace", "namespaceObject.metadata.?labels.orValue({})", "namespaceObject != null")
}

// protection is a CEL condition: the namespace named name (a CEL string) with labels (a CEL map) is protected
// (config.Config.IsProtected); present, unless "", is the condition under which labels can be read.
func (r *renderer) protection(name, labels, present string) (string, error) {
	var terms []string
	if names := r.cfg.ProtectedNamespaces.Names; len(names) > 0 {
		terms = append(terms, name+" in "+list(names))
	}
	if sel := r.cfg.ProtectedNamespaces.Selector; sel != nil {
		cond, err := selector(sel, labels)
		if err != nil {
			return "", err
		}
		if cond != "" && present != "" {
			cond = present + " && " + cond
		}
		if cond != "" {
			terms = append(terms, "("+cond+")")
		}
	}
	if len(terms) == 0 {
		return "false", nil
	}
	return "(" + strings.Join(terms, " || ") + ")", nil
}

// selector renders a label selector over labels (a CEL map); "" for an empty selector (which protects nothing, as
// config.Config.IsProtected reads it).
func selector(sel *config.LabelSelector, labels string) (string, error) {
	var terms []string
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		value := labels + bracket(k)
		terms = append(terms, fmt.Sprintf("(%s.hasValue() && %s.value() == %s)", value, value, quote(sel.MatchLabels[k])))
	}
	for i, e := range sel.MatchExpressions {
		value := labels + bracket(e.Key)
		switch e.Operator {
		case "In":
			terms = append(terms, fmt.Sprintf("(%s.hasValue() && %s.value() in %s)", value, value, list(e.Values)))
		case "NotIn":
			terms = append(terms, fmt.Sprintf("!(%s.hasValue() && %s.value() in %s)", value, value, list(e.Values)))
		case "Exists":
			terms = append(terms, value+".hasValue()")
		case "DoesNotExist":
			terms = append(terms, "!"+value+".hasValue()")
		default:
			return "", fmt.Errorf("protectedNamespaces.selector.matchExpressions[%d]: operator %q is not In, NotIn, Exists or DoesNotExist", i, e.Operator)
		}
	}
	if len(terms) == 0 {
		return "", nil
	}
	return strings.Join(terms, " && "), nil
}

// bracket is the optional index of a map key: [?'key'] (label keys hold dots and slashes).
func bracket(k string) string { return "[?" + quote(k) + "]" }

// forbidden is the reason of every denial: the webhook answers 403 Forbidden too.
func forbidden() *metav1.StatusReason {
	r := metav1.StatusReasonForbidden
	return &r
}
