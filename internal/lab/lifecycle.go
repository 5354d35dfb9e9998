package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The lab's namespaces: two protected VNF namespaces and an ordinary one.
const (
	Sandbox = "lab-sandbox"
)

// The lab's VNFs: a UPF (Deployment) and a UDR (StatefulSet with a volume claim per replica).
var (
	UPF = VNF{
		InstanceID: "7f3c9b1e-2d4a-4e8f-9c61-0a1b2c3d4e51", VnfdID: "upf-vnfd-1", Product: "UPF", Namespace: "vnf-upf",
		WorkloadKind: "Deployment", Workload: "upf", Container: "upf", Repo: "5gc/upf",
	}
	UDR = VNF{
		InstanceID: "a41d07c2-6b3e-4f5a-8d92-1e2f3a4b5c6d", VnfdID: "udr-vnfd-1", Product: "UDR", Namespace: "vnf-udr",
		WorkloadKind: "StatefulSet", Workload: "udr", Container: "udr", Repo: "5gc/udr",
		Storage: []string{"data-udr-0"},
	}
)

// protectedLabel marks a namespace as protected in the lab's vnfguard configuration.
const protectedLabel = "vnfguard.io/protected"

var protectedLabels = map[string]string{protectedLabel: "true"}

// DefaultScenario is the scenario of issue 2 (the demo and the end-to-end test run it): the VNFM's full benign
// lifecycle of a UPF and a UDR, with the attacks interleaved at the moments they target (a STARTED UPF, a
// STOPPED UPF, a terminated UDR's retained volume).
func DefaultScenario() Scenario {
	upfPods := fmt.Sprintf("Pods of Deployment %s/%s", UPF.Namespace, UPF.Workload)
	return Scenario{
		Name:  "issue-2",
		Setup: setup,
		Steps: []Step{
			{Name: "instantiate UPF", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UPF " + short(UPF.InstanceID) + " INSTANTIATED, STARTED",
				Action:  nfvoSet(UPF, vnf.Instantiated, vnf.Started)},
			{Name: "instantiate UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("create Deployment %s/%s (2 replicas, declared digest, NET_ADMIN)", UPF.Namespace, UPF.Workload),
				Action:  createUPF},
			{Name: "instantiate UPF", Identity: ControllerManager, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: "create ReplicaSet and 2 " + upfPods + " (Running on kwok)",
				Action:  waitRunning(UPF, 2)},
			{Name: "scale out UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("update Deployment %s/%s/scale 2→3", UPF.Namespace, UPF.Workload),
				Action:  scale(VNFM, UPF, 3)},
			{Name: "heal UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: "delete one of the " + upfPods + "; the controller replaces it",
				Action:  heal(UPF, 3)},
			{Name: "instantiate UDR", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UDR " + short(UDR.InstanceID) + " INSTANTIATED, STARTED",
				Action:  nfvoSet(UDR, vnf.Instantiated, vnf.Started)},
			{Name: "instantiate UDR", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UDR.InstanceID,
				Request: fmt.Sprintf("create StatefulSet %s/%s (volume claim %s); its pod runs", UDR.Namespace, UDR.Workload, UDR.Storage[0]),
				Action:  createUDR},

			{Name: "Peirates pod", Identity: Attacker, Expect: Denied, ExpectCheck: "host-takeover", Technique: finding.MaliciousVNFInstantiation,
				Request: "create Pod " + Sandbox + "/peirates (hostPath / at /root + reverse shell)",
				Action:  createAs(Attacker, func() *corev1.Pod { return PeiratesPod(Sandbox, "peirates") })},
			{Name: "Peirates pod in VNF ns", Identity: Attacker, Expect: Denied, ExpectCheck: "host-takeover", Technique: finding.MaliciousVNFInstantiation,
				Request: "create Pod " + UPF.Namespace + "/peirates (hostPath / at /root + reverse shell)",
				Action:  createAs(Attacker, func() *corev1.Pod { return PeiratesPod(UPF.Namespace, "peirates") })},
			{Name: "privileged VNF pod", Identity: VNFM, Expect: Denied, ExpectCheck: "pod-security", Technique: finding.MaliciousVNFInstantiation, Instance: UPF.InstanceID,
				Request: "create Pod " + UPF.Namespace + "/upf-debug (privileged, UPF's label and digest)",
				Action:  createAs(VNFM, privilegedUPFPod)},
			{Name: "writable VNF pod", Identity: VNFM, Expect: Denied, ExpectCheck: "readonly-rootfs", Technique: finding.MaliciousVNFInstantiation, Instance: UPF.InstanceID,
				Request: "create Pod " + UPF.Namespace + "/upf-writable (readOnlyRootFilesystem false, UPF's label and digest)",
				Action:  createAs(VNFM, writableUPFPod)},
			{Name: "fake VNF pod", Identity: Attacker, Expect: Denied, ExpectCheck: "vnf-instantiation", Technique: finding.MaliciousVNFInstantiation, Instance: UPF.InstanceID,
				Request: "create Pod " + UPF.Namespace + "/upf-rogue (UPF's label and digest, not the VNFM)",
				Action:  createAs(Attacker, RoguePod)},
			{Name: "exec STARTED VNF", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "exec (POST, SPDY) into a UPF pod",
				Action:  execInto(OpsAdmin, ExecPOST, UPF)},
			{Name: "exec STARTED VNF (WebSocket)", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "exec (GET, WebSocket) into a UPF pod",
				Action:  execInto(OpsAdmin, ExecGET, UPF)},
			{Name: "break-glass exec", Identity: BreakGlass, Expect: Allowed, BreakGlass: true, Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "exec (POST) into a UPF pod as break-glass",
				Action:  execInto(BreakGlass, ExecPOST, UPF)},

			{Name: "stop UPF", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UPF " + short(UPF.InstanceID) + " STOPPED (pods still there)",
				Action:  nfvoSet(UPF, vnf.Instantiated, vnf.Stopped)},
			{Name: "read STOPPED VNF's Secret", Identity: OpsAdmin, Expect: Allowed, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("get Secret %s/%s of the STOPPED UPF (admission never sees reads)", UPF.Namespace, UPFSecret),
				Action:  readSecret(OpsAdmin, UPF.Namespace, UPFSecret)},
			{Name: "exec STOPPED VNF", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "exec (POST) into a pod of the STOPPED UPF",
				Action:  execInto(OpsAdmin, ExecPOST, UPF)},
			{Name: "exec STOPPED VNF (break-glass)", Identity: BreakGlass, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "exec (GET, WebSocket) into a pod of the STOPPED UPF",
				Action:  execInto(BreakGlass, ExecGET, UPF)},
			{Name: "debug STOPPED VNF", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: "kubectl debug: add an ephemeral container to a pod of the STOPPED UPF",
				Action:  debugInto(OpsAdmin, UPF)},
			{Name: "scale up STOPPED VNF", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-scale", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("update Deployment %s/%s/scale 3→5 (STOPPED UPF)", UPF.Namespace, UPF.Workload),
				Action:  scale(OpsAdmin, UPF, 5)},
			{Name: "stop UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("update Deployment %s/%s/scale 3→0; pods go", UPF.Namespace, UPF.Workload),
				Action:  scale(VNFM, UPF, 0)},
			{Name: "terminate UPF", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UPF " + short(UPF.InstanceID) + " NOT_INSTANTIATED",
				Action:  nfvoSet(UPF, vnf.NotInstantiated, "")},
			{Name: "terminate UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: fmt.Sprintf("delete Deployment %s/%s", UPF.Namespace, UPF.Workload),
				Action:  deleteWorkload(UPF)},
			{Name: "terminate UDR", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UDR " + short(UDR.InstanceID) + " NOT_INSTANTIATED",
				Action:  nfvoSet(UDR, vnf.NotInstantiated, "")},
			{Name: "terminate UDR", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UDR.InstanceID,
				Request: fmt.Sprintf("delete StatefulSet %s/%s (PVC %s is retained)", UDR.Namespace, UDR.Workload, UDR.Storage[0]),
				Action:  deleteWorkload(UDR)},
			{Name: "mount terminated VNF's PVC", Identity: Attacker, Expect: Denied, ExpectCheck: "lifecycle-data", Technique: finding.AccessingTerminatedVNF,
				Request: fmt.Sprintf("create Pod %s/udr-dump mounting PVC %s of the terminated UDR", UDR.Namespace, UDR.Storage[0]),
				Action:  createAs(Attacker, pvcThiefPod)},
		},
	}
}

// setup creates the namespaces and the PersistentVolume the UDR's claim binds to, and publishes the initial
// inventory (packages onboarded, nothing instantiated).
func setup(ctx context.Context, env *Env) error {
	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{{UPF.Namespace, protectedLabels}, {UDR.Namespace, protectedLabels}, {Sandbox, nil}} {
		if err := env.CP.EnsureNamespace(ctx, ns.name, ns.labels); err != nil {
			return err
		}
	}
	admin, _ := env.CP.ClientFor(Admin)
	for _, claim := range UDR.Storage {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "lab-" + UDR.Namespace + "-" + claim},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				// Never mounted: kwok only pretends to run pods.
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/vnfguard-lab/" + claim}},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              "",
				ClaimRef:                      &corev1.ObjectReference{Namespace: UDR.Namespace, Name: claim},
			},
		}
		if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PersistentVolume %s: %w", pv.Name, err)
		}
	}
	return env.NFVO.Publish(ctx, env.observer())
}

func nfvoSet(v VNF, state vnf.InstantiationState, opState vnf.OperationalState) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		env.NFVO.Set(v, state, opState)
		version, err := env.NFVO.Write()
		if err != nil {
			return "", err
		}
		if g := env.observer(); g != nil {
			if err := g.WaitInventory(ctx, version); err != nil {
				return "", err
			}
			return "vnfguard loaded inventory " + version[:12], nil
		}
		return "wrote inventory " + version[:12], nil
	}
}

func workloadLabels(v VNF) map[string]string {
	return map[string]string{vnf.DefaultInstanceLabel: v.InstanceID, "app": v.Workload}
}

// createUPF creates the UPF Deployment the way Tacker does: the instance label on the Deployment only.
func createUPF(ctx context.Context, env *Env) (string, error) {
	cs, _ := env.CP.ClientFor(VNFM)
	spec := restrictedPodSpec(UPF.Container, UPF.Image(), []string{"/usr/bin/upf", "--config", "/etc/upf/upf.yaml"}, "NET_ADMIN")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: UPF.Workload, Namespace: UPF.Namespace, Labels: workloadLabels(UPF)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": UPF.Workload}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": UPF.Workload}},
				Spec:       spec,
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(UPF.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	// The VNF's credentials, labelled with the instance as Tacker labels what it creates: the data FGT1609.501
	// goes after once the VNF is stopped.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: UPFSecret, Namespace: UPF.Namespace, Labels: workloadLabels(UPF)},
		StringData: map[string]string{"n4-psk": "lab-only-not-a-secret"},
	}
	_, err := cs.CoreV1().Secrets(UPF.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	return "", err
}

// UPFSecret is the Secret the VNFM creates with the UPF.
const UPFSecret = "upf-n4-credentials"

// readSecret reads a Secret as the identity: admission never sees reads, so only detection can report it.
func readSecret(identity, namespace, name string) func(ctx context.Context, env *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(identity)
		_, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		return "", err
	}
}

// createUDR creates the UDR StatefulSet, its volume claim template labelled with the instance (the claim outlives
// the StatefulSet), and waits for its pod to run.
func createUDR(ctx context.Context, env *Env) (string, error) {
	cs, _ := env.CP.ClientFor(VNFM)
	spec := restrictedPodSpec(UDR.Container, UDR.Image(), []string{"/usr/bin/udr", "--db", "/var/lib/udr"})
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/udr"}}
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: UDR.Workload, Namespace: UDR.Namespace, Labels: workloadLabels(UDR)},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptrTo[int32](1),
			ServiceName: UDR.Workload,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": UDR.Workload}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": UDR.Workload}},
				Spec:       spec,
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{vnf.DefaultInstanceLabel: UDR.InstanceID}},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptrTo(""),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	started := time.Now()
	if _, err := cs.AppsV1().StatefulSets(UDR.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return waitPods(ctx, env, UDR, 1, started)
}

// waitRunning waits for n Running pods of the VNF's workload: the controller manager creates them, so a denial
// shows only in the workload's status or in events.
func waitRunning(v VNF, n int) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		return waitPods(ctx, env, v, n, time.Now().Add(-time.Minute))
	}
}

// waitPods waits until exactly n pods of the VNF's workload exist, none terminating, all Running. On timeout it
// returns the admission denial recorded in events since `since` when there is one, so that the verdict says
// what stopped the controller.
func waitPods(ctx context.Context, env *Env, v VNF, n int, since time.Time) (string, error) {
	admin, _ := env.CP.ClientFor(Admin)
	var names []string
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		pods, err := podsOf(ctx, admin, v)
		if err != nil {
			return false, nil
		}
		names = names[:0]
		running := 0
		for _, p := range pods {
			names = append(names, p.Name)
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return len(pods) == n && running == n, nil
	})
	if err == nil {
		if n == 0 {
			return "no pods left", nil
		}
		return fmt.Sprintf("%d Running: %s", n, strings.Join(names, ", ")), nil
	}
	if denial := admissionDenialEvent(context.WithoutCancel(ctx), admin, v.Namespace, since); denial != nil {
		return "", denial
	}
	return "", fmt.Errorf("waiting for %d Running pods of %s %s/%s (have %s): %w", n, v.WorkloadKind, v.Namespace, v.Workload, strings.Join(names, ","), err)
}

// podsOf lists the pods of the VNF's workload (label app=WORKLOAD, created by a controller), sorted by name,
// without those being deleted.
func podsOf(ctx context.Context, cs kubernetes.Interface, v VNF) ([]corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(v.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + v.Workload})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s/%s: %w", v.Namespace, v.Workload, err)
	}
	out := list.Items[:0]
	for _, p := range list.Items {
		// Only the controller's pods: a bare pod an attacker labelled alike is not part of the workload.
		if p.DeletionTimestamp == nil && metav1.GetControllerOf(&p) != nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// firstPodOf is the first of podsOf, or an error saying there is none to do what with.
func firstPodOf(ctx context.Context, cs kubernetes.Interface, v VNF, what string) (*corev1.Pod, error) {
	pods, err := podsOf(ctx, cs, v)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("no pod of %s/%s to %s", v.Namespace, v.Workload, what)
	}
	return &pods[0], nil
}

// admissionDenialEvent finds a FailedCreate event since `since` whose message is an admission webhook denial.
func admissionDenialEvent(ctx context.Context, cs kubernetes.Interface, namespace string, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	events, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	for _, e := range events.Items {
		when := e.LastTimestamp.Time
		if when.IsZero() {
			when = e.EventTime.Time
		}
		if when.Before(since.Add(-time.Second)) {
			continue
		}
		if IsWebhookDenial(errors.New(e.Message)) {
			return fmt.Errorf("%s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		}
	}
	return nil
}

// scale sets the replicas of the VNF's workload through its scale subresource (as `kubectl scale` and Tacker
// do) and, when the request is allowed, waits for the pods to follow.
func scale(identity string, v VNF, replicas int32) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(identity)
		started := time.Now()
		// Get and update the scale, again when the workload's controller changed it in between (a conflict), as
		// kubectl scale does.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var sc *autoscalingv1.Scale
			var err error
			switch v.WorkloadKind {
			case "StatefulSet":
				if sc, err = cs.AppsV1().StatefulSets(v.Namespace).GetScale(ctx, v.Workload, metav1.GetOptions{}); err == nil {
					sc.Spec.Replicas = replicas
					_, err = cs.AppsV1().StatefulSets(v.Namespace).UpdateScale(ctx, v.Workload, sc, metav1.UpdateOptions{})
				}
			default:
				if sc, err = cs.AppsV1().Deployments(v.Namespace).GetScale(ctx, v.Workload, metav1.GetOptions{}); err == nil {
					sc.Spec.Replicas = replicas
					_, err = cs.AppsV1().Deployments(v.Namespace).UpdateScale(ctx, v.Workload, sc, metav1.UpdateOptions{})
				}
			}
			return err
		})
		if err != nil {
			return "", err
		}
		return waitPods(ctx, env, v, int(replicas), started)
	}
}

// heal deletes the first pod of the workload, as a VNFM's heal does, and waits for the controller's replacement.
func heal(v VNF, n int) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(VNFM)
		pod, err := firstPodOf(ctx, cs, v, "heal")
		if err != nil {
			return "", err
		}
		victim := pod.Name
		started := time.Now()
		if err := cs.CoreV1().Pods(v.Namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
			return "", err
		}
		detail, err := waitPods(ctx, env, v, n, started)
		if err != nil {
			return "", err
		}
		return "replaced " + victim + "; " + detail, nil
	}
}

// deleteWorkload deletes the VNF's workload and waits for its pods to go.
func deleteWorkload(v VNF) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(VNFM)
		policy := metav1.DeletePropagationBackground
		opts := metav1.DeleteOptions{PropagationPolicy: &policy}
		var err error
		if v.WorkloadKind == "StatefulSet" {
			err = cs.AppsV1().StatefulSets(v.Namespace).Delete(ctx, v.Workload, opts)
		} else {
			err = cs.AppsV1().Deployments(v.Namespace).Delete(ctx, v.Workload, opts)
		}
		if err != nil {
			return "", err
		}
		return waitPods(ctx, env, v, 0, time.Now())
	}
}

// createAs creates the pod as the identity.
func createAs(identity string, build func() *corev1.Pod) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(identity)
		pod := build()
		_, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			return "created " + pod.Namespace + "/" + pod.Name, nil
		}
		return "", err
	}
}

// privilegedUPFPod is a UPF pod, correctly labelled and pinned, that asks for a privileged container.
func privilegedUPFPod() *corev1.Pod {
	spec := restrictedPodSpec(UPF.Container, UPF.Image(), []string{"/usr/bin/upf"})
	spec.Containers[0].SecurityContext.Privileged = ptrTo(true)
	spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptrTo(true)
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-debug", Namespace: UPF.Namespace, Labels: workloadLabels(UPF)}, Spec: spec}
}

// writableUPFPod is a UPF pod, correctly labelled and pinned, whose root filesystem is writable (M1038).
func writableUPFPod() *corev1.Pod {
	spec := restrictedPodSpec(UPF.Container, UPF.Image(), []string{"/usr/bin/upf"})
	spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptrTo(false)
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-writable", Namespace: UPF.Namespace, Labels: workloadLabels(UPF)}, Spec: spec}
}

// RoguePod claims to be part of the UPF, with the declared image, but is created by someone other than the VNFM (a
// fake VNF, FGT5013).
func RoguePod() *corev1.Pod {
	spec := restrictedPodSpec(UPF.Container, UPF.Image(), []string{"/usr/bin/upf"})
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-rogue", Namespace: UPF.Namespace, Labels: workloadLabels(UPF)}, Spec: spec}
}

// pvcThiefPod mounts the retained volume claim of the terminated UDR, read-only, to copy its subscriber data.
func pvcThiefPod() *corev1.Pod {
	spec := restrictedPodSpec("dump", ImageRef("tools/busybox"), []string{"tar", "czf", "-", "/data"})
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}}
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: UDR.Storage[0], ReadOnly: true},
	}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "udr-dump", Namespace: UDR.Namespace}, Spec: spec}
}

// execInto sends an exec to the first pod of the VNF's workload.
func execInto(identity string, verb ExecVerb, v VNF) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		admin, _ := env.CP.ClientFor(Admin)
		pod, err := firstPodOf(ctx, admin, v, "exec into")
		if err != nil {
			return "", err
		}
		cs, _ := env.CP.ClientFor(identity)
		err = Exec(ctx, cs, verb, v.Namespace, pod.Name)
		if errors.Is(err, ErrPastAdmission) {
			return pod.Name + ": " + err.Error(), nil
		}
		return "", err
	}
}

// kubeletRunInto runs a command in the first pod of the VNF's workload through the API server's proxy to its node's
// kubelet (nodes/proxy, path run/NS/POD/CONTAINER): no pods/exec request, so no check of pods/exec sees it. A pod not
// scheduled yet (the lab without a node) is aimed at RealNodeName: admission judges the path before the API server
// looks the node up.
func kubeletRunInto(identity string, v VNF) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		admin, _ := env.CP.ClientFor(Admin)
		pod, err := firstPodOf(ctx, admin, v, "run a command in")
		if err != nil {
			return "", err
		}
		node := pod.Spec.NodeName
		if node == "" {
			node = RealNodeName
		}
		cs, _ := env.CP.ClientFor(identity)
		out, err := NodeProxy(ctx, cs, ExecPOST, node, "run/"+pod.Namespace+"/"+pod.Name+"/"+v.Container, map[string]string{"cmd": "id"})
		switch {
		case errors.Is(err, ErrPastAdmission):
			return pod.Name + ": " + err.Error(), nil
		case err != nil:
			return "", err
		}
		return pod.Name + " through node " + node + ": " + strings.TrimSpace(out), nil
	}
}

// debugInto adds an ephemeral container to the first pod of the VNF's workload, as `kubectl debug` does.
func debugInto(identity string, v VNF) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(identity)
		first, err := firstPodOf(ctx, cs, v, "debug")
		if err != nil {
			return "", err
		}
		pod := first.DeepCopy()
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debugger", Image: "docker.io/library/busybox:1.36", Stdin: true, TTY: true,
			},
			TargetContainerName: v.Container,
		})
		if _, err := cs.CoreV1().Pods(v.Namespace).UpdateEphemeralContainers(ctx, pod.Name, pod, metav1.UpdateOptions{}); err != nil {
			return "", err
		}
		return "added ephemeral container to " + pod.Name, nil
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
