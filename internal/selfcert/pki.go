package selfcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// Backdate is how far before its issue a certificate's validity starts, for clocks that lag; IssuedAt undoes it.
const Backdate = time.Minute

// Secret keys: kubernetes.io/tls's two, and ca.crt as cert-manager writes it.
const (
	CertKey   = corev1.TLSCertKey       // tls.crt
	KeyKey    = corev1.TLSPrivateKeyKey // tls.key
	BundleKey = "ca.crt"
)

// ManagedByLabel marks the Secrets vnfguard made; a Secret without it is never touched.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "vnfguard"
)

// keyPair is a parsed certificate and its private key.
type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// caState is the content of the CA Secret: the CA that signs now, and the bundle of every CA still trusted (the
// current one first).
type caState struct {
	current keyPair
	bundle  []*x509.Certificate
}

// IssuedAt is when a certificate was made (its NotBefore without the backdating).
func IssuedAt(c *x509.Certificate) time.Time { return c.NotBefore.Add(Backdate) }

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// newCA makes an ECDSA P-256 CA valid from now-Backdate for validity.
func newCA(now time.Time, validity time.Duration, commonName string) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return keyPair{}, fmt.Errorf("CA serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s %s", commonName, now.UTC().Format("2006-01-02T15:04:05Z")), Organization: []string{"vnfguard"}},
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return keyPair{}, fmt.Errorf("self-sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("parse the new CA: %w", err)
	}
	return keyPair{cert: cert, key: key}, nil
}

// newServing makes an ECDSA P-256 serving certificate for hosts (DNS names and IP addresses), signed by ca, valid
// for validity but never beyond the CA.
func newServing(now time.Time, validity time.Duration, hosts []string, ca keyPair) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return keyPair{}, fmt.Errorf("serving serial: %w", err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"vnfguard"}},
		NotBefore:    now.Add(-Backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("sign serving certificate for %v: %w", hosts, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("parse the new serving certificate: %w", err)
	}
	return keyPair{cert: cert, key: key}, nil
}

// NewSelfSigned makes a CA and a serving certificate for hosts (DNS names and IP addresses, at least one) signed by
// it, both valid from now-Backdate for validity, and returns them PEM-encoded: the CA's certificate (what a
// webhook registration's caBundle holds), the serving certificate and its private key. It is the in-memory pair of
// `vnfguard serve --self-signed`; the Issuer keeps its CA and certificates in Secrets instead.
func NewSelfSigned(now time.Time, validity time.Duration, hosts []string) (caPEM, certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, nil, errors.New("selfcert: a serving certificate needs at least one host")
	}
	ca, err := newCA(now, validity, "vnfguard webhook CA")
	if err != nil {
		return nil, nil, nil, err
	}
	serving, err := newServing(now, validity, hosts, ca)
	if err != nil {
		return nil, nil, nil, err
	}
	if caPEM, err = certutil.EncodeCertificates(ca.cert); err != nil {
		return nil, nil, nil, err
	}
	if certPEM, keyPEM, err = serving.encode(); err != nil {
		return nil, nil, nil, err
	}
	return caPEM, certPEM, keyPEM, nil
}

// encode renders a pair as the Secret's tls.crt and tls.key.
func (p keyPair) encode() (certPEM, keyPEM []byte, err error) {
	if certPEM, err = certutil.EncodeCertificates(p.cert); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = keyutil.MarshalPrivateKeyToPEM(p.key); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// parsePair reads tls.crt (the first certificate is the pair's) and tls.key, and checks that they belong together.
func parsePair(data map[string][]byte) (keyPair, error) {
	certs, err := certutil.ParseCertsPEM(data[CertKey])
	if err != nil {
		return keyPair{}, fmt.Errorf("%s: %w", CertKey, err)
	}
	raw, err := keyutil.ParsePrivateKeyPEM(data[KeyKey])
	if err != nil {
		return keyPair{}, fmt.Errorf("%s: %w", KeyKey, err)
	}
	key, ok := raw.(crypto.Signer)
	if !ok {
		return keyPair{}, fmt.Errorf("%s: a %T is not a signing key", KeyKey, raw)
	}
	if _, err := tls.X509KeyPair(data[CertKey], data[KeyKey]); err != nil {
		return keyPair{}, fmt.Errorf("%s and %s do not belong together: %w", CertKey, KeyKey, err)
	}
	return keyPair{cert: certs[0], key: key}, nil
}

// parseCA reads the CA Secret's data.
func parseCA(data map[string][]byte) (caState, error) {
	pair, err := parsePair(data)
	if err != nil {
		return caState{}, err
	}
	if !pair.cert.IsCA || pair.cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return caState{}, fmt.Errorf("%s is not a CA certificate (subject %q)", CertKey, pair.cert.Subject)
	}
	bundle, err := certutil.ParseCertsPEM(data[BundleKey])
	if err != nil {
		return caState{}, fmt.Errorf("%s: %w", BundleKey, err)
	}
	if !slices.ContainsFunc(bundle, pair.cert.Equal) {
		return caState{}, fmt.Errorf("%s does not hold the CA of %s (subject %q)", BundleKey, CertKey, pair.cert.Subject)
	}
	for _, c := range bundle {
		if !c.IsCA {
			return caState{}, fmt.Errorf("%s holds a certificate that is not a CA (subject %q)", BundleKey, c.Subject)
		}
	}
	return caState{current: pair, bundle: bundle}, nil
}

// data renders the CA Secret's data, the current CA first in the bundle.
func (s caState) data() (map[string][]byte, error) {
	certPEM, keyPEM, err := s.current.encode()
	if err != nil {
		return nil, err
	}
	others := slices.DeleteFunc(slices.Clone(s.bundle), s.current.cert.Equal)
	bundle, err := certutil.EncodeCertificates(append([]*x509.Certificate{s.current.cert}, others...)...)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{CertKey: certPEM, KeyKey: keyPEM, BundleKey: bundle}, nil
}

// servingData renders the TLS Secret's data: the pair and the CA that signed it (ca.crt, as cert-manager writes it).
func servingData(p keyPair, issuer *x509.Certificate) (map[string][]byte, error) {
	certPEM, keyPEM, err := p.encode()
	if err != nil {
		return nil, err
	}
	caPEM, err := certutil.EncodeCertificates(issuer)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{CertKey: certPEM, KeyKey: keyPEM, BundleKey: caPEM}, nil
}

// signedBy says whether c verifies as a serving certificate under ca at now.
func signedBy(c, ca *x509.Certificate, now time.Time) bool {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err := c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err == nil
}

// covers says whether c is valid for every host.
func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// BundlePEM returns the PEM of the CA Secret's bundle after checking that it holds certificates only.
func BundlePEM(data map[string][]byte) ([]byte, error) {
	certs, err := certutil.ParseCertsPEM(data[BundleKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BundleKey, err)
	}
	if len(certs) == 0 {
		return nil, errors.New(BundleKey + " is empty")
	}
	return bytes.Clone(data[BundleKey]), nil
}

// ReadCertPool reads a CA bundle (PEM) from path: the pool a client verifies a server (or a server its clients)
// with. The error names the file and says what is wrong with it.
func ReadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", path)
	}
	return pool, nil
}
