package runtimeevent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Kinds of Event.
const (
	// KindContainer: a container as the node has it — seen created or started, or in the inventory the agent
	// takes at start and at every resync.
	KindContainer = "container"
	// KindExec: a process started in a running container beside its main process (containerd's
	// /tasks/exec-started): kubectl exec through the API server, a probe or hook of the kubelet, a direct POST to
	// the kubelet's /run or /exec, or any containerd client.
	KindExec = "exec"
	// KindKubelet: what the node's own kubelet endpoints answer without credentials (the exposure checks of
	// `vnfguard scan --probe`, run from the node against its own kubelet).
	KindKubelet = "kubelet"
)

// Origins of a container: who made it, as far as the node can prove.
const (
	// OriginCRI: the CRI plugin lists it — the kubelet made it for a pod.
	OriginCRI = "cri"
	// OriginContainerd: in the kubelet's containerd namespace, but the CRI plugin does not list it (ctr -n k8s.io
	// run, or another containerd client writing there, whatever pod its labels claim).
	OriginContainerd = "containerd"
	// OriginEngine: in another containerd namespace (moby: a Docker Engine; default: ctr) the operator has not
	// allowed.
	OriginEngine = "engine"
	// OriginAllowed: in a containerd namespace the operator allowed for its own tooling.
	OriginAllowed = "allowed"
	// OriginUnknown: in the kubelet's namespace, but the CRI plugin's list could not be read to tell.
	OriginUnknown = "unknown"
)

// Event is one report of a node agent.
type Event struct {
	// ID is unique per fact: the same container or exec reported again (after a restart of the agent, or a
	// batch sent twice) has the same ID, so the intake drops the copy.
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	Node string    `json:"node"`
	// Observed is how the agent learnt it: "event" (containerd reported it) or "inventory" (found in the
	// runtime's state at the agent's start or a resync).
	Observed  string    `json:"observed"`
	Container Container `json:"container"`
	Exec      *Exec     `json:"exec,omitempty"`
	// Exposures are the kubelet's exposure findings, for kind kubelet (empty: nothing answers without credentials).
	Exposures []Exposure `json:"exposures,omitempty"`
}

// Exposure is one finding of the exposure probe (package posture/exposure) against the node's kubelet.
type Exposure struct {
	Target   string `json:"target"`
	Service  string `json:"service"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Container is the container an Event is about.
type Container struct {
	// Namespace is the containerd namespace (k8s.io, moby, default ...); ID the container's ID in it.
	Namespace string `json:"namespace"`
	ID        string `json:"id"`
	Image     string `json:"image"`
	// ImageDigest is the digest of the image containerd resolved Image to ("" when unknown).
	ImageDigest string `json:"imageDigest,omitempty"`
	Origin      string `json:"origin"`
	// Why says, for any origin but cri, why the container counts as not made by the kubelet.
	Why     string    `json:"why,omitempty"`
	Running bool      `json:"running"`
	Pid     uint32    `json:"pid,omitempty"`
	Created time.Time `json:"created"`
	// Pod is the pod the container belongs to: set only for origin cri, where the CRI plugin vouches for it.
	Pod *Pod `json:"pod,omitempty"`
	// ClaimedPod is the pod the container's labels claim when the CRI plugin does not vouch for them.
	ClaimedPod string `json:"claimedPod,omitempty"`
}

// Pod names a pod and the container's name in it.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	Container string `json:"container"`
}

// Exec is the process of an exec.
type Exec struct {
	ID  string `json:"id"`
	Pid uint32 `json:"pid"`
	// Command is the process's command line, read from the node's /proc; empty when it could not be read, and
	// then CommandError says why (the process may end a few milliseconds after it started).
	Command      []string `json:"command,omitempty"`
	CommandError string   `json:"commandError,omitempty"`
	// KubeletProbe, for an exec whose command could not be read, is the probe type (Liveness, Readiness,
	// Startup) whose run the kubelet counted for the container when the exec happened and no other exec had
	// accounted for: the kubelet's own account that this exec was its probe.
	KubeletProbe string `json:"kubeletProbe,omitempty"`
	// KubeletProbeLast: the run was the container's last probe, which the kubelet never counts or counts only
	// until it removes the container's probe series as it stops probing it (its pod deleted); one exec per
	// probe type and series is accounted so.
	KubeletProbeLast bool `json:"kubeletProbeLast,omitempty"`
}

// Verb marks an audit envelope that carries an Event.
const Verb = "runtime"

// Validate says what is missing or wrong in an Event, naming the field.
func (e *Event) Validate() error {
	var problems []string
	if e.ID == "" {
		problems = append(problems, "id is empty")
	}
	if e.Kind != KindContainer && e.Kind != KindExec && e.Kind != KindKubelet {
		problems = append(problems, fmt.Sprintf("kind %q is not %q, %q or %q", e.Kind, KindContainer, KindExec, KindKubelet))
	}
	if e.Time.IsZero() {
		problems = append(problems, "time is missing")
	}
	if e.Node == "" {
		problems = append(problems, "node is empty")
	}
	if e.Kind == KindKubelet {
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
	if e.Container.Namespace == "" || e.Container.ID == "" {
		problems = append(problems, "container.namespace and container.id are required")
	}
	switch e.Container.Origin {
	case OriginCRI, OriginContainerd, OriginEngine, OriginAllowed, OriginUnknown:
	default:
		problems = append(problems, fmt.Sprintf("container.origin %q is not one of cri, containerd, engine, allowed, unknown", e.Container.Origin))
	}
	if e.Container.Origin == OriginCRI && (e.Container.Pod == nil || e.Container.Pod.Namespace == "" || e.Container.Pod.Name == "") {
		problems = append(problems, "container.pod (namespace and name) is required for origin cri")
	}
	if e.Kind == KindExec && (e.Exec == nil || e.Exec.ID == "") {
		problems = append(problems, "exec.id is required for kind exec")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Envelope wraps an Event in an audit event. user is who sent it (the agent's authenticated identity), source
// its address.
func Envelope(e *Event, user string, source string) (auditv1.Event, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return auditv1.Event{}, fmt.Errorf("encode runtime event %s: %w", e.ID, err)
	}
	sum := sha256.Sum256([]byte(e.ID))
	ts := metav1.NewMicroTime(e.Time)
	env := auditv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
		Level:                    "RequestResponse",
		AuditID:                  types.UID(hex.EncodeToString(sum[:16])),
		Stage:                    auditv1.StageResponseComplete,
		RequestURI:               "runtime://" + e.Node + "/" + e.Kind + "/" + e.Container.Namespace + "/" + e.Container.ID,
		Verb:                     Verb,
		User:                     authnUser(user),
		UserAgent:                "vnfguard-node",
		RequestObject:            &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON},
		RequestReceivedTimestamp: ts,
		StageTimestamp:           ts,
		ObjectRef:                &auditv1.ObjectReference{Resource: "nodes", Name: e.Node, APIVersion: "v1"},
	}
	if source != "" {
		env.SourceIPs = []string{source}
	}
	if p := e.Container.Pod; e.Container.Origin == OriginCRI && p != nil {
		env.ObjectRef = &auditv1.ObjectReference{Resource: "pods", Namespace: p.Namespace, Name: p.Name, UID: types.UID(p.UID), APIVersion: "v1"}
	}
	return env, nil
}

// FromEnvelope returns the Event an envelope carries; ok is false for any other audit event.
func FromEnvelope(ev *auditv1.Event) (*Event, bool, error) {
	if ev == nil || ev.Verb != Verb || ev.RequestObject == nil {
		return nil, false, nil
	}
	var e Event
	if err := json.Unmarshal(ev.RequestObject.Raw, &e); err != nil {
		return nil, true, fmt.Errorf("runtime event in audit envelope %s: %w", ev.AuditID, err)
	}
	return &e, true, nil
}

// List is the body a node agent POSTs to the intake's /runtime endpoint.
type List struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Items      []Event `json:"items"`
}

// ListAPIVersion and ListKind identify a List.
const (
	ListAPIVersion = "vnfguard.io/v1alpha1"
	ListKind       = "RuntimeEventList"
)

// DecodeList decodes and validates a List; the error names the item and the field at fault.
func DecodeList(data []byte) (*List, error) {
	var l List
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("not a %s: %w", ListKind, err)
	}
	if l.APIVersion != ListAPIVersion || l.Kind != ListKind {
		return nil, fmt.Errorf("apiVersion %q kind %q: want %s %s", l.APIVersion, l.Kind, ListAPIVersion, ListKind)
	}
	if len(l.Items) == 0 {
		return nil, fmt.Errorf("%s has no items", ListKind)
	}
	for i := range l.Items {
		if err := l.Items[i].Validate(); err != nil {
			return nil, fmt.Errorf("items[%d] (id %q): %w", i, l.Items[i].ID, err)
		}
	}
	return &l, nil
}
