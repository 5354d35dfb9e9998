package sol003

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
)

// TestRestartKeepsOneSubscription: a VNFM that creates a second subscription to the same callback (Tacker 11.0.0)
// would deliver every notification twice after vnfguard's restart, and once more per restart; vnfguard deletes its
// earlier subscriptions before subscribing, so the VNFM holds exactly one.
func TestRestartKeepsOneSubscription(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, nil)
	// The attack on notification integrity is real: subscribing twice without the clean-up leaves two.
	req := NewSubscriptionRequest(e.cfg.CallbackURI, notifyUser, notifyPass)
	for range 2 {
		if _, err := e.src.Client().Subscribe(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.vnfm.Subscriptions()); n != 2 {
		t.Fatalf("the test VNFM holds %d subscriptions after two POSTs, want 2 (as Tacker does)", n)
	}
	// Another subscriber's subscription (an NFVO's) is never touched.
	nfvo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer nfvo.Close()
	otherID, err := e.src.Client().Subscribe(context.Background(), NewSubscriptionRequest(nfvo.URL+"/nfvo", "nfvo", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	// A restarted vnfguard (a new source on the same callback) replaces its two with one.
	e.run(t)
	subs := e.vnfm.Subscriptions()
	own := e.src.Status().SubscriptionID
	if len(subs) != 2 || subs[own] != e.cfg.CallbackURI || subs[otherID] != nfvo.URL+"/nfvo" {
		t.Fatalf("after vnfguard subscribed: %v; want its own %s → %s and the NFVO's %s", subs, own, e.cfg.CallbackURI, otherID)
	}
}
