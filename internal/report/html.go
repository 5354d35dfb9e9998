package report

import (
	"cmp"
	_ "embed"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value for the context it lands in (text, attribute,
// URL), which is the defence against markup in messages and evidence. The page's Content-Security-Policy adds a
// second one: no script runs and nothing is fetched, even if an escape were ever missed.
var htmlTemplate = template.Must(template.New("report").Option("missingkey=error").Parse(htmlSource))

type htmlPage struct {
	Tool, Version, Target       string
	Started, Finished, Duration string
	Total                       int
	Severities                  []htmlSeverity
	Techniques, Mitigations     []count
	Groups                      []htmlGroup
	Clean                       []htmlInstance
}

type htmlSeverity struct {
	Name string
	N    int
}

type htmlGroup struct {
	ID, Description, Anchor string
	Unbound                 bool
	Findings                []htmlFinding
}

type htmlInstance struct{ ID, Description string }

type htmlFinding struct {
	ID, Severity, Rule, Technique, Subject, Object, Message string
	Mitigations                                             []string
	Evidence                                                []htmlEvidence
}

type htmlEvidence struct{ Key, Value string }

func writeHTML(w io.Writer, v *view) error {
	page := htmlPage{
		Tool: v.tool, Version: v.Version, Target: v.Target, Started: timeText(v.Started), Finished: timeText(v.Finished),
		Total: len(v.findings), Techniques: v.techniques, Mitigations: v.mitigations,
	}
	if !v.Started.IsZero() && v.Finished.After(v.Started) {
		page.Duration = v.Finished.Sub(v.Started).Round(time.Millisecond).String()
	}
	for _, s := range severities {
		page.Severities = append(page.Severities, htmlSeverity{Name: s.String(), N: v.bySeverity[s]})
	}
	page.Groups, page.Clean = v.htmlGroups()
	return htmlTemplate.Execute(w, page)
}

// htmlGroups groups the findings by VNF instance: the instance with the most severe finding first (then by ID),
// the findings not bound to an instance last. It also lists the described instances that have no finding, so a
// reader sees that they were considered.
func (v *view) htmlGroups() ([]htmlGroup, []htmlInstance) {
	byInstance := map[string][]htmlFinding{}
	worst := map[string]finding.Severity{}
	for _, f := range v.findings {
		byInstance[f.VNFInstance] = append(byInstance[f.VNFInstance], htmlFindingOf(f))
		if _, seen := worst[f.VNFInstance]; !seen {
			worst[f.VNFInstance] = f.Severity // findings are sorted most severe first
		}
	}
	ids := slices.Collect(maps.Keys(byInstance))
	slices.SortFunc(ids, func(a, b string) int {
		// "" (not bound) sorts last whatever its severity.
		if (a == "") != (b == "") {
			if a == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(worst[b], worst[a]), cmp.Compare(a, b))
	})
	groups := make([]htmlGroup, 0, len(ids))
	for i, id := range ids {
		groups = append(groups, htmlGroup{
			ID: id, Description: v.Instances[id], Anchor: "instance-" + strconv.Itoa(i+1), Unbound: id == "", Findings: byInstance[id],
		})
	}
	var clean []htmlInstance
	for _, id := range slices.Sorted(maps.Keys(v.Instances)) {
		if _, ok := byInstance[id]; !ok && id != "" {
			clean = append(clean, htmlInstance{ID: id, Description: v.Instances[id]})
		}
	}
	return groups, clean
}

func htmlFindingOf(f finding.Finding) htmlFinding {
	h := htmlFinding{
		ID: f.ID, Severity: f.Severity.String(), Rule: f.Rule, Technique: techniqueLabel(f.Technique), Subject: f.Identity,
		Object: objectName(f.Object), Message: f.Message, Mitigations: uniqueNonEmpty(f.Mitigations),
	}
	for _, k := range slices.Sorted(maps.Keys(f.Evidence)) {
		h.Evidence = append(h.Evidence, htmlEvidence{Key: k, Value: f.Evidence[k]})
	}
	return h
}
