package danger

import (
	"path"
	"sort"
	"strings"
)

// sensitiveHostPaths give control of the node: mounting one of them, a path below it, or a directory above it is a
// takeover. "/" is handled on its own (everything is below it).
var sensitiveHostPaths = []string{
	"/proc",
	"/var/lib/kubelet",
	"/etc/kubernetes",
	"/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker",
	"/run/containerd", "/var/run/containerd", "/var/lib/containerd",
	"/run/crio", "/var/run/crio", "/var/lib/containers",
	"/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock",
}

// wholeDirectories give control of the node when mounted whole (a file below them, /etc/localtime, does not).
var wholeDirectories = map[string]string{
	"/etc":  "the host's /etc (crontab, shadow, sudoers: write one and the node is yours)",
	"/root": "root's home on the host (its SSH keys and shell profile)",
}

// HostPath reports whether mounting host path p hands the node to the pod, and why ("is the node's root
// filesystem", "is inside the kubelet's state ...", "contains the container runtime socket ..."). The path is
// cleaned first, so "/var/lib/kubelet/../kubelet/pods", "//proc/" and "var/lib/docker" are judged as what they name.
func HostPath(p string) (bool, string) {
	if p == "" {
		return false, ""
	}
	clean := path.Clean("/" + p)
	if clean == "/" {
		return true, "is the node's root filesystem"
	}
	if why, ok := wholeDirectories[clean]; ok {
		return true, "is " + why
	}
	for _, s := range sensitiveHostPaths {
		switch {
		case clean == s:
			return true, "is " + describe(s)
		case strings.HasPrefix(clean, s+"/"):
			return true, "is inside " + describe(s)
		case strings.HasPrefix(s, clean+"/"):
			return true, "contains " + describe(s)
		}
	}
	return false, ""
}

func describe(p string) string {
	switch {
	case strings.HasSuffix(p, ".sock"):
		return "the container runtime socket " + p
	case p == "/proc":
		return "the host's /proc"
	case p == "/var/lib/kubelet":
		return "the kubelet's state (pod volumes, credentials) /var/lib/kubelet"
	case p == "/etc/kubernetes":
		return "the node's Kubernetes credentials /etc/kubernetes"
	}
	return "the container runtime's state " + p
}

// HostPathCase is one row of the shared table: a host path and whether mounting it is a takeover.
type HostPathCase struct {
	Path     string
	Takeover bool
}

// HostPathCases is the table admission, detection and posture must all agree on.
var HostPathCases = []HostPathCase{
	{"/", true},
	{"//", true},
	{"/proc", true},
	{"/proc/sys/kernel", true},
	{"/var/lib/kubelet", true},
	{"/var/lib/kubelet/pods", true},
	{"/var/lib/kubelet/../kubelet/pki", true},
	{"/var/lib", true}, // contains the kubelet's and the runtimes' state
	{"/var", true},
	{"/etc/kubernetes", true},
	{"/etc/kubernetes/pki/", true},
	{"/var/run/docker.sock", true},
	{"/run/docker.sock", true},
	{"/var/lib/docker", true},
	{"/run/containerd/containerd.sock", true},
	{"/var/run/containerd", true},
	{"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", true},
	{"/run/crio/crio.sock", true},
	{"/var/lib/containers/storage", true},
	{"/run/cri-dockerd.sock", true},
	{"/run", true}, // contains the runtime sockets
	{"/var/log/pods", false},
	{"/var/log", false},
	{"/data/upf", false},
	{"/dev/hugepages", false},
	{"/etc/localtime", false},
	{"/etc", true},
	{"/etc/", true},
	{"/root", true},
	{"/root/.ssh", false}, // a file or directory below is not the whole directory (the pod-security check still governs hostPath)
	{"/sys/fs/cgroup", false},
	{"/var/lib/kubelet-plugins", false}, // a sibling, not the kubelet's state
	{"/run/containerd-other", false},
}

// SensitiveHostPaths returns the paths HostPath judges a takeover to mount, to be inside of, or to contain ("/"
// aside, which is always one), for an engine that must judge with the same list: the API server's
// ValidatingAdmissionPolicies (internal/apipolicy) render it into CEL.
func SensitiveHostPaths() []string { return append([]string(nil), sensitiveHostPaths...) }

// WholeHostDirectories returns the directories HostPath judges a takeover only when mounted whole, sorted.
func WholeHostDirectories() []string {
	out := make([]string, 0, len(wholeDirectories))
	for d := range wholeDirectories {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
