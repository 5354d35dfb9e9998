package policy

import (
	"context"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

/*
Check image-provenance binds a VNF's images to its onboarded package (M1047), in protected namespaces:

  - every image must be pinned by digest (repo@sha256:...), since a tag can be moved to another image after the
    package was onboarded (registries.requireDigest, default true);
  - for a pod or template that belongs to a VNF instance, every digest must be one the instance's VNF package
    declared (registries.requireDeclared, default true). An instance whose package declared no images can run none.

Allowed: any image outside protected namespaces (image-registry still applies there); tags when requireDigest is
false; undeclared digests when requireDeclared is false; updates that leave the pod spec unchanged.
*/
type imageProvenanceCheck struct{}

func init() { register(func() Check { return imageProvenanceCheck{} }) }

func (imageProvenanceCheck) ID() string            { return "image-provenance" }
func (imageProvenanceCheck) Technique() string     { return finding.MaliciousVNFInstantiation }
func (imageProvenanceCheck) Mitigations() []string { return []string{finding.MitigationAudit} }

// Needs names the lookups the check reads: protection decides whether it applies; the binding names the package whose
// images are declared.
func (imageProvenanceCheck) Needs() Lookup { return LookupNamespace | LookupBinding }

func (c imageProvenanceCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	if !a.Protected || a.Workload == nil || !a.SpecChanged {
		return out, nil
	}
	reg := a.Config.Registries
	inst := a.Binding.Instance
	for _, img := range a.images() {
		if img.err != nil {
			continue // image-registry reports unparsable references
		}
		if img.digest == "" {
			if reg.DigestRequired() {
				out = append(out, violation(c, img.field(), "container "+strconv.Quote(img.container)+": image "+strconv.Quote(img.image)+" is not pinned by digest; VNF images in protected namespaces must be referenced as repo@sha256:..."))
			}
			continue
		}
		if inst == nil || !reg.DeclaredRequired() {
			continue
		}
		if !declares(inst.DeclaredImages, img.digest) {
			msg := "container " + strconv.Quote(img.container) + ": digest " + img.digest + " is not one that the VNF package " + inst.VnfdID + " of instance " + inst.ID + " declared"
			if len(inst.DeclaredImages) == 0 {
				msg += " (the inventory records no images for that package)"
			}
			out = append(out, violation(c, img.field(), msg))
		}
	}
	return out, nil
}

func declares(images []vnf.DeclaredImage, digest string) bool {
	for i := range images {
		if images[i].Digest == digest {
			return true
		}
	}
	return false
}
