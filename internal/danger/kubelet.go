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
	segs, n, dotDot := kubeletSegments(path)
	if dotDot {
		return KubeletSession{DotDot: true}, true
	}
	if n == 0 || !isKubeletSessionKind(segs[0]) {
		return KubeletSession{}, false
	}
	if strings.EqualFold(segs[0], "cri") {
		return KubeletSession{Kind: segs[0]}, true
	}
	return KubeletSession{Kind: segs[0], Namespace: segs[1], Pod: segs[2]}, true
}

// kubeletSegments reads a kubelet path as the kubelet will, empty and "." segments dropped: its first three
// segments, how many there are, and whether one is "..".
func kubeletSegments(path string) (segs [3]string, n int, dotDot bool) {
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			dotDot = true
		}
		if n < len(segs) {
			segs[n] = seg
		}
		n++
	}
	return segs, n, dotDot
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

// KubeletPodLogs is the pod whose logs a path through the kubelet's API reads. The kubelet serves them two ways that
// pods/log does not see: containerLogs/NAMESPACE/POD/CONTAINER (its own endpoint for what pods/log serves), and its
// logs/ file server over the node's /var/log, where the default podLogsDir holds pods/NAMESPACE_POD_UID/CONTAINER/N.log
// and containers/POD_NAMESPACE_CONTAINER-ID.log. The pod's files stay there until the kubelet removes its
// containers, so a read through the kubelet's API reaches a STOPPED or terminated VNF's data without a pods/log
// request, and its audit event names a node, not the pod.
type KubeletPodLogs struct {
	Namespace, Pod string
}

// KubeletPodLogsOf reads the path of a nodes/proxy request as KubeletSessionOf does (empty and "." segments
// dropped; names compared without case): ok for a read of one pod's logs, whose namespace and name it gives. A path
// with a ".." segment is a session (KubeletSessionOf) and not this: no path is both. Names of namespaces and pods
// hold no "_", so the file names split unambiguously.
func KubeletPodLogsOf(path string) (l KubeletPodLogs, ok bool) {
	segs, n, dotDot := kubeletSegments(path)
	if dotDot || n < 3 {
		return KubeletPodLogs{}, false
	}
	switch {
	case strings.EqualFold(segs[0], "containerLogs"):
		l = KubeletPodLogs{Namespace: segs[1], Pod: segs[2]}
	case strings.EqualFold(segs[0], "logs") && strings.EqualFold(segs[1], "pods"):
		if parts := strings.Split(segs[2], "_"); len(parts) == 3 { // NAMESPACE_POD_UID
			l = KubeletPodLogs{Namespace: parts[0], Pod: parts[1]}
		}
	case strings.EqualFold(segs[0], "logs") && strings.EqualFold(segs[1], "containers"):
		if parts := strings.SplitN(segs[2], "_", 3); len(parts) == 3 { // POD_NAMESPACE_CONTAINER-ID.log
			l = KubeletPodLogs{Namespace: parts[1], Pod: parts[0]}
		}
	}
	if l.Namespace == "" || l.Pod == "" {
		return KubeletPodLogs{}, false
	}
	return l, true
}

// KubeletPodLogsCases are paths with what KubeletPodLogsOf must make of them ("" and "": no pod's logs).
var KubeletPodLogsCases = []struct {
	Path, Namespace, Pod string
}{
	{"containerLogs/vnf-upf/upf-0/main", "vnf-upf", "upf-0"},
	{"containerlogs/vnf-upf/upf-0/main", "vnf-upf", "upf-0"},
	{"containerLogs//vnf-upf/./upf-0/main", "vnf-upf", "upf-0"},
	{"containerLogs/vnf-upf/upf-0", "vnf-upf", "upf-0"},
	{"logs/pods/vnf-upf_upf-0_0e8a1b2c-4d5e-6f70-8192-a3b4c5d6e7f8/main/0.log", "vnf-upf", "upf-0"},
	{"logs/pods/vnf-upf_upf-0_0e8a1b2c-4d5e-6f70-8192-a3b4c5d6e7f8/", "vnf-upf", "upf-0"},
	{"LOGS/Pods/vnf-upf_upf-0_uid/main/0.log", "vnf-upf", "upf-0"},
	{"logs/containers/upf-0_vnf-upf_main-5f2c0e9a.log", "vnf-upf", "upf-0"},
	{"containerLogs/vnf-upf", "", ""},
	{"containerLogs", "", ""},
	{"logs/pods", "", ""},
	{"logs/pods/", "", ""},
	{"logs/pods/vnf-upf_upf-0", "", ""},
	{"logs/pods/_upf-0_uid/main/0.log", "", ""},
	{"logs/containers/upf-0.log", "", ""},
	{"logs/messages", "", ""},
	{"logs/kube-apiserver/audit.log", "", ""},
	{"metrics/../containerLogs/vnf-upf/upf-0/main", "", ""},
	{"exec/vnf-upf/upf-0/main", "", ""},
	{"stats/summary", "", ""},
	{"", "", ""},
}
