package console

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/headless"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/store"
)

const protected = "vnf-upf"

func inventory(state string) string {
	return `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - {id: upf-1, vnfdId: upf-vnfd, vnfProvider: Acme, vnfProductName: UPF, instantiationState: INSTANTIATED,
     instantiatedVnfInfo: {flavourId: simple, vnfState: ` + state + `, metadata: {namespace: ` + protected + `}}}
`
}

// readerToken makes a ServiceAccount and returns a token of it; with grant, a ClusterRole lets it get
// findings.vnfguard.io.
func readerToken(t *testing.T, ctx context.Context, admin kubernetes.Interface, name string, grant bool) string {
	t.Helper()
	if _, err := admin.CoreV1().ServiceAccounts(lab.Sandbox).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if grant {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"vnfguard.io"}, Resources: []string{"findings"}, Verbs: []string{"get"}}}}
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: lab.Sandbox, Name: name}}}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := admin.CoreV1().ServiceAccounts(lab.Sandbox).CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func ptr[T any](v T) *T { return &v }

func TestConsoleInTheBrowser(t *testing.T) {
	// The browser first: without it the test fails before the lab's set-up.
	bctx := headless.Start(t, chromedp.Flag("ignore-certificate-errors", true)) // the lab CA's certificate
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	invPath := filepath.Join(dir, "inventory.yaml")
	configPath := filepath.Join(dir, "vnfguard.yaml")
	dbPath := filepath.Join(dir, "findings.db")
	history := filepath.Join(dir, "history.jsonl")
	if err := os.WriteFile(invPath, []byte(inventory("STARTED")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configPath, []byte(`apiVersion: vnfguard.io/v1alpha1
kind: Config
clusterName: lab-console
protectedNamespaces: {names: [`+protected+`]}
identities:
  vnfm: {users: [`+lab.VNFM+`]}
inventory: {file: inventory.yaml}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true, AuditToVNFGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	for _, ns := range []string{lab.Sandbox, protected} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := cp.ClientFor(lab.Admin)
	attacker, _ := cp.ClientFor(lab.Attacker)
	if _, err := admin.CoreV1().ConfigMaps(protected).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "upf-subscribers", Labels: map[string]string{"tacker_vnf_instance_id": "upf-1"}},
		Data: map[string]string{"imsi": "001010000000001"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	guard, err := cp.StartVNFGuard(ctx, binary, configPath, "--store", dbPath, "--inventory-history", history)
	if err != nil {
		t.Fatal(err)
	}

	// Real findings: the Peirates pod in the running UPF's namespace (denied), every Secret listed, then the UPF
	// stopped and its subscriber data read.
	before := guard.FindingCount()
	// The fake VNF carries the live instance's label (FGT5013), so its findings name upf-1.
	fake := lab.PeiratesPod(protected, "peirates")
	fake.Labels["tacker_vnf_instance_id"] = "upf-1"
	if _, err := attacker.CoreV1().Pods(protected).Create(ctx, fake, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !lab.IsWebhookDenial(err) {
		t.Fatalf("the Peirates pod: %v, want a denial", err)
	}
	if _, err := attacker.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	stopped := []byte(inventory("STOPPED"))
	if err := os.WriteFile(invPath, stopped, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(stopped)
	if err := guard.WaitInventory(ctx, hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	if _, err := attacker.CoreV1().ConfigMaps(protected).Get(ctx, "upf-subscribers", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	var real []finding.Finding
	for deadline := time.Now().Add(30 * time.Second); ; {
		real = guard.Findings()[before:]
		techniques := map[string]bool{}
		for _, f := range real {
			techniques[f.Technique] = true
		}
		if techniques["FGT5013"] && techniques["FGT1609.501"] && len(real) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the attacks left %v; want admission (FGT5013) and audit (FGT1609.501) findings", real)
		}
		guard.WaitFindings(ctx, guard.FindingCount(), time.Second)
	}
	// Variants of the real findings over the last day fill a few pages: other objects, other times.
	st, err := store.Open(ctx, dbPath, logger)
	if err != nil {
		t.Fatal(err)
	}
	var variants []finding.Finding
	for i := range 120 {
		f := real[i%len(real)]
		f.ID, f.Object.Name = fmt.Sprintf("variant-%03d", i), fmt.Sprintf("%s-%03d", f.Object.Name, i)
		f.Time = time.Now().Add(-time.Duration(i*11) * time.Minute)
		f.FirstSeen, f.LastSeen, f.Evidence = time.Time{}, time.Time{}, nil
		variants = append(variants, f)
	}
	if err := st.Record(ctx, variants); err != nil {
		t.Fatal(err)
	}
	browser, _ := st.(store.Browser)
	all, err := browser.Browse(ctx, store.Query{Filter: store.Filter{Limit: 1}})
	st.Close()
	if err != nil || all.Total < 120 {
		t.Fatalf("store holds %d findings (%v)", all.Total, err)
	}

	reader := readerToken(t, ctx, admin, "console-reader", true)
	nobody := readerToken(t, ctx, admin, "console-nobody", false)
	base := guard.URL + "/console"
	// Access follows RBAC: no token 401, a token without the grant 403, the reader's 200.
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"not-a-token", http.StatusUnauthorized}, {nobody, http.StatusForbidden}, {reader, http.StatusOK}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/findings", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := insecure.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET /console/api/findings with token %.12q: %d, want %d", c.token, resp.StatusCode, c.want)
		}
	}

	// waitTrue polls a JavaScript expression until it is true.
	waitTrue := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("body")))
				t.Fatalf("%s: %s never held; the page:\n%.3000s", what, expr, html)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	shots := os.Getenv("VNFGUARD_SCREENSHOTS")
	screenshot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()) // the viewport, 1440×1000
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Signing in: the console sends an unauthenticated browser to the login form.
	headless.Do(t, bctx, "open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, err := chromedp.Run(bctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/console/login") {
		t.Errorf("an unauthenticated browser is at %s (%v), want the login page", loc, err)
	}
	headless.Do(t, bctx, "sign in with a token without the grant", chromedp.SetValue(chromedp.ID("token"), nobody), chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	headless.Do(t, bctx, "sign in", chromedp.SetValue(chromedp.ID("token"), reader), chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#findings tbody tr")))

	// apiTotal is what the API answers the reader for a query: the number the page must show.
	apiTotal := func(query string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/findings?limit=1&"+query, nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := insecure.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Total int `json:"total"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	// pageShows waits until the pager says first–last of the API's total for query (findings still arrive: the
	// tokens made above are audited too, and the page refreshes itself every 5 s).
	pageShows := func(what string, first, last int, query string) int {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			total := apiTotal(query)
			want := fmt.Sprintf("%d–%d of %d", first, min(last, total), total)
			got, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("page-info") || {}).textContent || ""`))
			if err == nil && got == want {
				return total
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the pager says %q, want %q (%v)", what, got, want, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The overview: the last day's findings, 50 a page, the chart drawn, the real techniques in its legend.
	total := pageShows("overview", 1, 50, "range=24h")
	if total < 120 {
		t.Fatalf("the overview shows %d findings; the store holds more than 120", total)
	}
	waitTrue("chart", `document.querySelectorAll("#chart-svg rect").length > 0`)
	waitTrue("time axis", `(() => { const a = document.getElementById("chart-axis"); return !!a && a.children.length === 3 &&
		/^highest bar: [1-9][0-9]* findings? in [0-9]+ (min|h|d)$/.test(a.children[1].textContent); })()`)
	waitTrue("legend", `["FGT5013","FGT1609.501"].every(t => document.getElementById("chart-legend").textContent.includes(t))`)
	waitTrue("rows", `document.querySelectorAll("#findings tbody tr").length === 50`)
	screenshot("overview")

	// Live updates: a finding recorded now shows up without a reload.
	live, err := store.Open(ctx, dbPath, logger)
	if err != nil {
		t.Fatal(err)
	}
	fresh := real[0]
	fresh.ID, fresh.Object.Name, fresh.Time, fresh.FirstSeen, fresh.LastSeen = "live-update", "peirates-live", time.Now(), time.Time{}, time.Time{}
	err = live.Record(ctx, []finding.Finding{fresh})
	live.Close()
	if err != nil {
		t.Fatal(err)
	}
	waitTrue("live update", `[...document.querySelectorAll("#findings tbody tr")].some(r => r.dataset.id === "live-update")`)

	// Paging.
	headless.Do(t, bctx, "next page", chromedp.Click(chromedp.ID("next")))
	pageShows("second page", 51, 100, "range=24h")

	// Filtering by technique: every row is of it, and the total is the store's count for it.
	waitTrue("filter options", `!!document.querySelector('#filter-technique option[value="FGT5013"]')`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(s => { s.value = "FGT5013"; s.dispatchEvent(new Event("change")); return true; })(document.getElementById("filter-technique"))`)); err != nil {
		t.Fatal(err)
	}
	waitTrue("filtered rows", `(() => { const rows = [...document.querySelectorAll("#findings tbody tr")];
		return location.hash.includes("technique=FGT5013") && rows.length > 0 && rows.every(r => r.children[2].textContent === "FGT5013"); })()`)
	st2, err := store.Open(ctx, dbPath, logger)
	if err != nil {
		t.Fatal(err)
	}
	fiveThirteen, err := st2.(store.Browser).Browse(ctx, store.Query{Filter: store.Filter{Technique: "FGT5013", Since: time.Now().Add(-24 * time.Hour), Limit: 1}})
	st2.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := pageShows("filtered", 1, 50, "range=24h&technique=FGT5013"); n != fiveThirteen.Total {
		t.Errorf("filtered by FGT5013 the page shows %d findings, the store holds %d", n, fiveThirteen.Total)
	}

	// Sorting by severity (descending), then ascending.
	headless.Do(t, bctx, "sort by severity", chromedp.Click(chromedp.CSS(`th[data-sort="severity"]`)))
	sevRank := `(() => { const order = ["info","low","medium","high","critical"];
		const s = [...document.querySelectorAll("#findings tbody tr td:nth-child(2)")].map(td => order.indexOf(td.textContent));
		const drawnFor = new URLSearchParams(document.getElementById("findings").dataset.query);
		return drawnFor.get("sort") === "severity" && (drawnFor.get("order") || "desc") === %q &&
			s.length > 1 && s.every((v, i) => i === 0 || s[i-1] %s v); })()`
	// The table says which order it was drawn for: the rows of the order before the click can look sorted both ways
	// (all of one severity), and CI once read the first row of the old table and then clicked the new one's.
	waitTrue("descending severity", fmt.Sprintf(sevRank, "desc", ">="))
	headless.Do(t, bctx, "sort ascending", chromedp.Click(chromedp.CSS(`th[data-sort="severity"]`)))
	waitTrue("ascending severity", fmt.Sprintf(sevRank, "asc", "<="))

	// A finding's page, by its link: all its evidence, linkable.
	first, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(`#findings tbody tr`), "data-id"))
	if err != nil || first.Value == "" {
		t.Fatalf("first row's finding ID: %v", err)
	}
	// By its ID: a live update may redraw the table between the two steps.
	headless.Do(t, bctx, "open the first finding", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#findings tbody tr[data-id=%q] td.msg a`, first.Value))), chromedp.WaitVisible(chromedp.ID("evidence")))
	waitTrue("finding page", fmt.Sprintf(`location.hash === "#/finding/%s" && document.querySelector('#evidence dd[data-key="ID"]').textContent === %q`, url.PathEscape(first.Value), first.Value))
	screenshot("finding")
	// A real audit finding's page shows its audit ID and identity.
	var auditFinding finding.Finding
	for _, f := range real {
		if f.Source == "audit" {
			auditFinding = f
			break
		}
	}
	headless.Do(t, bctx, "audit finding page", chromedp.Navigate(base+"/#/finding/"+auditFinding.ID), chromedp.WaitVisible(chromedp.ID("evidence")))
	waitTrue("evidence", fmt.Sprintf(`document.getElementById("evidence").textContent.includes(%q) && document.getElementById("evidence").textContent.includes(%q)`,
		auditFinding.Identity, auditFinding.Evidence["auditID"]))

	// A slow answer for a finding the reader already left is not drawn over the next one: the first finding's
	// request is held 1.5 s in the page, the audit finding opened meanwhile must stay on the page after it arrives.
	slow := fmt.Sprintf(`(orig => { window.fetch = (u, o) => String(u).endsWith("/findings/" + encodeURIComponent(%q))
		? new Promise(r => setTimeout(r, 1500)).then(() => orig(u, o)) : orig(u, o); return true; })(window.fetch)`, first.Value)
	step := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	step(slow)
	step(fmt.Sprintf(`(location.hash = "#/finding/" + encodeURIComponent(%q), true)`, first.Value))
	step(fmt.Sprintf(`(location.hash = "#/finding/" + encodeURIComponent(%q), true)`, auditFinding.ID))
	waitTrue("the later finding", fmt.Sprintf(`(document.querySelector('#evidence dd[data-key="ID"]') || {}).textContent === %q`, auditFinding.ID))
	time.Sleep(2 * time.Second) // the held answer has arrived
	waitTrue("still the later finding", fmt.Sprintf(`document.querySelector('#evidence dd[data-key="ID"]').textContent === %q`, auditFinding.ID))

	// The UPF's page: its lifecycle from the inventory history (started, then stopped), its open findings.
	headless.Do(t, bctx, "instance page", chromedp.Navigate(base+"/#/instance/upf-1"), chromedp.WaitVisible(chromedp.ID("instance-title")))
	waitTrue("timeline", `(() => { const t = document.getElementById("timeline").textContent; return t.includes("INSTANTIATED") && t.includes("STOPPED"); })()`)
	waitTrue("state and findings", `document.getElementById("instance-state").textContent.includes("STOPPED") && document.querySelectorAll("#open-findings tr").length > 0`)
	screenshot("instance")

	// The Secrets listed across the cluster name a collection, not an object: the table says which, never "undefined".
	headless.Do(t, bctx, "the secret dump's findings", chromedp.Navigate(base+"/#/?rule=secret-dumping&range=all"), chromedp.WaitVisible(chromedp.CSS("#findings tbody tr")))
	waitTrue("a collection named", `(() => { const cells = [...document.querySelectorAll("#findings tbody td")].map(td => td.textContent);
		return cells.includes("every Secret in every namespace") && !cells.some(c => c.includes("undefined")); })()`)
}
