package danger

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// takeoverCapabilities hand the node (or every other container on it) to the container: no VNF profile can allow
// them. Each says why, in the words of the finding.
var takeoverCapabilities = map[string]string{
	"ALL":             "every capability, the container is as powerful as root on the node",
	"SYS_ADMIN":       "mount, cgroup release_agent and namespace escapes to the node",
	"SYS_MODULE":      "loads kernel modules into the node's kernel",
	"SYS_PTRACE":      "traces and injects code into other processes (the node's with hostPID)",
	"SYS_RAWIO":       "raw access to the node's devices and memory",
	"SYS_BOOT":        "reboots the node or loads a new kernel (kexec_load)",
	"BPF":             "loads eBPF programs into the node's kernel",
	"PERFMON":         "reads kernel and other processes' memory through perf and eBPF",
	"DAC_READ_SEARCH": "opens any file of the node by handle (open_by_handle_at, the Shocker escape)",
	"MAC_ADMIN":       "changes the node's AppArmor or SELinux policy",
	"MAC_OVERRIDE":    "overrides the node's mandatory access control",
}

// profileCapabilities are dangerous unless the VNF product's profile allows them (config profiles[].allowCapabilities,
// the same allowance the pod-security check applies): a UPF reconfigures its interfaces and routes with NET_ADMIN,
// a random pod that does it reroutes or sniffs the node's traffic.
var profileCapabilities = map[string]string{
	"NET_ADMIN": "reconfigures interfaces, routes and firewall rules (the node's with hostNetwork)",
	"SYS_TIME":  "sets the node's clock (certificates and token expiry follow it)",
}

// NormalizeCapability is a capability name as the container runtime reads it: upper case, without "CAP_"
// (containerd and CRI-O add the prefix and upper-case the name, so "cap_sys_admin" and "sys_admin" are SYS_ADMIN).
func NormalizeCapability(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	return strings.TrimPrefix(n, "CAP_")
}

// Capability reports whether adding capability name is dangerous for a container whose VNF profile allows the
// capabilities in allowed (nil: no profile), and why. Names are compared normalised (NormalizeCapability).
func Capability(name string, allowed []string) (bool, string) {
	n := NormalizeCapability(name)
	if why, ok := takeoverCapabilities[n]; ok {
		return true, why
	}
	why, ok := profileCapabilities[n]
	if !ok {
		return false, ""
	}
	for _, a := range allowed {
		if NormalizeCapability(a) == n {
			return false, ""
		}
	}
	return true, why + "; no VNF profile allows it here"
}

// Container is what the capability and root judgements read of one container.
type Container struct {
	Name string
	// List is the pod spec list the container is in (containers, initContainers, ephemeralContainers) and Index
	// its position, for field paths.
	List  string
	Index int
	// Add is securityContext.capabilities.add, as written.
	Add          []string
	RunAsUser    *int64
	RunAsNonRoot *bool
}

// Pod is the part of a pod spec the capability and root judgements read. PodOf and PodOfMap build it from the
// typed spec (admission, posture) and from an audit event's JSON (detection), so that the judgement itself is
// written once.
type Pod struct {
	RunAsUser    *int64
	RunAsNonRoot *bool
	Containers   []Container
}

// PodOf reads a typed pod spec.
func PodOf(spec *corev1.PodSpec) Pod {
	var p Pod
	if spec == nil {
		return p
	}
	if sc := spec.SecurityContext; sc != nil {
		p.RunAsUser, p.RunAsNonRoot = sc.RunAsUser, sc.RunAsNonRoot
	}
	add := func(list string, i int, name string, sc *corev1.SecurityContext) {
		c := Container{Name: name, List: list, Index: i}
		if sc != nil {
			c.RunAsUser, c.RunAsNonRoot = sc.RunAsUser, sc.RunAsNonRoot
			if sc.Capabilities != nil {
				for _, a := range sc.Capabilities.Add {
					c.Add = append(c.Add, string(a))
				}
			}
		}
		p.Containers = append(p.Containers, c)
	}
	for i := range spec.InitContainers {
		add("initContainers", i, spec.InitContainers[i].Name, spec.InitContainers[i].SecurityContext)
	}
	for i := range spec.Containers {
		add("containers", i, spec.Containers[i].Name, spec.Containers[i].SecurityContext)
	}
	for i := range spec.EphemeralContainers {
		add("ephemeralContainers", i, spec.EphemeralContainers[i].Name, spec.EphemeralContainers[i].SecurityContext)
	}
	return p
}

// PodOfMap reads a pod spec decoded from JSON (an audit event's object). Whatever is not of the expected type is
// ignored, as the API server would have refused it.
func PodOfMap(spec map[string]any) Pod {
	var p Pod
	if sc, ok := spec["securityContext"].(map[string]any); ok {
		p.RunAsUser, p.RunAsNonRoot = int64Of(sc["runAsUser"]), boolOf(sc["runAsNonRoot"])
	}
	for _, list := range containerLists {
		items, _ := spec[list].([]any)
		if p.Containers == nil && len(items) > 0 {
			p.Containers = make([]Container, 0, len(items))
		}
		for i, it := range items {
			m, _ := it.(map[string]any)
			if m == nil {
				continue
			}
			c := Container{List: list, Index: i}
			c.Name, _ = m["name"].(string)
			if sc, ok := m["securityContext"].(map[string]any); ok {
				c.RunAsUser, c.RunAsNonRoot = int64Of(sc["runAsUser"]), boolOf(sc["runAsNonRoot"])
				if caps, ok := sc["capabilities"].(map[string]any); ok {
					adds, _ := caps["add"].([]any)
					for _, a := range adds {
						if s, ok := a.(string); ok {
							c.Add = append(c.Add, s)
						}
					}
				}
			}
			p.Containers = append(p.Containers, c)
		}
	}
	return p
}

var containerLists = [...]string{"initContainers", "containers", "ephemeralContainers"}

func int64Of(v any) *int64 {
	var n int64
	switch x := v.(type) {
	case float64:
		if x != float64(int64(x)) {
			return nil
		}
		n = int64(x)
	case int64:
		n = x
	case int:
		n = int64(x)
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return nil
		}
		n = i
	default:
		return nil
	}
	return &n
}

func boolOf(v any) *bool {
	b, ok := v.(bool)
	if !ok {
		return nil
	}
	return &b
}

// CapabilityHit is one dangerous capability added by one container.
type CapabilityHit struct {
	Container Container
	// Capability is the name as written in the spec; Reason says what it gives.
	Capability string
	Reason     string
}

// String renders the hit for findings: "SYS_ADMIN in container c (mount, cgroup ... )".
func (h CapabilityHit) String() string {
	return h.Capability + " in container " + h.Container.Name + " (" + h.Reason + ")"
}

// DangerousCapabilities lists the dangerous capabilities the pod's containers add (init and ephemeral containers
// included), given the capabilities the pod's VNF profile allows (nil: no profile). Dropped capabilities do not
// matter: drop [ALL] then add [SYS_ADMIN] still holds SYS_ADMIN.
func DangerousCapabilities(p Pod, allowed []string) []CapabilityHit {
	var out []CapabilityHit
	for _, c := range p.Containers {
		for _, a := range c.Add {
			if bad, why := Capability(a, allowed); bad {
				out = append(out, CapabilityHit{Container: c, Capability: a, Reason: why})
			}
		}
	}
	return out
}

// RunsAsRoot lists the containers that run as user 0 by the spec: runAsUser 0 on the container, or on the pod and
// not overridden by the container (the container's settings win, as in the kubelet). A container whose effective
// runAsNonRoot is true does not run at all with user 0 (the kubelet refuses to start it), so it is not listed;
// neither are containers that set no user (the image's user decides, which the spec cannot tell).
func RunsAsRoot(p Pod) []Container {
	var out []Container
	for _, c := range p.Containers {
		uid, nonRoot := p.RunAsUser, p.RunAsNonRoot
		if c.RunAsUser != nil {
			uid = c.RunAsUser
		}
		if c.RunAsNonRoot != nil {
			nonRoot = c.RunAsNonRoot
		}
		if uid != nil && *uid == 0 && (nonRoot == nil || !*nonRoot) {
			out = append(out, c)
		}
	}
	return out
}
