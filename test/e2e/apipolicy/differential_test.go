package apipolicy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/reconcile"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The world of the differential test: a protected namespace with a running, a stopped and a terminated instance
// (and an instance ID the inventory does not know), their workloads, pods and claims, and a namespace that is not
// protected.
const (
	protectedNS = "vnf-diff"
	sandboxNS   = "diff-sandbox"
	running     = "11111111-0000-4000-8000-000000000001"
	stopped     = "11111111-0000-4000-8000-000000000002"
	terminated  = "11111111-0000-4000-8000-000000000003"
	unknownID   = "11111111-0000-4000-8000-0000000000ff"
)

// TestDifferential runs every request of one corpus through both engines: the Go checks (policy.Evaluator, with
// the same inventory and cluster objects) and their CEL twins in the real API server (dry runs and CONNECTs as the
// lab's identities, no webhook registered). It fails when the API server refuses what the Go checks allow, when it
// refuses for a check that is not among the Go denials, and when a Go denial the twin judges (needing no lookup the
// API server cannot do) is let through.
func TestDifferential(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true, AdmissionPolicies: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin, adminCfg := cp.ClientFor(lab.Admin)
	cfg, err := config.Parse([]byte(corpusConfigYAML(filepath.Join(dir, "unused-inventory.yaml"))))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(ctx, t, admin, cfg)

	// The parameters, projected by reconciliation's own function from the same objects the Go side looks up.
	var objs []reconcile.Object
	for _, o := range w.objects {
		objs = append(objs, reconcile.FromMeta(o.kind, o.meta))
	}
	params := reconcile.LifecycleParams(w.snap, reconcile.NewState([]string{protectedNS}, objs), reconcile.DefaultOptions(), time.Now())
	dyn, err := dynamic.NewForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	for ns, data := range params {
		if _, err := dyn.Resource(apipolicy.ParamsGVR).Namespace(ns).Create(ctx, apipolicy.ParamsObject(ns, data), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	set, err := apipolicy.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&apipolicy.Keeper{Client: admin, Set: set}).Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lab.WaitPoliciesEnforced(ctx, cp, true); err != nil {
		t.Fatal(err)
	}

	ev, err := policy.New(policy.Environment{Config: cfg, Inventory: staticInventory{w.snap}, Objects: w, Namespaces: w})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]authnv1.UserInfo{}
	clients := map[string]*kubernetes.Clientset{}
	for _, id := range []string{lab.VNFM, lab.Attacker, lab.OpsAdmin, lab.BreakGlass, lab.ControllerManager, lab.Admin} {
		cs, _ := cp.ClientFor(id)
		r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		users[id], clients[id] = r.Status.UserInfo, cs
	}

	var agreed, bothDenied, invalid int
	perCheck := map[string]int{}
	for _, c := range corpus(t) {
		cel, celCheck, msg, err := send(ctx, clients[c.identity], c)
		if err != nil {
			invalid++
			t.Errorf("%s: the API server refused it before admission judged (%v): fix the corpus entry", c.name, err)
			continue
		}
		d := ev.Evaluate(ctx, c.request(users[c.identity]))
		var goChecks, judged []string
		for _, v := range d.Denials {
			goChecks = append(goChecks, v.Check)
			if twinJudges(v, c) {
				judged = append(judged, v.Check)
			}
		}
		switch {
		case cel && !slices.Contains(goChecks, celCheck):
			t.Errorf("%s: the API server refused it for %s, the Go checks %s: %s", c.name, celCheck, describe(goChecks), firstLine(msg))
		case !cel && len(judged) > 0:
			t.Errorf("%s: the Go checks refuse it (%s, which the twins judge) and the API server let it through: %s", c.name, strings.Join(judged, ","), d.Message())
		default:
			agreed++
			if cel {
				bothDenied++
				perCheck[celCheck]++
			}
		}
	}
	t.Logf("differential: %d requests agreed (%d refused by both, by twin %v), %d refused by the API server before admission", agreed, bothDenied, perCheck, invalid)
	for _, check := range apipolicy.Checks() {
		if check != "params-guard" && perCheck[check] == 0 {
			t.Errorf("no request of the corpus was refused by twin %s: the corpus does not exercise it", check)
		}
	}
}

func describe(checks []string) string {
	if len(checks) == 0 {
		return "allow it"
	}
	return "refuse it for " + strings.Join(checks, ",")
}

// twinJudges says whether the twin of v's check judges what v refuses without a lookup the API server cannot do
// (the doc comments of the twins say what they leave to the webhook).
func twinJudges(v policy.Violation, c request) bool {
	switch v.Check {
	case "host-takeover", "reverse-shell", "lifecycle-access":
		return true
	case "lifecycle-data":
		return strings.HasSuffix(v.Field, ".persistentVolumeClaim.claimName")
	case "pod-security":
		spec := c.podSpec()
		return strings.HasSuffix(v.Field, "securityContext.privileged") || strings.HasSuffix(v.Field, "volumes[*].hostPath") ||
			strings.HasSuffix(v.Field, "hostNetwork|hostPID|hostIPC") && spec != nil && (spec.HostPID || spec.HostIPC)
	case "image-registry", "image-provenance", "readonly-rootfs":
		return imageTwinJudges(v, c)
	case "namespace-protection", "kubelet-session":
		return true
	case "vnf-instantiation":
		if c.identity != lab.VNFM && c.identity != lab.ControllerManager {
			return true
		}
		m, ok := c.object.(metav1.Object)
		return ok && m.GetLabels()[vnf.DefaultInstanceLabel] != ""
	}
	return false
}

// request is one corpus entry: an identity creating an object (a dry run), entering a pod, or changing or deleting
// a namespace (a dry run).
type request struct {
	name, identity, namespace string
	object                    runtime.Object // Pod, Deployment, CronJob or Namespace; nil for an entry into a pod
	pod, subresource          string         // entering: exec or ephemeralcontainers; a namespace: "" or status
	// oldNamespace is the namespace as it is before a change of it; deleteNamespace deletes it instead.
	oldNamespace    *corev1.Namespace
	deleteNamespace bool
	// node and path: a request through node's kubelet API (nodes/proxy), sent as given.
	node, path string
}

func (c request) podSpec() *corev1.PodSpec {
	switch o := c.object.(type) {
	case *corev1.Pod:
		return &o.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}

// request builds what the webhook would have decoded from the API server's AdmissionReview.
func (c request) request(user authnv1.UserInfo) *policy.Request {
	r := &policy.Request{UID: c.name, Namespace: c.namespace, User: user, DryRun: true}
	switch o := c.object.(type) {
	case nil:
		if c.node != "" {
			r.Operation, r.Kind, r.Resource, r.SubResource, r.Name = policy.Connect, corev1.SchemeGroupVersion.WithKind("NodeProxyOptions"),
				corev1.SchemeGroupVersion.WithResource("nodes"), "proxy", c.node
			// The API server decodes the URL's escapes before admission reads the path.
			decoded, err := url.PathUnescape(c.path)
			if err != nil {
				decoded = c.path
			}
			r.Object = &corev1.NodeProxyOptions{Path: decoded}
			r.Complete()
			return r
		}
		r.Kind = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
		r.Resource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
		r.SubResource, r.Name = c.subresource, c.pod
		if c.subresource == "exec" {
			r.Operation, r.Object = policy.Connect, &corev1.PodExecOptions{Command: []string{"ls"}, Stdout: true}
		} else {
			r.Operation = policy.Update
		}
	case *corev1.Pod:
		r.Operation, r.Kind, r.Resource, r.Name, r.Object = policy.Create, corev1.SchemeGroupVersion.WithKind("Pod"), corev1.SchemeGroupVersion.WithResource("pods"), o.Name, o
	case *appsv1.Deployment:
		r.Operation, r.Kind, r.Resource, r.Name, r.Object = policy.Create, appsv1.SchemeGroupVersion.WithKind("Deployment"), appsv1.SchemeGroupVersion.WithResource("deployments"), o.Name, o
	case *batchv1.CronJob:
		r.Operation, r.Kind, r.Resource, r.Name, r.Object = policy.Create, batchv1.SchemeGroupVersion.WithKind("CronJob"), batchv1.SchemeGroupVersion.WithResource("cronjobs"), o.Name, o
	case *corev1.Namespace:
		r.Kind, r.Resource, r.Name, r.SubResource = corev1.SchemeGroupVersion.WithKind("Namespace"), corev1.SchemeGroupVersion.WithResource("namespaces"), o.Name, c.subresource
		r.Operation, r.Object, r.OldObject = policy.Update, o, c.oldNamespace
		if c.deleteNamespace {
			r.Operation, r.Object = policy.Delete, nil
		}
	}
	return r
}

var twinTag = regexp.MustCompile(`\[([a-z][a-z0-9-]*) FGT`)

// send puts the request to the API server and says whether a twin refused it, and which. err is for a request the
// API server refused before admission judged it (invalid) or could not take.
func send(ctx context.Context, cs *kubernetes.Clientset, c request) (denied bool, check, msg string, err error) {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	switch o := c.object.(type) {
	case nil:
		if c.node != "" {
			_, err = lab.NodeProxy(ctx, cs, lab.ExecPOST, c.node, c.path, map[string]string{"cmd": "id"})
			if errors.Is(err, lab.ErrPastAdmission) {
				err = nil
			}
		} else if c.subresource == "exec" {
			err = lab.Exec(ctx, cs, lab.ExecPOST, c.namespace, c.pod)
			if errors.Is(err, lab.ErrPastAdmission) {
				err = nil
			}
		} else {
			var pod *corev1.Pod
			if pod, err = cs.CoreV1().Pods(c.namespace).Get(ctx, c.pod, metav1.GetOptions{}); err == nil {
				pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debugger", Image: lab.ImageRef("tools/busybox"), TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent}})
				_, err = cs.CoreV1().Pods(c.namespace).UpdateEphemeralContainers(ctx, c.pod, pod, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			}
		}
	case *corev1.Pod:
		_, err = cs.CoreV1().Pods(c.namespace).Create(ctx, o, dry)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(c.namespace).Create(ctx, o, dry)
	case *batchv1.CronJob:
		_, err = cs.BatchV1().CronJobs(c.namespace).Create(ctx, o, dry)
	case *corev1.Namespace:
		err = changeNamespace(ctx, cs, c, o)
	}
	if err == nil {
		return false, "", "", nil
	}
	if lab.IsWebhookDenial(err) {
		m := twinTag.FindStringSubmatch(err.Error())
		if m == nil {
			return true, "", err.Error(), nil
		}
		return true, m[1], err.Error(), nil
	}
	return false, "", "", err
}

// corpus is the shared corpus: generated variants of a benign CNF pod (each danger of the twins, each host path of
// the shared table, each reverse shell of the payload corpus and a benign command of it, each instance state and
// identity), the lab scenario's attack pods, the repository's example manifests, and entries into pods of each
// state.
func corpus(t *testing.T) []request {
	t.Helper()
	var out []request
	image := lab.ImageRef("5gc/upf")
	base := func(name, ns string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: lab.RestrictedPodSpec("app", image, []string{"/usr/bin/upf", "--config", "/etc/upf/upf.yaml"})}
	}
	label := func(id string) map[string]string { return map[string]string{vnf.DefaultInstanceLabel: id} }
	add := func(name, identity string, obj runtime.Object) {
		ns := obj.(metav1.Object).GetNamespace()
		out = append(out, request{name: name, identity: identity, namespace: ns, object: obj})
	}
	// Identities and instance states, in the protected namespace and outside.
	for _, id := range []string{running, stopped, terminated, unknownID, ""} {
		for _, who := range []string{lab.VNFM, lab.Attacker, lab.ControllerManager} {
			var l map[string]string
			if id != "" {
				l = label(id)
			}
			add(fmt.Sprintf("pod of %q by %s", id, who), who, base("p", protectedNS, l))
		}
	}
	for _, rs := range []string{"rs-running", "rs-stopped"} {
		p := base("p", protectedNS, nil)
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: "00000000-0000-0000-0000-000000000001", Controller: ptr.To(true)}}
		add("controller's pod of "+rs, lab.ControllerManager, p)
	}
	// Each danger, in both namespaces (in the protected one with the running instance's label, by the VNFM).
	variants := map[string]func(*corev1.PodSpec){
		"privileged":             func(s *corev1.PodSpec) { s.Containers[0] = *privileged(s.Containers[0], "app") },
		"privileged init":        func(s *corev1.PodSpec) { s.InitContainers = []corev1.Container{*privileged(s.Containers[0], "init")} },
		"hostPID":                func(s *corev1.PodSpec) { s.HostPID = true },
		"hostIPC":                func(s *corev1.PodSpec) { s.HostIPC = true },
		"hostNetwork":            func(s *corev1.PodSpec) { s.HostNetwork = true },
		"hostPID privileged":     func(s *corev1.PodSpec) { s.HostPID = true; s.Containers[0] = *privileged(s.Containers[0], "app") },
		"mount running claim":    func(s *corev1.PodSpec) { mount(s, "data-running") },
		"mount stopped claim":    func(s *corev1.PodSpec) { mount(s, "data-stopped") },
		"mount terminated claim": func(s *corev1.PodSpec) { mount(s, "data-terminated") },
		"mount unbound claim":    func(s *corev1.PodSpec) { mount(s, "data-none") },
	}
	for _, hp := range danger.HostPathCases {
		if strings.Contains(hp.Path, "..") {
			continue // the API server refuses it before admission
		}
		p := hp.Path
		variants["hostPath "+p] = func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p}}})
		}
	}
	for i, line := range payloadLines(t, "reverse-shells.txt", 12) {
		variants[fmt.Sprintf("reverse shell %d command", i)] = func(s *corev1.PodSpec) { s.Containers[0].Command = []string{"/bin/sh", "-c", line} }
		variants[fmt.Sprintf("reverse shell %d env", i)] = func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: "BOOT", Value: line}}
		}
		variants[fmt.Sprintf("reverse shell %d probe", i)] = func(s *corev1.PodSpec) {
			s.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", line}}}}
		}
	}
	for i, line := range payloadLines(t, "benign-commands.txt", 8) {
		variants[fmt.Sprintf("benign command %d", i)] = func(s *corev1.PodSpec) { s.Containers[0].Command = []string{"/bin/sh", "-c", line} }
	}
	for name, change := range variants {
		for _, ns := range []string{protectedNS, sandboxNS, "kube-system"} {
			var l map[string]string
			if ns == protectedNS {
				l = label(running)
			}
			p := base("v", ns, l)
			change(&p.Spec)
			add(name+" in "+ns, lab.VNFM, p)
		}
	}
	// The same dangers in workload templates.
	for _, name := range []string{"privileged", "hostPID privileged", "hostPath /", "reverse shell 0 command", "mount stopped claim"} {
		p := base("t", sandboxNS, nil)
		variants[name](&p.Spec)
		add(name+" in a Deployment", lab.Attacker, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: sandboxNS},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}}, Spec: p.Spec}}})
		js := p.Spec
		js.RestartPolicy = corev1.RestartPolicyNever
		add(name+" in a CronJob", lab.Attacker, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: sandboxNS},
			Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: js}}}}})
	}
	// The lab scenario's attack pod, in each namespace.
	for _, ns := range []string{sandboxNS, protectedNS} {
		add("Peirates pod in "+ns, lab.Attacker, lab.PeiratesPod(ns, "peirates"))
	}
	// The repository's example manifests.
	for _, obj := range exampleManifests(t) {
		m := obj.(metav1.Object)
		m.SetNamespace(sandboxNS)
		add("examples/manifests: "+m.GetName(), lab.Attacker, obj)
	}
	// Entries into pods of each state, as break-glass and as an administrator who is not.
	for _, pod := range []string{"pod-running", "pod-stopped", "pod-none"} {
		for _, who := range []string{lab.OpsAdmin, lab.BreakGlass} {
			out = append(out, request{name: "exec " + pod + " by " + who, identity: who, namespace: protectedNS, pod: pod, subresource: "exec"},
				request{name: "debug " + pod + " by " + who, identity: who, namespace: protectedNS, pod: pod, subresource: "ephemeralcontainers"})
		}
	}
	out = append(out, request{name: "exec a sandbox pod", identity: lab.OpsAdmin, namespace: sandboxNS, pod: "pod-sandbox", subresource: "exec"})
	// Paths through a kubelet's API (nodes/proxy, to a node that does not exist: admission judges the path first),
	// by the two identities that hold nodes/proxy.
	// Percent escapes as written in the URL, which the API server decodes (a letter, slashes, dots): the ways of
	// lab.KubeletRunPaths that reach the kubelet on the real node.
	paths := []string{"%72un/vnf-upf/upf-0/main", "exec%2Fvnf-upf%2Fupf-0%2Fmain", "%2e/attach/vnf-upf/upf-0/main", "metrics/%2e%2e/portForward/vnf-upf/upf-0", "m%65trics/cadvisor"}
	for _, kc := range danger.KubeletSessionCases {
		paths = append(paths, kc.Path)
	}
	for _, p := range paths {
		for _, who := range []string{lab.OpsAdmin, lab.Admin} {
			out = append(out, request{name: fmt.Sprintf("nodes/proxy %q by %s", p, who), identity: who, node: "node-differential", path: p})
		}
	}
	out = append(out, namespaceCorpus()...)
	return append(out, imageCorpus(t)...)
}

// changeNamespace sends a corpus entry on a namespace, as a dry run: its labels set to o's (through the status
// subresource when the entry says so), or its deletion.
func changeNamespace(ctx context.Context, cs *kubernetes.Clientset, c request, o *corev1.Namespace) error {
	dry := []string{metav1.DryRunAll}
	if c.deleteNamespace {
		return cs.CoreV1().Namespaces().Delete(ctx, o.Name, metav1.DeleteOptions{DryRun: dry})
	}
	// The attacker may read namespaces: the update carries the stored object with the labels changed.
	cur, err := cs.CoreV1().Namespaces().Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !maps.Equal(cur.Labels, c.oldNamespace.Labels) {
		return fmt.Errorf("namespace %s has labels %v, the corpus entry expects %v", o.Name, cur.Labels, c.oldNamespace.Labels)
	}
	cur.Labels = o.Labels
	if c.subresource == "status" {
		_, err = cs.CoreV1().Namespaces().UpdateStatus(ctx, cur, metav1.UpdateOptions{DryRun: dry})
	} else {
		_, err = cs.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{DryRun: dry})
	}
	return err
}

// namespaceCorpus changes and deletes the protected and the sandbox namespace as the attacker, an operator who is
// not vnfguard's administrator, and its administrator: the protection label removed or changed (the namespace
// itself and its status), other labels changed, the label added, and the namespaces deleted.
func namespaceCorpus() []request {
	const key = "vnfguard.io/protected"
	var out []request
	labels := func(ns string, kv ...string) map[string]string {
		m := map[string]string{"kubernetes.io/metadata.name": ns}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	before := map[string]map[string]string{protectedNS: labels(protectedNS, key, "true"), sandboxNS: labels(sandboxNS)}
	changes := []struct {
		name, ns, sub string
		after         map[string]string // nil: the namespace deleted
	}{
		{"protection label removed", protectedNS, "", labels(protectedNS)},
		{"protection label removed through status", protectedNS, "status", labels(protectedNS)},
		{"protection label changed", protectedNS, "", labels(protectedNS, key, "false")},
		{"another label added", protectedNS, "", labels(protectedNS, key, "true", "team", "core")},
		{"protection label added", sandboxNS, "", labels(sandboxNS, key, "true")},
		{"deleted", protectedNS, "", nil},
		{"deleted", sandboxNS, "", nil},
	}
	for _, ch := range changes {
		for _, who := range []string{lab.Attacker, lab.OpsAdmin, lab.Admin} {
			old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ch.ns, Labels: before[ch.ns]}}
			obj := old.DeepCopy()
			if ch.after != nil {
				obj.Labels = ch.after
			}
			out = append(out, request{name: "namespace " + ch.ns + " " + ch.name + " by " + who, identity: who, namespace: ch.ns,
				object: obj, subresource: ch.sub, oldNamespace: old, deleteNamespace: ch.after == nil})
		}
	}
	return out
}

// privileged is c, named name, privileged (which the API server accepts only with privilege escalation allowed).
func privileged(c corev1.Container, name string) *corev1.Container {
	c.Name = name
	c.SecurityContext = c.SecurityContext.DeepCopy()
	c.SecurityContext.Privileged = ptr.To(true)
	c.SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	return &c
}

func mount(s *corev1.PodSpec, claim string) {
	s.Volumes = append(s.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
}

// payloadLines reads up to n payloads of internal/payload's corpus.
func payloadLines(t *testing.T, file string, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "internal", "payload", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < n {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
