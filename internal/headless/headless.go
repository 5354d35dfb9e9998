// Package headless starts Debian's Chromium, headless and sealed to loopback, for the tests that look at vnfguard's
// pages in a real browser: the HTML report and the findings console.
package headless

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Start starts the browser for tb and returns its context, for chromedp.Run and chromedp.Do; the browser stops when
// tb ends. extra adds allocator options (e.g. chromedp.Flag("ignore-certificate-errors", true) for a page served
// with a test CA). A missing browser fails tb with what to install: the tests that need it never skip.
//
// The browser is started here, on a context without a deadline of its own: chromedp ties the browser to the
// context its first action runs on, so a first action on a context with a timeout would close the browser with it.
func Start(tb testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		tb.Fatalf("headless Chromium is needed: install the Debian package chromium (apt-get install -y chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI containers, where Chromium's sandbox cannot start
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1440, 1000),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("no-proxy-server", true),
		// Whatever a page or the browser tries, no name resolves except loopback.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		tb.Fatalf("start headless Chromium (%s): %v", path, err)
	}
	return bctx
}

// Do runs steps in the browser of bctx within 30 s, and fails the test with what on an error.
func Do(tb testing.TB, bctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}
