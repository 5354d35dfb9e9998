package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// StartPoliciesGuard starts vnfguard as StartGuard does, but with admission.mode policies: it registers no webhook,
// applies the API server's own policies (internal/apipolicy) and writes the VNF lifecycle parameters they read.
// The control plane must have been started with Options.AdmissionPolicies.
func StartPoliciesGuard(ctx context.Context, cp *ControlPlane, binary string) (*Env, error) {
	inventory := filepath.Join(cp.WorkDir, "inventory.yaml")
	nfvo := NewNFVO(inventory, UPF, UDR)
	if _, err := nfvo.Write(); err != nil {
		return nil, err
	}
	configPath := filepath.Join(cp.WorkDir, "vnfguard-policies.yaml")
	if err := os.WriteFile(configPath, []byte(ConfigYAML(inventory)+"admission:\n  mode: policies\n"), 0o644); err != nil {
		return nil, fmt.Errorf("lab: write vnfguard config: %w", err)
	}
	guard, err := cp.StartVNFGuardReplica(ctx, binary, configPath, ReplicaOptions{NoRegister: true})
	if err != nil {
		return nil, fmt.Errorf("start vnfguard (%s): %w", binary, err)
	}
	return &Env{CP: cp, Guard: guard, NFVO: nfvo, Logger: cp.logger}, nil
}

// dynamicFor is a dynamic client of a lab identity.
func (cp *ControlPlane) dynamicFor(identity string) (dynamic.Interface, error) {
	_, cfg := cp.ClientFor(identity)
	return dynamic.NewForConfig(cfg)
}

// installParamsCRD installs the CRD of the lifecycle parameters (apipolicy.CRD), as the Helm chart does, and waits
// until it is served.
func (cp *ControlPlane) installParamsCRD(ctx context.Context) error {
	dyn, err := cp.dynamicFor(Admin)
	if err != nil {
		return err
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(apipolicy.CRD, &crd.Object); err != nil {
		return fmt.Errorf("lab: parse the lifecycle parameters' CRD: %w", err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: install CRD %s: %w", crd.GetName(), err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(apipolicy.ParamsGVR).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
}

// WaitParams waits until the lifecycle parameters of every protected namespace of the lab were projected from
// inventory version: from then on the API server judges by it.
func WaitParams(ctx context.Context, cp *ControlPlane, version string) error {
	dyn, err := cp.dynamicFor(Admin)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, ns := range []string{UPF.Namespace, UDR.Namespace} {
			obj, err := dyn.Resource(apipolicy.ParamsGVR).Namespace(ns).Get(ctx, apipolicy.ParamsName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				last = ns + ": no " + apipolicy.ParamsName
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if last, _, _ = unstructured.NestedString(obj.Object, "data", apipolicy.KeyInventory); last != version {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("lab: lifecycle parameters of inventory %s: %w (last: %q)", version, err, last)
	}
	return nil
}

// nfvoSetParams is nfvoSet that also waits for the lifecycle parameters of the new inventory.
func nfvoSetParams(v VNF, state vnf.InstantiationState, opState vnf.OperationalState) func(context.Context, *Env) (string, error) {
	set := nfvoSet(v, state, opState)
	return func(ctx context.Context, env *Env) (string, error) {
		detail, err := set(ctx, env)
		if err != nil {
			return detail, err
		}
		version, err := env.NFVO.Write()
		if err != nil {
			return detail, err
		}
		if err := WaitParams(ctx, env.CP, version); err != nil {
			return detail, err
		}
		return detail + "; the API server's parameters follow it", nil
	}
}

// PoliciesLifecycleScenario brings the lab's VNFs where the dormant-VNF attacks aim, under vnfguard with
// admission.mode policies (StartPoliciesGuard): the VNFM's benign lifecycle of a UPF (instantiated, then STOPPED
// with its pods still there) and a UDR (terminated, its claim retained), all admitted by the API server's policies.
func PoliciesLifecycleScenario() Scenario {
	return Scenario{
		Name: "api-server-policies",
		Setup: func(ctx context.Context, env *Env) error {
			if err := setup(ctx, env); err != nil {
				return err
			}
			version, err := env.NFVO.Write()
			if err != nil {
				return err
			}
			return WaitParams(ctx, env.CP, version)
		},
		Steps: []Step{
			{Name: "instantiate UPF", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UPF INSTANTIATED, STARTED", Action: nfvoSetParams(UPF, vnf.Instantiated, vnf.Started)},
			{Name: "instantiate UPF", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: "create Deployment " + UPF.Namespace + "/" + UPF.Workload, Action: createUPF},
			{Name: "instantiate UPF", Identity: ControllerManager, Benign: true, Expect: Allowed, Instance: UPF.InstanceID,
				Request: "ReplicaSet and 2 pods Running", Action: waitRunning(UPF, 2)},
			{Name: "instantiate UDR", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UDR INSTANTIATED, STARTED", Action: nfvoSetParams(UDR, vnf.Instantiated, vnf.Started)},
			{Name: "instantiate UDR", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UDR.InstanceID,
				Request: "create StatefulSet " + UDR.Namespace + "/" + UDR.Workload, Action: createUDR},
			{Name: "stop UPF", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UPF STOPPED (pods still there)", Action: nfvoSetParams(UPF, vnf.Instantiated, vnf.Stopped)},
			{Name: "terminate UDR", Identity: NFVOIdentity, Benign: true, Expect: Done,
				Request: "inventory: UDR NOT_INSTANTIATED", Action: nfvoSetParams(UDR, vnf.NotInstantiated, "")},
			{Name: "terminate UDR", Identity: VNFM, Benign: true, Expect: Allowed, Instance: UDR.InstanceID,
				Request: "delete StatefulSet " + UDR.Namespace + "/" + UDR.Workload + " (PVC retained)", Action: deleteWorkload(UDR)},
		},
	}
}

// DormantAttacks are the lifecycle attacks the API server must refuse by itself, vnfguard down (the acceptance of
// issue 14): exec and kubectl debug into a STOPPED VNF, a command run in it through the kubelet's proxy, mounting a terminated VNF's claim, a privileged pod, a
// host-mounting pod, a fake VNF pod, rewriting the lifecycle parameters, and taking the VNF's namespace out of
// protection. With expect Allowed they are the control run: the same requests once the policies are gone.
func DormantAttacks(expect Verdict) []Step {
	check := func(c string) string {
		if expect == Denied {
			return c
		}
		return ""
	}
	return []Step{
		{Name: "exec STOPPED VNF", Identity: OpsAdmin, Expect: expect, ExpectCheck: check("lifecycle-access"), Technique: finding.AccessingTerminatedVNF,
			Request: "exec (POST, SPDY) into a pod of the STOPPED UPF", Action: execInto(OpsAdmin, ExecPOST, UPF)},
		{Name: "exec STOPPED VNF (break-glass, WebSocket)", Identity: BreakGlass, Expect: expect, ExpectCheck: check("lifecycle-access"), Technique: finding.AccessingTerminatedVNF,
			Request: "exec (GET, WebSocket) into a pod of the STOPPED UPF", Action: execInto(BreakGlass, ExecGET, UPF)},
		{Name: "run in STOPPED VNF through the kubelet", Identity: OpsAdmin, Expect: expect, ExpectCheck: check("kubelet-session"), Technique: finding.AccessingTerminatedVNF,
			Request: "nodes/proxy run/NS/POD/CONTAINER?cmd=id into a pod of the STOPPED UPF (no pods/exec request)", Action: kubeletRunInto(OpsAdmin, UPF)},
		{Name: "debug STOPPED VNF", Identity: OpsAdmin, Expect: expect, ExpectCheck: check("lifecycle-access"), Technique: finding.AccessingTerminatedVNF,
			Request: "kubectl debug into a pod of the STOPPED UPF", Action: debugInto(OpsAdmin, UPF)},
		{Name: "mount terminated VNF's PVC", Identity: VNFM, Expect: expect, ExpectCheck: check("lifecycle-data"), Technique: finding.AccessingTerminatedVNF,
			Request: "create Pod " + UDR.Namespace + "/udr-dump mounting PVC " + UDR.Storage[0] + " of the terminated UDR (the VNFM's identity)",
			Action:  createAs(VNFM, pvcThiefPod)},
		{Name: "privileged pod", Identity: Attacker, Expect: expect, ExpectCheck: check("pod-security"), Technique: finding.MaliciousVNFInstantiation,
			Request: "create Pod " + Sandbox + "/privileged (privileged container)", Action: createAs(Attacker, privilegedSandboxPod)},
		{Name: "host-mounting pod", Identity: Attacker, Expect: expect, ExpectCheck: check("host-takeover"), Technique: finding.MaliciousVNFInstantiation,
			Request: "create Pod " + Sandbox + "/hostroot (hostPath / in a podSecurity-exempt namespace)", Action: createAs(Attacker, hostRootPod)},
		{Name: "fake VNF pod", Identity: Attacker, Expect: expect, ExpectCheck: check("vnf-instantiation"), Technique: finding.MaliciousVNFInstantiation,
			Request: "create Pod " + UPF.Namespace + "/upf-rogue (UPF's label and digest, not the VNFM)", Action: createAs(Attacker, RoguePod)},
		{Name: "rewrite lifecycle parameters", Identity: Attacker, Expect: expect, ExpectCheck: check("params-guard"), Technique: finding.AccessingTerminatedVNF,
			Request: "update VNFLifecycle " + UPF.Namespace + "/" + apipolicy.ParamsName + ": the STOPPED UPF's pods marked as running", Action: rewriteParams},
		{Name: "unprotect VNF namespace", Identity: Attacker, Expect: expect, ExpectCheck: check("namespace-protection"), Technique: finding.MaliciousVNFInstantiation,
			Request: "patch Namespace " + UPF.Namespace + " removing label " + protectedLabel + " (dry run): the bindings select protected namespaces by it",
			Action:  unprotectNamespace(UPF.Namespace)},
	}
}

// unprotectNamespace removes the protection label from a namespace as the attacker, in a dry run: a refusal is the
// twin's, and when the API server lets it through (the control run) the namespace stays protected for what follows.
func unprotectNamespace(namespace string) func(context.Context, *Env) (string, error) {
	return func(ctx context.Context, env *Env) (string, error) {
		cs, _ := env.CP.ClientFor(Attacker)
		patch := []byte(`{"metadata":{"labels":{"` + protectedLabel + `":null}}}`)
		if _, err := cs.CoreV1().Namespaces().Patch(ctx, namespace, types.MergePatchType, patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			return "", err
		}
		return "label " + protectedLabel + " removed from " + namespace + " (dry run)", nil
	}
}

// privilegedSandboxPod asks for a privileged container in a namespace that is not protected (baseline applies).
func privilegedSandboxPod() *corev1.Pod {
	spec := restrictedPodSpec("debug", ImageRef("tools/busybox"), []string{"sleep", "3600"})
	spec.Containers[0].SecurityContext.Privileged = ptrTo(true)
	spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptrTo(true)
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: Sandbox}, Spec: spec}
}

// hostRootPod mounts the node's root filesystem, in kube-system: podSecurity.exemptNamespaces leaves it to
// host-takeover alone.
func hostRootPod() *corev1.Pod {
	spec := restrictedPodSpec("shell", ImageRef("tools/busybox"), []string{"sleep", "3600"})
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hostroot", Namespace: "kube-system"}, Spec: spec}
}

// rewriteParams removes the STOPPED UPF's pods from its namespace's lifecycle parameters, which would let exec in.
func rewriteParams(ctx context.Context, env *Env) (string, error) {
	dyn, err := env.CP.dynamicFor(Attacker)
	if err != nil {
		return "", err
	}
	obj, err := dyn.Resource(apipolicy.ParamsGVR).Namespace(UPF.Namespace).Get(ctx, apipolicy.ParamsName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	data, _, _ := unstructured.NestedStringMap(obj.Object, "data")
	for k := range data {
		if strings.HasPrefix(k, apipolicy.KeyPod) {
			delete(data, k)
		}
	}
	if err := unstructured.SetNestedStringMap(obj.Object, data, "data"); err != nil {
		return "", err
	}
	if _, err := dyn.Resource(apipolicy.ParamsGVR).Namespace(UPF.Namespace).Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return "", err
	}
	return "removed the UPF pods from " + apipolicy.ParamsName, nil
}

// WaitPoliciesEnforced waits until the API server enforces vnfguard's policies (enforced) or no longer does: it
// takes in a new policy or binding through an informer of its own, a moment after the write. Two dry-run probes
// say where it is: a privileged pod in namespace default (twin pod-security) and a VNFLifecycle named
// apipolicy.ParamsName (twin params-guard), both sent as the attacker.
func WaitPoliciesEnforced(ctx context.Context, cp *ControlPlane, enforced bool) error {
	cs, _ := cp.ClientFor(Attacker)
	dyn, err := cp.dynamicFor(Attacker)
	if err != nil {
		return err
	}
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	// Without a controller manager (APIServerOnly) nobody makes namespace default's ServiceAccount, which the
	// probe pod needs to get as far as admission.
	admin, _ := cp.ClientFor(Admin)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: ServiceAccount default/default: %w", err)
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pod := privilegedSandboxPod()
		pod.Namespace = "default"
		_, podErr := cs.CoreV1().Pods("default").Create(ctx, pod, dry)
		_, cmErr := dyn.Resource(apipolicy.ParamsGVR).Namespace("default").Create(ctx, apipolicy.ParamsObject("default", nil), dry)
		for i, err := range []error{podErr, cmErr} {
			switch {
			case err != nil && ctx.Err() != nil:
				return false, nil // the deadline, not the probe: keep what the probe said last
			case err != nil && !IsWebhookDenial(err):
				last = err.Error()
				return false, nil
			case enforced != (err != nil):
				last = fmt.Sprintf("%s probe: denied=%v (%v)", []string{"privileged pod", "parameters"}[i], err != nil, err)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		// What the API server says of the policies: type-checking warnings name an expression it cannot judge.
		var status []string
		if list, lerr := admin.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(context.WithoutCancel(ctx), metav1.ListOptions{}); lerr == nil {
			for _, p := range list.Items {
				if tc := p.Status.TypeChecking; tc != nil {
					for _, w := range tc.ExpressionWarnings {
						status = append(status, p.Name+" "+w.FieldRef+": "+w.Warning)
					}
				}
				for _, c := range p.Status.Conditions {
					status = append(status, p.Name+" "+c.Type+"="+string(c.Status)+": "+c.Message)
				}
			}
		}
		return fmt.Errorf("lab: API server policies enforced=%v: %w (last probe: %s; policies: %s)", enforced, err, last, strings.Join(status, "; "))
	}
	return nil
}
