package integrity

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/imagesig"
	"github.com/vnfguard/vnfguard/internal/imagesig/cosigntest"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// world is a registry with a signed image, the provider's key and a clean report for it.
type world struct {
	reg    *cosigntest.Registry
	signed name.Digest
	cfg    config.Images
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	reg := cosigntest.StartRegistry()
	tb.Cleanup(reg.Close)
	key, err := cosigntest.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	signed, err := reg.Push("5gc/upf", "1.0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := reg.Sign(key, signed); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	pub := filepath.Join(dir, "acme.pub")
	report := filepath.Join(dir, "upf.json")
	for path, data := range map[string]string{pub: string(key.PublicPEM), report: `{"SchemaVersion": 2, "ArtifactName": "` + signed.String() +
		`", "ArtifactType": "container_image", "Metadata": {"RepoDigests": ["` + signed.String() + `"]}, "Results": []}`} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return &world{reg: reg, signed: signed, cfg: config.Images{
		Signatures:      &config.Signatures{Providers: []config.ProviderKeys{{Provider: "Acme", PublicKeys: []string{pub}}}},
		Vulnerabilities: &config.Vulnerabilities{Reports: []string{report}},
		Registry:        config.ImageRegistry{Insecure: []string{reg.Host}},
	}}
}

func TestIntegrity(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	i, err := New(ctx, w.cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !i.Signatures() || !i.Vulnerabilities() {
		t.Fatal("both checks should be on")
	}
	if d, err := i.VerifySignature(ctx, w.reg.Host+"/5gc/upf:1.0", "Acme"); err != nil || d != w.signed.DigestStr() {
		t.Fatalf("VerifySignature by tag = %q, %v; want %s", d, err, w.signed.DigestStr())
	}
	if _, err := i.VerifySignature(ctx, w.signed.String(), "Initech"); err == nil || !strings.Contains(err.Error(), `no signing keys are configured for VNF provider "Initech"`) {
		t.Fatalf("a provider without keys: %v", err)
	}
	if deny, err := i.CheckVulnerabilities(ctx, w.reg.Host+"/5gc/upf:1.0", ""); err != nil || deny != "" {
		t.Fatalf("a clean report, image by tag: deny %q, err %v", deny, err)
	}
	other, err := w.reg.Push("5gc/other", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if deny, _ := i.CheckVulnerabilities(ctx, other.String(), other.DigestStr()); deny == "" {
		t.Fatal("an image without a report passes; missingReport defaults to deny")
	}
	w.reg.Close()
	if _, err := i.VerifySignature(ctx, other.String(), "Acme"); !errors.Is(err, imagesig.ErrRegistryUnreachable) {
		t.Fatalf("registry down: %v, want ErrRegistryUnreachable", err)
	}
	if got, err := New(ctx, config.Images{}, nil, nil); got != nil || err != nil {
		t.Fatalf("no images configuration: %v, %v; want nil, nil", got, err)
	}
}

// BenchmarkAdmissionSignature evaluates a UPF Deployment through the whole admission policy with the signature
// and vulnerability checks against the loopback registry: cold (a new verifier each time: resolve, fetch and verify
// the signature) and warm (the verification cached per digest). Compare the two in one run.
func BenchmarkAdmissionSignature(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	cfg, err := config.Parse([]byte("protectedNamespaces: {names: [vnf-upf]}\nidentities: {vnfm: {users: [tacker-vnfm]}}\n"))
	if err != nil {
		b.Fatal(err)
	}
	inst := &vnf.Instance{ID: "upf-1", VnfdID: "upf-vnfd", VnfProvider: "Acme", VnfProductName: "UPF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "vnf-upf"}},
		DeclaredImages:      []vnf.DeclaredImage{{Image: w.signed.String(), Digest: w.signed.DigestStr()}}}
	inv := vnf.Static{Snap: vnf.NewSnapshot("bench", "v1", time.Now(), []*vnf.Instance{inst})}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "upf", Namespace: "vnf-upf", Labels: map[string]string{vnf.DefaultInstanceLabel: "upf-1"}}}
	d.Spec.Template.Spec = corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "upf", Image: w.signed.String(), SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
	req := &policy.Request{UID: "bench", Operation: policy.Create, Kind: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: "vnf-upf", Name: "upf",
		User: authnv1.UserInfo{Username: "tacker-vnfm"}, Object: d}
	evaluator := func(i *Integrity) *policy.Evaluator {
		ev, err := policy.New(policy.Environment{Config: cfg, Inventory: inv, Images: i, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		return ev
	}
	judge := func(ev *policy.Evaluator) {
		if dec := ev.Evaluate(ctx, req); !dec.Allowed {
			b.Fatalf("denied: %s", dec.Message())
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			i, err := New(ctx, w.cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ev := evaluator(i)
			b.StartTimer()
			judge(ev)
		}
	})
	b.Run("warm", func(b *testing.B) {
		i, err := New(ctx, w.cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		ev := evaluator(i)
		judge(ev)
		for b.Loop() {
			judge(ev)
		}
	})
}
