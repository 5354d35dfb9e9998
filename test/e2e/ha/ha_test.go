package ha

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/lab"
)

const protected = "vnf-smf"

// The election's timing is the production default (serve's flags). A candidate retries every retryPeriod plus a
// jitter of up to 1.2 times it (client-go's JitterFactor), so a crashed leader is replaced within leaseDuration +
// 2 × 2.2 retryPeriod (see the SIGKILL step), and a leader that stops gracefully (it releases the Lease) within
// 2.2 retryPeriod.
const (
	leaseDuration = 15 * time.Second
	retryPeriod   = 2 * time.Second
	maxRetry      = retryPeriod * 22 / 10
)

// TestReplicasShareTheSingletons: two replicas, one leader (metric, /readyz, the Lease), the reconciliation finding
// reported once; the leader stopped gracefully → the other leads at its next retry; a third replica joins, the
// leader is SIGKILLed → the third leads once the Lease expired (within leaseDuration + two retries); no replica
// re-reports what the store holds open; every live replica denies the Peirates pod throughout.
func TestReplicasShareTheSingletons(t *testing.T) {
	dsn := os.Getenv(lab.PostgresDSNEnv)
	if dsn == "" {
		t.Fatal(`VNFGUARD_TEST_POSTGRES is empty: the replicas share a PostgreSQL store; run eval "$(bash hack/postgres.sh | tail -n1)" first`)
	}
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	storeDSN, drop, err := lab.NewDatabase(ctx, dsn, "vnfguard_ha")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	configPath := filepath.Join(dir, "vnfguard.yaml")
	for path, data := range map[string]string{
		filepath.Join(dir, "inventory.yaml"): `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - {id: smf-1, vnfdId: smf-vnfd, vnfProvider: Acme, vnfProductName: SMF, instantiationState: INSTANTIATED,
     instantiatedVnfInfo: {flavourId: simple, vnfState: STARTED, metadata: {namespace: ` + protected + `}}}
`,
		configPath: `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [` + protected + `]}
identities:
  vnfm: {users: [` + lab.VNFM + `]}
inventory: {file: inventory.yaml}
reconcile: {for: 0s}
`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	for _, ns := range []string{lab.Sandbox, protected} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := cp.ClientFor(lab.Admin)
	leaseAllowed(ctx, t, cp)
	// A rogue workload in the protected namespace: bound to no instance. The leader's reconciliation reports it.
	one := int32(1)
	rogue := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "miner", Namespace: protected},
		Spec: corev1.ReplicationControllerSpec{Replicas: &one, Selector: map[string]string{"app": "miner"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "miner"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "miner", Image: "registry.5gc.example/miner:1"}}}}},
	}
	if _, err := admin.CoreV1().ReplicationControllers(protected).Create(ctx, rogue, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Peirates pod is a real attack: without vnfguard the API server accepts it.
	attacker, _ := cp.ClientFor(lab.Attacker)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "p"), dryRun); err != nil {
		t.Fatalf("the Peirates pod without vnfguard: %v; the attack must work without the control", err)
	}

	args := []string{"--store", storeDSN}
	a, err := cp.StartVNFGuardReplica(ctx, binary, configPath, lab.ReplicaOptions{LeaderElect: true}, args...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cp.StartVNFGuardReplica(ctx, binary, configPath, lab.ReplicaOptions{Name: "vnfguard-b", NoRegister: true, LeaderElect: true}, args...)
	if err != nil {
		t.Fatal(err)
	}
	review := newReviewer(t, cp)
	guards := map[string]*lab.Guard{"a": a, "b": b}
	// The rogue workload is reported once, not once per replica (with --leader-elect=false, twice).
	waitFor(ctx, t, 60*time.Second, "a replica reports the rogue ReplicationController", func() bool { return rogueOpened(a)+rogueOpened(b) >= 1 })
	time.Sleep(3 * time.Second) // room for a second report, were there one
	if n, m := rogueOpened(a), rogueOpened(b); n+m != 1 {
		t.Fatalf("reconcile-rogue opened %d times by a and %d by b: want once", n, m)
	}
	leader, follower := oneLeader(ctx, t, cp, guards)
	t.Logf("leader %s, follower %s", leader, follower)
	if rogueOpened(guards[leader]) != 1 {
		t.Fatal("the follower, not the leader, reported the rogue ReplicationController")
	}
	// Both replicas answer admission, the follower as the leader.
	for name, g := range guards {
		if err := review.denies(ctx, g); err != nil {
			t.Fatalf("replica %s: %v", name, err)
		}
	}
	// Through the API server too (it calls the registered replica).
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "p"), dryRun); !lab.IsWebhookDenial(err) {
		t.Fatalf("the Peirates pod through the API server: %v, want a webhook denial", err)
	}

	// Graceful stop of the leader: it releases the Lease, the follower takes over within about a retry period.
	survivor := guards[follower]
	probe := review.keepAsking(ctx, survivor)
	leaderID := identity(ctx, t, guards[leader])
	start := time.Now()
	released := leaseLeaves(ctx, cp, leaderID)
	go guards[leader].Stop()
	took := waitLeader(ctx, t, survivor, 10*time.Second)
	graceful := took.Sub(start)
	t.Logf("the stopping leader released the Lease %s after SIGTERM", (<-released).Sub(start).Round(10*time.Millisecond))
	if failures := probe(); failures != "" {
		t.Errorf("the surviving replica failed admission during the graceful failover: %s", failures)
	}
	t.Logf("FAILOVER graceful (SIGTERM): %s", graceful.Round(10*time.Millisecond))
	if graceful > maxRetry+time.Second {
		t.Errorf("after a graceful stop the follower led after %s: the released Lease is taken at the next retry (within %s)", graceful, maxRetry)
	}
	holderIs(ctx, t, cp, survivor)
	// The API server now calls the survivor, as a Service would route to the endpoints left.
	if err := survivor.Register(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if n := rogueOpened(survivor); n != 0 {
		t.Errorf("the new leader reported the rogue ReplicationController again (%d times): it must take up what the store holds open", n)
	}

	// A third replica joins as a follower; the leader is SIGKILLed: no release, the Lease must expire first.
	c, err := cp.StartVNFGuardReplica(ctx, binary, configPath, lab.ReplicaOptions{Name: "vnfguard-c", NoRegister: true, LeaderElect: true}, args...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, 10*time.Second, "replica c is a follower", func() bool { return role(ctx, c) == "follower" })
	if err := review.denies(ctx, c); err != nil {
		t.Fatalf("replica c: %v", err)
	}
	probe = review.keepAsking(ctx, c)
	start = time.Now()
	survivor.Kill()
	// A follower counts the Lease's duration from when it observed the last renewal, and it polls every retry: the
	// leader's last renewal before the kill may be observed up to a retry after the kill, and the first try after
	// the expiry comes up to a retry after that. So leaseDuration + 2 retries bound it (measured 20.86 s once
	// under CI load, against a one-retry bound of 20.4 s).
	crashBound := leaseDuration + 2*maxRetry
	took = waitLeader(ctx, t, c, crashBound+5*time.Second)
	killed := took.Sub(start)
	if failures := probe(); failures != "" {
		t.Errorf("the surviving replica failed admission during the failover after SIGKILL: %s", failures)
	}
	t.Logf("FAILOVER crash (SIGKILL): %s", killed.Round(10*time.Millisecond))
	if killed > crashBound+time.Second {
		t.Errorf("after SIGKILL the follower led after %s, want within leaseDuration + two retries (%s)", killed, crashBound)
	}
	holderIs(ctx, t, cp, c)
	time.Sleep(3 * time.Second)
	if n := rogueOpened(c); n != 0 {
		t.Errorf("the third leader reported the rogue ReplicationController again (%d times)", n)
	}
	if m := metric(ctx, t, c, "vnfguard_leader_transitions_total"); m < 1 {
		t.Errorf("vnfguard_leader_transitions_total on c = %v, want at least 1", m)
	}
}

// leaseAllowed: the API server's own authorizer lets vnfguard's ServiceAccount get, create and update its Lease and
// nothing more of leases.
func leaseAllowed(ctx context.Context, t *testing.T, cp *lab.ControlPlane) {
	t.Helper()
	admin, _ := cp.ClientFor(lab.Admin)
	for _, q := range []struct {
		verb, ns, name string
		want           bool
	}{
		{"get", "vnfguard", install.LeaseName, true},
		{"update", "vnfguard", install.LeaseName, true},
		{"create", "vnfguard", "", true},
		{"update", "vnfguard", "other", false},
		{"delete", "vnfguard", install.LeaseName, false},
		{"update", "kube-system", "kube-controller-manager", false},
		{"create", "kube-system", "", false},
	} {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: lab.VNFGuard, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:vnfguard", "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{Verb: q.verb, Group: "coordination.k8s.io", Resource: "leases", Namespace: q.ns, Name: q.name},
		}}
		res, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != q.want {
			t.Errorf("vnfguard may %s lease %s/%s: %v, want %v", q.verb, q.ns, q.name, res.Status.Allowed, q.want)
		}
	}
}

// oneLeader waits until exactly one replica leads, by its metric and its /readyz, and the Lease names it.
func oneLeader(ctx context.Context, t *testing.T, cp *lab.ControlPlane, guards map[string]*lab.Guard) (leader, follower string) {
	t.Helper()
	waitFor(ctx, t, 30*time.Second, "one leader and one follower", func() bool {
		leader, follower = "", ""
		for name, g := range guards {
			switch role(ctx, g) {
			case "leader":
				leader = name
			case "follower":
				follower = name
			}
		}
		return leader != "" && follower != ""
	})
	for name, g := range guards {
		want := 0.0
		if name == leader {
			want = 1
		}
		if got := metric(ctx, t, g, "vnfguard_leader"); got != want {
			t.Fatalf("vnfguard_leader on %s = %v, want %v", name, got, want)
		}
	}
	holderIs(ctx, t, cp, guards[leader])
	return leader, follower
}

// holderIs checks the Lease's holderIdentity is the replica's identity (from its /readyz).
func holderIs(ctx context.Context, t *testing.T, cp *lab.ControlPlane, g *lab.Guard) {
	t.Helper()
	st, _, err := g.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	lease, err := admin.CoordinationV1().Leases("vnfguard").Get(ctx, install.LeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != st.Election.Identity || st.Election.Identity == "" {
		t.Fatalf("Lease %s holder = %v, want the leader %q", install.LeaseName, lease.Spec.HolderIdentity, st.Election.Identity)
	}
}

func identity(ctx context.Context, t *testing.T, g *lab.Guard) string {
	t.Helper()
	st, _, err := g.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Election.Identity
}

// leaseLeaves reports when the Lease's holder first stops being id (released, or taken over).
func leaseLeaves(ctx context.Context, cp *lab.ControlPlane, id string) <-chan time.Time {
	admin, _ := cp.ClientFor(lab.Admin)
	out := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			lease, err := admin.CoordinationV1().Leases("vnfguard").Get(ctx, install.LeaseName, metav1.GetOptions{})
			if err == nil && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != id) {
				out <- time.Now()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		out <- time.Time{}
	}()
	return out
}

func role(ctx context.Context, g *lab.Guard) string {
	st, _, err := g.Ready(ctx)
	if err != nil {
		return ""
	}
	return st.Election.Role
}

// waitLeader polls the replica's /readyz until it leads and returns when it first said so.
func waitLeader(ctx context.Context, t *testing.T, g *lab.Guard, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if role(ctx, g) == "leader" {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the replica at %s did not lead within %s", g.URL, within)
	return time.Time{}
}

var sample = regexp.MustCompile(`(?m)^(\w+) ([0-9.eE+-]+)$`)

func metric(ctx context.Context, t *testing.T, g *lab.Guard, name string) float64 {
	t.Helper()
	text, err := g.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sample.FindAllStringSubmatch(text, -1) {
		if m[1] == name {
			var v float64
			if _, err := fmt.Sscan(m[2], &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s in the metrics of %s", name, g.MetricsURL)
	return 0
}

// rogueOpened counts the reconcile-rogue findings the replica opened (printed without a resolution) for the miner.
func rogueOpened(g *lab.Guard) int {
	n := 0
	for _, f := range g.Findings() {
		if f.Rule == "reconcile-rogue" && f.Object.Name == "miner" && f.Resolved.IsZero() {
			n++
		}
	}
	return n
}

func waitFor(ctx context.Context, t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", within, what)
}

// reviewer sends AdmissionReviews straight to one replica's /validate, as the API server would through a Service.
type reviewer struct {
	client *http.Client
	body   []byte
}

func newReviewer(t *testing.T, cp *lab.ControlPlane) *reviewer {
	t.Helper()
	caPEM, err := os.ReadFile(cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	pod := lab.PeiratesPod(lab.Sandbox, "p")
	pod.APIVersion, pod.Kind = "v1", "Pod"
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	ar := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("ha-probe"), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, RequestKind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			RequestResource: &metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Name:            pod.Name, Namespace: pod.Namespace, Operation: admissionv1.Create,
			UserInfo: authnv1.UserInfo{Username: lab.Attacker, Groups: []string{"system:authenticated"}},
			Object:   runtime.RawExtension{Raw: raw}, DryRun: ptr(true),
		}}
	body, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return &reviewer{body: body, client: &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

func ptr[T any](v T) *T { return &v }

// denies sends the Peirates pod's review to the replica and wants a denial by host-takeover.
func (r *reviewer) denies(ctx context.Context, g *lab.Guard) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/validate", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s/validate: %w", g.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil || out.Response == nil {
		return fmt.Errorf("POST %s/validate answered %d: %q", g.URL, resp.StatusCode, truncate(string(data)))
	}
	if out.Response.Allowed || out.Response.Result == nil || !strings.Contains(out.Response.Result.Message, "host-takeover") {
		return fmt.Errorf("the Peirates pod: allowed=%v %v, want a denial by host-takeover", out.Response.Allowed, out.Response.Result)
	}
	return nil
}

// keepAsking sends the review to the replica every 100 ms until the returned function is called, which reports
// the failures (empty: none).
func (r *reviewer) keepAsking(ctx context.Context, g *lab.Guard) func() string {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		asked    atomic.Int64
	)
	wg.Go(func() {
		for ctx.Err() == nil {
			if err := r.denies(ctx, g); err != nil && ctx.Err() == nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
			asked.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
	})
	return func() string {
		cancel()
		wg.Wait()
		if asked.Load() == 0 {
			return "no request was sent"
		}
		mu.Lock()
		defer mu.Unlock()
		if len(failures) == 0 {
			return ""
		}
		return fmt.Sprintf("%d of %d: %s", len(failures), asked.Load(), failures[0])
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
