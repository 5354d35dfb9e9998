package selfcert

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults of Options.
const (
	DefaultCAValidity   = 365 * 24 * time.Hour
	DefaultCertValidity = 90 * 24 * time.Hour
	DefaultRenewBefore  = 30 * 24 * time.Hour
	DefaultOverlap      = 2 * time.Minute
)

// Options say which Secrets hold the certificates and how long they last.
type Options struct {
	Client kubernetes.Interface
	// Namespace holds both Secrets (vnfguard's own); CASecret and TLSSecret are their names.
	Namespace, CASecret, TLSSecret string
	// Hosts are the serving certificate's DNS names and IP addresses (e.g. SERVICE.NAMESPACE.svc and
	// SERVICE.NAMESPACE.svc.cluster.local; an IP for a URL registration). The first is its common name.
	Hosts []string
	// CAValidity and CertValidity are the lifetimes of a new CA and a new serving certificate (the latter never
	// beyond its CA); RenewBefore is how long before its expiry either is replaced.
	CAValidity, CertValidity, RenewBefore time.Duration
	// Overlap is how long a new CA is in the bundle before it signs, so that the registration's caBundle (and the
	// API server's view of it) holds it first, and how long an old CA stays in the bundle after the serving
	// certificate stopped being its, so that every replica has loaded the new one. Less than RenewBefore.
	Overlap time.Duration
	// Now is the clock (time.Now when nil); tests move it.
	Now    func() time.Time
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.CAValidity == 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.CertValidity == 0 {
		o.CertValidity = DefaultCertValidity
	}
	if o.RenewBefore == 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("no Kubernetes client"))
	}
	if o.Namespace == "" || o.CASecret == "" || o.TLSSecret == "" {
		errs = append(errs, errors.New("the namespace and the names of the CA and TLS Secrets are required"))
	}
	if o.CASecret == o.TLSSecret && o.CASecret != "" {
		errs = append(errs, fmt.Errorf("the CA and TLS Secrets must differ (both %q)", o.CASecret))
	}
	if len(o.Hosts) == 0 || slices.Contains(o.Hosts, "") {
		errs = append(errs, errors.New("no host names for the serving certificate (the Service's DNS names, or the webhook URL's host)"))
	}
	if o.RenewBefore <= 0 || o.RenewBefore >= o.CertValidity || o.RenewBefore >= o.CAValidity {
		errs = append(errs, fmt.Errorf("want 0 < renew-before (%s) < certificate validity (%s) and CA validity (%s)", o.RenewBefore, o.CertValidity, o.CAValidity))
	}
	if o.Overlap <= 0 || o.Overlap >= o.RenewBefore {
		errs = append(errs, fmt.Errorf("want 0 < overlap (%s) < renew-before (%s): the old CA must outlive the overlap", o.Overlap, o.RenewBefore))
	}
	if len(errs) > 0 {
		return fmt.Errorf("selfcert: %w", errors.Join(errs...))
	}
	return nil
}

// HostsForService are the names the API server uses for a Service: NAME.NAMESPACE.svc, and the cluster.local form.
func HostsForService(namespace, name string) []string {
	svc := name + "." + namespace + ".svc"
	return []string{svc, svc + ".cluster.local"}
}

// ContentError is a Secret that exists and is not vnfguard's to overwrite: foreign, or unreadable.
type ContentError struct {
	Namespace, Name string
	Problem         string
}

func (e *ContentError) Error() string {
	return fmt.Sprintf("Secret %s/%s %s; vnfguard does not overwrite it: delete it to have a new one issued, or give vnfguard other Secret names (--tls-secret, --tls-ca-secret)",
		e.Namespace, e.Name, e.Problem)
}

// Issuer creates and renews the Secrets. Every replica may run one (see the package documentation).
type Issuer struct {
	o Options
}

// NewIssuer checks the options.
func NewIssuer(o Options) (*Issuer, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	return &Issuer{o: o}, nil
}

// maxConflicts bounds the re-reads after lost conditional writes in one pass; each loss means another replica wrote
// what this one was about to, so a few suffice.
const maxConflicts = 5

// Reconcile makes one pass: create what is absent, rotate the CA, renew the serving certificate, prune CAs no longer
// needed. It returns when the next pass is due.
func (i *Issuer) Reconcile(ctx context.Context) (time.Time, error) {
	for attempt := 0; ; attempt++ {
		next, err := i.reconcile(ctx)
		if err == nil || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt >= maxConflicts {
			return next, err
		}
		i.o.Logger.Debug("another replica wrote first: re-reading", "error", err)
	}
}

func (i *Issuer) reconcile(ctx context.Context) (time.Time, error) {
	now := i.o.Now()
	ca, caSecret, err := i.ensureCA(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	serving, next, err := i.ensureServing(ctx, now, ca)
	if err != nil {
		return time.Time{}, err
	}
	pruneAt, err := i.prune(ctx, now, ca, caSecret, serving)
	if err != nil {
		return time.Time{}, err
	}
	return earliest(next, pruneAt, ca.current.cert.NotAfter.Add(-i.o.RenewBefore)), nil
}

func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

func (i *Issuer) secrets() interface {
	Get(context.Context, string, metav1.GetOptions) (*corev1.Secret, error)
	Create(context.Context, *corev1.Secret, metav1.CreateOptions) (*corev1.Secret, error)
	Update(context.Context, *corev1.Secret, metav1.UpdateOptions) (*corev1.Secret, error)
} {
	return i.o.Client.CoreV1().Secrets(i.o.Namespace)
}

// read gets a Secret; nil when absent. A Secret without vnfguard's label is a ContentError.
func (i *Issuer) read(ctx context.Context, name string) (*corev1.Secret, error) {
	s, err := i.secrets().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("selfcert: read Secret %s/%s: %w", i.o.Namespace, name, err)
	}
	if s.Labels[ManagedByLabel] != ManagedBy {
		return nil, &ContentError{Namespace: i.o.Namespace, Name: name, Problem: fmt.Sprintf("was not made by vnfguard (no label %s=%s)", ManagedByLabel, ManagedBy)}
	}
	return s, nil
}

func (i *Issuer) newSecret(name, component string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: i.o.Namespace, Labels: map[string]string{
			ManagedByLabel: ManagedBy, "app.kubernetes.io/name": "vnfguard", "app.kubernetes.io/component": component}},
		Type: corev1.SecretTypeTLS,
		Data: data,
	}
}

// write creates the Secret (current nil) or updates it conditionally on the resourceVersion read.
func (i *Issuer) write(ctx context.Context, current *corev1.Secret, name, component string, data map[string][]byte) (*corev1.Secret, error) {
	if current == nil {
		s, err := i.secrets().Create(ctx, i.newSecret(name, component, data), metav1.CreateOptions{FieldManager: "vnfguard"})
		if err != nil {
			return nil, fmt.Errorf("selfcert: create Secret %s/%s: %w", i.o.Namespace, name, err)
		}
		return s, nil
	}
	next := current.DeepCopy()
	next.Data = data
	s, err := i.secrets().Update(ctx, next, metav1.UpdateOptions{FieldManager: "vnfguard"})
	if err != nil {
		return nil, fmt.Errorf("selfcert: update Secret %s/%s: %w", i.o.Namespace, name, err)
	}
	return s, nil
}

// ensureCA returns the CA Secret's content, creating it or rotating its CA when due.
func (i *Issuer) ensureCA(ctx context.Context, now time.Time) (caState, *corev1.Secret, error) {
	s, err := i.read(ctx, i.o.CASecret)
	if err != nil {
		return caState{}, nil, err
	}
	var old caState
	if s != nil {
		if old, err = parseCA(s.Data); err != nil {
			return caState{}, nil, &ContentError{Namespace: i.o.Namespace, Name: i.o.CASecret, Problem: "does not hold a CA: " + err.Error()}
		}
		if now.Before(old.current.cert.NotAfter.Add(-i.o.RenewBefore)) {
			return old, s, nil
		}
	}
	ca, err := newCA(now, i.o.CAValidity, "vnfguard webhook CA")
	if err != nil {
		return caState{}, nil, fmt.Errorf("selfcert: %w", err)
	}
	state := caState{current: ca, bundle: []*x509.Certificate{ca.cert}}
	for _, c := range old.bundle {
		if now.Before(c.NotAfter) {
			state.bundle = append(state.bundle, c) // the overlap: the old CA's certificates stay trusted
		}
	}
	data, err := state.data()
	if err != nil {
		return caState{}, nil, fmt.Errorf("selfcert: encode CA: %w", err)
	}
	if s, err = i.write(ctx, s, i.o.CASecret, "webhook-ca", data); err != nil {
		return caState{}, nil, err
	}
	if len(old.bundle) == 0 {
		i.o.Logger.Info("webhook CA created", "secret", i.o.Namespace+"/"+i.o.CASecret, "subject", ca.cert.Subject.String(), "notAfter", ca.cert.NotAfter)
	} else {
		i.o.Logger.Info("webhook CA rotated: the old CA stays in the bundle until no serving certificate of it remains",
			"secret", i.o.Namespace+"/"+i.o.CASecret, "subject", ca.cert.Subject.String(), "notAfter", ca.cert.NotAfter, "bundle", len(state.bundle))
	}
	return state, s, nil
}

// ensureServing returns the serving certificate, issuing it when absent, not trusted by the bundle, not for the
// hosts, or due for renewal; and when the next look is due.
func (i *Issuer) ensureServing(ctx context.Context, now time.Time, ca caState) (*x509.Certificate, time.Time, error) {
	s, err := i.read(ctx, i.o.TLSSecret)
	if err != nil {
		return nil, time.Time{}, err
	}
	// A new CA signs only once it has been in the bundle for Overlap. A certificate no CA of the bundle trusts any
	// more (none yet, or its CA expired or vanished) is replaced at once: there is nothing to overlap with.
	published := IssuedAt(ca.current.cert).Add(i.o.Overlap)
	var why string
	if s == nil {
		why = "absent"
	} else {
		pair, err := parsePair(s.Data)
		if err != nil {
			return nil, time.Time{}, &ContentError{Namespace: i.o.Namespace, Name: i.o.TLSSecret, Problem: "does not hold a serving certificate and its key: " + err.Error()}
		}
		cert := pair.cert
		trusted := slices.ContainsFunc(ca.bundle, func(c *x509.Certificate) bool { return signedBy(cert, c, now) })
		renewAt := cert.NotAfter.Add(-i.o.RenewBefore)
		switch {
		case !trusted:
			why = "not signed by a CA of the bundle"
		case !covers(cert, i.o.Hosts):
			why = fmt.Sprintf("not for the hosts %v", i.o.Hosts)
		case !signedBy(cert, ca.current.cert, now) && now.Before(published):
			return cert, published, nil // the new CA is not in the registration yet: wait for it
		case !signedBy(cert, ca.current.cert, now):
			why = "signed by the previous CA"
		case !now.Before(renewAt):
			why = "due for renewal"
		default:
			return cert, renewAt, nil
		}
	}
	pair, err := newServing(now, i.o.CertValidity, i.o.Hosts, ca.current)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("selfcert: %w", err)
	}
	data, err := servingData(pair, ca.current.cert)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("selfcert: encode serving certificate: %w", err)
	}
	if _, err := i.write(ctx, s, i.o.TLSSecret, "webhook-tls", data); err != nil {
		return nil, time.Time{}, err
	}
	i.o.Logger.Info("serving certificate issued", "secret", i.o.Namespace+"/"+i.o.TLSSecret, "reason", why,
		"hosts", i.o.Hosts, "serial", pair.cert.SerialNumber.Text(16), "notAfter", pair.cert.NotAfter)
	return pair.cert, pair.cert.NotAfter.Add(-i.o.RenewBefore), nil
}

// prune removes from the bundle every CA that has expired, and every other CA than the current once the serving
// certificate has been the current CA's for Overlap. It returns when the next pruning is due.
func (i *Issuer) prune(ctx context.Context, now time.Time, ca caState, s *corev1.Secret, serving *x509.Certificate) (time.Time, error) {
	if len(ca.bundle) == 1 {
		return time.Time{}, nil
	}
	moved := signedBy(serving, ca.current.cert, now)
	dropAfter := IssuedAt(serving).Add(i.o.Overlap)
	keep := []*x509.Certificate{ca.current.cert}
	var next time.Time
	for _, c := range ca.bundle {
		switch {
		case c.Equal(ca.current.cert):
		case !now.Before(c.NotAfter):
		case moved && !now.Before(dropAfter):
		default:
			keep = append(keep, c)
			next = earliest(next, c.NotAfter)
			if moved {
				next = earliest(next, dropAfter)
			}
		}
	}
	if len(keep) == len(ca.bundle) {
		return next, nil
	}
	pruned := caState{current: ca.current, bundle: keep}
	data, err := pruned.data()
	if err != nil {
		return time.Time{}, fmt.Errorf("selfcert: encode CA: %w", err)
	}
	if _, err := i.write(ctx, s, i.o.CASecret, "webhook-ca", data); err != nil {
		return time.Time{}, err
	}
	i.o.Logger.Info("previous CAs removed from the bundle: no serving certificate of theirs remains", "secret", i.o.Namespace+"/"+i.o.CASecret,
		"removed", len(ca.bundle)-len(keep))
	return next, nil
}

// Run reconciles until ctx ends: at start, whenever the next pass is due (with a little jitter, so that replicas
// rarely race), whenever trigger fires (a Secret changed or vanished), and every resync at the latest. Errors are
// logged and retried with backoff up to a minute; onError (may be nil) receives each pass's outcome.
func (i *Issuer) Run(ctx context.Context, trigger <-chan struct{}, onError func(error)) error {
	const resync = 10 * time.Minute
	backoff := time.Second
	for {
		next, err := i.Reconcile(ctx)
		if onError != nil {
			onError(err)
		}
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			i.o.Logger.Error("webhook certificate: pass failed; the last good certificate stays in service", "error", err, "retryIn", backoff.String())
			wait, backoff = backoff, min(2*backoff, time.Minute)
		} else {
			backoff = time.Second
			wait = min(next.Sub(i.o.Now()), resync)
			wait = max(wait, 0) + rand.N(wait/100+500*time.Millisecond)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-trigger:
			timer.Stop()
		}
	}
}
