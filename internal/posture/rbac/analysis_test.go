package rbac

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/manifest"
)

// vnfNamespaces is the fixtures' notion of protection: the namespaces of the VNFs.
func vnfNamespaces(ns string) bool { return strings.HasPrefix(ns, "vnf-") }

// load reads a fixture from testdata/ into an Input.
func load(t testing.TB, file string) Input {
	t.Helper()
	objs, err := manifest.ReadFiles([]string{filepath.Join("testdata", file)})
	if err != nil {
		t.Fatal(err)
	}
	typed := make([]runtime.Object, len(objs))
	for i, o := range objs {
		typed[i] = o.Object
	}
	return FromObjects(typed, vnfNamespaces)
}

func grantLines(gs []Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, Identity(g.Subject)+" via "+g.Binding.String())
	}
	return out
}

func findingLine(f finding.Finding) string {
	return fmt.Sprintf("%s %s %s %s", f.Severity, f.Rule, f.Identity, f.Object)
}

type whoCan struct {
	verb, resource, sub, name, ns string
	want                          []string
}

type evidence struct {
	rule, identity, key, contains string
}

func TestAnalyzeFixtures(t *testing.T) {
	tests := []struct {
		name, file string
		whoCan     []whoCan
		// findings must all be present (severity rule identity object); absent are substrings of
		// "rule identity" that no finding may carry; messages are substrings some finding's message must hold.
		findings []string
		absent   []string
		messages []string
		evidence []evidence
		// rules counts the effective rules of roles ("ClusterRole super"), aggregation resolved.
		rules map[Ref]int
	}{
		{
			name: "aggregated ClusterRoles, nested, exported empty or filled", file: "aggregation.yaml",
			whoCan: []whoCan{
				{verb: "get", resource: "pods", sub: "exec", ns: "vnf-upf", want: []string{"User bob via RoleBinding vnf-upf/bob-operator", "User carol via ClusterRoleBinding carol-super"}},
				{verb: "list", resource: "pods", ns: "vnf-upf", want: []string{"User bob via RoleBinding vnf-upf/bob-operator", "User carol via ClusterRoleBinding carol-super"}},
				{verb: "get", resource: "secrets", ns: "vnf-upf", want: []string{"User carol via ClusterRoleBinding carol-super"}},
				{verb: "get", resource: "secrets", want: []string{"User carol via ClusterRoleBinding carol-super"}},
				{verb: "get", resource: "nodes", sub: "proxy"},
				{verb: "delete", resource: "pods", ns: "vnf-upf"},
			},
			findings: []string{
				"high rbac-exec User bob RoleBinding vnf-upf/bob-operator",
				"high rbac-exec User carol ClusterRoleBinding carol-super",
				"medium rbac-read-secrets User carol ClusterRoleBinding carol-super",
			},
			absent:   []string{"rbac-read-secrets User bob", "rbac-node-proxy"},
			messages: []string{"User bob can exec into, attach to or port-forward to pods of protected namespace vnf-upf, through RoleBinding vnf-upf/bob-operator → ClusterRole vnf-operator"},
			rules:    map[Ref]int{{Kind: "ClusterRole", Name: "super"}: 3, {Kind: "ClusterRole", Name: "vnf-operator"}: 2, {Kind: "ClusterRole", Name: "unlabelled"}: 1},
		},
		{
			name: "wildcards as Kubernetes matches them", file: "wildcards.yaml",
			whoCan: []whoCan{
				{verb: "get", resource: "pods", ns: "vnf-upf", want: []string{"User walt via RoleBinding vnf-upf/w1"}},
				{verb: "create", resource: "deployments", ns: "vnf-upf", want: []string{"User wanda via RoleBinding vnf-upf/w2", "User zoe via ClusterRoleBinding w5"}},
				{verb: "create", resource: "deployments.apps", ns: "vnf-smf", want: []string{"User zoe via ClusterRoleBinding w5"}},
				{verb: "create", resource: "statefulsets", ns: "vnf-upf", want: []string{"User wanda via RoleBinding vnf-upf/w2"}},
				{verb: "get", resource: "pods/exec", ns: "vnf-upf", want: []string{"User xena via ClusterRoleBinding w3"}},
				{verb: "get", resource: "pods", sub: "log", ns: "vnf-upf"},
			},
			findings: []string{
				"high rbac-wildcard User walt RoleBinding vnf-upf/w1",
				"medium rbac-create-workloads User walt RoleBinding vnf-upf/w1",
				"high rbac-wildcard User wanda RoleBinding vnf-upf/w2",
				"medium rbac-create-workloads User wanda RoleBinding vnf-upf/w2",
				"high rbac-exec User xena ClusterRoleBinding w3",
				"high rbac-wildcard User xena ClusterRoleBinding w3",
				"medium rbac-create-workloads User zoe ClusterRoleBinding w5",
			},
			absent: []string{"rbac-wildcard User zoe", "User yuri", "rbac-exec User walt"},
			evidence: []evidence{
				{rule: "rbac-wildcard", identity: "User walt", key: "capability", contains: "verbs *"},
				{rule: "rbac-wildcard", identity: "User xena", key: "capability", contains: "resources */exec"},
			},
		},
		{
			name: "resourceNames", file: "resourcenames.yaml",
			whoCan: []whoCan{
				{verb: "get", resource: "secrets", ns: "vnf-upf"},
				{verb: "get", resource: "secrets", name: "upf-keys", ns: "vnf-upf", want: []string{"User nina via RoleBinding vnf-upf/named"}},
				{verb: "get", resource: "secrets", name: "other", ns: "vnf-upf"},
				{verb: "create", resource: "pods", ns: "vnf-upf"},
				{verb: "get", resource: "pods/exec", name: "upf-0", ns: "vnf-upf", want: []string{"User nina via RoleBinding vnf-upf/named"}},
			},
			findings: []string{
				"low rbac-read-secrets User nina RoleBinding vnf-upf/named",
				"medium rbac-exec User nina RoleBinding vnf-upf/named",
			},
			absent:   []string{"rbac-create-workloads"},
			messages: []string{"(only on upf-keys)"},
			evidence: []evidence{{rule: "rbac-read-secrets", identity: "User nina", key: "resourceNames", contains: "upf-keys"}},
		},
		{
			name: "RoleBinding to a ClusterRole is scoped to its namespace", file: "scoping.yaml",
			whoCan: []whoCan{
				{verb: "create", resource: "pods", sub: "exec", ns: "vnf-upf", want: []string{"User dave via RoleBinding vnf-upf/dave-exec", "User erin via ClusterRoleBinding erin-exec"}},
				{verb: "create", resource: "pods", sub: "exec", ns: "vnf-smf", want: []string{"User erin via ClusterRoleBinding erin-exec"}},
				{verb: "create", resource: "pods", sub: "exec", ns: "tools", want: []string{"User erin via ClusterRoleBinding erin-exec", "User gina via RoleBinding tools/gina-exec"}},
				{verb: "create", resource: "pods", sub: "exec", want: []string{"User erin via ClusterRoleBinding erin-exec"}},
				{verb: "get", resource: "nodes", sub: "proxy", want: []string{"User erin via ClusterRoleBinding erin-exec"}},
			},
			findings: []string{
				"high rbac-exec User dave RoleBinding vnf-upf/dave-exec",
				"high rbac-exec User erin ClusterRoleBinding erin-exec",
				"high rbac-node-proxy User erin ClusterRoleBinding erin-exec",
			},
			absent:   []string{"rbac-node-proxy User dave", "User gina"},
			messages: []string{"User erin can exec into, attach to or port-forward to pods in every namespace (protected namespaces vnf-smf, vnf-upf included)"},
			evidence: []evidence{{rule: "rbac-exec", identity: "User erin", key: "protectedNamespaces", contains: "vnf-smf,vnf-upf"}},
		},
		{
			name: "get on pods/exec is exec", file: "exec-get.yaml",
			whoCan: []whoCan{
				{verb: "get", resource: "pods", sub: "exec", ns: "vnf-upf", want: []string{"User frank via RoleBinding vnf-upf/frank-exec"}},
				{verb: "create", resource: "pods", sub: "exec", ns: "vnf-upf"},
				{verb: "patch", resource: "pods", sub: "ephemeralcontainers", ns: "vnf-upf", want: []string{"User frank via RoleBinding vnf-upf/frank-debug"}},
			},
			findings: []string{
				"high rbac-exec User frank RoleBinding vnf-upf/frank-exec",
				"high rbac-ephemeral-containers User frank RoleBinding vnf-upf/frank-debug",
			},
			evidence: []evidence{
				{rule: "rbac-exec", identity: "User frank", key: "note", contains: "WebSocket"},
				{rule: "rbac-exec", identity: "User frank", key: "capability", contains: "get pods/exec, get pods/attach"},
			},
		},
		{
			name: "anonymous and every authenticated identity", file: "anonymous.yaml",
			whoCan: []whoCan{
				{verb: "watch", resource: "secrets", ns: "vnf-smf", want: []string{"Group system:unauthenticated via ClusterRoleBinding anonymous-secrets", "User system:anonymous via ClusterRoleBinding anonymous-secrets"}},
				{verb: "create", resource: "pods", ns: "tools", want: []string{"Group system:authenticated via RoleBinding tools/everyone-creates"}},
			},
			findings: []string{
				"critical rbac-read-secrets User system:anonymous ClusterRoleBinding anonymous-secrets",
				"critical rbac-read-secrets Group system:unauthenticated ClusterRoleBinding anonymous-secrets",
				"critical rbac-create-workloads Group system:authenticated RoleBinding tools/everyone-creates",
			},
			messages: []string{"without credentials", "every authenticated identity"},
		},
		{
			name: "default service account and mounted tokens", file: "default-sa.yaml",
			whoCan: []whoCan{
				{verb: "create", resource: "pods", sub: "exec", ns: "vnf-upf", want: []string{"ServiceAccount vnf-upf/default via RoleBinding vnf-upf/default-exec"}},
				{verb: "list", resource: "secrets", ns: "vnf-upf", want: []string{"ServiceAccount vnf-upf/monitor via RoleBinding vnf-upf/vnfm-deploys", "ServiceAccount vnf-upf/vnfm via RoleBinding vnf-upf/vnfm-deploys"}},
			},
			findings: []string{
				"high rbac-exec ServiceAccount vnf-upf/default RoleBinding vnf-upf/default-exec",
				"medium rbac-create-workloads ServiceAccount vnf-upf/vnfm RoleBinding vnf-upf/vnfm-deploys",
				"medium rbac-read-secrets ServiceAccount vnf-upf/monitor RoleBinding vnf-upf/vnfm-deploys",
				"high rbac-mounted-token ServiceAccount vnf-upf/default ServiceAccount vnf-upf/default",
				"medium rbac-mounted-token ServiceAccount vnf-upf/vnfm ServiceAccount vnf-upf/vnfm",
			},
			absent:   []string{"rbac-mounted-token ServiceAccount vnf-upf/monitor"},
			messages: []string{"the token of ServiceAccount vnf-upf/default is mounted in pods upf-0 of protected namespace vnf-upf"},
			evidence: []evidence{
				{rule: "rbac-mounted-token", identity: "ServiceAccount vnf-upf/default", key: "pods", contains: "upf-0"},
				{rule: "rbac-mounted-token", identity: "ServiceAccount vnf-upf/vnfm", key: "pods", contains: "vnfm-0"},
			},
		},
		{
			name: "dangling bindings", file: "dangling.yaml",
			whoCan: []whoCan{{verb: "create", resource: "pods/exec", ns: "vnf-upf"}},
			findings: []string{
				"low rbac-dangling-binding User hank RoleBinding vnf-upf/to-missing-role",
				"low rbac-dangling-binding User hank ClusterRoleBinding to-missing-clusterrole",
			},
			absent:   []string{"rbac-exec"},
			messages: []string{"refers to Role vnf-upf/exists-elsewhere, which does not exist"},
		},
		{
			name: "Kubernetes components skipped, administrators low", file: "system.yaml",
			whoCan: []whoCan{
				{verb: "get", resource: "secrets", ns: "vnf-upf", want: []string{
					"Group system:masters via ClusterRoleBinding cluster-admin", "Group system:nodes via ClusterRoleBinding system:node",
					"ServiceAccount kube-system/tiller via ClusterRoleBinding tiller", "User ops via ClusterRoleBinding ops-admin",
					"User system:kube-controller-manager via ClusterRoleBinding system:kube-controller-manager",
					"User system:node:worker-1 via ClusterRoleBinding system:node",
				}},
			},
			findings: []string{
				"low rbac-wildcard Group system:masters ClusterRoleBinding cluster-admin",
				"low rbac-exec User ops ClusterRoleBinding ops-admin",
				"high rbac-wildcard ServiceAccount kube-system/tiller ClusterRoleBinding tiller",
				"high rbac-escalation ServiceAccount kube-system/tiller ClusterRoleBinding tiller",
				"high rbac-node-proxy ServiceAccount kube-system/tiller ClusterRoleBinding tiller",
			},
			absent:   []string{"system:kube-controller-manager", "system:nodes", "system:node:worker-1", "clusterrole-aggregation-controller"},
			messages: []string{"(cluster administrator)"},
		},
		{
			name: "too many administrators", file: "many-admins.yaml",
			findings: []string{
				"medium rbac-wildcard User a1 ClusterRoleBinding admins",
				"medium rbac-exec Group platform-team ClusterRoleBinding admins",
			},
			messages: []string{"(one of 6 cluster administrators: more than 5)"},
		},
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Analyze(load(t, tt.file))
			if len(a.Warnings) > 0 {
				t.Errorf("warnings: %v", a.Warnings)
			}
			for _, q := range tt.whoCan {
				var got []Grant
				if q.name == "" {
					got = a.WhoCan(q.verb, q.resource, q.sub, q.ns)
				} else {
					res, group := ParseResource(q.resource)
					sub := q.sub
					if r, s, ok := strings.Cut(res, "/"); ok {
						res, sub = r, s
					}
					got = a.WhoCanRequest(Request{Verb: q.verb, APIGroup: group, Resource: res, Subresource: sub, Name: q.name, Namespace: q.ns})
				}
				if lines := grantLines(got); !slices.Equal(lines, q.want) {
					t.Errorf("WhoCan(%s %s/%s name=%q ns=%q) =\n  %q\nwant\n  %q", q.verb, q.resource, q.sub, q.name, q.ns, lines, q.want)
				}
				for _, g := range got {
					if g.Namespace != "" && g.Namespace != q.ns {
						t.Errorf("grant %v holds in %q, asked about %q", g, g.Namespace, q.ns)
					}
					if len(g.Rule.Verbs) == 0 {
						t.Errorf("grant %v has no rule", g)
					}
				}
			}
			fs := a.Findings(now)
			var lines []string
			ids := map[string]bool{}
			for _, f := range fs {
				lines = append(lines, findingLine(f))
				if f.Source != Source || f.Time != now || f.Message == "" || !slices.Contains(f.Mitigations, finding.MitigationUserAccounts) {
					t.Errorf("malformed finding %+v", f)
				}
				if _, ok := finding.Techniques[f.Technique]; !ok {
					t.Errorf("finding %s: unknown technique %q", findingLine(f), f.Technique)
				}
				if f.ID != FindingID(f) || ids[f.ID] {
					t.Errorf("finding %s: ID %s not its key or not unique", findingLine(f), f.ID)
				}
				ids[f.ID] = true
			}
			for _, want := range tt.findings {
				if !slices.Contains(lines, want) {
					t.Errorf("missing finding %q; have:\n  %s", want, strings.Join(lines, "\n  "))
				}
			}
			for _, f := range fs {
				for _, bad := range tt.absent {
					if strings.Contains(f.Rule+" "+f.Identity, bad) {
						t.Errorf("unexpected finding %s (%s)", findingLine(f), f.Message)
					}
				}
			}
			for _, m := range tt.messages {
				if !slices.ContainsFunc(fs, func(f finding.Finding) bool { return strings.Contains(f.Message, m) }) {
					t.Errorf("no finding says %q", m)
				}
			}
			for _, e := range tt.evidence {
				i := slices.IndexFunc(fs, func(f finding.Finding) bool { return f.Rule == e.rule && f.Identity == e.identity })
				if i < 0 {
					t.Errorf("no %s finding for %s", e.rule, e.identity)
				} else if !strings.Contains(fs[i].Evidence[e.key], e.contains) {
					t.Errorf("%s %s: evidence %s = %q, want it to contain %q", e.rule, e.identity, e.key, fs[i].Evidence[e.key], e.contains)
				}
			}
			for ref, n := range tt.rules {
				if got := a.EffectiveRules(ref); len(got) != n {
					t.Errorf("EffectiveRules(%s) = %d rules %v, want %d", ref, len(got), got, n)
				}
			}
		})
	}
}
