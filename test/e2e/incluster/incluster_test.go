package incluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/keyutil"

	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/ociimage"
	"github.com/vnfguard/vnfguard/internal/selfcert"
	"github.com/vnfguard/vnfguard/internal/store"
)

const (
	// clients create pods for loadFor while a replica goes (the acceptance: 20 clients, 30 s).
	clients = 20
	loadFor = 30 * time.Second
	// fullname is the release's name prefix (fullnameOverride).
	fullname = "vnfguard-ic"
	// inventoryConfigMap holds the VNF inventory (the chart's inventory.configMap).
	inventoryConfigMap = "vnfguard-inventory"
	// namespace is where the chart installs vnfguard (not the lab's own "vnfguard", whose ServiceAccount the lab makes); protectedNS is the protected namespace of its configuration.
	namespace   = "vnfguard-system"
	protectedNS = "vnf-incluster"
	release     = "vnfguard"
	// selector picks vnfguard's replicas (the chart's selector labels).
	selector = "app.kubernetes.io/name=vnfguard,app.kubernetes.io/instance=vnfguard"
)

func TestInstalledWithHelmOnARealNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the real node (kubelet, containerd, a bridge) needs root")
	}
	if err := lab.CheckNodeBinaries(lab.DefaultBinDir()); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	root := lab.RepoRoot(wd)
	if root == "" {
		t.Fatalf("%s is not inside the vnfguard repository", wd)
	}
	dir := t.TempDir()
	binary := filepath.Join(dir, "vnfguard")
	if err := lab.BuildStaticVNFGuard(root, binary); err != nil {
		t.Fatal(err)
	}
	helm, err := lab.HelmBinary(root)
	if err != nil {
		t.Fatal(err)
	}

	pgDSN := os.Getenv(lab.PostgresDSNEnv)
	if pgDSN == "" {
		t.Fatal(lab.PostgresDSNEnv + ` is empty: the replicas share a PostgreSQL audit queue and findings store; run eval "$(bash hack/postgres.sh | tail -n1)" first`)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The API server's audit webhook backend dials what its kubeconfig says, not a Service: as an operator would
	// point it at vnfguard's Service name, the lab points it at a loopback port that relays to the Service's ready
	// endpoints (kube-proxy's job; the lab has none), with the Service's name as the TLS server name. The kubeconfig
	// is read once, when the API server starts, so the CA it trusts exists first: the operator's own CA, which
	// vnfguard adopts from its CA Secret (README: "audit webhook with tls.mode self").
	auditLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webhookCA, err := lab.NewCA("vnfguard webhook CA (operator's)")
	if err != nil {
		t.Fatal(err)
	}
	auditToken := rand.Text()
	auditKubeconfig := filepath.Join(dir, "audit-webhook.kubeconfig")
	if err := lab.WriteAuditWebhookConfig(auditKubeconfig, "https://"+auditLn.Addr().String()+"/audit",
		selfcert.HostsForService(namespace, fullname)[0], webhookCA.CertPEM, auditToken); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, RealNode: true,
		AuditWebhookConfigFile: auditKubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	node := cp.RealNode()
	if err := cp.ServeService(auditLn, namespace, fullname, "https"); err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	attacker, _ := cp.ClientFor(lab.Attacker)

	// vnfguard's image, built as `make image` builds it, in the registry the node pulls from.
	img, err := ociimage.Build(binary, ociimage.Options{Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ociimage.Push(ctx, node.Registry()+"/vnfguard/vnfguard", img, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	// The pods reach the API server through a forwarder on the pod network's gateway: the lab has no kube-proxy
	// for the kubernetes Service's ClusterIP. The API server's certificate names the gateway.
	apiHost := strings.TrimPrefix(cp.URL, "https://")
	gateway, err := node.ExposeToPods(apiHost)
	if err != nil {
		t.Fatal(err)
	}
	gwHost, gwPort, err := lab.GatewayPort(gateway)
	if err != nil {
		t.Fatal(err)
	}

	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{{lab.Sandbox, nil}, {namespace, nil}, {protectedNS, protected},
		// The scenario's VNF namespaces exist before the install, which binds vnfguard's data RBAC in them.
		{lab.UPF.Namespace, protected}, {lab.UDR.Namespace, protected}} {
		if err := cp.EnsureNamespace(ctx, ns.name, ns.labels); err != nil {
			t.Fatal(err)
		}
	}
	// The PostgreSQL store and audit queue, in a database of this test's own, reached by the pods through the
	// gateway.
	storeDSN, dropDB, err := lab.NewDatabase(ctx, pgDSN, "vnfguard_incluster")
	if err != nil {
		t.Fatal(err)
	}
	defer dropDB()
	podDSN, err := reachableFromPods(node, storeDSN)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := store.Open(ctx, storeDSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer findings.Close()
	caKey, err := keyutil.MarshalPrivateKeyToPEM(webhookCA.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-store", Namespace: namespace}, StringData: map[string]string{"dsn": podDSN}},
		{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-webhook-ca", Namespace: namespace, Labels: map[string]string{selfcert.ManagedByLabel: selfcert.ManagedBy}},
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{selfcert.CertKey: webhookCA.CertPEM, selfcert.KeyKey: caKey, selfcert.BundleKey: webhookCA.CertPEM}},
	} {
		if _, err := admin.CoreV1().Secrets(namespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	nfvo := lab.NewNFVO(filepath.Join(dir, "inventory.yaml"), lab.UPF, lab.UDR)
	inventory, err := nfvo.Render()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ConfigMaps(namespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: inventoryConfigMap, Namespace: namespace},
		Data:       map[string]string{"inventory.yaml": string(inventory)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte(valuesYAML(ref.Context().String(), ref.DigestStr(), node.Name, node.Registry(), gwHost, gwPort, auditToken)), 0o600); err != nil {
		t.Fatal(err)
	}

	// The replicas' logs, kept even when their pods are deleted: printed when the test fails.
	keepLogs := node.KeepLogs(namespace)
	var logs map[string]string
	replicaLogs := func() map[string]string {
		if logs == nil {
			logs = keepLogs()
		}
		return logs
	}
	defer func() {
		logs := replicaLogs()
		if !t.Failed() {
			return
		}
		for name, text := range logs {
			t.Logf("log of %s (its own messages, without findings and per-request lines):\n%s", name, tail(ownMessages(text), 40))
		}
	}()

	// Install in one command, as the README says.
	installStart := time.Now()
	runHelm(t, helm, cp.Kubeconfig(lab.Admin), "install", release, filepath.Join(root, "deploy/helm/vnfguard"),
		"--namespace", namespace, "-f", values, "--wait", "--timeout", "3m")
	pods := readyReplicas(ctx, t, admin, 2, 2*time.Minute)
	registered := waitRegistered(ctx, t, attacker)
	t.Logf("helm install: %d replicas Ready on the real node %s, webhook answering through the Service %.1f s after install (image %s)",
		len(pods), node.Name, registered.Sub(installStart).Seconds(), ref)
	for _, p := range pods {
		if p.Spec.NodeName != node.Name || p.Status.PodIP == "" {
			t.Errorf("replica %s: node %q IP %q, want the real node and a pod IP", p.Name, p.Spec.NodeName, p.Status.PodIP)
		}
	}

	// The chart's ServiceAccount may do exactly what internal/install documents (`kubectl auth can-i --list` as it),
	// with the release's names filled in.
	self := kubernetes.NewForConfigOrDie(serviceAccountConfig(ctx, t, cp, namespace, fullname))
	rules := install.ReleaseRules(fullname)
	for ns, want := range map[string][][]rbacv1.PolicyRule{
		protectedNS:       {rules[install.ServeRole], rules[install.RegistrationRole], rules[install.NamespaceDataRole]},
		lab.UPF.Namespace: {rules[install.ServeRole], rules[install.RegistrationRole], rules[install.NamespaceDataRole]},
		lab.Sandbox:       {rules[install.ServeRole], rules[install.RegistrationRole]},
		namespace: {rules[install.ServeRole], rules[install.RegistrationRole], rules[install.LeaderElectionRole],
			rules[install.CertificatesRole], rules[install.UninstallRole]},
	} {
		extra, missing, err := lab.RulesDiff(ctx, self, ns, want...)
		if err != nil {
			t.Fatal(err)
		}
		if len(extra)+len(missing) > 0 {
			t.Errorf("%s: the chart's ServiceAccount may also %v, and may not %v, against what internal/install documents", ns, extra, missing)
		}
	}

	// The attack is stopped by the installed vnfguard, and ordinary pods still start.
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "peirates"), metav1.CreateOptions{}); !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "host-takeover") {
		t.Fatalf("the Peirates pod through the installed vnfguard: %v, want a denial by host-takeover", err)
	}
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, benignPod(node, lab.Sandbox, "benign"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a benign pod through the installed vnfguard: %v", err)
	}
	if err := lab.WaitPodRunning(ctx, admin, lab.Sandbox, "benign", time.Minute); err != nil {
		t.Fatal(err)
	}

	// The audit pipeline: API server → its webhook backend → the Service → a replica → the PostgreSQL queue → a
	// finding in the store.
	probes := newProber(ctx, t, cp)
	if err := probes.probe(ctx); err != nil {
		t.Fatal(err)
	}
	if n := waitStored(ctx, t, findings, 1, time.Minute); n != 1 {
		t.Fatalf("one service-account probe through the audit webhook to the Service: %d stored, want 1", n)
	}
	dropped, _ := auditDropped(ctx, admin)
	t.Logf("audit webhook → Service → PostgreSQL works (the API server dropped %.0f events before vnfguard was installed)", dropped)

	// The whole lifecycle and attack scenario, judged by the installed vnfguard: its denials and findings read from
	// the store the replicas share, the NFVO's inventory delivered through the chart's ConfigMap.
	installed, err := lab.NewInstalled(admin, lab.InstalledOptions{Namespace: namespace, Selector: selector, MetricsPort: 9090,
		InventoryConfigMap: inventoryConfigMap, InventoryFile: nfvo.Path, Store: findings, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer installed.Close()
	scenarioStart := time.Now()
	results, err := lab.RunScenario(ctx, &lab.Env{CP: cp, Installed: installed, NFVO: nfvo, Logger: logger}, lab.DefaultScenario())
	if err != nil {
		t.Fatal(err)
	}
	sum := lab.Summarize(results)
	t.Logf("scenario %s through the installed vnfguard: %d/%d steps as expected, %d denied, %d denials of benign steps, %.1f s",
		lab.DefaultScenario().Name, sum.Passed, sum.Steps, sum.Denied, sum.BenignDenials, time.Since(scenarioStart).Seconds())
	for _, r := range results {
		if !r.OK() {
			t.Errorf("scenario step %q (%s): %s", r.Step.Name, r.Step.Identity, strings.Join(r.Problems, "; "))
		}
	}

	// Failover under load: callers create (dry-run) a benign pod and the Peirates pod, in turns, while a replica goes.
	for _, disruption := range []struct {
		name string
		do   func(ctx context.Context, victim corev1.Pod) error
	}{
		{"delete (SIGTERM, drain)", func(ctx context.Context, victim corev1.Pod) error {
			return admin.CoreV1().Pods(namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{})
		}},
		{"SIGKILL", func(ctx context.Context, victim corev1.Pod) error {
			return killContainer(ctx, node, victim)
		}},
	} {
		pods := readyReplicas(ctx, t, admin, 2, 2*time.Minute)
		victim, holder := leader(ctx, t, admin, pods)
		droppedBefore, err := auditDropped(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		sentBefore := probes.sent.Load()
		stopProbes := probes.run(ctx, 2)
		leaders, stopSampling := sampleLeaders(ctx, admin, 200*time.Millisecond)
		var handover func() (string, time.Duration)
		res := underLoad(ctx, t, attacker, node, clients, loadFor, 5*time.Second, func() {
			handover = timeHandover(ctx, admin, holder)
			if err := disruption.do(ctx, victim); err != nil {
				t.Errorf("%s of %s: %v", disruption.name, victim.Name, err)
			}
		})
		stopProbes()
		t.Logf("%s of the leader %s under load (%d clients, %s): %s", disruption.name, victim.Name, clients, loadFor, res)

		// Audit: every probe the API server answered is counted once in PostgreSQL, whichever replica took it.
		sent := int(probes.sent.Load())
		got := waitStored(ctx, t, findings, sent, 2*time.Minute)
		droppedAfter, err := auditDropped(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: audit: %d probes during the run, %d stored in all (want %d); the API server dropped %.0f audit events",
			disruption.name, sent-int(sentBefore), got, sent, droppedAfter-droppedBefore)
		if n := probes.unanswered.Load(); n > 0 {
			t.Errorf("%s: %d probes got no answer from the API server: whether they left an audit event is unknown", disruption.name, n)
		}
		switch {
		case got < sent:
			t.Errorf("%s: %d audit events LOST: %d probes answered by the API server, %d counted in the store", disruption.name, sent-got, sent, got)
		case got > sent:
			t.Errorf("%s: %d audit events DOUBLED: %d probes, %d counted in the store", disruption.name, got-sent, sent, got)
		}
		if droppedAfter > droppedBefore {
			t.Errorf("%s: the API server's audit webhook gave up on %.0f events", disruption.name, droppedAfter-droppedBefore)
		}
		// Exactly one replica runs the singletons at any time.
		stopSampling()
		t.Logf("%s: %s", disruption.name, leaders)
		if leaders.most.Load() != 1 {
			t.Errorf("%s: at most %d replicas said vnfguard_leader 1 at once, want exactly 1", disruption.name, leaders.most.Load())
		}
		if disruption.name == "SIGKILL" {
			restarted(ctx, t, admin, victim)
		}
		// A SIGKILLed container restarts in the same pod, with a new identity: it may win the Lease back.
		next, took := handover()
		if next == "" {
			t.Errorf("%s: the Lease stayed with %s for %s after the disruption", disruption.name, holder, took.Round(time.Millisecond))
		}
		t.Logf("FAILOVER in-cluster %s: the Lease went from %s to %s %s after the disruption", disruption.name, holder, next, took.Round(10*time.Millisecond))
		if res.attackAllowed != 0 {
			t.Errorf("%s: %d Peirates pods were ALLOWED (at %v)", disruption.name, res.attackAllowed, res.allowedAt)
		}
		if res.benignOK == 0 || res.attackDenied == 0 {
			t.Errorf("%s: no successful request of a kind: %s", disruption.name, res)
		}
		if strings.HasPrefix(disruption.name, "delete") && res.failed() > 0 {
			t.Errorf("graceful deletion of a replica failed %d requests (%s); want none: the replica drains first", res.failed(), res.firstError)
		}
		// A SIGKILL fails the requests the killed replica was judging, and those the API server sends over its
		// pooled connections to that address until the endpoint leaves the Service: the API server calls a webhook
		// once and does not retry a dropped connection. host-access (failurePolicy Fail) fails them closed — never
		// allowed, which the check above holds — and benign pods never go there.
		if res.benignFailed > 0 {
			t.Errorf("%s: %d benign requests failed: %s", disruption.name, res.benignFailed, res.firstError)
		}
	}

	// Uninstall: the pre-delete hook scales vnfguard to zero and then deletes the registration, which no replica's
	// watchdog (self.registration.reapply) can put back; the cluster is not left failing closed.
	hookLog := followHook(ctx, admin, node)
	uninstallStart := time.Now()
	runHelm(t, helm, cp.Kubeconfig(lab.Admin), "uninstall", release, "--namespace", namespace, "--wait", "--timeout", "3m")
	t.Logf("helm uninstall took %s; its pre-delete hook said: %s", time.Since(uninstallStart).Round(time.Second), hookLog())
	// Each replica's process stops well within its grace period: the shutdown delay, then the requests and audit
	// batches in flight (its log: "draining before shutdown" ... "vnfguard stopped"). How long the kubelet then takes
	// to remove the pod is the node's: the lab's kubelet sometimes needs the whole grace period for a pod whose
	// process had exited in 3 s (measured from these logs), which is why the hook waits for the pods.
	for name, text := range replicaLogs() {
		stops := stopLines(text)
		if stops == "" {
			continue
		}
		t.Logf("how %s stopped:\n%s", name, stops)
		if took, ok := stopDuration(text); !ok {
			if strings.Contains(stops, "draining") {
				t.Errorf("%s began to drain and never logged \"vnfguard stopped\"", name)
			}
		} else if took > 15*time.Second {
			t.Errorf("%s took %s from SIGTERM to exit, want well within terminationGracePeriodSeconds (30 s)", name, took)
		}
	}
	if vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall, ValidatingWebhookConfiguration vnfguard-ic: %v (uid %v), want it gone", err, vwc.UID)
		events(ctx, t, admin)
	}
	time.Sleep(3 * time.Second) // a watchdog that outlived the hook would have put it back by now (it re-applies within seconds)
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("3 s after helm uninstall, ValidatingWebhookConfiguration vnfguard-ic: %v, want it still gone", err)
	}
	if list, err := admin.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector}); err != nil || len(list.Items) != 0 {
		t.Errorf("after helm uninstall: %v, %d vnfguard pods left", err, len(list.Items))
	}
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "after-uninstall"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("after helm uninstall pods are admitted without vnfguard, want the control run's result; got %v", err)
	}
}

// valuesYAML is the chart's values: the image by digest, the lab's configuration (lab.ConfigYAML's, with the
// protected namespace by name so that the chart binds the data RBAC there), the real node (the lab also has a kwok
// node, where pods never run) and the forwarder to the API server.
func valuesYAML(repo, digest, nodeName, registry, apiHost string, apiPort int, auditToken string) string {
	// fullnameOverride: the lab itself binds a local vnfguard's RBAC under the name vnfguard.
	return fmt.Sprintf(`fullnameOverride: %s
image: {repository: %q, digest: %q}
audit: {enabled: true, tokens: %q}
store: {existingSecret: %s-store}
# The operator's CA in Secret vnfguard-ic-webhook-ca (a day's validity, the lab's): renewed an hour before it ends.
tls: {certValidity: 12h, renewBefore: 1h}
inventory: {configMap: %s}
shutdownDelay: 3s
nodeSelector: {kubernetes.io/hostname: %q}
tolerations: [{key: %s, operator: Exists, effect: NoSchedule}]
extraEnv:
  - {name: KUBERNETES_SERVICE_HOST, value: %q}
  - {name: KUBERNETES_SERVICE_PORT, value: "%d"}
config:
  protectedNamespaces:
    names: [%s, %s, %s]
    selector: {matchLabels: {vnfguard.io/protected: "true"}}
  instanceLabel: tacker_vnf_instance_id
  identities:
    vnfm: {users: [%q]}
    breakGlass: {groups: [%q]}
    administrators: {users: [%q]}
  registries: {allowed: ["%s/", %q]}
  profiles:
    - {name: upf, products: [UPF], allowCapabilities: [NET_ADMIN, IPC_LOCK], allowHugepages: true, allowNetworks: [n3, n6]}
`, fullname, repo, digest, auditToken, fullname, inventoryConfigMap, nodeName, lab.RealNodeTaint, apiHost, apiPort,
		protectedNS, lab.UPF.Namespace, lab.UDR.Namespace, lab.VNFM, lab.GroupBreakGlass, lab.Admin, registry, lab.Registry)
}

func benignPod(node *lab.Node, namespace, name string) *corev1.Pod {
	f := false
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PodSpec{
			NodeName: node.Name, AutomountServiceAccountToken: &f, TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "app", Image: node.Images.VNF, Command: []string{"/bin/sleep", "3600"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &f, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		},
	}
}

// restarted checks that the kill was real: the kubelet restarted the replica's container.
func restarted(ctx context.Context, t *testing.T, cs kubernetes.Interface, victim corev1.Pod) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, victim.Name, metav1.GetOptions{})
		if err == nil && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount > victim.Status.ContainerStatuses[0].RestartCount {
			return
		}
	}
	t.Errorf("the SIGKILLed replica %s was not restarted by the kubelet within a minute: was it killed?", victim.Name)
}

// followHook follows the logs of the pre-delete hook's pods (the Job deletes them when it succeeds); the returned
// function gives what they printed.
func followHook(ctx context.Context, cs kubernetes.Interface, node *lab.Node) func() string {
	var (
		mu   sync.Mutex
		logs strings.Builder
		seen = map[string]bool{}
	)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + fullname + "-unregister"})
			if err == nil {
				for _, p := range list.Items {
					if seen[p.Name] || (p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed) {
						continue
					}
					seen[p.Name] = true
					// From the kubelet's log file: the lab's node (named localhost) has no address the API server's
					// log proxy prefers.
					var out []byte
					files, err := filepath.Glob(filepath.Join(node.Dir, "pod-logs", namespace+"_"+p.Name+"_*", "*", "*"))
					for _, f := range files {
						data, _ := os.ReadFile(f)
						out = append(out, data...)
					}
					if len(files) == 0 {
						entries, _ := filepath.Glob(filepath.Join(node.Dir, "pod-logs", "*"))
						err = fmt.Errorf("no log file; pod-logs has %v", entries)
					}
					mu.Lock()
					fmt.Fprintf(&logs, "[%s %s] %s %v", p.Name, p.Status.Phase, strings.TrimSpace(string(out)), err)
					mu.Unlock()
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return func() string {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if logs.Len() == 0 {
			return "(no finished hook pod seen)"
		}
		return logs.String()
	}
}

// events logs the events of vnfguard's namespace, to explain a failure.
func events(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	list, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("events of %s: %v", namespace, err)
		return
	}
	for _, e := range list.Items {
		t.Logf("event %s %s/%s: %s: %s", e.LastTimestamp.Format("15:04:05"), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
}

func runHelm(t *testing.T, helm, kubeconfig string, args ...string) {
	t.Helper()
	cmd := exec.Command(helm, append(args, "--kubeconfig", kubeconfig)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// readyReplicas waits until exactly n of vnfguard's pods are Ready and none is terminating.
func readyReplicas(ctx context.Context, t *testing.T, cs kubernetes.Interface, n int, within time.Duration) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			var ready []corev1.Pod
			var states []string
			for _, p := range list.Items {
				states = append(states, p.Name+":"+string(p.Status.Phase)+":"+strconv.FormatBool(isReady(p)))
				if p.DeletionTimestamp == nil && isReady(p) {
					ready = append(ready, p)
				}
			}
			if len(ready) == n && len(list.Items) == n {
				return ready
			}
			last = strings.Join(states, " ")
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("not %d Ready replicas within %s: %s", n, within, last)
	return nil
}

func isReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitRegistered waits until the API server sends pods to vnfguard through its Service: a dry-run Peirates pod is
// denied.
func waitRegistered(ctx context.Context, t *testing.T, cs kubernetes.Interface) time.Time {
	t.Helper()
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_, last = cs.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if lab.IsWebhookDenial(last) {
			return time.Now()
		}
	}
	t.Fatalf("vnfguard's webhook did not deny the Peirates pod within a minute of install: %v", last)
	return time.Time{}
}

// leader is the replica that holds vnfguard's Lease, and its identity (the pod's name, "_", a random suffix).
func leader(ctx context.Context, t *testing.T, cs kubernetes.Interface, pods []corev1.Pod) (corev1.Pod, string) {
	t.Helper()
	holder := waitLeaderOtherThan(ctx, t, cs, "", time.Minute)
	for _, p := range pods {
		if strings.HasPrefix(holder, p.Name+"_") {
			return p, holder
		}
	}
	t.Fatalf("the Lease holder %q is none of the Ready replicas", holder)
	return corev1.Pod{}, ""
}

// waitLeaderOtherThan waits until vnfguard's Lease is held by an identity other than not (empty: any holder) and
// returns it.
func waitLeaderOtherThan(ctx context.Context, t *testing.T, cs kubernetes.Interface, not string, within time.Duration) string {
	t.Helper()
	holder, last := pollHolder(ctx, cs, not, within, 250*time.Millisecond)
	if holder == "" {
		t.Fatalf("no new leader within %s: %s", within, last)
	}
	return holder
}

// pollHolder reads vnfguard's Lease every `every` until an identity other than not (empty: any) holds it, for at
// most within; it returns that identity, or "" and what it saw last.
func pollHolder(ctx context.Context, cs kubernetes.Interface, not string, within, every time.Duration) (holder, last string) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(every) {
		lease, err := cs.CoordinationV1().Leases(namespace).Get(ctx, install.LeaseName, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			continue
		}
		if h := lease.Spec.HolderIdentity; h != nil && *h != "" && *h != not {
			return *h, ""
		}
		last = "holder " + ptrString(lease.Spec.HolderIdentity)
	}
	return "", last
}

// timeHandover polls vnfguard's Lease from now until another identity than holder holds it (at most a minute);
// the returned function waits for that and says who and how long after the call.
func timeHandover(ctx context.Context, cs kubernetes.Interface, holder string) func() (string, time.Duration) {
	start := time.Now()
	type result struct {
		next string
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		next, _ := pollHolder(ctx, cs, holder, time.Minute, 100*time.Millisecond)
		done <- result{next, time.Since(start)}
	}()
	return func() (string, time.Duration) { r := <-done; return r.next, r.took }
}

// killContainer kills the replica's vnfguard process with SIGKILL through the node's containerd, as the OOM killer
// or a crash would: no drain, no lease release.
func killContainer(ctx context.Context, node *lab.Node, p corev1.Pod) error {
	if len(p.Status.ContainerStatuses) == 0 {
		return fmt.Errorf("pod %s has no container status", p.Name)
	}
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
	out, err := exec.CommandContext(ctx, "ctr", "--address", node.ContainerdSocket(), "-n", "k8s.io", "task", "kill", "-s", "SIGKILL", id).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr task kill -s SIGKILL %s: %v: %s", id, err, out)
	}
	return nil
}

// loadResult counts what the callers saw.
type loadResult struct {
	benignOK, benignFailed, attackDenied, attackAllowed, attackFailed int64
	firstError                                                        string
	allowedAt                                                         []string
}

func (r loadResult) failed() int64 { return r.benignFailed + r.attackFailed }

func (r loadResult) String() string {
	total := r.benignOK + r.benignFailed + r.attackDenied + r.attackAllowed + r.attackFailed
	s := fmt.Sprintf("%d requests: benign %d allowed / %d failed, Peirates %d denied / %d failed closed / %d ALLOWED",
		total, r.benignOK, r.benignFailed, r.attackDenied, r.attackFailed, r.attackAllowed)
	if r.firstError != "" {
		s += "; first failure: " + r.firstError
	}
	return s
}

// underLoad runs clients callers for d, each creating (dry run, as the attacker identity, in the unprotected sandbox
// namespace, which vnfguard's webhook still judges) a benign pod and the Peirates pod in turns through the API
// server, and calls disrupt after `after`.
func underLoad(ctx context.Context, t *testing.T, cs kubernetes.Interface, node *lab.Node, clients int, d, after time.Duration, disrupt func()) loadResult {
	t.Helper()
	var (
		res   loadResult
		mu    sync.Mutex
		wg    sync.WaitGroup
		count = func(n *int64) { atomic.AddInt64(n, 1) }
	)
	fail := func(n *int64, err error) {
		count(n)
		mu.Lock()
		if res.firstError == "" {
			res.firstError = err.Error()
		}
		mu.Unlock()
	}
	stop := time.Now().Add(d)
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	for i := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(stop); n++ {
				name := fmt.Sprintf("load-%d-%d", i, n)
				if _, err := cs.CoreV1().Pods(lab.Sandbox).Create(ctx, benignPod(node, lab.Sandbox, name), dry); err != nil {
					fail(&res.benignFailed, err)
				} else {
					count(&res.benignOK)
				}
				_, err := cs.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, name), dry)
				switch {
				case err == nil:
					count(&res.attackAllowed)
					mu.Lock()
					res.allowedAt = append(res.allowedAt, time.Now().UTC().Format("15:04:05.000"))
					mu.Unlock()
				case lab.IsWebhookDenial(err) && strings.Contains(err.Error(), "host-takeover"):
					count(&res.attackDenied)
				default: // the API server failed closed (failurePolicy Fail) or refused for another reason

					fail(&res.attackFailed, err)
				}
			}
		})
	}
	time.Sleep(after)
	t.Logf("disruption at %s", time.Now().UTC().Format("15:04:05.000"))
	disrupt()
	wg.Wait()
	return res
}

// serviceAccountConfig is a client configuration with a token of ServiceAccount namespace/name.
func serviceAccountConfig(ctx context.Context, t *testing.T, cp *lab.ControlPlane, namespace, name string) *rest.Config {
	t.Helper()
	admin, cfg := cp.ClientFor(lab.Admin)
	expiry := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token of ServiceAccount %s/%s: %v", namespace, name, err)
	}
	sa := rest.AnonymousClientConfig(cfg)
	sa.BearerToken = tr.Status.Token
	return sa
}

// reachableFromPods rewrites a loopback PostgreSQL DSN to the gateway address the node's pods reach it through.
func reachableFromPods(node *lab.Node, dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	gw, err := node.ExposeToPods(u.Host)
	if err != nil {
		return "", err
	}
	u.Host = gw
	return u.String(), nil
}

// ownMessages keeps the lines of a container log (CRI format: TIME STREAM TAG LINE) that vnfguard wrote to
// standard error, other than its line per denied request.
func ownMessages(log string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, " stderr ") && !strings.Contains(line, `"msg":"admission denied"`) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// stopLines are the lines of a replica's log about its shutdown, shortened to their time and message.
func stopLines(log string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(log, "\n") {
		for _, msg := range []string{"draining before shutdown", "stopped leading", "task stopped", "all tasks stopped", "vnfguard stopped"} {
			if strings.Contains(line, `"msg":"`+msg+`"`) {
				time, _, _ := strings.Cut(line, " ")
				task := ""
				if _, rest, ok := strings.Cut(line, `"task":"`); ok {
					task, _, _ = strings.Cut(rest, `"`)
				}
				fmt.Fprintf(&b, "  %s %s %s\n", time, msg, task)
			}
		}
	}
	return b.String()
}

// stopDuration is the time from "draining before shutdown" to "vnfguard stopped" in a replica's log; ok false when
// the replica logged no complete stop (it was killed, or it never stopped).
func stopDuration(log string) (time.Duration, bool) {
	var from, to time.Time
	for line := range strings.SplitSeq(log, "\n") {
		at, _, _ := strings.Cut(line, " ")
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(line, `"msg":"draining before shutdown"`):
			from = ts
		case strings.Contains(line, `"msg":"vnfguard stopped"`):
			to = ts
		}
	}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0, false
	}
	return to.Sub(from), true
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// protected marks a namespace as protected (the configuration's selector).
var protected = map[string]string{"vnfguard.io/protected": "true"}

func ptrString(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}
