package exposure

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
)

// Flag is one command-line flag as written: "--anonymous-auth=false" is {anonymous-auth, false, true}.
type Flag struct {
	Name  string
	Value string
	// HasValue is false for a bare boolean flag ("--profiling"), which means true.
	HasValue bool
	Line     int
}

// Flags are the flags of one command line, in order.
type Flags []Flag

// Get returns the last occurrence of a flag (the one pflag keeps for scalar flags) and whether it is set.
func (fs Flags) Get(name string) (Flag, bool) {
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].Name == name {
			return fs[i], true
		}
	}
	return Flag{}, false
}

// Bool reads a boolean flag: a bare flag is true; unset gives def. ok is false when the value is not a boolean.
func (fs Flags) Bool(name string, def bool) (value, set, ok bool) {
	f, set := fs.Get(name)
	if !set {
		return def, false, true
	}
	if !f.HasValue {
		return true, true, true
	}
	switch strings.ToLower(f.Value) {
	case "true", "1", "t":
		return true, true, true
	case "false", "0", "f":
		return false, true, true
	}
	return def, true, false
}

// List collects every value of a list flag (pflag's StringSlice appends repeated flags), split at commas, with
// the line of each.
func (fs Flags) List(name string) (values []string, lines []int, set bool) {
	for _, f := range fs {
		if f.Name != name {
			continue
		}
		set = true
		for _, v := range strings.Split(f.Value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
				lines = append(lines, f.Line)
			}
		}
	}
	return values, lines, set
}

// boolFlags are the boolean flags of the judged components: they take no separate value ("--profiling false" is
// the flag and a stray argument, as for pflag).
var boolFlags = map[string]bool{
	"anonymous-auth": true, "profiling": true, "client-cert-auth": true, "peer-client-cert-auth": true,
	"auto-tls": true, "peer-auto-tls": true, "tls": true, "tlsverify": true, "allow-privileged": true,
	"rotate-server-certificates": true, "enable-debugging-handlers": true, "unsafe-no-fsync": true,
	"debug": true, "D": true, "icc": true,
}

// shortFlags maps dockerd's one-letter flags to their long names.
var shortFlags = map[string]string{"H": "host", "D": "debug", "l": "log-level"}

// word is one token of a command line and its line in the file.
type word struct {
	text string
	line int
}

// parseWords reads flags from tokens: "--name=value", "--name value" (unless name is boolean or the next token
// is a flag), "-H value", bare "--name". Tokens that are not flags (stray arguments) are ignored.
func parseWords(words []word) Flags {
	var out Flags
	for i := 0; i < len(words); i++ {
		t := words[i].text
		if len(t) < 2 || t[0] != '-' || t == "--" {
			continue
		}
		name := strings.TrimLeft(t, "-")
		long := strings.HasPrefix(t, "--")
		f := Flag{Line: words[i].line}
		if k, v, ok := strings.Cut(name, "="); ok {
			f.Name, f.Value, f.HasValue = k, v, true
		} else {
			f.Name = name
			if !boolFlags[name] && i+1 < len(words) && !strings.HasPrefix(words[i+1].text, "-") {
				f.Value, f.HasValue = words[i+1].text, true
				i++
			}
		}
		if !long {
			if l, ok := shortFlags[f.Name]; ok {
				f.Name = l
			}
		}
		if f.Name == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// looksLikeFlags says whether a file is a command line rather than YAML or JSON: its first meaningful line starts
// with a flag, with a known binary's name, or with NAME="--flags" (a systemd environment file such as
// /var/lib/kubelet/kubeadm-flags.env).
func looksLikeFlags(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxFileSize+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "--") || (len(line) > 1 && line[0] == '-' && unicode.IsLetter(rune(line[1]))) {
			return true
		}
		first, _, _ := strings.Cut(line, " ")
		if componentOf(filepath.Base(first)) != "" && strings.Contains(line, " -") {
			return true
		}
		if name, value, ok := strings.Cut(line, "="); ok && isEnvName(name) && strings.Contains(value, "--") {
			return true
		}
		return false
	}
	return false
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// parseFlagsFile reads a file of flags (one or many per line, # comments, a leading binary name, NAME="..."
// environment lines) and finds the component from the binary's name, the file's name or the flags themselves.
func parseFlagsFile(file string, data []byte) (*Source, error) {
	var words []word
	component := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxFileSize+1)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSuffix(line, "\\")
		if name, value, ok := strings.Cut(line, "="); ok && isEnvName(name) {
			line = strings.Trim(strings.TrimSpace(value), `"'`)
		}
		for _, t := range splitWords(line) {
			if len(words) == 0 && component == "" && !strings.HasPrefix(t, "-") {
				if c := componentOf(filepath.Base(t)); c != "" {
					component = c
					continue
				}
			}
			words = append(words, word{text: t, line: n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: file, Line: n + 1, Reason: "cannot read line", Err: err}
	}
	flags := parseWords(words)
	if len(flags) == 0 {
		return nil, &ParseError{File: file, Reason: "a flags file without a single --flag"}
	}
	if component == "" {
		component = componentFromFileName(file)
	}
	if component == "" {
		component = componentFromFlags(flags)
	}
	if component == "" {
		return nil, &ParseError{File: file, Line: flags[0].Line, Reason: fmt.Sprintf("flags of an unknown component: name the file after it (%s, %s, %s, %s) or start it with the binary's name", APIServer, Kubelet, Etcd, Dockerd)}
	}
	return &Source{Component: component, File: file, Format: FormatFlags, Flags: flags}, nil
}

// splitWords splits at blanks, keeping quoted strings ('a b' or "a b") together.
func splitWords(line string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

func componentFromFileName(file string) string {
	base := strings.ToLower(filepath.Base(file))
	for _, c := range []struct{ part, component string }{
		{"apiserver", APIServer}, {"kubelet", Kubelet}, {"etcd", Etcd}, {"docker", Dockerd},
		{"controller-manager", ControllerManager}, {"scheduler", Scheduler},
	} {
		if strings.Contains(base, c.part) {
			return c.component
		}
	}
	return ""
}

// componentFromFlags recognises a component by flags only it has.
func componentFromFlags(flags Flags) string {
	for _, f := range flags {
		switch f.Name {
		case "etcd-servers", "service-cluster-ip-range", "enable-admission-plugins", "kubelet-certificate-authority":
			return APIServer
		case "listen-client-urls", "initial-cluster", "advertise-client-urls", "listen-peer-urls":
			return Etcd
		case "container-runtime-endpoint", "pod-infra-container-image", "read-only-port", "node-ip":
			return Kubelet
		case "host", "tlsverify", "data-root", "storage-driver":
			return Dockerd
		}
	}
	return ""
}
