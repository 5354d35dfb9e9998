package policy

import (
	"context"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check image-vulnerabilities keeps images with vulnerabilities the operator will not run out of the VNF namespaces
(M1047: "scan images before deployment, and block those that are not in compliance"), in protected namespaces,
when images.vulnerabilities is configured: the image's scan report (Trivy JSON, by digest) must show nothing at or
above images.vulnerabilities.denyAt (default CRITICAL) and no more than maxCount of a severity; an image without a
report is denied unless missingReport is allow. The denial names the worst vulnerabilities. An image the gate was
told not to look up (policy test --offline: a tag needs the registry for its digest) is named in the decision as
not checked.

Allowed: every image outside protected namespaces; accepted vulnerability IDs (allow); unfixed ones when
ignoreUnfixed; images with a passing report; updates that leave the pod spec unchanged.
*/
type imageVulnerabilitiesCheck struct{}

func init() { register(func() Check { return imageVulnerabilitiesCheck{} }) }

func (imageVulnerabilitiesCheck) ID() string            { return "image-vulnerabilities" }
func (imageVulnerabilitiesCheck) Technique() string     { return finding.MaliciousVNFInstantiation }
func (imageVulnerabilitiesCheck) Mitigations() []string { return []string{finding.MitigationAudit} }

// Needs names the lookups the check reads: protection decides whether it applies.
func (imageVulnerabilitiesCheck) Needs() Lookup { return LookupNamespace }

func (c imageVulnerabilitiesCheck) Evaluate(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	if !a.Protected || a.Workload == nil || !a.SpecChanged || a.Images == nil || !a.Images.Vulnerabilities() {
		return out, nil
	}
	for _, img := range a.images() {
		if img.err != nil {
			continue
		}
		deny, err := a.Images.CheckVulnerabilities(ctx, img.image, img.digest)
		if a.notChecked(c.ID(), img, err) {
			continue
		}
		if err != nil {
			deny = err.Error()
		}
		if deny != "" {
			out = append(out, violation(c, img.field(), "container "+strconv.Quote(img.container)+": image "+strconv.Quote(img.image)+": "+deny))
		}
	}
	return out, nil
}
