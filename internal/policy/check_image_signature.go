package policy

import (
	"context"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check image-signature requires VNF images to be signed by their provider (M1047), in protected namespaces, when
images.signatures names providers: every image of a pod or template that belongs to a VNF instance must carry a
cosign signature by one of the keys configured for the instance's vnfProvider, over the very digest the reference
resolves to (a tag is resolved through the registry). An instance whose provider has no keys configured can run
no image, and a registry that cannot be reached denies (fail closed): the message says which. An image the verifier was told not
to look up (policy test --offline) is named in the decision as not checked, never as verified.

Allowed: every image outside protected namespaces, and of objects that belong to no instance (vnf-instantiation
judges those); every image when images.signatures is not configured; updates that leave the pod spec unchanged.
*/
type imageSignatureCheck struct{}

func init() { register(func() Check { return imageSignatureCheck{} }) }

func (imageSignatureCheck) ID() string            { return "image-signature" }
func (imageSignatureCheck) Technique() string     { return finding.MaliciousVNFInstantiation }
func (imageSignatureCheck) Mitigations() []string { return []string{finding.MitigationAudit} }

// Needs names the lookups the check reads: protection decides whether it applies; the binding names the provider whose
// keys sign.
func (imageSignatureCheck) Needs() Lookup { return LookupNamespace | LookupBinding }

func (c imageSignatureCheck) Evaluate(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	inst := a.Binding.Instance
	if !a.Protected || a.Workload == nil || !a.SpecChanged || inst == nil || a.Images == nil || !a.Images.Signatures() {
		return out, nil
	}
	for _, img := range a.images() {
		if img.err != nil {
			continue // image-registry reports unparsable references
		}
		if _, err := a.Images.VerifySignature(ctx, img.image, inst.VnfProvider); err != nil {
			if a.notChecked(c.ID(), img, err) {
				continue
			}
			out = append(out, violation(c, img.field(), "container "+strconv.Quote(img.container)+": image "+strconv.Quote(img.image)+
				" of VNF instance "+inst.ID+" (provider "+strconv.Quote(inst.VnfProvider)+"): "+err.Error()))
		}
	}
	return out, nil
}
