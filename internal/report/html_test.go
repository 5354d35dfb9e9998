package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vnfguard/vnfguard/internal/headless"
)

// TestHTMLSelfContained checks the page's text: one file with no reference to anything outside it, no script, and
// the fixture's markup escaped.
func TestHTMLSelfContained(t *testing.T) {
	out := string(render(t, FormatHTML, loadScan(t)))
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Error("the page must carry no script element, and the fixture's <script> must be escaped")
	}
	if !strings.Contains(out, "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") {
		t.Error("the message's markup must appear escaped")
	}
	if strings.Contains(out, `<img id="injected"`) || strings.Contains(out, `<b id="injected"`) {
		t.Error("markup from the message or evidence reached the page unescaped")
	}
	// Every src/href points inside the page (data: or a fragment); the only URL in the document is in escaped text.
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("the page references %q", m[1])
		}
	}
	if !strings.Contains(out, `Content-Security-Policy" content="default-src &#39;none&#39;`) && !strings.Contains(out, `content="default-src 'none'`) {
		t.Error("the page must forbid scripts and fetches with a Content-Security-Policy")
	}
	for _, want := range []string{
		"Not bound to a VNF instance", "upf, STARTED", "smf, STOPPED", "Malicious VNF Instantiation", "Accessing Terminated VNF",
		"M1030", "Network Segmentation", "manifests/rbac.yaml", "amf, NOT_INSTANTIATED", "2026-11-24T08:00:00Z", "1.25s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if empty := string(render(t, FormatHTML, nil)); !strings.Contains(empty, `id="no-findings"`) {
		t.Error("an empty report says so")
	}
}

// TestHTMLInChromium renders the page in headless Chromium and reads what a person would see: the technique
// summary, an instance group with its findings, the unbound group last, and the markup in a message shown as text
// and never run. It also records every request the browser makes: only the page itself may be fetched.
func TestHTMLInChromium(t *testing.T) {
	r := loadScan(t)
	page := render(t, FormatHTML, r)

	var mu sync.Mutex
	var served []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		served = append(served, req.URL.Path)
		mu.Unlock()
		if req.URL.Path != "/report.html" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	defer srv.Close()
	pageURL := srv.URL + "/report.html"

	bctx, cancel := context.WithTimeout(headless.Start(t), 90*time.Second)
	defer cancel()

	var requested []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("listen to headless Chromium: %v", err)
	}

	type probeResult struct {
		Title         string     `json:"title"`
		Scripts       int        `json:"scripts"`
		Injected      int        `json:"injected"`
		Images        int        `json:"images"`
		Techniques    [][]string `json:"techniques"`
		Mitigations   [][]string `json:"mitigations"`
		Groups        []string   `json:"groups"`
		InstARules    []string   `json:"instARules"`
		InstASubjects []string   `json:"instASubjects"`
		Message       string     `json:"message"`
		Evidence      string     `json:"evidence"`
		Total         string     `json:"total"`
	}
	const probe = `(() => {
		const text = (el) => el ? el.textContent.replace(/\s+/g, ' ').trim() : null;
		const rows = (sel, key) => Array.from(document.querySelectorAll(sel)).map(r => [r.dataset[key], text(r.querySelector('td.count'))]);
		const instA = document.querySelector('section.instance[data-instance="inst-a"]');
		const priv = document.querySelector('tr.finding[data-id="f-med-priv"]');
		return {
			title: document.title,
			scripts: document.scripts.length,
			injected: document.querySelectorAll('#injected').length,
			images: document.images.length,
			techniques: rows('#techniques tr[data-technique]', 'technique'),
			mitigations: rows('#mitigations tr[data-mitigation]', 'mitigation'),
			groups: Array.from(document.querySelectorAll('section.instance h3')).map(text),
			instARules: instA ? Array.from(instA.querySelectorAll('tr.finding td.rule code')).map(text) : [],
			instASubjects: instA ? Array.from(instA.querySelectorAll('tr.finding td.subject')).map(text) : [],
			message: text(priv && priv.querySelector('td.message')),
			evidence: text(priv && priv.querySelector('td.evidence')),
			total: text(document.querySelector('#totals li[data-severity="total"]')),
		};
	})()`
	if err := chromedp.Do(bctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("#instances"))); err != nil {
		t.Fatalf("render %s in Chromium: %v", pageURL, err)
	}
	seen, err := chromedp.Run(bctx, chromedp.Evaluate[probeResult](probe))
	if err != nil {
		t.Fatalf("read the rendered page: %v", err)
	}

	if want := "vnfguard report: " + r.Target; seen.Title != want {
		t.Errorf("document.title = %q, want %q: the fixture's script must not run", seen.Title, want)
	}
	if seen.Scripts != 0 || seen.Injected != 0 || seen.Images != 0 {
		t.Errorf("injected markup became elements: %d scripts, %d #injected, %d images", seen.Scripts, seen.Injected, seen.Images)
	}
	if got := pairs(seen.Techniques); got != "FGT5013=3 FGT1609.501=2" {
		t.Errorf("technique summary = %s", got)
	}
	if got := pairs(seen.Mitigations); got != "M1018=2 M1026=2 M1030=1 M1038=1 M1047=1" {
		t.Errorf("mitigation summary = %s", got)
	}
	if len(seen.Groups) != 3 || seen.Groups[0] != "VNF instance inst-a — upf, STARTED (2)" || seen.Groups[1] != "VNF instance inst-b — smf, STOPPED (1)" ||
		!strings.HasPrefix(seen.Groups[2], "Not bound to a VNF instance") {
		t.Errorf("instance groups = %q", seen.Groups)
	}
	if strings.Join(seen.InstARules, " ") != "rbac-create-pods rbac-pods-exec" || strings.Join(seen.InstASubjects, " ") != "system:serviceaccount:vnf-a:deployer group:ops" {
		t.Errorf("inst-a findings: rules %q subjects %q", seen.InstARules, seen.InstASubjects)
	}
	if !strings.Contains(seen.Message, "<script>document.title='pwned'</script><img id=\"injected\"") {
		t.Errorf("the message must be shown as text: %q", seen.Message)
	}
	if !strings.Contains(seen.Evidence, `container: <b id="injected">upf</b>`) || !strings.Contains(seen.Evidence, "line: 3") {
		t.Errorf("evidence = %q", seen.Evidence)
	}
	if seen.Total != "5 findings" {
		t.Errorf("total = %q", seen.Total)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requested {
		if u != pageURL && !strings.HasPrefix(u, "data:") {
			t.Errorf("the browser requested %s; only the page itself may be fetched", u)
		}
	}
	if len(served) != 1 || served[0] != "/report.html" {
		t.Errorf("the server saw %q; want exactly one request for the page", served)
	}
}

func pairs(rows [][]string) string {
	var b []string
	for _, r := range rows {
		b = append(b, strings.Join(r, "="))
	}
	return strings.Join(b, " ")
}
