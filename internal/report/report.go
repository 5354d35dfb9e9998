package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// The output formats.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatSARIF = "sarif"
	FormatHTML  = "html"
)

// DefaultTool names the tool when a Report leaves Tool empty.
const DefaultTool = "vnfguard"

// InformationURI is where SARIF viewers send a reader who wants to know about the tool.
const InformationURI = "https://github.com/vnfguard/vnfguard"

// Report is one run's findings and the context a reader needs to judge them.
type Report struct {
	Tool    string // defaults to DefaultTool
	Version string
	// Target says what was scanned: "cluster https://…" or "files: a.yaml, b/".
	Target            string
	Started, Finished time.Time
	Findings          []finding.Finding
	// Instances describes the VNF instances the findings name: instance ID → "product, STATE". May be nil; an
	// instance without a description is still shown, by its ID.
	Instances map[string]string
	// Rules documents the rules for SARIF's rule metadata and the HTML page: rule ID → description. May be nil;
	// rules without one are described from their technique and mitigations.
	Rules map[string]Rule
}

// Rule documents one rule.
type Rule struct {
	Short string // one sentence: what the rule flags
	Full  string // what it flags, what is fine, why it matters
	Help  string // how to fix it
}

var formats = []string{FormatTable, FormatJSON, FormatSARIF, FormatHTML}

// Formats lists the output formats Write knows, in the order a help text should show them.
func Formats() []string { return slices.Clone(formats) }

// Write renders r in the named format to w. An unknown format is an error that names the valid ones; a nil
// report renders as an empty one.
func Write(w io.Writer, format string, r *Report) error {
	if r == nil {
		r = &Report{}
	}
	v := newView(r)
	var err error
	switch format {
	case FormatTable:
		err = writeTable(w, v)
	case FormatJSON:
		err = writeJSON(w, v)
	case FormatSARIF:
		err = writeSARIF(w, v)
	case FormatHTML:
		err = writeHTML(w, v)
	default:
		return fmt.Errorf("unknown output format %q: want one of %s", format, strings.Join(formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

// ParseFailOn reads the --fail-on threshold: a severity name (case-insensitive), or "none" for a gate that never
// fails, which ParseFailOn returns as finding.Critical+1 so that no finding reaches it.
func ParseFailOn(s string) (finding.Severity, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return finding.Critical + 1, nil
	}
	sev, err := finding.ParseSeverity(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("--fail-on: %w (or none)", err)
	}
	return sev, nil
}

// Reached reports whether any finding is at or above the threshold, for the CLI's exit code.
func Reached(findings []finding.Finding, threshold finding.Severity) bool {
	for i := range findings {
		if findings[i].Severity >= threshold {
			return true
		}
	}
	return false
}

// Sort orders findings the way every format shows them: most severe first, then by technique, rule, object,
// VNF instance, subject and ID, so that equal inputs give identical output.
func Sort(findings []finding.Finding) {
	slices.SortStableFunc(findings, compareFindings)
}

func compareFindings(a, b finding.Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Technique, b.Technique),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(objectName(a.Object), objectName(b.Object)),
		cmp.Compare(a.VNFInstance, b.VNFInstance),
		cmp.Compare(a.Identity, b.Identity),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.ID, b.ID),
	)
}

// severities lists the severities from most to least urgent.
var severities = []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info}

// view is what every format renders: the report with its findings sorted and its totals counted.
type view struct {
	*Report
	tool        string
	findings    []finding.Finding // sorted copy; the caller's slice is left alone
	bySeverity  map[finding.Severity]int
	techniques  []count // by count, then ID
	mitigations []count
}

// count is how many findings cite one technique or mitigation.
type count struct {
	ID, Name string
	N        int
	Worst    finding.Severity
}

func newView(r *Report) *view {
	clean := *r
	clean.Tool, clean.Version, clean.Target = validUTF8(r.Tool), validUTF8(r.Version), validUTF8(r.Target)
	clean.Instances = validUTF8Map(r.Instances)
	v := &view{Report: &clean, tool: cmp.Or(clean.Tool, DefaultTool), findings: make([]finding.Finding, 0, len(r.Findings)), bySeverity: map[finding.Severity]int{}}
	for _, f := range r.Findings {
		v.findings = append(v.findings, validFinding(f))
	}
	Sort(v.findings)
	techniques, mitigations := map[string]*count{}, map[string]*count{}
	for _, f := range v.findings {
		v.bySeverity[f.Severity]++
		if f.Technique != "" {
			tally(techniques, f.Technique, finding.Techniques[f.Technique].Name, f.Severity)
		}
		for _, m := range uniqueNonEmpty(f.Mitigations) {
			tally(mitigations, m, finding.Mitigations[m].Name, f.Severity)
		}
	}
	v.techniques, v.mitigations = sortedCounts(techniques), sortedCounts(mitigations)
	return v
}

func tally(into map[string]*count, id, name string, sev finding.Severity) {
	c, ok := into[id]
	if !ok {
		c = &count{ID: id, Name: name, Worst: sev}
		into[id] = c
	}
	c.N++
	c.Worst = max(c.Worst, sev)
}

func sortedCounts(m map[string]*count) []count {
	out := make([]count, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.ID, b.ID)) })
	return out
}

// uniqueNonEmpty drops empty and repeated IDs, keeping the first occurrence's order.
func uniqueNonEmpty(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// objectName names an object the way the reports show it: Kind/namespace/name, Kind/name when cluster-scoped,
// with /subresource when there is one.
func objectName(o finding.ObjectRef) string {
	parts := make([]string, 0, 4)
	for _, p := range []string{o.Kind, o.Namespace, o.Name, o.Subresource} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// techniqueLabel is "FGT5013 Malicious VNF Instantiation", or the bare ID for a technique outside the catalogue.
func techniqueLabel(id string) string {
	if t, ok := finding.Techniques[id]; ok {
		return id + " " + t.Name
	}
	return id
}

// rule returns the documentation of a rule, described from its findings when the report has none.
func (v *view) rule(id, technique string, mitigations []string) Rule {
	r := v.Rules[id]
	if r.Short == "" {
		r.Short = fmt.Sprintf("%s: a condition that serves FiGHT technique %s.", cmp.Or(id, "unnamed rule"), cmp.Or(techniqueLabel(technique), "(none)"))
	}
	if r.Full == "" {
		r.Full = r.Short
	}
	if r.Help == "" {
		var b strings.Builder
		b.WriteString("Mitigations: ")
		if len(mitigations) == 0 {
			b.WriteString("none named.")
		}
		for i, m := range mitigations {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(m)
			if name := finding.Mitigations[m].Name; name != "" {
				b.WriteString(" (" + name + ")")
			}
		}
		r.Help = b.String()
	}
	return r
}

// timeText formats a time for people and tools alike (RFC 3339, UTC), or "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// validUTF8 replaces invalid UTF-8 with U+FFFD up front. The JSON encoders would do it anyway, but only after the
// reports have deduplicated tags and keyed maps: two different invalid strings would then turn into one, and SARIF
// would carry duplicate tags (which its schema forbids) or JSON duplicate keys.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func validUTF8Map(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	// Sorted, so that when two invalid keys become the same valid one the same value wins on every run.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[validUTF8(k)] = validUTF8(m[k])
	}
	return out
}

// validFinding returns a copy of f whose strings are all valid UTF-8; the caller's finding is left alone.
func validFinding(f finding.Finding) finding.Finding {
	for _, p := range []*string{&f.ID, &f.Source, &f.Rule, &f.Technique, &f.Action, &f.Message, &f.VNFInstance, &f.VNFProduct, &f.Identity,
		&f.Object.APIVersion, &f.Object.Kind, &f.Object.Namespace, &f.Object.Name, &f.Object.Subresource} {
		*p = validUTF8(*p)
	}
	mitigations := make([]string, len(f.Mitigations))
	for i, m := range f.Mitigations {
		mitigations[i] = validUTF8(m)
	}
	if f.Mitigations == nil {
		mitigations = nil
	}
	f.Mitigations = mitigations
	f.Evidence = validUTF8Map(f.Evidence)
	return f
}
