package apipolicy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/go-containerregistry/pkg/name"
	admregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// compiled is one twin's policy compiled with cel-go in the API server's CEL environment (as render_test.go's eval,
// with the API server's libraries and options): its variables in order, then its validations.
type compiled struct {
	vars        []string
	varPrg      []cel.Program
	validations []admregv1.Validation
	valPrg      []cel.Program
	msgPrg      []cel.Program
}

func compileSpec(t *testing.T, spec *admregv1.ValidatingAdmissionPolicySpec) *compiled {
	t.Helper()
	// The API server's own environment: its libraries, and its options (homogeneous aggregate literals among them).
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true).NewExpressionsEnv()
	env, err := base.Extend(cel.Variable("request", cel.DynType), cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType),
		cel.Variable("namespaceObject", cel.DynType), cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		t.Fatal(err)
	}
	prg := func(expr string) cel.Program {
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", expr, iss.Err())
		}
		p, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := &compiled{}
	for _, v := range spec.Variables {
		c.vars, c.varPrg = append(c.vars, v.Name), append(c.varPrg, prg(v.Expression))
	}
	for _, v := range spec.Validations {
		c.validations, c.valPrg, c.msgPrg = append(c.validations, v), append(c.valPrg, prg(v.Expression)), append(c.msgPrg, prg(v.MessageExpression))
	}
	return c
}

// eval returns the variables and the messages of the validations that fail (messageExpression's); any CEL error
// fails the test (the API server would refuse the request with a message naming no check).
func (c *compiled) eval(t *testing.T, in map[string]any) (map[string]ref.Val, []string) {
	t.Helper()
	vars := map[string]any{}
	values := map[string]ref.Val{}
	act := func() map[string]any {
		m := map[string]any{"variables": vars}
		for k, v := range in {
			m[k] = v
		}
		return m
	}
	for i, p := range c.varPrg {
		out, _, err := p.Eval(act())
		if err != nil {
			t.Fatalf("variable %s: %v", c.vars[i], err)
		}
		vars[c.vars[i]], values[c.vars[i]] = out, out
	}
	var failed []string
	for i, p := range c.valPrg {
		out, _, err := p.Eval(act())
		if err != nil {
			t.Fatalf("validation %q: %v", c.validations[i].Message, err)
		}
		if !out.Value().(bool) {
			msg, _, err := c.msgPrg[i].Eval(act())
			if err != nil {
				t.Fatalf("message of %q: %v", c.validations[i].Message, err)
			}
			failed = append(failed, msg.Value().(string))
		}
	}
	return values, failed
}

// admission is a request both sides judge: the Go checks (policy.Evaluator) and the twin's CEL.
type admission struct {
	namespace string
	obj       runtime.Object // Pod, Deployment or CronJob
	old       runtime.Object // for an UPDATE
}

// unstructuredOf is o as the API server's CEL reads it; nil for no object.
func unstructuredOf(t *testing.T, o runtime.Object) any {
	t.Helper()
	if o == nil {
		return nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (a admission) celInput(t *testing.T, nsLabels map[string]string) map[string]any {
	t.Helper()
	kind, op := a.kind(), "CREATE"
	if a.old != nil {
		op = "UPDATE"
	}
	labels := map[string]any{"kubernetes.io/metadata.name": a.namespace}
	for k, v := range nsLabels {
		labels[k] = v
	}
	return map[string]any{
		"request":         map[string]any{"namespace": a.namespace, "name": a.obj.(metav1.Object).GetName(), "operation": op, "kind": map[string]any{"kind": kind.Kind}},
		"object":          unstructuredOf(t, a.obj),
		"oldObject":       unstructuredOf(t, a.old),
		"namespaceObject": map[string]any{"metadata": map[string]any{"name": a.namespace, "labels": labels}},
	}
}

func (a admission) kind() schema.GroupVersionKind {
	switch a.obj.(type) {
	case *appsv1.Deployment:
		return appsv1.SchemeGroupVersion.WithKind("Deployment")
	case *batchv1.CronJob:
		return batchv1.SchemeGroupVersion.WithKind("CronJob")
	}
	return corev1.SchemeGroupVersion.WithKind("Pod")
}

type staticInventory struct{ snap *vnf.Snapshot }

func (s staticInventory) Snapshot() *vnf.Snapshot { return s.snap }

type staticNamespaces map[string]map[string]string

func (s staticNamespaces) Labels(_ context.Context, name string) (map[string]string, error) {
	return s[name], nil
}

// goDenials are the Go checks' denials of check, the request's namespace having the labels given.
func goDenials(t *testing.T, cfg *config.Config, a admission, check string, nsLabels map[string]string) []policy.Violation {
	t.Helper()
	ev, err := policy.New(policy.Environment{Config: cfg, Inventory: staticInventory{vnf.NewSnapshot("test", "v1", time.Now(), nil)},
		Namespaces: staticNamespaces{a.namespace: nsLabels}})
	if err != nil {
		t.Fatal(err)
	}
	kind := a.kind()
	res := schema.GroupVersionResource{Group: kind.Group, Version: kind.Version, Resource: strings.ToLower(kind.Kind) + "s"}
	req := &policy.Request{UID: "u", Operation: policy.Create, Kind: kind, Resource: res, Namespace: a.namespace,
		Name: a.obj.(metav1.Object).GetName(), Object: a.obj, User: authnv1.UserInfo{Username: "someone"}}
	if a.old != nil {
		req.Operation, req.OldObject = policy.Update, a.old
	}
	d := ev.Evaluate(context.Background(), req)
	var out []policy.Violation
	for _, v := range d.Denials {
		if v.Check == check {
			out = append(out, v)
		}
	}
	return out
}

// twinSpec renders the twin of check alone.
func twinSpec(t *testing.T, cfg *config.Config, check string) *admregv1.ValidatingAdmissionPolicySpec {
	t.Helper()
	for _, tw := range twins {
		if tw.check == check {
			spec, err := tw.spec(&renderer{cfg: cfg, twin: tw})
			if err != nil {
				t.Fatal(err)
			}
			return spec
		}
	}
	t.Fatalf("no twin of %s", check)
	return nil
}

func pod(ns string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img,
			SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}})
	}
	return p
}

func deployment(p *corev1.Pod) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: p.Namespace},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: p.Spec}}}
}

func cronJob(p *corev1.Pod) *batchv1.CronJob {
	return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: p.Namespace},
		Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: p.Spec}}}}}
}

// ggcr is what policy.parseImage makes of a reference.
func ggcr(image string) (registry, repo, digest string, err error) {
	var r name.Reference
	if strings.Contains(image, "@") {
		var d name.Digest
		if d, err = name.NewDigest(image, name.WeakValidation); err == nil {
			r, digest = d, d.DigestStr()
		}
	} else {
		r, err = name.NewTag(image, name.WeakValidation)
	}
	if err != nil {
		return "", "", "", err
	}
	return r.Context().RegistryStr(), r.Context().Name(), digest, nil
}

// plainHost is a registry validTagRef takes: letters, digits, '.', '_', '-', and a port of up to five digits.
var plainHost = regexp.MustCompile(`^[A-Za-z0-9._-]+(:[0-9]{1,5})?$`)

var sha = "sha256:" + strings.Repeat("0123456789abcdef", 4)

// refImages are references of every shape: Docker Hub's short names, registries with and without ports,
// localhost, digests and tags, and references go-containerregistry refuses.
var refImages = []string{
	"nginx", "nginx:1.25", "library/nginx", "docker.io/nginx", "docker.io/library/nginx:latest", "index.docker.io/nginx",
	"bitnami/nginx:1", "docker.io/bitnami/nginx", "ab", "a-b_c.d/e", "nginx@" + sha, "nginx:1.25@" + sha,
	"registry.example.com/5gc/upf:1.0", "registry.example.com:5000/5gc/upf", "registry.example.com:5000/5gc/upf:2@" + sha,
	"127.0.0.1:5000/5gc/upf@" + sha, "127.0.0.1:5000/5gc/upf:v1", "localhost/foo", "localhost:5000/foo", "localhost:5000/foo:1",
	"quay.io/vendor/x", "quay.io/vendorx/y", "quay.io/vendor", "quay.io/vendor/", "ghcr.io/org/app:v1", "ghcr.io/org/app2",
	"ghcr.io/org/app/sub", "Reg.IO/foo", "reg_x.io/foo", "host:/foo", ":5000/foo", "reg.io//foo", "-reg.io/foo",
	"reg.io:99999999/foo", "[::1]:5000/foo", "reg~.io/foo", "ä.io/foo",
	// Not valid.
	"", "a", "Nginx", "registry.example.com/UPPER", "nginx:", "nginx@sha256:abc", "nginx@" + strings.ToUpper(sha),
	"nginx@sha512:" + strings.Repeat("ab", 64), "x@y@z", "nginx@" + sha + "@" + sha, "registry.example.com/a:b:c",
	"re g.io/x", "a.b:0x/foo", "reg%41.io/foo", "nginx:ta g", "nginx:" + strings.Repeat("t", 129), "foo/bar:baz/qux",
	"@" + sha, "nginx:bad!tag@" + sha, "nginx:@" + sha, "ubuntu:22.04 ", "ä/b",
}

// The image variables compute what go-containerregistry computes: for every valid reference its registry and
// repository; a reference malformedRef finds is not valid; one validTagRef takes is valid and has no digest. The
// same over random references, and none of them makes the CEL fail.
func TestImageRefsMatchGoContainerRegistry(t *testing.T) {
	cfg := parse(t, "registries: {allowed: [registry.example.com]}\n")
	spec := twinSpec(t, cfg, "image-registry")
	spec.Variables = append(spec.Variables,
		admregv1.Variable{Name: "malformed", Expression: "variables.imageRefs.map(r, " + malformedRef + ")"},
		admregv1.Variable{Name: "validTag", Expression: "variables.imageRefs.map(r, " + validTagRef + ")"})
	c := compileSpec(t, spec)
	check := func(image string) {
		a := admission{namespace: "default", obj: pod("default", image)}
		vars, _ := c.eval(t, a.celInput(t, nil))
		refs := vars["imageRefs"].Value().([]ref.Val)
		if len(refs) != 1 {
			t.Fatalf("%q: %d references", image, len(refs))
		}
		got := func(k string) string {
			return refs[0].Value().(map[ref.Val]ref.Val)[types.String(k)].Value().(string)
		}
		malformed := vars["malformed"].Value().([]ref.Val)[0].Value().(bool)
		validTag := vars["validTag"].Value().([]ref.Val)[0].Value().(bool)
		registry, repo, digest, err := ggcr(image)
		switch {
		case err != nil && validTag:
			t.Errorf("%q: validTagRef takes it, go-containerregistry: %v", image, err)
		case err == nil && malformed:
			t.Errorf("%q: malformedRef finds it, go-containerregistry takes it (%s)", image, repo)
		case err == nil && (got("registry") != registry || got("repo") != repo):
			t.Errorf("%q: CEL says registry %q repository %q, go-containerregistry %q %q", image, got("registry"), got("repo"), registry, repo)
		case err == nil && validTag && digest != "":
			t.Errorf("%q: validTagRef takes a digest reference", image)
		case err == nil && digest == "" && !validTag && (got("host") == "" || plainHost.MatchString(got("host"))):
			t.Errorf("%q: validTagRef leaves a plain valid reference (host %q)", image, got("host"))
		}
	}
	for _, image := range refImages {
		check(image)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "b", "Z", "0", "9", ".", ":", "/", "@", "_", "-", "~", " ", "%", "x.io", "5000", "docker.io", "library", "localhost", sha, "sha256:", "ä"}
	for range 3000 {
		var b strings.Builder
		for range 1 + rnd.IntN(8) {
			b.WriteString(parts[rnd.IntN(len(parts))])
		}
		check(b.String())
	}
}

// The twin refuses what the check refuses for a registry that is not allowed, and what it refuses as not valid
// but for a registry only url.Parse finds wrong; never what the check allows. In init, regular and ephemeral
// containers and in templates; docker.io entries normalised; kube-system left alone.
func TestImageRegistryTwin(t *testing.T) {
	cfg := parse(t, `protectedNamespaces: {names: [vnf-core, kube-system-protected]}
registries:
  allowed: [registry.example.com, "docker.io/library/", "127.0.0.1:5000/", "quay.io/vendor/", ghcr.io/org/app, "localhost:5000"]
`)
	c := compileSpec(t, twinSpec(t, cfg, "image-registry"))
	// Left: not valid only for a registry that is allowed (none here) — and kube-system.
	type tc struct {
		a    admission
		left bool
	}
	var cases []tc
	for _, image := range refImages {
		for _, ns := range []string{"default", "vnf-core"} {
			cases = append(cases, tc{a: admission{namespace: ns, obj: pod(ns, "registry.example.com/ok@"+sha, image)}})
		}
		cases = append(cases, tc{a: admission{namespace: "kube-system", obj: pod("kube-system", image)}, left: true})
	}
	initPod := pod("default", "registry.example.com/ok:1")
	initPod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "evil.example.org/tool:1"}}
	ephemeral := pod("default", "registry.example.com/ok:1")
	ephemeral.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	ephemeralOK := pod("default", "registry.example.com/ok:1")
	ephemeralOK.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "docker.io/library/busybox"}}}
	bad := pod("default", "evil.example.org/tool:1")
	cases = append(cases,
		tc{a: admission{namespace: "default", obj: initPod}},
		tc{a: admission{namespace: "default", obj: ephemeral}},
		tc{a: admission{namespace: "default", obj: ephemeralOK}},
		tc{a: admission{namespace: "default", obj: deployment(bad)}},
		tc{a: admission{namespace: "default", obj: cronJob(bad)}},
		tc{a: admission{namespace: "default", obj: cronJob(pod("default", "quay.io/vendor/upf:1"))}},
		tc{a: admission{namespace: "kube-system-protected", obj: pod("kube-system-protected", "evil.example.org/tool:1")}},
		// An update that leaves the spec as it was is not judged again.
		tc{a: admission{namespace: "default", obj: bad, old: bad.DeepCopy()}},
	)
	refusedSome, allowedSome := false, false
	for _, tc := range cases {
		_, failed := c.eval(t, tc.a.celInput(t, nil))
		denials := goDenials(t, cfg, tc.a, "image-registry", nil)
		desc := fmt.Sprintf("%s %T %v", tc.a.namespace, tc.a.obj, images(tc.a.obj))
		if tc.a.namespace == "kube-system" {
			if len(failed) > 0 {
				t.Errorf("%s: refused in kube-system, which the webhook never judges: %v", desc, failed)
			}
			continue
		}
		switch {
		case len(failed) > 0 && len(denials) == 0:
			t.Errorf("%s: the twin refuses (%v), the check allows", desc, failed)
		case len(failed) == 0 && len(denials) > 0 && !tc.left:
			t.Errorf("%s: the check refuses (%s), the twin allows", desc, denials[0].Message)
		}
		refusedSome = refusedSome || len(failed) > 0
		allowedSome = allowedSome || len(failed) == 0
	}
	if !refusedSome || !allowedSome {
		t.Errorf("the cases exercise too little: refused some %v, allowed some %v", refusedSome, allowedSome)
	}
	// Explicit verdicts, lest both sides agree on nonsense.
	for image, want := range map[string]bool{
		"nginx": true, "docker.io/nginx:1": true, "bitnami/nginx": false, "registry.example.com/5gc/upf:1": true,
		"registry.example.com:5000/5gc/upf": false, "127.0.0.1:5000/5gc/upf@" + sha: true, "127.0.0.1:5001/xy": false,
		"localhost/foo": false, "localhost:5000/foo": true, "quay.io/vendor": true, "quay.io/vendorx/y": false,
		"ghcr.io/org/app:v1": true, "ghcr.io/org/app2": false, "ghcr.io/org/app/sub": false, "Nginx": false, "nginx@sha256:abc": false,
	} {
		_, failed := c.eval(t, admission{namespace: "default", obj: pod("default", image)}.celInput(t, nil))
		if (len(failed) == 0) != want {
			t.Errorf("image %q: allowed %v, want %v (%v)", image, len(failed) == 0, want, failed)
		}
	}
	// Without an allow-list the twin judges only the references' validity.
	c = compileSpec(t, twinSpec(t, parse(t, ""), "image-registry"))
	for image, want := range map[string]bool{"evil.example.org/tool:1": true, "nginx": true, "Nginx": false, "nginx:": false} {
		_, failed := c.eval(t, admission{namespace: "default", obj: pod("default", image)}.celInput(t, nil))
		if (len(failed) == 0) != want {
			t.Errorf("no allow-list, image %q: allowed %v, want %v (%v)", image, len(failed) == 0, want, failed)
		}
	}
}

func images(o runtime.Object) []string {
	var spec *corev1.PodSpec
	switch o := o.(type) {
	case *corev1.Pod:
		spec = &o.Spec
	case *appsv1.Deployment:
		spec = &o.Spec.Template.Spec
	case *batchv1.CronJob:
		spec = &o.Spec.JobTemplate.Spec.Template.Spec
	}
	var out []string
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		out = append(out, c.Image)
	}
	for _, c := range spec.EphemeralContainers {
		out = append(out, c.Image)
	}
	return out
}
