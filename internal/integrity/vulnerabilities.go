package integrity

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vulngate"
)

// reportPoll is how often the report files are checked for changes.
const reportPoll = 5 * time.Second

// vulnerabilities is the gate with its report files, re-read when they change.
type vulnerabilities struct {
	gate   *vulngate.Gate
	paths  []string
	stamp  string
	logger *slog.Logger
}

func newVulnerabilities(_ context.Context, c *config.Vulnerabilities, logger *slog.Logger) (*vulnerabilities, error) {
	p := vulngate.Policy{DenyAt: vulngate.Critical, IgnoreUnfixed: c.IgnoreUnfixed, Allow: c.Allow, MissingReport: vulngate.Deny}
	var err error
	if c.DenyAt != "" {
		if p.DenyAt, err = vulngate.ParseSeverity(c.DenyAt); err != nil {
			return nil, fmt.Errorf("images.vulnerabilities.denyAt: %w", err)
		}
	}
	if c.MissingReport != "" {
		if p.MissingReport, err = vulngate.ParseDecision(c.MissingReport); err != nil {
			return nil, fmt.Errorf("images.vulnerabilities.missingReport: %w", err)
		}
	}
	for sev, n := range c.MaxCount {
		s, err := vulngate.ParseSeverity(sev)
		if err != nil {
			return nil, fmt.Errorf("images.vulnerabilities.maxCount: %w", err)
		}
		if p.MaxCount == nil {
			p.MaxCount = map[vulngate.Severity]int{}
		}
		p.MaxCount[s] = n
	}
	gate, err := vulngate.NewGate(p, logger)
	if err != nil {
		return nil, fmt.Errorf("images.vulnerabilities: %w", err)
	}
	v := &vulnerabilities{gate: gate, paths: c.Reports, logger: logger}
	v.stamp = v.fingerprint()
	// A bad report at start is an error: the operator is there to fix it. Later, a bad edit keeps the last good.
	if err := gate.Load(c.Reports, nil); err != nil {
		return nil, fmt.Errorf("images.vulnerabilities.reports: %w", err)
	}
	return v, nil
}

// check runs the gate; "" when the image passes.
func (v *vulnerabilities) check(image, digest string) string {
	repo := ""
	if ref, err := name.ParseReference(image); err == nil {
		repo = ref.Context().Name()
	}
	res := v.gate.Check(digest, repo)
	if res.Allowed {
		return ""
	}
	return res.Message
}

// run re-reads the reports when a file under the configured paths changes, until ctx ends.
func (v *vulnerabilities) run(ctx context.Context) {
	tick := time.NewTicker(reportPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if fp := v.fingerprint(); fp != v.stamp {
			v.stamp = fp
			_ = v.gate.Reload() // logs and keeps the last good index on error
		}
	}
}

// fingerprint summarises the report files' names, sizes and times, to notice a change without reading them.
func (v *vulnerabilities) fingerprint() string {
	var b strings.Builder
	for _, p := range v.paths {
		_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil {
				fmt.Fprintf(&b, "%s|%d|%d\n", path, info.Size(), info.ModTime().UnixNano())
			}
			return nil
		})
	}
	return b.String()
}
