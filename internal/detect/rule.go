package detect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Rule is one detection rule, compiled.
type Rule struct {
	ID          string
	Description string
	Condition   string
	Output      string
	Severity    finding.Severity
	Technique   string
	Mitigations []string
	Tags        []string
	Enabled     bool
	// Events is what the rule reads: "audit" (the default: the API server's audit events) or "runtime" (node
	// agents' reports of containers and execs; the variable runtime holds the report).
	Events string
	// Source is where the rule was defined: "file:line".
	Source string
	// Override marks a rule given as only {id, enabled}: it switches the rule of that id on or off, and Merge
	// applies it to the rule it names; it has no condition of its own.
	Override bool

	cond   *program // run for an event the guard admits, unless the guard is complete (then planned only if asked)
	guard  guard    // what of cond the engine does in Go (guard.go)
	output []outputPart
}

// outputPart is a literal or a compiled ${expr} of an output template. str, when set, is the expression done in Go
// (guard.go's forms, outputString), with the text CEL's value prints as; prog is then not run, unless str says it
// cannot tell (false).
type outputPart struct {
	text string
	prog *program // lazy: planned when the rule first finds something and str cannot render the part
	str  func(*activation) (string, bool)
}

// What a rule reads (its source: key).
const (
	EventsAudit   = "audit"
	EventsRuntime = "runtime"
)

// PositionError is a rule-file error at a position.
type PositionError struct {
	File   string
	Line   int
	Column int
	Rule   string // "" when the error is not inside one rule
	Err    error
}

func (e *PositionError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	if e.Rule != "" {
		where += ": rule " + e.Rule
	}
	return where + ": " + e.Err.Error()
}

func (e *PositionError) Unwrap() error { return e.Err }

// ruleKeys are the fields a rule may have; any other key is a typo and an error.
var ruleKeys = map[string]bool{"id": true, "description": true, "source": true, "condition": true, "output": true, "severity": true,
	"technique": true, "mitigations": true, "tags": true, "enabled": true}

// ParseRules decodes and compiles the rules of one file. name is used in errors only. Every error of the file is
// reported, joined, not just the first.
func ParseRules(name string, data []byte) ([]*Rule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &PositionError{File: name, Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	if len(root.Content) == 0 {
		// An empty rule file is a file that went missing on the way (a ConfigMap key misnamed), not a choice.
		return nil, &PositionError{File: name, Err: errors.New("the file is empty: a rule file holds a rules: list with at least one rule")}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &PositionError{File: name, Line: doc.Line, Column: doc.Column, Err: errors.New("want a mapping with a rules: list")}
	}
	var seq *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k := doc.Content[i]
		if k.Value != "rules" {
			return nil, &PositionError{File: name, Line: k.Line, Column: k.Column, Err: fmt.Errorf("unknown key %q: a rule file holds only a rules list", k.Value)}
		}
		seq = doc.Content[i+1]
	}
	if seq == nil || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null") || (seq.Kind == yaml.SequenceNode && len(seq.Content) == 0) {
		return nil, &PositionError{File: name, Line: doc.Line, Column: doc.Column, Err: errors.New("no rules: a rule file holds a rules: list with at least one rule")}
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, &PositionError{File: name, Line: seq.Line, Column: seq.Column, Err: errors.New("rules: want a list")}
	}
	lines := strings.Split(string(data), "\n")
	var rules []*Rule
	var errs []error
	seen := map[string]int{}
	for _, n := range seq.Content {
		r, err := parseRule(name, lines, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if line, dup := seen[r.ID]; dup {
			errs = append(errs, &PositionError{File: name, Line: n.Line, Column: n.Column, Rule: r.ID, Err: fmt.Errorf("duplicate id (first at line %d)", line)})
			continue
		}
		seen[r.ID] = n.Line
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

func parseRule(file string, lines []string, n *yaml.Node) (*Rule, error) {
	perr := func(at *yaml.Node, id string, err error) error {
		return &PositionError{File: file, Line: at.Line, Column: at.Column, Rule: id, Err: err}
	}
	if n.Kind != yaml.MappingNode {
		return nil, perr(n, "", errors.New("a rule must be a mapping"))
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !ruleKeys[k.Value] {
			return nil, perr(k, "", fmt.Errorf("unknown field %q (want one of id, description, source, condition, output, severity, technique, mitigations, tags, enabled)", k.Value))
		}
		fields[k.Value] = n.Content[i+1]
	}
	r := &Rule{Enabled: true, Source: fmt.Sprintf("%s:%d", file, n.Line)}
	str := func(key string, dst *string) error {
		v, ok := fields[key]
		if !ok {
			return nil
		}
		if v.Kind != yaml.ScalarNode {
			return perr(v, r.ID, fmt.Errorf("%s: want a string", key))
		}
		*dst = v.Value
		return nil
	}
	list := func(key string, dst *[]string) error {
		v, ok := fields[key]
		if !ok {
			return nil
		}
		if err := v.Decode(dst); err != nil {
			return perr(v, r.ID, fmt.Errorf("%s: want a list of strings: %w", key, err))
		}
		return nil
	}
	if err := str("id", &r.ID); err != nil {
		return nil, err
	}
	if r.ID == "" {
		return nil, perr(n, "", errors.New("id is required"))
	}
	var sev string
	for _, f := range []struct {
		key string
		dst *string
	}{{"description", &r.Description}, {"source", &r.Events}, {"condition", &r.Condition}, {"output", &r.Output}, {"severity", &sev}, {"technique", &r.Technique}} {
		if err := str(f.key, f.dst); err != nil {
			return nil, err
		}
	}
	if err := list("mitigations", &r.Mitigations); err != nil {
		return nil, err
	}
	if err := list("tags", &r.Tags); err != nil {
		return nil, err
	}
	if v, ok := fields["enabled"]; ok {
		if err := v.Decode(&r.Enabled); err != nil {
			return nil, perr(v, r.ID, fmt.Errorf("enabled: want true or false: %w", err))
		}
		if len(fields) == 2 {
			// {id: X, enabled: false}: switch rule X off (or on) without copying it.
			r.Override = true
			return r, nil
		}
	}
	if v, ok := fields["severity"]; ok {
		s, err := finding.ParseSeverity(sev)
		if err != nil {
			return nil, perr(v, r.ID, err)
		}
		r.Severity = s
	} else {
		return nil, perr(n, r.ID, errors.New("severity is required (info, low, medium, high or critical)"))
	}
	if r.Technique != "" {
		if _, ok := finding.Techniques[r.Technique]; !ok {
			return nil, perr(fields["technique"], r.ID, fmt.Errorf("unknown technique %q: want FGT5013, FGT1609.501 or empty", r.Technique))
		}
	}
	for i, m := range r.Mitigations {
		if _, ok := finding.Mitigations[m]; !ok {
			return nil, perr(fields["mitigations"].Content[i], r.ID, fmt.Errorf("unknown mitigation %q", m))
		}
	}
	switch r.Events {
	case "":
		r.Events = EventsAudit
	case EventsAudit, EventsRuntime:
	default:
		return nil, perr(fields["source"], r.ID, fmt.Errorf("source %q: want audit (the default) or runtime", r.Events))
	}
	condNode, ok := fields["condition"]
	if !ok || strings.TrimSpace(r.Condition) == "" {
		return nil, perr(n, r.ID, errors.New("condition is required"))
	}
	prog, checked, err := compileChecked(r.Condition, cel.BoolType)
	if err != nil {
		return nil, celError(file, lines, condNode, r.ID, "condition", err)
	}
	r.guard = conditionGuard(checked)
	if r.guard.complete {
		r.cond = lazy(r.Condition, cel.BoolType)
	} else {
		r.cond = eager(prog)
	}
	if r.Output == "" {
		r.Output = r.Description
	}
	outNode := fields["output"]
	if outNode == nil {
		outNode = n
	}
	parts, err := compileOutput(r.Output)
	if err != nil {
		return nil, celError(file, lines, outNode, r.ID, "output", err)
	}
	r.output = parts
	return r, nil
}

// celError places a CEL compile error in the file: the YAML node gives the line and column where the expression
// starts, the CEL issue the line and column inside it.
func celError(file string, lines []string, node *yaml.Node, id, field string, err error) error {
	var ce *compileError
	if !errors.As(err, &ce) {
		return &PositionError{File: file, Line: node.Line, Column: node.Column, Rule: id, Err: fmt.Errorf("%s: %w", field, err)}
	}
	line, col := locate(lines, node, ce.line, ce.col)
	return &PositionError{File: file, Line: line, Column: col, Rule: id, Err: fmt.Errorf("%s: %s", field, ce.msg)}
}

// locate maps a position inside a scalar's value (line 1-based, column 0-based, as CEL reports it) to the file.
// A literal block (|) keeps its lines; a folded block (>) and a plain or quoted scalar that spans lines are folded
// by YAML into one line joined by spaces, so the offset is walked back over the source lines. Escapes inside quoted
// scalars can shift the column by a few characters.
func locate(lines []string, node *yaml.Node, ceLine, ceCol int) (line, col int) {
	switch {
	case node.Style&yaml.LiteralStyle != 0:
		indent := indentOf(lines, node.Line+1)
		return node.Line + ceLine, indent + ceCol + 1
	case ceLine > 1:
		// Only a folded scalar with blank or more-indented lines keeps newlines; place it on the line roughly.
		return node.Line + ceLine, indentOf(lines, node.Line+ceLine) + ceCol + 1
	}
	// Segments of the folded value: the first starts where the value does, the rest at their indentation.
	first, start := node.Line, node.Column-1
	if node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		start++
	}
	if node.Style&yaml.FoldedStyle != 0 {
		first, start = node.Line+1, indentOf(lines, node.Line+1)
	}
	offset := ceCol
	for l := first; l <= len(lines); l++ {
		from := start
		if l != first {
			from = indentOf(lines, l)
		}
		content := ""
		if from < len(lines[l-1]) {
			content = strings.TrimRight(lines[l-1][from:], " \t")
		}
		if offset <= len(content) {
			return l, from + offset + 1
		}
		offset -= len(content) + 1
	}
	return node.Line, node.Column
}

func indentOf(lines []string, line int) int {
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(strings.TrimLeft(l, " \t"))
}

// LoadRules loads every *.yaml and *.yml file at the top of fsys (rules/tests and other folders are not read),
// in name order. Duplicate ids across files are errors.
func LoadRules(fsys fs.FS) ([]*Rule, error) {
	names, err := fs.Glob(fsys, "*.y*ml")
	if err != nil {
		return nil, fmt.Errorf("list rule files: %w", err)
	}
	sort.Strings(names)
	var files []namedData
	for _, name := range names {
		if ext := path.Ext(name); ext != ".yaml" && ext != ".yml" {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read rule file %s: %w", name, err)
		}
		files = append(files, namedData{name, data})
	}
	return parseAll(files)
}

// LoadPaths loads rule files and directories (each directory's *.yaml and *.yml files, not its subdirectories).
func LoadPaths(paths ...string) ([]*Rule, error) {
	var files []namedData
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		names := []string{p}
		if st.IsDir() {
			names = nil
			for _, pat := range []string{"*.yaml", "*.yml"} {
				m, err := filepath.Glob(filepath.Join(p, pat))
				if err != nil {
					return nil, fmt.Errorf("rules: list %s: %w", p, err)
				}
				names = append(names, m...)
			}
			sort.Strings(names)
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			files = append(files, namedData{name, data})
		}
	}
	return parseAll(files)
}

type namedData struct {
	name string
	data []byte
}

func parseAll(files []namedData) ([]*Rule, error) {
	var all []*Rule
	var errs []error
	where := map[string]string{}
	for _, f := range files {
		rules, err := ParseRules(f.name, f.data)
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range rules {
			if first, dup := where[r.ID]; dup {
				errs = append(errs, &PositionError{File: r.Source, Rule: r.ID, Err: fmt.Errorf("duplicate id (first defined at %s)", first)})
				continue
			}
			where[r.ID] = r.Source
			all = append(all, r)
		}
	}
	return all, errors.Join(errs...)
}

// Merge adds user rules to a base pack: a user rule with the id of a base rule replaces it in place, any other is
// appended. An override ({id: X, enabled: false}) switches rule X of the base on or off and keeps the rest of
// it; an override of an id the base does not have is an error naming where it is.
func Merge(base, user []*Rule) ([]*Rule, error) {
	out := make([]*Rule, len(base), len(base)+len(user))
	copy(out, base)
	index := make(map[string]int, len(base))
	for i, r := range out {
		index[r.ID] = i
	}
	var errs []error
	for _, r := range user {
		i, ok := index[r.ID]
		switch {
		case r.Override && !ok:
			errs = append(errs, &PositionError{File: r.Source, Rule: r.ID, Err: fmt.Errorf("enabled: %v names no built-in rule; a new rule needs a condition and a severity", r.Enabled)})
		case r.Override:
			switched := *out[i]
			switched.Enabled = r.Enabled
			switched.Source = fmt.Sprintf("%s (enabled: %v at %s)", out[i].Source, r.Enabled, r.Source)
			out[i] = &switched
		case ok:
			out[i] = r
		default:
			index[r.ID] = len(out)
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}
