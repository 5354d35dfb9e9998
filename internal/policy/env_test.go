package policy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The test world: namespace vnf-5gc is protected; UPF instance upf-1 runs, SMF instance smf-1 is STOPPED, AMF
// instance amf-1 was terminated (NOT_INSTANTIATED).
const (
	protectedNS = "vnf-5gc"
	upfDigest   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	sideDigest  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	otherDigest = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	upfImage    = "registry.5gc.example/5gc/upf@" + upfDigest
	sideImage   = "registry.5gc.example/5gc/sidecar@" + sideDigest
)

const testConfig = `
apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [vnf-5gc]}
identities:
  vnfm: {users: [tacker-vnfm]}
  breakGlass: {groups: ["vnfguard:break-glass"]}
registries: {allowed: ["registry.5gc.example/5gc/"]}
profiles:
  - {name: upf, products: [UPF], allowCapabilities: [NET_ADMIN, IPC_LOCK], allowHugepages: true, allowNetworks: [n3, n6]}
`

var (
	vnfmUser       = authnv1.UserInfo{Username: "tacker-vnfm", Groups: []string{"system:authenticated"}}
	attacker       = authnv1.UserInfo{Username: "mallory", Groups: []string{"system:authenticated"}}
	opsAdmin       = authnv1.UserInfo{Username: "ops-admin", Groups: []string{"system:masters", "system:authenticated"}}
	breakGlassUser = authnv1.UserInfo{Username: "oncall", Groups: []string{"vnfguard:break-glass", "system:authenticated"}}
	controllerUser = authnv1.UserInfo{Username: "system:kube-controller-manager", Groups: []string{"system:authenticated"}}
)

func instance(id, product, vnfdID string, state vnf.InstantiationState, op vnf.OperationalState, images ...string) *vnf.Instance {
	inst := &vnf.Instance{ID: id, VnfdID: vnfdID, VnfProductName: product, VnfProvider: "Acme", InstantiationState: state,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: op, Metadata: map[string]any{"namespace": protectedNS}}}
	for _, img := range images {
		inst.DeclaredImages = append(inst.DeclaredImages, vnf.DeclaredImage{Image: img})
	}
	return inst
}

func testSnapshot() *vnf.Snapshot {
	return vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{
		instance("upf-1", "UPF", "upf-vnfd", vnf.Instantiated, vnf.Started, upfImage, sideImage),
		instance("smf-1", "SMF", "smf-vnfd", vnf.Instantiated, vnf.Stopped, sideImage),
		instance("amf-1", "AMF", "amf-vnfd", vnf.NotInstantiated, vnf.Stopped, sideImage),
	})
}

// objects is an in-memory cluster view.
type objects map[string]metav1.Object

func (o objects) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if obj, ok := o[kind+"/"+namespace+"/"+name]; ok {
		return obj, nil
	}
	return nil, fmt.Errorf("%s %s/%s: %w", kind, namespace, name, vnf.ErrNotFound)
}

func (o objects) add(kind string, obj metav1.Object) {
	o[kind+"/"+obj.GetNamespace()+"/"+obj.GetName()] = obj
}

func meta(name string, labels map[string]string, owner ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: protectedNS, Labels: labels, OwnerReferences: owner}
}

func ownedBy(kind, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, Controller: ptr.To(true)}
}

func testObjects() objects {
	o := objects{}
	for _, id := range []string{"upf-1", "smf-1", "amf-1"} {
		product := id[:3]
		o.add("Deployment", &appsv1.Deployment{ObjectMeta: meta(product, map[string]string{vnf.DefaultInstanceLabel: id})})
		o.add("ReplicaSet", &appsv1.ReplicaSet{ObjectMeta: meta(product+"-rs", nil, ownedBy("Deployment", product))})
		o.add("Pod", &corev1.Pod{ObjectMeta: meta(product+"-pod", nil, ownedBy("ReplicaSet", product+"-rs"))})
		o.add("PersistentVolumeClaim", &corev1.PersistentVolumeClaim{ObjectMeta: meta(product+"-data", map[string]string{vnf.DefaultInstanceLabel: id})})
	}
	deleting := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "leaving", Namespace: "default", DeletionTimestamp: &metav1.Time{Time: time.Now()}}}
	o.add("Pod", deleting)
	o.add("PersistentVolumeClaim", &corev1.PersistentVolumeClaim{ObjectMeta: meta("orphan-data", map[string]string{vnf.DefaultInstanceLabel: "gone-1"})})
	return o
}

type testEnv struct {
	cfg  *config.Config
	inv  vnf.Inventory
	objs objects
}

func newTestEnv(t testing.TB, extraConfig string) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, testConfig+extraConfig)
}

// newTestEnvConfig is newTestEnv with the whole configuration given.
func newTestEnvConfig(t testing.TB, configYAML string) *testEnv {
	t.Helper()
	cfg, err := config.Parse([]byte(configYAML))
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	return &testEnv{cfg: cfg, inv: vnf.Static{Snap: testSnapshot()}, objs: testObjects()}
}

func (e *testEnv) evaluator(t testing.TB) *Evaluator {
	t.Helper()
	ev, err := New(Environment{Config: e.cfg, Inventory: e.inv, Objects: e.objs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ev
}

// restrictedContainer is a container that meets the restricted Pod Security Standard, with a read-only root
// filesystem (check readonly-rootfs).
func restrictedContainer(name, image string) corev1.Container {
	return corev1.Container{
		Name: name, Image: image,
		Command: []string{"/usr/bin/" + name}, Args: []string{"--config", "/etc/" + name + "/config.yaml"},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Resources: corev1.ResourceRequirements{},
	}
}

// cnfPodSpec is a typical two-container CNF pod: the network function and a sidecar.
func cnfPodSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{restrictedContainer("upf", upfImage), restrictedContainer("sidecar", sideImage)}}
}

func podRequest(user authnv1.UserInfo, ns string, pod *corev1.Pod) *Request {
	pod.Namespace = ns
	return &Request{UID: "uid-1", Operation: Create, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: ns, Name: pod.Name, User: user, Object: pod}
}

func deploymentRequest(op string, user authnv1.UserInfo, d, old *appsv1.Deployment) *Request {
	r := &Request{UID: "uid-2", Operation: op, Kind: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: d.Namespace, Name: d.Name, User: user, Object: d}
	if old != nil {
		r.OldObject = old
	}
	return r
}

func connectRequest(user authnv1.UserInfo, ns, pod, sub string) *Request {
	return &Request{UID: "uid-3", Operation: Connect, Kind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, SubResource: sub, Namespace: ns, Name: pod, User: user,
		Object: &corev1.PodExecOptions{Command: []string{"sh"}}}
}
