package vnfpkg

import (
	"bytes"
	"fmt"
	"strings"
)

// ToscaMeta is TOSCA-Metadata/TOSCA.meta (TOSCA Simple Profile in YAML §3.2, with SOL004 §4.3.2's ETSI-Entry-*
// keywords). Only block 0 is kept: later blocks (Name/Content-Type, from TOSCA 1.0) describe nothing SOL004 uses.
type ToscaMeta struct {
	FileVersion      string // TOSCA-Meta-File-Version
	CSARVersion      string // CSAR-Version
	CreatedBy        string // Created-By
	EntryDefinitions string // Entry-Definitions: the main VNFD
	EntryManifest    string // ETSI-Entry-Manifest
	EntryCertificate string // ETSI-Entry-Certificate; empty when the certificate is only in the signature
	EntryChangeLog   string // ETSI-Entry-Change-Log
	EntryLicenses    string // ETSI-Entry-Licenses
	EntryTests       string // ETSI-Entry-Tests
	// Other holds block 0's other keywords, unchanged.
	Other map[string]string
}

// ParseToscaMeta parses TOSCA.meta: "Keyword: value" lines, blocks separated by blank lines. Entry-Definitions is
// required; a keyword given twice in block 0, or a line that is not "Keyword: value", is an error with its line.
func ParseToscaMeta(data []byte) (*ToscaMeta, error) {
	m := &ToscaMeta{Other: map[string]string{}}
	seen := map[string]bool{}
	block := 0
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM from an editor
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, " \t\r")
		if line == "" {
			if len(seen) > 0 {
				block++
			}
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("TOSCA.meta:%d: %w: %q is not \"Keyword: value\"", i+1, ErrFormat, clip(line))
		}
		if block > 0 {
			continue
		}
		if seen[key] {
			return nil, fmt.Errorf("TOSCA.meta:%d: %w: %s is given twice", i+1, ErrFormat, key)
		}
		seen[key] = true
		switch key {
		case "TOSCA-Meta-File-Version":
			m.FileVersion = value
		case "CSAR-Version":
			m.CSARVersion = value
		case "Created-By":
			m.CreatedBy = value
		case "Entry-Definitions":
			m.EntryDefinitions = value
		case "ETSI-Entry-Manifest":
			m.EntryManifest = value
		case "ETSI-Entry-Certificate":
			m.EntryCertificate = value
		case "ETSI-Entry-Change-Log":
			m.EntryChangeLog = value
		case "ETSI-Entry-Licenses":
			m.EntryLicenses = value
		case "ETSI-Entry-Tests":
			m.EntryTests = value
		default:
			m.Other[key] = value
		}
	}
	if m.EntryDefinitions == "" {
		return nil, fmt.Errorf("TOSCA.meta: %w: no Entry-Definitions (the path of the main VNFD)", ErrFormat)
	}
	return m, nil
}

// clip shortens a quoted input for an error message.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
