package admission

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshakeLeaf opens a new TLS connection to addr, verifying against ca, and returns the served leaf.
func handshakeLeaf(t *testing.T, addr string, ca []byte) (*x509.Certificate, error) {
	t.Helper()
	pool, err := (&Certificates{CA: ca}).CertPool()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func leafOf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// writePair writes a pair and moves the files' modification time forward, so that the change is seen even on a
// file system with coarse timestamps.
func writePair(t *testing.T, certs *Certificates, certFile, keyFile string, at time.Time) {
	t.Helper()
	if err := certs.WriteFiles(certFile, keyFile, ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, err := GenerateCertificates(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	second, err := GenerateCertificates([]string{"127.0.0.1", "vnfguard.vnfguard-system.svc"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	writePair(t, first, certFile, keyFile, now)
	ts := startServer(t, Options{TLS: TLSOptions{CertFile: certFile, KeyFile: keyFile}})
	addr := ts.Addr()

	steps := []struct {
		name     string
		change   func()
		trust    []byte // the CA the new handshake must verify against
		wantLeaf []byte
		wantLog  string
	}{
		{"initial pair", func() {}, first.CA, first.Cert, ""},
		{"rotated pair", func() { writePair(t, second, certFile, keyFile, now.Add(time.Minute)) }, second.CA, second.Cert, "TLS key pair reloaded"},
		{"half-written pair keeps the last good one", func() {
			if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(certFile, now.Add(2*time.Minute), now.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, second.CA, second.Cert, "TLS key pair changed but does not load; serving the last good certificate"},
		{"missing file keeps the last good one", func() {
			if err := os.Remove(keyFile); err != nil {
				t.Fatal(err)
			}
		}, second.CA, second.Cert, "TLS files unreadable; serving the last good certificate"},
		{"fixed pair", func() { writePair(t, first, certFile, keyFile, now.Add(3*time.Minute)) }, first.CA, first.Cert, "TLS key pair reloaded"},
	}
	for _, st := range steps {
		st.change()
		leaf, err := handshakeLeaf(t, addr, st.trust)
		if err != nil {
			t.Fatalf("%s: handshake: %v", st.name, err)
		}
		if want := leafOf(t, st.wantLeaf); !bytes.Equal(leaf.Raw, want.Raw) {
			t.Errorf("%s: served %s (serial %s), want serial %s", st.name, leaf.Subject, leaf.SerialNumber, want.SerialNumber)
		}
		if st.wantLog != "" && !strings.Contains(ts.logs.String(), st.wantLog) {
			t.Errorf("%s: no log line %q", st.name, st.wantLog)
		}
	}
	// A request over a fresh connection still works end to end with the current pair.
	ts.client.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	ts.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: mustPool(t, first), MinVersion: tls.VersionTLS12}
	ts.review(t, readFixture(t, "pod-review.json"))
}

func TestGenerateCertificates(t *testing.T) {
	certs, err := GenerateCertificates([]string{"vnfguard.svc", "10.0.0.7", "::1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafOf(t, certs.Cert)
	if strings.Join(leaf.DNSNames, ",") != "vnfguard.svc" || len(leaf.IPAddresses) != 2 {
		t.Errorf("SANs: DNS %v IP %v", leaf.DNSNames, leaf.IPAddresses)
	}
	pool, err := certs.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "vnfguard.svc"}); err != nil {
		t.Errorf("serving certificate does not verify against its CA: %v", err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 364*24*time.Hour {
		t.Errorf("default validity %v, want a year", d)
	}
	if _, err := tls.X509KeyPair(certs.Cert, certs.Key); err != nil {
		t.Errorf("generated pair does not load: %v", err)
	}
}

func mustPool(t *testing.T, c *Certificates) *x509.CertPool {
	t.Helper()
	pool, err := c.CertPool()
	if err != nil {
		t.Fatal(err)
	}
	return pool
}
