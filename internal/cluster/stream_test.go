package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

var (
	_ vnf.Objects = (*Stream)(nil)
)

// TestStreamMissOfSyncedCacheIsNotFoundWithoutLiveGet: once the caches have synced, objects that do not exist —
// of every tracked kind, namespaces, Secrets of a protected namespace — are not found without a single GET, and
// objects that do exist come from the cache. The plain view asks the API server for each miss (the attack).
func TestStreamMissOfSyncedCacheIsNotFoundWithoutLiveGet(t *testing.T) {
	v, fake := startedView(t,
		meta("v1", "Namespace", "", "vnf-upf", map[string]string{"vnfguard.io/protected": "true"}),
		meta("v1", "Pod", "vnf-upf", "upf-0", nil),
		meta("v1", "Secret", "vnf-upf", "upf-tls", nil),
	)
	api := &liveAPI{fake: fake}
	v.liveClient = api
	if err := waitScoped(v, "vnf-upf"); err != nil {
		t.Fatal(err)
	}
	s := v.Stream()
	ctx := context.Background()
	for i := range 200 {
		for kind := range Kinds {
			if _, err := s.Get(ctx, kind, "vnf-upf", fmt.Sprintf("ghost-%d", i)); !errors.Is(err, vnf.ErrNotFound) {
				t.Fatalf("Stream.Get(%s ghost-%d) = %v; want not found", kind, i, err)
			}
		}
		if _, err := s.Labels(ctx, fmt.Sprintf("ghost-ns-%d", i)); !errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("Stream.Labels(ghost-ns-%d) = %v; want not found", i, err)
		}
		if _, err := s.Get(ctx, "Secret", "vnf-upf", fmt.Sprintf("ghost-%d", i)); !errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("Stream.Get(Secret ghost-%d) = %v; want not found", i, err)
		}
	}
	if n := api.gets.Load(); n != 0 {
		t.Errorf("the stream made %d live GETs for objects absent from synced caches; want 0", n)
	}
	if obj, err := s.Get(ctx, "Pod", "vnf-upf", "upf-0"); err != nil || obj.GetName() != "upf-0" {
		t.Errorf("Stream.Get(Pod upf-0) = %v, %v; want the cached pod", obj, err)
	}
	if obj, err := s.Get(ctx, "Secret", "vnf-upf", "upf-tls"); err != nil || obj.GetName() != "upf-tls" {
		t.Errorf("Stream.Get(Secret upf-tls) = %v, %v; want the cached Secret", obj, err)
	}
	if l, err := s.Labels(ctx, "vnf-upf"); err != nil || l["vnfguard.io/protected"] != "true" {
		t.Errorf("Stream.Labels(vnf-upf) = %v, %v", l, err)
	}
	st := s.Stats()
	if st[AnswerAbsent] != 200*uint64(len(Kinds)+2) || st[AnswerCached] != 3 || st[AnswerLive]+st[AnswerFailed]+st[AnswerSkipped] != 0 {
		t.Errorf("stats %v", st)
	}

	// The view itself (admission's) still asks the API server on a miss.
	if _, err := v.Get(ctx, "Pod", "vnf-upf", "ghost-x"); !errors.Is(err, vnf.ErrNotFound) {
		t.Fatal(err)
	}
	if api.gets.Load() != 1 {
		t.Errorf("View.Get of a miss made %d GETs; want 1", api.gets.Load())
	}
}

func waitScoped(v *View, ns string) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, watched := v.data.Get("Secret", ns, "x"); watched {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("secrets of %s never listed", ns)
}

// TestStreamBeforeSyncIsRateLimited: before the caches sync, misses go to the API server, but no more than the
// bucket allows; the rest are skipped at once with an error that is not "not found".
func TestStreamBeforeSyncIsRateLimited(t *testing.T) {
	v, api := countingView(t, meta("apps/v1", "Deployment", "vnf-upf", "upf", map[string]string{vnf.DefaultInstanceLabel: "7f3c"}))
	s := v.StreamWith(StreamOptions{QPS: 1, Burst: 3})
	ctx := context.Background()
	obj, err := s.Get(ctx, "Deployment", "vnf-upf", "upf")
	if err != nil || obj.GetLabels()[vnf.DefaultInstanceLabel] != "7f3c" {
		t.Fatalf("Stream.Get before sync = %v, %v; want the object from the API server", obj, err)
	}
	var notFound, skipped int
	start := time.Now()
	for i := range 100 {
		_, err := s.Get(ctx, "Pod", "vnf-upf", fmt.Sprintf("ghost-%d", i))
		switch {
		case errors.Is(err, vnf.ErrNotFound):
			notFound++
		case errors.Is(err, ErrLookupSkipped):
			skipped++
			var le *LookupError
			if !errors.As(err, &le) || le.Name != fmt.Sprintf("ghost-%d", i) {
				t.Errorf("skipped lookup error %v does not name the object", err)
			}
		default:
			t.Fatalf("Stream.Get(ghost-%d) = %v", i, err)
		}
	}
	if time.Since(start) > time.Second {
		t.Errorf("100 lookups over the limit took %s; skipping must not wait", time.Since(start))
	}
	if got := api.gets.Load(); got > 4 || notFound > 3 || skipped < 96 {
		t.Errorf("GETs %d, not found %d, skipped %d; want at most the burst of 3 (+1) GETs and the rest skipped", got, notFound, skipped)
	}
	if st := s.Stats(); st[AnswerSkipped] != uint64(skipped) || st[AnswerLive] != uint64(notFound+1) {
		t.Errorf("stats %v", st)
	}
}

// TestStreamPausesAfterFailure: a failed live GET pauses live GETs (exponential back-off); a silent API server
// costs the stream its timeout once, not once per event.
func TestStreamPausesAfterFailure(t *testing.T) {
	v, api := countingView(t)
	s := v.StreamWith(StreamOptions{QPS: 1000, Burst: 1000, Timeout: 50 * time.Millisecond, Pause: time.Hour})
	api.set(nil, apierrors.NewServiceUnavailable("etcd is down"))
	ctx := context.Background()
	if _, err := s.Get(ctx, "ReplicaSet", "vnf-upf", "a"); err == nil || errors.Is(err, vnf.ErrNotFound) || errors.Is(err, ErrLookupSkipped) {
		t.Fatalf("first lookup with the API server failing = %v; want its error", err)
	}
	for i := range 50 {
		if _, err := s.Get(ctx, "ReplicaSet", "vnf-upf", fmt.Sprintf("b-%d", i)); !errors.Is(err, ErrLookupSkipped) {
			t.Fatalf("lookup during the pause = %v; want skipped", err)
		}
	}
	if api.gets.Load() != 1 {
		t.Errorf("%d GETs during the pause; want only the one that failed", api.gets.Load())
	}

	// A silent API server: the wait is bounded by the stream's timeout.
	v2, api2 := countingView(t)
	hold := make(chan struct{})
	defer close(hold)
	api2.set(hold, nil)
	s2 := v2.StreamWith(StreamOptions{Timeout: 50 * time.Millisecond, Pause: time.Hour})
	start := time.Now()
	if _, err := s2.Labels(ctx, "team-a"); err == nil || errors.Is(err, vnf.ErrNotFound) {
		t.Fatalf("Labels with a silent API server = %v", err)
	}
	for i := range 20 {
		if _, err := s2.Labels(ctx, fmt.Sprintf("team-%d", i)); !errors.Is(err, ErrLookupSkipped) {
			t.Fatalf("Labels during the pause = %v; want skipped", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("21 lookups against a silent API server took %s; want about one timeout (50ms)", d)
	}
	if st := s2.Stats(); st[AnswerFailed] != 1 || st[AnswerSkipped] != 20 {
		t.Errorf("stats %v", st)
	}
}

// TestStreamPodSpecs: a runtime report about a pod the synced cache does not hold costs no GET (a node agent's
// made-up pods cannot stall the consumer either); a pod that exists has its spec read once.
func TestStreamPodSpecs(t *testing.T) {
	v, _ := startedView(t, meta("v1", "Pod", "vnf-upf", "upf-0", nil))
	typed := kubefake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "vnf-upf", Name: "upf-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "upf", Image: "upf:1"}}}})
	specs := v.Stream().PodSpecs(NewPodSpecs(typed))
	ctx := context.Background()
	for i := range 100 {
		if _, err := specs.PodSpec(ctx, "vnf-upf", fmt.Sprintf("ghost-%d", i), ""); !errors.Is(err, vnf.ErrNotFound) {
			t.Fatalf("PodSpec(ghost-%d) = %v; want not found", i, err)
		}
	}
	if n := len(typed.Actions()); n != 0 {
		t.Errorf("%d API calls for pods absent from the synced cache; want 0", n)
	}
	for range 3 {
		spec, err := specs.PodSpec(ctx, "vnf-upf", "upf-0", "")
		if err != nil || len(spec.Containers) != 1 || spec.Containers[0].Name != "upf" {
			t.Fatalf("PodSpec(upf-0) = %v, %v", spec, err)
		}
	}
	if n := len(typed.Actions()); n != 1 {
		t.Errorf("%d GETs for one existing pod read three times; want 1", n)
	}
}

// TestStreamTimeoutSaysSo: a live GET cut by the stream's timeout says the API server did not answer within it.
func TestStreamTimeoutSaysSo(t *testing.T) {
	v, api := countingView(t)
	hold := make(chan struct{})
	defer close(hold)
	api.set(hold, nil)
	_, err := v.StreamWith(StreamOptions{Timeout: 30 * time.Millisecond}).Get(context.Background(), "Deployment", "team-a", "web")
	if err == nil || !strings.Contains(err.Error(), "no answer within 30ms") || !strings.Contains(err.Error(), "Deployment team-a/web") {
		t.Fatalf("error %v; want the stream's timeout and the object", err)
	}
}
