package apipolicy

import (
	"context"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The twin refuses what check kubelet-session refuses, over the shared path cases, to every identity, and names
// the path, the node and the user; a request without a path (the kubelet's root) is let through by both.
func TestKubeletSessionTwin(t *testing.T) {
	cfg := parse(t, "identities: {breakGlass: {groups: [\"vnfguard:break-glass\"]}}\n")
	c := compileSpec(t, twinSpec(t, cfg, "kubelet-session"))
	ev, err := policy.New(policy.Environment{Config: cfg, Inventory: staticInventory{vnf.NewSnapshot("test", "v1", time.Now(), nil)}, Namespaces: staticNamespaces{}})
	if err != nil {
		t.Fatal(err)
	}
	users := []authnv1.UserInfo{
		{Username: "mallory", Groups: []string{"system:authenticated"}},
		{Username: "oncall", Groups: []string{"vnfguard:break-glass"}},
	}
	cases := append([]struct {
		Path    string
		Session bool
	}{{"<none>", false}}, danger.KubeletSessionCases...)
	refused := 0
	for _, tc := range cases {
		for _, user := range users {
			opts := &corev1.NodeProxyOptions{Path: tc.Path}
			object := map[string]any{"kind": "NodeProxyOptions", "apiVersion": "v1", "path": tc.Path}
			if tc.Path == "<none>" {
				opts.Path = ""
				delete(object, "path") // omitempty: the API server sends no path
			}
			req := &policy.Request{UID: "u", Operation: policy.Connect, Kind: corev1.SchemeGroupVersion.WithKind("NodeProxyOptions"),
				Resource: schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, SubResource: "proxy", Name: "worker-1", User: user, Object: opts}
			req.Complete()
			goRefuses := !ev.Evaluate(context.Background(), req).Allowed
			groups := make([]any, len(user.Groups))
			for i, g := range user.Groups {
				groups[i] = g
			}
			_, failed := c.eval(t, map[string]any{
				// A cluster-scoped request: the API server leaves the empty namespace out.
				"request": map[string]any{"name": "worker-1", "operation": "CONNECT", "subResource": "proxy",
					"kind": map[string]any{"kind": "NodeProxyOptions"}, "userInfo": map[string]any{"username": user.Username, "groups": groups}},
				"object": object, "oldObject": nil, "namespaceObject": nil,
			})
			if (len(failed) > 0) != goRefuses || goRefuses != tc.Session {
				t.Errorf("path %q by %s: the twin refuses %v, the check refuses %v, want %v", tc.Path, user.Username, failed, goRefuses, tc.Session)
			}
			if len(failed) > 0 {
				refused++
				if !containsAll(failed[0], "NodeProxyOptions worker-1: [kubelet-session FGT1609.501]", "path "+tc.Path, user.Username, "use pods/exec") {
					t.Errorf("path %q: message %q does not name the check, the node, the path and the user", tc.Path, failed[0])
				}
			}
		}
	}
	if refused == 0 {
		t.Error("no path refused")
	}
}
