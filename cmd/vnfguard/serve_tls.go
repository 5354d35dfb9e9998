package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/manager"
	"github.com/vnfguard/vnfguard/internal/selfcert"
)

// secretTLSFlags choose the self-managed serving certificate: a CA Secret and a TLS Secret in self.namespace that
// vnfguard creates, renews and rotates itself (internal/selfcert).
type secretTLSFlags struct {
	secret, caSecret                      string
	hosts                                 []string
	caValidity, certValidity, renewBefore time.Duration
	overlap                               time.Duration
}

func (s *secretTLSFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.secret, "tls-secret", "", "manage the serving certificate in this Secret of self.namespace (with --tls-ca-secret): created when absent, renewed before expiry, served by every replica without restart")
	f.StringVar(&s.caSecret, "tls-ca-secret", "", "with --tls-secret: the Secret of self.namespace holding vnfguard's CA; its bundle is the registration's caBundle (so no --webhook-ca-file)")
	f.StringSliceVar(&s.hosts, "tls-hosts", nil, "with --tls-secret: more DNS names or IPs for the serving certificate; the --webhook-service names (NAME.NS.svc, NAME.NS.svc.cluster.local) or the --webhook-url host are always in it")
	f.DurationVar(&s.caValidity, "tls-ca-validity", selfcert.DefaultCAValidity, "with --tls-secret: lifetime of a new CA")
	f.DurationVar(&s.certValidity, "tls-cert-validity", selfcert.DefaultCertValidity, "with --tls-secret: lifetime of a new serving certificate (never beyond its CA)")
	f.DurationVar(&s.renewBefore, "tls-renew-before", selfcert.DefaultRenewBefore, "with --tls-secret: replace the CA and the serving certificate this long before they expire")
	f.DurationVar(&s.overlap, "tls-ca-overlap", selfcert.DefaultOverlap, "with --tls-secret: how long a new CA is in the caBundle before it signs, and an old one stays after its last certificate was replaced")
}

func (s *secretTLSFlags) enabled() bool { return s.secret != "" || s.caSecret != "" }

// checkTLSChoice accepts exactly one source of the serving certificate.
func (o *serveOptions) checkTLSChoice() error {
	files := o.certFile != "" || o.keyFile != ""
	n := 0
	for _, on := range []bool{files, o.selfSigned, o.tlsSecret.enabled()} {
		if on {
			n++
		}
	}
	if n != 1 {
		return errors.New("choose one source of the serving certificate: --tls-cert-file and --tls-key-file, --self-signed, or --tls-secret and --tls-ca-secret")
	}
	if o.tlsSecret.enabled() {
		if o.tlsSecret.secret == "" || o.tlsSecret.caSecret == "" {
			return errors.New("--tls-secret and --tls-ca-secret go together: the serving certificate's Secret and its CA's")
		}
		if o.registration.caFile != "" {
			return errors.New("--webhook-ca-file and --tls-ca-secret exclude each other: with --tls-ca-secret the registration's caBundle is that Secret's bundle")
		}
	}
	return nil
}

// certHosts are the names the self-managed serving certificate is for: the registration's target and --tls-hosts.
func certHosts(reg registrationFlags, extra []string) ([]string, error) {
	var hosts []string
	if reg.service != "" {
		ref, err := admission.ParseServiceReference(reg.service)
		if err != nil {
			return nil, fmt.Errorf("--webhook-service: %w", err)
		}
		hosts = append(hosts, selfcert.HostsForService(ref.Namespace, ref.Name)...)
	}
	if reg.url != "" {
		u, err := url.Parse(reg.url)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("--webhook-url %q: no host for the serving certificate", reg.url)
		}
		hosts = append(hosts, u.Hostname())
	}
	for _, h := range extra {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, errors.New("--tls-secret: no name for the serving certificate: give --webhook-service, --webhook-url or --tls-hosts")
	}
	return hosts, nil
}

// secretTLS is the self-managed certificate wired into serve: the source every replica serves from, and the issuer
// every replica runs (conditional writes make them agree; see internal/selfcert).
type secretTLS struct {
	source   *selfcert.Source
	issuer   *selfcert.Issuer
	watchdog atomic.Pointer[admission.Watchdog]
	lastErr  atomic.Pointer[error]
}

func newSecretTLS(f secretTLSFlags, reg registrationFlags, namespace string, restCfg *rest.Config, logger *slog.Logger) (*secretTLS, error) {
	if restCfg == nil {
		return nil, errors.New("--tls-secret: the certificate Secrets need a cluster (--kubeconfig or in-cluster)")
	}
	hosts, err := certHosts(reg, f.hosts)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("--tls-secret: client: %w", err)
	}
	logger = logger.With("component", "webhook-certificate")
	t := &secretTLS{}
	if t.issuer, err = selfcert.NewIssuer(selfcert.Options{Client: client, Namespace: namespace, CASecret: f.caSecret, TLSSecret: f.secret, Hosts: hosts,
		CAValidity: f.caValidity, CertValidity: f.certValidity, RenewBefore: f.renewBefore, Overlap: f.overlap, Logger: logger}); err != nil {
		return nil, err
	}
	if t.source, err = selfcert.NewSource(selfcert.SourceOptions{Client: client, Namespace: namespace, CASecret: f.caSecret, TLSSecret: f.secret, Logger: logger,
		OnCABundle: func(bundle []byte) {
			if w := t.watchdog.Load(); w != nil {
				w.SetCABundle(bundle)
			}
		}}); err != nil {
		return nil, err
	}
	return t, nil
}

// follow makes the registration watchdog keep the CA Secret's bundle as the caBundle.
func (t *secretTLS) follow(w *admission.Watchdog) {
	t.watchdog.Store(w)
	w.SetCABundle(t.source.CABundle())
}

// tasks run on every replica: the source (fatal: a replica that cannot watch its certificate must not look healthy)
// and the issuer.
func (t *secretTLS) tasks() []manager.Task {
	return []manager.Task{
		{Name: "webhook certificate source", Fatal: true, Run: t.source.Run},
		{Name: "webhook certificate issuer", Run: func(ctx context.Context) error {
			return t.issuer.Run(ctx, t.source.Changed(), func(err error) { t.lastErr.Store(&err) })
		}},
	}
}

// register exports when the certificate in service expires, so that an alert fires long before a renewal that
// keeps failing would matter.
func (t *secretTLS) register(reg prometheus.Registerer) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_webhook_certificate_expiry_timestamp_seconds",
		Help: "When the serving certificate this replica serves from its TLS Secret expires (Unix time; 0 before one is loaded)."},
		func() float64 {
			if at := t.source.NotAfter(); !at.IsZero() {
				return float64(at.Unix())
			}
			return 0
		}))
}

// ready is the readiness of the certificate: loaded from the Secret; the issuer's last error explains why not.
func (t *secretTLS) ready() (bool, string) {
	ok, reason := t.source.Ready()
	if !ok {
		if err := t.lastErr.Load(); err != nil && *err != nil {
			reason += "; issuer: " + (*err).Error()
		}
	}
	return ok, reason
}
