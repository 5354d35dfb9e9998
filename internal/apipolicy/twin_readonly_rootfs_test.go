package apipolicy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The twin refuses, in protected namespaces, the containers (init, regular, ephemeral; in pods and templates) with a
// writable root filesystem that no profile names; it leaves the ones some profile names to the webhook, and never
// refuses what the check allows.
func TestReadOnlyRootFSTwin(t *testing.T) {
	cfg := parse(t, `protectedNamespaces: {selector: {matchLabels: {vnfguard.io/protected: "true"}}}
profiles:
  - {name: upf, products: [UPF], allowWritableRootFilesystem: [cache]}
  - {name: ims, products: [IMS], allowWritableRootFilesystem: [scratch, cache]}
`)
	c := compileSpec(t, twinSpec(t, cfg, "readonly-rootfs"))
	protected := map[string]string{"vnfguard.io/protected": "true"}
	writable := func(name string, ro *bool) corev1.Container {
		ctr := corev1.Container{Name: name, Image: "127.0.0.1:5000/upf@" + sha}
		if ro != nil {
			ctr.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ro}
		}
		return ctr
	}
	with := func(edit func(*corev1.PodSpec)) *corev1.Pod {
		p := pod("vnf-core", "127.0.0.1:5000/upf@"+sha)
		edit(&p.Spec)
		return p
	}
	cases := []struct {
		name   string
		obj    *corev1.Pod
		refuse []string // the containers the twin refuses
	}{
		{"read-only", with(func(*corev1.PodSpec) {}), nil},
		{"unset", with(func(s *corev1.PodSpec) { s.Containers = append(s.Containers, writable("app", nil)) }), []string{"app"}},
		{"false", with(func(s *corev1.PodSpec) { s.Containers = append(s.Containers, writable("app", ptr.To(false))) }), []string{"app"}},
		{"securityContext without the field", with(func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, corev1.Container{Name: "app", Image: "x", SecurityContext: &corev1.SecurityContext{}})
		}), []string{"app"}},
		{"a profile's container", with(func(s *corev1.PodSpec) { s.Containers = append(s.Containers, writable("cache", nil)) }), nil},
		{"another profile's container", with(func(s *corev1.PodSpec) { s.Containers = append(s.Containers, writable("scratch", ptr.To(false))) }), nil},
		{"init", with(func(s *corev1.PodSpec) { s.InitContainers = []corev1.Container{writable("init", nil)} }), []string{"init"}},
		{"ephemeral", with(func(s *corev1.PodSpec) {
			s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(writable("debugger", nil))}}
		}), []string{"debugger"}},
		{"several", with(func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{writable("init", ptr.To(false)), writable("cache", nil)}
			s.Containers = append(s.Containers, writable("app", nil))
		}), []string{"app", "init"}},
	}
	for _, tc := range cases {
		for _, ns := range []string{"vnf-core", "sandbox"} {
			p := tc.obj.DeepCopy()
			p.Namespace = ns
			labels := map[string]string(nil)
			if ns == "vnf-core" {
				labels = protected
			}
			for _, a := range []admission{{namespace: ns, obj: p}, {namespace: ns, obj: deployment(p)}, {namespace: ns, obj: cronJob(p)}, {namespace: ns, obj: p, old: p.DeepCopy()}} {
				desc := fmt.Sprintf("%s in %s (%T, update %v)", tc.name, ns, a.obj, a.old != nil)
				_, failed := c.eval(t, a.celInput(t, labels))
				want := ns == "vnf-core" && a.old == nil && len(tc.refuse) > 0
				if (len(failed) > 0) != want {
					t.Errorf("%s: refused %v, want refused %v", desc, failed, want)
				}
				if want {
					for _, name := range tc.refuse {
						if !containsAll(failed[0], "[readonly-rootfs FGT", name) {
							t.Errorf("%s: message %q does not name the check and container %s", desc, failed[0], name)
						}
					}
				}
				// The check (no instance, so no profile) refuses at least what the twin refuses.
				if len(failed) > 0 && len(goDenials(t, cfg, a, "readonly-rootfs", labels)) == 0 {
					t.Errorf("%s: the twin refuses, the check allows", desc)
				}
			}
		}
	}
	if spec := twinSpec(t, parse(t, "profiles: [{name: any, products: [X], allowWritableRootFilesystem: [\"*\"]}]\n"), "readonly-rootfs"); spec != nil {
		t.Error("the twin is rendered although a profile allows every container")
	}
}

func containsAll(s string, subs ...string) bool {
	return !slices.ContainsFunc(subs, func(sub string) bool { return !strings.Contains(s, sub) })
}
