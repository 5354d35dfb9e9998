package vulngate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzParseTrivy feeds the Trivy decoder arbitrary bytes: it must return a report or an *Error, never panic, and a
// report it returns must be indexable and sorted worst first.
func FuzzParseTrivy(f *testing.F) {
	for _, name := range []string{"reports/clean.json", "reports/xz.json", "reports/unfixed.json", "bad/truncated.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"SchemaVersion": 2, "ArtifactName": "a@` + cleanDigest + `", "Results": [{"Vulnerabilities": [{"VulnerabilityID": "X", "CVSS": {"nvd": {"V3Score": 1e308}}}]}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseTrivy(data, "fuzz.json")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if r != nil {
				t.Fatal("a report with an error")
			}
			return
		}
		if !validDigest(r.Digest) || len(r.Refs) == 0 {
			t.Fatalf("report with digest %q, refs %v", r.Digest, r.Refs)
		}
		for i := 1; i < len(r.Vulnerabilities); i++ {
			if worse(r.Vulnerabilities[i-1], r.Vulnerabilities[i]) > 0 {
				t.Fatalf("vulnerabilities out of order at %d", i)
			}
		}
		g, err := NewGate(Policy{DenyAt: High}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		g.SetIndex(NewIndex([]*Report{r}))
		if res := g.Check(r.Refs[0], ""); res.Reason == ReasonMissing || res.Message == "" {
			t.Fatalf("own report not found: %+v", res)
		}
	})
}

// TestConcurrentReload checks while reloading, for the race detector.
func TestConcurrentReload(t *testing.T) {
	g := newTestGate(t, Policy{DenyAt: Critical})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if res := g.Check(xzDigest, ""); res.Allowed {
					t.Errorf("xz allowed during reload: %s", res.Message)
					return
				}
			}
		}()
	}
	for range 5 {
		if err := g.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// benchReports makes n reports of 20 vulnerabilities each, and their digests.
func benchReports(n int) ([]*Report, []string) {
	reports := make([]*Report, n)
	digests := make([]string, n)
	sev := []Severity{Low, Medium, High, Critical, Unknown}
	for i := range reports {
		d := fmt.Sprintf("sha256:%064x", i)
		digests[i] = d
		r := &Report{Source: fmt.Sprintf("reports/%d.json", i), Digest: d, Refs: []string{fmt.Sprintf("registry.example.com/5gc/vnf%d@%s", i, d)}, Scanned: checkTime.Add(-time.Hour)}
		for j := range 20 {
			r.Vulnerabilities = append(r.Vulnerabilities, Vulnerability{ID: fmt.Sprintf("CVE-2024-%d", j), Severity: sev[(i+j)%len(sev)], Package: "pkg", Installed: "1.0", Fixed: strings.Repeat("2", j%2)})
		}
		r.finish()
		reports[i] = r
	}
	return reports, digests
}

// BenchmarkCheck checks images against indexes of 100 and 10 000 reports: the time is a map lookup and the walk
// of one report's vulnerabilities, so it should not grow with the index.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("reports=%d", n), func(b *testing.B) {
			reports, digests := benchReports(n)
			g, err := NewGate(Policy{DenyAt: Critical, MaxCount: map[Severity]int{High: 10}, IgnoreUnfixed: true, Allow: []string{"CVE-2024-3"}}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			g.SetIndex(NewIndex(reports))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if res := g.Check(digests[i%n], "registry.example.com/5gc/vnf"); res.Reason == ReasonMissing {
					b.Fatal(res.Message)
				}
				i++
			}
		})
	}
}

// BenchmarkLookup is the index lookup alone, over 10 000 reports.
func BenchmarkLookup(b *testing.B) {
	const n = 10000
	reports, digests := benchReports(n)
	ix := NewIndex(reports)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := ix.Lookup(digests[i%n], "registry.example.com/5gc/vnf"); !ok {
			b.Fatal("not found")
		}
		i++
	}
}

// BenchmarkBuild reads the fixtures, for the cost of a reload.
func BenchmarkBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build([]string{"testdata/reports"}, nil, quiet); err != nil {
			b.Fatal(err)
		}
	}
}
