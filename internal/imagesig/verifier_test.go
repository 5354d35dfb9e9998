package imagesig

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestVerify(t *testing.T) {
	provider, keys := newECDSASigner(t, "acme")
	other, _ := newECDSASigner(t, "mallory")

	tests := []struct {
		name string
		// setup pushes what the case needs and returns the image reference to verify.
		setup      func(t *testing.T, r *testRegistry) string
		wantErr    error    // nil: verified by "acme"
		wantInErr  []string // substrings of the error message
		wantDigest bool     // Result.Digest is set
	}{
		{
			name: "signed by the provider key, digest reference",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				r.pushSignature(t, d, cosignLayer(t, provider, d))
				return d.String()
			},
			wantDigest: true,
		},
		{
			name: "signed by the provider key, tag resolved to its digest",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				r.pushSignature(t, d, cosignLayer(t, provider, d))
				return r.host + "/vnf/upf:v1"
			},
			wantDigest: true,
		},
		{
			name: "another key's signature next to the provider's",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				r.pushSignature(t, d, cosignLayer(t, other, d), cosignLayer(t, provider, d))
				return d.String()
			},
			wantDigest: true,
		},
		{
			name: "unsigned",
			setup: func(t *testing.T, r *testRegistry) string {
				return r.push(t, "vnf/upf", "v1").String()
			},
			wantErr:    ErrNoSignature,
			wantInErr:  []string{"no signature", ".sig in the repository", "[keys: acme]"},
			wantDigest: true,
		},
		{
			name: "signed with another key",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				r.pushSignature(t, d, cosignLayer(t, other, d))
				return r.host + "/vnf/upf:v1"
			},
			wantErr:    ErrWrongKey,
			wantInErr:  []string{"not signed by any of the keys [keys: acme]", "1 signature(s)", "/vnf/upf:v1 (sha256:"},
			wantDigest: true,
		},
		{
			name: "provider signature copied from another image",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				signedOther := r.push(t, "vnf/upf", "v2")
				r.pushSignature(t, d, cosignLayer(t, provider, signedOther))
				return d.String()
			},
			wantErr:    ErrDigestMismatch,
			wantInErr:  []string{"signature payload names another image digest", "signed by acme names sha256:"},
			wantDigest: true,
		},
		{
			name: "signature layer without the signature annotation",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				l := cosignLayer(t, provider, d)
				l.annotation = map[string]string{"other": "x"}
				r.pushSignature(t, d, l)
				return d.String()
			},
			wantErr:    ErrMalformedSignature,
			wantInErr:  []string{"no dev.cosignproject.cosign/signature annotation"},
			wantDigest: true,
		},
		{
			name: "signature not base64",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				l := cosignLayer(t, provider, d)
				l.annotation = map[string]string{SignatureAnnotation: "!!not base64!!"}
				r.pushSignature(t, d, l)
				return d.String()
			},
			wantErr:    ErrMalformedSignature,
			wantInErr:  []string{"signature is not base64"},
			wantDigest: true,
		},
		{
			name: "provider-signed payload that is not simple signing JSON",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				r.pushSignature(t, d, signedLayer(t, provider, []byte("hello")))
				return d.String()
			},
			wantErr:    ErrMalformedSignature,
			wantInErr:  []string{"layer 0 (signed by acme): payload is not simple signing JSON"},
			wantDigest: true,
		},
		{
			name: "provider-signed payload of another signature type",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				body := `{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"` + d.DigestStr() + `"},"type":"atomic container signature"}}`
				r.pushSignature(t, d, signedLayer(t, provider, []byte(body)))
				return d.String()
			},
			wantErr:    ErrMalformedSignature,
			wantInErr:  []string{`critical.type is "atomic container signature"`},
			wantDigest: true,
		},
		{
			name: "signature tag holds an index",
			setup: func(t *testing.T, r *testRegistry) string {
				d := r.push(t, "vnf/upf", "v1")
				idx, err := random.Index(64, 1, 1)
				if err != nil {
					t.Fatal(err)
				}
				tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
				if err := remote.WriteIndex(tag, idx); err != nil {
					t.Fatal(err)
				}
				return d.String()
			},
			wantErr:    ErrMalformedSignature,
			wantInErr:  []string{`is not an image manifest but "application/vnd.oci.image.index.v1+json"`},
			wantDigest: true,
		},
		{
			name: "tag missing from the registry",
			setup: func(t *testing.T, r *testRegistry) string {
				r.push(t, "vnf/upf", "v1")
				return r.host + "/vnf/upf:v9"
			},
			wantErr:   ErrImageNotFound,
			wantInErr: []string{"/vnf/upf:v9: image not found in registry"},
		},
		{
			name:      "unparsable reference",
			setup:     func(t *testing.T, r *testRegistry) string { return "UPPER/Case::x" },
			wantErr:   ErrInvalidReference,
			wantInErr: []string{"UPPER/Case::x: invalid image reference"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t)
			image := tt.setup(t, r)
			v := New(Options{Timeout: 5 * time.Second})
			res, err := v.Verify(t.Context(), image, keys)
			if tt.wantDigest != (res.Digest.DigestStr() != "") {
				t.Errorf("Result.Digest = %q, want set: %v", res.Digest, tt.wantDigest)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify(%s) = %v, want verified", image, err)
				}
				if !res.Verified || res.Key != "acme" || res.Cached {
					t.Errorf("Result = %+v, want verified by acme, not cached", res)
				}
				if !strings.HasSuffix(res.ClaimedIdentity, "/vnf/upf") {
					t.Errorf("ClaimedIdentity = %q", res.ClaimedIdentity)
				}
				return
			}
			var ve *VerificationError
			if !errors.As(err, &ve) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify(%s) = %v (%T), want a *VerificationError for %v", image, err, err, tt.wantErr)
			}
			if res.Verified || res.Key != "" {
				t.Errorf("refused Result = %+v claims verification", res)
			}
			for _, s := range append(tt.wantInErr, image) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// TestVerifyKeyTypes signs with each key type sigstore supports for cosign keys.
func TestVerifyKeyTypes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		priv crypto.PrivateKey
		pub  crypto.PublicKey
	}{
		{"rsa-pkcs1v15", rsaKey, &rsaKey.PublicKey},
		{"ed25519", edPriv, edPub},
	}
	r := newTestRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, ks := loadSigner(t, tt.priv, tt.name, tt.pub)
			d := r.push(t, "vnf/"+tt.name, "v1")
			r.pushSignature(t, d, cosignLayer(t, signer, d))
			res, err := New(Options{}).Verify(t.Context(), d.String(), ks)
			if err != nil || res.Key != tt.name {
				t.Fatalf("Verify = %+v, %v; want verified by %s", res, err, tt.name)
			}
		})
	}
}

func TestVerifyNoKeys(t *testing.T) {
	for _, ks := range []*KeySet{nil, mustKeySet(t)} {
		_, err := New(Options{}).Verify(t.Context(), "127.0.0.1:1/x:y", ks)
		if !errors.Is(err, ErrNoKeys) {
			t.Errorf("Verify with %v keys = %v, want ErrNoKeys", ks, err)
		}
	}
}

func mustKeySet(t *testing.T, keys ...Key) *KeySet {
	t.Helper()
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestTagMoved: a tag moved to another image after verification is resolved again once its TTL is over, and
// the new digest is verified afresh (the result cache is per digest).
func TestTagMoved(t *testing.T) {
	provider, keys := newECDSASigner(t, "acme")
	r := newTestRegistry(t)
	clock := newFakeClock()
	v := New(Options{Now: clock.Now, TagTTL: time.Minute, CacheTTL: 10 * time.Minute})
	image := r.host + "/vnf/smf:stable"

	first := r.push(t, "vnf/smf", "stable")
	r.pushSignature(t, first, cosignLayer(t, provider, first))
	res, err := v.Verify(t.Context(), image, keys)
	if err != nil || res.Digest != first {
		t.Fatalf("first Verify = %+v, %v; want %s verified", res, err, first)
	}

	second := r.push(t, "vnf/smf", "stable") // unsigned, same tag
	if second == first {
		t.Fatal("random images collided")
	}
	// Within the tag TTL the tag still resolves to the verified digest (that is what "cached" means)...
	res, err = v.Verify(t.Context(), image, keys)
	if err != nil || res.Digest != first || !res.Cached {
		t.Fatalf("Verify within tag TTL = %+v, %v; want cached %s", res, err, first)
	}
	// ...and after it the moved tag resolves to the new image, which is verified afresh and refused.
	clock.Advance(time.Minute + time.Second)
	res, err = v.Verify(t.Context(), image, keys)
	if !errors.Is(err, ErrNoSignature) || res.Digest != second || res.Cached {
		t.Fatalf("Verify after the move = %+v, %v; want %s refused with no signature, not cached", res, err, second)
	}
	if !strings.Contains(err.Error(), second.DigestStr()) {
		t.Errorf("error %q does not name the new digest", err)
	}
	d, err := v.Resolve(t.Context(), image)
	if err != nil || d != second {
		t.Errorf("Resolve = %s, %v; want %s", d, err, second)
	}
}

// TestCacheAvoidsRegistry: a second verification of the same image makes no registry request, for a tag
// (within its TTL) and a digest reference; a refusal is cached for NegativeTTL only.
func TestCacheAvoidsRegistry(t *testing.T) {
	provider, keys := newECDSASigner(t, "acme")
	r := newTestRegistry(t)
	clock := newFakeClock()
	v := New(Options{Now: clock.Now, NegativeTTL: 30 * time.Second})
	signed := r.push(t, "vnf/amf", "v1")
	r.pushSignature(t, signed, cosignLayer(t, provider, signed))
	unsigned := r.push(t, "vnf/amf", "v2")

	for _, image := range []string{signed.String(), r.host + "/vnf/amf:v1"} {
		if _, err := v.Verify(t.Context(), image, keys); err != nil {
			t.Fatalf("Verify(%s): %v", image, err)
		}
		before := r.requests.Load()
		res, err := v.Verify(t.Context(), image, keys)
		if err != nil || !res.Cached {
			t.Fatalf("second Verify(%s) = %+v, %v; want cached", image, res, err)
		}
		if n := r.requests.Load() - before; n != 0 {
			t.Errorf("second Verify(%s) made %d registry requests, want 0", image, n)
		}
	}

	// Another key set is another cache entry: it asks the registry again.
	_, otherKeys := newECDSASigner(t, "other")
	before := r.requests.Load()
	if _, err := v.Verify(t.Context(), signed.String(), otherKeys); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Verify with other keys = %v, want ErrWrongKey", err)
	}
	if r.requests.Load() == before {
		t.Error("Verify with another key set used the first key set's result")
	}

	// A refusal is cached for NegativeTTL: the image signed meanwhile is admitted once it is over.
	if _, err := v.Verify(t.Context(), unsigned.String(), keys); !errors.Is(err, ErrNoSignature) {
		t.Fatalf("Verify(unsigned) = %v", err)
	}
	r.pushSignature(t, unsigned, cosignLayer(t, provider, unsigned))
	if res, err := v.Verify(t.Context(), unsigned.String(), keys); !errors.Is(err, ErrNoSignature) || !res.Cached {
		t.Fatalf("Verify within NegativeTTL = %+v, %v; want the cached refusal", res, err)
	}
	clock.Advance(31 * time.Second)
	if res, err := v.Verify(t.Context(), unsigned.String(), keys); err != nil || res.Cached {
		t.Fatalf("Verify after NegativeTTL = %+v, %v; want verified afresh", res, err)
	}
}

// TestRegistryUnreachable: a registry that is down or does not answer gives a *RegistryError (fail closed),
// bounded by the per-request timeout, and is not cached.
func TestRegistryUnreachable(t *testing.T) {
	_, keys := newECDSASigner(t, "acme")

	// A port that was just listening and is now closed: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}

	// A registry that accepts connections and never answers.
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	var once sync.Once
	stop := func() { once.Do(func() { close(release); hung.Close() }) }
	t.Cleanup(stop)
	hungHost := strings.TrimPrefix(hung.URL, "http://")

	tests := []struct {
		name  string
		image string
	}{
		{"down, tag", down + "/vnf/upf:v1"},
		{"down, digest", down + "/vnf/upf@sha256:" + strings.Repeat("ab", 32)},
		{"not answering, tag", hungHost + "/vnf/upf:v1"},
		{"not answering, digest", hungHost + "/vnf/upf@sha256:" + strings.Repeat("cd", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{Timeout: 300 * time.Millisecond})
			for range 2 { // twice: the failure must not be cached
				start := time.Now()
				res, err := v.Verify(t.Context(), tt.image, keys)
				var re *RegistryError
				if !errors.As(err, &re) || !errors.Is(err, ErrRegistryUnreachable) {
					t.Fatalf("Verify(%s) = %v (%T), want *RegistryError", tt.image, err, err)
				}
				if res.Verified || res.Cached {
					t.Errorf("Result = %+v", res)
				}
				for _, s := range []string{tt.image, "registry " + re.Registry + " unreachable"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				t.Logf("%s: %v after %v", tt.name, err, time.Since(start))
			}
		})
	}

	// The caller's own deadline also ends a verification waiting on a slow registry.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = New(Options{Timeout: time.Minute}).Verify(ctx, hungHost+"/vnf/upf@sha256:"+strings.Repeat("ef", 32), keys)
	if !errors.Is(err, ErrRegistryUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify past the caller's deadline = %v, want a *RegistryError for the deadline", err)
	}
}

// TestConcurrentVerify: concurrent verifications of one image agree (and share one registry round).
func TestConcurrentVerify(t *testing.T) {
	provider, keys := newECDSASigner(t, "acme")
	r := newTestRegistry(t)
	d := r.push(t, "vnf/upf", "v1")
	r.pushSignature(t, d, cosignLayer(t, provider, d))
	v := New(Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			res, err := v.Verify(t.Context(), d.String(), keys)
			if err == nil && res.Key != "acme" {
				err = errors.New("verified by " + res.Key)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestInsecureHosts(t *testing.T) {
	v := New(Options{Insecure: []string{"Registry.Lab:5000"}})
	tests := []struct {
		image, scheme string
	}{
		{"registry.lab:5000/vnf/upf:v1", "http"},
		{"registry.lab/vnf/upf:v1", "https"},
		{"other.lab:5000/vnf/upf:v1", "https"},
		{"127.0.0.1:5000/vnf/upf:v1", "http"},
	}
	for _, tt := range tests {
		ref, err := v.parse(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		if got := ref.Context().Scheme(); got != tt.scheme {
			t.Errorf("%s: scheme %s, want %s", tt.image, got, tt.scheme)
		}
	}
}

func TestResolveDigestWithoutRegistry(t *testing.T) {
	// A digest reference is kept as it is: no registry is asked (this one does not exist).
	image := "127.0.0.1:1/vnf/upf@sha256:" + strings.Repeat("0a", 32)
	d, err := New(Options{}).Resolve(t.Context(), image)
	if err != nil || d.String() != image {
		t.Fatalf("Resolve(%s) = %s, %v", image, d, err)
	}
	want, _ := name.NewDigest(image)
	if d != want {
		t.Errorf("Resolve = %#v, want %#v", d, want)
	}
}
