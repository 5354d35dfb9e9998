package vnfpkg_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
	"github.com/vnfguard/vnfguard/internal/vnfpkg"
	"github.com/vnfguard/vnfguard/internal/vnfpkg/csartest"
)

type pki struct {
	ca, provider, rogueCA, rogue *csartest.Identity
	anchors                      *x509.CertPool
}

func newPKI(t testing.TB) *pki {
	p := &pki{ca: csartest.NewCA(t, "Operator VNF CA"), rogueCA: csartest.NewCA(t, "Rogue CA")}
	p.provider = p.ca.Issue(t, "Acme VNF signing")
	p.rogue = p.rogueCA.Issue(t, "Acme VNF signing") // same name, wrong issuer
	p.anchors = x509.NewCertPool()
	p.anchors.AddCert(p.ca.Cert)
	return p
}

func verify(t testing.TB, data []byte, opts vnfpkg.Options) (*vnfpkg.Package, error) {
	t.Helper()
	return vnfpkg.Verify(bytes.NewReader(data), int64(len(data)), opts)
}

func TestVerifyGoodPackage(t *testing.T) {
	p := newPKI(t)
	for _, noMeta := range []bool{false, true} {
		c := csartest.New(t, p.provider)
		c.NoToscaMeta = noMeta
		pkg, err := verify(t, c.Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
		if err != nil {
			t.Fatalf("noToscaMeta=%v: %v", noMeta, err)
		}
		if pkg.VnfdID != csartest.VnfdID || pkg.Provider != "Acme" || pkg.ProductName != "UPF" || pkg.SoftwareVersion != "1.4.2" {
			t.Errorf("noToscaMeta=%v: identity %q %q %q %q", noMeta, pkg.VnfdID, pkg.Provider, pkg.ProductName, pkg.SoftwareVersion)
		}
		if !pkg.Signed || !strings.Contains(pkg.Signer, "CN=Acme VNF signing") {
			t.Errorf("noToscaMeta=%v: Signed=%v Signer=%q, want signed by Acme VNF signing", noMeta, pkg.Signed, pkg.Signer)
		}
		want := []vnf.DeclaredImage{
			{Name: "upf-ctl", Image: "registry.5gc.example/5gc/upf-ctl@" + csartest.CtlDigest, Digest: csartest.CtlDigest},
			{Name: "upf-data", Image: "registry.5gc.example/5gc/upf@" + csartest.UPFDigest, Digest: csartest.UPFDigest},
			{Name: "exporter", Image: "registry.5gc.example/obs/exporter@" + csartest.ExporterDigest, Digest: csartest.ExporterDigest},
			{Name: "sidecar", Image: "registry.5gc.example/5gc/sidecar@" + csartest.SidecarDigest, Digest: csartest.SidecarDigest},
		}
		if !slices.Equal(pkg.Images, want) {
			t.Errorf("noToscaMeta=%v: images\n got %+v\nwant %+v", noMeta, pkg.Images, want)
		}
		if len(pkg.Artifacts) != 4 || len(pkg.Warnings) != 0 {
			t.Errorf("noToscaMeta=%v: %d artifacts (want 4), warnings %q (want none)", noMeta, len(pkg.Artifacts), pkg.Warnings)
		}
	}
}

func TestVerifyTampered(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name   string
		tamper func(c *csartest.CSAR)
		opts   func(o *vnfpkg.Options)
		want   error
		msg    string
	}{
		{"changed artifact byte", func(c *csartest.CSAR) {
			c.Replace = map[string][]byte{"Definitions/upf.yaml": []byte(strings.Replace(csartest.VNFD, "upf-ctl:1.4.2", "upf-ctl:1.4.3", 1))}
		}, nil, vnfpkg.ErrHashMismatch, "Definitions/upf.yaml: hash mismatch: its SHA-256 is"},
		{"missing artifact", func(c *csartest.CSAR) { c.Omit = map[string]bool{"Files/ChangeLog.txt": true} },
			nil, vnfpkg.ErrMissing, "Files/ChangeLog.txt: missing artifact: listed in Definitions/upf.mf (line"},
		{"unlisted file", func(c *csartest.CSAR) {
			c.Extra = []csartest.File{{Name: "Files/kubernetes/backdoor.sh", Data: []byte("#!/bin/sh\n")}}
		},
			nil, vnfpkg.ErrUnlisted, "Files/kubernetes/backdoor.sh: artifact not listed in the manifest Definitions/upf.mf"},
		{"wrong hash algorithm name", func(c *csartest.CSAR) {
			c.EditManifest = func(m string) string { return strings.Replace(m, "Algorithm: SHA-256", "Algorithm: MD5", 1) }
		}, nil, vnfpkg.ErrAlgorithm, `Definitions/upf.yaml: unsupported hash algorithm "MD5"`},
		{"signature by another key", func(c *csartest.CSAR) {
			c.Signer = &csartest.Identity{Cert: c.Signer.Cert, Key: p.rogue.Key}
		}, nil, vnfpkg.ErrSignature, "the signature does not verify with"},
		{"signer is not the package's certificate", func(c *csartest.CSAR) { c.Signer = p.rogue },
			nil, vnfpkg.ErrSignature, "not by the package's certificate Definitions/upf.cert"},
		{"certificate not chained to the trust anchor", func(c *csartest.CSAR) { c.Signer, c.CertInPackage = p.rogue, p.rogue },
			nil, vnfpkg.ErrUntrusted, "does not chain to a trust anchor"},
		{"self-signed certificate", func(c *csartest.CSAR) { c.Signer, c.CertInPackage = p.rogueCA, p.rogueCA },
			nil, vnfpkg.ErrUntrusted, `the signer "CN=Rogue CA,O=vnfguard test" (issued by "CN=Rogue CA,O=vnfguard test") does not chain`},
		{"manifest edited after signing", func(c *csartest.CSAR) {
			c.EditSigned = func(m string) string {
				return strings.Replace(m, "vnf_package_version: 1.4.2", "vnf_package_version: 1.4.3", 1)
			}
		}, nil, vnfpkg.ErrSignature, "the manifest does not match its signature (changed after signing)"},
		{"text after the signature", func(c *csartest.CSAR) {
			c.EditSigned = func(m string) string { return m + "\nSource: Files/evil\n" }
		}, nil, vnfpkg.ErrSignature, "text after -----END CMS-----"},
		{"zip slip", func(c *csartest.CSAR) {
			c.Extra = []csartest.File{{Name: "Files/../../etc/cron.d/evil", Data: []byte("x")}}
		},
			nil, vnfpkg.ErrUnsafePath, `Files/../../etc/cron.d/evil: unsafe path: a ".." component (zip slip)`},
		{"absolute path", func(c *csartest.CSAR) { c.Extra = []csartest.File{{Name: "/etc/passwd", Data: []byte("x")}} },
			nil, vnfpkg.ErrUnsafePath, "/etc/passwd: unsafe path: an absolute path"},
		{"duplicate entry", func(c *csartest.CSAR) {
			c.Extra = []csartest.File{{Name: "Files/ChangeLog.txt", Data: []byte("other")}}
		},
			nil, vnfpkg.ErrDuplicate, "Files/ChangeLog.txt: duplicate entry"},
		{"unsigned", func(c *csartest.CSAR) { c.Signer, c.CertInPackage = nil, nil },
			nil, vnfpkg.ErrUnsigned, "Definitions/upf.mf: package not signed: the manifest has no CMS signature"},
		{"no trust anchor", nil, func(o *vnfpkg.Options) { o.TrustAnchors = nil },
			vnfpkg.ErrUntrusted, "no trust anchor was given"},
		{"zip bomb", nil, func(o *vnfpkg.Options) { o.Limits.MaxFileSize = 100 },
			vnfpkg.ErrTooLarge, "bytes, the limit is 100"},
		{"manifest lists a file twice", func(c *csartest.CSAR) {
			c.EditManifest = func(m string) string { return m + "\nSource: Files/ChangeLog.txt\nAlgorithm: SHA-256\nHash: 00\n" }
		}, nil, vnfpkg.ErrDuplicate, "Files/ChangeLog.txt: duplicate entry: also listed at line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := csartest.New(t, p.provider)
			if tc.tamper != nil {
				tc.tamper(c)
			}
			opts := vnfpkg.Options{TrustAnchors: p.anchors}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			pkg, err := verify(t, c.Build(t), opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if pkg != nil {
				t.Errorf("a package with an error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestVerifyAllowUnsigned(t *testing.T) {
	p := newPKI(t)
	c := csartest.New(t, p.provider)
	c.Signer, c.CertInPackage = nil, nil
	pkg, err := verify(t, c.Build(t), vnfpkg.Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Signed || len(pkg.Warnings) != 1 || !strings.Contains(pkg.Warnings[0], "not signed") {
		t.Errorf("Signed=%v warnings %q, want unsigned with one warning", pkg.Signed, pkg.Warnings)
	}
	// A signed package without trust anchors: the signature is checked, the signer is not trusted.
	pkg, err = verify(t, csartest.New(t, p.provider).Build(t), vnfpkg.Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Signed || pkg.Signer == "" || len(pkg.Warnings) != 1 || !strings.Contains(pkg.Warnings[0], "no trust anchor") {
		t.Errorf("Signed=%v Signer=%q warnings %q, want a checked but untrusted signature", pkg.Signed, pkg.Signer, pkg.Warnings)
	}
	// AllowUnsigned never excuses a broken signature.
	c = csartest.New(t, p.provider)
	c.EditSigned = func(m string) string { return strings.Replace(m, "UPF", "UPG", 1) }
	if _, err := verify(t, c.Build(t), vnfpkg.Options{AllowUnsigned: true}); !errors.Is(err, vnfpkg.ErrSignature) {
		t.Errorf("edited signed manifest with AllowUnsigned: %v, want ErrSignature", err)
	}
}

func TestVerifyTaggedImage(t *testing.T) {
	p := newPKI(t)
	c := csartest.New(t, p.provider)
	c.Files[1].Data = csartest.Chart(t, "upf", "image:\n  repository: registry.5gc.example/5gc/upf-tools\n  tag: \"1.0\"\n")
	pkg, err := verify(t, c.Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
	if err != nil {
		t.Fatal(err)
	}
	u := pkg.Undigested()
	if len(u) != 1 || u[0].Image != "registry.5gc.example/5gc/upf-tools:1.0" || u[0].Digest != "" {
		t.Fatalf("undigested images %+v, want upf-tools:1.0", u)
	}
	if len(pkg.Warnings) != 1 || !strings.Contains(pkg.Warnings[0], "upf-tools:1.0 has no digest") {
		t.Errorf("warnings %q, want one about upf-tools:1.0", pkg.Warnings)
	}
}

func TestVerifyNotAZip(t *testing.T) {
	if _, err := verify(t, []byte("PK not really"), vnfpkg.Options{}); !errors.Is(err, vnfpkg.ErrFormat) {
		t.Fatalf("error %v, want ErrFormat", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	p := newPKI(b)
	data := csartest.New(b, p.provider).Build(b)
	opts := vnfpkg.Options{TrustAnchors: p.anchors}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify(b, data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerify checks that no archive makes Verify panic, and that a package comes only without an error.
func FuzzVerify(f *testing.F) {
	p := newPKI(f)
	f.Add(csartest.New(f, p.provider).Build(f))
	c := csartest.New(f, p.provider)
	c.NoToscaMeta = true
	f.Add(c.Build(f))
	opts := vnfpkg.Options{TrustAnchors: p.anchors, Limits: vnfpkg.Limits{MaxTotalSize: 1 << 20}}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, err := verify(t, data, opts)
		if (pkg == nil) == (err == nil) {
			t.Fatalf("package %v with error %v", pkg, err)
		}
	})
}

func TestVerifyVnfdID(t *testing.T) {
	p := newPKI(t)
	noID := strings.Replace(csartest.VNFD, "descriptor_id: "+csartest.VnfdID, "descriptor_id: ''", 1)
	cases := []struct {
		name, vnfd, metadata, wantID, wantErr string
	}{
		{"from the VNFD", csartest.VNFD, "", csartest.VnfdID, ""},
		{"from the manifest", noID, "vnfd_id: from-manifest\n", "from-manifest", ""},
		{"both agree", csartest.VNFD, "vnfd_id: " + csartest.VnfdID + "\n", csartest.VnfdID, ""},
		{"they differ", csartest.VNFD, "vnfd_id: other\n", "", `vnfd_id "other" differs from the VNFD's descriptor_id`},
		{"neither", noID, "", "", "no vnfdId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := csartest.New(t, p.provider)
			c.Files[0].Data = []byte(tc.vnfd)
			c.Metadata += tc.metadata
			pkg, err := verify(t, c.Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
			if tc.wantErr != "" {
				if !errors.Is(err, vnfpkg.ErrFormat) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrFormat saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pkg.VnfdID != tc.wantID {
				t.Errorf("vnfdId %q, want %q", pkg.VnfdID, tc.wantID)
			}
		})
	}
}

func TestVerifyChartDirectory(t *testing.T) {
	p := newPKI(t)
	c := csartest.New(t, p.provider)
	digest := "sha256:" + strings.Repeat("5e", 32)
	c.Files = append(c.Files,
		csartest.File{Name: "Files/kubernetes/amf/Chart.yaml", Data: []byte("apiVersion: v2\nname: amf\nversion: 1.0.0\n")},
		csartest.File{Name: "Files/kubernetes/amf/values.yaml", Data: []byte("image:\n  repository: registry.5gc.example/5gc/amf\n  digest: " + digest + "\n")},
		// A values.yaml that is not next to a Chart.yaml is just a file.
		csartest.File{Name: "Files/other/values.yaml", Data: []byte("image: registry.5gc.example/not/a-chart@" + digest + "\n")},
	)
	pkg, err := verify(t, c.Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
	if err != nil {
		t.Fatal(err)
	}
	want := vnf.DeclaredImage{Name: "amf", Image: "registry.5gc.example/5gc/amf@" + digest, Digest: digest}
	if !slices.Contains(pkg.Images, want) || len(pkg.Images) != 5 {
		t.Errorf("images %+v, want the four of the package and %+v", pkg.Images, want)
	}
}
