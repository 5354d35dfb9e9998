package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/integrity"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/manifest"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

func newPolicyCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Work with the admission policy offline"}
	cmd.AddCommand(newPolicyTestCommand(stdout))
	return cmd
}

type policyTestOptions struct {
	files                     []string
	configPath, inventoryPath string
	as                        string
	groups                    []string
	namespace                 string
	output                    string
	offline                   bool
	kube                      kubeFlags
}

// policyResult is the verdict on one object.
type policyResult struct {
	Object     objectRef       `json:"object"`
	Source     string          `json:"source"`  // file:line (document, item)
	Verdict    string          `json:"verdict"` // allowed, denied, not-governed
	Allowed    bool            `json:"allowed"`
	Protected  bool            `json:"protectedNamespace"`
	Instance   string          `json:"vnfInstance,omitempty"`
	State      string          `json:"vnfState,omitempty"`
	Profile    string          `json:"profile,omitempty"`
	Violations []violationJSON `json:"violations,omitempty"`
	// Exceptions name the profile exceptions used and the checks not made (--offline: "image-signature not
	// checked: --offline ...").
	Exceptions []string `json:"exceptions,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

type violationJSON struct {
	Check       string   `json:"check"`
	Mode        string   `json:"mode"`
	Technique   string   `json:"technique"`
	Mitigations []string `json:"mitigations,omitempty"`
	Field       string   `json:"field"`
	Message     string   `json:"message"`
}

func newPolicyTestCommand(stdout io.Writer) *cobra.Command {
	o := &policyTestOptions{}
	cmd := &cobra.Command{
		Use:   "test -f FILE...",
		Short: "Evaluate manifests through the same policy as the webhook",
		Long: `Evaluates Kubernetes manifests offline through exactly the code path the webhook uses, as if each object
were created by the given identity. Files and directories are read (multi-document YAML, Lists and JSON); the
objects read form the cluster the policy looks owners, PVCs and namespaces up in. Prints one verdict per object.

Image signatures and vulnerability reports are checked as serve checks them (images in the configuration): the
signatures and the digests of images given by tag are looked up in their registries. --offline makes no such
lookup; each verdict it affects says which check was not made ("image-signature not checked: --offline").

An object of a kind the webhook judges in an API version vnfguard does not decode (batch/v1beta1 CronJob,
extensions/v1beta1 Deployment) is an error naming the version, never a verdict; so is a set of files that holds no
object at all.
Exit code: 0 all allowed, 1 something denied, 2 bad input.`,
		Example: `  vnfguard policy test -f deploy/ --config vnfguard.yaml --inventory inventory.yaml --as tacker-vnfm -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), stdout)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "manifest files or directories (repeatable)")
	f.StringVar(&o.configPath, "config", "", "vnfguard configuration file")
	f.StringVar(&o.inventoryPath, "inventory", "", "VNF inventory file (overrides inventory.file of the configuration)")
	f.StringVar(&o.as, "as", "policy-test", "user the objects are created as")
	f.StringSliceVar(&o.groups, "groups", nil, "groups of that user")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of objects that name none")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.BoolVar(&o.offline, "offline", false, "make no registry or cluster request: image signatures, and vulnerabilities of images given by tag, are reported as not checked")
	o.kube.add(f)
	return cmd
}

func (o *policyTestOptions) run(ctx context.Context, stdout io.Writer) error {
	if len(o.files) == 0 {
		return usageError(fmt.Errorf("no manifests: give -f FILE or -f DIR"))
	}
	if err := report.CheckFormat(o.output, report.RecordFormats); err != nil {
		return usageError(err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return usageError(err)
	}
	snap := vnf.NewSnapshot("(no inventory given)", "", time.Now(), nil)
	invPath := cfg.Inventory.File
	if o.inventoryPath != "" {
		invPath = o.inventoryPath
	}
	if invPath != "" {
		if snap, err = file.Load(invPath); err != nil {
			return usageError(err)
		}
	}
	objects, err := manifest.ReadFiles(o.files)
	if err != nil {
		return usageError(err)
	}
	if len(objects) == 0 {
		return usageError(fmt.Errorf("-f %s: no Kubernetes object in the input: nothing to judge", strings.Join(o.files, ", ")))
	}
	var versionErrs []error
	for _, obj := range objects {
		if err := policy.CheckVersion(obj.GVK); err != nil {
			versionErrs = append(versionErrs, fmt.Errorf("%s: %w", obj.Where(), err))
		}
	}
	if len(versionErrs) > 0 {
		return usageError(errors.Join(versionErrs...))
	}
	images, err := o.images(ctx, cfg)
	if err != nil {
		return usageError(err)
	}
	for _, obj := range objects {
		// Objects without a namespace land in -n's, as with kubectl apply; the owner and PVC lookups need it set.
		if m, ok := obj.Object.(metav1.Object); ok && manifest.Namespaced(obj.GVK) && m.GetNamespace() == "" {
			m.SetNamespace(o.namespace)
		}
	}
	view := manifest.NewCluster(objects, o.namespace)
	env := policy.Environment{Config: cfg, Inventory: vnf.Static{Snap: snap}, Objects: view, Namespaces: view,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if images != nil {
		env.Images = images
	}
	evaluator, err := policy.New(env)
	if err != nil {
		return usageError(err)
	}
	user := authnv1.UserInfo{Username: o.as, Groups: append([]string{"system:authenticated"}, o.groups...)}
	results := make([]policyResult, 0, len(objects))
	denied := false
	// A PersistentVolume given twice is judged as the update from the first to the second (kubectl apply of an
	// edit): the API server sends vnfguard volume updates only, never their creation.
	volumes := map[string]runtime.Object{}
	for i, obj := range objects {
		var old runtime.Object
		if obj.GVK.Group == "" && obj.GVK.Kind == "PersistentVolume" {
			name := obj.Meta().GetName()
			old = volumes[name]
			volumes[name] = obj.Object
		}
		r := o.evaluate(ctx, evaluator, cfg, user, obj, old, i)
		denied = denied || !r.Allowed
		results = append(results, r)
	}
	if err := o.print(stdout, results); err != nil {
		return err
	}
	if denied {
		return &exitCodeError{code: exitFindings}
	}
	return nil
}

// images builds the image verifier as serve does (internal/integrity, from the configuration's images), or its
// offline variant with --offline; nil when the configuration checks neither signatures nor vulnerabilities.
func (o *policyTestOptions) images(ctx context.Context, cfg *config.Config) (*integrity.Integrity, error) {
	if o.offline {
		return integrity.NewOffline(ctx, cfg.Images, nil)
	}
	var dyn dynamic.Interface
	if v := cfg.Images.Vulnerabilities; v != nil && v.OperatorReports {
		// trivy-operator's reports live in the cluster; integrity.New says so when there is none.
		restCfg, err := o.kube.restConfig()
		if err != nil && !errors.Is(err, errNoKubeconfig) {
			return nil, err
		}
		if restCfg != nil {
			if dyn, err = dynamic.NewForConfig(restCfg); err != nil {
				return nil, fmt.Errorf("dynamic client: %w", err)
			}
		}
	}
	return integrity.New(ctx, cfg.Images, dyn, nil)
}

// evaluate judges one object as its creation, or as an update from old when old is not nil.
func (o *policyTestOptions) evaluate(ctx context.Context, ev *policy.Evaluator, cfg *config.Config, user authnv1.UserInfo, obj manifest.Object, old runtime.Object, i int) policyResult {
	gvk := obj.GVK
	meta, _ := obj.Object.(metav1.Object)
	r := policyResult{Source: obj.Where(), Object: objectRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}, Verdict: "not-governed", Allowed: true}
	if meta != nil {
		r.Object.Name = meta.GetName()
		r.Object.Namespace = meta.GetNamespace()
	}
	op := policy.Create
	switch {
	case policy.IsWorkloadKind(gvk.Kind), gvk.Kind == "VolumeSnapshot", gvk.Group == "" && gvk.Kind == "PersistentVolumeClaim":
	case gvk.Group == "" && gvk.Kind == "PersistentVolume" && old != nil:
		op = policy.Update
	default:
		return r
	}
	req := &policy.Request{
		UID: fmt.Sprintf("policy-test-%d", i), Operation: op, Kind: gvk, OldObject: old,
		Resource:  schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"},
		Namespace: r.Object.Namespace, Name: r.Object.Name, User: user, Object: obj.Object,
	}
	d := ev.Evaluate(ctx, req)
	r.Allowed, r.Protected, r.Profile, r.Exceptions = d.Allowed, d.Protected, d.Profile, d.Exceptions
	r.Verdict = map[bool]string{true: "allowed", false: "denied"}[d.Allowed]
	r.Instance = d.Binding.InstanceID
	if d.Binding.Instance != nil {
		r.State = d.Binding.Instance.State()
	}
	add := func(vs []policy.Violation, mode config.Mode) {
		for _, v := range vs {
			r.Violations = append(r.Violations, violationJSON{Check: v.Check, Mode: string(mode), Technique: v.Technique, Mitigations: v.Mitigations, Field: v.Field, Message: v.Message})
		}
	}
	add(d.Denials, config.Enforce)
	add(d.Warnings, config.Warn)
	add(d.Audits, config.Audit)
	for _, e := range d.Errors {
		r.Errors = append(r.Errors, e.Error())
	}
	return r
}

func (o *policyTestOptions) print(w io.Writer, results []policyResult) error {
	var rows [][]string
	for _, r := range results {
		obj := r.Object.Kind + " " + r.Object.Namespace + "/" + r.Object.Name
		inst := r.Instance
		if r.State != "" {
			inst += " (" + r.State + ")"
		}
		// Checks not made (--offline) and exceptions used matter on denied objects too.
		if len(r.Violations) == 0 || len(r.Exceptions) > 0 {
			rows = append(rows, []string{obj, r.Source, r.Verdict, inst, "", "", "", strings.Join(r.Exceptions, "; ")})
		}
		for _, v := range r.Violations {
			verdict := r.Verdict
			if v.Mode != string(config.Enforce) {
				verdict += " (" + v.Mode + ")"
			}
			rows = append(rows, []string{obj, r.Source, verdict, inst, v.Check, v.Technique, v.Field, v.Message})
		}
	}
	return report.WriteRecords(w, o.output, &report.Records{Columns: []string{"OBJECT", "SOURCE", "VERDICT", "VNF INSTANCE", "CHECK", "TECHNIQUE", "FIELD", "MESSAGE"},
		Rows: rows, Items: results})
}
