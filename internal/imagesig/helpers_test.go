package imagesig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
)

// testRegistry is go-containerregistry's in-memory OCI registry on a loopback httptest server, with a count
// of the requests it served.
type testRegistry struct {
	srv      *httptest.Server
	host     string // 127.0.0.1:port
	requests atomic.Int64
}

func newTestRegistry(tb testing.TB) *testRegistry {
	tb.Helper()
	r := &testRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		h.ServeHTTP(w, req)
	}))
	tb.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// push writes a random image to repo:tag and returns its digest reference.
func (r *testRegistry) push(tb testing.TB, repo, tag string) name.Digest {
	tb.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := name.NewTag(r.host + "/" + repo + ":" + tag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// sigLayer is one layer of a cosign signature image.
type sigLayer struct {
	payload    []byte
	annotation map[string]string // nil: the signature annotation
}

// cosignLayer builds a simple signing payload naming target and signs it with signer, as `cosign sign --key`.
func cosignLayer(tb testing.TB, signer signature.Signer, target name.Digest) sigLayer {
	tb.Helper()
	body, err := json.Marshal(payload.Cosign{Image: target, ClaimedIdentity: target.Context().Name()})
	if err != nil {
		tb.Fatal(err)
	}
	return signedLayer(tb, signer, body)
}

// signedLayer signs arbitrary payload bytes.
func signedLayer(tb testing.TB, signer signature.Signer, body []byte) sigLayer {
	tb.Helper()
	sig, err := signer.SignMessage(strings.NewReader(string(body)))
	if err != nil {
		tb.Fatal(err)
	}
	return sigLayer{payload: body, annotation: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}}
}

// pushSignature writes a signature image with layers to the sha256-<hex>.sig tag of the image at.
func (r *testRegistry) pushSignature(tb testing.TB, at name.Digest, layers ...sigLayer) {
	tb.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(l.payload, types.MediaType(SimpleSigningMediaType)),
			Annotations: l.annotation,
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	tag := at.Context().Tag(strings.Replace(at.DigestStr(), ":", "-", 1) + ".sig")
	if err := remote.Write(tag, img); err != nil {
		tb.Fatalf("push signature %s: %v", tag, err)
	}
}

// newECDSASigner returns a sigstore signer over a fresh P-256 key and the key set of its public key.
func newECDSASigner(tb testing.TB, keyName string) (signature.Signer, *KeySet) {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return loadSigner(tb, priv, keyName, &priv.PublicKey)
}

func loadSigner(tb testing.TB, priv crypto.PrivateKey, keyName string, pub crypto.PublicKey) (signature.Signer, *KeySet) {
	tb.Helper()
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	ks, err := NewKeySet(Key{Name: keyName, PublicKey: pub})
	if err != nil {
		tb.Fatal(err)
	}
	return s, ks
}

// fakeClock is a settable clock for cache expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
