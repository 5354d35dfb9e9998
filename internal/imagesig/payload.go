package imagesig

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Cosign's conventions for signature images.
const (
	// SimpleSigningMediaType is the media type of a cosign signature payload layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation is the layer annotation holding the base64 signature over the payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// SignatureTagSuffix ends the tag of the signature image: sha256-<hex>.sig.
	SignatureTagSuffix = ".sig"
	// maxPayloadSize bounds what is read of a payload blob: cosign's are a few hundred bytes, and a registry
	// must not make admission read an arbitrary blob.
	maxPayloadSize = 64 << 10
	// maxSignatureLayers bounds the layers examined in one signature image.
	maxSignatureLayers = 64
)

// DecodePayload parses a simple signing payload and checks what verification relies on: the type is cosign's,
// and the manifest digest is a well-formed digest. The docker-reference is returned as claimed, unchecked.
func DecodePayload(b []byte) (payload.SimpleContainerImage, error) {
	var p payload.SimpleContainerImage
	if len(b) > maxPayloadSize {
		return p, fmt.Errorf("payload of %d bytes exceeds %d", len(b), maxPayloadSize)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("payload is not simple signing JSON: %w", err)
	}
	if p.Critical.Type != payload.CosignSignatureType {
		return p, fmt.Errorf("payload critical.type is %q, want %q", p.Critical.Type, payload.CosignSignatureType)
	}
	if _, err := v1.NewHash(p.Critical.Image.DockerManifestDigest); err != nil {
		return p, fmt.Errorf("payload critical.image.docker-manifest-digest %q: %w", p.Critical.Image.DockerManifestDigest, err)
	}
	return p, nil
}
