package policyreport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// ErrNoCRD says the cluster serves none of the report APIs vnfguard was to write: Policy Reporter, Kyverno or the
// openreports.io CRDs are not installed. The error Publish returns wraps it and names the APIs; callers say it once
// and try again later.
var ErrNoCRD = errors.New("policyreport: no report API to write is served")

// FieldManager is the server-side-apply field manager of vnfguard's reports.
const FieldManager = "vnfguard"

// Choice is which report APIs to write (--policy-report-api).
type Choice string

const (
	// Auto writes every report API the cluster serves.
	Auto              Choice = "auto"
	ChooseWGPolicy    Choice = "wgpolicyk8s"
	ChooseOpenReports Choice = "openreports"
	Both              Choice = "both"
)

// Choices are the accepted values of a Choice, for a flag's help.
var Choices = []Choice{Auto, ChooseWGPolicy, ChooseOpenReports, Both}

// ParseChoice reads a Choice.
func ParseChoice(s string) (Choice, error) {
	if c := Choice(s); slices.Contains(Choices, c) {
		return c, nil
	}
	names := make([]string, len(Choices))
	for i, c := range Choices {
		names[i] = string(c)
	}
	return "", fmt.Errorf("%q is none of %s", s, strings.Join(names, ", "))
}

// wants tells whether an explicit choice names api (Auto names none: it takes what is served).
func (c Choice) wants(api API) bool {
	return c == Both || string(c) == api.Name
}

// Discoverer is what Served asks of the API server's discovery (discovery.DiscoveryInterface has it).
type Discoverer interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// Served is the report APIs the cluster serves, both of their resources (the namespaced and the cluster-scoped
// report): an API with one CRD of the two installed is not one vnfguard can write its reports in.
func Served(d Discoverer) ([]API, error) {
	var out []API
	for _, api := range APIs {
		list, err := d.ServerResourcesForGroupVersion(api.GroupVersion.String())
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("policyreport: discover %s: %w", api, err)
		}
		have := map[string]bool{}
		for _, r := range list.APIResources {
			have[r.Name] = true
		}
		if have[api.Resource.Resource] && have[api.ClusterResource.Resource] {
			out = append(out, api)
		}
	}
	return out, nil
}

// Stats counts what one Sync did.
type Stats struct {
	Applied, Unchanged, Deleted int
}

// APIStats is what a Publish did in one API.
type APIStats struct {
	API API
	Stats
}

// Outcome is what one Publish did.
type Outcome struct {
	// Written are the APIs the reports were written in.
	Written []APIStats
	// Cleared are the APIs served but not chosen, from which the source's reports were deleted: a cluster whose
	// choice changed keeps no stale reports of vnfguard's in the API it left.
	Cleared []APIStats
	// Unserved are the APIs chosen (with Auto, when the cluster serves none: all of them) that the cluster does
	// not serve, so that hold no reports.
	Unserved []API
}

// Publish makes the report APIs of choice hold exactly the source's desired reports (Build), and the served APIs
// not chosen none of the source's. Which APIs the cluster serves is asked of discovery at every call, so CRDs
// installed later are written at the next. When no chosen API is served, nothing is written and the error wraps
// ErrNoCRD; an explicit choice of which only some are served writes those and lists the others in Unserved.
func Publish(ctx context.Context, client dynamic.Interface, d Discoverer, choice Choice, source string, desired map[string]*Report) (Outcome, error) {
	var out Outcome
	if _, err := ParseChoice(string(choice)); err != nil {
		return out, fmt.Errorf("policyreport: report API %w", err)
	}
	served, err := Served(d)
	if err != nil {
		return out, err
	}
	var errs []error
	for _, api := range APIs {
		isServed := slices.ContainsFunc(served, func(s API) bool { return s.Name == api.Name })
		wanted := choice.wants(api) || (choice == Auto && isServed)
		switch {
		case !isServed:
			if wanted || (choice == Auto && len(served) == 0) {
				out.Unserved = append(out.Unserved, api)
			}
		case wanted:
			st, err := Sync(ctx, client, api, source, desired)
			if errors.Is(err, ErrNoCRD) { // gone since discovery
				out.Unserved = append(out.Unserved, api)
				continue
			}
			errs = append(errs, err)
			out.Written = append(out.Written, APIStats{api, st})
		default:
			st, err := Sync(ctx, client, api, source, nil)
			if !errors.Is(err, ErrNoCRD) {
				errs = append(errs, err)
			}
			out.Cleared = append(out.Cleared, APIStats{api, st})
		}
	}
	if len(out.Written) == 0 && len(out.Unserved) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s", ErrNoCRD, NotServed(out.Unserved)))
	}
	return out, errors.Join(errs...)
}

// NotServed says that the cluster does not serve apis, naming their kinds and what installs them.
func NotServed(apis []API) string {
	parts := make([]string, len(apis))
	for i, a := range apis {
		parts[i] = fmt.Sprintf("%s (%s, %s)", a, a.Kind, a.ClusterKind)
	}
	said := "the cluster does not serve " + strings.Join(parts, " nor ")
	if len(parts) > 1 {
		said = "the cluster serves neither " + strings.Join(parts, " nor ")
	}
	return said + "; " + installedBy(apis) + " install them"
}

func installedBy(apis []API) string {
	var who []string
	for _, a := range apis {
		switch a.Name {
		case WGPolicy.Name:
			who = append(who, "Kyverno's or Policy Reporter's chart")
		case OpenReports.Name:
			who = append(who, "the openreports chart or Kyverno's with openreports.enabled")
		}
	}
	return strings.Join(who, " or ")
}

// Sync makes api hold exactly the source's desired reports: changed or new reports are applied, unchanged ones
// left alone, and the source's reports of namespaces not in desired deleted. Only reports labelled as this
// source's are listed, so another tool's reports, and vnfguard's reports of another source, are never touched.
// An API the cluster does not serve is ErrNoCRD.
func Sync(ctx context.Context, client dynamic.Interface, api API, source string, desired map[string]*Report) (Stats, error) {
	var st Stats
	selector := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy + "," + SourceLabel + "=" + source}
	existing := map[string]*unstructured.Unstructured{}
	for _, gvr := range []schema.GroupVersionResource{api.Resource, api.ClusterResource} {
		list, err := client.Resource(gvr).List(ctx, selector)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return st, fmt.Errorf("%w: %s", ErrNoCRD, gvr.GroupResource())
			}
			return st, fmt.Errorf("policyreport: list %s: %w", gvr.GroupResource(), err)
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
	for ns, r := range desired {
		if have, ok := existing[ns]; ok && have.GetAnnotations()[ResultsHashAnnotation] == r.Hash {
			st.Unchanged++
			continue
		}
		want := r.Object(api)
		if _, err := resource(client, api, ns).Apply(ctx, want.GetName(), want, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("policyreport: apply %s: %w", where(api, ns, want.GetName()), err))
			continue
		}
		st.Applied++
	}
	for ns, have := range existing {
		if _, ok := desired[ns]; ok {
			continue
		}
		err := resource(client, api, ns).Delete(ctx, have.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(have.GetUID())}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("policyreport: delete %s: %w", where(api, ns, have.GetName()), err))
			continue
		}
		st.Deleted++
	}
	return st, errors.Join(errs...)
}

func resource(client dynamic.Interface, api API, namespace string) dynamic.ResourceInterface {
	if namespace == "" {
		return client.Resource(api.ClusterResource)
	}
	return client.Resource(api.Resource).Namespace(namespace)
}

func where(api API, namespace, name string) string {
	if namespace == "" {
		return api.ClusterKind + " " + name + " (" + api.String() + ")"
	}
	return api.Kind + " " + namespace + "/" + name + " (" + api.String() + ")"
}

func ptr[T any](v T) *T { return &v }
