package danger

import (
	"path"
	"strings"
	"testing"
)

func TestKubeletSessionOf(t *testing.T) {
	for _, c := range KubeletSessionCases {
		if _, ok := KubeletSessionOf(c.Path); ok != c.Session {
			t.Errorf("KubeletSessionOf(%q) = %v, want %v", c.Path, ok, c.Session)
		}
	}
	s, ok := KubeletSessionOf("//portForward/./vnf-upf/upf-0")
	if want := (KubeletSession{Kind: "portForward", Namespace: "vnf-upf", Pod: "upf-0"}); !ok || s != want {
		t.Errorf("KubeletSessionOf(//portForward/./vnf-upf/upf-0) = %+v, %v; want %+v", s, ok, want)
	}
	if s, ok := KubeletSessionOf("cri/exec/Zm9vYmFy"); !ok || s != (KubeletSession{Kind: "cri"}) {
		t.Errorf("KubeletSessionOf(cri/exec/TOKEN) = %+v, %v; want a cri session naming no pod", s, ok)
	}
	if s, ok := KubeletSessionOf("metrics/../exec/ns/p/c"); !ok || !s.DotDot {
		t.Errorf("a path with .. = %+v, %v; want a session with DotDot", s, ok)
	}
}

// FuzzKubeletSessionOf: any path reads without a panic, and no path the kubelet would receive as a session is read
// as none. The API server joins the path to the kubelet's URL with path.Join, which resolves dot segments, so the
// kubelet reads path.Clean's first segment; KubeletSessionOf must call every such path a session (and calls more
// paths sessions: any with "..").
func FuzzKubeletSessionOf(f *testing.F) {
	for _, c := range KubeletSessionCases {
		f.Add(c.Path)
	}
	f.Add("a/b/../../exec/ns/p/c")
	f.Add("exec/../../run")
	f.Fuzz(func(t *testing.T, p string) {
		s, ok := KubeletSessionOf(p)
		first, _, _ := strings.Cut(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
		if isKubeletSessionKind(first) && !ok {
			t.Errorf("path %q reaches the kubelet as %q, a session, and is read as none", p, path.Clean("/"+p))
		}
		if ok && !s.DotDot && !isKubeletSessionKind(s.Kind) {
			t.Errorf("path %q read as a session of kind %q", p, s.Kind)
		}
	})
}

func TestKubeletPodLogsOf(t *testing.T) {
	for _, c := range KubeletPodLogsCases {
		l, ok := KubeletPodLogsOf(c.Path)
		if want := c.Pod != ""; ok != want || l != (KubeletPodLogs{Namespace: c.Namespace, Pod: c.Pod}) {
			t.Errorf("KubeletPodLogsOf(%q) = %+v, %v; want %s/%s, %v", c.Path, l, ok, c.Namespace, c.Pod, want)
		}
	}
	for _, c := range KubeletSessionCases {
		if _, ok := KubeletPodLogsOf(c.Path); ok && c.Session {
			t.Errorf("session path %q also read as a pod's logs", c.Path)
		}
	}
}

// FuzzKubeletPodLogsOf: any path reads without a panic; a pod's logs name a namespace and a pod, each one segment
// of the path; and no path is both a session and a pod's logs.
func FuzzKubeletPodLogsOf(f *testing.F) {
	for _, c := range KubeletPodLogsCases {
		f.Add(c.Path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		l, ok := KubeletPodLogsOf(p)
		if !ok {
			if l != (KubeletPodLogs{}) {
				t.Errorf("path %q: no pod's logs, but %+v", p, l)
			}
			return
		}
		if l.Namespace == "" || l.Pod == "" || strings.Contains(l.Namespace, "/") || strings.Contains(l.Pod, "/") {
			t.Errorf("path %q read as the logs of %q/%q", p, l.Namespace, l.Pod)
		}
		if _, session := KubeletSessionOf(p); session {
			t.Errorf("path %q is both a session and the logs of %s/%s", p, l.Namespace, l.Pod)
		}
	})
}
