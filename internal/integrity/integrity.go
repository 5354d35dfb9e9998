package integrity

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/imagesig"
	"github.com/vnfguard/vnfguard/internal/policy"
)

// DefaultTimeout bounds each registry request when images.registry.timeout is not set: a webhook has a few
// seconds in all.
const DefaultTimeout = 3 * time.Second

// Integrity implements policy.ImageIntegrity.
type Integrity struct {
	verifier  *imagesig.Verifier
	keys      map[string]*imagesig.KeySet // by vnfProvider
	providers []string
	vulns     *vulnerabilities // nil: the gate is off
	// offline: no registry request is made (policy test --offline); what needs one is reported as not checked.
	offline bool
}

// errOffline is the reason given for every check --offline skips.
var errOffline = fmt.Errorf("%w: --offline", policy.ErrNotChecked)

var _ policy.ImageIntegrity = (*Integrity)(nil)

// New reads the keys and reports the configuration names. It returns nil, nil when the configuration asks for
// neither signatures nor a vulnerability gate. cluster reads trivy-operator's VulnerabilityReports when the
// configuration asks for them (operatorReports); it may be nil otherwise.
func New(ctx context.Context, cfg config.Images, cluster dynamic.Interface, logger *slog.Logger) (*Integrity, error) {
	return build(ctx, cfg, cluster, false, logger)
}

// NewOffline is New for a check that must make no network request (`vnfguard policy test --offline`): signatures
// are not verified, since they live in the registry; vulnerabilities are judged against the report files for
// images given by digest, while an image given by tag (its digest is the registry's answer) and an image with no
// report file when trivy-operator's reports are configured (they live in the cluster) are not checked. Each
// such refusal wraps policy.ErrNotChecked, and the policy names it in the decision.
func NewOffline(ctx context.Context, cfg config.Images, logger *slog.Logger) (*Integrity, error) {
	return build(ctx, cfg, nil, true, logger)
}

func build(ctx context.Context, cfg config.Images, cluster dynamic.Interface, offline bool, logger *slog.Logger) (*Integrity, error) {
	if cfg.Signatures == nil && cfg.Vulnerabilities == nil {
		return nil, nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := DefaultTimeout
	if cfg.Registry.Timeout != "" {
		timeout, _ = time.ParseDuration(cfg.Registry.Timeout) // validated with the configuration
	}
	i := &Integrity{
		verifier: imagesig.New(imagesig.Options{Timeout: timeout, Insecure: cfg.Registry.Insecure, Logger: logger}),
		keys:     map[string]*imagesig.KeySet{},
		offline:  offline,
	}
	if s := cfg.Signatures; s != nil {
		for n, p := range s.Providers {
			var keys []imagesig.Key
			for k, path := range p.PublicKeys {
				key, err := imagesig.LoadPublicKeyFile(fmt.Sprintf("%s key %d (%s)", p.Provider, k+1, path), path)
				if err != nil {
					return nil, fmt.Errorf("images.signatures.providers[%d].publicKeys[%d]: %w", n, k, err)
				}
				keys = append(keys, key)
			}
			ks, err := imagesig.NewKeySet(keys...)
			if err != nil {
				return nil, fmt.Errorf("images.signatures.providers[%d]: %w", n, err)
			}
			i.keys[p.Provider] = ks
			i.providers = append(i.providers, p.Provider)
		}
		sort.Strings(i.providers)
	}
	if v := cfg.Vulnerabilities; v != nil {
		gate, err := newVulnerabilities(ctx, v, cluster, offline, logger)
		if err != nil {
			return nil, err
		}
		i.vulns = gate
	}
	return i, nil
}

// Signatures reports whether signing keys are configured.
func (i *Integrity) Signatures() bool { return i != nil && len(i.keys) > 0 }

// VerifySignature checks image against the keys of provider and returns the digest it verified.
func (i *Integrity) VerifySignature(ctx context.Context, image, provider string) (string, error) {
	ks := i.keys[provider]
	if ks == nil {
		return "", fmt.Errorf("no signing keys are configured for VNF provider %q (images.signatures.providers has %s): its images cannot be verified",
			provider, strings.Join(quoteAll(i.providers), ", "))
	}
	if i.offline {
		return "", fmt.Errorf("%w (the signature is in the registry)", errOffline)
	}
	res, err := i.verifier.Verify(ctx, image, ks)
	if err != nil {
		return res.Digest.DigestStr(), err
	}
	return res.Digest.DigestStr(), nil
}

// Vulnerabilities reports whether the vulnerability gate is on.
func (i *Integrity) Vulnerabilities() bool { return i != nil && i.vulns != nil }

// CheckVulnerabilities judges the image against the gate. An image given by tag is resolved to its digest first,
// through the registry, since reports are kept by digest.
func (i *Integrity) CheckVulnerabilities(ctx context.Context, image, digest string) (string, error) {
	if digest == "" {
		if i.offline {
			return "", fmt.Errorf("%w (the image is given by tag; its digest, which reports are kept by, is the registry's answer)", errOffline)
		}
		d, err := i.verifier.Resolve(ctx, image)
		if err != nil {
			return "", err
		}
		digest = d.DigestStr()
	}
	return i.vulns.check(image, digest)
}

// Run keeps the reports current until ctx ends.
func (i *Integrity) Run(ctx context.Context) {
	if i != nil && i.vulns != nil {
		i.vulns.run(ctx)
	}
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
