// The API server's policy plugin (k8s.io/apiserver/pkg/admission/plugin/policy/generic, .../validating) runs here
// in-process, as the API server runs it:
//
//	go test -run '^$' -bench APIServerPolicies -benchmem -count 6 ./internal/apipolicy/
//
// What differs from the API server: the pod reaches the plugin as v1.Pod, where the API server holds the internal
// type and converts it to v1 once per request (the dispatcher's versioned attributes, kept per kind for every
// policy), a cost this benchmark leaves out; policies and bindings get the defaults the API server's registry would give them
// (defaultPolicy); compilePolicy says how the compiler differs; the authorizer allows everything (no policy of
// vnfguard's asks it).

package apipolicy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	admregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// BenchmarkAPIServerPolicies measures, in-process, what the API server's own ValidatingAdmissionPolicy admission
// (k8s.io/apiserver's generic policy plugin, its validating dispatcher and validator, the CEL environment of a 1.34
// API server) spends on a typical CNF pod CREATE by the VNFM in a protected namespace of the lab's configuration:
//
//   - none: no policy at all, the dispatch floor;
//   - trivial: one policy of one validation, "true", the cost of a policy that judges a pod at all (the API server
//     converts the pod for it, three times: validations, message expressions, audit annotations);
//   - joint: what Render makes (the one joint policy judges the pod there);
//   - separate: the same twins as two policies, workloads and lifecycle, both bound in the namespace (the layout
//     before the joint policy);
//   - one per twin of the joint policy, its policy alone, so that the cost of each twin shows.
//
// Every iteration must admit the pod; TestAPIServerPoliciesInProcess shows that the same harness refuses what the
// twins refuse.
func BenchmarkAPIServerPolicies(b *testing.B) {
	cases := []string{"none", "trivial", "joint", "joint/detailed", "separate"}
	for _, check := range apipolicy.JointChecks() {
		cases = append(cases, "twin="+check)
	}
	for _, name := range cases {
		b.Run(name, func(b *testing.B) {
			h := harnessFor(b, name)
			pod := lab.CNFPodWithProbes(protectedNS, "upf-0")
			vnfm := vnfmUser()
			b.ReportAllocs()
			for b.Loop() {
				if err := h.create(pod, vnfm); err != nil {
					b.Fatalf("the CNF pod is refused: %v", err)
				}
			}
		})
	}
}

// TestAPIServerPoliciesInProcess shows that the harness of BenchmarkAPIServerPolicies evaluates the policies: the
// CNF pod of the benchmark is admitted, a pod that mounts the node's root with a privileged container, a pod with a
// reverse shell and the CNF pod by an identity that is not the VNFM are refused with their twins' messages; without
// policies, all are admitted.
func TestAPIServerPoliciesInProcess(t *testing.T) {
	hostile := func() *corev1.Pod {
		p := lab.CNFPodWithProbes(protectedNS, "upf-host")
		p.Spec.HostPID = true
		p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		return p
	}()
	shell := lab.CNFPodWithProbes(protectedNS, "upf-shell")
	shell.Spec.Containers[1].Command = []string{"/bin/bash", "-c", lab.ReverseShell}
	cases := []struct {
		name string
		pod  *corev1.Pod
		user user.Info
		// check is the twin that refuses it ("" admitted); static and detailed, what its message says.
		check, static, detailed string
	}{
		{"the CNF pod", lab.CNFPodWithProbes(protectedNS, "upf-0"), vnfmUser(), "", "", ""},
		{"privileged, hostPID, the node's root mounted", hostile, vnfmUser(), "host-takeover", "a hostPath volume hands the node to the pod", "hostPath volume / hands the node to the pod"},
		{"reverse shell", shell, vnfmUser(), "reverse-shell", "a container's command carries a reverse shell", "containers metrics: command carries a reverse shell"},
		{"the CNF pod, not by the VNFM", lab.CNFPodWithProbes(protectedNS, "upf-0"), &user.DefaultInfo{Name: lab.Attacker, Groups: []string{user.AllAuthenticated}},
			"vnf-instantiation", "only the VNFM may instantiate", "which is not a VNFM identity"},
	}
	for _, layout := range []string{"joint", "joint/detailed", "separate", "separate/detailed", "none"} {
		h := harnessFor(t, layout)
		for _, c := range cases {
			err := h.create(c.pod, c.user)
			want, prefix := c.static, "vnfguard denied (in the API server): ["+c.check+" "
			if strings.HasSuffix(layout, "/detailed") {
				want, prefix = c.detailed, "vnfguard denied (in the API server) Pod "+protectedNS+"/"+c.pod.Name+": ["+c.check+" "
			}
			switch {
			case layout == "none" || c.check == "":
				if err != nil {
					t.Errorf("%s, %s: refused: %v", layout, c.name, err)
				}
			case err == nil:
				t.Errorf("%s, %s: admitted, want refused by twin %s", layout, c.name, c.check)
			case !strings.Contains(err.Error(), prefix) || !strings.Contains(err.Error(), want):
				t.Errorf("%s, %s: refused with %q, want twin %s's message saying %q", layout, c.name, err, c.check, want)
			}
		}
	}
	// Each twin alone refuses what it judges of these.
	for _, c := range cases[1:] {
		if err := harnessFor(t, "twin="+c.check).create(c.pod, c.user); err == nil || !strings.Contains(err.Error(), c.static) {
			t.Errorf("twin %s alone, %s: %v, want refused saying %q", c.check, c.name, err, c.static)
		}
	}
}

// protectedNS is the namespace of the benchmark: protected by the lab's label, with lifecycle parameters.
const protectedNS = "vnf-upf"

// vnfmUser is the VNFM's identity as the lab's API server authenticates it.
func vnfmUser() user.Info {
	return &user.DefaultInfo{Name: lab.VNFM, Groups: []string{lab.GroupVNFM, user.AllAuthenticated}}
}

// harness is the API server's validating admission policy plugin with a layout's policies, bindings and the
// lifecycle parameters applied, over the protected namespace.
type harness struct {
	tc *generic.PolicyTestContext[*validating.Policy, *validating.PolicyBinding, validating.Validator]
	o  admission.ObjectInterfaces
}

// create dispatches a pod CREATE by u through the plugin, as the API server's admission chain calls it (Validate).
// The test context's Dispatch cannot set the request's user, which the lifecycle twins read.
func (h *harness) create(pod *corev1.Pod, u user.Info) error {
	a := admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), pod.Namespace, pod.Name,
		corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, u)
	return h.tc.Plugin.Dispatch(h.tc, a, h.o)
}

var (
	harnessesMu sync.Mutex
	harnesses   = map[string]*harness{}
)

// harnessFor returns the harness of a layout ("none", "joint", "separate", "twin=CHECK", each with "/detailed"
// for detailed messages), made once for every
// benchmark run and test (the plugin keeps its informers until the process ends).
func harnessFor(tb testing.TB, layout string) *harness {
	tb.Helper()
	harnessesMu.Lock()
	defer harnessesMu.Unlock()
	if h := harnesses[layout]; h != nil {
		return h
	}
	// A layout ending in "/detailed" words its refusals with admission.policyMessages detailed.
	base, detailed := strings.CutSuffix(layout, "/detailed")
	cfg, err := config.Parse([]byte(lab.ConfigYAML("unused-inventory.yaml")))
	if err != nil {
		tb.Fatal(err)
	}
	if detailed {
		cfg.Admission.PolicyMessages = config.PolicyMessagesDetailed
	}
	set := &apipolicy.Set{}
	switch check, twin := strings.CutPrefix(base, "twin="); {
	case base == "none":
	case base == "trivial":
		set = trivialSet()
	case base == "joint":
		set, err = apipolicy.Render(cfg)
	case base == "declared":
		set, err = apipolicy.RenderDeclared(cfg)
	case base == "separate":
		set, err = apipolicy.SeparateSet(cfg)
	case twin:
		set, err = apipolicy.TwinSet(cfg, check)
	default:
		err = fmt.Errorf("no layout %q", layout)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if layout != "none" && len(set.Policies) == 0 {
		tb.Fatalf("layout %s has no policy", layout)
	}
	h, err := newHarness(set)
	if err != nil {
		tb.Fatalf("layout %s: %v", layout, err)
	}
	harnesses[layout] = h
	return h
}

// trivialSet is one policy that admits every pod CREATE and UPDATE, bound everywhere.
func trivialSet() *apipolicy.Set {
	scope := admregv1.NamespacedScope
	pol := admregv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "trivial"}, Spec: admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{{RuleWithOperations: admregv1.RuleWithOperations{
			Operations: []admregv1.OperationType{admregv1.Create, admregv1.Update},
			Rule:       admregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &scope},
		}}}},
		Validations: []admregv1.Validation{{Expression: "true"}},
	}}
	b := admregv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "trivial"}, Spec: admregv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: "trivial", ValidationActions: []admregv1.ValidationAction{admregv1.Deny}}}
	return &apipolicy.Set{Policies: []admregv1.ValidatingAdmissionPolicy{pol}, Bindings: []admregv1.ValidatingAdmissionPolicyBinding{b}}
}

// newHarness starts the plugin with the set's policies and bindings, the protected namespace (the lab's label) and
// its lifecycle parameters (the lab's UPF instance runnable, as bench/apiserver-latency writes them).
func newHarness(set *apipolicy.Set) (*harness, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: protectedNS,
		Labels: map[string]string{"kubernetes.io/metadata.name": protectedNS, "vnfguard.io/protected": "true"}}}
	tc, _, err := generic.NewPolicyTestContext(
		quiet{},
		validating.NewValidatingAdmissionPolicyAccessor,
		validating.NewValidatingAdmissionPolicyBindingAccessor,
		compilePolicy,
		func(a authorizer.Authorizer, m *matching.Matcher, _ kubernetes.Interface) generic.Dispatcher[validating.PolicyHook] {
			return validating.NewDispatcher(a, generic.NewPolicyMatcher(m))
		},
		[]runtime.Object{ns},
		// The namespace needs a mapping for the test context to store it.
		[]meta.RESTMapping{{
			Resource:         corev1.SchemeGroupVersion.WithResource("namespaces"),
			GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Namespace"),
			Scope:            meta.RESTScopeRoot,
		}, {
			Resource:         apipolicy.ParamsGVR,
			GroupVersionKind: apipolicy.ParamsGVR.GroupVersion().WithKind(apipolicy.ParamsKind),
			Scope:            meta.RESTScopeNamespace,
		}},
	)
	if err != nil {
		return nil, err
	}
	if err := tc.Start(); err != nil {
		return nil, err
	}
	// The test context gives policies and bindings a kind of its own: their Render kind must go. The API server
	// stores them with its defaults, which its matcher relies on (a nil selector selects nothing).
	var objs []runtime.Object
	params := false
	for _, p := range set.Policies {
		p := p.DeepCopy()
		p.TypeMeta = metav1.TypeMeta{}
		defaultPolicy(p)
		objs = append(objs, p)
		params = params || p.Spec.ParamKind != nil
	}
	for _, b := range set.Bindings {
		b := b.DeepCopy()
		b.TypeMeta = metav1.TypeMeta{}
		if b.Spec.MatchResources != nil {
			defaultMatchResources(b.Spec.MatchResources)
		}
		objs = append(objs, b)
	}
	if len(objs) > 0 {
		if err := tc.UpdateAndWait(objs...); err != nil {
			return nil, err
		}
	}
	if params {
		p := apipolicy.ParamsObject(protectedNS, map[string]string{apipolicy.KeyInstance + lab.UPF.InstanceID: apipolicy.Runnable})
		if err := tc.UpdateAndWait(p); err != nil {
			return nil, err
		}
	}
	return &harness{tc: tc, o: admission.NewObjectInterfacesFromScheme(clientgoscheme.Scheme)}, nil
}

// defaultPolicy applies what the API server's defaulting (k8s.io/kubernetes/pkg/apis/admissionregistration/v1,
// SetDefaults_ValidatingAdmissionPolicySpec) gives a policy Render leaves unset.
func defaultPolicy(p *validating.Policy) {
	if p.Spec.FailurePolicy == nil {
		p.Spec.FailurePolicy = ptr.To(admregv1.Fail)
	}
	if p.Spec.MatchConstraints != nil {
		defaultMatchResources(p.Spec.MatchConstraints)
	}
}

// defaultMatchResources is SetDefaults_MatchResources and SetDefaults_Rule: every namespace and object, matchPolicy
// Equivalent, scope "*".
func defaultMatchResources(m *admregv1.MatchResources) {
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr.To(admregv1.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admregv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				rules[i].Scope = ptr.To(admregv1.AllScopes)
			}
		}
	}
}

// compilePolicy is the API server's compilePolicy (k8s.io/apiserver/pkg/admission/plugin/policy/validating,
// plugin.go, unexported), made of the same exported pieces: the composition environment of the base environment
// at the default compatibility version (what a 1.34 API server uses) with strict cost, the policy's variables,
// match conditions, validations, audit annotations and message expressions compiled as it compiles them, into the
// same validator. What differs: strict cost is taken as on, where the API server reads feature gate
// StrictCostEnforcementForVAP (GA and locked on since 1.32), and the composition environment is made once for this
// package instead of once for the API server's process.
func compilePolicy(policy *validating.Policy) validating.Validator {
	hasParam := policy.Spec.ParamKind != nil
	optionalVars := plugincel.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: true, StrictCost: true}
	expressionOptionalVars := plugincel.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: false, StrictCost: true}
	failurePolicy := policy.Spec.FailurePolicy
	filterCompiler := plugincel.NewCompositedCompilerFromTemplate(compositionEnv())
	var variables []plugincel.NamedExpressionAccessor
	for _, v := range policy.Spec.Variables {
		variables = append(variables, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	filterCompiler.CompileAndStoreVariables(variables, optionalVars, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if mc := policy.Spec.MatchConditions; len(mc) > 0 {
		accessors := make([]plugincel.ExpressionAccessor, len(mc))
		for i := range mc {
			accessors[i] = (*matchconditions.MatchCondition)(&mc[i])
		}
		matcher = matchconditions.NewMatcher(filterCompiler.CompileCondition(accessors, optionalVars, environment.StoredExpressions), failurePolicy, "policy", "validate", policy.Name)
	}
	validations := make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	for i, v := range policy.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	audits := make([]plugincel.ExpressionAccessor, len(policy.Spec.AuditAnnotations))
	for i, a := range policy.Spec.AuditAnnotations {
		audits[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
	}
	return validating.NewValidator(
		filterCompiler.CompileCondition(validations, optionalVars, environment.StoredExpressions),
		matcher,
		filterCompiler.CompileCondition(audits, optionalVars, environment.StoredExpressions),
		filterCompiler.CompileCondition(messages, expressionOptionalVars, environment.StoredExpressions),
		failurePolicy,
	)
}

var compositionEnv = sync.OnceValue(func() *plugincel.CompositionEnv {
	env, err := plugincel.NewCompositionEnv(plugincel.VariablesTypeName, environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true))
	if err != nil {
		panic(err)
	}
	return env
})

// quiet is the test context's logger, which outlives the test or benchmark that made the harness.
type quiet struct{}

func (quiet) Helper()             {}
func (quiet) Logf(string, ...any) {}

// TestInliningKeepsDecisions: the policies Render makes (their variables written out, inlineVariables) decide every
// pod of a corpus as the same policies with every variable the twins declare do, in the API server's own plugin,
// with static and with detailed messages: the same refusals, word for word, and the same admissions.
func TestInliningKeepsDecisions(t *testing.T) {
	type variant struct {
		name   string
		user   user.Info
		change func(p *corev1.Pod)
	}
	attacker := &user.DefaultInfo{Name: lab.Attacker, Groups: []string{user.AllAuthenticated}}
	controller := &user.DefaultInfo{Name: "system:serviceaccount:kube-system:replicaset-controller", Groups: []string{user.AllAuthenticated}}
	upf := func(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }
	variants := []variant{
		{"the CNF pod", vnfmUser(), func(*corev1.Pod) {}},
		{"by an identity that is not the VNFM", attacker, func(*corev1.Pod) {}},
		{"privileged", vnfmUser(), func(p *corev1.Pod) { upf(p).SecurityContext.Privileged = ptr.To(true) }},
		{"hostPID", vnfmUser(), func(p *corev1.Pod) { p.Spec.HostPID = true }},
		{"hostIPC", vnfmUser(), func(p *corev1.Pod) { p.Spec.HostIPC = true }},
		{"the node's root mounted", vnfmUser(), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			upf(p).VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
		}},
		{"a reverse shell in the command", vnfmUser(), func(p *corev1.Pod) { upf(p).Command = []string{"/bin/bash", "-c", lab.ReverseShell} }},
		{"a reverse shell in the environment", vnfmUser(), func(p *corev1.Pod) { upf(p).Env[0].Value = lab.ReverseShell }},
		{"a reverse shell in the exec probe", vnfmUser(), func(p *corev1.Pod) {
			upf(p).LivenessProbe.Exec.Command = []string{"/bin/sh", "-c", lab.ReverseShell}
		}},
		{"an image by tag", vnfmUser(), func(p *corev1.Pod) { upf(p).Image = strings.Split(upf(p).Image, "@")[0] + ":latest" }},
		{"an image from another registry", vnfmUser(), func(p *corev1.Pod) { upf(p).Image = "evil.example:5000/upf:1" }},
		{"a writable root filesystem", vnfmUser(), func(p *corev1.Pod) { upf(p).SecurityContext.ReadOnlyRootFilesystem = ptr.To(false) }},
		{"an instance nobody knows", vnfmUser(), func(p *corev1.Pod) { p.Labels["tacker_vnf_instance_id"] = "11111111-0000-4000-8000-0000000000ff" }},
		{"a controller's pod without an instance label", controller, func(p *corev1.Pod) {
			delete(p.Labels, "tacker_vnf_instance_id")
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "upf-7d9c", UID: "u", Controller: ptr.To(true)}}
		}},
		{"a claim mounted", vnfmUser(), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "upf-data"}}}}
		}},
	}
	for _, messages := range []string{"", "/detailed"} {
		inlined, declared := harnessFor(t, "joint"+messages), harnessFor(t, "declared"+messages)
		refused := 0
		for _, v := range variants {
			pod := lab.CNFPodWithProbes(protectedNS, "upf-0")
			v.change(pod)
			got, want := inlined.create(pod, v.user), declared.create(pod, v.user)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s%s: inlined %v, declared %v", v.name, messages, got, want)
			}
			if want != nil {
				refused++
			}
		}
		// Not a corpus that all pass: all but the CNF pod, the controller's and the claim are refused.
		if refused != len(variants)-3 {
			t.Errorf("%s: %d of %d variants refused, want %d", "joint"+messages, refused, len(variants), len(variants)-3)
		}
	}
}
