package rbac

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-mounted-token (M1018, with the technique of the account's most severe grant) flags ServiceAccounts
that hold any right the other checks report and whose token is mounted in running pods (automountServiceAccountToken
not false on the pod, nor — when the pod does not say — on the ServiceAccount): whoever runs code in one of
those pods reads the token and gets the rights. The finding names the pods; its severity is the account's most
severe grant's.

Allowed: accounts whose pods opt out of the token (automountServiceAccountToken: false on the pod or the
account), accounts no pod uses, and accounts whose rights come only from groups (those are reported on the
group).
*/
const ruleMountedToken = "rbac-mounted-token"

// maxPodsNamed bounds how many pods a message names.
const maxPodsNamed = 10

func (a *Analysis) mountedTokens(now time.Time, accounts map[string]*holding) []finding.Finding {
	if len(accounts) == 0 {
		return nil
	}
	automount := map[string]*bool{}
	for i := range a.in.ServiceAccounts {
		sa := &a.in.ServiceAccounts[i]
		automount[sa.Namespace+"/"+sa.Name] = sa.AutomountServiceAccountToken
	}
	pods := map[string][]string{}
	for i := range a.in.Pods {
		p := &a.in.Pods[i]
		name := p.Spec.ServiceAccountName
		if name == "" {
			name = p.Spec.DeprecatedServiceAccount
		}
		if name == "" {
			name = "default"
		}
		key := p.Namespace + "/" + name
		if accounts[key] == nil || !tokenMounted(p, automount[key]) {
			continue
		}
		pods[key] = append(pods[key], p.Name)
	}
	keys := make([]string, 0, len(pods))
	for k := range pods {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]finding.Finding, 0, len(keys))
	for _, key := range keys {
		acc, names := accounts[key], pods[key]
		sort.Strings(names)
		ns, name, _ := strings.Cut(key, "/")
		rights := uniqueSorted(acc.rights)
		shown := names
		more := ""
		if len(shown) > maxPodsNamed {
			shown, more = shown[:maxPodsNamed], fmt.Sprintf(" and %d more", len(names)-maxPodsNamed)
		}
		where := "namespace " + ns
		if a.protected(ns) {
			where = "protected namespace " + ns
		}
		msg := fmt.Sprintf("the token of ServiceAccount %s is mounted in pods %s%s of %s: code running in them can %s",
			key, strings.Join(shown, ", "), more, where, strings.Join(rights, "; "))
		obj := finding.ObjectRef{APIVersion: "v1", Kind: "ServiceAccount", Namespace: ns, Name: name}
		ev := map[string]string{
			"pods": strings.Join(names, ","), "rights": strings.Join(rights, "; "),
			"bindings": strings.Join(uniqueSorted(acc.bindings), ", "), "protected": fmt.Sprint(a.protected(ns)),
		}
		out = append(out, newFinding(now, ruleMountedToken, acc.technique, acc.severity, "ServiceAccount "+key, obj, msg, ev))
	}
	return out
}

// tokenMounted reports whether the pod gets the account's token: the pod's automountServiceAccountToken wins,
// then the account's, and the default is true.
func tokenMounted(p *corev1.Pod, saAutomount *bool) bool {
	if p.Spec.AutomountServiceAccountToken != nil {
		return *p.Spec.AutomountServiceAccountToken
	}
	if saAutomount != nil {
		return *saAutomount
	}
	return true
}

func uniqueSorted(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}
