package report

import (
	"encoding/json"
	"io"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// jsonReport is the JSON document: the run, its totals, then the findings.
type jsonReport struct {
	Tool      string            `json:"tool"`
	Version   string            `json:"version,omitempty"`
	Target    string            `json:"target,omitempty"`
	Started   string            `json:"started,omitempty"`
	Finished  string            `json:"finished,omitempty"`
	Summary   jsonSummary       `json:"summary"`
	Instances map[string]string `json:"instances,omitempty"`
	Findings  []jsonFinding     `json:"findings"`
}

type jsonSummary struct {
	Total int `json:"total"`
	// BySeverity always has every severity, so a script can read .summary.bySeverity.critical without a default.
	BySeverity   map[string]int `json:"bySeverity"`
	ByTechnique  map[string]int `json:"byTechnique"`
	ByMitigation map[string]int `json:"byMitigation"`
}

// jsonFinding is a finding as package finding encodes it, plus the names a reader would otherwise look up:
// subject repeats identity under the name the reports use, and the technique and mitigations come with names.
type jsonFinding struct {
	finding.Finding
	Subject         string            `json:"subject,omitempty"`
	TechniqueName   string            `json:"techniqueName,omitempty"`
	MitigationNames map[string]string `json:"mitigationNames,omitempty"`
	ObjectName      string            `json:"objectName,omitempty"`
}

func writeJSON(w io.Writer, v *view) error {
	doc := jsonReport{
		Tool: v.tool, Version: v.Version, Target: v.Target, Started: timeText(v.Started), Finished: timeText(v.Finished),
		Summary: jsonSummary{
			Total: len(v.findings), BySeverity: map[string]int{}, ByTechnique: map[string]int{}, ByMitigation: map[string]int{},
		},
		Instances: v.Instances,
		Findings:  make([]jsonFinding, 0, len(v.findings)),
	}
	for _, s := range severities {
		doc.Summary.BySeverity[s.String()] = v.bySeverity[s]
	}
	for _, c := range v.techniques {
		doc.Summary.ByTechnique[c.ID] = c.N
	}
	for _, c := range v.mitigations {
		doc.Summary.ByMitigation[c.ID] = c.N
	}
	for _, f := range v.findings {
		jf := jsonFinding{Finding: f, Subject: f.Identity, TechniqueName: finding.Techniques[f.Technique].Name, ObjectName: objectName(f.Object)}
		for _, m := range f.Mitigations {
			if name := finding.Mitigations[m].Name; name != "" {
				if jf.MitigationNames == nil {
					jf.MitigationNames = map[string]string{}
				}
				jf.MitigationNames[m] = name
			}
		}
		doc.Findings = append(doc.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
