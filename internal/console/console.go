package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

//go:embed ui
var uiFiles embed.FS

// Prefix is where the console lives.
const Prefix = "/console"

// cookieName holds the token the login form took, for the browser's later requests.
const cookieName = "vnfguard_console_token"

// Store is what the console reads: the findings store with its Browser queries.
type Store interface {
	store.Browser
	Get(ctx context.Context, id string) (finding.Finding, error)
}

// Authorize decides whether a token may read the console (Authorizer.Authorize).
type Authorize func(ctx context.Context, token string) (user string, err error)

// Options configure the console.
type Options struct {
	Store     Store
	Authorize Authorize
	// Inventory, when set, gives the lifecycle state in force now (serve's inventory); HistoryFile, when set, is
	// serve's --inventory-history, from which an instance's lifecycle timeline is read.
	Inventory   vnf.Inventory
	HistoryFile string
	Logger      *slog.Logger
	Now         func() time.Time
}

// Console is the console's HTTP handler (mount it at Prefix and Prefix+"/").
type Console struct {
	o   Options
	mux *http.ServeMux
}

// New returns the console. A store and an authorizer are required: the console is never served without access
// control.
func New(o Options) (*Console, error) {
	if o.Store == nil || o.Authorize == nil {
		return nil, errors.New("console: a findings store and an authorizer are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{o: o, mux: http.NewServeMux()}
	static, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return nil, err
	}
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	c.mux.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"/login", c.login)
	c.mux.HandleFunc("POST "+Prefix+"/logout", c.logout)
	c.mux.Handle("GET "+Prefix+"/static/", files) // the pages' code and style: no data, and the login page needs them
	c.mux.Handle("GET "+Prefix+"/{$}", c.page(http.HandlerFunc(c.index)))
	c.mux.Handle("GET "+Prefix, http.RedirectHandler(Prefix+"/", http.StatusFound))
	c.mux.Handle("GET "+Prefix+"/api/findings", c.api(c.findings))
	c.mux.Handle("GET "+Prefix+"/api/findings/{id}", c.api(c.finding))
	c.mux.Handle("GET "+Prefix+"/api/histogram", c.api(c.histogram))
	c.mux.Handle("GET "+Prefix+"/api/facets", c.api(c.facets))
	c.mux.Handle("GET "+Prefix+"/api/instances/{id}", c.api(c.instance))
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// token is the request's bearer token: the Authorization header, else the login cookie.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if ck, err := r.Cookie(cookieName); err == nil {
		return ck.Value
	}
	return ""
}

// authorized runs the authorizer; it writes the refusal and returns false when the request may not proceed.
func (c *Console) authorized(w http.ResponseWriter, r *http.Request, page bool) bool {
	_, err := c.o.Authorize(r.Context(), token(r))
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrUnauthenticated):
		if page {
			http.Redirect(w, r, Prefix+"/login", http.StatusFound)
			return false
		}
		writeError(w, http.StatusUnauthorized, "a valid Kubernetes bearer token is required")
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	default:
		c.o.Logger.Warn("console: the cluster could not check a token", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the cluster could not check the token; try again")
	}
	return false
}

func (c *Console) page(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.authorized(w, r, true) {
			h.ServeHTTP(w, r)
		}
	})
}

func (c *Console) api(h func(*http.Request) (any, int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.authorized(w, r, false) {
			return
		}
		v, status, err := h(r)
		if err != nil {
			if status < 500 {
				writeError(w, status, err.Error())
				return
			}
			c.o.Logger.Error("console API", "path", r.URL.Path, "error", err)
			writeError(w, status, "the findings store failed; see vnfguard's log")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (c *Console) index(w http.ResponseWriter, _ *http.Request) {
	data, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(data)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	data, err := uiFiles.ReadFile("ui/login.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(data)
}

// login takes a token from the form, checks it, and keeps it in an HttpOnly, Secure, SameSite=Strict cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "unreadable form")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if _, err := c.o.Authorize(r.Context(), tok); err != nil {
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrForbidden) {
			c.o.Logger.Warn("console login: the cluster could not check the token", "error", err)
		}
		http.Redirect(w, r, Prefix+"/login?error="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: 8 * 3600})
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// ranges are the time ranges the overview offers.
var ranges = map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// filter reads the filter parameters; an unknown value is a 400 naming the parameter.
func (c *Console) filter(q url.Values) (store.Filter, error) {
	f := store.Filter{Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), VNFInstance: q.Get("instance"),
		Technique: q.Get("technique"), Rule: q.Get("rule"), Source: q.Get("source")}
	if v := q.Get("severity"); v != "" {
		sev, err := finding.ParseSeverity(v)
		if err != nil {
			return f, fmt.Errorf("severity: %w", err)
		}
		f.MinSeverity = sev
	}
	st, err := store.ParseStatus(q.Get("status"))
	if err != nil {
		return f, fmt.Errorf("status: %w", err)
	}
	f.Status = st
	if v := q.Get("range"); v != "" && v != "all" {
		d, ok := ranges[v]
		if !ok {
			return f, fmt.Errorf("range %q: want one of 1h, 6h, 24h, 7d, 30d, all", v)
		}
		f.Since = c.o.Now().Add(-d)
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, fmt.Errorf("%s %q: want an RFC 3339 time", name, v)
			}
			*dst = t
		}
	}
	return f, nil
}

// findingView is a finding as the console's pages read it.
type findingView struct {
	finding.Finding
	SeverityName string `json:"severityName"`
	Status       string `json:"status"`
}

func view(f finding.Finding) findingView {
	st := "open"
	if !f.Resolved.IsZero() {
		st = "resolved"
	}
	return findingView{Finding: f, SeverityName: f.Severity.String(), Status: st}
}

func views(fs []finding.Finding) []findingView {
	out := make([]findingView, len(fs))
	for i, f := range fs {
		out[i] = view(f)
	}
	return out
}

func (c *Console) findings(r *http.Request) (any, int, error) {
	q := r.URL.Query()
	f, err := c.filter(q)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	query := store.Query{Filter: f, Sort: q.Get("sort"), Ascending: q.Get("order") == "asc"}
	for name, dst := range map[string]*int{"offset": &query.Offset, "limit": &query.Limit} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, http.StatusBadRequest, fmt.Errorf("%s %q: want a number of findings, 0 or more", name, v)
			}
			*dst = n
		}
	}
	if query.Limit == 0 {
		query.Limit = 50
	}
	if _, ok := store.SortKeys[query.Sort]; query.Sort != "" && !ok {
		return nil, http.StatusBadRequest, fmt.Errorf("sort %q: unknown key", query.Sort)
	}
	page, err := c.o.Store.Browse(r.Context(), query)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return map[string]any{"total": page.Total, "offset": query.Offset, "limit": query.Limit, "findings": views(page.Findings)}, http.StatusOK, nil
}

func (c *Console) finding(r *http.Request) (any, int, error) {
	f, err := c.o.Store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, http.StatusNotFound, fmt.Errorf("no finding %q", r.PathValue("id"))
	}
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return view(f), http.StatusOK, nil
}

// histogram spreads the filter's findings over about 60 buckets of the range (last 24 hours by default).
func (c *Console) histogram(r *http.Request) (any, int, error) {
	q := r.URL.Query()
	if q.Get("range") == "" || q.Get("range") == "all" {
		q.Set("range", "24h")
	}
	f, err := c.filter(q)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	until := f.Until
	if until.IsZero() {
		until = c.o.Now()
	}
	step := max(until.Sub(f.Since)/60, time.Minute).Truncate(time.Minute)
	buckets, err := c.o.Store.Histogram(r.Context(), f, step)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	type bucket struct {
		Start     time.Time `json:"start"`
		Technique string    `json:"technique"`
		Severity  string    `json:"severity"`
		Count     int       `json:"count"`
	}
	out := make([]bucket, len(buckets))
	for i, b := range buckets {
		out[i] = bucket{b.Start, b.Technique, b.Severity.String(), b.Count}
	}
	return map[string]any{"since": f.Since, "until": until, "step": step.Seconds(), "buckets": out}, http.StatusOK, nil
}

func (c *Console) facets(r *http.Request) (any, int, error) {
	f, err := c.filter(r.URL.Query())
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	fc, err := c.o.Store.Facets(r.Context(), store.Filter{Cluster: f.Cluster, Since: f.Since})
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return map[string]any{"clusters": fc.Clusters, "namespaces": fc.Namespaces, "instances": fc.Instances,
		"techniques": fc.Techniques, "rules": fc.Rules, "sources": fc.Sources,
		"severities": []string{"info", "low", "medium", "high", "critical"}}, http.StatusOK, nil
}

// residual says whether a finding is reconciliation's report of data a terminated instance left behind.
func residual(f finding.Finding) bool { return strings.Contains(f.Rule, "residual") }

// reach says whether a finding tells who can reach the instance: posture's RBAC and exposure findings.
func reach(f finding.Finding) bool {
	return f.Source == "posture" && (strings.HasPrefix(f.Rule, "rbac-") || strings.HasPrefix(f.Rule, "exposure") || strings.Contains(f.Rule, "exposed"))
}

// instance is a VNF instance's page: its state now and its lifecycle timeline (when vnfguard knows them), its
// open findings, the data it left after termination, and who can reach it.
func (c *Console) instance(r *http.Request) (any, int, error) {
	id := r.PathValue("id")
	page, err := c.o.Store.Browse(r.Context(), store.Query{Filter: store.Filter{VNFInstance: id, Limit: 500}})
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	out := map[string]any{"id": id, "total": page.Total}
	var open, left, who []findingView
	for _, f := range page.Findings {
		switch {
		case residual(f) && f.Resolved.IsZero():
			left = append(left, view(f))
		case reach(f):
			who = append(who, view(f))
		case f.Resolved.IsZero():
			open = append(open, view(f))
		}
	}
	out["open"], out["residual"], out["reach"] = nonNil(open), nonNil(left), nonNil(who)
	if c.o.Inventory != nil {
		if inst, ok := c.o.Inventory.Snapshot().Instance(id); ok {
			out["state"], out["product"], out["vnfdId"] = inst.State(), inst.VnfProductName, inst.VnfdID
		}
	}
	timeline := []vnf.StateChange{}
	if c.o.HistoryFile != "" {
		tl, err := vnf.ReadTimelineFile(c.o.HistoryFile)
		if err != nil {
			c.o.Logger.Warn("console: inventory history unreadable", "file", c.o.HistoryFile, "error", err)
			out["timelineError"] = "the inventory history could not be read; see vnfguard's log"
		} else {
			timeline = tl.Lifecycle(id)
		}
	} else {
		out["timelineError"] = "no inventory history recorded (serve --inventory-history)"
	}
	out["timeline"] = timeline
	if page.Total == 0 && len(timeline) == 0 && out["state"] == nil {
		return nil, http.StatusNotFound, fmt.Errorf("vnfguard knows nothing of VNF instance %q", id)
	}
	return out, http.StatusOK, nil
}

func nonNil(v []findingView) []findingView {
	if v == nil {
		return []findingView{}
	}
	return slices.Clip(v)
}
