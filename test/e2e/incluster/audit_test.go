package incluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/store"
)

// proberRule is the detection rule each probe trips once: a service account asking for its own permissions from a
// client that is not kubectl (Peirates does it before each action). One audit event per probe, one count in the
// stored finding: the stored count is the number of audit events that reached a replica and were processed.
const proberRule = "ssar-by-service-account"

// prober sends SelfSubjectAccessReviews as a service account of the sandbox, as Peirates does, and counts those the
// API server answered: each left one audit event, which the audit webhook sends to vnfguard's Service. A probe that
// got no answer (an error) may or may not have left one: it is counted apart, so that the comparison stays exact.
type prober struct {
	cs               kubernetes.Interface
	sent, unanswered atomic.Int64
}

func newProber(ctx context.Context, t *testing.T, cp *lab.ControlPlane) *prober {
	t.Helper()
	admin, _ := cp.ClientFor(lab.Admin)
	if _, err := admin.CoreV1().ServiceAccounts(lab.Sandbox).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prober"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := serviceAccountConfig(ctx, t, cp, lab.Sandbox, "prober")
	sa.UserAgent = "peirates/1.1.24"
	sa.QPS, sa.Burst = 200, 400
	return &prober{cs: kubernetes.NewForConfigOrDie(sa)}
}

// probe sends one review and counts it as answered or not.
func (p *prober) probe(ctx context.Context) error {
	_, err := p.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: lab.Sandbox}},
	}, metav1.CreateOptions{})
	if err == nil {
		p.sent.Add(1)
	} else {
		p.unanswered.Add(1)
	}
	return err
}

// run probes from n callers until the returned function is called, which waits for the probes in flight: they are
// never cancelled, so each ends answered or failed, never unknown.
func (p *prober) run(ctx context.Context, n int) (stop func()) {
	var wg sync.WaitGroup
	var stopped atomic.Bool
	for range n {
		wg.Go(func() {
			for !stopped.Load() && ctx.Err() == nil {
				_ = p.probe(ctx)
			}
		})
	}
	return func() { stopped.Store(true); wg.Wait() }
}

// stored is the number of probe events the findings store counted.
func stored(ctx context.Context, st store.Store) (int, error) {
	fs, err := st.List(ctx, store.Filter{Rule: proberRule})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range fs {
		if strings.Contains(f.Identity, "prober") {
			n += max(f.Count, 1)
		}
	}
	return n, nil
}

// waitStored waits until the store counts want probe events (the queue drained), then a little longer, so that a
// doubled event would show, and returns the final count.
func waitStored(ctx context.Context, t *testing.T, st store.Store, want int, within time.Duration) int {
	t.Helper()
	var got int
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if got, err = stored(ctx, st); err == nil && got >= want {
			break
		}
	}
	time.Sleep(3 * time.Second)
	if got, err = stored(ctx, st); err != nil {
		t.Errorf("read the findings store: %v", err)
	}
	return got
}

// leaderSampler reads vnfguard_leader from every replica's metrics port (the host reaches pod addresses on the
// node's bridge) and keeps the largest number of replicas that said 1 at once.
type leaderSampler struct {
	most, samples atomic.Int64
	none          atomic.Int64 // samples in which no replica said 1 (the failover's gap)
}

func sampleLeaders(ctx context.Context, cs kubernetes.Interface, every time.Duration) (*leaderSampler, func()) {
	s := &leaderSampler{}
	client := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err == nil {
				leaders := int64(0)
				for _, p := range list.Items {
					if p.Status.PodIP != "" && leaderGauge(ctx, client, p.Status.PodIP) == 1 {
						leaders++
					}
				}
				s.samples.Add(1)
				if leaders == 0 {
					s.none.Add(1)
				}
				for {
					m := s.most.Load()
					if leaders <= m || s.most.CompareAndSwap(m, leaders) {
						break
					}
				}
			}
			time.Sleep(every)
		}
	})
	return s, func() { cancel(); wg.Wait() }
}

func (s *leaderSampler) String() string {
	return fmt.Sprintf("%d samples of vnfguard_leader across the replicas: at most %d leader(s) at once, %d samples with none",
		s.samples.Load(), s.most.Load(), s.none.Load())
}

// leaderGauge is the replica's vnfguard_leader, or -1 when it cannot be read.
func leaderGauge(ctx context.Context, client *http.Client, ip string) float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(ip, "9090")+"/metrics", nil)
	resp, err := client.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "vnfguard_leader "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// auditDropped is the API server's count of audit events its webhook backend gave up on
// (apiserver_audit_error_total{plugin="webhook"}).
func auditDropped(ctx context.Context, cs kubernetes.Interface) (float64, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, `apiserver_audit_error_total{plugin="webhook"} `); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, nil // no sample yet: nothing dropped
}
