package apipolicy

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The twin refuses, in protected namespaces, the valid references the check refuses as not pinned by digest (but
// those whose registry validTagRef does not recognise), in init, regular and ephemeral containers and templates;
// never what the check allows: not valid references with an '@' (image-registry's), anything outside protected
// namespaces, an update leaving the spec as it was.
func TestImageProvenanceTwin(t *testing.T) {
	cfg := parse(t, "protectedNamespaces: {names: [vnf-core]}\n")
	c := compileSpec(t, twinSpec(t, cfg, "image-provenance"))
	type tc struct {
		a    admission
		left bool
	}
	var cases []tc
	for _, image := range refImages {
		_, _, _, err := ggcr(image)
		host := ""
		if i := strings.Index(image, "/"); i > 0 && strings.ContainsAny(image[:i], ".:") {
			host = image[:i]
		}
		left := err == nil && host != "" && !plainHost.MatchString(host)
		for _, ns := range []string{"vnf-core", "default"} {
			cases = append(cases, tc{a: admission{namespace: ns, obj: pod(ns, "127.0.0.1:5000/ok@"+sha, image)}, left: left})
		}
	}
	initPod := pod("vnf-core", "127.0.0.1:5000/ok@"+sha)
	initPod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "127.0.0.1:5000/init:1"}}
	ephemeral := pod("vnf-core", "127.0.0.1:5000/ok@"+sha)
	ephemeral.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	tagged := pod("vnf-core", "127.0.0.1:5000/upf:1.0")
	cases = append(cases, tc{a: admission{namespace: "vnf-core", obj: initPod}}, tc{a: admission{namespace: "vnf-core", obj: ephemeral}},
		tc{a: admission{namespace: "vnf-core", obj: deployment(tagged)}}, tc{a: admission{namespace: "vnf-core", obj: cronJob(tagged)}},
		tc{a: admission{namespace: "vnf-core", obj: tagged, old: tagged.DeepCopy()}})
	refused := 0
	for _, tc := range cases {
		_, failed := c.eval(t, tc.a.celInput(t, nil))
		denials := goDenials(t, cfg, tc.a, "image-provenance", nil)
		desc := fmt.Sprintf("%s %T %q", tc.a.namespace, tc.a.obj, images(tc.a.obj))
		switch {
		case len(failed) > 0 && len(denials) == 0:
			t.Errorf("%s: the twin refuses (%v), the check allows", desc, failed)
		case len(failed) == 0 && len(denials) > 0 && !tc.left:
			t.Errorf("%s: the check refuses (%s), the twin allows", desc, denials[0].Message)
		case len(failed) > 0 && !strings.Contains(failed[0], "[image-provenance FGT"):
			t.Errorf("%s: message %q does not start with the check's tag", desc, failed[0])
		}
		if len(failed) > 0 {
			refused++
		}
	}
	if refused < 10 {
		t.Errorf("only %d of %d cases refused: the cases exercise too little", refused, len(cases))
	}
	for image, want := range map[string]bool{
		"127.0.0.1:5000/upf@" + sha: true, "127.0.0.1:5000/upf:1@" + sha: true, "127.0.0.1:5000/upf:1": false, "127.0.0.1:5000/upf": false,
		"nginx": false, "nginx@sha256:abc": true, "localhost:5000/upf:1": false,
	} {
		_, failed := c.eval(t, admission{namespace: "vnf-core", obj: pod("vnf-core", image)}.celInput(t, nil))
		if (len(failed) == 0) != want {
			t.Errorf("image %q: allowed %v, want %v (%v)", image, len(failed) == 0, want, failed)
		}
	}
	if spec := twinSpec(t, parse(t, "protectedNamespaces: {names: [vnf-core]}\nregistries: {requireDigest: false}\n"), "image-provenance"); spec != nil {
		t.Error("the twin is rendered although registries.requireDigest is false")
	}
}
