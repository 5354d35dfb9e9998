package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestReadOnlyRootFS(t *testing.T) {
	writable := func(v *bool) func(*corev1.Container) {
		return func(c *corev1.Container) { c.SecurityContext.ReadOnlyRootFilesystem = v }
	}
	type edit struct {
		list string // containers, initContainers, ephemeralContainers
		i    int
		f    func(*corev1.Container)
	}
	tests := []struct {
		name    string
		profile string // extra profile config for UPF
		mode    string // checks.readonly-rootfs.mode
		ns      string
		edits   []edit
		// fields denied (in order), and the profile note wanted ("" none).
		denied []string
		warned int
		note   string
	}{
		{name: "read-only everywhere", ns: protectedNS},
		{name: "unset on the main container", ns: protectedNS, edits: []edit{{"containers", 0, writable(nil)}},
			denied: []string{"spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem"}},
		{name: "false on the sidecar", ns: protectedNS, edits: []edit{{"containers", 1, writable(ptr.To(false))}},
			denied: []string{"spec.template.spec.containers[1].securityContext.readOnlyRootFilesystem"}},
		{name: "no securityContext on an init container", ns: protectedNS,
			edits:  []edit{{"initContainers", 0, func(c *corev1.Container) { c.SecurityContext = nil }}},
			denied: []string{"spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem"}},
		{name: "writable ephemeral container (kubectl debug)", ns: protectedNS, edits: []edit{{"ephemeralContainers", 0, writable(nil)}},
			denied: []string{"spec.template.spec.ephemeralContainers[0].securityContext.readOnlyRootFilesystem"}},
		{name: "outside protected namespaces", ns: "default", edits: []edit{{"containers", 0, writable(nil)}, {"containers", 1, writable(ptr.To(false))}}},
		{name: "profile names the main container", ns: protectedNS, profile: "allowWritableRootFilesystem: [upf]",
			edits:  []edit{{"containers", 0, writable(nil)}, {"containers", 1, writable(nil)}},
			denied: []string{"spec.template.spec.containers[1].securityContext.readOnlyRootFilesystem"},
			note:   "profile upf allowed a writable root filesystem for container(s) upf"},
		{name: "profile allows every container", ns: protectedNS, profile: `allowWritableRootFilesystem: ["*"]`,
			edits: []edit{{"containers", 0, writable(nil)}, {"initContainers", 0, writable(ptr.To(false))}},
			note:  "profile upf allowed a writable root filesystem for container(s) init, upf"},
		{name: "warn mode", ns: protectedNS, mode: "warn", edits: []edit{{"containers", 0, writable(nil)}}, warned: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.mode != "" {
				extra += "checks: {readonly-rootfs: {mode: " + tt.mode + "}}\n"
			}
			e := newTestEnv(t, extra)
			if tt.profile != "" {
				// Extend the flow mapping of the test configuration's UPF profile.
				e = newTestEnvConfig(t, strings.Replace(testConfig, "allowNetworks: [n3, n6]}", "allowNetworks: [n3, n6], "+tt.profile+"}", 1)+extra)
			}
			spec := cnfPodSpec()
			spec.InitContainers = []corev1.Container{restrictedContainer("init", upfImage)}
			spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(restrictedContainer("debug", upfImage))}}
			for _, ed := range tt.edits {
				switch ed.list {
				case "containers":
					ed.f(&spec.Containers[ed.i])
				case "initContainers":
					ed.f(&spec.InitContainers[ed.i])
				default:
					ed.f((*corev1.Container)(&spec.EphemeralContainers[ed.i].EphemeralContainerCommon))
				}
			}
			d := vnfmDeployment("upf", "upf-1", spec)
			d.Namespace = tt.ns
			d.ObjectMeta = metav1.ObjectMeta{Name: d.Name, Namespace: tt.ns, Labels: d.Labels}
			dec := e.evaluator(t).Evaluate(context.Background(), deploymentRequest(Create, vnfmUser, d, nil))
			var denied []string
			for _, v := range dec.Denials {
				if v.Check == "readonly-rootfs" {
					denied = append(denied, v.Field)
					if v.Technique == "" || !slices.Equal(v.Mitigations, []string{"M1038"}) || !strings.Contains(v.Message, "writable root filesystem") {
						t.Errorf("violation %+v: want technique, M1038 and a message", v)
					}
				}
			}
			if !slices.Equal(denied, tt.denied) {
				t.Errorf("denied %v, want %v; decision: %s", denied, tt.denied, dec.Message())
			}
			if len(tt.denied) == 0 && tt.ns == protectedNS && !dec.Allowed {
				t.Errorf("denied: %s", dec.Message())
			}
			warned := 0
			for _, v := range dec.Warnings {
				if v.Check == "readonly-rootfs" {
					warned++
				}
			}
			if warned != tt.warned {
				t.Errorf("%d warnings, want %d", warned, tt.warned)
			}
			if tt.note != "" && !slices.Contains(dec.Exceptions, tt.note) {
				t.Errorf("exceptions %q, want %q among them", dec.Exceptions, tt.note)
			}
			if tt.note == "" && slices.ContainsFunc(dec.Exceptions, func(s string) bool { return strings.Contains(s, "root filesystem") }) {
				t.Errorf("exceptions %q name a root-filesystem exception nobody used", dec.Exceptions)
			}
		})
	}
}
