package vnfpkg

import "errors"

// The reasons a package is refused. Every error Open and Verify return wraps one of them (use errors.Is), and
// names the artifact concerned.
var (
	// ErrFormat: the file is not a zip, or TOSCA.meta, the manifest or the VNFD is malformed.
	ErrFormat = errors.New("malformed package")
	// ErrUnsafePath: an entry's path is absolute, has "..", a backslash or a NUL, or is not clean.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrDuplicate: two zip entries, or two manifest entries, have the same path.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrTooLarge: the package exceeds a size limit (Options.Limits).
	ErrTooLarge = errors.New("too large")
	// ErrMissing: the manifest lists an artifact the package does not hold, or TOSCA.meta names a missing file.
	ErrMissing = errors.New("missing artifact")
	// ErrUnlisted: the package holds a file the manifest does not list.
	ErrUnlisted = errors.New("artifact not listed in the manifest")
	// ErrAlgorithm: the manifest names a hash algorithm other than SHA-256, SHA-384 or SHA-512.
	ErrAlgorithm = errors.New("unsupported hash algorithm")
	// ErrHashMismatch: an artifact's content does not have the hash the manifest gives.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrUnsigned: the manifest carries no signature and Options.AllowUnsigned is false.
	ErrUnsigned = errors.New("package not signed")
	// ErrSignature: the manifest's signature is malformed, does not verify, or is not made by the package's
	// certificate.
	ErrSignature = errors.New("bad signature")
	// ErrUntrusted: the signer's certificate does not chain to a trust anchor, or no trust anchor was given.
	ErrUntrusted = errors.New("untrusted signer")
)
