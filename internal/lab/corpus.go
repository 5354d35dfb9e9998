package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/detect/corpus"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// CorpusStep is one step of the corpus run that follows DefaultScenario: ordinary administration (benign: it must
// leave no finding) or an attack procedure of the seed techniques with the findings it must leave.
type CorpusStep struct {
	Name, Identity string
	Benign         bool
	Expect         []corpus.Expect
	Action         func(ctx context.Context, env *Env) error
}

// The objects of the corpus run.
const (
	corpusPod            = "web-1"
	corpusServiceAccount = "web"
	corpusSecret         = "lab-cloud-credentials"
)

var (
	accessing     = finding.AccessingTerminatedVNF
	instantiating = finding.MaliciousVNFInstantiation
)

// CorpusSteps are the corpus run's steps: an administrator's everyday work in the sandbox namespace, then what
// Peirates and TeamTNT do with a stolen identity beyond what DefaultScenario shows (exec into any pod, token
// theft, secret dumping, placement among the system's own pods).
func CorpusSteps() []CorpusStep {
	return []CorpusStep{
		{Name: "list every pod", Identity: OpsAdmin, Benign: true, Action: func(ctx context.Context, env *Env) error {
			cs, _ := env.CP.ClientFor(OpsAdmin)
			_, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{Name: "create a ConfigMap", Identity: OpsAdmin, Benign: true, Action: func(ctx context.Context, env *Env) error {
			cs, _ := env.CP.ClientFor(OpsAdmin)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-settings", Namespace: Sandbox}, Data: map[string]string{"level": "info"}}
			_, err := cs.CoreV1().ConfigMaps(Sandbox).Create(ctx, cm, metav1.CreateOptions{})
			return err
		}},
		{Name: "run a web pod", Identity: OpsAdmin, Benign: true, Action: func(ctx context.Context, env *Env) error {
			cs, _ := env.CP.ClientFor(OpsAdmin)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: corpusPod, Namespace: Sandbox},
				Spec: RestrictedPodSpec("web", ImageRef("web"), []string{"/usr/bin/web"})}
			if _, err := cs.CoreV1().Pods(Sandbox).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				return err
			}
			return WaitPodRunning(ctx, cs, Sandbox, corpusPod, time.Minute)
		}},
		{Name: "create a service account", Identity: OpsAdmin, Benign: true, Action: func(ctx context.Context, env *Env) error {
			cs, _ := env.CP.ClientFor(OpsAdmin)
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: corpusServiceAccount, Namespace: Sandbox}}
			_, err := cs.CoreV1().ServiceAccounts(Sandbox).Create(ctx, sa, metav1.CreateOptions{})
			return err
		}},
		{Name: "read a Secret of a sandbox app", Identity: OpsAdmin, Benign: true, Action: func(ctx context.Context, env *Env) error {
			cs, _ := env.CP.ClientFor(OpsAdmin)
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-tls", Namespace: Sandbox}, StringData: map[string]string{"tls.key": "k"}}
			if _, err := cs.CoreV1().Secrets(Sandbox).Create(ctx, s, metav1.CreateOptions{}); err != nil {
				return err
			}
			_, err := cs.CoreV1().Secrets(Sandbox).Get(ctx, "web-tls", metav1.GetOptions{})
			return err
		}},

		{Name: "exec into a pod outside the VNFs", Identity: Attacker, Expect: []corpus.Expect{{Rule: "exec-any-pod", Technique: accessing}},
			Action: execCommand(Attacker, Sandbox, corpusPod, "ls", "/")},
		{Name: "exec reading the pod's service-account token", Identity: Attacker,
			Expect: []corpus.Expect{{Rule: "exec-sensitive-command", Technique: accessing}, {Rule: "exec-any-pod", Technique: accessing}},
			Action: execCommand(Attacker, Sandbox, corpusPod, "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token")},
		{Name: "dump every Secret of the cluster", Identity: Attacker, Expect: []corpus.Expect{{Rule: "secret-dumping", Technique: accessing}},
			Action: func(ctx context.Context, env *Env) error {
				cs, _ := env.CP.ClientFor(Attacker)
				_, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
				return err
			}},
		{Name: "mint a token for another service account and read kube-system's Secrets with it", Identity: Attacker,
			Expect: []corpus.Expect{{Rule: "serviceaccount-token-request", Technique: instantiating}, {Rule: "secret-read-across-namespaces", Technique: accessing}},
			Action: stealTokenAndReadSecrets},
		{Name: "bind cluster-admin to a service account", Identity: Attacker, Expect: []corpus.Expect{{Rule: "rbac-powerful-binding", Technique: instantiating}},
			Action: func(ctx context.Context, env *Env) error {
				cs, _ := env.CP.ClientFor(Attacker)
				b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-admin"},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
					Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Sandbox, Name: corpusServiceAccount}}}
				_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
				return err
			}},
		{Name: "widen a harmless Role to pods/exec by update", Identity: Attacker, Expect: []corpus.Expect{{Rule: "rbac-dangerous-grant", Technique: instantiating}},
			Action: func(ctx context.Context, env *Env) error {
				cs, _ := env.CP.ClientFor(Attacker)
				role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "web-reader", Namespace: Sandbox},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
				created, err := cs.RbacV1().Roles(Sandbox).Create(ctx, role, metav1.CreateOptions{})
				if err != nil {
					return err
				}
				created.Rules = append(created.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}})
				_, err = cs.RbacV1().Roles(Sandbox).Update(ctx, created, metav1.UpdateOptions{})
				return err
			}},
		{Name: "place a pod among kube-system's", Identity: Attacker, Expect: []corpus.Expect{{Rule: "system-namespace-workload", Technique: instantiating}},
			Action: func(ctx context.Context, env *Env) error {
				cs, _ := env.CP.ClientFor(Attacker)
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy-helper", Namespace: "kube-system"},
					Spec: RestrictedPodSpec("helper", ImageRef("web"), []string{"/usr/bin/web"})}
				_, err := cs.CoreV1().Pods("kube-system").Create(ctx, pod, metav1.CreateOptions{})
				return err
			}},
	}
}

// corpusSetup prepares what the procedures reach for, as the cluster's own administrator (not a window: the
// lab's set-up traffic): a Secret in kube-system, and read access to it for the sandbox's service account (the
// over-broad grant the attacker finds).
func corpusSetup(ctx context.Context, env *Env) error {
	admin, _ := env.CP.ClientFor(Admin)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: corpusSecret, Namespace: "kube-system"}, StringData: map[string]string{"key": "AKIA-LAB"}}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("corpus set-up: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "lab-secret-reader", Namespace: "kube-system"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "lab-secret-reader", Namespace: "kube-system"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: Sandbox, Name: corpusServiceAccount}}}
	return applyRBAC(ctx, admin, []runtime.Object{role, binding})
}

// execCommand runs command in the pod as identity through the API server (no kubelet behind kwok: the request
// passes authorization, admission and the audit log, then fails, which is all detection sees anyway).
func execCommand(identity, namespace, pod string, command ...string) func(context.Context, *Env) error {
	return func(ctx context.Context, env *Env) error {
		cs, _ := env.CP.ClientFor(identity)
		req := cs.CoreV1().RESTClient().Post().Namespace(namespace).Resource("pods").Name(pod).SubResource("exec").
			Param("stdout", "true").Param("stderr", "true")
		for _, c := range command {
			req = req.Param("command", c)
		}
		err := classifyExec(req.Do(ctx).Error())
		if errors.Is(err, ErrPastAdmission) {
			return nil
		}
		return err
	}
}

// stealTokenAndReadSecrets mints a token for the sandbox's service account (TokenRequest, as the attacker with
// its stolen rights) and reads kube-system's Secret with it, as a pod's token would be used.
func stealTokenAndReadSecrets(ctx context.Context, env *Env) error {
	cs, cfg := env.CP.ClientFor(Attacker)
	expiry := int64(600)
	tr, err := cs.CoreV1().ServiceAccounts(Sandbox).CreateToken(ctx, corpusServiceAccount,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("mint a token: %w", err)
	}
	stolen := rest.AnonymousClientConfig(cfg)
	stolen.BearerToken = tr.Status.Token
	sc, err := kubernetes.NewForConfig(stolen)
	if err != nil {
		return err
	}
	_, err = sc.CoreV1().Secrets("kube-system").Get(ctx, corpusSecret, metav1.GetOptions{})
	return err
}

// RunCorpus runs the corpus set-up and steps in order and returns their windows; a step that fails stops the run
// (its window would claim a procedure that did not happen).
func RunCorpus(ctx context.Context, env *Env) ([]corpus.Window, error) {
	if err := corpusSetup(ctx, env); err != nil {
		return nil, err
	}
	var windows []corpus.Window
	for _, st := range CorpusSteps() {
		w := corpus.Window{Name: st.Name, Identity: st.Identity, Benign: st.Benign, Expect: st.Expect, Start: time.Now()}
		err := st.Action(ctx, env)
		w.End = time.Now()
		if err != nil {
			return windows, fmt.Errorf("corpus step %q (%s): %w", st.Name, st.Identity, err)
		}
		windows = append(windows, w)
		// Apart in time, so that no event of one step is timed inside the next one's window.
		time.Sleep(100 * time.Millisecond)
	}
	return windows, nil
}

// ScenarioWindows are the windows of a DefaultScenario run's benign steps (the VNFM's lifecycle): none may leave
// a finding.
func ScenarioWindows(results []StepResult) []corpus.Window {
	var out []corpus.Window
	for _, r := range results {
		if r.Step.Benign && !r.Start.IsZero() {
			out = append(out, corpus.Window{Name: r.Step.Name, Identity: r.Step.Identity, Benign: true, Start: r.Start, End: r.Start.Add(r.Duration)})
		}
	}
	return out
}
