package vnfmtest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// accessInfoOf GETs the instance and returns its vim1 accessInfo as served.
func accessInfoOf(t *testing.T, s *Server, id string) map[string]any {
	t.Helper()
	resp, body := get(t, s, "/vnf_instances/"+id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET instance: %d %s", resp.StatusCode, body)
	}
	var inst struct {
		VimConnectionInfo map[string]struct {
			AccessInfo map[string]any `json:"accessInfo"`
		} `json:"vimConnectionInfo"`
	}
	if err := json.Unmarshal(body, &inst); err != nil {
		t.Fatal(err)
	}
	return inst.VimConnectionInfo["vim1"].AccessInfo
}

// TestAccessInfo: by default the server strips what Tacker 11 strips and keeps the rest; DiscloseAccessInfo returns
// the secrets; both answers conform to ETSI's OpenAPI (Start fails the test on a violation).
func TestAccessInfo(t *testing.T) {
	for _, disclose := range []bool{false, true} {
		s := Start(t, Options{DiscloseAccessInfo: disclose})
		id, err := s.Create("x", Package{VnfdID: "d", Provider: "p", ProductName: "X", SoftwareVersion: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Instantiate(id, Workload{Namespace: "ns", Name: "x"}); err != nil {
			t.Fatal(err)
		}
		ai := accessInfoOf(t, s, id)
		for _, k := range []string{"oidc_token_url", "username", "client_id"} {
			if ai[k] == nil {
				t.Errorf("disclose=%v: accessInfo.%s missing from %v: it is no secret", disclose, k, ai)
			}
		}
		secrets := s.VIMSecrets()
		if len(secrets) != 2 {
			t.Fatalf("VIMSecrets() = %d values, want 2", len(secrets))
		}
		if got := ai["password"] == secrets[0] && ai["client_secret"] == secrets[1]; got != disclose {
			t.Errorf("disclose=%v: accessInfo %v", disclose, ai)
		}
		if !disclose && (ai["password"] != nil || ai["client_secret"] != nil) {
			t.Errorf("accessInfo %v: Tacker 11 strips password and client_secret", ai)
		}
		// The stored instance keeps them: the server strips on the way out, as Tacker does.
		inst, _ := s.Instance(id)
		if inst.VimConnectionInfo["vim1"].AccessInfo["password"] != secrets[0] {
			t.Error("the stored instance lost its credentials")
		}
	}
}
