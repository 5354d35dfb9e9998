// Package cosigntest gives end-to-end tests a real OCI registry on loopback (go-containerregistry's registry
// package) and cosign-format signatures made with keys the tests generate: what `cosign sign --key` pushes, a
// simple-signing payload in a layer of the image tagged sha256-<hex>.sig, the signature in the layer's
// annotation.
package cosigntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/vnfguard/vnfguard/internal/imagesig"
)

// Registry is an in-memory OCI registry on 127.0.0.1.
type Registry struct {
	srv *httptest.Server
	// Host is 127.0.0.1:PORT, as image references name it.
	Host string
}

// StartRegistry starts a registry; Close stops it.
func StartRegistry() *Registry {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	return &Registry{srv: srv, Host: strings.TrimPrefix(srv.URL, "http://")}
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Push writes a random image to repo:tag and returns its digest reference.
func (r *Registry) Push(repo, tag string) (name.Digest, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return name.Digest{}, err
	}
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(ref, img); err != nil {
		return name.Digest{}, fmt.Errorf("push %s: %w", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return ref.Context().Digest(h.String()), nil
}

// Key is a signing key and its public half in PEM (what cosign.pub holds).
type Key struct {
	Signer    signature.Signer
	PublicPEM []byte
}

// NewKey generates an ECDSA P-256 key, as `cosign generate-key-pair` does.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Key{Signer: s, PublicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
}

// Sign pushes a signature of the image at target, made with key, to target's sha256-<hex>.sig tag.
func (r *Registry) Sign(key *Key, target name.Digest) error {
	body, err := json.Marshal(payload.Cosign{Image: target, ClaimedIdentity: target.Context().Name()})
	if err != nil {
		return err
	}
	sig, err := key.Signer.SignMessage(strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(body, types.MediaType(imagesig.SimpleSigningMediaType)),
		Annotations: map[string]string{imagesig.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return err
	}
	tag := target.Context().Tag(strings.Replace(target.DigestStr(), ":", "-", 1) + ".sig")
	if err := remote.Write(tag, img); err != nil {
		return fmt.Errorf("push signature %s: %w", tag, err)
	}
	return nil
}
