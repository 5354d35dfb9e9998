// Package imagesig verifies cosign signatures of container images against VNF providers' public keys, at
// admission (issue 6, M1047 for FGT5013).
//
// An image reference is first resolved to a manifest digest through its registry (a tag is resolved with a
// HEAD request and cached for a short time, since tags move; a digest is kept as it is). The signature is then
// looked up where cosign stores it: an OCI image in the same repository tagged sha256-<hex>.sig, whose layers
// are "simple signing" payloads (application/vnd.dev.cosign.simplesigning.v1+json) carrying the base64
// signature in the layer annotation dev.cosignproject.cosign/signature. A layer counts only if the signature
// verifies over the payload bytes with one of the configured keys AND the payload names the image's own digest,
// so that a signature copied from another image does not verify.
//
// Results are cached per digest and key set (a moved tag resolves to a new digest and is verified afresh).
// Registry failures are reported as *RegistryError, never cached, so that admission can fail closed with a
// clear message; every other refusal is a *VerificationError whose Reason is one of the Err* sentinels.
//
// Keyless verification (Fulcio certificates, Rekor transparency log) needs those services and is not supported:
// a key configured as keyless is refused by NewKeySet with ErrKeylessUnsupported.
package imagesig
