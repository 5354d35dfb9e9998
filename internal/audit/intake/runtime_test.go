package intake

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// memQueue keeps what was appended.
type memQueue struct {
	mu  sync.Mutex
	got []auditv1.Event
	err error
}

func (q *memQueue) Append(evs []auditv1.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.got = append(q.got, evs...)
	return nil
}

type tokens map[string]Identity

func (t tokens) Authenticate(_ context.Context, token string) (Identity, error) {
	if id, ok := t[token]; ok {
		return id, nil
	}
	return Identity{}, errors.New("the API server does not accept the token")
}

const agentUser = "system:serviceaccount:vnfguard:vnfguard-node"

func runtimeList(node string) string {
	return `{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[{"id":"` + node + `/moby/c1/x","kind":"container","time":"2026-12-05T10:00:00Z","node":"` + node +
		`","observed":"event","container":{"namespace":"moby","id":"c1","origin":"engine","why":"outside k8s.io","running":true,"created":"2026-12-05T10:00:00Z"}}]}`
}

func TestRuntimeReceiver(t *testing.T) {
	q := &memQueue{}
	auth := tokens{"agent-n1": {User: agentUser, Node: "n1"}, "agent-unbound": {User: agentUser}, "admin": {User: "alice"}}
	rr, err := NewRuntimeReceiver(q, RuntimeOptions{Authenticator: auth, Agents: []string{agentUser}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, body string
		want              int
		says              string
	}{
		{"no token", "", runtimeList("n1"), http.StatusUnauthorized, "service-account token"},
		{"a token the API server refuses", "forged", runtimeList("n1"), http.StatusUnauthorized, "does not accept"},
		{"not a node agent", "admin", runtimeList("n1"), http.StatusForbidden, "alice is not a vnfguard node agent"},
		{"an agent reporting for another node", "agent-n1", runtimeList("n2"), http.StatusForbidden, `bound to node "n1"`},
		{"malformed", "agent-n1", `{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[{"id":"x"}]}`, http.StatusBadRequest, "items[0]"},
		{"empty", "agent-n1", `{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[]}`, http.StatusBadRequest, "no items"},
		{"its own node", "agent-n1", runtimeList("n1"), http.StatusOK, ""},
		{"a token bound to no node", "agent-unbound", runtimeList("n3"), http.StatusOK, ""},
	} {
		req := httptest.NewRequest(http.MethodPost, "/runtime", strings.NewReader(tc.body))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		rr.ServeHTTP(w, req)
		if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("%s: %d %q; want %d saying %q", tc.name, w.Code, w.Body.String(), tc.want, tc.says)
		}
	}
	if len(q.got) != 2 {
		t.Fatalf("queued %d envelopes; want the 2 accepted reports", len(q.got))
	}
	e, ok, err := runtimeevent.FromEnvelope(&q.got[0])
	if !ok || err != nil || e.Container.ID != "c1" || q.got[0].User.Username != agentUser {
		t.Errorf("queued envelope: %+v %v %v (user %q)", e, ok, err, q.got[0].User.Username)
	}
	// A queue that cannot take the batch: the agent is told to retry, nothing is lost silently.
	q.err = errors.New("disk full")
	req := httptest.NewRequest(http.MethodPost, "/runtime", strings.NewReader(runtimeList("n1")))
	req.Header.Set("Authorization", "Bearer agent-n1")
	w := httptest.NewRecorder()
	rr.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError {
		t.Errorf("append failure: %d", w.Code)
	}
	if _, err := NewRuntimeReceiver(q, RuntimeOptions{Authenticator: auth}); err == nil {
		t.Error("a receiver with no agent identity must be refused")
	}
}

func TestTokenReviewerCachesAndReadsTheNode(t *testing.T) {
	client := fake.NewClientset()
	reviews := 0
	client.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reviews++
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview)
		out := &authnv1.TokenReview{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
		if tr.Spec.Token == "good" {
			out.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: agentUser,
				Extra: map[string]authnv1.ExtraValue{nodeNameExtra: {"n1"}}}}
		}
		return true, out, nil
	})
	tr := NewTokenReviewer(client, nil, 0)
	for range 3 {
		id, err := tr.Authenticate(context.Background(), "good")
		if err != nil || id.User != agentUser || id.Node != "n1" {
			t.Fatalf("good token: %+v %v", id, err)
		}
	}
	if _, err := tr.Authenticate(context.Background(), "bad"); err == nil {
		t.Error("an unauthenticated token was accepted")
	}
	if reviews != 2 {
		t.Errorf("%d TokenReviews for 4 authentications of 2 tokens; want 2 (answers are cached)", reviews)
	}
}
