package posture

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// The chart's own rendering (testdata/node-agent/chart.yaml, regenerated with the command on its first line) is the
// exact shape; each deviation from it, and a look-alike elsewhere, is judged at full severity.
func TestNodeAgentException(t *testing.T) {
	ptr := func(v int64) *int64 { return &v }
	yes := true
	for _, tc := range []struct {
		name string
		edit func(ds *appsv1.DaemonSet)
		// exception: the host access is reported at info with the exception's name; otherwise at full severity,
		// with broken in the message when the DaemonSet is vnfguard's own.
		exception bool
		broken    string
	}{
		{name: "the chart's shape", exception: true},
		{name: "another hostPath", broken: "second hostPath", edit: func(ds *appsv1.DaemonSet) {
			spec := &ds.Spec.Template.Spec
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}})
		}},
		{name: "the socket's directory", broken: "not the containerd socket", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Volumes[0].HostPath.Path = "/run/containerd"
			dir := corev1.HostPathDirectory
			ds.Spec.Template.Spec.Volumes[0].HostPath.Type = &dir
		}},
		{name: "privileged", broken: "is privileged", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &yes
		}},
		{name: "writable socket mount", broken: "writable", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].VolumeMounts[0].ReadOnly = false
		}},
		{name: "another image", broken: "not vnfguard's own image", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].Image = "registry.example/tools/agent:1"
		}},
		{name: "root", broken: "may run as root", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = ptr(0)
		}},
		{name: "an added capability", broken: "adds capabilities", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_PTRACE"}
		}},
		{name: "hostNetwork too", broken: "network or IPC namespace", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.HostNetwork = true
		}},
		{name: "serve's ServiceAccount", broken: "runs as ServiceAccount", edit: func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.ServiceAccountName = "vnfguard"
		}},
		{name: "a second container", broken: "not one container", edit: func(ds *appsv1.DaemonSet) {
			spec := &ds.Spec.Template.Spec
			spec.Containers = append(spec.Containers, *spec.Containers[0].DeepCopy())
			spec.Containers[1].Name = "sidecar"
		}},
		{name: "a look-alike in another namespace", edit: func(ds *appsv1.DaemonSet) { ds.Namespace = "tools" }},
		{name: "a look-alike of another name", edit: func(ds *appsv1.DaemonSet) { ds.Name = "vnfguard-node-debug" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := FromFiles([]string{"testdata/node-agent/chart.yaml"}, "")
			if err != nil {
				t.Fatal(err)
			}
			var ds *appsv1.DaemonSet
			for _, o := range in.Objects {
				if d, ok := o.Object.(*appsv1.DaemonSet); ok {
					ds = d
				}
			}
			if ds == nil {
				t.Fatal("no DaemonSet in testdata/node-agent/chart.yaml")
			}
			if tc.edit != nil {
				tc.edit(ds)
			}
			fs, err := Scan(context.Background(), in, Options{Config: config.Default(), Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			var takeover *finding.Finding
			hostFindings := 0
			for i, f := range fs {
				if f.Object.Kind == "Deployment" && (f.Rule == "posture-host-takeover" || f.Rule == "posture-pod-security") {
					t.Errorf("serve's Deployment: %s %s", f.Severity, f.Message)
				}
				if f.Object.Kind != "DaemonSet" || (f.Rule != "posture-host-takeover" && f.Rule != "posture-pod-security") {
					continue
				}
				hostFindings++
				if f.Rule == "posture-host-takeover" && strings.HasSuffix(f.Evidence["field"], ".volumes[0].hostPath.path") {
					takeover = &fs[i]
				}
				named := strings.Contains(f.Message, NodeAgentException)
				switch {
				case tc.exception && (f.Severity != finding.Info || !named || f.Evidence["exception"] != "node-agent"):
					t.Errorf("%s at %s, want info naming the exception: %s", f.Rule, f.Severity, f.Message)
				case !tc.exception && (f.Severity == finding.Info || named || f.Evidence["exception"] != ""):
					t.Errorf("%s at %s names the exception although the DaemonSet is beyond it: %s", f.Rule, f.Severity, f.Message)
				case tc.broken != "" && (!strings.Contains(f.Message, "not vnfguard's named node-agent exception: ") || !strings.Contains(f.Message, tc.broken)):
					t.Errorf("%s: the message does not say what broke the exception (%q): %s", f.Rule, tc.broken, f.Message)
				}
			}
			// Reported, never hidden: the socket is a host-takeover finding in every case, at info only for the
			// exact shape; hostPID and the hostPath are pod-security findings besides.
			if takeover == nil || hostFindings < 2 {
				t.Fatalf("%d host findings, host-takeover on the socket %v; want both reported", hostFindings, takeover != nil)
			}
			if want := map[bool]finding.Severity{true: finding.Info, false: finding.Critical}[tc.exception]; takeover.Severity != want {
				t.Errorf("host-takeover on the socket at %s, want %s: %s", takeover.Severity, want, takeover.Message)
			}
		})
	}
}

// The exception follows config self: with vnfguard in another namespace, the chart's DaemonSet in namespace
// vnfguard is no longer its node agent.
func TestNodeAgentFollowsSelf(t *testing.T) {
	in, err := FromFiles([]string{"testdata/node-agent/chart.yaml"}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("self: {namespace: security}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Scan(context.Background(), in, Options{Config: cfg, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == "posture-host-takeover" && f.Severity != finding.Critical {
			t.Errorf("host-takeover at %s with vnfguard in namespace security: %s", f.Severity, f.Message)
		}
	}
}
