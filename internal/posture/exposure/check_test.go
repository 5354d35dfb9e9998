package exposure

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

var now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// summary renders findings as sorted "rule=severity" lines.
func summary(fs []finding.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Rule+"="+f.Severity.String())
	}
	slices.Sort(out)
	return out
}

func TestCheckFixtures(t *testing.T) {
	for _, tt := range []struct {
		file, component, format string
		want                    []string
	}{
		{"apiserver-good.yaml", APIServer, FormatStaticPod, nil},
		{"apiserver-bad.yaml", APIServer, FormatStaticPod, []string{
			"exposure-apiserver-admission-always-admit=high",
			"exposure-apiserver-admission-node-restriction=medium",
			"exposure-apiserver-admission-pod-security=medium",
			"exposure-apiserver-admission-webhook-disabled=critical",
			"exposure-apiserver-anonymous-auth=critical",
			"exposure-apiserver-authorization-always-allow=critical",
			"exposure-apiserver-insecure-port=critical",
			"exposure-apiserver-kubelet-certificate-authority=medium",
			"exposure-apiserver-no-audit=medium",
			"exposure-apiserver-profiling=low",
			"exposure-apiserver-tls-min-version=medium",
		}},
		{"apiserver-defaults.flags", APIServer, FormatFlags, []string{
			"exposure-apiserver-admission-node-restriction=medium",
			"exposure-apiserver-anonymous-auth=critical",
			"exposure-apiserver-authorization-always-allow=critical",
			"exposure-apiserver-kubelet-certificate-authority=medium",
			"exposure-apiserver-no-audit=medium",
			"exposure-apiserver-profiling=low",
		}},
		{"apiserver-webhook-only.flags", APIServer, FormatFlags, []string{
			"exposure-apiserver-authorization-no-node=medium",
			"exposure-apiserver-authorization-no-rbac=medium",
		}},
		{"apiserver-audit-no-policy.flags", APIServer, FormatFlags, []string{
			"exposure-apiserver-authorization-always-allow=critical",
			"exposure-apiserver-insecure-port=high",
			"exposure-apiserver-no-audit=medium",
			"exposure-apiserver-tls-min-version=low",
		}},
		{"kubelet-good.yaml", Kubelet, FormatKubeletConfig, nil},
		{"kubelet-defaults.yaml", Kubelet, FormatKubeletConfig, nil},
		{"kubelet-bad.yaml", Kubelet, FormatKubeletConfig, []string{
			"exposure-kubelet-anonymous-auth=critical",
			"exposure-kubelet-authorization-always-allow=high",
			"exposure-kubelet-read-only-port=medium",
			"exposure-kubelet-serving-tls=low",
		}},
		{"kubelet-legacy.flags", Kubelet, FormatFlags, []string{
			"exposure-kubelet-anonymous-auth=critical",
			"exposure-kubelet-authorization-always-allow=high",
			"exposure-kubelet-read-only-port=medium",
			"exposure-kubelet-serving-tls=low",
		}},
		{"kubeadm-flags.env", Kubelet, FormatFlags, nil},
		{"kubelet-flags-bad.flags", Kubelet, FormatFlags, []string{
			"exposure-kubelet-anonymous-auth=high",
			"exposure-kubelet-read-only-port=medium",
		}},
		{"etcd-good.yaml", Etcd, FormatStaticPod, nil},
		{"etcd-bad.flags", Etcd, FormatFlags, []string{
			"exposure-etcd-client-cert-auth=critical",
			"exposure-etcd-peer-client-cert-auth=medium",
			"exposure-etcd-plain-http=critical",
		}},
		{"etcd-loopback.flags", Etcd, FormatFlags, []string{
			"exposure-etcd-peer-client-cert-auth=low",
			"exposure-etcd-trusted-ca=medium",
		}},
		{"etcd-config-bad.yaml", Etcd, FormatEtcdConfig, []string{
			"exposure-etcd-client-cert-auth=critical",
			"exposure-etcd-plain-http=critical",
		}},
		{"etcd-config-good.yaml", Etcd, FormatEtcdConfig, nil},
		{"docker-bad/daemon.json", Dockerd, FormatDaemonJSON, []string{"exposure-docker-tcp=critical"}},
		{"docker-good/daemon.json", Dockerd, FormatDaemonJSON, nil},
		{"dockerd-tls-no-verify.flags", Dockerd, FormatFlags, []string{"exposure-docker-tcp=high"}},
		{"skipped/kube-scheduler.yaml", Scheduler, FormatStaticPod, nil},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			cfg, err := Load([]string{path})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(cfg.Sources) != 1 {
				t.Fatalf("want one source, got %d (skipped %v)", len(cfg.Sources), cfg.Skipped)
			}
			s := cfg.Sources[0]
			if s.Component != tt.component || s.Format != tt.format {
				t.Errorf("detected %s/%s, want %s/%s", s.Component, s.Format, tt.component, tt.format)
			}
			got := Check(cfg, now)
			if g := summary(got); !slices.Equal(g, tt.want) {
				t.Errorf("findings:\n got %q\nwant %q", g, tt.want)
			}
			for _, f := range got {
				if f.Source != "posture" || f.Object.Kind != "Component" || f.Object.Name != tt.component || f.Evidence["file"] != path ||
					!f.Time.Equal(now) || f.ID == "" || !slices.Contains(f.Mitigations, finding.MitigationLimitNetworkAccess) {
					t.Errorf("malformed finding %+v", f)
				}
				if _, ok := finding.Techniques[f.Technique]; !ok {
					t.Errorf("%s: unknown technique %q", f.Rule, f.Technique)
				}
				if f.Evidence["flag"] == "" && f.Evidence["field"] == "" {
					t.Errorf("%s: no flag or field in the evidence: %v", f.Rule, f.Evidence)
				}
			}
			if len(got) > 1 && got[0].Severity < got[len(got)-1].Severity {
				t.Error("findings must come most severe first")
			}
		})
	}
}

// TestIDsAreUnique loads every fixture at once: no two findings share an ID, and loading twice gives the same IDs.
func TestIDsAreUnique(t *testing.T) {
	cfg, err := Load([]string{"testdata/apiserver-bad.yaml", "testdata/apiserver-defaults.flags", "testdata/kubelet-bad.yaml",
		"testdata/kubelet-legacy.flags", "testdata/etcd-bad.flags", "testdata/docker-bad", "testdata/dockerd-tls-no-verify.flags",
		"testdata/apiserver-audit-no-policy.flags", "testdata/etcd-config-bad.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	first, again := Check(cfg, now), Check(cfg, now)
	seen := map[string]string{}
	for i, f := range first {
		if prev, dup := seen[f.ID]; dup {
			t.Errorf("%s and %s share ID %s", prev, f.Rule, f.ID)
		}
		seen[f.ID] = f.Rule + " " + f.Evidence["file"]
		if again[i].ID != f.ID {
			t.Errorf("IDs are not stable: %s", f.Rule)
		}
	}
	if len(first) < 25 {
		t.Errorf("only %d findings over the bad fixtures", len(first))
	}
}

// TestEvidenceLines checks that findings point at the line of the flag or field.
func TestEvidenceLines(t *testing.T) {
	cfg, err := Load([]string{"testdata/apiserver-bad.yaml", "testdata/kubelet-bad.yaml", "testdata/docker-bad/daemon.json", "testdata/etcd-bad.flags"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"exposure-apiserver-anonymous-auth":             "12",
		"exposure-apiserver-authorization-always-allow": "13",
		"exposure-apiserver-insecure-port":              "14",
		"exposure-apiserver-tls-min-version":            "18",
		"exposure-apiserver-admission-webhook-disabled": "17",
		"exposure-apiserver-admission-always-admit":     "16",
		"exposure-kubelet-anonymous-auth":               "7",
		"exposure-kubelet-authorization-always-allow":   "9",
		"exposure-kubelet-read-only-port":               "10",
		"exposure-docker-tcp":                           "5",
		"exposure-etcd-plain-http":                      "1",
	}
	seen := map[string]bool{}
	for _, f := range Check(cfg, now) {
		if line, ok := want[f.Rule]; ok {
			seen[f.Rule] = true
			if f.Evidence["line"] != line {
				t.Errorf("%s: line %q, want %s (evidence %v)", f.Rule, f.Evidence["line"], line, f.Evidence)
			}
			if !strings.Contains(f.Message, ":"+line+")") {
				t.Errorf("%s: message does not say where: %s", f.Rule, f.Message)
			}
		}
	}
	for rule := range want {
		if !seen[rule] {
			t.Errorf("no finding %s", rule)
		}
	}
}

func TestDefaultsAreSaid(t *testing.T) {
	cfg, err := Load([]string{"testdata/apiserver-defaults.flags"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Check(cfg, now) {
		if f.Rule == ruleAPIServerAnonymousAuth {
			if !strings.Contains(f.Message, "defaults to true") || f.Evidence["value"] != "(unset: default true)" {
				t.Errorf("an unset --anonymous-auth must say its default is true: %s %v", f.Message, f.Evidence)
			}
			return
		}
	}
	t.Error("no anonymous-auth finding for an unset flag")
}

func TestLoadErrorsAndSkips(t *testing.T) {
	cfg, err := Load([]string{"testdata/invalid", "testdata/skipped", "testdata/no-such-file"})
	if err == nil {
		t.Fatal("Load of invalid files must fail")
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %T", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"testdata/invalid/broken.yaml:4: not YAML",
		`testdata/invalid/deployment.yaml:1: unknown format: kind "Deployment"`,
		"testdata/invalid/unknown.flags:1: flags of an unknown component",
		`testdata/invalid/kubelet-v1alpha.yaml:1: KubeletConfiguration of apiVersion "kubelet.config.k8s.io/v1alpha1"`,
		"testdata/invalid/list.yaml:1: unknown format",
		"testdata/invalid/pod-bad-types.yaml:1: not a valid Pod",
		"testdata/no-such-file: cannot read",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Component != Scheduler {
		t.Errorf("the scheduler's static pod is read (no checks apply): %+v", cfg.Sources)
	}
	if len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0].Reason, "kube-system/haproxy") {
		t.Errorf("the haproxy static pod is skipped with a reason: %+v", cfg.Skipped)
	}
}

func TestFlagsParsing(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // name=value|... in order; a bare flag shows as name
	}{
		{"--a=1 --b 2 --profiling --c", "a=1|b=2|profiling|c"},
		{"-H tcp://x:1 -H=unix:///s --tlsverify", "host=tcp://x:1|host=unix:///s|tlsverify"},
		{`--x="a b" --y 'c d'`, "x=a b|y=c d"},
		{"stray --anonymous-auth false", "anonymous-auth"},
		{"-- --=x", ""},
	} {
		var words []word
		for _, w := range splitWords(tt.in) {
			words = append(words, word{text: w, line: 1})
		}
		var got []string
		for _, f := range parseWords(words) {
			if f.HasValue {
				got = append(got, f.Name+"="+f.Value)
			} else {
				got = append(got, f.Name)
			}
		}
		if g := strings.Join(got, "|"); g != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, g, tt.want)
		}
	}
	fs := Flags{{Name: "m", Value: "A,B", HasValue: true, Line: 1}, {Name: "m", Value: "C", HasValue: true, Line: 2}, {Name: "b", Value: "maybe", HasValue: true}}
	if v, _, _ := fs.List("m"); !slices.Equal(v, []string{"A", "B", "C"}) {
		t.Errorf("List appends repeated flags: %v", v)
	}
	if f, _ := fs.Get("m"); f.Value != "C" {
		t.Error("Get returns the last occurrence")
	}
	if _, _, ok := fs.Bool("b", false); ok {
		t.Error("a non-boolean value must be reported")
	}
}

// FuzzParse feeds any bytes to the format detection and every parser: an error, never a panic.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"apiserver-bad.yaml", "kubelet-bad.yaml", "etcd-config-bad.yaml", "docker-bad/daemon.json", "etcd-bad.flags", "kubeadm-flags.env", "invalid/broken.yaml"} {
		data, err := readLimited(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(file, data)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		src, skipped, err := Parse(name, data)
		if err == nil && skipped == "" {
			if src == nil {
				t.Fatal("no source, no reason, no error")
			}
			Check(&Config{Sources: []*Source{src}}, now)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != name {
				t.Fatalf("error without file: %v", err)
			}
		}
	})
}
