package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

var updateReviews = flag.Bool("update-reviews", false, "rewrite testdata/reviews from the test requests")

// reviewRequests are requests of this package's tests, of every kind the policy decodes and of an unstructured one,
// in every operation: the requests TestRequestsAsReviews writes as AdmissionReviews.
func reviewRequests() map[string]*Request {
	tpl := func(spec corev1.PodSpec) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "upf"}}, Spec: spec}
	}
	workload := func(kind, resource, group string, obj runtime.Object) *Request {
		m := obj.(metav1.Object)
		m.SetNamespace(protectedNS)
		return &Request{UID: "uid-" + strings.ToLower(kind), Operation: Create, Kind: schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
			Resource: schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource}, Namespace: protectedNS, Name: m.GetName(),
			User: vnfmUser, Object: obj}
	}
	upf := withSpec(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		s.Containers[0].Resources.Limits = corev1.ResourceList{"hugepages-1Gi": resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("2")}
		s.Containers[0].Env = []corev1.EnvVar{{Name: "N3", Value: "net1"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		s.InitContainers = []corev1.Container{restrictedContainer("init", upfImage)}
	})
	deployment := vnfmDeployment("upf", "upf-1", cnfPodSpec())
	scaled := deployment.DeepCopy()
	scaled.Spec.Replicas = ptr.To[int32](5)
	generated := controllerPod("upf-rs", cnfPodSpec())
	generated.Name, generated.GenerateName = "", "upf-rs-"
	deleted := podRequest(controllerUser, protectedNS, controllerPod("upf-rs", cnfPodSpec()))
	deleted.Operation, deleted.OldObject, deleted.Object = Delete, deleted.Object, nil
	ephemeral := podRequest(attacker, protectedNS, controllerPod("upf-rs", withSpec(func(s *corev1.PodSpec) {
		s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox", Stdin: true, TTY: true}}}
	})))
	ephemeral.Operation, ephemeral.SubResource = Update, "ephemeralcontainers"
	ephemeral.OldObject = controllerPod("upf-rs", cnfPodSpec())
	dryRun := podRequest(attacker, "default", peiratesPod())
	dryRun.DryRun = true
	dryRun.User = authnv1.UserInfo{Username: "mallory", UID: "u-1", Groups: []string{"system:authenticated"},
		Extra: map[string]authnv1.ExtraValue{"scopes.authorization.openshift.io": {"user:full"}}}
	scale := func(n int32) *autoscalingv1.Scale {
		return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "smf", Namespace: protectedNS}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	}
	connect := func(sub string, opts runtime.Object) *Request {
		r := connectRequest(attacker, protectedNS, "upf-pod", sub)
		r.Object = opts
		return r
	}
	return map[string]*Request{
		"pod-cnf-controller": podRequest(controllerUser, protectedNS, controllerPod("upf-rs", cnfPodSpec())),
		"pod-upf-exception":  podRequest(controllerUser, protectedNS, controllerPod("upf-rs", upf)),
		"pod-peirates":       podRequest(attacker, "default", peiratesPod()),
		"pod-teamtnt":        podRequest(attacker, "default", teamTNTPod("SYS_ADMIN", "NET_ADMIN")),
		"pod-node-agent":     podRequest(controllerUser, "vnfguard", agentPod()),
		"pod-generate-name":  podRequest(controllerUser, protectedNS, generated),
		"pod-mounting-claim": mountingPod(sandboxNS, claimVolume("loot-amf")),
		"pod-delete":         deleted,
		"pod-ephemeral":      ephemeral,
		"pod-dry-run":        dryRun,
		"deployment-create":  deploymentRequest(Create, vnfmUser, deployment, nil),
		"deployment-update":  deploymentRequest(Update, vnfmUser, scaled, deployment),
		"statefulset-create": workload("StatefulSet", "statefulsets", "apps", &appsv1.StatefulSet{ObjectMeta: meta("udr", map[string]string{vnf.DefaultInstanceLabel: "udr-1"}), Spec: appsv1.StatefulSetSpec{Template: tpl(cnfPodSpec()), VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}}),
		"daemonset-create":   workload("DaemonSet", "daemonsets", "apps", &appsv1.DaemonSet{ObjectMeta: meta("agent", nil), Spec: appsv1.DaemonSetSpec{Template: tpl(agentPod().Spec)}}),
		"replicaset-create":  workload("ReplicaSet", "replicasets", "apps", &appsv1.ReplicaSet{ObjectMeta: meta("upf-rs", nil, ownedBy("Deployment", "upf")), Spec: appsv1.ReplicaSetSpec{Template: tpl(cnfPodSpec())}}),
		"job-create":         workload("Job", "jobs", "batch", &batchv1.Job{ObjectMeta: meta("migrate", nil), Spec: batchv1.JobSpec{Template: tpl(peiratesPod().Spec)}}),
		"cronjob-create":     workload("CronJob", "cronjobs", "batch", &batchv1.CronJob{ObjectMeta: meta("backup", nil), Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tpl(cnfPodSpec())}}}}),
		"replicationcontroller-create": workload("ReplicationController", "replicationcontrollers", "", &corev1.ReplicationController{ObjectMeta: meta("rc", nil),
			Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](1), Template: ptr.To(tpl(cnfPodSpec()))}}),
		"scale-update": {UID: "uid-scale", Operation: Update, Kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
			Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, SubResource: "scale", Namespace: protectedNS, Name: "smf",
			User: opsAdmin, Object: scale(3), OldObject: scale(0)},
		"namespace-update":    namespaceRequest(Update, attacker, namespaceObj(protectedNS, nil), namespaceObj(protectedNS, map[string]string{"vnfguard.io/protected": "true"})),
		"pvc-create":          claimRequest(sandboxNS, sandboxClaim("loot", "pv-amf")),
		"pv-update":           volumeUpdate(volume("pv-amf", nil, claimRef(protectedNS, "amf-data", "amf-uid")), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = nil }),
		"exec-connect":        connect("exec", &corev1.PodExecOptions{Stdin: true, TTY: true, Container: "upf", Command: []string{"sh", "-c", "id"}}),
		"attach-connect":      connect("attach", &corev1.PodAttachOptions{Stdin: true, Container: "upf"}),
		"portforward-connect": connect("portforward", &corev1.PodPortForwardOptions{Ports: []int32{8080}}),
		"volumesnapshot-create": {UID: "uid-snap", Operation: Create, Kind: schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"},
			Resource: schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}, Namespace: sandboxNS, Name: "snap", User: attacker,
			Object: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
				"metadata": map[string]any{"name": "snap", "namespace": sandboxNS}, "spec": map[string]any{"source": map[string]any{"persistentVolumeClaimName": "loot-amf"}}}}},
	}
}

// reviewOf is the AdmissionReview the API server sends for req: the objects with their apiVersion and kind, and for
// CONNECT the kind of the connect options as request.kind.
func reviewOf(t *testing.T, req *Request) []byte {
	t.Helper()
	kind := req.Kind
	if req.Operation == Connect {
		kind = corev1.SchemeGroupVersion.WithKind(optionsKind(req.Object))
	}
	raw := func(obj runtime.Object) runtime.RawExtension {
		if obj == nil {
			return runtime.RawExtension{}
		}
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(kind)
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: data}
	}
	ar := &admissionv1.AdmissionRequest{UID: types.UID(req.UID), Kind: metav1.GroupVersionKind(kind), Resource: metav1.GroupVersionResource(req.Resource),
		SubResource: req.SubResource, RequestKind: ptr.To(metav1.GroupVersionKind(kind)), RequestResource: ptr.To(metav1.GroupVersionResource(req.Resource)),
		Name: req.Name, Namespace: req.Namespace, Operation: admissionv1.Operation(req.Operation), UserInfo: req.User,
		Object: raw(req.Object), OldObject: raw(req.OldObject), DryRun: ptr.To(req.DryRun)}
	review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: ar}
	data, err := json.MarshalIndent(review, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

// optionsKind is the kind of CONNECT options.
func optionsKind(obj runtime.Object) string {
	switch obj.(type) {
	case *corev1.PodExecOptions:
		return "PodExecOptions"
	case *corev1.PodAttachOptions:
		return "PodAttachOptions"
	case *corev1.PodPortForwardOptions:
		return "PodPortForwardOptions"
	}
	return ""
}

// TestRequestsAsReviews keeps testdata/reviews in step with reviewRequests: each request as the AdmissionReview the
// API server would send for it. The admission package decodes them with its decoder and with the encoding/json
// decoder it replaced, and requires the same requests and decisions (its differential test). After changing the
// requests: go test ./internal/policy/ -run TestRequestsAsReviews -update-reviews
func TestRequestsAsReviews(t *testing.T) {
	dir := filepath.Join("testdata", "reviews")
	reqs := reviewRequests()
	if *updateReviews {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for name, req := range reqs {
		path := filepath.Join(dir, name+".json")
		want = append(want, path)
		data := reviewOf(t, req)
		if *updateReviews {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(have, data) {
			t.Errorf("%s is not the review of request %s (%v): run go test ./internal/policy/ -run TestRequestsAsReviews -update-reviews", path, name, err)
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	slices.Sort(have)
	slices.Sort(want)
	if !*updateReviews && !slices.Equal(have, want) {
		t.Errorf("testdata/reviews holds %v, the requests are %v", have, want)
	}
}
