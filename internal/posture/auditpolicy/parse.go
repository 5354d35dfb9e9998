package auditpolicy

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/apis/audit/validation"
	"k8s.io/apiserver/pkg/audit"
)

// maxPolicyBytes bounds what Parse reads: real policies are a few kilobytes; kube-apiserver reads the whole file,
// but a checker fed a log or a binary by mistake should say so rather than chew on it.
const maxPolicyBytes = 4 << 20

// The decoders of kube-apiserver's policy loader (k8s.io/apiserver/pkg/audit/policy): strict first, then lenient.
var (
	strictDecoder  = serializer.NewCodecFactory(audit.Scheme, serializer.EnableStrict).UniversalDecoder()
	lenientDecoder = audit.Codecs.UniversalDecoder(auditv1.SchemeGroupVersion)
)

// Policy is an audit policy as kube-apiserver reads it, with where each of its rules is in the file.
type Policy struct {
	// File is the name errors and findings give the policy.
	File string
	// Warnings are what kube-apiserver would only log: fields it does not know (it falls back to lenient decoding
	// and ignores them), each with its line.
	Warnings []string

	policy *auditinternal.Policy
	// lines of the policy's omitStages, and of each rule, its level and its omitStages (0: absent or unknown).
	omitStagesLine int
	ruleLines      []int
	ruleOmitLines  []int
}

// Rules is the number of rules in the policy.
func (p *Policy) Rules() int { return len(p.policy.Rules) }

// ParseError is a policy kube-apiserver would refuse, or a file that is not one: the file, the line when known,
// and what is wrong.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Parse reads an audit policy (audit.k8s.io/v1 Policy, YAML or JSON) the way kube-apiserver's
// --audit-policy-file does (k8s.io/apiserver/pkg/audit/policy.LoadPolicyFromBytes: strict decoding with a lenient
// fallback, the API group's validation, at least one rule), and accepts exactly what it accepts. Errors name the
// file and, where the YAML allows, the line. name is the file name used in errors and findings.
func Parse(name string, data []byte) (*Policy, error) {
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > maxPolicyBytes {
		return nil, perr(0, "%d bytes is not an audit policy (limit %d)", len(data), maxPolicyBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, perr(0, "empty file: an audit policy needs apiVersion audit.k8s.io/v1, kind Policy and at least one rule")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		return nil, perr(line, "not YAML or JSON: %s", msg)
	}
	p := &Policy{File: name}
	root := documentRoot(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, perr(nodeLine(root), "not an audit policy: want a mapping with apiVersion audit.k8s.io/v1, kind Policy and rules")
	}
	p.locate(root)

	into := &auditinternal.Policy{}
	_, gvk, err := strictDecoder.Decode(data, nil, into)
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return nil, perr(0, "%s", decodeMessage(err))
		}
		if se, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range se.Errors() {
				p.Warnings = append(p.Warnings, p.warning(root, e))
			}
		}
		into = &auditinternal.Policy{}
		if _, gvk, err = lenientDecoder.Decode(data, nil, into); err != nil {
			return nil, perr(0, "%s", decodeMessage(err))
		}
	}
	if gvk == nil || gvk.GroupVersion() != auditv1.SchemeGroupVersion {
		if gvk == nil || gvk.Version == "" || gvk.Version == runtime.APIVersionInternal {
			return nil, perr(0, "no apiVersion: want apiVersion audit.k8s.io/v1, kind Policy")
		}
		return nil, perr(lineOfPath(root, "apiVersion"), "apiVersion %q is not audit.k8s.io/v1: kube-apiserver reads no other", gvk.GroupVersion().String())
	}
	if errs := validation.ValidatePolicy(into); len(errs) > 0 {
		first := errs[0]
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		msg := strings.Join(msgs, "; ")
		if len(p.Warnings) > 0 {
			msg += " (fields kube-apiserver ignores: " + strings.Join(p.Warnings, "; ") + ")"
		}
		return nil, perr(lineOfPath(root, first.Field), "invalid audit policy: %s", msg)
	}
	if len(into.Rules) == 0 {
		return nil, perr(lineOfPath(root, "rules"), "no rules: kube-apiserver refuses a policy without rules")
	}
	p.policy = into
	for len(p.ruleLines) < len(into.Rules) { // JSON flow styles always map; this only guards the indexing
		p.ruleLines = append(p.ruleLines, 0)
		p.ruleOmitLines = append(p.ruleOmitLines, 0)
	}
	return p, nil
}

// documentRoot is the top node of the first YAML document (kube-apiserver reads only the first).
func documentRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0]
	}
	return nil
}

func nodeLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// locate records the lines of the policy's omitStages and of each rule and its omitStages.
func (p *Policy) locate(root *yaml.Node) {
	p.omitStagesLine = lineOfPath(root, "omitStages")
	rules := child(root, "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return
	}
	for _, r := range rules.Content {
		p.ruleLines = append(p.ruleLines, r.Line)
		omit := 0
		if k := key(r, "omitStages"); k != nil {
			omit = k.Line
		}
		p.ruleOmitLines = append(p.ruleOmitLines, omit)
	}
}

// key is the key node of field name in mapping m, or nil. A field given twice is the last one, as kube-apiserver's
// decoder keeps it (the YAML becomes JSON, whose decoding keeps the last duplicate): the lines reported must be those
// of the rules that are in force.
func key(m *yaml.Node, name string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			found = m.Content[i]
		}
	}
	return found
}

// child is the value node of field name in mapping m, or nil.
func child(m *yaml.Node, name string) *yaml.Node {
	var found *yaml.Node
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			found = m.Content[i+1] // the last of a field given twice, as key says
		}
	}
	return found
}

var segment = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)
var index = regexp.MustCompile(`\[(\d+)\]`)

// lineOfPath is the line of a field path as validation and strict decoding name it ("rules[2].level"): the line
// of the deepest part of the path found in the YAML, 0 when not even the first is.
func lineOfPath(root *yaml.Node, path string) int {
	n, line := root, 0
	for _, part := range strings.Split(path, ".") {
		m := segment.FindStringSubmatch(part)
		if m == nil {
			return line
		}
		if m[1] != "" {
			k := key(n, m[1])
			if k == nil {
				return line
			}
			line, n = k.Line, child(n, m[1])
		}
		for _, ix := range index.FindAllStringSubmatch(m[2], -1) {
			i, err := strconv.Atoi(ix[1])
			if err != nil || n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// warning words a strict-decoding error (a field kube-apiserver ignores) with its line.
func (p *Policy) warning(root *yaml.Node, err error) string {
	msg := err.Error()
	line := 0
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		line = lineOfPath(root, m[1])
		msg = fmt.Sprintf("unknown field %q: kube-apiserver ignores it (lenient decoding), so it has no effect", m[1])
	}
	if line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, line, msg)
	}
	return p.File + ": " + msg
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine takes the line out of a YAML syntax error.
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, msg
		}
	}
	return 0, msg
}

// decodeMessage words a decoding failure: most often a missing or wrong apiVersion or kind.
func decodeMessage(err error) string {
	msg := err.Error()
	switch {
	case runtime.IsMissingKind(err) || strings.Contains(msg, "Object 'Kind' is missing"):
		return "no kind: want kind Policy, apiVersion audit.k8s.io/v1"
	case runtime.IsMissingVersion(err) || strings.Contains(msg, "Object 'apiVersion' is missing"):
		return "no apiVersion: want apiVersion audit.k8s.io/v1, kind Policy"
	case runtime.IsNotRegisteredError(err):
		return "not an audit policy: " + msg + " (want apiVersion audit.k8s.io/v1, kind Policy)"
	}
	return "cannot decode the audit policy: " + msg
}
