package apipolicy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The image and root filesystem part of the differential test's configuration: registries besides the lab's own
// (127.0.0.1:5000/, a prefix), a host, Docker Hub's official images (a prefix, written docker.io as operators write
// it) and a registry with a port; and profiles that let containers named cache (the UPF's profile) and scratch
// (another product's) keep a writable root filesystem.
var (
	corpusRegistries = []string{"registry.example.com", "docker.io/library/", "localhost:5000"}
	corpusWritable   = []string{"cache", "scratch"}
)

// corpusProfiles completes lab.ConfigYAML, whose last key is the profiles list and whose last profile is the UPF's.
const corpusProfiles = `    allowWritableRootFilesystem: [cache]
  - name: ims
    products: [IMS]
    allowWritableRootFilesystem: [scratch]
`

// corpusConfigYAML is the lab's configuration with the differential test's registries and profiles.
func corpusConfigYAML(inventory string) string {
	return lab.ConfigYAML(inventory, corpusRegistries...) + corpusProfiles
}

// imageCorpus is the corpus of the image and root filesystem twins: images from allowed and other registries,
// Docker Hub's short names, registries with ports, localhost, digests and tags, references go-containerregistry
// refuses, in the protected namespace (a pod of the running UPF, by the VNFM), a namespace that is not protected
// and kube-system; in init containers and templates; and writable root filesystems with and without a profile's
// exception.
func imageCorpus(t *testing.T) []request {
	t.Helper()
	var out []request
	digest := "@" + lab.ImageDigest("5gc/upf")
	spec := func(image string) corev1.PodSpec {
		return lab.RestrictedPodSpec("app", image, []string{"/usr/bin/upf", "--config", "/etc/upf/upf.yaml"})
	}
	vnfLabels := func(ns string) map[string]string {
		if ns == protectedNS {
			return map[string]string{vnf.DefaultInstanceLabel: running}
		}
		return nil
	}
	add := func(name, ns string, obj runtime.Object) {
		out = append(out, request{name: name + " in " + ns, identity: lab.VNFM, namespace: ns, object: obj})
	}
	pod := func(ns string, s corev1.PodSpec) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "img", Namespace: ns, Labels: vnfLabels(ns)}, Spec: s}
	}
	images := []string{
		lab.Registry + "5gc/upf:1.0", // the lab's registry, a tag
		"registry.example.com/5gc/upf" + digest, "registry.example.com/5gc/upf:1.0",
		"registry.example.com:5000/5gc/upf" + digest, // the allowed host, another port
		"evil.example.org/5gc/upf" + digest, "evil.example.org/5gc/upf:1.0",
		"127.0.0.1:5001/5gc/upf" + digest, // the lab's host, another port
		"nginx", "nginx:1.25", "nginx" + digest, "docker.io/nginx:1.25", "library/nginx" + digest, "index.docker.io/library/nginx:1.25",
		"bitnami/nginx:1.25", "docker.io/bitnami/nginx" + digest, // Docker Hub, not an official image
		"localhost/upf" + digest,                                // Docker Hub's localhost/upf, as go-containerregistry has it
		"localhost:5000/upf" + digest, "localhost:5000/upf:1.0", // a registry, allowed
		// Not valid references.
		lab.Registry + "5gc/UPF" + digest, lab.Registry + "5gc/upf@sha256:abc", lab.Registry + "5gc/upf:", "u",
	}
	for _, image := range images {
		for _, ns := range []string{protectedNS, sandboxNS, "kube-system"} {
			add("image "+image, ns, pod(ns, spec(image)))
		}
	}
	// Init containers and templates.
	for _, image := range []string{"evil.example.org/tools/busybox:1", lab.Registry + "tools/busybox:1"} {
		for _, ns := range []string{protectedNS, sandboxNS} {
			s := spec(lab.ImageRef("5gc/upf"))
			init := s.Containers[0]
			init.Name, init.Image = "init", image
			s.InitContainers = []corev1.Container{init}
			add("init container image "+image, ns, pod(ns, s))
			s = spec(image)
			add("Deployment image "+image, ns, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "img", Namespace: ns, Labels: vnfLabels(ns)},
				Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "img"}},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "img"}}, Spec: s}}})
			s.RestartPolicy = corev1.RestartPolicyNever
			add("CronJob image "+image, ns, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "img", Namespace: ns, Labels: vnfLabels(ns)},
				Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: s}}}}})
		}
	}
	// Writable root filesystems: the UPF's profile names cache, another product's scratch, none app or init.
	writable := func(s *corev1.PodSpec, name string, ro *bool) {
		c := s.Containers[0]
		c.Name = name
		c.SecurityContext = c.SecurityContext.DeepCopy()
		c.SecurityContext.ReadOnlyRootFilesystem = ro
		s.Containers = append(s.Containers, c)
	}
	for _, w := range []struct {
		name string
		ro   *bool
	}{{"app2", nil}, {"app2", ptr.To(false)}, {"cache", nil}, {"scratch", ptr.To(false)}} {
		state := "unset"
		if w.ro != nil {
			state = "false"
		}
		for _, ns := range []string{protectedNS, sandboxNS} {
			s := spec(lab.ImageRef("5gc/upf"))
			writable(&s, w.name, w.ro)
			add("writable root filesystem ("+state+") of container "+w.name, ns, pod(ns, s))
		}
		// A pod of no instance: no profile applies.
		s := spec(lab.ImageRef("5gc/upf"))
		writable(&s, w.name, w.ro)
		p := pod(protectedNS, s)
		p.Labels = nil
		add("writable root filesystem ("+state+") of container "+w.name+" of no instance", protectedNS, p)
	}
	s := spec(lab.ImageRef("5gc/upf"))
	s.InitContainers = []corev1.Container{s.Containers[0]}
	s.InitContainers[0].Name = "init"
	s.InitContainers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	add("writable init container", protectedNS, pod(protectedNS, s))
	return out
}

// imageTwinJudges says whether the twin of v's check (image-registry, image-provenance, readonly-rootfs) judges
// what v refuses: not in kube-system (the webhook never judges it) nor a reference wrong only for its registry,
// for image-registry; the digest requirement of image-provenance; a container no profile names, for
// readonly-rootfs.
func imageTwinJudges(v policy.Violation, c request) bool {
	switch v.Check {
	case "image-registry":
		return c.namespace != "kube-system" && !strings.Contains(v.Message, "registries must be valid RFC 3986 URI authorities")
	case "image-provenance":
		return strings.Contains(v.Message, "is not pinned by digest")
	case "readonly-rootfs":
		container, _, ok := strings.Cut(strings.TrimPrefix(v.Message, "container "), " has a writable root filesystem")
		for _, name := range corpusWritable {
			if container == name {
				return false
			}
		}
		return ok
	}
	return false
}

// The differential test's configuration says what the image corpus assumes: the UPF's profile lets cache be
// writable, another product's profile scratch, and the registries are allowed besides the lab's.
func TestCorpusConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(corpusConfigYAML("unused-inventory.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	upf, ims := cfg.ProfileFor("UPF"), cfg.ProfileFor("IMS")
	if upf == nil || !slices.Equal(upf.AllowWritableRootFilesystem, []string{"cache"}) || ims == nil || !slices.Equal(ims.AllowWritableRootFilesystem, []string{"scratch"}) {
		t.Errorf("profiles %+v: want UPF's naming cache, IMS's scratch", cfg.Profiles)
	}
	if want := append([]string{lab.Registry}, corpusRegistries...); !slices.Equal(cfg.Registries.Allowed, want) {
		t.Errorf("registries.allowed %v, want %v", cfg.Registries.Allowed, want)
	}
	if !cfg.Registries.DigestRequired() {
		t.Error("registries.requireDigest is false: the image-provenance twin is not rendered")
	}
}
