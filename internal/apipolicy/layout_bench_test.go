package apipolicy

import (
	"maps"
	"slices"
	"sort"

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

// RenderDeclared is Render's set with every variable its twins declare (no inlineVariables), for the test that
// holds the inlined policies to its decisions.
func RenderDeclared(cfg *config.Config) (*Set, error) { return render(cfg, true, false) }

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
	groups, err := r.group(policyOf)
	if err != nil {
		return nil, err
	}
	set := &Set{}
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		pol, err := merge(name, groups[name])
		if err != nil {
			return nil, err
		}
		if err := declareVariables(&pol.Spec, true); err != nil {
			return nil, err
		}
		set.Policies = append(set.Policies, pol)
		set.Bindings = append(set.Bindings, sc.alone(pol, actions(cfg.ModeOf(groups[name][0].t.check)))...)
	}
	return set, nil
}
