package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin image-provenance judges the digest requirement of check image-provenance when registries.requireDigest is true
(the default): in protected namespaces, a pod or workload pod template with a container image (init, regular,
ephemeral) that is a valid reference (validTagRef) not pinned by digest is refused. Pinned is what the check takes
for it: a reference with an '@' that go-containerregistry parses as a digest, which needs sha256 and 64 lowercase hex
digits; a reference with an '@' that does not parse is the business of check image-registry, which refuses it as not
valid, and of its twin, so this twin lets every reference with an '@' through.

Left to the webhook: the declared digests (registries.requireDeclared: the digest must be one the package of the pod's
VNF instance declared), which need the instance, found only through an owner-chain lookup, and its package; and the
few valid references validTagRef does not recognise (registries written with other punctuation, IPv6 literals or
ports of more than five digits).
*/
func init() {
	register(twin{check: "image-provenance", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: imageProvenance})
}

func imageProvenance(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	if !r.cfg.Registries.DigestRequired() {
		return nil, nil
	}
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	vars := append([]admregv1.Variable{{Name: "protected", Expression: protected}}, podVariables()...)
	vars = append(vars, imageRefVariables()...)
	// Every image with an '@' (nearly all, in a protected namespace) says so without imageRefs: validTagRef wants no
	// digest, and only an image with an '@' has one.
	pinned := "c, string(c.?image.orValue('')).contains('@')"
	vars = append(vars,
		admregv1.Variable{Name: "imagesPinned", Expression: "variables.containers.all(" + pinned + ") && variables.ephemeral.all(" + pinned + ")"},
		admregv1.Variable{Name: "imagesUnpinned", Expression: "variables.imageRefs.filter(r, " + validTagRef + ")"})
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{{
			Expression: "!variables.protected || !variables.specChanged || variables.imagesPinned || !variables.imageRefs.exists(r, " + validTagRef + ")",
			Message:    "vnfguard denied (in the API server): " + r.tag() + " a container image is not pinned by digest; VNF images in protected namespaces must be referenced as repo@sha256:...",
			MessageExpression: r.denied() + " + variables.imagesUnpinned.map(r, 'container \"' + r.container + '\": image \"' + r.image + '\"').join('; ') + " +
				quote(" not pinned by digest; VNF images in protected namespaces must be referenced as repo@sha256:..."),
			Reason: forbidden(),
		}}),
	}, nil
}
