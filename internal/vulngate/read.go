package vulngate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/manifest"
)

// loaded is what reading the sources gave: the reports, the reports skipped for want of a digest, and the errors.
type loaded struct {
	reports []*Report
	skipped []error
	errs    []error
}

func (l *loaded) object(u *unstructured.Unstructured, where string) {
	if u == nil {
		return
	}
	r, err := FromUnstructured(u)
	switch {
	case errors.Is(err, ErrNoDigest):
		l.skipped = append(l.skipped, err)
	case err != nil:
		if where != "" {
			err = fmt.Errorf("%s: %w", where, err)
		}
		l.errs = append(l.errs, err)
	default:
		if where != "" {
			r.Source = where + " (" + r.Source + ")"
		}
		l.reports = append(l.reports, r)
	}
}

// path reads a file, or a directory's *.json, *.yaml and *.yml files (recursively, in lexical order, skipping
// names that start with ".", such as a ConfigMap volume's ..data).
func (l *loaded) path(path string) {
	info, err := os.Stat(path)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("vulnerability reports: %w", err))
		return
	}
	if !info.IsDir() {
		l.file(path)
		return
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".yaml", ".yml":
			if !d.IsDir() {
				l.file(p)
			}
		}
		return nil
	})
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("vulnerability reports: walk %s: %w", path, err))
	}
}

// file reads a Trivy JSON report, or Kubernetes manifests holding VulnerabilityReports (a List of them, as
// `kubectl get vulnerabilityreports -o yaml` writes, included).
func (l *loaded) file(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("vulnerability reports: %w", err))
		return
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if isTrivy(data, path) {
		r, err := ParseTrivy(data, path)
		if err != nil {
			l.errs = append(l.errs, err)
			return
		}
		l.reports = append(l.reports, r)
		return
	}
	objs, err := manifest.Parse(data, path)
	if err != nil {
		l.errs = append(l.errs, err)
	}
	for _, o := range objs {
		u, ok := o.Object.(*unstructured.Unstructured)
		if !ok || o.GVK.Group != operatorGroup || o.GVK.Kind != operatorKind {
			l.errs = append(l.errs, fmt.Errorf("%s: a %s, not a Trivy report or an %s/%s", o.Where(), o.GVK.Kind, operatorGroup, operatorKind))
			continue
		}
		l.object(u, o.Where())
	}
}

// isTrivy tells a Trivy report from Kubernetes objects: a JSON object without a kind. JSON that does not parse is
// Trivy's when the file is named *.json, so that its error says where the syntax breaks.
func isTrivy(data []byte, path string) bool {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	var head struct {
		Kind any `json:"kind"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		return strings.EqualFold(filepath.Ext(path), ".json")
	}
	return head.Kind == nil
}
