package vnfpkg

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// toscaMetaPath is where a CSAR with TOSCA-Metadata keeps its metadata (SOL004 §4.1.2).
const toscaMetaPath = "TOSCA-Metadata/TOSCA.meta"

// maxErrors bounds how many problems one verification reports: past that, the package is not a typo away from good.
const maxErrors = 20

// Options are what the operator decides about a package.
type Options struct {
	// TrustAnchors are the CAs a provider's certificate must chain to. Without them a signed package is refused
	// (ErrUntrusted) unless AllowUnsigned.
	TrustAnchors *x509.CertPool
	// AllowUnsigned accepts a package whose manifest is not signed, or whose signature cannot be checked against a
	// trust anchor (its integrity still is). Package.Signed is then false and a warning says why.
	AllowUnsigned bool
	// Limits bound the package's size; zero fields take the defaults.
	Limits Limits
	// Now is the time certificates are checked at; time.Now when nil.
	Now func() time.Time
}

// Package is a verified VNF package: who made it, what it holds, and the images it declares.
type Package struct {
	VnfdID, Provider, ProductName, SoftwareVersion string
	// Images are the container images the VNFD and the Helm charts declare, in the order found, each once.
	Images []vnf.DeclaredImage
	// Artifacts are the manifest's artifacts, each checked.
	Artifacts []Artifact
	// Signed is true when the manifest's signature verified and its signer chains to a trust anchor.
	Signed bool
	// Signer is the signer certificate's subject, when the signature verified.
	Signer string
	// Manifest, Certificate and EntryDefinitions are the paths of those files in the package.
	Manifest, Certificate, EntryDefinitions string
	// Warnings are what is accepted but worth knowing: images without digests, external artifacts, an unsigned
	// package allowed.
	Warnings []string
}

// Artifact is one artifact of the manifest.
type Artifact struct {
	Path      string `json:"path"`
	Algorithm string `json:"algorithm"`
	Hash      string `json:"hash"` // lowercase hex
	Size      int64  `json:"size"`
	// External is true for an artifact outside the package (a URI), whose hash is not checked.
	External bool `json:"external,omitempty"`
}

// Undigested returns the declared images that have no digest: admission cannot bind them.
func (p *Package) Undigested() []vnf.DeclaredImage {
	var out []vnf.DeclaredImage
	for _, img := range p.Images {
		if img.Digest == "" {
			out = append(out, img)
		}
	}
	return out
}

// Open verifies the CSAR file at path (see Verify).
func Open(path string, opts Options) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open VNF package: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open VNF package: %w", err)
	}
	pkg, err := Verify(f, st.Size(), opts)
	if err != nil {
		return nil, fmt.Errorf("VNF package %s: %w", path, err)
	}
	return pkg, nil
}

// Verify checks a CSAR of size bytes: its layout, every artifact against the manifest, the manifest's signature, and
// reads the VNF's identity and images. The error joins every problem found (at most 20), each wrapping one of the
// Err* reasons and naming the artifact; it never returns a package with an error.
func Verify(r io.ReaderAt, size int64, opts Options) (*Package, error) {
	limits := opts.Limits.withDefaults()
	a, err := openArchive(r, size, limits)
	if err != nil {
		return nil, err
	}
	pkg := &Package{}
	if err := locate(a, pkg); err != nil {
		return nil, err
	}
	data, err := a.read(pkg.Manifest)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(pkg.Manifest, data)
	if err != nil {
		return nil, err
	}
	var errs []error
	if err := checkSignature(a, m, pkg, opts); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkArtifacts(a, m, pkg)...)
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors], fmt.Errorf("and %d more problems", len(errs)-maxErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := identify(a, m, pkg); err != nil {
		return nil, err
	}
	return pkg, nil
}

// locate finds the entry definitions, the manifest and the certificate: from TOSCA.meta, or (SOL004 §4.1.3, a CSAR
// without TOSCA-Metadata) from the one YAML file at the package's root and the .mf and .cert of the same name.
func locate(a *archive, pkg *Package) error {
	if a.has(toscaMetaPath) {
		data, err := a.read(toscaMetaPath)
		if err != nil {
			return err
		}
		meta, err := ParseToscaMeta(data)
		if err != nil {
			return err
		}
		if meta.EntryManifest == "" {
			return fmt.Errorf("%s: %w: no ETSI-Entry-Manifest; SOL004 requires a manifest", toscaMetaPath, ErrFormat)
		}
		pkg.EntryDefinitions, pkg.Manifest, pkg.Certificate = meta.EntryDefinitions, meta.EntryManifest, meta.EntryCertificate
		for _, f := range []struct{ what, name string }{{"Entry-Definitions", pkg.EntryDefinitions}, {"ETSI-Entry-Manifest", pkg.Manifest}, {"ETSI-Entry-Certificate", pkg.Certificate}} {
			if f.name == "" {
				continue
			}
			if err := checkPath(f.name); err != nil {
				return fmt.Errorf("%s: %s: %w", toscaMetaPath, f.what, err)
			}
			if !a.has(f.name) {
				return fmt.Errorf("%s: %w: %s names it but the package does not hold it", f.name, ErrMissing, toscaMetaPath+" "+f.what)
			}
		}
		return nil
	}
	var roots []string
	for _, n := range a.names {
		if !strings.Contains(n, "/") && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			roots = append(roots, n)
		}
	}
	if len(roots) != 1 {
		return fmt.Errorf("%w: no %s, and %d YAML files at the root (want exactly one, the main VNFD)", ErrFormat, toscaMetaPath, len(roots))
	}
	base := strings.TrimSuffix(strings.TrimSuffix(roots[0], ".yaml"), ".yml")
	pkg.EntryDefinitions, pkg.Manifest = roots[0], base+".mf"
	if !a.has(pkg.Manifest) {
		return fmt.Errorf("%s: %w: a CSAR without TOSCA-Metadata needs the manifest next to %s", pkg.Manifest, ErrMissing, roots[0])
	}
	if a.has(base + ".cert") {
		pkg.Certificate = base + ".cert"
	}
	return nil
}

// checkSignature verifies the manifest's signature, or decides that an unsigned package is allowed.
func checkSignature(a *archive, m *Manifest, pkg *Package, opts Options) error {
	if m.Signature == nil {
		if !opts.AllowUnsigned {
			return fmt.Errorf("%s: %w: the manifest has no CMS signature (give --allow-unsigned to accept it)", pkg.Manifest, ErrUnsigned)
		}
		pkg.Warnings = append(pkg.Warnings, pkg.Manifest+": the package is not signed; its provenance is not checked")
		return nil
	}
	var certs []*x509.Certificate
	if pkg.Certificate != "" {
		data, err := a.read(pkg.Certificate)
		if err != nil {
			return err
		}
		certs, err = parseCertificates(data)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", pkg.Certificate, ErrSignature, err)
		}
		if len(certs) == 0 {
			return fmt.Errorf("%s: %w: no PEM CERTIFICATE block", pkg.Certificate, ErrSignature)
		}
	}
	anchors := opts.TrustAnchors
	if anchors == nil && !opts.AllowUnsigned {
		return fmt.Errorf("%s: %w: the package is signed but no trust anchor was given (--trust-anchor CA.pem); a certificate alone proves nothing", pkg.Manifest, ErrUntrusted)
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	signer, err := verifySignature(pkg.Manifest, m, pkg.Certificate, certs, anchors, now)
	if err != nil {
		return err
	}
	pkg.Signer = signer
	if anchors == nil {
		pkg.Warnings = append(pkg.Warnings, fmt.Sprintf("%s: signed by %q, but no trust anchor was given: the signer is not trusted", pkg.Manifest, signer))
		return nil
	}
	pkg.Signed = true
	return nil
}

// checkArtifacts checks every listed artifact's hash, and that every file of the package is listed.
func checkArtifacts(a *archive, m *Manifest, pkg *Package) []error {
	var errs []error
	listed := map[string]bool{}
	for _, e := range m.Entries {
		art := Artifact{Path: e.Source, Algorithm: e.Algorithm, Hash: hex.EncodeToString(e.Hash), External: e.External()}
		if art.External {
			pkg.Warnings = append(pkg.Warnings, fmt.Sprintf("%s:%d: %s is outside the package; its hash is not checked", pkg.Manifest, e.Line, e.Source))
			pkg.Artifacts = append(pkg.Artifacts, art)
			continue
		}
		if err := checkPath(e.Source); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", pkg.Manifest, e.Line, err))
			continue
		}
		listed[e.Source] = true
		f, ok := a.files[e.Source]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w: listed in %s (line %d) but not in the package", e.Source, ErrMissing, pkg.Manifest, e.Line))
			continue
		}
		sum, err := a.hash(e.Source, e.hash)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if got := hex.EncodeToString(sum); got != art.Hash {
			errs = append(errs, fmt.Errorf("%s: %w: its %s is %s, %s (line %d) says %s", e.Source, ErrHashMismatch, e.Algorithm, got, pkg.Manifest, e.Line, art.Hash))
			continue
		}
		art.Size = int64(f.UncompressedSize64)
		pkg.Artifacts = append(pkg.Artifacts, art)
	}
	for _, n := range a.names {
		if listed[n] || n == pkg.Manifest || n == pkg.Certificate || n == toscaMetaPath {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %w %s", n, ErrUnlisted, pkg.Manifest))
	}
	return errs
}

// identify reads the VNF's identity and images, from the VNFD, the charts and the manifest's metadata.
func identify(a *archive, m *Manifest, pkg *Package) error {
	defs := map[string][]byte{}
	for _, n := range a.names {
		isYAML := strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")
		if n == pkg.EntryDefinitions || (isYAML && path.Dir(n) == "Definitions") {
			data, err := a.read(n)
			if err != nil {
				return err
			}
			defs[n] = data
		}
	}
	images := &imageSet{}
	d, err := readVNFD(defs, images)
	if err != nil {
		return err
	}
	if err := readCharts(a, images); err != nil {
		return err
	}
	md := m.Metadata
	if d.descriptorID != "" && md["vnfd_id"] != "" && d.descriptorID != md["vnfd_id"] {
		return fmt.Errorf("%s: %w: vnfd_id %q differs from the VNFD's descriptor_id %q", pkg.Manifest, ErrFormat, md["vnfd_id"], d.descriptorID)
	}
	pkg.VnfdID = first(d.descriptorID, md["vnfd_id"])
	if pkg.VnfdID == "" {
		return fmt.Errorf("%s: %w: no vnfdId: the VNF node has no descriptor_id and the manifest no vnfd_id", pkg.EntryDefinitions, ErrFormat)
	}
	pkg.Provider = first(d.provider, md["vnf_provider_id"])
	pkg.ProductName = first(d.productName, md["vnf_product_name"])
	pkg.SoftwareVersion = first(d.softwareVersion, md["vnf_software_version"])
	pkg.Images = images.images
	pkg.Warnings = append(pkg.Warnings, images.warnings...)
	if len(pkg.Images) == 0 {
		pkg.Warnings = append(pkg.Warnings, "the package declares no container image: an instance of it can run none")
	}
	return nil
}
