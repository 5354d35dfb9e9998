package detect

import (
	"net/url"
	"reflect"
	"strings"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
)

var mapType = reflect.TypeOf(map[string]any{})

// eventMap renders the event as CEL sees it: the JSON field names of audit.k8s.io/v1 Event, built field by field
// rather than through a JSON round trip (that would cost more than decoding the event did). objectRef, user,
// responseStatus and annotations are always present so that rules need no has() guards on them; the request and
// response objects are separate, lazily decoded variables.
func eventMap(ev *auditv1.Event) map[string]any {
	m := map[string]any{
		"kind":       "Event",
		"apiVersion": "audit.k8s.io/v1",
		"level":      string(ev.Level),
		"auditID":    string(ev.AuditID),
		"stage":      string(ev.Stage),
		"requestURI": ev.RequestURI,
		"verb":       ev.Verb,
		"user":       userMap(ev.User.Username, ev.User.UID, ev.User.Groups),
		"sourceIPs":  stringsOrEmpty(ev.SourceIPs),
		"userAgent":  ev.UserAgent,
	}
	if ev.ImpersonatedUser != nil {
		m["impersonatedUser"] = userMap(ev.ImpersonatedUser.Username, ev.ImpersonatedUser.UID, ev.ImpersonatedUser.Groups)
	}
	ref := map[string]any{"resource": "", "namespace": "", "name": "", "uid": "", "apiGroup": "", "apiVersion": "", "resourceVersion": "", "subresource": ""}
	if r := ev.ObjectRef; r != nil {
		ref["resource"], ref["namespace"], ref["name"], ref["uid"] = r.Resource, r.Namespace, r.Name, string(r.UID)
		ref["apiGroup"], ref["apiVersion"], ref["resourceVersion"], ref["subresource"] = r.APIGroup, r.APIVersion, r.ResourceVersion, r.Subresource
	}
	m["objectRef"] = ref
	status := map[string]any{"code": int64(0), "status": "", "reason": "", "message": ""}
	if s := ev.ResponseStatus; s != nil {
		status["code"], status["status"], status["reason"], status["message"] = int64(s.Code), s.Status, string(s.Reason), s.Message
	}
	m["responseStatus"] = status
	ann := ev.Annotations
	if ann == nil {
		ann = map[string]string{}
	}
	m["annotations"] = ann
	return m
}

func userMap(name, uid string, groups []string) map[string]any {
	return map[string]any{"username": name, "uid": uid, "groups": stringsOrEmpty(groups)}
}

func stringsOrEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// kindOf maps an audit objectRef resource to the kind vnf.Objects serves.
var kindOf = map[string]string{
	"pods": "Pod", "secrets": "Secret", "configmaps": "ConfigMap", "persistentvolumeclaims": "PersistentVolumeClaim",
	"deployments": "Deployment", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
	"jobs": "Job", "cronjobs": "CronJob", "services": "Service", "replicationcontrollers": "ReplicationController",
}

// podAccessSubresources are the ways into a running container.
var podAccessSubresources = map[string]bool{"exec": true, "attach": true, "portforward": true, "ephemeralcontainers": true}

// isPodAccess reports exec, attach, portforward or ephemeral containers on a pod — with verb get (WebSocket,
// kubectl ≥ 1.30) or create (SPDY), patch/update for ephemeral containers — and any nodes/proxy request, which
// reaches the kubelet's /exec and /run.
func isPodAccess(ev *auditv1.Event) bool {
	r := ev.ObjectRef
	if r == nil {
		return false
	}
	if r.Resource == "nodes" && r.Subresource == "proxy" {
		return true
	}
	if r.Resource != "pods" || !podAccessSubresources[r.Subresource] {
		return false
	}
	switch ev.Verb {
	case "get", "create":
		return true
	case "update", "patch":
		return r.Subresource == "ephemeralcontainers"
	}
	return false
}

// isKubeletSession reports a nodes/proxy request whose path opens a session into a pod through the kubelet's API
// (danger.KubeletSessionOf: admission's check kubelet-session refuses the same paths). The path is read from the
// request URI as the API server reads it: after .../proxy/, before the query, escapes decoded ("%72un" is run).
func isKubeletSession(ev *auditv1.Event) bool {
	p, ok := kubeletPath(ev)
	if !ok {
		return false
	}
	_, ok = danger.KubeletSessionOf(p)
	return ok
}

// isKubeletPodLogs reports a nodes/proxy request whose path reads one pod's logs through the kubelet's API
// (danger.KubeletPodLogsOf: containerLogs/NS/POD/..., or the node's log files of the pod under logs/pods/ and
// logs/containers/), the data pods/log serves, by a path pods/log's rules never see.
func isKubeletPodLogs(ev *auditv1.Event) bool {
	p, ok := kubeletPath(ev)
	if !ok {
		return false
	}
	_, ok = danger.KubeletPodLogsOf(p)
	return ok
}

// kubeletPod is the pod a nodes/proxy request reaches through the kubelet's API, by a session into it or a read of
// its logs: its namespace and name, or ok false (another path, or a session that names no pod: cri, "..").
// Resolution and the namespace helpers judge such a request by that pod, as they judge pods/exec and pods/log.
func kubeletPod(ev *auditv1.Event) (namespace, name string, ok bool) {
	p, ok := kubeletPath(ev)
	if !ok {
		return "", "", false
	}
	if s, ok := danger.KubeletSessionOf(p); ok && s.Namespace != "" && s.Pod != "" {
		return s.Namespace, s.Pod, true
	}
	if l, ok := danger.KubeletPodLogsOf(p); ok {
		return l.Namespace, l.Pod, true
	}
	return "", "", false
}

// kubeletPath is the kubelet path of a nodes/proxy request (nodeProxyPath), or ok false for any other request.
func kubeletPath(ev *auditv1.Event) (string, bool) {
	r := ev.ObjectRef
	if r == nil || r.Resource != "nodes" || r.Subresource != "proxy" {
		return "", false
	}
	return nodeProxyPath(ev.RequestURI), true
}

// nodeProxyPath is the path a .../nodes/NAME/proxy/PATH request URI sends to the kubelet, escapes decoded (left as
// they are when one does not decode: the API server refuses such a URI before it is audited anyway); "" for a URI
// of another shape.
func nodeProxyPath(uri string) string {
	uri, _, _ = strings.Cut(uri, "?")
	_, rest, ok := strings.Cut(uri, "/nodes/")
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, "/") // the node's name
	rest, ok = strings.CutPrefix(rest, "proxy")
	if !ok || rest != "" && rest[0] != '/' {
		return ""
	}
	if p, err := url.PathUnescape(rest); err == nil {
		return p
	}
	return rest
}

// execCommand reads the command= parameters of an exec request URI (pods/exec, or nodes/proxy/exec/...), joined
// by spaces.
func execCommand(uri string) string {
	_, query, ok := strings.Cut(uri, "?")
	if !ok || !strings.Contains(query, "command=") {
		return ""
	}
	// One word is returned as the query holds it, without a copy; more are joined into one buffer.
	var line string
	var joined []byte
	n := 0
	queryValues(query, "command", func(word string) bool {
		switch n++; n {
		case 1:
			line = word
		case 2:
			joined = append(append(append(joined, line...), ' '), word...)
		default:
			joined = append(append(joined, ' '), word...)
		}
		return true
	})
	if n > 1 {
		return string(joined)
	}
	return line
}

// queryParam is the first value of the parameter key in a request URI's query, as url.Parse(uri).Query().Get(key)
// reads it when uri parses.
func queryParam(uri, key string) string {
	uri, _, _ = strings.Cut(uri, "#")
	_, query, ok := strings.Cut(uri, "?")
	if !ok {
		return ""
	}
	value := ""
	queryValues(query, key, func(v string) bool {
		value = v
		return false
	})
	return value
}

// queryValues calls each with the values of the parameter key in a query, in order, as url.ParseQuery reads them
// (a pair holding ';' or a bad escape is skipped, as ParseQuery skips it), until each returns false. It builds no
// map of the other parameters: an exec's URI is read for one of them, once or twice per event.
func queryValues(query, key string, each func(value string) bool) {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != key {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		if !each(v) {
			return
		}
	}
}

// execCommand is the command an exec runs: from the request URI's command= parameters, or, when the URI has none
// (clients that send the options in the body, and audit fixtures recorded that way), from the PodExecOptions in the
// request object. It is read once per event: a rule pack asks for it in several rules, and a guard's exists() over
// a list of paths asks once per path.
func (a *activation) execCommand() string {
	if !a.commandDone {
		a.commandDone = true
		a.command = a.readExecCommand()
	}
	return a.command
}

func (a *activation) readExecCommand() string {
	if cmd := execCommand(a.ev.RequestURI); cmd != "" {
		return cmd
	}
	if a.ev.ObjectRef == nil || a.ev.ObjectRef.Subresource != "exec" || a.ev.RequestObject == nil {
		return ""
	}
	req := a.requestObject()
	if kind, _ := req["kind"].(string); kind != "" && kind != "PodExecOptions" {
		return ""
	}
	parts, _ := req["command"].([]any)
	words := make([]string, 0, len(parts))
	for _, p := range parts {
		if s, ok := p.(string); ok {
			words = append(words, s)
		}
	}
	return strings.Join(words, " ")
}

// podSpecOf finds the pod spec in an object: a Pod's spec, a workload's template, a CronJob's job template.
func podSpecOf(obj map[string]any) map[string]any {
	kind, _ := obj["kind"].(string)
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return map[string]any{}
	}
	var out map[string]any
	switch kind {
	case "Pod":
		out = spec
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController":
		out = dig(spec, "template", "spec")
	case "CronJob":
		out = dig(spec, "jobTemplate", "spec", "template", "spec")
	}
	if out == nil {
		return map[string]any{}
	}
	return out
}

func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, _ := m[k].(map[string]any)
		if next == nil {
			return nil
		}
		m = next
	}
	return m
}

// workloadResources are the resources that carry a pod spec.
var workloadResources = map[string]bool{"pods": true, "deployments": true, "replicasets": true, "statefulsets": true,
	"daemonsets": true, "jobs": true, "cronjobs": true, "replicationcontrollers": true}

// isWorkloadWrite reports a successful create, update or patch of a pod or workload object itself (not a status
// or scale subresource).
func isWorkloadWrite(ev *auditv1.Event) bool {
	// The event's own fields first: most events are reads, told apart without a look into the table.
	if ev.Verb != "create" && ev.Verb != "update" && ev.Verb != "patch" {
		return false
	}
	r := ev.ObjectRef
	if r == nil || r.Subresource != "" || !workloadResources[r.Resource] {
		return false
	}
	return ev.ResponseStatus == nil || ev.ResponseStatus.Code < 400
}

// isSystemComponent reports the control plane's own identities: the API server, controller manager, scheduler,
// kubelets and kube-system service accounts. Their reads and writes are the cluster working, not an attack.
func isSystemComponent(user string) bool {
	switch user {
	case "system:apiserver", "system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy":
		return true
	}
	return strings.HasPrefix(user, "system:node:") || strings.HasPrefix(user, "system:serviceaccount:kube-system:")
}

func stringList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
