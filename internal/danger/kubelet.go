package danger

import (
	"strconv"
	"strings"
)

// KubeletSessionKinds are the kubelet API's paths (their first segment, compared without case) that reach into a
// pod's container: exec, run (one command, its output returned), attach, portForward, checkpoint (the
// container's memory and files written to the node's disk), and cri (the container runtime's streaming sessions,
// which a kubelet that serves them hands out). Through the API server they are nodes/proxy requests,
// which neither pods/exec admission nor its audit sees: a pod session opened this way skips every check on
// pods/exec, and its command is in no audit event's objectRef.
var KubeletSessionKinds = []string{"exec", "run", "attach", "portforward", "checkpoint", "cri"}

// KubeletSession is what a path through the kubelet API opens: a session of Kind into Namespace/Pod (either may be
// "" when the path stops short of it, and both are for cri, whose paths name a streaming token instead).
type KubeletSession struct {
	Kind, Namespace, Pod string
	// DotDot: the path has a ".." segment. The API server resolves dot segments before the kubelet reads the
	// path, so "metrics/../exec/ns/pod/c" is an exec; no client needs them, and a path holding one is judged a
	// session whatever it resolves to, so that no reading of the dots can differ from the kubelet's.
	DotDot bool
}

// KubeletSessionOf reads the path of a nodes/proxy request (NodeProxyOptions.Path) as the kubelet will: empty and
// "." segments dropped. ok reports a session: the first segment is one of KubeletSessionKinds, or a segment is "..".
// The twin in the API server (internal/apipolicy) renders the same reading in CEL from the same list.
func KubeletSessionOf(path string) (s KubeletSession, ok bool) {
	var segs [3]string
	n := 0
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			s.DotDot = true
		}
		if n < len(segs) {
			segs[n] = seg
		}
		n++
	}
	if s.DotDot {
		return s, true
	}
	if n == 0 || !isKubeletSessionKind(segs[0]) {
		return KubeletSession{}, false
	}
	if strings.EqualFold(segs[0], "cri") {
		return KubeletSession{Kind: segs[0]}, true
	}
	return KubeletSession{Kind: segs[0], Namespace: segs[1], Pod: segs[2]}, true
}

// KubeletSessionCondition is KubeletSessionOf in the API server's CEL, for a string expression path (a
// NodeProxyOptions' path): true for a session. The webhook's match condition and the twin policy both use it, so the
// three readings of a path are one.
func KubeletSessionCondition(path string) string {
	quoted := make([]string, len(KubeletSessionKinds))
	for i, k := range KubeletSessionKinds {
		quoted[i] = strconv.Quote(k)
	}
	segments := path + ".split('/').filter(s, s != '' && s != '.')"
	return "('..' in " + segments + " || size(" + segments + ") > 0 && " + segments + "[0].lowerAscii() in [" + strings.Join(quoted, ", ") + "])"
}

func isKubeletSessionKind(seg string) bool {
	for _, k := range KubeletSessionKinds {
		if strings.EqualFold(seg, k) {
			return true
		}
	}
	return false
}

// KubeletSessionCases are paths with what KubeletSessionOf must make of them, for every caller's tests: the check
// (internal/policy) and its twin (internal/apipolicy) run each through their own paths.
var KubeletSessionCases = []struct {
	Path    string
	Session bool
}{
	{"exec/vnf-upf/upf-0/main", true},
	{"/exec/vnf-upf/upf-0/main", true},
	{"run/vnf-upf/upf-0/main", true},
	{"attach/vnf-upf/upf-0/main", true},
	{"portForward/vnf-upf/upf-0", true},
	{"portforward/vnf-upf/upf-0", true},
	{"checkpoint/vnf-upf/upf-0/main", true},
	{"cri/exec/Zm9vYmFy", true},
	{"EXEC/vnf-upf/upf-0/main", true},
	{"exec/vnf-upf/upf-0/0e8a1b2c-uid/main", true},
	{"./exec/vnf-upf/upf-0/main", true},
	{"//exec//vnf-upf/upf-0/main", true},
	{"metrics/../exec/vnf-upf/upf-0/main", true},
	{"..", true},
	{"exec", true},
	{"metrics", false},
	{"metrics/cadvisor", false},
	{"stats/summary", false},
	{"pods", false},
	{"healthz", false},
	{"configz", false},
	{"containerLogs/vnf-upf/upf-0/main", false},
	{"logs/messages", false},
	{"", false},
	{"/", false},
	{"./", false},
	{"execute/vnf-upf", false},
	{"stats/exec", false},
}
