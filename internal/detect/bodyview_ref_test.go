package detect

import (
	"strings"

	"github.com/vnfguard/vnfguard/internal/danger"
)

// The helpers' reading of a full decode (decodeObject's maps), as the engine read bodies before it read them
// through bodyView: the definition the view is held to (TestBodyViewReadsAsFullDecode, FuzzDecodeObject).

// mapHostTakeover lists what in a pod spec hands the node to the pod: host namespaces, privileged containers and
// host mounts that danger.HostPath judges a takeover (the definition admission and posture use too). Capabilities
// are dangerousCapabilities()'s (danger.DangerousCapabilities).
func mapHostTakeover(spec map[string]any) []string {
	out := []string{}
	if spec["hostPID"] == true {
		out = append(out, "hostPID")
	}
	if spec["hostIPC"] == true {
		out = append(out, "hostIPC")
	}
	if spec["hostNetwork"] == true {
		out = append(out, "hostNetwork")
	}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		vm, _ := v.(map[string]any)
		hp := dig(vm, "hostPath")
		if hp == nil {
			continue
		}
		p, _ := hp["path"].(string)
		if hit, why := danger.HostPath(p); hit {
			name, _ := vm["name"].(string)
			out = append(out, "hostPath "+p+" ("+why+") as volume "+name)
		}
	}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		ctrs, _ := spec[list].([]any)
		for _, c := range ctrs {
			ctr, _ := c.(map[string]any)
			sc := dig(ctr, "securityContext")
			if sc == nil {
				continue
			}
			name, _ := ctr["name"].(string)
			if sc["privileged"] == true {
				out = append(out, "privileged container "+name)
			}
		}
	}
	return out
}

// mapPodCommands lists the command lines of every container of a pod spec: command and args joined, each env value,
// and each exec hook or probe command joined.
func mapPodCommands(spec map[string]any) []string {
	out := []string{}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		ctrs, _ := spec[list].([]any)
		for _, c := range ctrs {
			ctr, _ := c.(map[string]any)
			if ctr == nil {
				continue
			}
			if line := joinStrings(ctr["command"], ctr["args"]); line != "" {
				out = append(out, line)
			}
			envs, _ := ctr["env"].([]any)
			for _, e := range envs {
				if em, ok := e.(map[string]any); ok {
					if v, ok := em["value"].(string); ok && v != "" {
						out = append(out, v)
					}
				}
			}
			for _, hook := range [][]string{{"lifecycle", "postStart", "exec"}, {"lifecycle", "preStop", "exec"},
				{"livenessProbe", "exec"}, {"readinessProbe", "exec"}, {"startupProbe", "exec"}} {
				if h := dig(ctr, hook...); h != nil {
					if line := joinStrings(h["command"]); line != "" {
						out = append(out, line)
					}
				}
			}
		}
	}
	return out
}

func joinStrings(lists ...any) string {
	var parts []string
	for _, l := range lists {
		items, _ := l.([]any)
		for _, it := range items {
			if s, ok := it.(string); ok {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, " ")
}
