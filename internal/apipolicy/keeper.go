package apipolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// FieldManager is the server-side-apply field manager of everything the Keeper applies.
const FieldManager = "vnfguard"

// Keeper installs a Set in the API server and keeps it there: it applies every policy and binding at start, and
// again whenever one of them is deleted or changed (an informer on the objects labelled ManagedByLabel), and deletes
// the ones an earlier configuration made that the Set no longer has. It runs on the leader only.
type Keeper struct {
	Client kubernetes.Interface
	Set    *Set
	Logger *slog.Logger
	// Tampered, when set, is told of each policy or binding found deleted or changed by someone else before it is
	// applied again (the caller turns it into a finding).
	Tampered func(kind, name, what string)
	// Resync is how often everything is applied again even when no event came; 0: every 5 minutes.
	Resync time.Duration
}

// Apply applies the Set once (server-side apply, forced: vnfguard owns these objects) and deletes the managed
// policies and bindings that are not in it.
//
// While the API server does not serve the parameters' kind (the CRD not installed), it applies the Set's
// WithoutParams, and the error says what to install: a policy that reads them would be misconfigured and,
// failurePolicy Fail, make the API server refuse every request it matches — every pod of the cluster. The policies
// that read them are not deleted then: a policy already in place keeps failing closed.
func (k *Keeper) Apply(ctx context.Context) error {
	api := k.Client.AdmissionregistrationV1()
	var errs []error
	set := k.Set
	served, err := k.paramsServed()
	if err != nil {
		errs = append(errs, err)
	}
	if !served {
		set = k.Set.WithoutParams()
	}
	for i := range set.Policies {
		p := &set.Policies[i]
		if err := apply(ctx, func(data []byte, opts metav1.PatchOptions) error {
			_, err := api.ValidatingAdmissionPolicies().Patch(ctx, p.Name, types.ApplyPatchType, data, opts)
			return err
		}, p); err != nil {
			errs = append(errs, fmt.Errorf("apply ValidatingAdmissionPolicy %s: %w", p.Name, err))
		}
	}
	for i := range set.Bindings {
		b := &set.Bindings[i]
		if err := apply(ctx, func(data []byte, opts metav1.PatchOptions) error {
			_, err := api.ValidatingAdmissionPolicyBindings().Patch(ctx, b.Name, types.ApplyPatchType, data, opts)
			return err
		}, b); err != nil {
			errs = append(errs, fmt.Errorf("apply ValidatingAdmissionPolicyBinding %s: %w", b.Name, err))
		}
	}
	names, bindings := k.Set.Names(), k.Set.BindingNames()
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy}
	if bl, err := api.ValidatingAdmissionPolicyBindings().List(ctx, sel); err == nil {
		for _, b := range bl.Items {
			if !slices.Contains(bindings, b.Name) {
				errs = append(errs, ignoreNotFound(api.ValidatingAdmissionPolicyBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})))
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("list ValidatingAdmissionPolicyBindings: %w", err))
	}
	if pl, err := api.ValidatingAdmissionPolicies().List(ctx, sel); err == nil {
		for _, p := range pl.Items {
			if !slices.Contains(names, p.Name) {
				errs = append(errs, ignoreNotFound(api.ValidatingAdmissionPolicies().Delete(ctx, p.Name, metav1.DeleteOptions{})))
			}
		}
	} else {
		errs = append(errs, fmt.Errorf("list ValidatingAdmissionPolicies: %w", err))
	}
	return errors.Join(errs...)
}

// paramsServed reports whether the API server serves the lifecycle parameters' kind; an error names what to install
// when it does not.
func (k *Keeper) paramsServed() (bool, error) {
	list, err := k.Client.Discovery().ServerResourcesForGroupVersion(ParamsGroup + "/" + ParamsVersion)
	if err == nil {
		for _, r := range list.APIResources {
			if r.Name == ParamsResource {
				return true, nil
			}
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("discover %s/%s: %w", ParamsGroup, ParamsVersion, err)
	}
	return false, fmt.Errorf("the API server does not serve %s.%s (install the CRD: the Helm chart's crds/, or internal/apipolicy/crd.yaml): the policies that read the VNF lifecycle are not applied, since the API server would refuse every request they match", ParamsResource, ParamsGroup)
}

func apply(ctx context.Context, patch func([]byte, metav1.PatchOptions) error, obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	force := true
	return patch(data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Remove deletes every policy and binding labelled ManagedByLabel (bindings first, so that no binding names a
// missing policy): for unregister and uninstall. One delete per object, by name, as vnfguard's RBAC allows.
func Remove(ctx context.Context, client kubernetes.Interface) error {
	api := client.AdmissionregistrationV1()
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy}
	var errs []error
	bl, err := api.ValidatingAdmissionPolicyBindings().List(ctx, sel)
	if err != nil {
		return fmt.Errorf("list vnfguard's ValidatingAdmissionPolicyBindings: %w", err)
	}
	for _, b := range bl.Items {
		if err := ignoreNotFound(api.ValidatingAdmissionPolicyBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})); err != nil {
			errs = append(errs, fmt.Errorf("delete ValidatingAdmissionPolicyBinding %s: %w", b.Name, err))
		}
	}
	pl, err := api.ValidatingAdmissionPolicies().List(ctx, sel)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list vnfguard's ValidatingAdmissionPolicies: %w", err))...)
	}
	for _, p := range pl.Items {
		if err := ignoreNotFound(api.ValidatingAdmissionPolicies().Delete(ctx, p.Name, metav1.DeleteOptions{})); err != nil {
			errs = append(errs, fmt.Errorf("delete ValidatingAdmissionPolicy %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run applies the Set and keeps it applied until ctx ends. Failed applies are retried with backoff.
func (k *Keeper) Run(ctx context.Context) error {
	logger := k.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	resync := k.Resync
	if resync == 0 {
		resync = 5 * time.Minute
	}
	poke := make(chan struct{}, 1)
	signal := func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(k.Client, resync, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = ManagedByLabel + "=" + ManagedBy
	}))
	changed := func(kind string, obj any, what string) {
		m, ok := obj.(metav1.Object)
		if !ok {
			if d, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
				m, ok = d.Obj.(metav1.Object)
			}
		}
		known := k.Set.Names()
		if kind == "ValidatingAdmissionPolicyBinding" {
			known = k.Set.BindingNames()
		}
		if !ok || !slices.Contains(known, m.GetName()) {
			return
		}
		if what == "changed" && !k.changedByOthers(m) {
			return
		}
		logger.Warn("API server policy "+what+" by someone else; applying it again", "kind", kind, "name", m.GetName())
		if k.Tampered != nil {
			k.Tampered(kind, m.GetName(), what)
		}
		signal()
	}
	handlers := func(kind string) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, obj any) { changed(kind, obj, "changed") },
			DeleteFunc: func(obj any) { changed(kind, obj, "deleted") },
		}
	}
	if _, err := factory.Admissionregistration().V1().ValidatingAdmissionPolicies().Informer().AddEventHandler(handlers("ValidatingAdmissionPolicy")); err != nil {
		return err
	}
	if _, err := factory.Admissionregistration().V1().ValidatingAdmissionPolicyBindings().Informer().AddEventHandler(handlers("ValidatingAdmissionPolicyBinding")); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	// Retries back off from half a second to half a minute, and start again from the beginning after a success.
	newBackoff := func() wait.Backoff {
		return wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 8, Cap: 30 * time.Second}
	}
	backoff := newBackoff()
	tick := time.NewTicker(resync)
	defer tick.Stop()
	signal()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poke:
		case <-tick.C:
		}
		err := k.Apply(ctx)
		if err == nil {
			backoff = newBackoff()
			logger.Debug("API server policies applied", "policies", len(k.Set.Policies))
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		d := backoff.Step()
		logger.Error("could not apply the API server policies; retrying", "error", err, "retryIn", d)
		time.AfterFunc(d, signal)
	}
}

// changedByOthers reports whether the object's newest change came from a manager other than vnfguard's.
func (k *Keeper) changedByOthers(m metav1.Object) bool {
	var newest *metav1.ManagedFieldsEntry
	for i := range m.GetManagedFields() {
		e := &m.GetManagedFields()[i]
		if e.Subresource != "" {
			continue // the API server's own status (typeChecking) is not a change of the policy
		}
		if e.Time != nil && (newest == nil || newest.Time == nil || !e.Time.Before(newest.Time)) {
			newest = e
		}
	}
	return newest != nil && newest.Manager != FieldManager
}

// DriftRule is the rule of the finding a policy or binding deleted or changed by someone else leaves.
const DriftRule = "admission-policy-drift"

// DriftFinding is that finding: critical, since whoever did it switched off a control the API server enforced
// while vnfguard was down (the Keeper has applied it again by the time the finding is read).
func DriftFinding(kind, name, what string, now time.Time) finding.Finding {
	obj := finding.ObjectRef{APIVersion: "admissionregistration.k8s.io/v1", Kind: kind, Name: name}
	return finding.Finding{
		ID: finding.Key(DriftRule, obj, now.UTC().Format(time.RFC3339Nano)), Time: now, Source: "apipolicy", Rule: DriftRule,
		Technique: finding.MaliciousVNFInstantiation, Mitigations: []string{finding.MitigationUserAccounts, finding.MitigationPrivilegedAccounts},
		Severity: finding.Critical, Action: "detected", Object: obj,
		Message: kind + " " + name + " was " + what + " by someone other than vnfguard: the API server stopped enforcing (part of) vnfguard's " +
			"checks until vnfguard applied it again",
	}
}
