package admission

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/vnfguard/vnfguard/internal/selfcert"
)

// tls12CipherSuites are the only suites the webhook port accepts under TLS 1.2: ECDHE key exchange (forward
// secrecy) with an AEAD cipher, AES-GCM or ChaCha20-Poly1305 — what Mozilla's "intermediate" profile and
// kube-apiserver's clients use. Go's default list also has the CBC suites (ECDHE-ECDSA-AES128-SHA and kin:
// MAC-then-encrypt, Lucky13-class padding oracles) and RSA key exchange, which no client of this port needs.
// TLS 1.3 suites are all AEAD and not configurable: Go negotiates them as it does.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLSConfig is the webhook port's TLS policy without its certificate: TLS 1.2 with AEAD suites only, or
// TLS 1.3. The ALPN protocols are set by the HTTP server (see Options.HTTP2).
func serverTLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: tls12CipherSuites}
}

// certReloader serves the certificate in a cert/key file pair and re-reads the pair when either file's
// modification time or size changes, so that cert-manager or a rotation script can replace them without a
// restart. A pair that fails to load (half-written, mismatched) is logged once and the last good pair stays in
// service.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    fileStamp // the stamp of the pair last tried, good or bad
	lastErr error
}

// fileStamp identifies a version of the two files.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	stamp, err := r.stamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair (cert %s, key %s): %w", certFile, keyFile, err)
	}
	r.cert, r.seen = &cert, stamp
	return r, nil
}

func (r *certReloader) stamp() (fileStamp, error) {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS certificate file: %w", err)
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS key file: %w", err)
	}
	return fileStamp{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

// GetCertificate is tls.Config.GetCertificate: two stat calls per handshake (keep-alive connections make
// handshakes rare), a reload only when the files changed.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, err := r.stamp()
	if err != nil {
		// A file briefly missing during a rename-into-place rotation: keep serving the last good pair.
		if r.lastErr == nil || r.lastErr.Error() != err.Error() {
			r.logger.Error("TLS files unreadable; serving the last good certificate", "cert", r.certFile, "key", r.keyFile, "error", err)
		}
		r.lastErr = err
		return r.cert, nil
	}
	if stamp == r.seen {
		return r.cert, nil
	}
	r.seen = stamp
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.lastErr = err
		r.logger.Error("TLS key pair changed but does not load; serving the last good certificate until it is fixed",
			"cert", r.certFile, "key", r.keyFile, "error", err)
		return r.cert, nil
	}
	r.cert, r.lastErr = &cert, nil
	r.logger.Info("TLS key pair reloaded", "cert", r.certFile, "key", r.keyFile, "subject", subjectOf(&cert))
	return r.cert, nil
}

func subjectOf(cert *tls.Certificate) string {
	if cert.Leaf != nil {
		return cert.Leaf.Subject.String()
	}
	if len(cert.Certificate) > 0 {
		if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
			return leaf.Subject.String()
		}
	}
	return ""
}

// Certificates is a generated CA and a serving certificate signed by it, all PEM-encoded.
type Certificates struct {
	CA, Cert, Key []byte
}

// DefaultHosts are the names a self-signed serving certificate covers when none are given: loopback only.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// GenerateCertificates creates an in-memory ECDSA P-256 CA and a serving certificate for hosts (DNS names or IP
// addresses; DefaultHosts when empty), valid from a minute ago for validFor (one year when zero). The CA is what
// goes into the webhook registration's caBundle. The certificates are selfcert's, the ones its Issuer keeps in
// Secrets.
func GenerateCertificates(hosts []string, validFor time.Duration) (*Certificates, error) {
	hosts = slices.DeleteFunc(slices.Clone(hosts), func(h string) bool { return h == "" })
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	if validFor <= 0 {
		validFor = 365 * 24 * time.Hour
	}
	ca, cert, key, err := selfcert.NewSelfSigned(time.Now(), validFor, hosts)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificates for %v: %w", hosts, err)
	}
	return &Certificates{CA: ca, Cert: cert, Key: key}, nil
}

// WriteFiles writes the serving certificate and key (0600) to the given paths, e.g. for --tls-cert-file and
// --tls-key-file, and the CA to caFile when it is not empty.
func (c *Certificates) WriteFiles(certFile, keyFile, caFile string) error {
	if err := os.WriteFile(keyFile, c.Key, 0o600); err != nil {
		return fmt.Errorf("write TLS key: %w", err)
	}
	if err := os.WriteFile(certFile, c.Cert, 0o644); err != nil {
		return fmt.Errorf("write TLS certificate: %w", err)
	}
	if caFile != "" {
		if err := os.WriteFile(caFile, c.CA, 0o644); err != nil {
			return fmt.Errorf("write CA bundle: %w", err)
		}
	}
	return nil
}

// CertPool returns a pool holding the CA, for clients.
func (c *Certificates) CertPool() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CA) {
		return nil, errors.New("CA bundle holds no PEM certificate")
	}
	return pool, nil
}

// staticCertificate serves one in-memory pair (the self-signed mode).
func staticCertificate(certs *Certificates) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	cert, err := tls.X509KeyPair(certs.Cert, certs.Key)
	if err != nil {
		return nil, fmt.Errorf("load generated key pair: %w", err)
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }, nil
}
