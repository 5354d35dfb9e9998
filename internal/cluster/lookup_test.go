package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// liveAPI stands for the API server behind the live client: it counts GETs, can hold each one until released (or
// until the GET's context ends, as a real HTTP client would), can fail them, and otherwise answers from a fake
// metadata client.
type liveAPI struct {
	fake metadata.Interface
	gets atomic.Int64
	mu   sync.Mutex
	hold chan struct{} // nil: answer at once
	err  error         // non-nil: answer with it
	// deaf: a held GET waits for the release even when its context ends (a connection stuck in the kernel).
	deaf bool
}

func (l *liveAPI) Resource(gvr schema.GroupVersionResource) metadata.Getter {
	return &liveResource{Getter: l.fake.Resource(gvr), api: l}
}

func (l *liveAPI) set(hold chan struct{}, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold, l.err = hold, err
}

func (l *liveAPI) get(ctx context.Context, answer func() (*metav1.PartialObjectMetadata, error)) (*metav1.PartialObjectMetadata, error) {
	l.gets.Add(1)
	l.mu.Lock()
	hold, err, deaf := l.hold, l.err, l.deaf
	l.mu.Unlock()
	if hold != nil && deaf {
		<-hold
	} else if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	return answer()
}

type liveResource struct {
	metadata.Getter
	api *liveAPI
}

func (r *liveResource) Namespace(ns string) metadata.ResourceInterface {
	return &liveNamespaced{ResourceInterface: r.Getter.Namespace(ns), api: r.api}
}

func (r *liveResource) Get(ctx context.Context, name string, opts metav1.GetOptions, sub ...string) (*metav1.PartialObjectMetadata, error) {
	return r.api.get(ctx, func() (*metav1.PartialObjectMetadata, error) { return r.Getter.Get(ctx, name, opts, sub...) })
}

type liveNamespaced struct {
	metadata.ResourceInterface
	api *liveAPI
}

func (r *liveNamespaced) Get(ctx context.Context, name string, opts metav1.GetOptions, sub ...string) (*metav1.PartialObjectMetadata, error) {
	return r.api.get(ctx, func() (*metav1.PartialObjectMetadata, error) { return r.ResourceInterface.Get(ctx, name, opts, sub...) })
}

// countingView is a view with empty informer caches whose live GETs go to a liveAPI over the given objects.
func countingView(t *testing.T, objects ...*metav1.PartialObjectMetadata) (*View, *liveAPI) {
	t.Helper()
	var live []runtime.Object
	for _, o := range objects {
		live = append(live, o)
	}
	v, fake := testView(t, nil, live...)
	api := &liveAPI{fake: fake}
	v.liveClient = api
	return v, api
}

// TestAnswersAreCached: the API server's answer to a live GET — the object, or that it does not exist — is reused
// for the answer TTL: a namespace or owner that does not exist costs one GET, not one per admission request.
func TestAnswersAreCached(t *testing.T) {
	v, api := countingView(t, meta("v1", "Namespace", "", "team-a", map[string]string{"tier": "web"}),
		meta("apps/v1", "ReplicaSet", "team-a", "web-1", nil))
	v.answerTTL = 200 * time.Millisecond
	ctx := context.Background()
	for range 5 {
		if _, err := v.Labels(ctx, "no-such-namespace"); !errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("Labels(no-such-namespace) = %v; want not found", err)
		}
		if _, err := v.Get(ctx, "ReplicaSet", "team-a", "no-such-rs"); !errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("Get(no-such-rs) = %v; want not found", err)
		}
		if l, err := v.Labels(ctx, "team-a"); err != nil || l["tier"] != "web" {
			t.Fatalf("Labels(team-a) = %v, %v", l, err)
		}
		if _, err := v.Get(ctx, "ReplicaSet", "team-a", "web-1"); err != nil {
			t.Fatalf("Get(web-1) = %v", err)
		}
	}
	if n := api.gets.Load(); n != 4 {
		t.Errorf("%d live GETs for 4 objects asked 5 times each; want 4 (answers, found or not, are cached)", n)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := v.Labels(ctx, "no-such-namespace"); !errors.Is(err, vnf.ErrNotFound) {
		t.Fatalf("Labels(no-such-namespace) after the TTL = %v", err)
	}
	if n := api.gets.Load(); n != 5 {
		t.Errorf("%d live GETs after the TTL; want 5 (an expired answer is asked for again)", n)
	}
}

// TestErrorsAreCachedBriefly: a failed GET's error serves the requests of the next error TTL (one GET per object
// and TTL during an outage), then the next request asks again; the error says why.
func TestErrorsAreCachedBriefly(t *testing.T) {
	v, api := countingView(t)
	v.errorTTL = 100 * time.Millisecond
	api.set(nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 503}})
	lookup := func() {
		t.Helper()
		_, err := v.Labels(context.Background(), "team-a")
		if err == nil || errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("Labels with the API server failing = %v; want an error that is not 'not found'", err)
		}
		for _, want := range []string{"Namespace team-a", "HTTP 503", "unavailable or overloaded"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if !apierrors.IsServiceUnavailable(errors.Unwrap(err)) {
			t.Errorf("error %v does not wrap the API server's status", err)
		}
	}
	lookup()
	lookup()
	if n := api.gets.Load(); n != 1 {
		t.Errorf("%d live GETs for 2 failed lookups within the error TTL; want 1", n)
	}
	time.Sleep(150 * time.Millisecond)
	lookup()
	if n := api.gets.Load(); n != 2 {
		t.Errorf("%d live GETs after the error TTL; want 2", n)
	}
}

// TestConcurrentMissesCollapse: 200 admission requests for the same new namespace at once make one live GET, not
// 200 — with answer caching off, so that only the collapsing is measured — whether it succeeds or fails.
func TestConcurrentMissesCollapse(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
	}{{"answered", nil}, {"failed", apierrors.NewServiceUnavailable("etcd leader changed")}} {
		t.Run(tt.name, func(t *testing.T) {
			v, api := countingView(t, meta("v1", "Namespace", "", "team-b", map[string]string{"tier": "web"}))
			v.answerTTL, v.errorTTL = 0, 0
			release := make(chan struct{})
			api.set(release, tt.err)
			const clients = 200
			var started, done sync.WaitGroup
			errs := make(chan error, clients)
			started.Add(clients)
			done.Add(clients)
			for range clients {
				go func() {
					defer done.Done()
					started.Done()
					l, err := v.Labels(context.Background(), "team-b")
					if err == nil && l["tier"] != "web" {
						err = errors.New("wrong labels")
					}
					errs <- err
				}()
			}
			started.Wait()
			time.Sleep(100 * time.Millisecond) // every client is waiting on the one GET
			close(release)
			done.Wait()
			close(errs)
			for err := range errs {
				if (err != nil) != (tt.err != nil) {
					t.Fatalf("a client got %v; want error %v", err, tt.err)
				}
				if err != nil && !strings.Contains(err.Error(), "etcd leader changed") {
					t.Fatalf("error %q lost the API server's reason", err)
				}
			}
			if n := api.gets.Load(); n != 1 {
				t.Errorf("%d clients asking for the same namespace made %d live GETs; want 1", clients, n)
			}
		})
	}
}

// TestSlowAPIServer: a GET that the API server does not answer within the lookup timeout fails with a message that
// says what was looked up, the timeout, and that the API server is slow; a caller whose own deadline comes first
// is told so.
func TestSlowAPIServer(t *testing.T) {
	v, api := countingView(t)
	v.lookupTimeout = 50 * time.Millisecond
	hold := make(chan struct{})
	defer close(hold)
	api.set(hold, nil)
	_, err := v.Get(context.Background(), "ReplicaSet", "team-a", "web-1")
	if err == nil || errors.Is(err, vnf.ErrNotFound) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with the API server silent = %v; want a deadline error", err)
	}
	for _, want := range []string{"ReplicaSet team-a/web-1", "no answer within 50ms", "slow or unavailable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	v.lookupTimeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = v.Labels(ctx, "team-c")
	if err == nil || !strings.Contains(err.Error(), "admission request's own deadline passed") || !strings.Contains(err.Error(), "Namespace team-c") {
		t.Fatalf("Labels with the caller's deadline first = %v", err)
	}
}

// TestLiveLookupsAreBounded: no more than DefaultLiveLookups live GETs run at once; a lookup that finds every
// slot busy until its timeout says so.
func TestLiveLookupsAreBounded(t *testing.T) {
	v, api := countingView(t)
	v.lookupTimeout = 300 * time.Millisecond
	v.answerTTL, v.errorTTL = 0, 0
	hold := make(chan struct{})
	api.set(hold, nil)
	api.deaf = true
	var wg sync.WaitGroup
	errs := make(chan error, DefaultLiveLookups+1)
	for i := range DefaultLiveLookups + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Get(context.Background(), "Pod", "team-a", fmt.Sprintf("pod-%d", i))
			errs <- err
		}()
	}
	// The GETs that got a slot hang; the one that did not gives up after its timeout.
	err := <-errs
	if err == nil || !strings.Contains(err.Error(), "all 32 live-lookup slots stayed busy") || !strings.Contains(err.Error(), "slow or unavailable") {
		t.Errorf("first lookup to end: %v; want the one that found no free slot", err)
	}
	if n := api.gets.Load(); n != DefaultLiveLookups {
		t.Errorf("%d live GETs reached the API server at once; want the bound, %d", n, DefaultLiveLookups)
	}
	close(hold)
	wg.Wait()
}
