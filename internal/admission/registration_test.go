package admission

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testCA is a fixed PEM CA for the golden files (not a usable certificate; the registration only carries it).
const testCA = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n"

func mustConfig(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func webhookNames(vwc *admissionregistrationv1.ValidatingWebhookConfiguration) []string {
	var names []string
	for _, w := range vwc.Webhooks {
		names = append(names, w.Name)
	}
	return names
}

// selects evaluates a namespace selector against a namespace with the given name and labels, the way the API
// server does (it sets kubernetes.io/metadata.name on every namespace).
func selects(t *testing.T, sel *metav1.LabelSelector, name string, nsLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	set := labels.Set{NamespaceNameLabel: name}
	for k, v := range nsLabels {
		set[k] = v
	}
	return s.Matches(set)
}

func TestWebhookConfigurationCoverage(t *testing.T) {
	protectedLabel := map[string]string{"vnfguard.io/protected": "true"}
	tests := []struct {
		name      string
		config    string // "" is config.Default()
		wantHooks []string
		// Namespaces and the webhooks that must see them.
		namespaces []struct {
			name   string
			labels map[string]string
			hooks  []string
		}
	}{
		{
			name:      "default selector",
			wantHooks: []string{ProtectedWebhook, ClusterWebhook, HostAccessWebhook, VolumesWebhook, NamespacesWebhook, KubeletWebhook},
			namespaces: []struct {
				name   string
				labels map[string]string
				hooks  []string
			}{
				{"vnf-upf", protectedLabel, []string{ProtectedWebhook}},
				{"default", nil, []string{ClusterWebhook, HostAccessWebhook}},
				{"team-a", map[string]string{"vnfguard.io/protected": "false"}, []string{ClusterWebhook, HostAccessWebhook}},
				{"kube-system", nil, []string{VolumesWebhook}},
			},
		},
		{
			name:      "names only",
			config:    "protectedNamespaces: {names: [vnf-upf, vnf-amf, vnf-upf]}",
			wantHooks: []string{ProtectedWebhook, ClusterWebhook, HostAccessWebhook, VolumesWebhook, NamespacesWebhook, KubeletWebhook},
			namespaces: []struct {
				name   string
				labels map[string]string
				hooks  []string
			}{
				{"vnf-upf", nil, []string{ProtectedWebhook}},
				{"vnf-amf", nil, []string{ProtectedWebhook}},
				{"default", protectedLabel, []string{ClusterWebhook, HostAccessWebhook}},
				{"kube-system", nil, []string{VolumesWebhook}},
			},
		},
		{
			name:      "selector and names",
			config:    "protectedNamespaces: {names: [core], selector: {matchExpressions: [{key: tier, operator: In, values: [5gc, ran]}]}}",
			wantHooks: []string{ProtectedWebhook, ProtectedNamesWebhook, ClusterWebhook, HostAccessWebhook, VolumesWebhook, NamespacesWebhook, KubeletWebhook},
			namespaces: []struct {
				name   string
				labels map[string]string
				hooks  []string
			}{
				{"vnf-smf", map[string]string{"tier": "5gc"}, []string{ProtectedWebhook}},
				{"core", nil, []string{ProtectedNamesWebhook}},
				{"apps", map[string]string{"tier": "web"}, []string{ClusterWebhook, HostAccessWebhook}},
				{"kube-system", map[string]string{"tier": "infra"}, []string{VolumesWebhook}},
			},
		},
		{
			// Two requirements cannot be negated in one selector: protected namespaces get both webhooks.
			name:      "multi-requirement selector overlaps",
			config:    "protectedNamespaces: {selector: {matchLabels: {vnfguard.io/protected: \"true\", site: edge}}}",
			wantHooks: []string{ProtectedWebhook, ClusterWebhook, HostAccessWebhook, VolumesWebhook, NamespacesWebhook, KubeletWebhook},
			namespaces: []struct {
				name   string
				labels map[string]string
				hooks  []string
			}{
				{"vnf-upf", map[string]string{"vnfguard.io/protected": "true", "site": "edge"}, []string{ProtectedWebhook, ClusterWebhook, HostAccessWebhook}},
				{"vnf-lab", protectedLabel, []string{ClusterWebhook, HostAccessWebhook}},
				{"kube-system", nil, []string{VolumesWebhook}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			if tt.config != "" {
				cfg = mustConfig(t, tt.config)
			}
			vwc := WebhookConfiguration(RegistrationOptions{Config: cfg, URL: "https://127.0.0.1:8443", CABundle: []byte(testCA)})
			if got := webhookNames(vwc); !slices.Equal(got, tt.wantHooks) {
				t.Fatalf("webhooks %v, want %v", got, tt.wantHooks)
			}
			for _, ns := range tt.namespaces {
				var got []string
				for _, w := range vwc.Webhooks {
					if selects(t, w.NamespaceSelector, ns.name, ns.labels) {
						got = append(got, w.Name)
					}
				}
				if !slices.Equal(got, ns.hooks) {
					t.Errorf("namespace %s %v is seen by %v, want %v", ns.name, ns.labels, got, ns.hooks)
				}
				// The policy's own idea of "protected" must agree with the Fail webhooks (host-access.vnfguard.io
				// fails closed only for pods that ask for the node, everywhere).
				failing := false
				for _, w := range vwc.Webhooks {
					if w.Name != HostAccessWebhook && *w.FailurePolicy == admissionregistrationv1.Fail && selects(t, w.NamespaceSelector, ns.name, ns.labels) {
						failing = true
					}
				}
				if ns.name != "kube-system" && failing != cfg.IsProtected(ns.name, ns.labels) {
					t.Errorf("namespace %s: covered by a Fail webhook = %v, but config.IsProtected = %v", ns.name, failing, !failing)
				}
			}
		})
	}
}

func TestWebhookConfigurationCommon(t *testing.T) {
	vwc := WebhookConfiguration(RegistrationOptions{Config: config.Default(), URL: "https://127.0.0.1:8443", CABundle: []byte(testCA)})
	if vwc.APIVersion != "admissionregistration.k8s.io/v1" || vwc.Kind != "ValidatingWebhookConfiguration" || vwc.Name != "vnfguard" {
		t.Errorf("header %s %s %s", vwc.APIVersion, vwc.Kind, vwc.Name)
	}
	wantFailure := map[string]admissionregistrationv1.FailurePolicyType{ProtectedWebhook: admissionregistrationv1.Fail, ClusterWebhook: admissionregistrationv1.Ignore,
		HostAccessWebhook: admissionregistrationv1.Fail, VolumesWebhook: admissionregistrationv1.Fail}
	// Every resource/subresource the policy needs, with its operations.
	wantRules := map[string]string{
		"/pods": "CREATE,UPDATE", "/pods/exec": "CONNECT", "/pods/attach": "CONNECT", "/pods/portforward": "CONNECT",
		"/pods/ephemeralcontainers": "UPDATE",
		"/replicationcontrollers":   "CREATE,UPDATE", "/replicationcontrollers/scale": "UPDATE",
		"apps/deployments": "CREATE,UPDATE", "apps/statefulsets": "CREATE,UPDATE", "apps/daemonsets": "CREATE,UPDATE", "apps/replicasets": "CREATE,UPDATE",
		"apps/deployments/scale": "UPDATE", "apps/statefulsets/scale": "UPDATE", "apps/replicasets/scale": "UPDATE",
		"batch/jobs": "CREATE,UPDATE", "batch/cronjobs": "CREATE,UPDATE",
		"snapshot.storage.k8s.io/volumesnapshots": "CREATE",
		"/persistentvolumeclaims":                 "CREATE",
	}
	// volumes.vnfguard.io: claims (of kube-system) and the hand-over of cluster-scoped volumes.
	wantVolumeRules := map[string]string{"/persistentvolumeclaims": "CREATE", "/persistentvolumes": "UPDATE"}
	for _, w := range vwc.Webhooks {
		if w.Name == NamespacesWebhook || w.Name == KubeletWebhook {
			continue // TestNamespacesWebhook, TestKubeletWebhook
		}
		if *w.FailurePolicy != wantFailure[w.Name] {
			t.Errorf("%s: failurePolicy %s, want %s", w.Name, *w.FailurePolicy, wantFailure[w.Name])
		}
		if *w.SideEffects != admissionregistrationv1.SideEffectClassNone || *w.MatchPolicy != admissionregistrationv1.Equivalent ||
			*w.TimeoutSeconds != 5 || !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
			t.Errorf("%s: sideEffects %s matchPolicy %s timeout %d versions %v", w.Name, *w.SideEffects, *w.MatchPolicy, *w.TimeoutSeconds, w.AdmissionReviewVersions)
		}
		if w.ObjectSelector != nil {
			t.Errorf("%s: objectSelector set; it does not apply to CONNECT", w.Name)
		}
		wantConditions := 3
		switch w.Name {
		case ClusterWebhook: // and not the pods host-access.vnfguard.io judges
			wantConditions = 4
			if c := w.MatchConditions[3]; c.Expression != "!("+HostAccessCondition+")" {
				t.Errorf("%s: last matchCondition %+v, want not host access", w.Name, c)
			}
		case HostAccessWebhook:
			wantConditions = 4
			if c := w.MatchConditions[3]; c.Expression != HostAccessCondition {
				t.Errorf("%s: last matchCondition %+v, want host access", w.Name, c)
			}
		}
		if len(w.MatchConditions) != wantConditions || w.MatchConditions[0].Expression != "request.userInfo.username != 'system:apiserver'" {
			t.Errorf("%s: matchConditions %+v", w.Name, w.MatchConditions)
		}
		if w.ClientConfig.URL == nil || *w.ClientConfig.URL != "https://127.0.0.1:8443/validate" || string(w.ClientConfig.CABundle) != testCA {
			t.Errorf("%s: clientConfig %+v", w.Name, w.ClientConfig)
		}
		got := map[string]string{}
		want := wantRules
		switch w.Name {
		case VolumesWebhook:
			want = wantVolumeRules
		case HostAccessWebhook:
			want = map[string]string{"/pods": "CREATE"}
		}
		for _, r := range w.Rules {
			scope := admissionregistrationv1.NamespacedScope
			if slices.Contains(r.Resources, "persistentvolumes") {
				scope = admissionregistrationv1.ClusterScope
			}
			if !slices.Equal(r.APIVersions, []string{"v1"}) || r.Scope == nil || *r.Scope != scope {
				t.Errorf("%s: rule %+v: want v1, %s", w.Name, r, scope)
			}
			var ops []string
			for _, op := range r.Operations {
				ops = append(ops, string(op))
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					got[g+"/"+res] = strings.Join(ops, ",")
				}
			}
		}
		for res, ops := range want {
			if got[res] != ops {
				t.Errorf("%s: %s has operations %q, want %q", w.Name, res, got[res], ops)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d resources registered, want %d: %v", w.Name, len(got), len(want), got)
		}
	}
}

func TestClientConfig(t *testing.T) {
	svc := func(s string) *ServiceReference {
		ref, err := ParseServiceReference(s)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	tests := []struct {
		name     string
		opts     RegistrationOptions
		wantURL  string
		wantSvc  string // ns/name:port path
		wantTime int32
	}{
		{"URL without path", RegistrationOptions{URL: "https://127.0.0.1:9443"}, "https://127.0.0.1:9443/validate", "", 5},
		{"URL with path", RegistrationOptions{URL: "https://vnfguard.example:443/hooks/v", TimeoutSeconds: 2}, "https://vnfguard.example:443/hooks/v", "", 2},
		{"service defaults", RegistrationOptions{Service: svc("vnfguard-system/vnfguard")}, "", "vnfguard-system/vnfguard:443 /validate", 5},
		{"service port and path", RegistrationOptions{Service: svc("sec/guard:8443/admit"), TimeoutSeconds: 10}, "", "sec/guard:8443 /admit", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CABundle = []byte(testCA)
			if err := tt.opts.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, w := range WebhookConfiguration(tt.opts).Webhooks {
				cc := w.ClientConfig
				if tt.wantURL != "" && (cc.URL == nil || *cc.URL != tt.wantURL || cc.Service != nil) {
					t.Errorf("%s: clientConfig %+v, want url %s", w.Name, cc, tt.wantURL)
				}
				if tt.wantSvc != "" {
					if cc.Service == nil || cc.URL != nil {
						t.Fatalf("%s: clientConfig %+v, want a service", w.Name, cc)
					}
					got := cc.Service.Namespace + "/" + cc.Service.Name + ":" + itoa(*cc.Service.Port) + " " + *cc.Service.Path
					if got != tt.wantSvc {
						t.Errorf("%s: service %s, want %s", w.Name, got, tt.wantSvc)
					}
				}
				if *w.TimeoutSeconds != tt.wantTime {
					t.Errorf("%s: timeout %d, want %d", w.Name, *w.TimeoutSeconds, tt.wantTime)
				}
			}
		})
	}
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

func TestRegistrationValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    RegistrationOptions
		wantErr string
	}{
		{"nothing", RegistrationOptions{CABundle: []byte(testCA)}, "give a URL or a Service"},
		{"both", RegistrationOptions{URL: "https://x", Service: &ServiceReference{Namespace: "a", Name: "b"}, CABundle: []byte(testCA)}, "not both"},
		{"http URL", RegistrationOptions{URL: "http://127.0.0.1:8443/validate", CABundle: []byte(testCA)}, "want https://HOST"},
		{"URL with query", RegistrationOptions{URL: "https://127.0.0.1:8443/validate?x=1", CABundle: []byte(testCA)}, "without user, query or fragment"},
		{"no CA", RegistrationOptions{URL: "https://127.0.0.1:8443"}, "empty caBundle"},
		{"CA not PEM", RegistrationOptions{URL: "https://127.0.0.1:8443", CABundle: []byte("hello")}, "no PEM certificate"},
		{"timeout", RegistrationOptions{URL: "https://127.0.0.1:8443", CABundle: []byte(testCA), TimeoutSeconds: 31}, "want 1 to 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseServiceReference(t *testing.T) {
	tests := []struct {
		in      string
		want    ServiceReference
		wantErr string
	}{
		{in: "ns/name", want: ServiceReference{Namespace: "ns", Name: "name"}},
		{in: "ns/name:8443", want: ServiceReference{Namespace: "ns", Name: "name", Port: 8443}},
		{in: "ns/name/validate", want: ServiceReference{Namespace: "ns", Name: "name", Path: "/validate"}},
		{in: "ns/name:443/a/b", want: ServiceReference{Namespace: "ns", Name: "name", Port: 443, Path: "/a/b"}},
		{in: "name", wantErr: "want NAMESPACE/NAME"},
		{in: "ns/", wantErr: "want NAMESPACE/NAME"},
		{in: "ns/:443", wantErr: "empty service name"},
		{in: "ns/name:http", wantErr: `port "http" is not a number`},
		{in: "ns/name:70000", wantErr: `port "70000" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseServiceReference(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || *got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestRenderGolden pins the whole output; run `go test -run RenderGolden -update` after an intended change.
func TestRenderGolden(t *testing.T) {
	opts := RegistrationOptions{Config: config.Default(), Service: &ServiceReference{Namespace: "vnfguard-system", Name: "vnfguard"}, CABundle: []byte(testCA)}
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			out, err := Render(WebhookConfiguration(opts), format)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Render(WebhookConfiguration(opts), format)
			if string(out) != string(again) {
				t.Fatal("rendering is not deterministic")
			}
			golden := filepath.Join("testdata", "webhook-config."+format)
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
			// What we print must load back as the same object (kubectl apply -f).
			var back admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(out, &back); err != nil {
				t.Fatalf("output does not load back: %v", err)
			}
			if len(back.Webhooks) != 6 || back.Webhooks[1].Name != ClusterWebhook || back.Webhooks[2].Name != HostAccessWebhook ||
				back.Webhooks[3].Name != VolumesWebhook || back.Webhooks[4].Name != NamespacesWebhook || back.Webhooks[5].Name != KubeletWebhook {
				t.Errorf("loaded back %v", webhookNames(&back))
			}
		})
	}
	if _, err := Render(WebhookConfiguration(opts), "xml"); err == nil || !strings.Contains(err.Error(), "want yaml or json") {
		t.Errorf("unknown format: %v", err)
	}
}
