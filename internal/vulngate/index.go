package vulngate

import (
	"errors"
	"log/slog"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Index is an immutable set of reports, looked up by image digest. Build or NewIndex make one; a Gate swaps them.
type Index struct {
	byDigest map[string]*Report
	byRef    map[string]*Report
	// shared holds the digests that reports of more than one repository name; only for those does Lookup need to
	// normalise the repository the caller gives.
	shared map[string]bool
	n      int
}

// NewIndex indexes reports by digest and by repo@digest. When two reports describe the same image, the one scanned
// later wins (the later one in the list on a tie), so that a rescan replaces an older report.
func NewIndex(reports []*Report) *Index {
	ix := &Index{byDigest: make(map[string]*Report, len(reports)), byRef: make(map[string]*Report, len(reports)), shared: map[string]bool{}}
	newer := func(old, r *Report) bool { return old == nil || !r.Scanned.Before(old.Scanned) }
	repos := map[string]string{} // digest → the repository of its first report
	for _, r := range reports {
		if r == nil || r.Digest == "" {
			continue
		}
		ix.n++
		if newer(ix.byDigest[r.Digest], r) {
			ix.byDigest[r.Digest] = r
		}
		for _, ref := range r.Refs {
			if newer(ix.byRef[ref], r) {
				ix.byRef[ref] = r
			}
			repo, _, _ := strings.Cut(ref, "@")
			if first, ok := repos[r.Digest]; !ok {
				repos[r.Digest] = repo
			} else if first != repo {
				ix.shared[r.Digest] = true
			}
		}
	}
	return ix
}

// Build reads reports from paths (files or directories of Trivy JSON reports and VulnerabilityReport manifests)
// and from objects (VulnerabilityReports listed from the API server), and indexes them. The error joins one error
// per bad file, document or object, each saying where and why; no index is returned with it, so that a caller
// keeps its last good one. VulnerabilityReports without a digest are skipped and logged at Warn, not errors.
func Build(paths []string, objects []*unstructured.Unstructured, logger *slog.Logger) (*Index, error) {
	var l loaded
	for _, p := range paths {
		l.path(p)
	}
	for _, u := range objects {
		l.object(u, "")
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	if logger != nil {
		for _, err := range l.skipped {
			logger.Warn("vulnerability report skipped", "err", err)
		}
	}
	return NewIndex(l.reports), nil
}

// Len is the number of reports indexed (duplicates of an image included).
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return ix.n
}

// Lookup finds the report of an image: digest is "sha256:..." or a whole "repo@sha256:..."; repo, optional, picks
// among reports of the same digest from different repositories (the content is the same, but the reports may be of
// different ages). A digest with a report only under another repository still matches: a digest names the content.
func (ix *Index) Lookup(digest, repo string) (*Report, bool) {
	if ix == nil {
		return nil, false
	}
	if at := strings.LastIndexByte(digest, '@'); at >= 0 {
		if repo == "" {
			repo = digest[:at]
		}
		digest = digest[at+1:]
	}
	r, ok := ix.byDigest[digest]
	if !ok {
		return nil, false
	}
	if repo != "" && ix.shared[digest] {
		if byRepo, ok := ix.byRef[normaliseRepo(repo)+"@"+digest]; ok {
			return byRepo, true
		}
	}
	return r, true
}
