// Package deps pins modules that helpers are about to use; it is removed once they are imported for real.
package deps

import (
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "github.com/sigstore/sigstore/pkg/signature/payload"
	_ "github.com/smallstep/pkcs7"
)
