package vulngate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vnfguard/vnfguard/internal/jsonpos"
)

// The fields vnfguard reads of Trivy's JSON report (github.com/aquasecurity/trivy pkg/types Report, Result,
// DetectedVulnerability; schema version 2). Trivy writes Go field names as JSON keys.
type trivyReport struct {
	SchemaVersion int
	CreatedAt     time.Time // since Trivy v0.47; zero when absent
	ArtifactName  string
	ArtifactType  string
	Metadata      struct {
		ImageID     string
		RepoTags    []string
		RepoDigests []string
	}
	Results []struct {
		Target          string
		Class           string
		Vulnerabilities []trivyVulnerability
	}
}

type trivyVulnerability struct {
	VulnerabilityID  string
	PkgName          string
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
	Title            string
	// CVSS is keyed by source (nvd, redhat, ghsa, ...).
	CVSS map[string]struct {
		V2Score  float64
		V3Score  float64
		V40Score float64
	}
}

// trivySchemaVersion is the only report schema vnfguard reads: Trivy has written version 2 since v0.20 (2021).
const trivySchemaVersion = 2

// Error is a report that could not be read, with where: the file, the 1-based line and column and the byte offset
// when the problem is at a place in the file, and why.
type Error struct {
	File   string
	Line   int   // 0 when the problem concerns the whole report
	Column int   // 0 when unknown
	Offset int64 // -1 when unknown
	Err    error
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			where += ":" + strconv.Itoa(e.Column)
		}
	}
	if e.Offset >= 0 {
		where += " (offset " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	return where + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// errorAt builds an *Error at a byte offset of data.
func errorAt(file string, data []byte, offset int64, err error) *Error {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return &Error{File: file, Line: line, Column: col, Offset: offset, Err: err}
}

// ParseTrivy reads one Trivy JSON report (`trivy image --format json`); source names it in errors and in
// Report.Source. The report must be schema version 2 and name the image by digest, in Metadata.RepoDigests or in
// ArtifactName (repo@sha256:...): an image scanned from a local daemon without a registry digest cannot be matched
// to the image a pod runs. Errors are *Error.
func ParseTrivy(data []byte, source string) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var tr trivyReport
	if err := dec.Decode(&tr); err != nil {
		return nil, jsonError(source, data, dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorAt(source, data, dec.InputOffset(), errors.New("unexpected data after the report: a file holds one Trivy report"))
	}
	whole := func(err error) *Error { return &Error{File: source, Offset: -1, Err: err} }
	if tr.SchemaVersion != trivySchemaVersion {
		return nil, whole(fmt.Errorf("SchemaVersion is %d, want %d: not a Trivy JSON report (trivy image --format json), or one from an unsupported Trivy version", tr.SchemaVersion, trivySchemaVersion))
	}
	r := &Report{Source: source, Artifact: tr.ArtifactName, Scanned: tr.CreatedAt}
	refs := tr.Metadata.RepoDigests
	if len(refs) == 0 && bytes.Contains([]byte(tr.ArtifactName), []byte("@sha256:")) {
		refs = []string{tr.ArtifactName}
	}
	for _, ref := range refs {
		repo, digest, err := splitRef(ref)
		if err != nil {
			return nil, whole(fmt.Errorf("Metadata.RepoDigests: %w", err))
		}
		if r.Digest != "" && digest != r.Digest {
			// One scan is of one manifest; two digests mean the report is not what we think it is.
			return nil, whole(fmt.Errorf("Metadata.RepoDigests names two digests, %s and %s", r.Digest, digest))
		}
		r.Digest = digest
		r.Refs = append(r.Refs, repo+"@"+digest)
	}
	if r.Digest == "" {
		return nil, whole(fmt.Errorf("artifact %q has no digest (Metadata.RepoDigests is empty): scan the image from its registry, or by repo@sha256:..., so that the report can be matched to pods", tr.ArtifactName))
	}
	for i, res := range tr.Results {
		for j, tv := range res.Vulnerabilities {
			sev, err := parseScanned(tv.Severity)
			if err != nil {
				return nil, whole(fmt.Errorf("Results[%d].Vulnerabilities[%d] (%s): %w", i, j, tv.VulnerabilityID, err))
			}
			if tv.VulnerabilityID == "" {
				return nil, whole(fmt.Errorf("Results[%d].Vulnerabilities[%d]: no VulnerabilityID", i, j))
			}
			v := Vulnerability{
				ID: tv.VulnerabilityID, Severity: sev, Package: tv.PkgName,
				Installed: tv.InstalledVersion, Fixed: tv.FixedVersion, Title: tv.Title,
			}
			for _, c := range tv.CVSS {
				v.Score = max(v.Score, c.V2Score, c.V3Score, c.V40Score)
			}
			r.Vulnerabilities = append(r.Vulnerabilities, v)
		}
	}
	r.finish()
	return r, nil
}

// jsonError places a decoding error: syntax and type errors carry an offset; other errors are placed where the
// decoder stopped.
func jsonError(source string, data []byte, dec *json.Decoder, err error) *Error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		timeErr *time.ParseError
		offset  = dec.InputOffset()
	)
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the offending one included: point at that byte.
		offset = max(syntax.Offset-1, 0)
		err = fmt.Errorf("not valid JSON near %q: %w", jsonpos.Around(data, offset), err)
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
		err = fmt.Errorf("field %s: %w", typeErr.Field, err)
	case errors.As(err, &timeErr):
		// CreatedAt is the only time the report's fields hold.
		err = fmt.Errorf("CreatedAt: %w", err)
	case errors.Is(err, io.EOF):
		err = errors.New("the file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		offset = int64(len(data))
		err = errors.New("the JSON ends early: the report is truncated")
	}
	return errorAt(source, data, offset, err)
}
