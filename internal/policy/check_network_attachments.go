package policy

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// multusAnnotation is where Multus reads a pod's secondary networks.
const multusAnnotation = "k8s.v1.cni.cncf.io/networks"

/*
Check network-attachments restricts, in protected namespaces, which secondary networks a pod attaches through Multus
(the k8s.v1.cni.cncf.io/networks annotation, as a comma-separated list or a JSON list of selections) and whether it
asks for hugepages: a fake VNF on the N3/N6 user-plane networks or a pod grabbing the UPF's hugepages reaches what
the gateways (M1030) are there to separate.

Allowed: networks listed in the allowNetworks of the profile of the pod's VNF product ("name" or
"namespace/name"), hugepages when the profile says allowHugepages. Pods without a profile may attach none and ask
for no hugepages. Outside protected namespaces, everything.
*/
type networkAttachmentsCheck struct{}

func init() { register(func() Check { return networkAttachmentsCheck{} }) }

func (networkAttachmentsCheck) ID() string        { return "network-attachments" }
func (networkAttachmentsCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (networkAttachmentsCheck) Mitigations() []string {
	return []string{finding.MitigationNetworkSegmentation}
}

// Needs names the lookups the check reads: protection decides whether it applies; the binding, which profile allows
// networks.
func (networkAttachmentsCheck) Needs() Lookup { return LookupNamespace | LookupBinding }

func (c networkAttachmentsCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if !a.Protected || w == nil || !a.SpecChanged {
		return out, nil
	}
	var allowed []string
	allowHugepages := false
	if a.Profile != nil {
		allowed, allowHugepages = a.Profile.AllowNetworks, a.Profile.AllowHugepages
	}
	// profile says what the profile allows, for a violation's message: built only when there is one.
	profile := func() string {
		if a.Profile == nil {
			return "no profile applies"
		}
		return "profile " + a.Profile.Name + " allows " + strconv.Quote(strings.Join(allowed, ", "))
	}
	if value := w.Meta.Annotations[multusAnnotation]; value != "" {
		networks, err := parseNetworks(value)
		metaPath := strings.TrimSuffix(w.Path, "spec") + "metadata.annotations[" + multusAnnotation + "]"
		if err != nil {
			out = append(out, violation(c, metaPath, "cannot read the network selection: "+err.Error()))
		}
		for _, n := range networks {
			short := n[strings.LastIndex(n, "/")+1:]
			if slices.Contains(allowed, n) || slices.Contains(allowed, short) {
				if a.Profile != nil {
					a.Note("profile " + a.Profile.Name + " allowed network " + n)
				}
				continue
			}
			out = append(out, violation(c, metaPath, "attaches network "+strconv.Quote(n)+", which is not declared for this VNF product ("+profile()+")"))
		}
	}
	w.Containers(func(list string, i int, ctr *corev1.Container) {
		for res := range ctr.Resources.Limits {
			if strings.HasPrefix(string(res), "hugepages-") {
				if allowHugepages {
					a.Note("profile " + a.Profile.Name + " allowed " + string(res))
					continue
				}
				out = append(out, violation(c, w.ContainerPath(list, i)+".resources.limits["+string(res)+"]", "container "+strconv.Quote(ctr.Name)+" asks for "+string(res)+", which is not declared for this VNF product ("+profile()+")"))
			}
		}
	})
	return out, nil
}

// parseNetworks reads the Multus annotation: "net1,ns/net2@eth1" or a JSON list of {"name","namespace"}.
func parseNetworks(value string) ([]string, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "[") {
		var sel []struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		}
		if err := json.Unmarshal([]byte(value), &sel); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(sel))
		for _, s := range sel {
			if s.Namespace != "" {
				out = append(out, s.Namespace+"/"+s.Name)
			} else {
				out = append(out, s.Name)
			}
		}
		return out, nil
	}
	var out []string
	for _, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		if at := strings.IndexByte(part, '@'); at >= 0 {
			part = part[:at]
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}
