package csartest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

// Identity is a certificate and its key.
type Identity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PEM is the certificate in PEM.
func (id *Identity) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})
}

// NewCA makes a self-signed CA.
func NewCA(t testing.TB, cn string) *Identity { return issue(t, cn, nil, true) }

// Issue makes a provider (end-entity) certificate signed by ca.
func (ca *Identity) Issue(t testing.TB, cn string) *Identity { return issue(t, cn, ca, false) }

func issue(t testing.TB, cn string, parent *Identity, isCA bool) *Identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"vnfguard test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(100 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Identity{Cert: cert, Key: key}
}

// File is one file of a package.
type File struct {
	Name string
	Data []byte
}

// Digests used by the default package's images.
var (
	UPFDigest      = "sha256:" + strings.Repeat("1a", 32)
	CtlDigest      = "sha256:" + strings.Repeat("2b", 32)
	SidecarDigest  = "sha256:" + strings.Repeat("3c", 32)
	ExporterDigest = "sha256:" + strings.Repeat("4d", 32)
)

// VnfdID is the default package's descriptor_id.
const VnfdID = "6e2f1c8a-5b3d-4e7f-9a10-2b4c6d8e0f12"

// CSAR describes a package to build. Every field can be changed before Build to tamper with the result.
type CSAR struct {
	// Files are the artifacts, listed in the manifest with their SHA-256 (or Algorithm) hashes.
	Files []File
	// NoToscaMeta builds the variant without TOSCA-Metadata: Definitions go to the root as upf.yaml, the
	// manifest is upf.mf, the certificate upf.cert.
	NoToscaMeta bool
	// Metadata is the manifest's metadata block.
	Metadata string
	// Signer signs the manifest (nil: unsigned). CertInPackage is the package's certificate (nil: none).
	Signer        *Identity
	CertInPackage *Identity
	// EditManifest changes the manifest before it is signed; EditSigned after.
	EditManifest, EditSigned func(string) string
	// Replace changes a file's bytes after the manifest is made; Omit leaves a listed file out; Extra adds
	// unlisted zip entries (any name, even an unsafe one).
	Replace map[string][]byte
	Omit    map[string]bool
	Extra   []File
}

// New is a good signed package: provider certificate issued by ca.
func New(t testing.TB, provider *Identity) *CSAR {
	return &CSAR{
		Files: []File{
			{Name: "Definitions/upf.yaml", Data: []byte(VNFD)},
			{Name: "Files/kubernetes/upf-1.4.2.tgz", Data: Chart(t, "upf", Values)},
			{Name: "Files/ChangeLog.txt", Data: []byte("1.4.2: first release\n")},
			{Name: "Licenses/LICENSE.txt", Data: []byte("Proprietary.\n")},
		},
		Metadata:      "metadata:\nvnf_provider_id: Acme\nvnf_product_name: UPF\nvnf_release_date_time: 2025-06-01T10:00:00+00:00\nvnf_package_version: 1.4.2\n",
		Signer:        provider,
		CertInPackage: provider,
	}
}

// VNFD is the default VNFD: a VNF node of a derived type, two OsContainer nodes with SwImage artifacts (one with a
// digest in the reference, one with a SHA-256 checksum) and a VM VDU whose image is not a container image.
var VNFD = `tosca_definitions_version: tosca_simple_yaml_1_3
description: Acme UPF
imports:
  - etsi_nfv_sol001_vnfd_types.yaml
node_types:
  acme.upf.VNF:
    derived_from: tosca.nodes.nfv.VNF
topology_template:
  node_templates:
    upf:
      type: acme.upf.VNF
      properties:
        descriptor_id: ` + VnfdID + `
        descriptor_version: "1.0"
        provider: Acme
        product_name: UPF
        software_version: "1.4.2"
    upf-data:
      type: tosca.nodes.nfv.Vdu.OsContainer
      properties:
        name: upf-data
      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: registry.5gc.example/5gc/upf@` + UPFDigest + `
    upf-ctl:
      type: tosca.nodes.nfv.Vdu.OsContainer
      properties:
        name: upf-ctl
      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: registry.5gc.example/5gc/upf-ctl:1.4.2
          properties:
            checksum:
              algorithm: sha-256
              hash: ` + strings.TrimPrefix(CtlDigest, "sha256:") + `
    upf-vm:
      type: tosca.nodes.nfv.Vdu.Compute
      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: Files/images/upf.qcow2
`

// Values is the default chart's values.yaml: the UPF image again (declared once), an image map with a digest and
// a repository+digest pair deeper down.
var Values = `image: registry.5gc.example/5gc/upf@` + UPFDigest + `
sidecar:
  image:
    repository: registry.5gc.example/5gc/sidecar
    tag: "2.1"
    digest: ` + SidecarDigest + `
metrics:
  exporter:
    repository: registry.5gc.example/obs/exporter
    digest: ` + ExporterDigest + `
  pullPolicy: IfNotPresent
`

// Chart packs a Helm chart (name/Chart.yaml, name/values.yaml, a template) as a .tgz.
func Chart(t testing.TB, name, values string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []File{
		{name + "/Chart.yaml", []byte("apiVersion: v2\nname: " + name + "\nversion: 1.4.2\n")},
		{name + "/values.yaml", []byte(values)},
		{name + "/templates/deployment.yaml", []byte("image: {{ .Values.image }}\n")},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Sign makes a detached CMS signature of content, in the PEM block SOL004 appends to the manifest.
func Sign(t testing.TB, signer *Identity, content []byte) string {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(signer.Cert, signer.Key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}))
}

// Build writes the zip.
func (c *CSAR) Build(t testing.TB) []byte {
	t.Helper()
	manifestName, certName, defs := "Definitions/upf.mf", "Definitions/upf.cert", "Definitions/upf.yaml"
	if c.NoToscaMeta {
		manifestName, certName = "upf.mf", "upf.cert"
	}
	files := make([]File, 0, len(c.Files))
	for _, f := range c.Files {
		if c.NoToscaMeta && f.Name == defs {
			f.Name = "upf.yaml"
		}
		files = append(files, f)
	}
	var m strings.Builder
	m.WriteString(c.Metadata)
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&m, "\nSource: %s\nAlgorithm: SHA-256\nHash: %s\n", f.Name, hex.EncodeToString(sum[:]))
	}
	manifest := m.String()
	if c.EditManifest != nil {
		manifest = c.EditManifest(manifest)
	}
	if c.Signer != nil {
		manifest += Sign(t, c.Signer, []byte(manifest))
	}
	if c.EditSigned != nil {
		manifest = c.EditSigned(manifest)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if !c.NoToscaMeta {
		meta := "TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Acme\nEntry-Definitions: " + defs +
			"\nETSI-Entry-Manifest: " + manifestName + "\nETSI-Entry-Change-Log: Files/ChangeLog.txt\nETSI-Entry-Licenses: Licenses\n"
		if c.CertInPackage != nil {
			meta += "ETSI-Entry-Certificate: " + certName + "\n"
		}
		add("TOSCA-Metadata/TOSCA.meta", []byte(meta))
	}
	add(manifestName, []byte(manifest))
	if c.CertInPackage != nil {
		add(certName, c.CertInPackage.PEM())
	}
	for _, f := range files {
		if c.Omit[f.Name] {
			continue
		}
		data := f.Data
		if r, ok := c.Replace[f.Name]; ok {
			data = r
		}
		add(f.Name, data)
	}
	for _, f := range c.Extra {
		add(f.Name, f.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
