package detect

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// failingObjects fails every lookup, as the consumer's stream view does for a lookup it skipped or that timed out.
type failingObjects struct{ err error }

func (f failingObjects) Get(context.Context, string, string, string) (metav1.Object, error) {
	return nil, f.err
}

// A lookup the cluster view could not make falls back to what the engine saw created; the failure is returned
// (to be counted) only when the memory does not know the object either, and never turns into "not found".
func TestMemoryAnswersWhenTheLiveLookupFails(t *testing.T) {
	skipped := errors.New("cluster lookup skipped: over the rate limit")
	m := newObjectMemory()
	m.objects.put(objectKey{"Pod", "5gc", "upf-0"}, &metav1.ObjectMeta{Namespace: "5gc", Name: "upf-0", Labels: map[string]string{"app": "upf"}})
	w := withMemory{live: failingObjects{skipped}, memory: m}
	got, err := w.Get(t.Context(), "Pod", "5gc", "upf-0")
	if err != nil || got.GetName() != "upf-0" {
		t.Fatalf("remembered pod: %v, %v", got, err)
	}
	_, err = w.Get(t.Context(), "Pod", "5gc", "unknown")
	if !errors.Is(err, skipped) || errors.Is(err, vnf.ErrNotFound) {
		t.Fatalf("unknown pod: %v, want the lookup's own failure", err)
	}
}
