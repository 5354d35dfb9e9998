package policy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// integrity answers for the checks as the real verifier would, from tables: the checks' logic is what is tested
// here; internal/imagesig and internal/vulngate are tested against a real registry and real reports.
type integrity struct {
	signed   map[string]string // image → provider that signed it
	vulns    map[string]string // image → denial
	sigOn    bool
	vulnOn   bool
	registry error // every signature check fails with it (a registry down)
}

func (i *integrity) Signatures() bool      { return i.sigOn }
func (i *integrity) Vulnerabilities() bool { return i.vulnOn }
func (i *integrity) VerifySignature(_ context.Context, image, provider string) (string, error) {
	if i.registry != nil {
		return "", i.registry
	}
	if p, ok := i.signed[image]; ok && p == provider {
		return "sha256:x", nil
	}
	if _, ok := i.signed[image]; ok {
		return "", errors.New("not signed by any key of provider " + provider)
	}
	return "", errors.New("no signature")
}
func (i *integrity) CheckVulnerabilities(_ context.Context, image, _ string) (string, error) {
	return i.vulns[image], nil
}

func TestImageIntegrityChecks(t *testing.T) {
	upfDeployment := func(images ...string) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: meta("upf", map[string]string{vnf.DefaultInstanceLabel: "upf-1"})}
		for i, img := range images {
			d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, restrictedContainer([]string{"upf", "sidecar"}[i], img))
		}
		return d
	}
	for _, tc := range []struct {
		name      string
		integrity *integrity
		ns        string
		images    []string
		want      []string // substrings of the denial, empty: allowed
	}{
		{"signed by the instance's provider", &integrity{sigOn: true, signed: map[string]string{upfImage: "Acme", sideImage: "Acme"}}, protectedNS, []string{upfImage, sideImage}, nil},
		{"one image unsigned", &integrity{sigOn: true, signed: map[string]string{upfImage: "Acme"}}, protectedNS, []string{upfImage, sideImage}, []string{"image-signature", `container "sidecar"`, "no signature", `provider "Acme"`}},
		{"signed by another provider", &integrity{sigOn: true, signed: map[string]string{upfImage: "Mallory Inc"}}, protectedNS, []string{upfImage}, []string{"image-signature", "not signed by any key of provider Acme"}},
		{"registry down fails closed", &integrity{sigOn: true, registry: errors.New("registry registry.5gc.example cannot be reached: timeout")}, protectedNS, []string{upfImage}, []string{"image-signature", "cannot be reached"}},
		{"signatures off", &integrity{}, protectedNS, []string{upfImage}, nil},
		{"critical CVE", &integrity{vulnOn: true, vulns: map[string]string{upfImage: "CVE-2024-3094 (CRITICAL, xz-utils 5.6.0 → 5.6.1)"}}, protectedNS, []string{upfImage}, []string{"image-vulnerabilities", "CVE-2024-3094"}},
		{"clean report", &integrity{vulnOn: true}, protectedNS, []string{upfImage}, nil},
		{"outside protected namespaces nothing is checked", &integrity{sigOn: true, vulnOn: true, vulns: map[string]string{upfImage: "CVE-2024-3094"}}, "default", []string{upfImage}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, "")
			ev, err := New(Environment{Config: e.cfg, Inventory: e.inv, Objects: e.objs, Images: tc.integrity, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			d := upfDeployment(tc.images...)
			d.Namespace = tc.ns
			d.Labels = map[string]string{vnf.DefaultInstanceLabel: "upf-1"}
			dec := ev.Evaluate(context.Background(), deploymentRequest(Create, vnfmUser, d, nil))
			msg := dec.Message()
			var integrityDenials []Violation
			for _, v := range dec.Denials {
				if v.Check == "image-signature" || v.Check == "image-vulnerabilities" {
					integrityDenials = append(integrityDenials, v)
				}
			}
			if len(tc.want) == 0 {
				if len(integrityDenials) > 0 {
					t.Fatalf("denied: %s", msg)
				}
				return
			}
			if len(integrityDenials) == 0 {
				t.Fatalf("allowed, want a denial containing %v (decision: %s)", tc.want, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("denial %q lacks %q", msg, w)
				}
			}
		})
	}
}
