package reconcile

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// The posture of the VNFM itself, from what it told vnfguard: vnfm-discloses-vim-credentials (FGT5013, high) holds
// while the inventory's instances carry credential-bearing fields the VNFM returned in vimConnectionInfo
// (vnf.Instance.DisclosedCredentials: passwords, bearer tokens, client secrets or keys for the VIM, that is the
// Kubernetes cluster). Whoever may read the VNFM's API, vnfguard included, then holds the identity the VNFM
// instantiates VNFs with, and can instantiate a VNF of their own past every VNFM-side check. SOL003 4.4.1.6 forbids
// returning them; OpenStack Tacker 11 strips accessInfo's password, bearer_token and client_secret, older Tacker
// returned bearer_token. One finding per VNFM: its ID does not change as instances come and go, and it resolves at
// the first pass after the VNFM stops returning them (a full list, or a notification's GET, of every instance).
// The finding names the fields, never their values, which vnfguard does not keep.

// RuleVNFMDisclosesCredentials is the rule of that finding.
const RuleVNFMDisclosesCredentials = "vnfm-discloses-vim-credentials"

// Bounds of the lists the finding names: enough to act on, small enough for a table row.
const (
	maxDisclosingInstances = 10
	maxDisclosedFields     = 10
)

// vnfmObject is the finding's object: the VNFM is a component beside the cluster, as posture names the API
// server or the kubelet.
var vnfmObject = finding.ObjectRef{Kind: "Component", Name: "vnfm"}

// vnfm reports the VIM credentials the inventory's VNFM disclosed.
func (e *evaluator) vnfm() {
	var ids, fields []string
	for _, inst := range e.snap.Instances() {
		if len(inst.DisclosedCredentials) == 0 {
			continue
		}
		ids = append(ids, inst.ID)
		fields = append(fields, inst.DisclosedCredentials...)
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	slices.Sort(fields)
	fields = slices.Compact(fields)
	apiRoot := strings.TrimPrefix(e.snap.Source, "sol003:")
	ev := map[string]string{
		"vnfm":         apiRoot,
		"inventory":    e.snap.Source,
		"instances":    strconv.Itoa(len(ids)),
		"vnfInstances": bounded(ids, maxDisclosingInstances),
		"fields":       bounded(fields, maxDisclosedFields),
		"fix": "remove the VIM credentials from the VNFM's API responses (SOL003 4.4.1.6; OpenStack Tacker strips them " +
			"since 11.0.0: upgrade it), rotate the credentials it disclosed, and give its VIM connection a Kubernetes " +
			"identity with the least privilege instantiation needs (M1018); limit who may read the VNFM's API (M1035)",
	}
	msg := "the VNFM at " + apiRoot + " returns VIM credentials to its API clients (" + bounded(fields, 3) + " of " +
		plural(len(ids), "VNF instance") + "): whoever reads the VNFM's API gets the keys to the cluster and can instantiate a VNF of their own"
	ref := finding.ObjectRef{Kind: vnfmObject.Kind, Name: vnfmObject.Name, Subresource: apiRoot}
	e.out = append(e.out, finding.Finding{
		ID:          finding.Key(RuleVNFMDisclosesCredentials, ref, ""),
		Time:        e.now,
		Source:      Source,
		Rule:        RuleVNFMDisclosesCredentials,
		Technique:   finding.MaliciousVNFInstantiation,
		Mitigations: []string{finding.MitigationUserAccounts, finding.MitigationLimitNetworkAccess},
		Severity:    finding.High,
		Action:      ActionReported,
		Message:     msg,
		Object:      vnfmObject,
		Evidence:    ev,
	})
}

// bounded joins the first n items with commas, saying how many more there are.
func bounded(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ",")
	}
	return strings.Join(items[:n], ",") + " and " + strconv.Itoa(len(items)-n) + " more"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
