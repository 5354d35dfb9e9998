package apipolicy

import (
	"slices"
	"sort"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

// The layouts BenchmarkAPIServerPolicies (package apipolicy_test, which imports internal/lab) compares with what
// Render makes: the twins without the joint policy, and each twin alone.

// SeparateSet is the layout before the joint policy, as a protected namespace met it: the workload twins in one
// policy bound everywhere, the lifecycle twins in another bound to the protected namespaces with the parameters
// required (and elsewhere with Allow), each policy with its own "protected" variable (read from namespaceObject),
// bound as Render binds a policy that is not part of a joint one.
func SeparateSet(cfg *config.Config) (*Set, error) {
	return layout(cfg, func(t twin) string {
		if slices.Contains(jointGroups, t.group) {
			return PolicyName(t.group, cfg.ModeOf(t.check))
		}
		return ""
	})
}

// TwinSet is the policy of one twin alone, named Prefix + check, bound as SeparateSet binds its group's.
func TwinSet(cfg *config.Config, check string) (*Set, error) {
	return layout(cfg, func(t twin) string {
		if t.check == check {
			return Prefix + check
		}
		return ""
	})
}

// JointChecks are the checks whose twins the joint policy holds (the twins of its groups), sorted.
func JointChecks() []string {
	var out []string
	for _, t := range twins {
		if slices.Contains(jointGroups, t.group) {
			out = append(out, t.check)
		}
	}
	sort.Strings(out)
	return out
}

// layout renders the twins policyOf names ("" leaves a twin out) into the policies it names, merged and bound as
// render does for a policy that is not part of a joint one.
func layout(cfg *config.Config, policyOf func(twin) string) (*Set, error) {
	r := &renderer{cfg: cfg}
	sc, err := r.scope()
	if err != nil {
		return nil, err
	}
	ordered := append([]twin(nil), twins...)
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].check < ordered[j].check })
	groups := map[string][]part{}
	var names []string
	for _, t := range ordered {
		name := policyOf(t)
		if name == "" {
			continue
		}
		spec, err := r.spec(t)
		if err != nil {
			return nil, err
		}
		if spec == nil {
			continue
		}
		if groups[name] == nil {
			names = append(names, name)
		}
		groups[name] = append(groups[name], part{t, spec})
	}
	sort.Strings(names)
	set := &Set{}
	for _, name := range names {
		parts := groups[name]
		pol, err := merge(name, parts)
		if err != nil {
			return nil, err
		}
		acts := actions(cfg.ModeOf(parts[0].t.check))
		if pol.Spec.ParamKind != nil {
			set.Bindings = append(set.Bindings, sc.binding(pol.ObjectMeta, name, sc.others, true, admregv1.AllowAction, acts))
			set.Bindings = append(set.Bindings, sc.protectedBindings(pol.ObjectMeta, name+protectedByName, name+protectedByLabel, acts)...)
		} else {
			set.Bindings = append(set.Bindings, sc.binding(pol.ObjectMeta, name, nil, false, "", acts))
		}
		set.Policies = append(set.Policies, pol)
	}
	return set, nil
}
