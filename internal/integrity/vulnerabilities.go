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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vulngate"
)

// reportPoll is how often the report files are checked for changes.
const reportPoll = 5 * time.Second

// operatorPoll is how often trivy-operator's VulnerabilityReports are listed again.
const operatorPoll = 30 * time.Second

// vulnerabilityReports is trivy-operator's resource.
var vulnerabilityReports = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "vulnerabilityreports"}

// vulnerabilities is the gate with its report files (re-read when they change) and, optionally, the cluster's
// VulnerabilityReports (listed again periodically).
type vulnerabilities struct {
	gate     *vulngate.Gate
	paths    []string
	stamp    string
	cluster  dynamic.Interface // nil: files only
	versions string            // the resourceVersions of the objects last loaded
	objects  []*unstructured.Unstructured
	logger   *slog.Logger
	// operatorSkipped: trivy-operator's reports are configured but not read (offline), so a missing report
	// proves nothing.
	operatorSkipped bool
}

func newVulnerabilities(ctx context.Context, c *config.Vulnerabilities, cluster dynamic.Interface, offline bool, logger *slog.Logger) (*vulnerabilities, error) {
	if c.OperatorReports && cluster == nil && !offline {
		return nil, fmt.Errorf("images.vulnerabilities.operatorReports needs a cluster: give --kubeconfig")
	}
	if !c.OperatorReports {
		cluster = nil
	}
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
	v := &vulnerabilities{gate: gate, paths: c.Reports, cluster: cluster, logger: logger, operatorSkipped: offline && c.OperatorReports}
	v.stamp = v.fingerprint()
	if cluster != nil {
		objects, versions, err := v.list(ctx)
		if err != nil {
			return nil, fmt.Errorf("images.vulnerabilities.operatorReports: %w", err)
		}
		v.objects, v.versions = objects, versions
	}
	// A bad report at start is an error: the operator is there to fix it. Later, a bad edit keeps the last good.
	if err := gate.Load(c.Reports, v.objects); err != nil {
		return nil, fmt.Errorf("images.vulnerabilities.reports: %w", err)
	}
	return v, nil
}

// list reads every VulnerabilityReport of the cluster, and a digest of their resourceVersions.
func (v *vulnerabilities) list(ctx context.Context) ([]*unstructured.Unstructured, string, error) {
	list, err := v.cluster.Resource(vulnerabilityReports).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w (is trivy-operator installed?)", vulnerabilityReports.GroupResource(), err)
	}
	objects := make([]*unstructured.Unstructured, 0, len(list.Items))
	var versions strings.Builder
	for i := range list.Items {
		objects = append(objects, &list.Items[i])
		versions.WriteString(string(list.Items[i].GetUID()) + "/" + list.Items[i].GetResourceVersion() + ",")
	}
	return objects, versions.String(), nil
}

// check runs the gate; "" when the image passes.
func (v *vulnerabilities) check(image, digest string) (string, error) {
	repo := ""
	if ref, err := name.ParseReference(image); err == nil {
		repo = ref.Context().Name()
	}
	res := v.gate.Check(digest, repo)
	switch {
	case res.Allowed:
		return "", nil
	case res.Reason == vulngate.ReasonMissing && v.operatorSkipped:
		return "", fmt.Errorf("%w (no report file describes %s, and trivy-operator's VulnerabilityReports are in the cluster)", errOffline, digest)
	}
	return res.Message, nil
}

// run re-reads the reports when a file under the configured paths changes, and lists the cluster's reports again
// every operatorPoll, until ctx ends.
func (v *vulnerabilities) run(ctx context.Context) {
	tick := time.NewTicker(reportPoll)
	defer tick.Stop()
	lastList := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		changed := false
		if fp := v.fingerprint(); fp != v.stamp {
			v.stamp, changed = fp, true
		}
		if v.cluster != nil && time.Since(lastList) >= operatorPoll {
			lastList = time.Now()
			objects, versions, err := v.list(ctx)
			switch {
			case err != nil:
				v.logger.Error("VulnerabilityReports not listed; the last ones stay in force", "error", err)
			case versions != v.versions:
				v.objects, v.versions, changed = objects, versions, true
			}
		}
		if changed {
			_ = v.gate.Load(v.paths, v.objects) // logs and keeps the last good index on error
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
