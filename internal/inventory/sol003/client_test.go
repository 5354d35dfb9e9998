package sol003

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
)

func TestListPaging(t *testing.T) {
	for _, pageSize := range []int{0, 1, 3, 4, 5} {
		e := newEnv(t, vnfmtest.Options{PageSize: pageSize}, nil)
		_, err := e.vnfm.LoadFixture(fixture)
		must(t, err)
		list, err := e.src.Client().ListInstances(context.Background())
		must(t, err)
		var ids []string
		for _, inst := range list {
			ids = append(ids, inst.ID)
		}
		if len(ids) != 4 || ids[0] != "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b" || ids[3] != "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4" {
			t.Errorf("page size %d: listed %v, want the fixture's 4 instances in order", pageSize, ids)
		}
		wantPages := 1 // the VNFM sends a next link only while instances remain
		if pageSize > 0 {
			wantPages = (4 + pageSize - 1) / pageSize
		}
		reqs := e.vnfm.Requests()
		if len(reqs) != wantPages {
			t.Errorf("page size %d: %d requests %v, want %d pages", pageSize, len(reqs), reqs, wantPages)
		}
		for i, r := range reqs[1:] {
			if !strings.Contains(r, "nextpage_opaque_marker=") {
				t.Errorf("page size %d: request %d %q does not carry the marker", pageSize, i+2, r)
			}
		}
		// Every page asks for all_fields: without it, the VNFM leaves the states and resources out.
		for i, r := range reqs {
			if !strings.Contains(r, "all_fields") {
				t.Errorf("page size %d: request %d %q does not ask for all_fields", pageSize, i+1, r)
			}
		}
		if pageSize == 1 && len(list) == 4 && (list[0].InstantiatedVnfInfo == nil || list[0].Namespace == "") {
			t.Errorf("the first instance lacks instantiatedVnfInfo or its namespace: %+v", list[0])
		}
	}
}

func TestNamespaceMapping(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, nil)
	e.run(t)
	for _, where := range []string{"metadata", "vim-extra", "instance"} {
		id, err := e.vnfm.Create("cnf-"+where, upf)
		must(t, err)
		must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "ns-" + where, Name: "cnf", Kind: "StatefulSet", Storage: true, NamespaceIn: where}))
		inst, err := e.src.Client().GetInstance(context.Background(), id)
		must(t, err)
		if inst.Namespace != "ns-"+where {
			t.Errorf("namespace in %s: got %q", where, inst.Namespace)
		}
		if got := strings.Join(resourceNames(inst), ","); got != "cnf-0,data-cnf-0" {
			t.Errorf("namespace in %s: resources %s", where, got)
		}
	}
}

func TestOAuthTokenFetchedAndRefreshed(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{ClientID: clientID, ClientSecret: secret}, func(c *Config) { c.CallbackURI = "" })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	c := e.src.Client()
	ctx := context.Background()
	_, err = c.ListInstances(ctx)
	must(t, err)
	_, err = c.ListInstances(ctx)
	must(t, err)
	if n := e.vnfm.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens issued for two lists, want 1 (cached)", n)
	}
	e.vnfm.RevokeTokens()
	_, err = c.ListInstances(ctx)
	must(t, err)
	if n := e.vnfm.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens issued after revocation, want 2 (refreshed once on 401)", n)
	}
}

func TestMutualTLS(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{RequireClientCert: true, ClientID: clientID, ClientSecret: secret}, func(c *Config) { c.CallbackURI = "" })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	files, err := e.vnfm.WriteTLSFiles(t.TempDir())
	must(t, err)

	withCert := e.cfg
	withCert.CAFile, withCert.CertFile, withCert.KeyFile = files.CA, files.Cert, files.Key
	c, err := NewClient(withCert)
	must(t, err)
	list, err := c.ListInstances(context.Background())
	must(t, err)
	if len(list) != 4 {
		t.Fatalf("listed %d over mutual TLS, want 4", len(list))
	}

	noCert := e.cfg
	noCert.CAFile = files.CA
	c, err = NewClient(noCert)
	must(t, err)
	if _, err := c.ListInstances(context.Background()); err == nil || !strings.Contains(err.Error(), "OAuth 2.0 token request to "+e.vnfm.TokenURL) {
		t.Fatalf("without a client certificate: %v; want the token request to fail and name the endpoint", err)
	}

	noCA := e.cfg
	c, err = NewClient(noCA)
	must(t, err)
	if _, err := c.ListInstances(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v; want a certificate error", err)
	}
}

func TestSubscribeCreatedThenSeeOther(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{ClientID: clientID, ClientSecret: secret, SeeOther: true}, nil)
	c := e.src.Client()
	req := NewSubscriptionRequest(e.cfg.CallbackURI, notifyUser, notifyPass)
	first, err := c.Subscribe(context.Background(), req)
	must(t, err)
	second, err := c.Subscribe(context.Background(), req)
	must(t, err)
	if first == "" || first != second {
		t.Fatalf("subscription ids %q then %q; want the 303 to name the first", first, second)
	}
	if subs := e.vnfm.Subscriptions(); len(subs) != 1 || subs[first] != e.cfg.CallbackURI {
		t.Fatalf("VNFM holds %v, want one subscription to %s", subs, e.cfg.CallbackURI)
	}
	// A callback that does not answer the VNFM's test GET with 204 is refused (500, as Tacker answers), and the
	// VNFM reports the endpoint's 404 as outside the notification contract.
	bad := NewSubscriptionRequest(e.callback.URL+"/nowhere", notifyUser, notifyPass)
	_, err = c.Subscribe(context.Background(), bad)
	if se, ok := errorsAs[*StatusError](err); !ok || se.Status != http.StatusInternalServerError || !se.Temporary() {
		t.Fatalf("subscribing an endpoint that fails the test: %v, want HTTP 500, retried", err)
	}
	if v := e.vnfm.TakeViolations(); len(v) != 1 || !strings.Contains(v[0].Error(), "(HTTP 404)") {
		t.Fatalf("violations %v, want the endpoint's 404", v)
	}
}

// TestFailures: each failure mode gives its own clear error.
func TestFailures(t *testing.T) {
	tests := []struct {
		name   string
		opts   vnfmtest.Options
		fault  *vnfmtest.Fault
		tweak  func(*Config, *env)
		want   []string
		status int
	}{
		{name: "timeout", fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 1, Delay: 3 * time.Second},
			tweak: func(c *Config, _ *env) { c.Timeout = 100 * time.Millisecond }, want: []string{"GET http://127.0.0.1:", "/vnflcm/v2/vnf_instances", "timeout", "100ms"}},
		{name: "server error", fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 1, Status: 503},
			want: []string{"/vnflcm/v2/vnf_instances?all_fields: HTTP 503 Service Unavailable", "injected fault"}, status: 503},
		{name: "unauthorised even after a new token", opts: vnfmtest.Options{ClientID: clientID, ClientSecret: secret},
			fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 2, Status: 401},
			want:  []string{"HTTP 401", "rejected the bearer token from http://127.0.0.1:", "/oauth2/token", `client "vnfguard-client"`}, status: 401},
		{name: "forbidden", opts: vnfmtest.Options{ClientID: clientID, ClientSecret: secret},
			fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 1, Status: 403},
			want:  []string{"HTTP 403", `client "vnfguard-client" is authenticated but not allowed`}, status: 403},
		{name: "no credentials configured", opts: vnfmtest.Options{ClientID: clientID, ClientSecret: secret},
			want: []string{"HTTP 401", "configure tokenURL, clientID and clientSecret"}, status: 401,
			tweak: func(c *Config, _ *env) { c.TokenURL, c.ClientID, c.ClientSecret = "", "", "" }},
		{name: "wrong client secret", opts: vnfmtest.Options{ClientID: clientID, ClientSecret: secret},
			tweak: func(c *Config, _ *env) { c.ClientSecret = "wrong" },
			want:  []string{"OAuth 2.0 token request to http://127.0.0.1:", `for client "vnfguard-client": HTTP 401: invalid_client`, "check clientID/clientSecret"}},
		{name: "malformed body", fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 1, Body: `[{"id": "a", "vnfdId": "b",, }]`},
			want: []string{"/vnflcm/v2/vnf_instances?all_fields (page 1): not a JSON array of VnfInstance: invalid JSON at offset 28 near", `\"b\",, }]`, "invalid character ','"}},
		{name: "invalid instance", fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 1, Body: `[{"id": "a", "vnfdId": "b", "instantiationState": "INSTANTIATED", "instantiatedVnfInfo": {"vnfState": "RUNNING"}}]`},
			want: []string{"(page 1): item 0: instantiatedVnfInfo.vnfState: is \"RUNNING\"; want STARTED or STOPPED"}},
		{name: "paging loops", opts: vnfmtest.Options{PageSize: 2}, fault: &vnfmtest.Fault{Path: "/vnf_instances", Times: 5, LoopPaging: true},
			want: []string{"(page 2): the Link rel=\"next\" points back to", "paging loops"}},
		{name: "connection refused", tweak: func(c *Config, e *env) { c.APIRoot = "http://" + closedPort(t) },
			want: []string{"connection refused; is the VNFM up at this address?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts, nil)
			_, err := e.vnfm.LoadFixture(fixture)
			must(t, err)
			cfg := e.cfg
			if tt.tweak != nil {
				tt.tweak(&cfg, e)
			}
			c, err := NewClient(cfg)
			must(t, err)
			if tt.fault != nil {
				e.vnfm.Inject(*tt.fault)
			}
			_, err = c.ListInstances(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.status != 0 {
				if se, ok := errorsAs[*StatusError](err); !ok || se.Status != tt.status || se.Temporary() != (tt.status >= 500) {
					t.Errorf("error %v: want a *StatusError with status %d", err, tt.status)
				}
			}
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	must(t, l.Close())
	return addr
}
