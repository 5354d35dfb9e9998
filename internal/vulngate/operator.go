package vulngate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// trivy-operator's VulnerabilityReport (aquasecurity.github.io/v1alpha1), the fields vnfguard reads.
const (
	operatorGroup = "aquasecurity.github.io"
	operatorKind  = "VulnerabilityReport"
)

type operatorReport struct {
	Report struct {
		UpdateTimestamp time.Time `json:"updateTimestamp"`
		Registry        struct {
			Server string `json:"server"`
		} `json:"registry"`
		Artifact struct {
			Repository string `json:"repository"`
			Digest     string `json:"digest"`
			Tag        string `json:"tag"`
		} `json:"artifact"`
		Summary *struct {
			CriticalCount int `json:"criticalCount"`
			HighCount     int `json:"highCount"`
			MediumCount   int `json:"mediumCount"`
			LowCount      int `json:"lowCount"`
			UnknownCount  int `json:"unknownCount"`
		} `json:"summary"`
		Vulnerabilities []struct {
			VulnerabilityID  string   `json:"vulnerabilityID"`
			Resource         string   `json:"resource"`
			InstalledVersion string   `json:"installedVersion"`
			FixedVersion     string   `json:"fixedVersion"`
			Severity         string   `json:"severity"`
			Title            string   `json:"title"`
			Score            *float64 `json:"score"`
		} `json:"vulnerabilities"`
	} `json:"report"`
}

// ErrNoDigest is the error of a VulnerabilityReport whose artifact has no digest: trivy-operator writes such
// reports for images it could not resolve to a digest, and they cannot be matched to the image a pod runs.
// Load skips them (and logs them) rather than failing the whole index.
var ErrNoDigest = errors.New("the report's artifact has no digest")

// FromUnstructured reads a trivy-operator VulnerabilityReport. Report.Source is "VulnerabilityReport namespace/name".
func FromUnstructured(u *unstructured.Unstructured) (*Report, error) {
	source := operatorKind + " " + u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		source = operatorKind + " " + ns + "/" + u.GetName()
	}
	gvk := u.GroupVersionKind()
	if gvk.Group != operatorGroup || gvk.Kind != operatorKind {
		return nil, fmt.Errorf("%s: is a %s, not an %s/%s", source, gvk, operatorGroup, operatorKind)
	}
	// A JSON round trip reads numbers, times and nesting with the same rules as the API server wrote them.
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var or operatorReport
	if err := json.Unmarshal(data, &or); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	a := or.Report.Artifact
	repo := a.Repository
	if s := or.Report.Registry.Server; s != "" {
		repo = s + "/" + repo
	}
	r := &Report{Source: source, Artifact: repo, Digest: a.Digest, Scanned: or.Report.UpdateTimestamp}
	if a.Tag != "" {
		r.Artifact += ":" + a.Tag
	}
	if r.Scanned.IsZero() {
		r.Scanned = u.GetCreationTimestamp().Time
	}
	if a.Digest == "" {
		return nil, fmt.Errorf("%s (artifact %s): %w", source, r.Artifact, ErrNoDigest)
	}
	if !validDigest(a.Digest) {
		return nil, fmt.Errorf("%s: report.artifact.digest %q is not a sha256 digest", source, a.Digest)
	}
	if a.Repository != "" {
		r.Refs = []string{normaliseRepo(repo) + "@" + a.Digest}
	}
	for i, ov := range or.Report.Vulnerabilities {
		sev, err := parseScanned(ov.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: report.vulnerabilities[%d] (%s): %w", source, i, ov.VulnerabilityID, err)
		}
		if ov.VulnerabilityID == "" {
			return nil, fmt.Errorf("%s: report.vulnerabilities[%d]: no vulnerabilityID", source, i)
		}
		v := Vulnerability{
			ID: ov.VulnerabilityID, Severity: sev, Package: ov.Resource,
			Installed: ov.InstalledVersion, Fixed: ov.FixedVersion, Title: ov.Title,
		}
		if ov.Score != nil {
			v.Score = *ov.Score
		}
		r.Vulnerabilities = append(r.Vulnerabilities, v)
	}
	if s := or.Report.Summary; s != nil {
		r.Summary = map[Severity]int{Critical: s.CriticalCount, High: s.HighCount, Medium: s.MediumCount, Low: s.LowCount, Unknown: s.UnknownCount}
	}
	r.finish()
	return r, nil
}
