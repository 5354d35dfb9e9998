package exposure

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	sigsyaml "sigs.k8s.io/yaml"
)

// The components the checks know.
const (
	APIServer         = "kube-apiserver"
	Kubelet           = "kubelet"
	Etcd              = "etcd"
	Dockerd           = "dockerd"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
)

// The formats Load recognises.
const (
	FormatStaticPod     = "static-pod"
	FormatFlags         = "flags"
	FormatKubeletConfig = "kubelet-config"
	FormatEtcdConfig    = "etcd-config"
	FormatDaemonJSON    = "daemon.json"
)

// maxFileSize bounds what Load reads: configuration files are small, and a huge file is a mistake.
const maxFileSize = 4 << 20

// Config is what Load read: one Source per file that configures a component.
type Config struct {
	Sources []*Source
	// Skipped lists the files Load recognised but that configure no component it judges (a static pod of
	// another workload), so that the operator sees they were read.
	Skipped []Skipped
}

// Skipped is a file Load read and set aside.
type Skipped struct {
	File   string
	Reason string
}

// Source is one file's configuration of one component.
type Source struct {
	Component string // APIServer, Kubelet, Etcd, Dockerd, ...
	File      string
	Format    string // FormatStaticPod, FormatFlags, ...
	// Flags are the command-line flags, in order (static pod manifests, flags files; etcd configuration files and
	// daemon.json are translated to their flag names so that one check reads both).
	Flags Flags
	// Kubelet is the parsed KubeletConfiguration (FormatKubeletConfig only); fieldLines gives the line of a
	// field by its dotted JSON path ("authentication.anonymous.enabled").
	Kubelet    *kubeletv1beta1.KubeletConfiguration
	fieldLines map[string]int
}

// fieldLine is the line of a dotted field path, 0 when unknown.
func (s *Source) fieldLine(path string) int { return s.fieldLines[path] }

// ParseError says which file (and line, when known) could not be read and why.
type ParseError struct {
	File   string
	Line   int
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", where, e.Reason, e.Err)
	}
	return where + ": " + e.Reason
}

func (e *ParseError) Unwrap() error { return e.Err }

// Load reads files and directories (every regular, non-hidden file below a directory) and detects what each file
// is: a static pod manifest (of which component), a KubeletConfiguration, a Docker daemon.json, an etcd
// configuration file or a file of flags. It reads all it can: the Config holds every good file, and the error
// joins one *ParseError per file it could not read (nil when all were read).
func Load(paths []string) (*Config, error) {
	cfg := &Config{}
	var errs []error
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &ParseError{File: p, Reason: "cannot read", Err: err})
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &ParseError{File: p, Reason: "cannot list directory", Err: err})
		}
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		src, skipped, err := Parse(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if skipped != "" {
			cfg.Skipped = append(cfg.Skipped, Skipped{File: f, Reason: skipped})
			continue
		}
		cfg.Sources = append(cfg.Sources, src)
	}
	return cfg, errors.Join(errs...)
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &ParseError{File: file, Reason: "cannot read", Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &ParseError{File: file, Reason: "cannot read", Err: err}
	}
	if len(data) > maxFileSize {
		return nil, &ParseError{File: file, Reason: fmt.Sprintf("larger than %d bytes: not a configuration file", maxFileSize)}
	}
	return data, nil
}

// Parse detects what one file's content is and reads it. It returns the Source, or a reason the file was set
// aside (a static pod of no judged component), or a *ParseError. It never panics on any input.
func Parse(file string, data []byte) (src *Source, skipped string, err error) {
	if looksLikeFlags(data) {
		src, err := parseFlagsFile(file, data)
		return src, "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, "", &ParseError{File: file, Line: yamlErrorLine(err), Reason: "not YAML, JSON nor a flags file", Err: err}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, "", &ParseError{File: file, Line: root.Line, Reason: "unknown format: neither a mapping (manifest, configuration) nor a list of --flags"}
	}
	kind := scalarAt(root, "kind")
	switch {
	case kind == "Pod":
		return parseStaticPod(file, data, root)
	case kind == "KubeletConfiguration":
		src, err := parseKubeletConfig(file, data, root)
		return src, "", err
	case kind != "":
		return nil, "", &ParseError{File: file, Line: root.Line, Reason: fmt.Sprintf("unknown format: kind %q is neither a static Pod nor a KubeletConfiguration", kind)}
	case isDaemonJSON(file, root):
		src, err := parseDaemonJSON(file, data, root)
		return src, "", err
	case isEtcdConfig(root):
		src, err := parseEtcdConfig(file, root)
		return src, "", err
	}
	return nil, "", &ParseError{File: file, Line: root.Line, Reason: "unknown format: no kind, no daemon.json or etcd configuration keys"}
}

// yamlErrorLine digs the line out of a yaml.v3 error ("yaml: line 3: ..."), 0 when there is none.
func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	var line int
	if i := strings.Index(msg, "line "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "line %d", &line)
	}
	return line
}

// mapValue returns the value node under key in a mapping node.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarAt(m *yaml.Node, key string) string {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// parseStaticPod reads the flags of the control-plane container of a static pod manifest.
func parseStaticPod(file string, data []byte, root *yaml.Node) (*Source, string, error) {
	var pod corev1.Pod
	if err := sigsyaml.Unmarshal(data, &pod); err != nil {
		return nil, "", &ParseError{File: file, Line: root.Line, Reason: "not a valid Pod", Err: err}
	}
	containers := mapValue(mapValue(root, "spec"), "containers")
	for i, c := range pod.Spec.Containers {
		component := componentOf(c.Name)
		if len(c.Command) > 0 && component == "" {
			component = componentOf(filepath.Base(c.Command[0]))
		}
		if component == "" {
			continue
		}
		var cnode *yaml.Node
		if containers != nil && containers.Kind == yaml.SequenceNode && i < len(containers.Content) {
			cnode = containers.Content[i]
		}
		var words []word
		words = append(words, sequenceWords(mapValue(cnode, "command"), c.Command)...)
		words = append(words, sequenceWords(mapValue(cnode, "args"), c.Args)...)
		// The command starts with the binary's name; the flags follow.
		if len(words) > 0 && !strings.HasPrefix(words[0].text, "-") {
			words = words[1:]
		}
		return &Source{Component: component, File: file, Format: FormatStaticPod, Flags: parseWords(words)}, "", nil
	}
	return nil, fmt.Sprintf("static pod %s/%s runs none of %s, %s, %s, %s", pod.Namespace, pod.Name, APIServer, Etcd, ControllerManager, Scheduler), nil
}

// sequenceWords pairs the strings of a command or args list with their lines.
func sequenceWords(seq *yaml.Node, values []string) []word {
	out := make([]word, len(values))
	for i, v := range values {
		out[i].text = v
		if seq != nil && seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
			out[i].line = seq.Content[i].Line
		}
	}
	return out
}

// componentOf names the component a binary or container name is, "" for others.
func componentOf(name string) string {
	switch name {
	case APIServer, Kubelet, Etcd, Dockerd, ControllerManager, Scheduler:
		return name
	case "docker":
		return Dockerd
	}
	return ""
}
