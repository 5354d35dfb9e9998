package report

import (
	"cmp"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// SARIFSchema is the $schema the SARIF log names: the OASIS SARIF 2.1.0 schema (errata 01).
const SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// The subset of SARIF 2.1.0 vnfguard writes. Field names and shapes follow the OASIS schema; the tests validate
// the output against it.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
		Properties  map[string]any    `json:"properties,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name,omitempty"`
		ShortDescription     sarifText         `json:"shortDescription"`
		FullDescription      sarifText         `json:"fullDescription"`
		Help                 sarifText         `json:"help"`
		DefaultConfiguration sarifRuleDefaults `json:"defaultConfiguration"`
		Properties           sarifRuleProps    `json:"properties"`
	}
	sarifRuleDefaults struct {
		Level string `json:"level"`
	}
	sarifRuleProps struct {
		Tags []string `json:"tags"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifInvocation struct {
		ExecutionSuccessful bool   `json:"executionSuccessful"`
		StartTimeUTC        string `json:"startTimeUtc,omitempty"`
		EndTimeUTC          string `json:"endTimeUtc,omitempty"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
		Properties          sarifResultProps  `json:"properties"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
	sarifLogical struct {
		Name               string `json:"name,omitempty"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	sarifResultProps struct {
		Technique   string            `json:"technique,omitempty"`
		Mitigations []string          `json:"mitigations,omitempty"`
		Severity    string            `json:"severity"`
		VNFInstance string            `json:"vnfInstance,omitempty"`
		VNFProduct  string            `json:"vnfProduct,omitempty"`
		Subject     string            `json:"subject,omitempty"`
		Source      string            `json:"source,omitempty"`
		Action      string            `json:"action,omitempty"`
		Evidence    map[string]string `json:"evidence,omitempty"`
	}
)

// fingerprintKey names vnfguard's stable finding ID among the result's partial fingerprints; the version suffix
// lets a later scheme coexist.
const fingerprintKey = "vnfguardFindingId/v1"

// sarifLevel maps a severity to a SARIF level: error for critical and high, warning for medium, note below.
func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s == finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

func writeSARIF(w io.Writer, v *view) error {
	rules, index := v.sarifRules()
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: v.tool, Version: v.Version, InformationURI: InformationURI, Rules: rules}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true, StartTimeUTC: timeText(v.Started), EndTimeUTC: timeText(v.Finished)}},
		Results:     make([]sarifResult, 0, len(v.findings)),
	}
	if v.Target != "" {
		run.Properties = map[string]any{"target": v.Target}
	}
	for _, f := range v.findings {
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message:   sarifText{Text: cmp.Or(f.Message, f.Rule, "finding")},
			Locations: []sarifLocation{sarifLocationOf(f)},
			Properties: sarifResultProps{
				Technique: f.Technique, Mitigations: uniqueNonEmpty(f.Mitigations), Severity: f.Severity.String(),
				VNFInstance: f.VNFInstance, VNFProduct: f.VNFProduct, Subject: f.Identity, Source: f.Source, Action: f.Action,
				Evidence: f.Evidence,
			},
		}
		if f.ID != "" {
			res.PartialFingerprints = map[string]string{fingerprintKey: f.ID}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

// sarifRules describes each rule that has findings, ordered by ID, and returns each rule's index for the results'
// ruleIndex. A rule's tags are its technique then its mitigations; its default level is that of its most severe
// finding.
func (v *view) sarifRules() ([]sarifRule, map[string]int) {
	type acc struct {
		technique   string
		mitigations []string
		worst       finding.Severity
	}
	byID := map[string]*acc{}
	for _, f := range v.findings {
		a, ok := byID[f.Rule]
		if !ok {
			// Findings are sorted most severe first, so the first finding of a rule sets its technique and worst.
			a = &acc{technique: f.Technique, worst: f.Severity}
			byID[f.Rule] = a
		}
		a.mitigations = uniqueNonEmpty(append(a.mitigations, f.Mitigations...))
		a.worst = max(a.worst, f.Severity)
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules, index := make([]sarifRule, 0, len(ids)), make(map[string]int, len(ids))
	for i, id := range ids {
		a := byID[id]
		slices.Sort(a.mitigations)
		doc := v.rule(id, a.technique, a.mitigations)
		index[id] = i
		rules = append(rules, sarifRule{
			ID: id, Name: ruleName(id),
			ShortDescription: sarifText{Text: doc.Short}, FullDescription: sarifText{Text: doc.Full}, Help: sarifText{Text: doc.Help},
			DefaultConfiguration: sarifRuleDefaults{Level: sarifLevel(a.worst)},
			// The schema wants tags unique: a technique ID that is also listed as a mitigation appears once.
			Properties: sarifRuleProps{Tags: uniqueNonEmpty(append([]string{a.technique}, a.mitigations...))},
		})
	}
	return rules, index
}

// ruleName turns a rule ID such as "rbac-create-pods" into the PascalCase name SARIF viewers show
// ("RbacCreatePods"); it is empty when the ID has no letters or digits.
func ruleName(id string) string {
	var b strings.Builder
	for _, word := range strings.FieldsFunc(id, func(r rune) bool { return !isAlnum(r) }) {
		b.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	return b.String()
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// sarifLocationOf places a finding: always logically on its Kubernetes object, and physically in the manifest
// file and line it was read from when the scan was offline.
func sarifLocationOf(f finding.Finding) sarifLocation {
	name := objectName(f.Object)
	loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: f.Object.Name, FullyQualifiedName: cmp.Or(name, "(no object)"), Kind: "resource"}}}
	if file := f.Evidence["file"]; file != "" {
		loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(file)}}
		if line, err := strconv.Atoi(f.Evidence["line"]); err == nil && line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		}
	}
	return loc
}

// fileURI turns a file path into the URI reference SARIF wants: file:///abs/path for an absolute path, a relative
// reference (escaped, "./"-prefixed when the first segment has a colon) for a relative one.
func fileURI(path string) string {
	slashed := filepath.ToSlash(path)
	if filepath.IsAbs(path) || strings.HasPrefix(slashed, "/") {
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // a Windows drive path: file:///C:/…
		}
		return (&url.URL{Scheme: "file", Path: slashed}).String()
	}
	return (&url.URL{Path: slashed}).String()
}
