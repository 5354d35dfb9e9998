package vulngate

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const (
	cleanDigest    = "sha256:3b066804f6d1d077173cfe4d06002e6a61e6f21c2b2e648417962115f1afcd8e"
	xzDigest       = "sha256:8ec5e9e6f70bf1a0b5692ef948d1194bdb074342ed14045f9e84820367a98c6a"
	unfixedDigest  = "sha256:b8b6146ed6a8a8532e5a171c40ebafc5a15cf4fcd474318616a01ca7c1c51717"
	operatorDigest = "sha256:06e55b633481f7bb072957eabcf110c972e86691c3cfedabe088024bffe42f23"
	missingDigest  = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
)

// checkTime is when the tests check: the fixtures were scanned between 22:00 the day before and 08:00.
var checkTime = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// quiet drops the gate's logs, which would bury test output.
var quiet = slog.New(slog.DiscardHandler)

// newTestGate loads testdata/reports under a policy.
func newTestGate(t testing.TB, p Policy) *Gate {
	t.Helper()
	g, err := NewGate(p, quiet)
	if err != nil {
		t.Fatal(err)
	}
	g.now = func() time.Time { return checkTime }
	if err := g.Load([]string{"testdata/reports"}, nil); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCheckPolicies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		policy  Policy
		digest  string
		repo    string
		allowed bool
		reason  Reason
		counts  map[Severity]int // compared for the severities listed
		ignored int
		worst   []string // Vulnerability.String() of Result.Worst
		message []string // substrings of the message
	}{
		{
			name: "clean image passes", policy: Policy{DenyAt: Critical}, digest: cleanDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{Critical: 0, High: 0, Low: 0},
			message: []string{"passes the vulnerability policy", "CRITICAL=0", "report testdata/reports/clean.json", "scanned 2026-11-24T06:00:00Z (3h0m0s ago)"},
		},
		{
			name: "critical xz backdoor denied", policy: Policy{DenyAt: Critical}, digest: xzDigest, repo: "docker.io/vnfvendor/upf",
			allowed: false, reason: ReasonSeverity, counts: map[Severity]int{Critical: 2, High: 1, Medium: 2, Low: 1, Unknown: 0},
			worst: []string{
				"CVE-2024-3094 CRITICAL liblzma5 5.6.0-0.2 → 5.6.1+really5.4.5-1",
				"CVE-2024-3094 CRITICAL xz-utils 5.6.0-0.2 → 5.6.1+really5.4.5-1",
				"CVE-2023-4911 HIGH libc6 2.37-12 → 2.37-13",
			},
			message: []string{
				"image docker.io/vnfvendor/upf@" + xzDigest + " has 2 vulnerabilities at or above CRITICAL: CVE-2024-3094 CRITICAL liblzma5",
				"counts CRITICAL=2 HIGH=1 MEDIUM=2 LOW=1 UNKNOWN=0", "report testdata/reports/xz.json", "(1h30m0s ago)",
			},
		},
		{
			name: "accepted CVE is ignored", policy: Policy{DenyAt: Critical, Allow: []string{"cve-2024-3094"}}, digest: xzDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{Critical: 0, High: 1}, ignored: 2,
			worst:   []string{"CVE-2023-4911 HIGH libc6 2.37-12 → 2.37-13", "CVE-2023-45288 MEDIUM golang.org/x/net v0.17.0 → 0.23.0", "CVE-2023-50495 MEDIUM libtinfo6 6.4+20240113-1 → no fix"},
			message: []string{"2 ignored (accepted or unfixed)"},
		},
		{
			name: "unfixed HIGHs denied at HIGH", policy: Policy{DenyAt: High}, digest: unfixedDigest,
			allowed: false, reason: ReasonSeverity, counts: map[Severity]int{High: 2, Low: 1},
			// The score orders vulnerabilities of one severity that are equally (un)fixed.
			worst:   []string{"CVE-2024-26130 HIGH python3-cryptography 3.4.8-1ubuntu2.1 → no fix", "CVE-2022-3219 HIGH gpgv 2.2.27-3ubuntu2.1 → no fix", "CVE-2016-2781 LOW coreutils 8.32-4.1ubuntu1.2 → 8.32-4.1ubuntu1.3"},
			message: []string{"has 2 vulnerabilities at or above HIGH"},
		},
		{
			name: "unfixed HIGHs ignored with IgnoreUnfixed", policy: Policy{DenyAt: High, IgnoreUnfixed: true}, digest: unfixedDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{High: 0, Low: 1}, ignored: 2,
			worst: []string{"CVE-2016-2781 LOW coreutils 8.32-4.1ubuntu1.2 → 8.32-4.1ubuntu1.3"},
		},
		{
			name: "IgnoreUnfixed does not hide a fixable CRITICAL", policy: Policy{DenyAt: Critical, IgnoreUnfixed: true}, digest: xzDigest,
			allowed: false, reason: ReasonSeverity, counts: map[Severity]int{Critical: 2, Medium: 1, Low: 0}, ignored: 2,
		},
		{
			name: "more HIGHs than MaxCount", policy: Policy{MaxCount: map[Severity]int{High: 1}}, digest: unfixedDigest,
			allowed: false, reason: ReasonCount, counts: map[Severity]int{High: 2},
			message: []string{"has 2 HIGH vulnerabilities, more than the 1 allowed"},
		},
		{
			name: "as many HIGHs as MaxCount", policy: Policy{MaxCount: map[Severity]int{High: 2}}, digest: unfixedDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{High: 2},
		},
		{
			name: "MaxCount counts one severity only", policy: Policy{MaxCount: map[Severity]int{Medium: 1}}, digest: xzDigest,
			allowed: false, reason: ReasonCount, counts: map[Severity]int{Medium: 2},
			message: []string{"has 2 MEDIUM vulnerabilities, more than the 1 allowed"},
		},
		{
			name: "MaxCount skips ignored vulnerabilities", policy: Policy{MaxCount: map[Severity]int{Medium: 1}, IgnoreUnfixed: true}, digest: xzDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{Medium: 1}, ignored: 2,
		},
		{
			name: "MaxCount zero denies any", policy: Policy{MaxCount: map[Severity]int{Low: 0}}, digest: unfixedDigest,
			allowed: false, reason: ReasonCount, counts: map[Severity]int{Low: 1},
		},
		{
			name: "DenyAt UNKNOWN denies any vulnerability", policy: Policy{DenyAt: Unknown}, digest: unfixedDigest,
			allowed: false, reason: ReasonSeverity, message: []string{"has 3 vulnerabilities at or above UNKNOWN"},
		},
		{
			name: "DenyAt UNKNOWN passes a clean image", policy: Policy{DenyAt: Unknown}, digest: cleanDigest,
			allowed: true, reason: ReasonPassed,
		},
		{
			name: "no threshold allows everything", policy: Policy{}, digest: xzDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{Critical: 2},
		},
		{
			name: "missing report denied", policy: Policy{DenyAt: Critical, MissingReport: Deny}, digest: missingDigest, repo: "registry.example.com/5gc/nrf",
			allowed: false, reason: ReasonMissing,
			message: []string{"no vulnerability report was found for image digest " + missingDigest + " (registry.example.com/5gc/nrf@" + missingDigest + "); denied"},
		},
		{
			name: "missing report allowed", policy: Policy{MissingReport: Allow}, digest: missingDigest,
			allowed: true, reason: ReasonMissing, message: []string{"no vulnerability report was found for image digest " + missingDigest, "allowed by the policy"},
		},
		{
			name: "image by tag has no report", policy: Policy{MissingReport: Deny}, digest: "registry.example.com/5gc/upf:2.3.0",
			allowed: false, reason: ReasonMissing, message: []string{`image "registry.example.com/5gc/upf:2.3.0" is not pinned by a sha256 digest`, "; denied by the policy"},
		},
		{
			name: "VulnerabilityReport denied at HIGH", policy: Policy{DenyAt: High}, digest: "registry.example.com/5gc/upf@" + operatorDigest,
			allowed: false, reason: ReasonSeverity, counts: map[Severity]int{High: 2, Low: 1},
			worst:   []string{"CVE-2024-6387 HIGH openssh-client 1:9.2p1-2+deb12u2 → 1:9.2p1-2+deb12u3", "CVE-2023-4911 HIGH libc6 2.36-9+deb12u1 → 2.36-9+deb12u3", "CVE-2011-3374 LOW apt 2.6.1-2 → no fix"},
			message: []string{"report testdata/reports/vulnerabilityreport.yaml:2 (document 1) (VulnerabilityReport vnf-upf/replicaset-upf-6d4cf56db6-upf)", "(1h0m0s ago)"},
		},
		{
			name: "VulnerabilityReport passes at CRITICAL", policy: Policy{DenyAt: Critical}, digest: operatorDigest,
			allowed: true, reason: ReasonPassed, counts: map[Severity]int{High: 2},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGate(t, tt.policy)
			res := g.Check(tt.digest, tt.repo)
			if res.Allowed != tt.allowed || res.Reason != tt.reason {
				t.Fatalf("Check = allowed %v, reason %s, want %v, %s; message: %s", res.Allowed, res.Reason, tt.allowed, tt.reason, res.Message)
			}
			for s, want := range tt.counts {
				if got := res.Counts[s]; got != want {
					t.Errorf("Counts[%s] = %d, want %d", s, got, want)
				}
			}
			if res.Ignored != tt.ignored {
				t.Errorf("Ignored = %d, want %d", res.Ignored, tt.ignored)
			}
			if tt.worst != nil {
				var got []string
				for _, v := range res.Worst {
					got = append(got, v.String())
				}
				if strings.Join(got, "\n") != strings.Join(tt.worst, "\n") {
					t.Errorf("Worst =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.worst, "\n"))
				}
			}
			for _, want := range tt.message {
				if !strings.Contains(res.Message, want) {
					t.Errorf("message %q\ndoes not contain %q", res.Message, want)
				}
			}
			if tt.reason == ReasonMissing {
				if res.Source != "" || res.Counts != nil {
					t.Errorf("missing report: Source %q, Counts %v, want none", res.Source, res.Counts)
				}
			} else if res.Source == "" || res.Scanned.IsZero() || res.Age <= 0 {
				t.Errorf("Source %q, Scanned %v, Age %v: want the report's", res.Source, res.Scanned, res.Age)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy Policy
		want   string // "" for valid
	}{
		{"empty", Policy{}, ""},
		{"full", Policy{DenyAt: Critical, MaxCount: map[Severity]int{High: 3, Medium: 0}, IgnoreUnfixed: true, Allow: []string{"CVE-2024-3094"}, MissingReport: Allow}, ""},
		{"bad denyAt", Policy{DenyAt: 9}, "denyAt: Severity(9) is not a severity"},
		{"negative max", Policy{MaxCount: map[Severity]int{High: -1}}, "maxCount[HIGH]: -1 is negative"},
		{"max of none", Policy{MaxCount: map[Severity]int{SeverityNone: 1}}, "maxCount: NONE is not a severity"},
		{"bad decision", Policy{MissingReport: 7}, "missingReport: Decision(7)"},
		{"empty allow", Policy{Allow: []string{"CVE-1", " "}}, "allow[1]: empty vulnerability ID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if _, err := NewGate(tt.policy, nil); err != nil {
					t.Fatalf("NewGate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			if _, err := NewGate(tt.policy, nil); err == nil {
				t.Fatal("NewGate accepted an invalid policy")
			}
		})
	}
}

func TestPolicyText(t *testing.T) {
	var s Severity
	if err := s.UnmarshalText([]byte("critical")); err != nil || s != Critical {
		t.Fatalf("UnmarshalText(critical) = %v, %v", s, err)
	}
	if err := s.UnmarshalText([]byte("urgent")); err == nil || !strings.Contains(err.Error(), "UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL") {
		t.Fatalf("UnmarshalText(urgent) = %v", err)
	}
	var d Decision
	if err := d.UnmarshalText([]byte("Allow")); err != nil || d != Allow {
		t.Fatalf("UnmarshalText(Allow) = %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("maybe")); err == nil {
		t.Fatal("UnmarshalText(maybe) accepted")
	}
	// Configuration files spell the policy with names.
	var p Policy
	if err := json.Unmarshal([]byte(`{"denyAt": "HIGH", "maxCount": {"medium": 3, "LOW": 10}, "ignoreUnfixed": true, "allow": ["CVE-2024-3094"], "missingReport": "allow"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.DenyAt != High || p.MaxCount[Medium] != 3 || p.MaxCount[Low] != 10 || !p.IgnoreUnfixed || p.MissingReport != Allow || len(p.Allow) != 1 {
		t.Fatalf("policy read as %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil || !strings.Contains(string(out), `"maxCount":{"LOW":10,"MEDIUM":3}`) || !strings.Contains(string(out), `"missingReport":"allow"`) {
		t.Fatalf("policy written as %s, %v", out, err)
	}
	for s, want := range map[Severity]string{Critical: "critical", High: "high", Unknown: "info", SeverityNone: "info"} {
		if got := s.Finding().String(); got != want {
			t.Errorf("%s.Finding() = %s, want %s", s, got, want)
		}
	}
}
