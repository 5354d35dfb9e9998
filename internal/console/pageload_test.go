package console

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vnfguard/vnfguard/internal/headless"
)

// BenchmarkOverviewPageLoad100k: the overview page as an operator sees it, in headless Chromium over HTTPS, on
// 100 000 findings in PostgreSQL (hack/postgres.sh): from the navigation until the chart is drawn and the table
// shows its first page with the pager's total (range all, sorted by severity: the heaviest overview). Each load is a
// full navigation (the page, its script and style, and the three API requests); the sign-in is done once before.
func BenchmarkOverviewPageLoad100k(b *testing.B) {
	srv := httptest.NewTLSServer(console100k(b))
	defer srv.Close()
	bctx := headless.Start(b, chromedp.Flag("ignore-certificate-errors", true)) // httptest's certificate
	headless.Do(b, bctx, "sign in", chromedp.Navigate(srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), "reader"), chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#findings tbody tr")))
	// loaded: the chart has its bars, the table its 50 rows, and the pager counts every finding.
	const loaded = `document.querySelectorAll("#chart svg rect").length > 0 && document.querySelectorAll("#findings tbody tr").length == 50 &&
		((document.getElementById("page-info") || {}).textContent || "").endsWith("of 100000")`
	i := 0
	for b.Loop() {
		i++
		// A new query each time, so that the browser navigates (a changed fragment alone would not reload).
		headless.Do(b, bctx, "load the overview", chromedp.Navigate(srv.URL+"/console/?load="+strconv.Itoa(i)+"#/?range=all&sort=severity"))
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](loaded))
			if err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("body")))
				b.Fatalf("the overview never showed its chart, 50 rows and a total of 100000 (%v); the page:\n%.2000s", err, strings.TrimSpace(html))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
