package exposure

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	sigsyaml "sigs.k8s.io/yaml"
)

// parseKubeletConfig reads a KubeletConfiguration (kubelet.config.k8s.io/v1beta1) and the lines of its fields.
func parseKubeletConfig(file string, data []byte, root *yaml.Node) (*Source, error) {
	if av := scalarAt(root, "apiVersion"); av != kubeletv1beta1.SchemeGroupVersion.String() {
		return nil, &ParseError{File: file, Line: root.Line, Reason: fmt.Sprintf("KubeletConfiguration of apiVersion %q: only %s is known", av, kubeletv1beta1.SchemeGroupVersion)}
	}
	var kc kubeletv1beta1.KubeletConfiguration
	if err := sigsyaml.Unmarshal(data, &kc); err != nil {
		return nil, &ParseError{File: file, Line: root.Line, Reason: "not a valid KubeletConfiguration", Err: err}
	}
	lines := map[string]int{}
	recordLines(root, "", lines, 0)
	return &Source{Component: Kubelet, File: file, Format: FormatKubeletConfig, Kubelet: &kc, fieldLines: lines}, nil
}

// recordLines maps the dotted path of every mapping key to its line. depth bounds recursion on hostile input.
func recordLines(n *yaml.Node, prefix string, lines map[string]int, depth int) {
	if n == nil || n.Kind != yaml.MappingNode || depth > 32 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		path := n.Content[i].Value
		if prefix != "" {
			path = prefix + "." + path
		}
		if _, seen := lines[path]; !seen {
			lines[path] = n.Content[i].Line
		}
		recordLines(n.Content[i+1], path, lines, depth+1)
	}
}

// daemonJSONKeys are keys of /etc/docker/daemon.json that no other judged file has.
var daemonJSONKeys = []string{"hosts", "tlsverify", "tlscacert", "data-root", "storage-driver", "log-driver", "exec-opts", "insecure-registries", "registry-mirrors", "live-restore"}

func isDaemonJSON(file string, root *yaml.Node) bool {
	if filepath.Base(file) == "daemon.json" {
		return true
	}
	for _, k := range daemonJSONKeys {
		if mapValue(root, k) != nil {
			return true
		}
	}
	return false
}

// parseDaemonJSON translates daemon.json to dockerd's flags: "hosts" to --host, the tls keys to their flags.
func parseDaemonJSON(file string, data []byte, root *yaml.Node) (*Source, error) {
	var flags Flags
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "hosts":
			if val.Kind != yaml.SequenceNode {
				return nil, &ParseError{File: file, Line: val.Line, Reason: `"hosts" must be a list of addresses`}
			}
			for _, h := range val.Content {
				if h.Kind != yaml.ScalarNode {
					return nil, &ParseError{File: file, Line: h.Line, Reason: `"hosts" must be a list of strings`}
				}
				flags = append(flags, Flag{Name: "host", Value: h.Value, HasValue: true, Line: h.Line})
			}
		case "tls", "tlsverify", "tlscacert", "tlscert", "tlskey":
			if val.Kind != yaml.ScalarNode {
				return nil, &ParseError{File: file, Line: val.Line, Reason: fmt.Sprintf("%q must be a scalar", key.Value)}
			}
			flags = append(flags, Flag{Name: key.Value, Value: val.Value, HasValue: true, Line: key.Line})
		}
	}
	return &Source{Component: Dockerd, File: file, Format: FormatDaemonJSON, Flags: flags}, nil
}

// etcdConfigKeys are keys of an etcd --config-file.
var etcdConfigKeys = []string{"listen-client-urls", "client-transport-security", "peer-transport-security", "initial-cluster", "advertise-client-urls", "listen-peer-urls"}

func isEtcdConfig(root *yaml.Node) bool {
	for _, k := range etcdConfigKeys {
		if mapValue(root, k) != nil {
			return true
		}
	}
	return false
}

// parseEtcdConfig translates an etcd configuration file to etcd's flags: top-level scalars keep their names,
// client-transport-security.X becomes X and peer-transport-security.X becomes peer-X (as the flags are named).
func parseEtcdConfig(file string, root *yaml.Node) (*Source, error) {
	var flags Flags
	add := func(name string, val *yaml.Node) {
		if val.Kind == yaml.ScalarNode {
			flags = append(flags, Flag{Name: name, Value: val.Value, HasValue: true, Line: val.Line})
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "client-transport-security", "peer-transport-security":
			if val.Kind != yaml.MappingNode {
				if val.Tag == "!!null" {
					continue
				}
				return nil, &ParseError{File: file, Line: val.Line, Reason: fmt.Sprintf("%q must be a mapping", key.Value)}
			}
			prefix := ""
			if strings.HasPrefix(key.Value, "peer-") {
				prefix = "peer-"
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				add(prefix+val.Content[j].Value, val.Content[j+1])
			}
		default:
			add(key.Value, val)
		}
	}
	return &Source{Component: Etcd, File: file, Format: FormatEtcdConfig, Flags: flags}, nil
}
