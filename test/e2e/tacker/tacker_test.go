package tacker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/imagesig/cosigntest"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

const namespace = "vnf-cnf"

// guardConfig is vnfguard's configuration against the real Tacker: its SOL003 API on loopback (plain HTTP: Tacker
// runs noauth), a subscription whose callback is vnfguard's notification endpoint with Basic credentials, the
// package's images declared in the packages file, and the images of provider Acme's VNFs verified against Acme's
// cosign key in the loopback registry.
func guardConfig(tackerURL, callback, passwordFile, packagesFile, registry, acmeKey string) string {
	return `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces:
  selector:
    matchLabels: {vnfguard.io/protected: "true"}
instanceLabel: tacker_vnf_instance_id
identities:
  vnfm: {users: [` + lab.VNFM + `]}
  breakGlass: {groups: ["` + lab.GroupBreakGlass + `"]}
  administrators: {users: [` + lab.Admin + `]}
  # kwok plays the kubelet and patches pods itself where a kubelet writes only their status and deletes them.
  controllers: {users: [system:kube-controller-manager, ` + lab.KWOK + `]}
registries:
  allowed: ["` + registry + `/"]
images:
  signatures:
    providers:
      - {provider: Acme, publicKeys: [` + acmeKey + `]}
  registry:
    timeout: 3s
    insecure: ["` + registry + `"]
inventory:
  sol003:
    apiRoot: ` + tackerURL + `
    insecure: true
    timeout: 10s
    resyncInterval: 1m
    callbackURL: ` + callback + `
    notificationUsername: tacker
    notificationPasswordFile: ` + passwordFile + `
    packagesFile: ` + packagesFile + `
reconcile:
  for: 0s
`
}

// TestTackerLifecycle: the real Tacker onboards the lab's CNF package (its image signed by the provider, its
// digest declared) and drives an instance through create, instantiate, scale out, heal, terminate and delete;
// vnfguard reads every step from Tacker's notifications and list, verifies the image's signature, admits
// everything Tacker does and raises no finding. Then the attacks: a fake VNFC carrying the live instance's label
// made by another identity, a VNFC made with the VNFM's own identity running a declared image the provider did not
// sign, exec into the instance's pods while its TERMINATE runs, and claiming, freeing or unlabelling the volume
// whose data the terminated instance left behind.
func TestTackerLifecycle(t *testing.T) {
	cp, tree := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := cp.EnsureNamespace(ctx, namespace, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
	if err := cp.GrantVNFM(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	oncall, _ := cp.ClientFor(lab.BreakGlass)
	mallory, _ := cp.ClientFor(lab.Attacker)
	vnfmClient, _ := cp.ClientFor(lab.VNFM)

	tk, err := cp.StartTacker(ctx, lab.TackerOptions{Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Stop()
	defer func() {
		if t.Failed() {
			t.Logf("Tacker's logs:\n%s", tk.Logs(40))
		}
	}()

	// The package's image, signed by its provider Acme in a registry on loopback; a second image the package also
	// declares, signed by mallory's key (what a compromised VNFM would run).
	reg := cosigntest.StartRegistry()
	defer reg.Close()
	acme, malloryKey := newKey(t), newKey(t)
	image, forged := push(t, reg, "edge-cnf"), push(t, reg, "edge-cnf-debug")
	if err := reg.Sign(acme, image); err != nil {
		t.Fatal(err)
	}
	if err := reg.Sign(malloryKey, forged); err != nil {
		t.Fatal(err)
	}
	// The package: that image by digest, declared to vnfguard for the package's vnfdId.
	pkg := lab.CNFPackage{VnfdID: "b1e2c3d4-0000-4000-8000-00000000c0f1", Provider: "Acme", Product: "EdgeCNF", Namespace: namespace,
		Image: image.String(), DataVolume: dataVolume}
	zip, err := pkg.Zip(suite.Root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	passwordFile, packagesFile := filepath.Join(dir, "notification-password"), filepath.Join(dir, "packages.yaml")
	historyFile, acmeKey := filepath.Join(dir, "inventory-history.jsonl"), filepath.Join(dir, "acme.pub")
	packages := "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfPackages:\n  - vnfdId: " + pkg.VnfdID +
		"\n    images: [{name: cnf, image: \"" + pkg.Image + "\"}, {name: debug, image: \"" + forged.String() + "\"}]\n"
	for path, value := range map[string]string{passwordFile: "n0tify\n", packagesFile: packages, acmeKey: string(acme.PublicPEM)} {
		if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	guardURL, err := cp.GuardURL()
	if err != nil {
		t.Fatal(err)
	}
	callback := guardURL + "/sol003/notifications"
	configPath := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte(guardConfig(tk.URL, callback, passwordFile, packagesFile, reg.Host, acmeKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	startGuard := func() *lab.Guard {
		t.Helper()
		g, err := cp.StartVNFGuard(ctx, suite.Binary, configPath, "--store", filepath.Join(dir, "findings.db"),
			"--inventory-history", historyFile)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	ownSubscriptions := func() int {
		subs, err := tk.Subscriptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range subs {
			if s == callback {
				n++
			}
		}
		return n
	}
	guard := startGuard()
	defer func() { guard.Stop() }()
	waitFor(t, ctx, "vnfguard's subscription at Tacker", time.Minute, func() bool { return ownSubscriptions() == 1 })
	// Registering vnfguard, the lab proves the webhook is called with a dry-run host-takeover pod: its denial is
	// the only finding before the lifecycle starts.
	registration := len(guard.Findings())
	st, _, err := guard.Ready(ctx)
	if err != nil || !st.Inventory.Loaded || st.Inventory.Instances != 0 || !strings.HasPrefix(st.Inventory.Source, "sol003:") {
		t.Fatalf("/readyz: %+v, %v; want an empty inventory loaded from Tacker", st, err)
	}

	// The CNF's data lives on a volume the operator provisioned beforehand, retained when released; the package's
	// claim binds it. A second such volume is nobody's: the control for the data attacks below.
	for name, claim := range map[string]string{dataVolume: lab.CNFDataClaim, scratchVolume: "scratch"} {
		if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, retainedVolume(name, claim), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	step := func(name string) time.Time {
		t.Logf("step: %s", name)
		return time.Now()
	}
	// Onboard and create: VnfIdentifierCreation puts the instance in vnfguard's inventory, NOT_INSTANTIATED.
	step("onboard the CNF package")
	if _, err := tk.Onboard(ctx, zip); err != nil {
		t.Fatal(err)
	}
	step("create the VNF instance")
	inst, err := tk.CreateInstance(ctx, pkg.VnfdID, "edge-cnf")
	if err != nil {
		t.Fatal(err)
	}
	id := inst.ID
	waitRecord(t, ctx, historyFile, "the created instance, NOT_INSTANTIATED", func(r vnf.Record) bool {
		i := instanceIn(r, id)
		return i != nil && i.InstantiationState == vnf.NotInstantiated
	})

	// Instantiate: Tacker creates the Deployment (labelled) as tacker-vnfm; its pods come from the ReplicaSet.
	step("instantiate")
	op, err := tk.Operation(ctx, id, "instantiate", tk.InstantiateRequest(namespace, lab.CNFDefinitionFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.WaitOperation(ctx, op, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, ctx, historyFile, "the instance INSTANTIATED and STARTED, no operation active", func(r vnf.Record) bool {
		i := instanceIn(r, id)
		return i != nil && i.InstantiationState == vnf.Instantiated && i.InstantiatedVnfInfo != nil &&
			i.InstantiatedVnfInfo.VnfState == vnf.Started && i.Derived.ActiveOperation == nil && i.Derived.Namespace == namespace
	})
	pods := cnfPods(t, ctx, admin, 2) // the VNFD's initial delta of VDU2
	// Tacker labelled the claim of its file, not the volume the claim bound; vnfguard labels the volume, so that it
	// stays the instance's when Tacker deletes the claim at TERMINATE.
	waitFor(t, ctx, "vnfguard's instance label on the CNF's data volume", time.Minute, func() bool {
		v, err := admin.CoreV1().PersistentVolumes().Get(ctx, dataVolume, metav1.GetOptions{})
		return err == nil && v.Status.Phase == corev1.VolumeBound && v.Labels[instanceLabel] == id
	})
	if benign := guard.Findings()[registration:]; len(benign) > 0 {
		t.Fatalf("onboarding, creating and instantiating through Tacker raised findings:\n%s", describe(benign))
	}

	// vnfguard restarts. Its first full list now holds an INSTANTIATED instance: Tacker lists instances without
	// instantiatedVnfInfo unless asked for all fields. It subscribes again: Tacker would create a second
	// subscription to the same URI (and send everything twice), so vnfguard deletes its earlier one.
	step("restart vnfguard")
	guard.Stop()
	restarted := time.Now()
	guard = startGuard()
	registration = len(guard.Findings())
	waitFor(t, ctx, "the restarted vnfguard's subscription", time.Minute, func() bool {
		st, _, err := guard.Ready(ctx)
		return err == nil && st.Inventory.Subscribed != nil && *st.Inventory.Subscribed
	})
	if n := ownSubscriptions(); n != 1 {
		t.Fatalf("Tacker holds %d subscriptions to vnfguard's callback after a restart, want 1", n)
	}
	waitRecord(t, ctx, historyFile, "the restarted vnfguard's list: the instance INSTANTIATED with its two VNFCs", func(r vnf.Record) bool {
		i := instanceIn(r, id)
		return r.LoadedAt.After(restarted) && i != nil && i.InstantiationState == vnf.Instantiated && i.InstantiatedVnfInfo != nil &&
			len(i.InstantiatedVnfInfo.VnfcResourceInfo) == 2 && i.Derived.Namespace == namespace
	})
	inst, err = tk.Instance(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(inst.Pods())), pods) {
		t.Errorf("Tacker reports VNFCs %v, the cluster runs pods %v", inst.Pods(), pods)
	}

	// Scale out by one step of vdu2_aspect: one more replica (delta_1).
	step("scale out")
	if op, err = tk.Operation(ctx, id, "scale", map[string]any{"type": "SCALE_OUT", "aspectId": "vdu2_aspect", "numberOfSteps": 1}); err != nil {
		t.Fatal(err)
	}
	if err := tk.WaitOperation(ctx, op, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	pods = cnfPods(t, ctx, admin, 3)

	// Heal one VNFC: Tacker deletes its pod and the ReplicaSet makes another.
	step("heal")
	if inst, err = tk.Instance(ctx, id); err != nil {
		t.Fatal(err)
	}
	vnfc := inst.InstantiatedVnfInfo.VnfcInfo[0].ID
	if op, err = tk.Operation(ctx, id, "heal", map[string]any{"vnfcInstanceId": []string{vnfc}}); err != nil {
		t.Fatal(err)
	}
	if err := tk.WaitOperation(ctx, op, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	healed := cnfPods(t, ctx, admin, 3)
	if slices.Equal(healed, pods) {
		t.Errorf("heal of VNFC %s replaced no pod: %v", vnfc, healed)
	}
	pods = healed

	benign := guard.Findings()[registration:]
	if len(benign) > 0 {
		t.Fatalf("the benign lifecycle through Tacker (onboard, create, instantiate, scale, heal) raised findings:\n%s", describe(benign))
	}

	// Break-glass: the on-call engineer may exec into the running CNF (and leaves a break-glass record).
	if err := lab.Exec(ctx, oncall, lab.ExecGET, namespace, pods[0]); !errors.Is(err, lab.ErrPastAdmission) {
		t.Fatalf("break-glass exec into the instantiated CNF: %v; want it past admission", err)
	}

	// Attack: a fake VNFC carrying the live instance's label, created by an identity that is not the VNFM.
	step("attack: fake VNFC with the instance's label")
	fake := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "edge-cnf-fake", Namespace: namespace,
		Labels: map[string]string{"tacker_vnf_instance_id": id, "app": lab.CNFWorkload}},
		Spec: lab.RestrictedPodSpec("cnf", pkg.Image, []string{"/bin/sleep", "infinity"})}
	_, err = mallory.CoreV1().Pods(namespace).Create(ctx, fake, metav1.CreateOptions{})
	if !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "vnf-instantiation") {
		t.Errorf("mallory's pod with instance %s's label: %v; want a vnf-instantiation denial", id, err)
	}

	// Attack: the VNFM's own identity (its token stolen, or the VNFM compromised) adds a VNFC running an image the
	// package declares but that Acme did not sign.
	step("attack: the VNFM's identity runs an image its provider did not sign")
	debug := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "edge-cnf-debug", Namespace: namespace,
		Labels: map[string]string{"tacker_vnf_instance_id": id, "app": lab.CNFWorkload}},
		Spec: lab.RestrictedPodSpec("cnf", forged.String(), []string{"/bin/sleep", "infinity"})}
	_, err = vnfmClient.CoreV1().Pods(namespace).Create(ctx, debug, metav1.CreateOptions{})
	if !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "image-signature") || !strings.Contains(err.Error(), forged.String()) {
		t.Errorf("the VNFM's pod running %s, signed by mallory: %v; want an image-signature denial naming the image", forged, err)
	}
	t.Logf("the VNFM's pod with an image Acme did not sign: %v", err)
	// The signature alone decides: the same pod with the image Acme signed is admitted (a dry run: nothing is made).
	debug.Spec = lab.RestrictedPodSpec("cnf", pkg.Image, []string{"/bin/sleep", "infinity"})
	if _, err := vnfmClient.CoreV1().Pods(namespace).Create(ctx, debug, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the same pod with the image Acme signed, as a dry run: %v; want it admitted", err)
	}

	// Terminate: while the operation runs, the pods still exist; exec into them is refused.
	step("terminate (exec into the instance's pods while it runs)")
	if op, err = tk.Operation(ctx, id, "terminate", map[string]any{"terminationType": "GRACEFUL", "gracefulTerminationTimeout": 5}); err != nil {
		t.Fatal(err)
	}
	var denial error
	deadline := time.Now().Add(30 * time.Second)
	for denial == nil && time.Now().Before(deadline) {
		err := lab.Exec(ctx, oncall, lab.ExecGET, namespace, pods[0])
		switch {
		case lab.IsWebhookDenial(err):
			denial = err
		case errors.Is(err, lab.ErrPastAdmission):
			time.Sleep(20 * time.Millisecond)
		default:
			t.Fatalf("exec into %s during TERMINATE: %v (the pod went before vnfguard refused an exec)", pods[0], err)
		}
	}
	if denial == nil || !strings.Contains(denial.Error(), "lifecycle-access") {
		t.Errorf("exec into %s while its instance's TERMINATE runs: %v; want a lifecycle-access denial", pods[0], denial)
	}
	if err := tk.WaitOperation(ctx, op, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	cnfPods(t, ctx, admin, 0)
	waitRecord(t, ctx, historyFile, "the instance NOT_INSTANTIATED, terminated", func(r vnf.Record) bool {
		i := instanceIn(r, id)
		return i != nil && i.InstantiationState == vnf.NotInstantiated && i.Derived.TerminatedAt != nil
	})

	// The data Tacker left: it deleted the claim, the volume keeps the data (Retain). Reconciliation reports it,
	// and nobody may claim it, free it for another claim, or take vnfguard's label off it. The same steps on the
	// volume of no instance succeed: the attack is real.
	step("attack: mount the data the terminated instance left behind")
	waitFor(t, ctx, "the CNF's data volume Released", time.Minute, func() bool {
		v, err := admin.CoreV1().PersistentVolumes().Get(ctx, dataVolume, metav1.GetOptions{})
		return err == nil && v.Status.Phase == corev1.VolumeReleased
	})
	waitFor(t, ctx, "a reconcile-residual finding on the CNF's data volume", time.Minute, func() bool {
		return slices.ContainsFunc(guard.Findings(), func(f finding.Finding) bool {
			return f.Rule == "reconcile-residual" && f.Object.Kind == "PersistentVolume" && f.Object.Name == dataVolume && f.VNFInstance == id && f.Resolved.IsZero()
		})
	})
	for _, volume := range []string{dataVolume, scratchVolume} {
		refused := volume == dataVolume
		loot := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot-" + volume, Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(""), VolumeName: volume,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}}}
		_, claimErr := mallory.CoreV1().PersistentVolumeClaims("default").Create(ctx, loot, metav1.CreateOptions{})
		v, err := mallory.CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v.Spec.ClaimRef = nil
		_, freeErr := mallory.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
		if !refused {
			if claimErr != nil || freeErr != nil {
				t.Fatalf("the control: mallory's claim of %s and freeing it: %v, %v; want both admitted", volume, claimErr, freeErr)
			}
			waitFor(t, ctx, "mallory's claim bound to the volume of no instance", time.Minute, func() bool {
				c, err := admin.CoreV1().PersistentVolumeClaims("default").Get(ctx, loot.Name, metav1.GetOptions{})
				return err == nil && c.Status.Phase == corev1.ClaimBound
			})
			continue
		}
		for what, err := range map[string]error{"a claim naming it": claimErr, "clearing its claimRef": freeErr} {
			if !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "lifecycle-data") || !strings.Contains(err.Error(), id) {
				t.Errorf("mallory, %s (%s, terminated instance %s's data): %v; want a lifecycle-data denial naming the instance", what, volume, id, err)
			}
		}
		if v, err = mallory.CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		delete(v.Labels, instanceLabel)
		_, err = mallory.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
		if !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "removes the instance label") {
			t.Errorf("mallory takes the instance label off %s: %v; want a lifecycle-data denial", volume, err)
		}
		t.Logf("mallory's claim of the terminated CNF's data volume: %v", claimErr)
	}

	step("delete the instance")
	if err := tk.DeleteInstance(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, ctx, historyFile, "the instance gone", func(r vnf.Record) bool { return instanceIn(r, id) == nil })

	// Every operation was in vnfguard's inventory while it ran (STARTING, PROCESSING: what lets the VNFM's own
	// changes in), and vnfguard received each of Tacker's notifications exactly once.
	records, err := readHistory(historyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"INSTANTIATE", "SCALE", "HEAL", "TERMINATE"} {
		seen := false
		for _, r := range records {
			if i := instanceIn(r, id); i != nil && i.Derived.ActiveOperation != nil && i.Derived.ActiveOperation.Operation == op {
				seen = true
			}
		}
		if !seen {
			t.Errorf("vnfguard's inventory never showed %s in progress for %s", op, id)
		}
	}
	metrics, err := guard.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Since the restart: the operations after it and the deletion, each once (twice with two subscriptions).
	want := map[string]float64{"VnfIdentifierDeletionNotification//": 1}
	for _, op := range []string{"SCALE", "HEAL", "TERMINATE"} {
		for _, state := range []string{"STARTING", "PROCESSING", "COMPLETED"} {
			want["VnfLcmOperationOccurrenceNotification/"+op+"/"+state] = 1
		}
	}
	got := map[string]float64{}
	for _, m := range family(t, metrics, "vnfguard_sol003_notifications_total").GetMetric() {
		l := labels(m)
		got[l["type"]+"/"+l["operation"]+"/"+l["state"]] = m.GetCounter().GetValue()
	}
	for _, f := range guard.Findings() {
		if f.Rule == "vnfm-discloses-vim-credentials" {
			t.Errorf("Tacker 11 strips the VIM credentials from its answers, yet: %s", f.Message)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("notifications vnfguard received from Tacker (type/operation/state: count):\n got %v\nwant %v", got, want)
	}
	// How fast each notification reached the inventory admission uses (docs/benchmarks.md).
	for _, m := range family(t, metrics, "vnfguard_sol003_notification_apply_seconds").GetMetric() {
		h := m.GetHistogram()
		within := "more than 10 s"
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() == h.GetSampleCount() {
				within = fmt.Sprintf("%g ms", b.GetUpperBound()*1000)
				break
			}
		}
		t.Logf("notification → inventory in force: %s: %d notifications, mean %.1f ms, all within %s",
			labels(m)["type"], h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount())*1000, within)
	}
}

// The CNF's data volume and the volume of no instance (the control of the data attacks), and the label Tacker
// binds objects to instances with.
const (
	dataVolume    = "cnf-data-volume"
	scratchVolume = "scratch-volume"
	instanceLabel = "tacker_vnf_instance_id"
)

// retainedVolume is a pre-provisioned volume reserved for claim in the test's namespace, retained when released.
func retainedVolume(name, claim string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/vnfguard-lab/" + name}},
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: namespace, Name: claim},
		}}
}

func newKey(t *testing.T) *cosigntest.Key {
	t.Helper()
	k, err := cosigntest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// push writes a random image to the registry as repo:1.0 and returns its digest reference.
func push(t *testing.T, reg *cosigntest.Registry, repo string) name.Digest {
	t.Helper()
	d, err := reg.Push(repo, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func family(t *testing.T, text, name string) *dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("vnfguard's /metrics: %v", err)
	}
	f, ok := fams[name]
	if !ok {
		t.Fatalf("vnfguard's /metrics has no %s", name)
	}
	return f
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// cnfPods waits until the CNF's Deployment has exactly n pods Running (none terminating) and returns their names.
func cnfPods(t *testing.T, ctx context.Context, cs kubernetes.Interface, n int) []string {
	t.Helper()
	var names []string
	waitFor(t, ctx, "the CNF's pods", 2*time.Minute, func() bool {
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + lab.CNFWorkload})
		if err != nil {
			return false
		}
		names = names[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				return false
			}
			names = append(names, p.Name)
		}
		return len(names) == n
	})
	slices.Sort(names)
	return names
}

func instanceIn(r vnf.Record, id string) *vnf.RecordInstance {
	for i := range r.Instances {
		if r.Instances[i].ID == id {
			return &r.Instances[i]
		}
	}
	return nil
}

// waitRecord waits until the newest record of vnfguard's inventory history satisfies ok, and returns it.
func waitRecord(t *testing.T, ctx context.Context, path, what string, ok func(vnf.Record) bool) vnf.Record {
	t.Helper()
	var last vnf.Record
	waitFor(t, ctx, "vnfguard's inventory: "+what, time.Minute, func() bool {
		records, err := readHistory(path)
		if err != nil || len(records) == 0 {
			return false
		}
		last = records[len(records)-1]
		return ok(last)
	})
	return last
}

func readHistory(path string) ([]vnf.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []vnf.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r vnf.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func waitFor(t *testing.T, ctx context.Context, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

func describe(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s (%s, %s, %s): %s\n", f.Rule, f.Source, f.Identity, f.Time.Format(time.StampMilli), f.Message)
	}
	return b.String()
}
