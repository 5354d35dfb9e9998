package policy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/danger"
)

// nodeProxyRequest is a CONNECT on nodes/proxy as the webhook decodes it: the path in NodeProxyOptions.
func nodeProxyRequest(user authnv1.UserInfo, node, path string) *Request {
	r := &Request{UID: "uid-np", Operation: Connect, Kind: corev1.SchemeGroupVersion.WithKind("NodeProxyOptions"),
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, SubResource: "proxy", Name: node, User: user,
		Object: &corev1.NodeProxyOptions{Path: path}}
	r.Complete()
	return r
}

// TestKubeletSession runs the shared path cases through the evaluator for every kind of identity: a session path
// is refused to all of them, break-glass included, and every other path is let through to all.
func TestKubeletSession(t *testing.T) {
	ev := newTestEnv(t, "").evaluator(t)
	for _, c := range danger.KubeletSessionCases {
		for _, who := range []authnv1.UserInfo{attacker, breakGlassUser, opsAdmin, vnfmUser} {
			d := ev.Evaluate(context.Background(), nodeProxyRequest(who, "worker-1", c.Path))
			if d.Allowed == c.Session {
				t.Errorf("nodes/proxy path %q by %s: allowed %v, want %v (%v)", c.Path, who.Username, d.Allowed, !c.Session, d.Denials)
				continue
			}
			if c.Session && (len(d.Denials) != 1 || d.Denials[0].Check != "kubelet-session" || !strings.Contains(d.Denials[0].Message, who.Username)) {
				t.Errorf("nodes/proxy path %q by %s: denials %v, want one of kubelet-session naming the user", c.Path, who.Username, d.Denials)
			}
		}
	}
	d := ev.Evaluate(context.Background(), nodeProxyRequest(attacker, "worker-1", "exec/vnf-upf/upf-0/main"))
	if len(d.Denials) != 1 || !strings.Contains(d.Denials[0].Message, "exec into pod vnf-upf/upf-0 through node worker-1's kubelet API by mallory") {
		t.Errorf("denial %v does not name the session, the pod, the node and the user", d.Denials)
	}
}

// TestKubeletSessionWithoutLookups: the check reads the path alone, so lookups that fail or hang change nothing:
// the exec is still refused, and no lookup is even made for a nodes/proxy request.
func TestKubeletSessionWithoutLookups(t *testing.T) {
	env := newTestEnv(t, "")
	for _, objs := range []brokenObjects{{err: errors.New("connection refused")}, {block: true}} {
		ev, err := New(Environment{Config: env.cfg, Inventory: env.inv, Objects: objs, Namespaces: &namespaceLabels{err: errors.New("timeout")},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		d := ev.Evaluate(context.Background(), nodeProxyRequest(attacker, "worker-1", "run/vnf-upf/upf-0/main"))
		if d.Allowed || len(d.Denials) != 1 || d.Denials[0].Check != "kubelet-session" || len(d.Errors) != 0 {
			t.Errorf("with lookups %+v: allowed %v, denials %v, errors %v; want the kubelet-session denial alone", objs, d.Allowed, d.Denials, d.Errors)
		}
	}
}
