package detect

import (
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
)

// This file holds the rules' views of package danger's definitions, the ones admission and posture judge with
// too: dangerousCapabilities(), runsAsRoot(), dangerousGrants(role) and powerfulBinding(binding). The objects come
// decoded from JSON; they are read into danger's types here and judged there.

// shapeState is what an activation computes, at most once, of package danger's pod judgements.
type shapeState struct {
	pod        danger.Pod
	podDone    bool
	caps, root []string // nil until computed
}

// shape is the activation's shapeState. It lives in the activation, which the evaluation's scratch reuses: most
// events never need it, but one allocated for each pod write was a tenth of a pod create's allocations.
func (a *activation) shape() *shapeState {
	return &a.shapes
}

// dangerPod is the pod spec read into danger's view, once per event.
func (a *activation) dangerPod() danger.Pod {
	if !a.shape().podDone {
		a.shapes.podDone = true
		a.shapes.pod = a.podSpecView().dangerPod()
	}
	return a.shapes.pod
}

// dangerousCapabilities lists the dangerous capabilities the event's pod spec adds ("SYS_ADMIN in container c
// (...)"), with the profile of the object's VNF product applied: the instance is resolved only when a capability
// that a profile may allow (NET_ADMIN) is added, so that most events cost no resolution.
func (a *activation) dangerousCapabilities() []string {
	if a.shape().caps != nil {
		return a.shapes.caps
	}
	pod := a.dangerPod()
	hits := danger.DangerousCapabilities(pod, nil)
	for _, h := range hits {
		if bad, _ := danger.Capability(h.Capability, []string{h.Capability}); !bad {
			// Profile-dependent: judge again with the profile of the object's product.
			hits = danger.DangerousCapabilities(pod, a.profileCapabilities())
			break
		}
	}
	a.shapes.caps = make([]string, 0, len(hits))
	for _, h := range hits {
		a.shapes.caps = append(a.shapes.caps, h.String())
	}
	return a.shapes.caps
}

// runsAsRoot lists the containers of the event's pod spec that run as user 0, unless the profile of the object's
// VNF product allows running as root.
func (a *activation) runsAsRoot() []string {
	if a.shape().root != nil {
		return a.shapes.root
	}
	a.shapes.root = []string{}
	ctrs := danger.RunsAsRoot(a.dangerPod())
	if len(ctrs) == 0 {
		return a.shapes.root
	}
	if p := a.profile(); p != nil && p.AllowRunAsRoot {
		return a.shapes.root
	}
	for _, c := range ctrs {
		a.shapes.root = append(a.shapes.root, c.Name)
	}
	return a.shapes.root
}

func (a *activation) profileCapabilities() []string {
	if p := a.profile(); p != nil {
		return p.AllowCapabilities
	}
	return nil
}

// dangerousGrants lists what an RBAC Role or ClusterRole object grants that leads to a takeover (danger.Grants,
// Kubernetes' own rule matching: apiGroups, subresources, wildcards).
func dangerousGrants(role map[string]any) []string {
	return danger.DangerousGrants(policyRules(role["rules"]))
}

// powerfulBinding lists why a RoleBinding or ClusterRoleBinding object hands a lot to its subjects
// (danger.PowerfulBinding); any other object gives [].
func powerfulBinding(obj map[string]any) []string {
	var b danger.Binding
	switch obj["kind"] {
	case "RoleBinding":
		if md, ok := obj["metadata"].(map[string]any); ok {
			b.Namespace, _ = md["namespace"].(string)
		}
	case "ClusterRoleBinding":
	default:
		return []string{}
	}
	if rr, ok := obj["roleRef"].(map[string]any); ok {
		b.RoleRef.Kind, _ = rr["kind"].(string)
		b.RoleRef.Name, _ = rr["name"].(string)
		b.RoleRef.APIGroup, _ = rr["apiGroup"].(string)
	}
	subjects, _ := obj["subjects"].([]any)
	for _, it := range subjects {
		m, _ := it.(map[string]any)
		if m == nil {
			continue
		}
		var s rbacv1.Subject
		s.Kind, _ = m["kind"].(string)
		s.Name, _ = m["name"].(string)
		s.Namespace, _ = m["namespace"].(string)
		s.APIGroup, _ = m["apiGroup"].(string)
		b.Subjects = append(b.Subjects, s)
	}
	hits := danger.PowerfulBinding(b)
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		out = append(out, h.String())
	}
	return out
}

// policyRules reads a role's rules from JSON; entries of the wrong shape grant nothing, as the API server would
// have refused them.
func policyRules(v any) []rbacv1.PolicyRule {
	items, _ := v.([]any)
	out := make([]rbacv1.PolicyRule, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		if m == nil {
			continue
		}
		out = append(out, rbacv1.PolicyRule{
			Verbs: stringList(m["verbs"]), APIGroups: stringList(m["apiGroups"]), Resources: stringList(m["resources"]),
			ResourceNames: stringList(m["resourceNames"]), NonResourceURLs: stringList(m["nonResourceURLs"]),
		})
	}
	return out
}

// profile is the profile of the object's VNF product, or nil.
func (a *activation) profile() *config.Profile {
	a.resolve()
	return a.e.env.Config.ProfileFor(a.product)
}

// objectListFunction declares a CEL function from an object (a map) to a list of strings, such as
// dangerousGrants(object()).
func objectListFunction(name string, fn func(map[string]any) []string) cel.EnvOption {
	return cel.Function(name,
		cel.Overload(name+"_map", []*cel.Type{cel.MapType(cel.StringType, cel.DynType)}, cel.ListType(cel.StringType),
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				m, ok := v.Value().(map[string]any)
				if !ok {
					if _, isMap := v.(traits.Mapper); !isMap {
						return types.NoSuchOverloadErr()
					}
					// A map built in CEL rather than decoded from the event: convert it.
					conv, err := v.ConvertToNative(mapType)
					if err != nil {
						return types.WrapErr(err)
					}
					m, _ = conv.(map[string]any)
				}
				return types.DefaultTypeAdapter.NativeToValue(fn(m))
			})))
}
