package lifecycle

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/lab"
)

const sol003Namespace = "vnf-udr"

// sol003Config is vnfguard's configuration against the test VNFM: the lab's identities, the SOL003 inventory with
// OAuth 2.0, the VNFM's CA and a subscription whose callback is vnfguard's own notification endpoint, findings
// reported as soon as a condition holds, and admission's instantiation check in audit mode, so that the attacker's
// pod gets in and reconciliation has to find it. The VNFM's VnfInstances carry no images: the packages file declares
// the UDR package's.
func sol003Config(vnfm *vnfmtest.Server, tlsFiles vnfmtest.TLSFiles, secretFile, passwordFile, packagesFile, callback string) string {
	return `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces:
  selector:
    matchLabels: {vnfguard.io/protected: "true"}
instanceLabel: tacker_vnf_instance_id
identities:
  vnfm: {users: [` + lab.VNFM + `]}
  breakGlass: {groups: ["` + lab.GroupBreakGlass + `"]}
registries:
  allowed: ["` + lab.Registry + `"]
inventory:
  sol003:
    apiRoot: ` + vnfm.URL + `
    tokenURL: ` + vnfm.TokenURL + `
    clientID: vnfguard
    clientSecretFile: ` + secretFile + `
    caFile: ` + tlsFiles.CA + `
    timeout: 5s
    resyncInterval: 1m
    callbackURL: ` + callback + `
    notificationUsername: tacker
    notificationPasswordFile: ` + passwordFile + `
    packagesFile: ` + packagesFile + `
checks:
  vnf-instantiation: {mode: audit}
reconcile:
  for: 0s
`
}

// TestSOL003Lifecycle drives a UDR through its whole life at the VNFM and checks what vnfguard makes of each step:
// instantiate (no finding), stop (the notification makes break-glass exec denied at once; the pod that lingers is
// a zombie until the VNFM scales it away), terminate (the retained PVC and the Secret are residual data), clean-up
// (the findings resolve), and an attacker's pod admitted in audit mode (rogue). Every request vnfguard sent to the
// VNFM, every response and every notification validated against ETSI's SOL003 OpenAPI.
func TestSOL003Lifecycle(t *testing.T) {
	cp := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	protected(t, ctx, cp, sol003Namespace)
	vnfmClient, _ := cp.ClientFor(lab.VNFM)
	oncall, _ := cp.ClientFor(lab.BreakGlass)
	mallory, _ := cp.ClientFor(lab.Attacker)

	guardURL, err := cp.GuardURL()
	if err != nil {
		t.Fatal(err)
	}
	// The VNFM calls vnfguard back over HTTPS: it trusts the lab CA that signs vnfguard's certificate.
	callbackClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cp.CA.Pool(), MinVersion: tls.VersionTLS12}}}
	var onProcessing func(id, op string)
	vnfm := vnfmtest.Start(t, vnfmtest.Options{TLS: true, PageSize: 2, ClientID: "vnfguard", ClientSecret: "s3cr3t",
		CallbackClient: callbackClient,
		OnProcessing: func(id, op string) {
			if onProcessing != nil {
				onProcessing(id, op)
			}
		}})
	dir := t.TempDir()
	tlsFiles, err := vnfm.WriteTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	secretFile, passwordFile := filepath.Join(dir, "client-secret"), filepath.Join(dir, "notification-password")
	packagesFile := filepath.Join(dir, "packages.yaml")
	packages := "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfPackages:\n  - vnfdId: udr-vnfd\n    images: [{name: udr, image: \"" + lab.UPF.Image() + "\"}]\n"
	for path, value := range map[string]string{secretFile: "s3cr3t\n", passwordFile: "n0tify\n", packagesFile: packages} {
		if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Instances the VNFM already has before vnfguard starts: enough for two pages.
	for _, name := range []string{"amf-1", "smf-1"} {
		if _, err := vnfm.Create(name, vnfmtest.Package{VnfdID: name + "-vnfd", ProductName: strings.ToUpper(name[:3])}); err != nil {
			t.Fatal(err)
		}
	}
	udr, err := vnfm.Create("udr-1", vnfmtest.Package{VnfdID: "udr-vnfd", Provider: "Acme", ProductName: "UDR", SoftwareVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}

	configPath := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte(sol003Config(vnfm, tlsFiles, secretFile, passwordFile, packagesFile, guardURL+"/sol003/notifications")), 0o644); err != nil {
		t.Fatal(err)
	}
	storePath := filepath.Join(dir, "findings.db")
	guard, err := cp.StartVNFGuard(ctx, suite.Binary, configPath, "--store", storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Stop()
	st, _, err := guard.Ready(ctx)
	if err != nil || !st.Inventory.Loaded || st.Inventory.Instances != 3 || !strings.HasPrefix(st.Inventory.Source, "sol003:") {
		t.Fatalf("/readyz: %+v, %v; want the 3 instances of the VNFM's two pages loaded from sol003", st, err)
	}
	waitFor(t, ctx, "the subscription", func() bool { return slices.Contains(mapValues(vnfm.Subscriptions()), guardURL+"/sol003/notifications") })

	// Instantiate: while the operation is PROCESSING, the VNFM creates the StatefulSet (with a volume claim
	// template) and a Secret, labelled as Tacker labels them, and waits for the pod.
	onProcessing = func(id, op string) {
		if id != udr || op != "INSTANTIATE" {
			return
		}
		labels := instanceLabels(udr)
		if _, err := vnfmClient.AppsV1().StatefulSets(sol003Namespace).Create(ctx, udrStatefulSet(labels), metav1.CreateOptions{}); err != nil {
			t.Errorf("the VNFM could not create the UDR StatefulSet during INSTANTIATE: %v", err)
			return
		}
		if _, err := vnfmClient.CoreV1().Secrets(sol003Namespace).Create(ctx, secret(sol003Namespace, "udr-subscribers", labels), metav1.CreateOptions{}); err != nil {
			t.Errorf("the VNFM could not create the UDR Secret: %v", err)
		}
		waitFor(t, ctx, "the UDR pod", func() bool {
			_, err := vnfmClient.CoreV1().Pods(sol003Namespace).Get(ctx, "udr-0", metav1.GetOptions{})
			return err == nil
		})
	}
	if err := vnfm.Instantiate(udr, vnfmtest.Workload{Namespace: sol003Namespace, Kind: "StatefulSet", Name: "udr", Storage: true, VduID: "udr"}); err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	onProcessing = nil
	waitFor(t, ctx, "vnfguard to see the UDR INSTANTIATED", func() bool {
		return !lab.IsWebhookDenial(lab.Exec(ctx, oncall, lab.ExecGET, sol003Namespace, "udr-0"))
	})
	if err := lab.Exec(ctx, oncall, lab.ExecGET, sol003Namespace, "udr-0"); !errors.Is(err, lab.ErrPastAdmission) {
		t.Fatalf("break-glass exec into the STARTED UDR: %v; want it past admission", err)
	}
	time.Sleep(2 * time.Second) // a reconciliation pass or more
	if open := openFindings(guard.Findings(), udr); len(open) > 0 {
		t.Fatalf("a freshly instantiated UDR has open reconciliation findings:\n%s", describe(open))
	}

	// The VNFM starts returning the VIM's credentials, as Tacker did before 11.0.0: the GET that follows the STOP
	// notification brings them, and reconciliation reports the VNFM (the finding is checked after the stop's).
	vnfm.SetDiscloseAccessInfo(true)

	// Stop: the COMPLETED notification reaches vnfguard before the VNFM has scaled the pod away.
	if err := vnfm.Operate(udr, "STOPPED"); err != nil {
		t.Fatalf("operate STOPPED: %v", err)
	}
	stopped := time.Now()
	var denial error
	waitFor(t, ctx, "break-glass exec into the STOPPED UDR to be denied", func() bool {
		denial = lab.Exec(ctx, oncall, lab.ExecGET, sol003Namespace, "udr-0")
		return lab.IsWebhookDenial(denial)
	})
	took := time.Since(stopped)
	t.Logf("exec denied %v after the STOP notification", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("exec denied %v after the STOP notification, want within one second", took)
	}
	if !strings.Contains(denial.Error(), "lifecycle-access") || !strings.Contains(denial.Error(), "STOPPED") {
		t.Errorf("denial does not name lifecycle-access and STOPPED: %v", denial)
	}
	zombie := waitFinding(t, ctx, guard, "reconcile-zombie", "Pod", "udr-0", false)
	if zombie.VNFInstance != udr || zombie.Technique != finding.AccessingTerminatedVNF {
		t.Errorf("zombie finding names instance %q technique %s; want %s, FGT1609.501", zombie.VNFInstance, zombie.Technique, udr)
	}
	// The VNFM scales the workload to zero, as Tacker stops a CNF: the zombie resolves.
	scaleTo(t, ctx, vnfmClient, 0)
	waitFinding(t, ctx, guard, "reconcile-zombie", "Pod", "udr-0", true)

	disclosure := waitVNFMFinding(t, ctx, guard, false)
	if disclosure.Evidence["vnfm"] != vnfm.URL || disclosure.Evidence["vnfInstances"] != udr || disclosure.Technique != finding.MaliciousVNFInstantiation ||
		!strings.Contains(disclosure.Evidence["fields"], "vimConnectionInfo.vim1.accessInfo.password") {
		t.Errorf("VNFM finding: technique %s evidence %v; want FGT5013, the VNFM %s, instance %s and accessInfo.password", disclosure.Technique, disclosure.Evidence, vnfm.URL, udr)
	}
	// Upgraded, the VNFM strips them again: the GET that follows the TERMINATE notification resolves the finding.
	vnfm.SetDiscloseAccessInfo(false)

	// Terminate: the VNFM deletes the StatefulSet; the PVC its template made and the Secret stay behind.
	if err := vnfmClient.AppsV1().StatefulSets(sol003Namespace).Delete(ctx, "udr", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vnfm.Terminate(udr); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	for _, obj := range []struct{ kind, name string }{{"PersistentVolumeClaim", "data-udr-0"}, {"Secret", "udr-subscribers"}} {
		f := waitFinding(t, ctx, guard, "reconcile-residual", obj.kind, obj.name, false)
		if f.VNFInstance != udr || f.Technique != finding.AccessingTerminatedVNF || f.Evidence["age"] == "" {
			t.Errorf("residual %s finding: instance %q technique %s evidence %v; want %s, FGT1609.501 and an age", obj.kind, f.VNFInstance, f.Technique, f.Evidence, udr)
		}
	}
	waitVNFMFinding(t, ctx, guard, true)
	// The VNFM cleans up: both findings resolve.
	if err := vnfmClient.CoreV1().PersistentVolumeClaims(sol003Namespace).Delete(ctx, "data-udr-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vnfmClient.CoreV1().Secrets(sol003Namespace).Delete(ctx, "udr-subscribers", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFinding(t, ctx, guard, "reconcile-residual", "PersistentVolumeClaim", "data-udr-0", true)
	waitFinding(t, ctx, guard, "reconcile-residual", "Secret", "udr-subscribers", true)

	// An attacker's pod, admitted because the instantiation check only audits, is rogue.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "udr-backup", Namespace: sol003Namespace},
		Spec: lab.RestrictedPodSpec("backup", lab.UPF.Image(), []string{"/bin/sync-subscribers"})}
	if _, err := mallory.CoreV1().Pods(sol003Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the attacker's pod was not admitted in audit mode: %v", err)
	}
	rogue := waitFinding(t, ctx, guard, "reconcile-rogue", "Pod", "udr-backup", false)
	if rogue.Technique != finding.MaliciousVNFInstantiation || rogue.Severity < finding.High {
		t.Errorf("rogue finding: technique %s severity %s; want FGT5013, high or above", rogue.Technique, rogue.Severity)
	}
	audited := slices.ContainsFunc(guard.Findings(), func(f finding.Finding) bool {
		return f.Source == "admission" && f.Action == "audited" && f.Rule == "vnf-instantiation" && f.Object.Name == "udr-backup"
	})
	if !audited {
		t.Errorf("admission recorded no vnf-instantiation audit finding for the attacker's pod")
	}

	// The store has the reconciliation findings, the resolved ones marked resolved.
	for _, status := range []string{"resolved", "open"} {
		var stored []finding.Finding
		code, out, stderr := runVNFGuard(t, ctx, "findings", "list", "--store", storePath, "--source", "reconcile", "--status", status, "-o", "json")
		if code != 0 {
			t.Fatalf("findings list --status %s: exit %d: %s", status, code, stderr)
		}
		if err := json.Unmarshal(out, &stored); err != nil {
			t.Fatalf("findings list -o json: %v\n%s", err, out)
		}
		rules := map[string]bool{}
		for _, f := range stored {
			rules[f.Rule+" "+f.Object.Name] = true
			if (status == "resolved") == f.Resolved.IsZero() {
				t.Errorf("--status %s listed %s on %s with resolved=%v", status, f.Rule, f.Object.Name, f.Resolved)
			}
		}
		want := []string{"reconcile-zombie udr-0", "reconcile-residual data-udr-0", "reconcile-residual udr-subscribers", "vnfm-discloses-vim-credentials vnfm"}
		if status == "open" {
			want = []string{"reconcile-rogue udr-backup"}
		}
		for _, w := range want {
			if !rules[w] {
				t.Errorf("the store has no %s %s finding; it has %v", status, w, rules)
			}
		}
	}

	// vnfguard held the VIM's secrets in its hands and kept none: not in its findings, its log or its store.
	secrets := vnfm.VIMSecrets()
	if len(secrets) == 0 {
		t.Error("the test VNFM holds no VIM secrets: the check below proves nothing")
	}
	for _, path := range []string{guard.StdoutFile, guard.StderrFile, storePath} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds the VIM secret %q", path, s)
			}
		}
	}

	// The VNFM deletes the instance: the inventory forgets it.
	if err := vnfm.Delete(udr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the deleted instance to leave the inventory", func() bool {
		st, _, err := guard.Ready(ctx)
		return err == nil && st.Inventory.Instances == 2
	})
}

func udrStatefulSet(labels map[string]string) *appsv1.StatefulSet {
	claim := *pvc(sol003Namespace, "data", nil)
	claim.Namespace = ""
	spec := lab.RestrictedPodSpec("udr", lab.UPF.Image(), nil)
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/udr"}}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "udr", Namespace: sol003Namespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr(int32(1)),
			ServiceName:          "udr",
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{"app": "udr"}},
			Template:             corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "udr"}}, Spec: spec},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
		},
	}
}

// scaleTo sets the UDR StatefulSet's replicas as the VNFM, retrying on conflicts as kubectl scale does.
func scaleTo(t *testing.T, ctx context.Context, cs kubernetes.Interface, n int32) {
	t.Helper()
	sts := cs.AppsV1().StatefulSets(sol003Namespace)
	for {
		cur, err := sts.Get(ctx, "udr", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Replicas = &n
		if _, err = sts.Update(ctx, cur, metav1.UpdateOptions{}); err == nil {
			return
		} else if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
}

// openFindings are the reconciliation findings about the instance that are open at the end of the stream.
func openFindings(all []finding.Finding, instance string) []finding.Finding {
	last := map[string]finding.Finding{}
	var order []string
	for _, f := range all {
		if f.Source != "reconcile" || f.VNFInstance != instance {
			continue
		}
		if _, seen := last[f.ID]; !seen {
			order = append(order, f.ID)
		}
		last[f.ID] = f
	}
	var open []finding.Finding
	for _, id := range order {
		if last[id].Resolved.IsZero() {
			open = append(open, last[id])
		}
	}
	return open
}

// waitFinding waits up to 30 s for vnfguard to print a reconciliation finding of the rule on the object, opened
// (resolved false) or resolved, and returns it.
func waitFinding(t *testing.T, ctx context.Context, g *lab.Guard, rule, kind, name string, resolved bool) finding.Finding {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, f := range g.Findings() {
			if f.Source == "reconcile" && f.Rule == rule && f.Object.Kind == kind && f.Object.Name == name && f.Object.Namespace == sol003Namespace && resolved == !f.Resolved.IsZero() {
				return f
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			state := map[bool]string{false: "opened", true: "resolved"}[resolved]
			t.Fatalf("vnfguard printed no %s %s finding on %s %s/%s within 30 s; reconciliation findings:\n%s", state, rule, kind, sol003Namespace, name,
				describe(slices.DeleteFunc(g.Findings(), func(f finding.Finding) bool { return f.Source != "reconcile" })))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitVNFMFinding waits up to 30 s for vnfguard to print the vnfm-discloses-vim-credentials finding, opened
// (resolved false) or resolved, and returns it.
func waitVNFMFinding(t *testing.T, ctx context.Context, g *lab.Guard, resolved bool) finding.Finding {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, f := range g.Findings() {
			if f.Source == "reconcile" && f.Rule == "vnfm-discloses-vim-credentials" && resolved == !f.Resolved.IsZero() {
				return f
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("vnfguard printed no %s vnfm-discloses-vim-credentials finding within 30 s", map[bool]string{false: "opened", true: "resolved"}[resolved])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
