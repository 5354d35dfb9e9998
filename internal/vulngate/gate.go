package vulngate

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Policy says which scan results deny an image.
type Policy struct {
	// DenyAt denies an image with any vulnerability at or above this severity (Critical: only CRITICALs;
	// Unknown: any vulnerability at all). SeverityNone denies nothing by severity.
	DenyAt Severity `json:"denyAt,omitempty"`
	// MaxCount denies an image with more than N vulnerabilities of exactly that severity ({High: 5}: six HIGHs
	// deny). Vulnerabilities the policy ignores are not counted.
	MaxCount map[Severity]int `json:"maxCount,omitempty"`
	// IgnoreUnfixed ignores vulnerabilities without a fixed version: the operator cannot act on them by updating.
	IgnoreUnfixed bool `json:"ignoreUnfixed,omitempty"`
	// Allow lists vulnerability IDs (CVE-..., GHSA-...) the operator has accepted; they are ignored in every image.
	// Matching ignores case.
	Allow []string `json:"allow,omitempty"`
	// MissingReport is the decision for an image no report describes. The zero value denies.
	MissingReport Decision `json:"missingReport"`
}

// Validate says what is wrong with a policy.
func (p Policy) Validate() error {
	var errs []error
	if p.DenyAt < SeverityNone || p.DenyAt > Critical {
		errs = append(errs, fmt.Errorf("denyAt: %s is not a severity", p.DenyAt))
	}
	for _, s := range slices.Sorted(maps.Keys(p.MaxCount)) {
		n := p.MaxCount[s]
		if s < Unknown || s > Critical {
			errs = append(errs, fmt.Errorf("maxCount: %s is not a severity", s))
		}
		if n < 0 {
			errs = append(errs, fmt.Errorf("maxCount[%s]: %d is negative; 0 denies any", s, n))
		}
	}
	if p.MissingReport != Deny && p.MissingReport != Allow {
		errs = append(errs, fmt.Errorf("missingReport: %s is neither deny nor allow", p.MissingReport))
	}
	for i, id := range p.Allow {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, fmt.Errorf("allow[%d]: empty vulnerability ID", i))
		}
	}
	return errors.Join(errs...)
}

// Reason says why Check decided as it did.
type Reason string

// Reasons.
const (
	ReasonPassed   Reason = "passed"         // a report was found and the policy accepts it
	ReasonSeverity Reason = "severity"       // a vulnerability at or above DenyAt
	ReasonCount    Reason = "count"          // more vulnerabilities of a severity than MaxCount allows
	ReasonMissing  Reason = "missing-report" // no report for the digest; MissingReport decided
)

// Result is the gate's decision on one image.
type Result struct {
	Allowed bool
	Reason  Reason
	// Message explains the decision for an admission response or a finding: the worst vulnerabilities, the counts,
	// the report's source and age.
	Message string
	// Digest is the image digest that was looked up.
	Digest string
	// Worst are up to three of the vulnerabilities the policy counted, worst first.
	Worst []Vulnerability
	// Counts are the vulnerabilities the policy counted, per severity; nil when no report was found.
	Counts map[Severity]int
	// Ignored is how many vulnerabilities the policy ignored (accepted IDs, unfixed with IgnoreUnfixed).
	Ignored int
	// Source is the report's Source; empty when no report was found.
	Source string
	// Scanned is when the scan ran, and Age how long before the check; zero when the report does not say.
	Scanned time.Time
	Age     time.Duration
}

// worstShown is how many vulnerabilities a message names.
const worstShown = 3

// Gate checks images against a Policy and the current Index. Check is safe to call from many goroutines while
// Load or Reload swaps the index.
type Gate struct {
	policy Policy
	allow  map[string]bool // upper-cased Policy.Allow
	logger *slog.Logger
	now    func() time.Time // time.Now; tests fix it

	index atomic.Pointer[Index]

	mu      sync.Mutex // serialises Load and Reload
	paths   []string
	objects []*unstructured.Unstructured
}

// NewGate makes a gate with an empty index (every image is then a missing report) after validating the policy.
// logger may be nil (slog.Default()).
func NewGate(p Policy, logger *slog.Logger) (*Gate, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("vulnerability policy: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	// The gate keeps its own copies, so that the caller's later edits cannot race with Check.
	p.MaxCount = maps.Clone(p.MaxCount)
	p.Allow = slices.Clone(p.Allow)
	g := &Gate{policy: p, allow: make(map[string]bool, len(p.Allow)), logger: logger, now: time.Now}
	for _, id := range p.Allow {
		g.allow[strings.ToUpper(strings.TrimSpace(id))] = true
	}
	g.index.Store(NewIndex(nil))
	return g, nil
}

// Policy returns the gate's policy.
func (g *Gate) Policy() Policy { return g.policy }

// Index returns the current index.
func (g *Gate) Index() *Index { return g.index.Load() }

// SetIndex replaces the index, for callers that build one themselves (NewIndex, Build).
func (g *Gate) SetIndex(ix *Index) {
	if ix == nil {
		ix = NewIndex(nil)
	}
	g.index.Store(ix)
}

// Load reads reports from paths and objects (see Build) and swaps them in. On error the current index stays and
// the error says which files or objects are bad; the sources are remembered either way, for Reload.
func (g *Gate) Load(paths []string, objects []*unstructured.Unstructured) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paths, g.objects = slices.Clone(paths), slices.Clone(objects)
	return g.load()
}

// Reload reads the sources of the last Load again, as after a SIGHUP or a change in the reports directory.
func (g *Gate) Reload() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.load()
}

func (g *Gate) load() error {
	ix, err := Build(g.paths, g.objects, g.logger)
	if err != nil {
		g.logger.Error("vulnerability reports not reloaded; the last good index stays", "reports", g.index.Load().Len(), "err", err)
		return fmt.Errorf("vulnerability reports: %w", err)
	}
	g.index.Store(ix)
	g.logger.Info("vulnerability reports loaded", "reports", ix.Len(), "paths", g.paths, "objects", len(g.objects))
	return nil
}

// Check decides on the image with imageDigest ("sha256:..." or "repo@sha256:..."); repo, optional, is the image's
// repository as the pod names it and picks between reports of the same digest from different repositories.
func (g *Gate) Check(imageDigest, repo string) Result {
	r, ok := g.index.Load().Lookup(imageDigest, repo)
	digest := imageDigest
	if at := strings.LastIndexByte(digest, '@'); at >= 0 {
		digest = digest[at+1:]
	}
	image := digest
	if repo != "" {
		image = repo + "@" + digest
	}
	if !ok {
		allowed := g.policy.MissingReport == Allow
		why := "no vulnerability report was found for image digest " + digest
		if repo != "" {
			why += " (" + image + ")"
		}
		if !validDigest(digest) {
			// Reports are matched by digest only: a tag can be moved to other content after the scan.
			why = "image " + strconv.Quote(imageDigest) + " is not pinned by a sha256 digest, so no vulnerability report can be matched to it"
		}
		verb := "denied"
		if allowed {
			verb = "allowed"
		}
		return Result{
			Allowed: allowed, Reason: ReasonMissing, Digest: digest,
			Message: why + "; " + verb + " by the policy for images without a report",
		}
	}
	res := Result{Allowed: true, Reason: ReasonPassed, Digest: digest, Source: r.Source, Scanned: r.Scanned, Counts: make(map[Severity]int, len(Severities))}
	if !r.Scanned.IsZero() {
		res.Age = g.now().Sub(r.Scanned)
	}
	var atOrAbove int
	for _, v := range r.Vulnerabilities {
		if g.allow[strings.ToUpper(v.ID)] || g.policy.IgnoreUnfixed && v.Fixed == "" {
			res.Ignored++
			continue
		}
		res.Counts[v.Severity]++
		if res.Worst == nil {
			res.Worst = make([]Vulnerability, 0, worstShown)
		}
		if len(res.Worst) < worstShown {
			res.Worst = append(res.Worst, v)
		}
		if g.policy.DenyAt != SeverityNone && v.Severity >= g.policy.DenyAt {
			atOrAbove++
		}
	}
	summaryOnly := len(r.Vulnerabilities) == 0 && total(r.Summary) > 0
	if summaryOnly {
		// trivy-operator can report counts without the list; without IDs nothing can be ignored, so the counts
		// stand as they are.
		maps.Copy(res.Counts, r.Summary)
		for _, s := range Severities {
			if g.policy.DenyAt != SeverityNone && s >= g.policy.DenyAt {
				atOrAbove += r.Summary[s]
			}
		}
	}
	var why string
	switch {
	case atOrAbove > 0:
		res.Allowed, res.Reason = false, ReasonSeverity
		why = "has " + strconv.Itoa(atOrAbove) + " vulnerabilit" + plural(atOrAbove, "y", "ies") + " at or above " + g.policy.DenyAt.String()
	default:
		for _, s := range Severities {
			if limit, ok := g.policy.MaxCount[s]; ok && res.Counts[s] > limit {
				res.Allowed, res.Reason = false, ReasonCount
				why = "has " + strconv.Itoa(res.Counts[s]) + " " + s.String() + " vulnerabilities, more than the " + strconv.Itoa(limit) + " allowed"
				break
			}
		}
	}
	var b strings.Builder
	b.Grow(512) // the message of a denial with three vulnerabilities, without regrowing
	b.WriteString("image " + image + " ")
	if res.Allowed {
		b.WriteString("passes the vulnerability policy")
	} else {
		b.WriteString(why)
	}
	if len(res.Worst) > 0 {
		b.WriteString(": ")
		for i, v := range res.Worst {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
	}
	b.WriteString("; counts")
	for _, s := range Severities {
		b.WriteString(" " + s.String() + "=" + strconv.Itoa(res.Counts[s]))
	}
	if summaryOnly {
		b.WriteString(" (from the report's summary: it lists no vulnerabilities)")
	}
	if res.Ignored > 0 {
		b.WriteString(", " + strconv.Itoa(res.Ignored) + " ignored (accepted or unfixed)")
	}
	b.WriteString("; report " + r.Source)
	if r.Scanned.IsZero() {
		b.WriteString(", scan time unknown")
	} else {
		b.WriteString(", scanned " + r.Scanned.UTC().Format(time.RFC3339) + " (" + res.Age.Round(time.Second).String() + " ago)")
	}
	res.Message = b.String()
	return res
}

func total(counts map[Severity]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
