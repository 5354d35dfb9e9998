package vulngate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Vulnerability is one finding of a scan: a vulnerability in one installed package.
type Vulnerability struct {
	ID        string // CVE-2024-3094, GHSA-..., as the scanner names it
	Severity  Severity
	Package   string // PkgName (Trivy) or resource (trivy-operator)
	Installed string
	Fixed     string // empty when no fixed version is known
	Title     string
	Score     float64 // the highest CVSS base score the scanner gave; 0 when none
}

// String is "CVE-2024-3094 CRITICAL xz-utils 5.6.0-0.2 → 5.6.1+really5.4.5-1" ("→ no fix" when unfixed).
func (v Vulnerability) String() string {
	fixed := v.Fixed
	if fixed == "" {
		fixed = "no fix"
	}
	return v.ID + " " + v.Severity.String() + " " + v.Package + " " + v.Installed + " → " + fixed
}

// Report is one image's scan, whichever format it came in.
type Report struct {
	// Source says where the report came from: a file path, or "VulnerabilityReport namespace/name".
	Source string
	// Artifact is the image as the scanner named it (Trivy's ArtifactName, or registry/repository:tag).
	Artifact string
	// Digest is the image manifest's digest, sha256:...
	Digest string
	// Refs are the normalised repo@digest references of the image (go-containerregistry's spelling:
	// index.docker.io/library/nginx@sha256:...).
	Refs []string
	// Scanned is when the scan ran; the zero time when the report does not say.
	Scanned time.Time
	// Vulnerabilities are sorted worst first (see worse).
	Vulnerabilities []Vulnerability
	// Summary counts per severity as the report states them; for a VulnerabilityReport, trivy-operator's summary,
	// which can count vulnerabilities the report does not list. Check uses it when the list is empty.
	Summary map[Severity]int
}

// worse orders vulnerabilities worst first: severity, then those with a fix (the operator can act on them), then
// CVSS score, then ID and package so that the order is stable.
func worse(a, b Vulnerability) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if (a.Fixed == "") != (b.Fixed == "") {
		if a.Fixed != "" {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return strings.Compare(a.Package, b.Package)
}

// finish sorts the vulnerabilities and fills Summary from them when the report had none.
func (r *Report) finish() {
	slices.SortStableFunc(r.Vulnerabilities, worse)
	if r.Summary == nil {
		r.Summary = map[Severity]int{}
		for _, v := range r.Vulnerabilities {
			r.Summary[v.Severity]++
		}
	}
}

// splitRef parses "repo@sha256:..." into the normalised repository and the digest.
func splitRef(ref string) (repo, digest string, err error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return "", "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return d.Context().Name(), d.DigestStr(), nil
}

// validDigest reports whether s is sha256: followed by 64 lowercase hex digits, the only digest
// container runtimes resolve images to today.
func validDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// normaliseRepo spells a repository as go-containerregistry does ("nginx" is index.docker.io/library/nginx), which
// is how the admission checks spell it too; a repository that does not parse is returned as given.
func normaliseRepo(repo string) string {
	r, err := name.NewRepository(repo)
	if err != nil {
		return repo
	}
	return r.Name()
}
