package selfcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// SourceOptions say which Secrets a Source watches.
type SourceOptions struct {
	Client                         kubernetes.Interface
	Namespace, CASecret, TLSSecret string
	// OnCABundle, when set, receives the CA Secret's bundle (PEM) every time it changes: the caBundle the
	// registration must carry. It runs on the watch's goroutine.
	OnCABundle func(bundle []byte)
	Logger     *slog.Logger
}

// Source serves the certificate of the TLS Secret and follows the CA Secret's bundle.
type Source struct {
	o           SourceOptions
	placeholder *tls.Certificate
	changed     chan struct{}

	mu      sync.Mutex
	cert    *tls.Certificate
	serial  string
	bundle  []byte
	lastErr error
}

// NewSource checks the options and makes the placeholder certificate served until the Secret's is loaded: a
// throwaway self-signed one, so that the kubelet's HTTPS probes get an answer (/healthz ok, /readyz not ready) while
// no client that verifies against the caBundle (the API server) accepts it.
func NewSource(o SourceOptions) (*Source, error) {
	if o.Client == nil || o.Namespace == "" || o.CASecret == "" || o.TLSSecret == "" {
		return nil, errors.New("selfcert: a client, the namespace and the names of the CA and TLS Secrets are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	ca, err := newCA(now, 24*time.Hour, "vnfguard placeholder (no certificate loaded yet)")
	if err != nil {
		return nil, fmt.Errorf("selfcert: placeholder: %w", err)
	}
	pair, err := newServing(now, 24*time.Hour, []string{"vnfguard-placeholder.invalid"}, ca)
	if err != nil {
		return nil, fmt.Errorf("selfcert: placeholder: %w", err)
	}
	certPEM, keyPEM, err := pair.encode()
	if err != nil {
		return nil, fmt.Errorf("selfcert: placeholder: %w", err)
	}
	placeholder, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("selfcert: placeholder: %w", err)
	}
	return &Source{o: o, placeholder: &placeholder, changed: make(chan struct{}, 1)}, nil
}

// GetCertificate is tls.Config.GetCertificate: the TLS Secret's certificate, or the placeholder before one loaded.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return s.placeholder, nil
	}
	return s.cert, nil
}

// Ready says whether a certificate from the Secret is loaded, and why not.
func (s *Source) Ready() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil {
		return true, ""
	}
	reason := "no serving certificate loaded from Secret " + s.o.Namespace + "/" + s.o.TLSSecret + " yet"
	if s.lastErr != nil {
		reason += ": " + s.lastErr.Error()
	}
	return false, reason
}

// Serial is the hex serial number of the certificate in service ("" before one loaded).
func (s *Source) Serial() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serial
}

// NotAfter is when the certificate in service expires (zero before one loaded).
func (s *Source) NotAfter() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return time.Time{}
	}
	return s.cert.Leaf.NotAfter
}

// CABundle is the CA Secret's last good bundle (nil before one loaded).
func (s *Source) CABundle() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.bundle)
}

// Changed fires (coalesced) whenever either Secret is added, changed or deleted: the issuer's trigger.
func (s *Source) Changed() <-chan struct{} { return s.changed }

// Run watches both Secrets until ctx ends. Each is watched alone, by a metadata.name field selector, which is what
// lets RBAC grant list and watch by resourceNames. It fails when the watches cannot sync (no permission).
func (s *Source) Run(ctx context.Context) error {
	var synced []cache.InformerSynced
	for _, name := range []string{s.o.TLSSecret, s.o.CASecret} {
		factory := informers.NewSharedInformerFactoryWithOptions(s.o.Client, 0, informers.WithNamespace(s.o.Namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			}))
		inf := factory.Core().V1().Secrets().Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.observe(obj) },
			UpdateFunc: func(_, obj any) { s.observe(obj) },
			DeleteFunc: func(any) {
				s.o.Logger.Warn("certificate Secret deleted: the issuer makes a new one; the last good certificate stays in service", "secret", s.o.Namespace+"/"+name)
				s.notify()
			},
		})
		if err != nil {
			return fmt.Errorf("selfcert: watch Secret %s/%s: %w", s.o.Namespace, name, err)
		}
		factory.Start(ctx.Done())
		defer factory.Shutdown()
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("selfcert: the watches of Secrets %s/%s and %s did not sync (may vnfguard get, list and watch them?)", s.o.Namespace, s.o.TLSSecret, s.o.CASecret)
	}
	<-ctx.Done()
	return nil
}

func (s *Source) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *Source) observe(obj any) {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	defer s.notify()
	switch secret.Name {
	case s.o.TLSSecret:
		s.loadServing(secret)
	case s.o.CASecret:
		s.loadBundle(secret)
	}
}

// loadServing takes in the TLS Secret's pair; a pair that does not load is logged and the last good one stays.
func (s *Source) loadServing(secret *corev1.Secret) {
	name := secret.Namespace + "/" + secret.Name
	var err error
	var cert tls.Certificate
	if secret.Labels[ManagedByLabel] != ManagedBy {
		err = fmt.Errorf("secret %s was not made by vnfguard (no label %s=%s)", name, ManagedByLabel, ManagedBy)
	} else if cert, err = tls.X509KeyPair(secret.Data[CertKey], secret.Data[KeyKey]); err != nil {
		err = fmt.Errorf("secret %s: %s and %s do not load: %w", name, CertKey, KeyKey, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.lastErr == nil || s.lastErr.Error() != err.Error() {
			s.o.Logger.Error("serving certificate not loaded; the last good one stays in service", "error", err)
		}
		s.lastErr = err
		return
	}
	serial := cert.Leaf.SerialNumber.Text(16)
	s.lastErr = nil
	if serial == s.serial {
		return
	}
	s.cert, s.serial = &cert, serial
	s.o.Logger.Info("serving certificate loaded", "secret", name, "serial", serial, "notAfter", cert.Leaf.NotAfter, "issuer", cert.Leaf.Issuer.String())
}

// loadBundle takes in the CA Secret's bundle and hands a new one to OnCABundle.
func (s *Source) loadBundle(secret *corev1.Secret) {
	name := secret.Namespace + "/" + secret.Name
	if secret.Labels[ManagedByLabel] != ManagedBy {
		s.o.Logger.Error("CA Secret not made by vnfguard: its bundle is ignored", "secret", name)
		return
	}
	bundle, err := BundlePEM(secret.Data)
	if err != nil {
		s.o.Logger.Error("CA Secret's bundle does not load; the last good one stays in force", "secret", name, "error", err)
		return
	}
	s.mu.Lock()
	same := bytes.Equal(bundle, s.bundle)
	s.bundle = bundle
	s.mu.Unlock()
	if same {
		return
	}
	s.o.Logger.Info("CA bundle loaded", "secret", name)
	if s.o.OnCABundle != nil {
		s.o.OnCABundle(bytes.Clone(bundle))
	}
}
