package imagesig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"
)

// Defaults for Options' zero values.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultTagTTL      = time.Minute
	DefaultCacheTTL    = 10 * time.Minute
	DefaultNegativeTTL = 30 * time.Second
	DefaultMaxEntries  = 4096
)

// Options configures a Verifier. Zero values take the defaults above.
type Options struct {
	// Timeout bounds each registry request (resolve, signature manifest, each payload blob), connection
	// included. Admission webhooks have a few seconds in all, so keep it short.
	Timeout time.Duration
	// Insecure lists registry hosts (host or host:port, as in image references) reached over plain http.
	// Loopback hosts (localhost, 127.0.0.1, ::1) are always plain http, as go-containerregistry does.
	Insecure []string
	// TagTTL is how long a tag's digest is trusted before asking the registry again: short, tags move.
	TagTTL time.Duration
	// CacheTTL is how long a verified result is kept, per digest and key set.
	CacheTTL time.Duration
	// NegativeTTL is how long a refusal (no signature, wrong key, mismatch, malformed) is kept, so that an
	// image signed a moment later is admitted soon. Registry failures are never cached.
	NegativeTTL time.Duration
	// MaxEntries bounds each cache (tags, results); the least recently used entry is dropped.
	MaxEntries int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Keychain supplies registry credentials; nil means anonymous.
	Keychain authn.Keychain
	// Transport replaces the HTTP transport (its timeouts then are the caller's); nil builds one from Timeout.
	Transport http.RoundTripper
	// Logger receives debug records of verifications; nil discards them.
	Logger *slog.Logger
}

// Result is the outcome of Verify. Digest is set as soon as the image is resolved, also on refusal.
type Result struct {
	Image           string      // the reference as given
	Digest          name.Digest // repository@sha256:..., the digest that was verified
	Verified        bool        // a signature by one of the keys names this digest
	Key             string      // the name of the key that verified it
	ClaimedIdentity string      // the payload's docker-reference (informational: mirrors keep the original)
	Keys            []string    // the names of the keys tried
	Cached          bool        // the verification result came from the cache
}

// Verifier resolves and verifies images. It is safe for concurrent use; make one per process, so that its
// caches are shared.
type Verifier struct {
	opts      Options
	insecure  map[string]bool
	transport http.RoundTripper
	tags      *lru[string]  // reference name -> digest
	results   *lru[outcome] // digest|keyset id -> outcome
	group     singleflight.Group
	log       *slog.Logger
}

// outcome is what the result cache holds: a success or a refusal on the image's merits.
type outcome struct {
	key, claimed string
	err          *VerificationError
}

// New returns a Verifier with empty caches.
func New(opts Options) *Verifier {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TagTTL <= 0 {
		opts.TagTTL = DefaultTagTTL
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = DefaultNegativeTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain() // anonymous
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{
		opts:     opts,
		insecure: map[string]bool{},
		tags:     newLRU[string](opts.MaxEntries),
		results:  newLRU[outcome](opts.MaxEntries),
		log:      log,
	}
	for _, h := range opts.Insecure {
		v.insecure[strings.ToLower(h)] = true
	}
	v.transport = opts.Transport
	if v.transport == nil {
		// Every phase of a request is bounded, so that an unresponsive registry fails within Timeout even if
		// the caller's context has no deadline.
		v.transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   opts.Timeout,
			ResponseHeaderTimeout: opts.Timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   16,
			ForceAttemptHTTP2:     true,
		}
	}
	return v
}

// parse parses a reference, marking its registry insecure when configured.
func (v *Verifier) parse(image string) (name.Reference, error) {
	parse := name.ParseReference
	if strings.Contains(image, "@") {
		// name.ParseReference tries a tag first; admission sees mostly digests, so go straight to them.
		parse = func(s string, opts ...name.Option) (name.Reference, error) { return name.NewDigest(s, opts...) }
	}
	ref, err := parse(image)
	if err != nil {
		return nil, err
	}
	if len(v.insecure) > 0 && v.insecure[strings.ToLower(ref.Context().RegistryStr())] {
		return parse(image, name.Insecure)
	}
	return ref, nil
}

// pullerFor lazily makes the puller of one verification, so that a cache hit costs none: it authenticates
// once per repository and is dropped after, because go-containerregistry's Puller keeps a failed connection
// attempt for good.
type pullerFor struct {
	v *Verifier
	p *remote.Puller
}

func (l *pullerFor) get() (*remote.Puller, error) {
	if l.p != nil {
		return l.p, nil
	}
	p, err := l.v.newPuller()
	l.p = p
	return p, err
}

func (v *Verifier) newPuller() (*remote.Puller, error) {
	return remote.NewPuller(
		remote.WithTransport(v.transport),
		remote.WithAuthFromKeychain(v.opts.Keychain),
		remote.WithUserAgent("vnfguard-imagesig"),
		// One quick retry for a transient failure; more would outlast the admission webhook's timeout.
		remote.WithRetryBackoff(remote.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Steps: 2}),
	)
}

// Resolve returns the image's digest: a digest reference as it is (no registry request), a tag through the
// registry (HEAD of the manifest), cached for TagTTL.
func (v *Verifier) Resolve(ctx context.Context, image string) (name.Digest, error) {
	return v.resolve(ctx, &pullerFor{v: v}, image)
}

func (v *Verifier) resolve(ctx context.Context, lp *pullerFor, image string) (name.Digest, error) {
	ref, err := v.parse(image)
	if err != nil {
		return name.Digest{}, &VerificationError{Image: image, Reason: ErrInvalidReference, Detail: err.Error()}
	}
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	key := ref.Name()
	now := v.opts.Now()
	if s, ok := v.tags.get(key, now); ok {
		return ref.Context().Digest(s), nil
	}
	p, err := lp.get()
	if err != nil {
		return name.Digest{}, fmt.Errorf("image %s: %w", image, err)
	}
	rctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	desc, err := p.Head(rctx, ref)
	if err != nil && statusOf(err) == http.StatusMethodNotAllowed {
		// Some registries refuse HEAD on manifests; GET gives the same digest.
		var d *remote.Descriptor
		if d, err = p.Get(rctx, ref); err == nil {
			desc = &d.Descriptor
		}
	}
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return name.Digest{}, &VerificationError{Image: image, Reason: ErrImageNotFound, Detail: err.Error()}
		}
		return name.Digest{}, &RegistryError{Image: image, Registry: ref.Context().RegistryStr(), Op: "resolve tag", Err: err}
	}
	v.tags.put(key, desc.Digest.String(), now.Add(v.opts.TagTTL))
	return ref.Context().Digest(desc.Digest.String()), nil
}

// Verify resolves image and checks that one of keys signed its digest. The error is nil exactly when
// Result.Verified; otherwise it is a *VerificationError (refused on the image's merits: errors.Is one of the
// Err* reasons) or a *RegistryError (the registry could not be asked; fail closed).
func (v *Verifier) Verify(ctx context.Context, image string, keys *KeySet) (Result, error) {
	res := Result{Image: image}
	if keys == nil || keys.Len() == 0 {
		return res, &VerificationError{Image: image, Reason: ErrNoKeys}
	}
	res.Keys = keys.Names()
	lp := &pullerFor{v: v}
	d, err := v.resolve(ctx, lp, image)
	if err != nil {
		return res, err
	}
	res.Digest = d
	cacheKey := d.String() + "|" + keys.ID()
	if o, ok := v.results.get(cacheKey, v.opts.Now()); ok {
		res.Cached = true
		return v.finish(res, o)
	}
	// Concurrent admissions of the same image (a Deployment's replicas) share one verification. It runs
	// detached from the first caller's cancellation (each request has its own timeout) and each caller
	// waits only as long as its own context allows.
	ch := v.group.DoChan(cacheKey, func() (any, error) {
		p, err := lp.get()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", image, err)
		}
		o, err := v.verifyDigest(context.WithoutCancel(ctx), p, image, d, keys)
		if err != nil {
			return nil, err
		}
		ttl := v.opts.CacheTTL
		if o.err != nil {
			ttl = v.opts.NegativeTTL
		}
		v.results.put(cacheKey, o, v.opts.Now().Add(ttl))
		return o, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var re *RegistryError
			if errors.As(r.Err, &re) && re.Image != image {
				cp := *re
				cp.Image = image
				return res, &cp
			}
			return res, r.Err
		}
		return v.finish(res, r.Val.(outcome))
	case <-ctx.Done():
		return res, &RegistryError{Image: image, Registry: d.RegistryStr(), Op: "verify signature", Err: ctx.Err()}
	}
}

// finish fills res from an outcome, with an error naming this caller's image reference.
func (v *Verifier) finish(res Result, o outcome) (Result, error) {
	res.ClaimedIdentity = o.claimed
	if o.err != nil {
		e := *o.err
		e.Image = res.Image
		e.Keys = res.Keys
		v.log.Debug("image signature refused", "image", res.Image, "digest", res.Digest.DigestStr(), "cached", res.Cached, "reason", e.Reason.Error())
		return res, &e
	}
	res.Verified, res.Key = true, o.key
	v.log.Debug("image signature verified", "image", res.Image, "digest", res.Digest.DigestStr(), "key", o.key, "cached", res.Cached)
	return res, nil
}

// verifyDigest fetches the signature image of d and checks its layers. A returned error is a registry failure
// (not cached); a refusal on the merits is the outcome's err.
func (v *Verifier) verifyDigest(ctx context.Context, p *remote.Puller, image string, d name.Digest, keys *KeySet) (outcome, error) {
	refuse := func(reason error, format string, args ...any) (outcome, error) {
		return outcome{err: &VerificationError{Image: image, Digest: d.DigestStr(), Keys: keys.Names(), Reason: reason, Detail: fmt.Sprintf(format, args...)}}, nil
	}
	regErr := func(op string, err error) (outcome, error) {
		return outcome{}, &RegistryError{Image: image, Registry: d.RegistryStr(), Op: op, Err: err}
	}
	sigTag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + SignatureTagSuffix)

	rctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	desc, err := p.Get(rctx, sigTag)
	cancel()
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return refuse(ErrNoSignature, "no %s in the repository", sigTag.Identifier())
		}
		if isTransportFailure(err) {
			return regErr("fetch signature "+sigTag.Identifier(), err)
		}
		return refuse(ErrMalformedSignature, "%s: %v", sigTag.Identifier(), err)
	}
	// Checked before desc.Image(), which would otherwise pick a platform's image out of an index over the network.
	if !desc.MediaType.IsImage() {
		return refuse(ErrMalformedSignature, "%s is not an image manifest but %q", sigTag.Identifier(), desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return refuse(ErrMalformedSignature, "%s: %v", sigTag.Identifier(), err)
	}
	m, err := img.Manifest()
	if err != nil {
		return refuse(ErrMalformedSignature, "%s manifest: %v", sigTag.Identifier(), err)
	}
	if len(m.Layers) == 0 {
		return refuse(ErrMalformedSignature, "%s has no layers", sigTag.Identifier())
	}
	// Each layer is one signature. The refusal reported is the most telling one met: a payload for another
	// digest signed by a trusted key, then a signature by an unknown key, then a malformed layer.
	var mismatch, wrongKey, malformed []string
	for i, l := range m.Layers {
		if i == maxSignatureLayers {
			malformed = append(malformed, fmt.Sprintf("layers after the first %d not examined", maxSignatureLayers))
			break
		}
		b64, ok := l.Annotations[SignatureAnnotation]
		if !ok {
			malformed = append(malformed, fmt.Sprintf("layer %d: no %s annotation", i, SignatureAnnotation))
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			malformed = append(malformed, fmt.Sprintf("layer %d: signature is not base64: %v", i, err))
			continue
		}
		if l.Size < 0 || l.Size > maxPayloadSize {
			malformed = append(malformed, fmt.Sprintf("layer %d: payload of %d bytes", i, l.Size))
			continue
		}
		body, err := v.fetchBlob(ctx, p, d.Context().Digest(l.Digest.String()))
		if err != nil {
			// A blob the manifest names but the registry lacks is the signature image's fault, not the registry's.
			if isTransportFailure(err) && statusOf(err) != http.StatusNotFound {
				return regErr(fmt.Sprintf("fetch signature payload %s", l.Digest), err)
			}
			malformed = append(malformed, fmt.Sprintf("layer %d: payload %s: %v", i, l.Digest, err))
			continue
		}
		k := keys.verify(sig, body)
		if k < 0 {
			wrongKey = append(wrongKey, fmt.Sprintf("layer %d", i))
			continue
		}
		pl, err := DecodePayload(body)
		if err != nil {
			malformed = append(malformed, fmt.Sprintf("layer %d (signed by %s): %v", i, keys.names[k], err))
			continue
		}
		if got := pl.Critical.Image.DockerManifestDigest; got != d.DigestStr() {
			mismatch = append(mismatch, fmt.Sprintf("layer %d signed by %s names %s (%s)", i, keys.names[k], got, pl.Critical.Identity.DockerReference))
			continue
		}
		return outcome{key: keys.names[k], claimed: pl.Critical.Identity.DockerReference}, nil
	}
	switch {
	case len(mismatch) > 0:
		return refuse(ErrDigestMismatch, "%s", strings.Join(mismatch, "; "))
	case len(wrongKey) > 0:
		return refuse(ErrWrongKey, "%d signature(s) in %s, none verifies", len(wrongKey), sigTag.Identifier())
	default:
		return refuse(ErrMalformedSignature, "%s: %s", sigTag.Identifier(), strings.Join(malformed, "; "))
	}
}

// fetchBlob reads a payload blob, at most maxPayloadSize bytes; go-containerregistry checks its digest.
func (v *Verifier) fetchBlob(ctx context.Context, p *remote.Puller, ref name.Digest) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	l, err := p.Layer(rctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed() // the stored bytes: cosign payloads are not compressed
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayloadSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPayloadSize {
		return nil, fmt.Errorf("payload exceeds %d bytes", maxPayloadSize)
	}
	return b, nil
}

// statusOf returns the HTTP status of a registry error response, or 0.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// isTransportFailure tells a registry that could not be asked or answered with an error (connection, timeout,
// TLS, HTTP error status) from content that was received but is wrong (which is the image's fault).
func isTransportFailure(err error) bool {
	var ue *url.Error
	var ne net.Error
	return statusOf(err) != 0 || errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
