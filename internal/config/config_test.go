package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
)

func TestLoadFull(t *testing.T) {
	cfg, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.IsProtected("vnf-5gc", nil) || !cfg.IsProtected("other", map[string]string{"vnfguard.io/protected": "true"}) || cfg.IsProtected("default", nil) {
		t.Error("protected namespaces: names and selector not both honoured")
	}
	if cfg.ModeOf("image-provenance") != Warn || cfg.ModeOf("lifecycle-access") != Enforce {
		t.Error("modes: configured warn and default enforce expected")
	}
	if p := cfg.ProfileFor("UPF-edge"); p == nil || p.Name != "upf" || cfg.ProfileFor("SMF") != nil {
		t.Error("profile lookup by product")
	}
	for _, tt := range []struct {
		set  IdentitySet
		user authnv1.UserInfo
		want bool
	}{
		{cfg.Identities.VNFM, authnv1.UserInfo{Username: "tacker-vnfm"}, true},
		{cfg.Identities.VNFM, authnv1.UserInfo{Username: "system:serviceaccount:tacker:tacker-conductor"}, true},
		{cfg.Identities.VNFM, authnv1.UserInfo{Username: "system:serviceaccount:tacker:other"}, false},
		{cfg.Identities.VNFM, authnv1.UserInfo{Username: "system:serviceaccount:evil:tacker-conductor"}, false},
		{cfg.Identities.BreakGlass, authnv1.UserInfo{Username: "oncall", Groups: []string{"vnfguard:break-glass"}}, true},
		{cfg.Identities.Controllers, authnv1.UserInfo{Username: "system:serviceaccount:kube-system:replicaset-controller"}, true},
		{cfg.Identities.Controllers, authnv1.UserInfo{Username: "system:kube-controller-manager"}, true},
		{cfg.Identities.Controllers, authnv1.UserInfo{Username: "mallory", Groups: []string{"system:masters"}}, false},
	} {
		if got := tt.set.Matches(&tt.user); got != tt.want {
			t.Errorf("%+v matches %s = %v, want %v", tt.set, tt.user.Username, got, tt.want)
		}
	}
	if !cfg.FailClosed(true) || cfg.FailClosed(false) {
		t.Error("failure policy: closed in protected, open elsewhere")
	}
}

func TestDefaults(t *testing.T) {
	cfg := Default()
	if cfg.InstanceLabel != "tacker_vnf_instance_id" || cfg.PodSecurity.Protected != "restricted" || cfg.PodSecurity.Everywhere != "baseline" {
		t.Errorf("defaults: %+v", cfg)
	}
	if !cfg.IsProtected("x", map[string]string{"vnfguard.io/protected": "true"}) || cfg.IsProtected("x", nil) {
		t.Error("default protected selector vnfguard.io/protected=true")
	}
	if !cfg.Registries.DigestRequired() || !cfg.Registries.DeclaredRequired() {
		t.Error("digest pinning and declared digests are required by default")
	}
	if cfg.Admission.Mode != AdmissionWebhook || cfg.Admission.PolicyMessages != PolicyMessagesStatic {
		t.Errorf("admission defaults: %+v, want the webhook and static policy messages", cfg.Admission)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		want      []string
	}{
		{"not YAML", "kind: [", []string{"not valid YAML"}},
		{"unknown field with its line", "kind: Config\nprofiles:\n  - name: upf\n    products: [UPF]\n    allowCaps: [NET_ADMIN]\n", []string{"line 5", "allowCaps", "not found"}},
		{"wrong kind", "apiVersion: vnfguard.io/v1alpha1\nkind: Policy\n", []string{"line 2: kind", `"Policy"`}},
		{"bad capability names the path and line", "profiles:\n  - name: upf\n    products: [UPF]\n    allowCapabilities: [NET_ADMIN, CAP_SYS_NICE]\n",
			[]string{"line 4: profiles[0].allowCapabilities[1]", "CAP_SYS_NICE", "without CAP_"}},
		{"bad mode", "checks:\n  reverse-shell: {mode: block}\n", []string{"line 2: checks.reverse-shell.mode", `"block"`, "enforce, warn or audit"}},
		{"bad level", "podSecurity: {protected: strict}\n", []string{"podSecurity.protected", "privileged, baseline or restricted"}},
		{"bad service account", "identities:\n  vnfm: {serviceAccounts: [tacker]}\n", []string{"identities.vnfm.serviceAccounts[0]", "NAMESPACE:NAME"}},
		{"duplicate product", "profiles:\n  - {name: a, products: [UPF]}\n  - {name: b, products: [UPF]}\n", []string{"profiles[1].products[0]", `already in profile "a"`}},
		{"bad selector", "protectedNamespaces:\n  selector: {matchExpressions: [{key: a, operator: Near}]}\n", []string{"protectedNamespaces.selector", "invalid label selector"}},
		{"bad failure policy", "failurePolicy: {protected: maybe}\n", []string{"failurePolicy.protected", "closed or open"}},
		{"bad registry", "registries: {allowed: ['https://x']}\n", []string{"registries.allowed[0]", "not a registry host"}},
		{"bad CIDR", "network:\n  podCIDRs: [10.244.0.0/16, 10.300.0.0/16]\n", []string{"line 2: network.podCIDRs[1]", "not a CIDR"}},
		{"two inventory sources", "inventory:\n  file: inv.yaml\n  sol003: {apiRoot: 'https://vnfm:9890'}\n", []string{"line 1: inventory:", "choose one source"}},
		{"sol003 apiRoot not a URL", "inventory:\n  sol003:\n    apiRoot: vnfm:9890\n", []string{"line 3: inventory.sol003.apiRoot", "not an http(s) URL"}},
		{"sol003 OAuth half-configured", "inventory:\n  sol003: {apiRoot: 'https://vnfm', tokenURL: 'https://vnfm/token'}\n", []string{"inventory.sol003", "tokenURL, clientID and clientSecretFile together"}},
		{"sol003 callback without credentials", "inventory:\n  sol003: {apiRoot: 'https://vnfm', callbackURL: 'https://vg:8443/sol003/notifications'}\n", []string{"inventory.sol003.callbackURL", "must be authenticated"}},
		{"sol003 apiRoot over plain HTTP", "inventory:\n  sol003:\n    apiRoot: http://vnfm:9890\n", []string{"line 3: inventory.sol003.apiRoot", "plain HTTP", "insecure: true"}},
		{"sol003 tokenURL over plain HTTP", "inventory:\n  sol003: {apiRoot: 'https://vnfm', tokenURL: 'http://vnfm/token', clientID: vg, clientSecretFile: s}\n", []string{"inventory.sol003.tokenURL", "plain HTTP"}},
		{"sol003 bad duration", "inventory:\n  sol003: {apiRoot: 'https://vnfm', resyncInterval: 5}\n", []string{"inventory.sol003.resyncInterval", "positive duration"}},
		{"bad reconcile for", "reconcile: {for: soon}\n", []string{"line 1: reconcile.for", "duration"}},
		{"provider without keys", "images:\n  signatures:\n    providers:\n      - {provider: Acme}\n", []string{"line 4: images.signatures.providers[0].publicKeys", "cosign public keys"}},
		{"bad vulnerability severity", "images:\n  vulnerabilities: {reports: [r.json], denyAt: SEVERE}\n", []string{"images.vulnerabilities.denyAt", `"SEVERE"`, "CRITICAL"}},
		{"bad admission mode", "admission: {mode: inline}\n", []string{"admission.mode", `"inline"`, "webhook, policies or both"}},
		{"bad policy messages", "admission: {mode: policies, policyMessages: verbose}\n", []string{"line 1: admission.policyMessages", `"verbose"`, "static or detailed"}},
		{"bad missing-report decision", "images:\n  vulnerabilities: {reports: [r.json], missingReport: ignore}\n", []string{"images.vulnerabilities.missingReport", "deny or allow"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("kind: Config\nprofiles: [{name: a, products: [x], allowCapabilities: [NET_ADMIN]}]\n"))
	f.Add([]byte("checks: {a: {mode: warn}}\nprotectedNamespaces: {selector: {matchLabels: {a: b}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// An empty configuration file (or one of comments only) is an error: the defaults come from leaving out --config.
func TestLoadEmptyFile(t *testing.T) {
	for name, data := range map[string]string{"empty.yaml": "", "comments.yaml": "# to do\n", "separator.yaml": "# to do\n---\n", "blank.yaml": "\n\n  \n"} {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "config "+path+": the file is empty") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSOL003InsecureAllowsHTTP: plain http:// for the VNFM is accepted only when the configuration says so.
func TestSOL003InsecureAllowsHTTP(t *testing.T) {
	doc := "inventory:\n  sol003: {apiRoot: 'http://127.0.0.1:9890', tokenURL: 'http://127.0.0.1:9890/token', clientID: vg, clientSecretFile: s, insecure: true}\n"
	cfg, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("insecure: true with http:// refused: %v", err)
	}
	if !cfg.Inventory.SOL003.Insecure {
		t.Error("insecure: true not decoded")
	}
}

func TestClusterName(t *testing.T) {
	cfg, err := Parse([]byte("clusterName: edge-east-1\n"))
	if err != nil || cfg.ClusterName != "edge-east-1" {
		t.Fatalf("clusterName edge-east-1: %v, %+v", err, cfg)
	}
	for _, bad := range []string{"Edge East", "edge_east", "-edge", strings.Repeat("a", 64)} {
		_, err := Parse([]byte("clusterName: '" + bad + "'\n"))
		if err == nil || !strings.Contains(err.Error(), "clusterName") || !strings.Contains(err.Error(), "DNS-1123") {
			t.Errorf("clusterName %q: %v, want an error naming the field and the rule", bad, err)
		}
	}
}

// The node agent's names follow vnfguard's own, as the Helm chart names them (<fullname>-node).
func TestSelfNodeAgent(t *testing.T) {
	for _, tc := range []struct {
		self   Self
		ds, sa string
	}{
		{Self{}, "vnfguard-node", "vnfguard-node"},
		{Default().Self, "vnfguard-node", "vnfguard-node"},
		{Self{Namespace: "security", Workload: "guard", ServiceAccount: "guard-sa"}, "guard-node", "guard-sa-node"},
	} {
		if ds, sa := tc.self.NodeAgent(); ds != tc.ds || sa != tc.sa {
			t.Errorf("%+v: NodeAgent() = %q, %q; want %q, %q", tc.self, ds, sa, tc.ds, tc.sa)
		}
	}
}
