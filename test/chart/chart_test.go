package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/manifest"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/posture"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

const chartDir = "../../deploy/helm/vnfguard"

// helm builds (once, cached) and returns the helm binary.
func helm(t *testing.T) string {
	t.Helper()
	h, err := lab.HelmBinary("../..")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String(), out)
	}
	return out
}

func render(t *testing.T, h string, args ...string) []manifest.Object {
	t.Helper()
	out := run(t, h, append([]string{"template", "vnfguard", chartDir, "--namespace", "vnfguard"}, args...)...)
	objs, err := manifest.Parse(out, "helm template")
	if err != nil {
		t.Fatalf("the rendered chart does not decode: %v\n%s", err, out)
	}
	return objs
}

func find[T any](objs []manifest.Object, kind, name string) T {
	var zero T
	for _, o := range objs {
		if o.GVK.Kind == kind && o.Meta().GetName() == name {
			if v, ok := o.Object.(T); ok {
				return v
			}
		}
	}
	return zero
}

func TestLint(t *testing.T) {
	h := helm(t)
	run(t, h, "lint", "--strict", chartDir)
	run(t, h, "lint", "--strict", chartDir, "-f", "testdata/values.yaml")
}

func TestRendersAnHAWebhook(t *testing.T) {
	objs := render(t, helm(t), "-f", "testdata/values.yaml")
	d := find[*appsv1.Deployment](objs, "Deployment", "vnfguard")
	if d == nil {
		t.Fatal("no Deployment vnfguard")
	}
	if *d.Spec.Replicas != 2 || d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("replicas %d, strategy %+v: want 2 replicas and a rollout that never lowers them", *d.Spec.Replicas, d.Spec.Strategy)
	}
	pod := d.Spec.Template.Spec
	if len(pod.TopologySpreadConstraints) == 0 || pod.TopologySpreadConstraints[0].LabelSelector == nil {
		t.Errorf("no topology spread with a selector: %+v", pod.TopologySpreadConstraints)
	}
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %+v, liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	for _, want := range []string{"--webhook-service=vnfguard/vnfguard:443", "--metrics-listen=:9090", "--store=$(VNFGUARD_STORE_DSN)", "--audit-token-file=/etc/vnfguard/audit/tokens"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("serve lacks %s: %v", want, c.Args)
		}
	}
	// With the PostgreSQL store, the audit queue is in PostgreSQL: no per-pod disk queue for a killed pod to lose.
	if !slices.Contains(c.Args, "--audit") || slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--audit-queue-dir") }) {
		t.Errorf("with store.existingSecret, serve should queue audit batches in PostgreSQL (--audit, no --audit-queue-dir): %v", c.Args)
	}
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil && v.Name == "audit-queue" {
			t.Errorf("with store.existingSecret, an emptyDir audit queue is still rendered: %+v", v)
		}
	}
	if pdb := find[interface{ GetName() string }](objs, "PodDisruptionBudget", "vnfguard"); pdb == nil {
		t.Error("no PodDisruptionBudget")
	}
	for _, kind := range []string{"Service", "NetworkPolicy", "Secret", "ConfigMap", "Job"} {
		found := false
		for _, o := range objs {
			found = found || o.GVK.Kind == kind
		}
		if !found {
			t.Errorf("no %s rendered", kind)
		}
	}
	hook := find[*batchv1.Job](objs, "Job", "vnfguard-unregister")
	if hook == nil || hook.GetAnnotations()["helm.sh/hook"] != "pre-delete" {
		t.Fatalf("no pre-delete hook that removes the registration before the pods: %v", hook)
	}
	// It scales vnfguard to zero first (else a replica's watchdog puts the registration back), on the nodes
	// vnfguard runs on, and its pod is none of vnfguard's replicas: the Service, the PodDisruptionBudget and its
	// own wait for the replicas to go select by the Deployment's selector (measured on the lab's real node: with
	// the selector labels the hook waited 2 minutes for itself, and without the node selector it ran on no node).
	if args := hook.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--scale-down=vnfguard/vnfguard") {
		t.Errorf("the hook does not scale vnfguard down before unregistering: %v", args)
	}
	sel := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "vnfguard", "app.kubernetes.io/instance": "vnfguard"})
	if sel.Matches(labels.Set(hook.Spec.Template.Labels)) {
		t.Errorf("the hook's pod carries vnfguard's selector labels: %v", hook.Spec.Template.Labels)
	}
	if got := hook.Spec.Template.Spec.NodeSelector; got["vnfguard.io/test"] != "yes" {
		t.Errorf("the hook's pod does not follow the nodeSelector value: %v", got)
	}
	// The configuration names vnfguard's own objects and lets it keep its registration.
	cm := find[*corev1.ConfigMap](objs, "ConfigMap", "vnfguard-config")
	if cm == nil || !strings.Contains(cm.Data["config.yaml"], "reapply: true") || !strings.Contains(cm.Data["config.yaml"], "namespace: vnfguard") {
		t.Fatalf("config: %v", cm)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the chart's configuration does not load: %v\n%s", err, cm.Data["config.yaml"])
	}
	if !cfg.Self.Registration.Reapply || cfg.Self.Namespace != "vnfguard" || !cfg.IsProtected("vnf-5gc", nil) {
		t.Errorf("the chart's configuration: %+v", cfg.Self)
	}
}

// Without a PostgreSQL store, each pod queues audit batches on an emptyDir of its own.
func TestAuditDiskQueueWithoutPostgres(t *testing.T) {
	objs := render(t, helm(t))
	d := find[*appsv1.Deployment](objs, "Deployment", "vnfguard")
	if d == nil {
		t.Fatal("no Deployment vnfguard")
	}
	pod := d.Spec.Template.Spec
	if args := pod.Containers[0].Args; !slices.Contains(args, "--audit-queue-dir=/var/lib/vnfguard/audit") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--store") }) {
		t.Errorf("without store.existingSecret, serve should queue on disk and have no store: %v", args)
	}
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "audit-queue" && v.EmptyDir != nil }) {
		t.Errorf("no emptyDir audit-queue volume: %+v", pod.Volumes)
	}
}

// The chart grants what `vnfguard rbac` grants: the same rules, the Secrets role bound in the protected namespaces
// and nowhere else.
func TestRBACIsInstallRBAC(t *testing.T) {
	objs := render(t, helm(t), "-f", "testdata/values.yaml")
	want := install.RBAC(install.Options{DataNamespaces: []string{"vnf-5gc", "vnfguard", "vnf-edge"}, WebhookConfigurations: []string{"vnfguard"}, Reapply: true})
	var wantRoles, gotRoles = map[string][]rbacv1.PolicyRule{}, map[string][]rbacv1.PolicyRule{}
	var wantBindings, gotBindings []string
	for _, o := range want {
		switch v := o.(type) {
		case *rbacv1.ClusterRole:
			wantRoles[v.Name] = v.Rules
		case *rbacv1.Role:
			wantRoles[v.Namespace+"/"+v.Name] = v.Rules
		case *rbacv1.RoleBinding:
			wantBindings = append(wantBindings, v.Namespace+"/"+v.Name+"->"+v.RoleRef.Name)
		case *rbacv1.ClusterRoleBinding:
			wantBindings = append(wantBindings, v.Name+"->"+v.RoleRef.Name)
		}
	}
	for _, o := range objs {
		switch v := o.Object.(type) {
		case *rbacv1.ClusterRole:
			gotRoles[v.Name] = v.Rules
		case *rbacv1.RoleBinding:
			gotBindings = append(gotBindings, v.Namespace+"/"+v.Name+"->"+v.RoleRef.Name)
		case *rbacv1.ClusterRoleBinding:
			gotBindings = append(gotBindings, v.Name+"->"+v.RoleRef.Name)
		case *rbacv1.Role:
			gotRoles[v.Namespace+"/"+v.Name] = v.Rules
		}
	}
	if !reflect.DeepEqual(gotRoles, wantRoles) {
		a, _ := json.MarshalIndent(gotRoles, "", " ")
		b, _ := json.MarshalIndent(wantRoles, "", " ")
		t.Errorf("ClusterRoles differ from internal/install:\nchart %s\ninstall %s", a, b)
	}
	slices.Sort(gotBindings)
	slices.Sort(wantBindings)
	if !slices.Equal(gotBindings, wantBindings) {
		t.Errorf("bindings %v, want %v", gotBindings, wantBindings)
	}
}

// vnfguard's own pods pass vnfguard's own checks at the restricted level, read-only root filesystem included.
func TestPodsPassVNFGuardsChecks(t *testing.T) {
	dir := t.TempDir()
	rendered := filepath.Join(dir, "chart.yaml")
	if err := os.WriteFile(rendered, run(t, helm(t), "template", "vnfguard", chartDir, "--namespace", "vnfguard", "-f", "testdata/values.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	binary := filepath.Join(dir, "vnfguard")
	if err := lab.BuildVNFGuard(lab.RepoRoot(wd), binary); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "policy", "test", "-f", rendered, "--config", "testdata/policy.yaml", "--offline", "-o", "json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	var results []struct {
		Object     struct{ Kind, Name string }
		Verdict    string
		Violations []struct{ Check, Message string }
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatal(err)
	}
	judged := 0
	for _, r := range results {
		if r.Object.Kind != "Deployment" && r.Object.Kind != "Job" {
			continue
		}
		judged++
		if r.Verdict != "allowed" {
			t.Errorf("%s %s: %s %+v", r.Object.Kind, r.Object.Name, r.Verdict, r.Violations)
		}
	}
	if judged != 2 {
		t.Errorf("judged %d workloads, want the Deployment and the unregister Job: %s", judged, out)
	}
}

// deploy/manifests/vnfguard.yaml is the chart rendered for those who do not use Helm (vnfguard manages its own
// certificate, and no audit token is generated, so that the file is the same on every render).
func TestPlainManifestsAreCurrent(t *testing.T) {
	out := run(t, helm(t), "template", "vnfguard", chartDir, "--namespace", "vnfguard", "--set", "audit.enabled=false")
	shipped, err := os.ReadFile("../../deploy/manifests/vnfguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, shipped) {
		t.Errorf("deploy/manifests/vnfguard.yaml is out of date: helm template vnfguard deploy/helm/vnfguard --namespace vnfguard --set audit.enabled=false > deploy/manifests/vnfguard.yaml")
	}
}

// Every value is documented: a comment stands before each leaf key of values.yaml, before the group of leaves it
// starts, or before the section it is in.
func TestValuesDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		indent     int
		documented bool
	}
	var stack []key // the open sections and the last key at each indent
	prevComment, prevKey := false, -1
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			prevComment, prevKey = false, -1
			continue
		case strings.HasPrefix(trimmed, "#"):
			prevComment = true
			continue
		case strings.HasPrefix(trimmed, "-") || !strings.Contains(trimmed, ":"):
			prevComment = false
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parentDocumented := len(stack) > 0 && stack[len(stack)-1].documented
		documented := prevComment || parentDocumented || prevKey == indent
		section := strings.HasSuffix(trimmed, ":")
		if !documented && !section {
			t.Errorf("values.yaml:%d: %s has no comment", i+1, trimmed)
		}
		stack = append(stack, key{indent: indent, documented: documented})
		prevComment = false
		if documented && !section {
			prevKey = indent
		} else {
			prevKey = -1
		}
	}
}

// By default vnfguard manages its serving certificate itself (Secrets it creates, RBAC for exactly those); with
// tls.mode certManager the chart asks cert-manager and grants no Secret writes.
func TestSelfManagedCertificateIsTheDefault(t *testing.T) {
	h := helm(t)
	for _, tc := range []struct {
		args []string
		self bool
	}{
		{nil, true},
		{[]string{"--set", "tls.mode=certManager"}, false},
		{[]string{"--set", "tls.certManager=true"}, false},
	} {
		objs := render(t, h, tc.args...)
		c := find[*appsv1.Deployment](objs, "Deployment", "vnfguard").Spec.Template.Spec.Containers[0]
		selfArgs := slices.Contains(c.Args, "--tls-secret=vnfguard-webhook-tls") && slices.Contains(c.Args, "--tls-ca-secret=vnfguard-webhook-ca")
		fileArgs := slices.Contains(c.Args, "--tls-cert-file=/etc/vnfguard/tls/tls.crt") && slices.Contains(c.Args, "--webhook-ca-file=/etc/vnfguard/tls/ca.crt")
		if selfArgs != tc.self || fileArgs == tc.self {
			t.Errorf("%v: serve args %v: want the self-managed certificate %v", tc.args, c.Args, tc.self)
		}
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "tls" })
		if mounted == tc.self {
			t.Errorf("%v: TLS Secret mounted %v", tc.args, mounted)
		}
		role := find[*rbacv1.Role](objs, "Role", "vnfguard-certificates")
		certificate := false
		for _, o := range objs {
			certificate = certificate || o.GVK.Kind == "Certificate"
		}
		if (role != nil) != tc.self || certificate == tc.self {
			t.Fatalf("%v: Role vnfguard-certificates %v, cert-manager Certificate %v", tc.args, role != nil, certificate)
		}
		if role != nil && !slices.Equal(role.Rules[0].ResourceNames, []string{"vnfguard-webhook-ca", "vnfguard-webhook-tls"}) {
			t.Errorf("the Secrets vnfguard may read and update: %v", role.Rules[0].ResourceNames)
		}
	}
}

// node.enabled: the agent's DaemonSet and ServiceAccount (no RBAC of its own), serve's /runtime for exactly that
// ServiceAccount, agent pods no selector of serve's picks, and `vnfguard scan` reports the agent's host access as
// the named exception (internal/posture/node_agent.go), at info. Off by default.
func TestNodeAgent(t *testing.T) {
	h := helm(t)
	if objs := render(t, h); find[*appsv1.DaemonSet](objs, "DaemonSet", "vnfguard-node") != nil ||
		slices.Contains(find[*appsv1.Deployment](objs, "Deployment", "vnfguard").Spec.Template.Spec.Containers[0].Args, "--runtime") {
		t.Error("the node agent is rendered by default")
	}
	// Several replicas must share the access ledger through PostgreSQL.
	if out, err := exec.Command(h, "template", "vnfguard", chartDir, "--namespace", "vnfguard", "--set", "node.enabled=true").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "needs store.existingSecret") {
		t.Errorf("node.enabled with 2 replicas and no PostgreSQL store rendered (%v): %s", err, out)
	}
	objs := render(t, h, "--set", "node.enabled=true", "--set", "node.allowNamespaces={moby}", "--set", "store.existingSecret=vnfguard-store")
	ds := find[*appsv1.DaemonSet](objs, "DaemonSet", "vnfguard-node")
	if ds == nil || find[*corev1.ServiceAccount](objs, "ServiceAccount", "vnfguard-node") == nil {
		t.Fatal("no DaemonSet or ServiceAccount vnfguard-node")
	}
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	for _, want := range []string{"node", "--containerd-socket=/host/run/containerd/containerd.sock", "--node-name=$(NODE_NAME)",
		"--intake-url=https://vnfguard.vnfguard.svc:443/runtime", "--intake-ca=/etc/vnfguard/ca/ca.crt",
		"--token-file=/var/run/secrets/kubernetes.io/serviceaccount/token", "--proc-root=/proc", "--resync=30s", "--allow-namespace=moby",
		"--kubelet-url=https://$(HOST_IP):10250", "--kubelet-ca=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("agent args %v: no %s", c.Args, want)
		}
	}
	if !spec.HostPID || spec.HostNetwork || spec.ServiceAccountName != "vnfguard-node" || len(spec.Volumes) != 2 ||
		spec.Volumes[0].HostPath == nil || spec.Volumes[0].HostPath.Path != "/run/containerd/containerd.sock" ||
		spec.Volumes[1].Secret == nil || spec.Volumes[1].Secret.SecretName != "vnfguard-webhook-ca" {
		t.Errorf("agent pod spec: hostPID %v hostNetwork %v serviceAccount %q volumes %+v", spec.HostPID, spec.HostNetwork, spec.ServiceAccountName, spec.Volumes)
	}
	serve := find[*appsv1.Deployment](objs, "Deployment", "vnfguard").Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(serve, "--runtime") || !slices.Contains(serve, "--runtime-agent=system:serviceaccount:vnfguard:vnfguard-node") {
		t.Errorf("serve args %v: no --runtime for the agent's ServiceAccount", serve)
	}
	podLabels := labels.Set(ds.Spec.Template.Labels)
	for _, o := range objs {
		switch v := o.Object.(type) {
		case *corev1.Service:
			if labels.SelectorFromSet(v.Spec.Selector).Matches(podLabels) {
				t.Errorf("Service %s selects the agent's pods", v.Name)
			}
		case *appsv1.Deployment:
			if sel, err := metav1.LabelSelectorAsSelector(v.Spec.Selector); err != nil || sel.Matches(podLabels) {
				t.Errorf("Deployment %s selects the agent's pods", v.Name)
			}
		case *rbacv1.RoleBinding:
			for _, s := range v.Subjects {
				if s.Name == "vnfguard-node" {
					t.Errorf("RoleBinding %s/%s grants the agent %s", v.Namespace, v.Name, v.RoleRef.Name)
				}
			}
		case *rbacv1.ClusterRoleBinding:
			for _, s := range v.Subjects {
				if s.Name == "vnfguard-node" && v.RoleRef.Name != "vnfguard-node" {
					t.Errorf("ClusterRoleBinding %s grants the agent %s", v.Name, v.RoleRef.Name)
				}
			}
		case *rbacv1.ClusterRole:
			// The agent's one permission: the kubelet's probe counts.
			if v.Name == "vnfguard-node" && (len(v.Rules) != 1 || !slices.Equal(v.Rules[0].Resources, []string{"nodes/metrics"}) || !slices.Equal(v.Rules[0].Verbs, []string{"get"})) {
				t.Errorf("ClusterRole vnfguard-node grants %+v; want get nodes/metrics only", v.Rules)
			}
		}
	}
	// Admission: the chart's own configuration lets exactly this DaemonSet (and its pods) through, as an override
	// naming the exception; the same DaemonSet with one more hostPath, or in another namespace, is denied.
	var cfg *config.Config
	for _, o := range objs {
		if cm, ok := o.Object.(*corev1.ConfigMap); ok && cm.Name == "vnfguard-config" {
			var err error
			if cfg, err = config.Parse([]byte(cm.Data["config.yaml"])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cfg == nil {
		t.Fatal("no ConfigMap vnfguard-config")
	}
	evaluator, err := policy.New(policy.Environment{Config: cfg, Inventory: vnf.Static{Snap: vnf.Empty("none")}})
	if err != nil {
		t.Fatal(err)
	}
	judge := func(d *appsv1.DaemonSet) *policy.Decision {
		return evaluator.Evaluate(context.Background(), &policy.Request{UID: "u", Operation: policy.Create,
			Kind: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), Resource: appsv1.SchemeGroupVersion.WithResource("daemonsets"),
			Namespace: d.Namespace, Name: d.Name, User: authnv1.UserInfo{Username: "system:serviceaccount:kube-system:helm"}, Object: d})
	}
	if d := judge(ds); !d.Allowed || !slices.Contains(d.Exceptions, policy.NodeAgentException) || len(d.Overrides) == 0 {
		t.Errorf("the chart's agent: allowed %v exceptions %v overrides %d denials %v errors %v", d.Allowed, d.Exceptions, len(d.Overrides), d.Denials, d.Errors)
	}
	wider := ds.DeepCopy()
	wider.Spec.Template.Spec.Volumes = append(wider.Spec.Template.Spec.Volumes, corev1.Volume{Name: "root",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
	if d := judge(wider); d.Allowed || !strings.Contains(d.Message(), "not vnfguard's named node-agent exception: volume \"root\" is a second hostPath") {
		t.Errorf("the agent with the host's / mounted too: allowed %v: %s", d.Allowed, d.Message())
	}
	elsewhere := ds.DeepCopy()
	elsewhere.Namespace = "tools"
	if d := judge(elsewhere); d.Allowed || len(d.Overrides) > 0 {
		t.Errorf("a look-alike in another namespace: allowed %v overrides %v", d.Allowed, d.Overrides)
	}
	// The posture scan: the agent's host access, reported at info as the named exception.
	dir := t.TempDir()
	rendered := filepath.Join(dir, "chart.yaml")
	if err := os.WriteFile(rendered, run(t, h, "template", "vnfguard", chartDir, "--namespace", "vnfguard", "--set", "node.enabled=true", "--set", "replicaCount=1"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := posture.FromFiles([]string{rendered}, "")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := posture.Scan(context.Background(), in, posture.Options{Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, f := range fs {
		if f.Object.Kind == "DaemonSet" && (f.Rule == "posture-host-takeover" || f.Rule == "posture-pod-security") {
			if f.Severity != finding.Info || !strings.Contains(f.Message, posture.NodeAgentException) {
				t.Errorf("%s at %s: %s", f.Rule, f.Severity, f.Message)
			}
			named++
		}
	}
	if named == 0 {
		t.Error("the scan does not report the agent's host access at all")
	}
}
