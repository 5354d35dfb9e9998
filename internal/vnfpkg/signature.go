package vnfpkg

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/smallstep/pkcs7"
)

// LoadTrustAnchors reads PEM CA certificates, the operator's trust anchors for package signatures.
func LoadTrustAnchors(paths ...string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read trust anchor: %w", err)
		}
		certs, err := parseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("trust anchor %s: %w", p, err)
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("trust anchor %s: no PEM CERTIFICATE block", p)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

// parseCertificates reads the PEM CERTIFICATE blocks of data, skipping other blocks (a key someone left there).
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return certs, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
}

// describe names a certificate precisely enough to tell two with the same subject apart.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("%q (issued by %q, serial %x)", c.Subject, c.Issuer, c.SerialNumber)
}

// parseCMS parses a CMS SignedData. pkcs7 parses untrusted ASN.1; a panic in it must not take vnfguard down, so it
// becomes an error like any other malformed signature.
func parseCMS(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("malformed CMS: %v", r)
		}
	}()
	return pkcs7.Parse(der)
}

// verifySignature checks the manifest's detached CMS signature: made by one signer, whose certificate is the
// package's (pkgCerts[0], when the package has a certificate file), over exactly m.Signed, with a certificate that
// chains to anchors at now. It returns the signer's subject. anchors nil means "check the signature, not the
// chain" (Options.AllowUnsigned without trust anchors); the caller then does not call the package signed.
func verifySignature(manifestName string, m *Manifest, certName string, pkgCerts []*x509.Certificate, anchors *x509.CertPool, now time.Time) (string, error) {
	p7, err := parseCMS(m.Signature)
	if err != nil {
		return "", fmt.Errorf("%s: %w: the CMS block is not a CMS SignedData: %w", manifestName, ErrSignature, err)
	}
	if len(p7.Content) > 0 && string(p7.Content) != string(m.Signed) {
		return "", fmt.Errorf("%s: %w: the signature embeds content other than the manifest", manifestName, ErrSignature)
	}
	// SOL004 §5.4: the signature is detached; what it signs is the manifest before the CMS block.
	p7.Content = m.Signed
	p7.Certificates = append(p7.Certificates, pkgCerts...)
	signer := p7.GetOnlySigner()
	if signer == nil {
		return "", fmt.Errorf("%s: %w: want one signer whose certificate is in the signature or in the package, found %d signer(s)", manifestName, ErrSignature, len(p7.Signers))
	}
	if len(pkgCerts) > 0 && !signer.Equal(pkgCerts[0]) {
		return "", fmt.Errorf("%s: %w: signed by %s, not by the package's certificate %s (%s)", manifestName, ErrSignature, describe(signer), certName, describe(pkgCerts[0]))
	}
	if err := p7.Verify(); err != nil {
		var mismatch *pkcs7.MessageDigestMismatchError
		if errors.As(err, &mismatch) {
			return "", fmt.Errorf("%s: %w: the manifest does not match its signature (changed after signing)", manifestName, ErrSignature)
		}
		return "", fmt.Errorf("%s: %w: the signature does not verify with %q's key: %w", manifestName, ErrSignature, signer.Subject, err)
	}
	if anchors == nil {
		return signer.Subject.String(), nil
	}
	intermediates := x509.NewCertPool()
	for _, c := range p7.Certificates {
		intermediates.AddCert(c)
	}
	_, err = signer.Verify(x509.VerifyOptions{
		Roots: anchors, Intermediates: intermediates, CurrentTime: now,
		// Provider certificates carry code-signing, email or no extended key usage at all; SOL004 does not say.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w: the signer %q (issued by %q) does not chain to a trust anchor: %w", manifestName, ErrUntrusted, signer.Subject, signer.Issuer, err)
	}
	return signer.Subject.String(), nil
}
