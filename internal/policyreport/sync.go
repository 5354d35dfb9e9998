package policyreport

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ErrNoCRD says the cluster does not serve the report API: Policy Reporter, Kyverno or the wg-policy CRDs are not
// installed. Callers log it once and try again later; it is not a failure of vnfguard.
var ErrNoCRD = errors.New("policyreport: the cluster does not serve wgpolicyk8s.io/v1alpha2 PolicyReports (install Policy Reporter's or Kyverno's CRDs)")

// FieldManager is the server-side-apply field manager of vnfguard's reports.
const FieldManager = "vnfguard"

// Stats counts what one Sync did.
type Stats struct {
	Applied, Unchanged, Deleted int
}

// Sync makes the cluster hold exactly the source's desired reports (Build): changed or new reports are applied,
// unchanged ones left alone, and the source's reports of namespaces not in desired deleted. Only reports labelled
// as this source's are listed, so another tool's reports, and vnfguard's reports of another source, are never
// touched.
func Sync(ctx context.Context, client dynamic.Interface, source string, desired map[string]*unstructured.Unstructured) (Stats, error) {
	var st Stats
	selector := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy + "," + SourceLabel + "=" + source}
	existing := map[string]*unstructured.Unstructured{}
	for _, gvr := range []schema.GroupVersionResource{PolicyReports, ClusterPolicyReports} {
		list, err := client.Resource(gvr).List(ctx, selector)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return st, ErrNoCRD
			}
			return st, fmt.Errorf("policyreport: list %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			it := &list.Items[i]
			if it.GetName() != ReportName(source) {
				continue // labelled like ours but named otherwise: not one Sync made
			}
			existing[it.GetNamespace()] = it
		}
	}
	var errs []error
	for ns, want := range desired {
		if have, ok := existing[ns]; ok && have.GetAnnotations()[ResultsHashAnnotation] == want.GetAnnotations()[ResultsHashAnnotation] {
			st.Unchanged++
			continue
		}
		if _, err := resource(client, ns).Apply(ctx, want.GetName(), want, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("policyreport: apply %s: %w", where(ns, want.GetName()), err))
			continue
		}
		st.Applied++
	}
	for ns, have := range existing {
		if _, ok := desired[ns]; ok {
			continue
		}
		err := resource(client, ns).Delete(ctx, have.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(have.GetUID())}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("policyreport: delete %s: %w", where(ns, have.GetName()), err))
			continue
		}
		st.Deleted++
	}
	return st, errors.Join(errs...)
}

func resource(client dynamic.Interface, namespace string) dynamic.ResourceInterface {
	if namespace == "" {
		return client.Resource(ClusterPolicyReports)
	}
	return client.Resource(PolicyReports).Namespace(namespace)
}

func where(namespace, name string) string {
	if namespace == "" {
		return "ClusterPolicyReport " + name
	}
	return "PolicyReport " + namespace + "/" + name
}

func ptr[T any](v T) *T { return &v }
