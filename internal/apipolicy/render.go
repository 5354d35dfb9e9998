package apipolicy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	admregv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

// Names and labels of what Render makes.
const (
	// Prefix starts the name of every policy and binding: "vnfguard-" + the check's ID.
	Prefix = "vnfguard-"
	// ManagedByLabel marks the objects vnfguard keeps (and deletes on unregister).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is its value.
	ManagedBy = "vnfguard"
	// CheckAnnotation names the Go check a policy twins.
	CheckAnnotation = "vnfguard.io/check"
)

// Set is what the API server needs for in-process enforcement: the policies and one binding for each.
type Set struct {
	Policies []admregv1.ValidatingAdmissionPolicy
	Bindings []admregv1.ValidatingAdmissionPolicyBinding
}

// Names returns the policies' names, sorted (each binding has its policy's name).
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.Policies))
	for _, p := range s.Policies {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// twin is the CEL twin of one Go check.
type twin struct {
	// check is the ID of the Go check it twins; technique its FiGHT technique, for the messages.
	check, technique string
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

// Render builds the policies and bindings for cfg. A check configured in audit or warn mode gets the same validation
// action in the API server (Audit, Warn); in enforce mode, Deny.
func Render(cfg *config.Config) (*Set, error) {
	r := &renderer{cfg: cfg}
	set := &Set{}
	ordered := append([]twin(nil), twins...)
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].check < ordered[j].check })
	for _, t := range ordered {
		r.twin = t
		spec, err := t.spec(r)
		if err != nil {
			return nil, fmt.Errorf("render the API server policy of check %s: %w", t.check, err)
		}
		if spec == nil {
			continue
		}
		fail := admregv1.Fail
		spec.FailurePolicy = &fail
		if spec.MatchConstraints != nil && spec.MatchConstraints.MatchPolicy == nil {
			eq := admregv1.Equivalent
			spec.MatchConstraints.MatchPolicy = &eq
		}
		if t.params {
			spec.ParamKind = &admregv1.ParamKind{APIVersion: ParamsGroup + "/" + ParamsVersion, Kind: ParamsKind}
		}
		name := Prefix + t.check
		meta := metav1.ObjectMeta{
			Name:        name,
			Labels:      map[string]string{ManagedByLabel: ManagedBy},
			Annotations: map[string]string{CheckAnnotation: t.check},
		}
		pol := admregv1.ValidatingAdmissionPolicy{ObjectMeta: meta, Spec: *spec}
		pol.APIVersion, pol.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"
		b := admregv1.ValidatingAdmissionPolicyBinding{ObjectMeta: *meta.DeepCopy(), Spec: admregv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: actions(cfg.ModeOf(t.check)),
		}}
		b.APIVersion, b.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"
		if t.params {
			// Allow when the namespace has no parameters: a namespace that is not protected has none. A protected
			// namespace without them is refused by the policies themselves (paramsMissing), so that deleting the
			// parameters opens nothing.
			allow := admregv1.AllowAction
			b.Spec.ParamRef = &admregv1.ParamRef{Name: ParamsName, ParameterNotFoundAction: &allow}
		}
		set.Policies = append(set.Policies, pol)
		set.Bindings = append(set.Bindings, b)
	}
	return set, nil
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

// objectName is a CEL expression naming the request's object: "Pod ns/name" (or the resource for CONNECT).
const objectName = `request.kind.kind + ' ' + (request.namespace != '' ? request.namespace + '/' : '') + request.name`

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
	var terms []string
	if names := r.cfg.ProtectedNamespaces.Names; len(names) > 0 {
		terms = append(terms, "request.namespace in "+list(names))
	}
	if sel := r.cfg.ProtectedNamespaces.Selector; sel != nil {
		cond, err := selector(sel)
		if err != nil {
			return "", err
		}
		if cond != "" {
			terms = append(terms, "(namespaceObject != null && "+cond+")")
		}
	}
	if len(terms) == 0 {
		return "false", nil
	}
	return "(" + strings.Join(terms, " || ") + ")", nil
}

// selector renders a label selector over the namespace's labels; "" for an empty selector (which protects nothing,
// as config.Config.IsProtected reads it).
func selector(sel *config.LabelSelector) (string, error) {
	const labels = "namespaceObject.metadata.?labels.orValue({})"
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
