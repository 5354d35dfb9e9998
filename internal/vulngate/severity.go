package vulngate

import (
	"fmt"
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Severity is a vulnerability's severity as Trivy names it. The zero value, SeverityNone, is no severity at all:
// a Policy whose DenyAt is SeverityNone denies nothing by severity.
type Severity int

// Severities from least to most urgent. Trivy ranks UNKNOWN below LOW, and so do we.
const (
	SeverityNone Severity = iota
	Unknown
	Low
	Medium
	High
	Critical
)

// Severities lists the real severities, most urgent first, the order messages print counts in.
var Severities = []Severity{Critical, High, Medium, Low, Unknown}

var severityNames = [...]string{"NONE", "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (s Severity) String() string {
	if s < SeverityNone || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively: UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL, or NONE / "" for
// SeverityNone.
func ParseSeverity(text string) (Severity, error) {
	if text == "" {
		return SeverityNone, nil
	}
	for i, name := range severityNames {
		if strings.EqualFold(text, name) {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q: want one of %s", text, strings.Join(severityNames[1:], ", "))
}

// parseScanned reads a severity as a scanner wrote it: an empty one is UNKNOWN, since the scanner did find something.
func parseScanned(text string) (Severity, error) {
	s, err := ParseSeverity(text)
	if err != nil || s == SeverityNone {
		if err == nil {
			return Unknown, nil
		}
		return Unknown, err
	}
	return s, nil
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name, so that configuration files can say `denyAt: CRITICAL`.
func (s *Severity) UnmarshalText(text []byte) error {
	v, err := ParseSeverity(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding maps the severity onto vnfguard's finding severities (UNKNOWN and NONE become Info).
func (s Severity) Finding() finding.Severity {
	switch s {
	case Low:
		return finding.Low
	case Medium:
		return finding.Medium
	case High:
		return finding.High
	case Critical:
		return finding.Critical
	}
	return finding.Info
}

// Decision is what the gate does with an image. The zero value is Deny, so that a Policy left empty fails closed
// for images without a report.
type Decision int

// Decisions.
const (
	Deny Decision = iota
	Allow
)

func (d Decision) String() string {
	switch d {
	case Deny:
		return "deny"
	case Allow:
		return "allow"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// ParseDecision reads "deny" or "allow", case-insensitively.
func ParseDecision(text string) (Decision, error) {
	switch strings.ToLower(text) {
	case "deny":
		return Deny, nil
	case "allow":
		return Allow, nil
	}
	return Deny, fmt.Errorf("unknown decision %q: want deny or allow", text)
}

// MarshalText writes "deny" or "allow".
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "deny" or "allow".
func (d *Decision) UnmarshalText(text []byte) error {
	v, err := ParseDecision(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
