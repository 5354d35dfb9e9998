package intake

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The world of the flood test: VNF instance amf-1 is STOPPED; its Deployment carries the instance label, its pod is
// found through the pod's ReplicaSet and that ReplicaSet's Deployment — only the cluster can tell (the event names
// the pod only), so the finding needs the owner lookups to work.
const (
	floodNS       = "vnf-5gc"
	floodInstance = "amf-1"
	floodPod      = "amf-7d9-abc"
	floodEvents   = 10_000
	// floodBound is how long the test lets the consumer with live lookups try; past it the attack has shown itself.
	floodBound = 12 * time.Second
	// findingDeadline is the acceptance bound (issue 13): the exec is reported within 2 s of being queued.
	findingDeadline = 2 * time.Second
)

// TestFloodOfMissingObjectsDoesNotStallFindings: against a real kube-apiserver, 10 000 audit events about objects
// that do not exist (execs into made-up pods of made-up namespaces, as anyone may request — RBAC refuses them, the
// API server audits them all the same) are queued before an exec into a pod of a STOPPED VNF. With the stream view
// (informer caches; a miss of a synced cache is "not found") the exec's critical finding comes within 2 s. With
// the view admission uses (a live GET per miss) the consumer spends a round trip to the API server on each made-up
// object first: the finding comes only after the whole flood, far later (measured and logged; the run is cut at
// floodBound).
func TestFloodOfMissingObjectsDoesNotStallFindings(t *testing.T) {
	dir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(dir, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: dir, WorkDir: t.TempDir(), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	admin, cfg := cp.ClientFor(lab.Admin)
	createStoppedVNF(ctx, t, cp, admin)

	events := floodOfMissingObjects(floodEvents)
	exec := execInto(floodNS, floodPod, "exec-into-stopped-amf")

	// The fix: the consumer reads the cluster through the stream view.
	newView, err := cluster.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	stream := newView.Stream()
	got := runFlood(ctx, t, stream, stream, stream.WaitForSync, events, exec, floodBound)
	t.Logf("stream view: exec into STOPPED %s reported %s after it was queued behind %d events about missing objects; lookups %v",
		floodInstance, got.latency.Round(time.Millisecond), floodEvents, stream.Stats())
	if !got.found {
		t.Fatalf("stream view: no exec-dormant-vnf finding for the exec within %s (%d of %d events processed)", floodBound, got.processed, floodEvents+1)
	}
	if got.latency > findingDeadline {
		t.Errorf("stream view: the exec was reported %s after it was queued; want within %s", got.latency, findingDeadline)
	}
	if st := stream.Stats(); st[cluster.AnswerLive]+st[cluster.AnswerFailed]+st[cluster.AnswerSkipped] != 0 {
		t.Errorf("stream view made live lookups with synced caches: %v", st)
	}

	// The attack, with the control off: the same queue through the view with a live GET per cache miss.
	oldView, err := cluster.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	old := runFlood(ctx, t, oldView, oldView, oldView.WaitForSync, events, exec, floodBound)
	rate := float64(old.processed) / old.elapsed.Seconds()
	if old.found {
		t.Logf("live lookups: exec reported %s after it was queued (%.0f events/s)", old.latency.Round(time.Millisecond), rate)
	} else {
		t.Logf("live lookups: exec NOT reported within %s: %d of %d events processed (%.0f events/s; the whole queue would take about %s)",
			floodBound, old.processed, floodEvents+1, rate, (time.Duration(float64(floodEvents+1)/rate) * time.Second).Round(time.Second))
	}
	if old.found && old.latency <= findingDeadline {
		t.Errorf("with live lookups per event the exec was reported within %s too (%s): the flood does not show the stall it is meant to", findingDeadline, old.latency)
	}
}

func createStoppedVNF(ctx context.Context, t testing.TB, cp *lab.ControlPlane, admin *kubernetes.Clientset) {
	t.Helper()
	if err := cp.EnsureNamespace(ctx, floodNS, nil); err != nil {
		t.Fatal(err)
	}
	controller := true
	d, err := admin.AppsV1().Deployments(floodNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "amf", Labels: map[string]string{vnf.DefaultInstanceLabel: floodInstance}},
		Spec: appsv1.DeploymentSpec{
			Replicas: func() *int32 { n := int32(0); return &n }(),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "amf"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "amf"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "amf", Image: lab.ImageRef("5gc/amf")}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := admin.AppsV1().ReplicaSets(floodNS).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "amf-7d9", Labels: map[string]string{"app": "amf"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &controller}}},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "amf"}},
			Template: d.Spec.Template,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.CoreV1().Pods(floodNS).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: floodPod, Labels: map[string]string{"app": "amf"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &controller}}},
		Spec: d.Spec.Template.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// floodOfMissingObjects are the audit events of execs into pods that do not exist, in namespaces that do not exist,
// by a user RBAC refuses: what `kubectl exec -n tenant-N ghost-N` leaves in the audit log.
func floodOfMissingObjects(n int) []auditv1.Event {
	events := make([]auditv1.Event, n)
	now := metav1.NewMicroTime(time.Now())
	for i := range events {
		ns, pod := fmt.Sprintf("tenant-%d", i%500), fmt.Sprintf("ghost-%d", i)
		events[i] = execInto(ns, pod, fmt.Sprintf("flood-%05d", i))
		events[i].ResponseStatus = &metav1.Status{Code: 403, Reason: metav1.StatusReasonForbidden}
		events[i].User = authnv1.UserInfo{Username: "eve", Groups: []string{"system:authenticated"}}
		events[i].StageTimestamp = now
	}
	return events
}

func execInto(ns, pod, id string) auditv1.Event {
	now := metav1.NewMicroTime(time.Now())
	return auditv1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
		Level:    auditv1.LevelMetadata, AuditID: types.UID(id), Stage: auditv1.StageResponseComplete, Verb: "get",
		RequestURI: "/api/v1/namespaces/" + ns + "/pods/" + pod + "/exec?command=sh&container=main&stdin=true&stdout=true&tty=true",
		User:       authnv1.UserInfo{Username: "mallory", Groups: []string{"system:authenticated"}}, SourceIPs: []string{"10.0.0.9"},
		UserAgent:                "kubectl/v1.34.4 (linux/amd64) kubernetes/0000000",
		ObjectRef:                &auditv1.ObjectReference{Resource: "pods", APIVersion: "v1", Namespace: ns, Name: pod, Subresource: "exec"},
		ResponseStatus:           &metav1.Status{Code: 101},
		RequestReceivedTimestamp: now, StageTimestamp: now,
	}
}

type floodResult struct {
	found            bool
	latency, elapsed time.Duration // queued → reported; the run
	processed        uint64
}

// floodIntake is an intake on a fresh disk queue whose detection reads the cluster through objects and namespaces
// and knows VNF instance amf-1 as STOPPED; found is closed when the exec-dormant-vnf finding of the event with
// audit ID watch is published, at reported.
type floodIntake struct {
	*Intake
	backend  *Disk
	mu       sync.Mutex
	reported time.Time
	found    chan struct{}
}

func newFloodIntake(t testing.TB, objects vnf.Objects, namespaces detect.Namespaces, wait func(context.Context) error, watch types.UID) *floodIntake {
	t.Helper()
	b, err := OpenDisk(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	inst := &vnf.Instance{ID: floodInstance, VnfdID: "vnfd-amf", VnfProductName: "AMF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Stopped, Metadata: map[string]any{"namespace": floodNS}}}
	inv := vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})}
	engine, err := detect.NewEngine(rules, detect.Env{Config: config.Default(), Inventory: inv, Objects: objects, Namespaces: namespaces, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	fi := &floodIntake{backend: b, found: make(chan struct{})}
	fi.Intake, err = New(Options{Backend: b, Receiver: receiverOptions(), Engine: engine, Cluster: "test", Out: discard, WaitForCaches: wait, Logger: quiet,
		Publish: func(_ context.Context, fs []finding.Finding) {
			for _, f := range fs {
				if f.Rule == "exec-dormant-vnf" && f.Evidence["auditID"] == string(watch) && f.VNFInstance == floodInstance {
					fi.mu.Lock()
					if fi.reported.IsZero() {
						fi.reported = time.Now()
						close(fi.found)
					}
					fi.mu.Unlock()
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// The caches are synced before any clock starts (the consumer waits for them at start in serve).
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := wait(wctx); err != nil {
		t.Fatal(err)
	}
	return fi
}

func (fi *floodIntake) append(t testing.TB, events []auditv1.Event) {
	t.Helper()
	for i := 0; i < len(events); i += 1000 {
		if err := fi.backend.Append(events[i:min(i+1000, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
}

// runFlood queues events and then exec, runs the intake, and returns when the exec's exec-dormant-vnf finding is
// published or bound has passed.
func runFlood(ctx context.Context, t *testing.T, objects vnf.Objects, namespaces detect.Namespaces, wait func(context.Context) error,
	events []auditv1.Event, exec auditv1.Event, bound time.Duration) floodResult {
	t.Helper()
	fi := newFloodIntake(t, objects, namespaces, wait, exec.AuditID)
	defer fi.Close()
	fi.append(t, events)
	fi.append(t, []auditv1.Event{exec})
	queued := time.Now()
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fi.Run(rctx) }()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-fi.found:
	case <-timer.C:
	}
	res := floodResult{elapsed: time.Since(queued), processed: fi.Processed()}
	rcancel()
	if err := <-done; err != nil {
		t.Errorf("intake run: %v", err)
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	if !fi.reported.IsZero() {
		res.found, res.latency = true, fi.reported.Sub(queued)
	}
	return res
}

var discard = writerFunc(func(p []byte) (int, error) { return len(p), nil })

func receiverOptions() audit.ReceiverOptions {
	return audit.ReceiverOptions{BearerTokens: []string{"secret-token"}, Logger: quiet}
}
