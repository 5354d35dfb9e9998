package imagesig

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons why an image is not verified. A *VerificationError wraps exactly one of them, so callers can branch
// with errors.Is.
var (
	// ErrNoSignature: the repository has no sha256-<hex>.sig image for the digest.
	ErrNoSignature = errors.New("no signature")
	// ErrWrongKey: signatures exist but none verifies with any of the configured keys.
	ErrWrongKey = errors.New("not signed by any of the keys")
	// ErrDigestMismatch: a signature verifies with a key but its payload names another image digest
	// (a signature copied from another image).
	ErrDigestMismatch = errors.New("signature payload names another image digest")
	// ErrMalformedSignature: the signature image or its payloads cannot be read (not a cosign signature).
	ErrMalformedSignature = errors.New("malformed signature image")
	// ErrImageNotFound: the registry answered that the image (tag or digest) does not exist.
	ErrImageNotFound = errors.New("image not found in registry")
	// ErrInvalidReference: the image reference cannot be parsed.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrNoKeys: no key to verify with (a protected VNF with no provider key).
	ErrNoKeys = errors.New("no public keys configured")
	// ErrKeylessUnsupported: keyless (Fulcio/Rekor) verification was configured; it needs online services.
	ErrKeylessUnsupported = errors.New("keyless (Fulcio/Rekor) verification is not supported offline; configure the provider's public key")
	// ErrRegistryUnreachable is wrapped by every *RegistryError, for errors.Is.
	ErrRegistryUnreachable = errors.New("registry unreachable")
)

// VerificationError says why an image is not verified: which image, at which digest, with which keys, why.
type VerificationError struct {
	Image  string   // the reference as given
	Digest string   // sha256:... when resolved, else ""
	Keys   []string // names of the keys tried
	Reason error    // one of the Err* sentinels
	Detail string   // what was found, e.g. the digest a copied payload names
}

func (e *VerificationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image %s", e.Image)
	if e.Digest != "" && !strings.Contains(e.Image, e.Digest) {
		fmt.Fprintf(&b, " (%s)", e.Digest)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason.Error())
	if errors.Is(e.Reason, ErrWrongKey) || errors.Is(e.Reason, ErrDigestMismatch) || errors.Is(e.Reason, ErrNoSignature) {
		fmt.Fprintf(&b, " [keys: %s]", strings.Join(e.Keys, ", "))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the reason, for errors.Is(err, ErrNoSignature) and the like.
func (e *VerificationError) Unwrap() error { return e.Reason }

// RegistryError says that the registry could not be asked (connection refused, timeout, TLS, 5xx, denied
// credentials): the image is neither verified nor refused on its merits, and admission should fail closed.
// It is never cached.
type RegistryError struct {
	Image    string // the reference as given
	Registry string // host[:port]
	Op       string // what was asked: "resolve", "fetch signature", "fetch signature payload"
	Err      error  // the transport's error
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("image %s: registry %s unreachable (%s): %v", e.Image, e.Registry, e.Op, e.Err)
}

// Unwrap returns both ErrRegistryUnreachable and the transport's error.
func (e *RegistryError) Unwrap() []error { return []error{ErrRegistryUnreachable, e.Err} }
