package detect

import (
	"encoding/json"
	"strings"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
)

// maxRememberedNamespaces bounds the memory of namespace labels.
const maxRememberedNamespaces = 10000

// namespaceMemory remembers the labels of every namespace whose create, update or patch the engine has seen, so
// that an update that takes a namespace out of protection is recognised even when the cluster view already shows
// the result: an audit batch arrives after the change, and the view's informer has usually caught up by then.
type namespaceMemory struct {
	labels *boundedMap[string, map[string]string]
}

func newNamespaceMemory() *namespaceMemory {
	return &namespaceMemory{labels: newBoundedMap[string, map[string]string](maxRememberedNamespaces)}
}

// observe records the namespace a successful write left behind, after the rules have seen the event.
func (m *namespaceMemory) observe(a *activation) {
	r := a.ev.ObjectRef
	if r == nil || r.Resource != "namespaces" || r.APIGroup != "" || !succeeded(a.ev) {
		return
	}
	switch a.ev.Verb {
	case "create", "update", "patch":
		md, ok := a.objectMeta()
		if !ok || md.Name == "" {
			return
		}
		labels := md.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		m.labels.put(md.Name, labels)
	}
}

func succeeded(ev *auditv1.Event) bool {
	return ev.ResponseStatus != nil && ev.ResponseStatus.Code > 0 && ev.ResponseStatus.Code < 400
}

// protectionRemoved reports whether the event takes a protected namespace out of protection, or tried to (a
// request vnfguard or RBAC refused is reported too): an update or patch after which the namespace's labels no
// longer match the protected selector, or a delete of a protected namespace.
//
// The labels before come from what the engine saw of the namespace, else from the cluster view; the labels after
// from the response (a successful write), else from the request: the new object of an update, or the old labels
// with the merge, strategic-merge or JSON patch applied. When the labels before are unknown, a patch that sets or
// removes a label the selector reads, leaving the namespace unprotected, counts as a removal: it names the label
// that took the namespace out.
func (a *activation) protectionRemoved() bool {
	ev := a.ev
	r := ev.ObjectRef
	if r == nil || r.Resource != "namespaces" || r.APIGroup != "" || r.Name == "" {
		return false
	}
	switch r.Subresource {
	case "", "status", "finalize":
	default:
		return false
	}
	cfg := a.e.env.Config
	name := r.Name
	before, known := a.e.namespaces.labels.get(name)
	if !known && a.e.env.Namespaces != nil {
		if l, err := a.e.env.Namespaces.Labels(a.ctx, name); err == nil {
			before, known = l, true
		}
	}
	switch ev.Verb {
	case "delete":
		return r.Subresource == "" && cfg.IsProtected(name, before)
	case "update", "patch":
	default:
		return false
	}
	after, ok := a.labelsAfter(before)
	if !ok || cfg.IsProtected(name, after) {
		return false
	}
	if known {
		return cfg.IsProtected(name, before)
	}
	return ev.Verb == "patch" && patchNamesKeys(a.ev, selectorKeys(cfg))
}

// labelsAfter is what the namespace's labels are, or would have been, after the event's write.
func (a *activation) labelsAfter(before map[string]string) (map[string]string, bool) {
	if succeeded(a.ev) {
		if resp := a.responseObject(); resp["kind"] == "Namespace" {
			return labelsOf(resp), true
		}
	}
	if a.ev.Verb == "update" {
		if req := a.requestObject(); req["kind"] == "Namespace" {
			return labelsOf(req), true
		}
		return nil, false
	}
	if a.ev.RequestObject == nil {
		return nil, false
	}
	return applyLabelPatch(before, a.ev.RequestObject.Raw)
}

func labelsOf(obj map[string]any) map[string]string {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		return map[string]string{}
	}
	return metaFromMap(md).Labels
}

// applyLabelPatch applies the label changes of a patch body to labels: a JSON patch (a list of operations) or a
// merge or strategic-merge patch (an object). ok is false for a body that is neither.
func applyLabelPatch(labels map[string]string, raw []byte) (map[string]string, bool) {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(raw, &ops) == nil {
		for _, op := range ops {
			switch {
			case op.Path == "/metadata" || op.Path == "/metadata/labels":
				if op.Op == "remove" {
					out = map[string]string{}
					continue
				}
				var v struct {
					Labels map[string]string `json:"labels"`
				}
				if op.Path == "/metadata" {
					_ = json.Unmarshal(op.Value, &v)
				} else {
					_ = json.Unmarshal(op.Value, &v.Labels)
				}
				if op.Op == "add" || op.Op == "replace" {
					out = v.Labels
				}
			case strings.HasPrefix(op.Path, "/metadata/labels/"):
				key := strings.NewReplacer("~1", "/", "~0", "~").Replace(strings.TrimPrefix(op.Path, "/metadata/labels/"))
				var v string
				switch op.Op {
				case "remove":
					delete(out, key)
				case "add", "replace":
					if json.Unmarshal(op.Value, &v) == nil {
						out[key] = v
					}
				}
			}
		}
		return out, true
	}
	var patch struct {
		Metadata *struct {
			Labels json.RawMessage `json:"labels"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &patch) != nil {
		return nil, false
	}
	if patch.Metadata == nil || len(patch.Metadata.Labels) == 0 {
		return out, true
	}
	if string(patch.Metadata.Labels) == "null" {
		return map[string]string{}, true
	}
	var changes map[string]*string
	if json.Unmarshal(patch.Metadata.Labels, &changes) != nil {
		return nil, false
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out, true
}

// selectorKeys are the label keys the protected-namespace selector reads.
func selectorKeys(cfg *config.Config) []string {
	sel := cfg.ProtectedNamespaces.Selector
	if sel == nil {
		return nil
	}
	var keys []string
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	for _, e := range sel.MatchExpressions {
		keys = append(keys, e.Key)
	}
	return keys
}

// patchNamesKeys reports whether a patch body sets or removes one of the labels keys, or all labels.
func patchNamesKeys(ev *auditv1.Event, keys []string) bool {
	if ev.RequestObject == nil || len(keys) == 0 {
		return false
	}
	withNone, okNone := applyLabelPatch(map[string]string{}, ev.RequestObject.Raw)
	marker := map[string]string{}
	for _, k := range keys {
		marker[k] = "\x00"
	}
	withAll, okAll := applyLabelPatch(marker, ev.RequestObject.Raw)
	if !okNone || !okAll {
		return false
	}
	for _, k := range keys {
		if _, set := withNone[k]; set {
			return true
		}
		if v, kept := withAll[k]; !kept || v != "\x00" {
			return true
		}
	}
	return false
}

// vnfguardObjectResources are the resources isVNFGuardObject can be true for (the rules' index reads them).
var vnfguardObjectResources = []string{"validatingwebhookconfigurations", "validatingadmissionpolicies",
	"validatingadmissionpolicybindings", "customresourcedefinitions", apipolicy.ParamsResource, "namespaces",
	"serviceaccounts", "clusterroles", "clusterrolebindings", "roles", "rolebindings", "deployments", "statefulsets",
	"daemonsets"}

// isVNFGuardObject reports whether the event changes or deletes one of vnfguard's own objects (config.Self): its
// webhook configurations, its ValidatingAdmissionPolicies and their bindings (apipolicy.Prefix), the lifecycle
// parameters and their CRD, its namespace, its service account, its RBAC objects, its workload (and its scale).
// A deletecollection that could take one of them is included.
func (a *activation) isVNFGuardObject() bool {
	ev := a.ev
	r := ev.ObjectRef
	if r == nil {
		return false
	}
	switch ev.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
	default:
		return false
	}
	s := a.e.env.Config.Self
	bulk := ev.Verb == "deletecollection"
	inOwnNamespace := r.Namespace == s.Namespace
	switch r.APIGroup + "/" + r.Resource {
	case "admissionregistration.k8s.io/validatingwebhookconfigurations":
		return r.Subresource == "" && (bulk || contains(s.WebhookConfigurations, r.Name))
	case "admissionregistration.k8s.io/validatingadmissionpolicies", "admissionregistration.k8s.io/validatingadmissionpolicybindings":
		// The policies mode's enforcement (internal/apipolicy): the API server sends changes of these to no webhook
		// and no policy, and with vnfguard down nothing puts them back.
		return r.Subresource == "" && (bulk || strings.HasPrefix(r.Name, apipolicy.Prefix))
	case "apiextensions.k8s.io/customresourcedefinitions":
		// Deleting the lifecycle parameters' CRD deletes every namespace's parameters with it.
		return r.Subresource == "" && (bulk || r.Name == apipolicy.ParamsCRD)
	case apipolicy.ParamsGroup + "/" + apipolicy.ParamsResource:
		// The lifecycle parameters (twin params-guard refuses their change to anyone but vnfguard and its
		// administrators; a refused attempt is reported too).
		return r.Subresource == "" && (bulk || r.Name == apipolicy.ParamsName)
	case "/namespaces":
		return r.Subresource == "" && r.Name == s.Namespace
	case "/serviceaccounts":
		return r.Subresource == "" && inOwnNamespace && (bulk || r.Name == s.ServiceAccount)
	case "rbac.authorization.k8s.io/clusterroles", "rbac.authorization.k8s.io/clusterrolebindings":
		return r.Subresource == "" && (bulk || s.IsRBACName(r.Name))
	case "rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/rolebindings":
		if r.Subresource != "" {
			return false
		}
		if bulk {
			return inOwnNamespace || a.isProtected()
		}
		return s.IsRBACName(r.Name)
	case "apps/deployments", "apps/statefulsets", "apps/daemonsets":
		return (r.Subresource == "" || r.Subresource == "scale") && inOwnNamespace && (bulk || r.Name == s.Workload)
	}
	return false
}

// isVNFGuard reports whether the event's user is vnfguard's own service account (config.Self): its re-apply of its
// registration is the answer to a drift, not one.
func (a *activation) isVNFGuard() bool {
	s := a.e.env.Config.Self
	// MatchesUsername compares piece by piece: the joined name was an allocation for nearly every event.
	return serviceaccount.MatchesUsername(s.Namespace, s.ServiceAccount, a.ev.User.Username)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
