package vnfmtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// get calls the API as a conforming client would.
func get(t *testing.T, s *Server, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+BasePath+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Version", "2.0.0")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestFixtureConforms(t *testing.T) {
	s := Start(t, Options{PageSize: 3})
	ids, err := s.LoadFixture("testdata/fixtures/tacker-cnf.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, "/vnf_instances")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var page []map[string]any
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Fatalf("first page: %d items, Link %q; want 3 and a next link", len(page), resp.Header.Get("Link"))
	}
	resp, _ = get(t, s, "/vnf_instances/"+ids[1])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET instance: %d", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

// TestValidatorIsNoRubberStamp proves that the contract check rejects what ETSI's documents forbid.
func TestValidatorIsNoRubberStamp(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(inst map[string]any)
		path   string // the call whose response must be reported; ID is the instance's id
		want   []string
	}{
		{"unknown instantiationState", func(i map[string]any) { i["instantiationState"] = "RUNNING" },
			"/vnf_instances", []string{"response of GET /vnf_instances", "/0/instantiationState", "enum"}},
		{"missing required vnfdVersion", func(i map[string]any) { delete(i, "vnfdVersion") },
			"/vnf_instances/ID", []string{"response of GET /vnf_instances/{vnfInstanceId}", "vnfdVersion", "required"}},
		{"missing _links", func(i map[string]any) { delete(i, "_links") },
			"/vnf_instances", []string{"_links", "required"}},
		{"instantiatedVnfInfo without extCpInfo", func(i map[string]any) { delete(info(i), "extCpInfo") },
			"/vnf_instances?all_fields", []string{"extCpInfo", "required"}},
		{"unknown vnfState", func(i map[string]any) { info(i)["vnfState"] = "PAUSED" },
			"/vnf_instances/ID", []string{"/instantiatedVnfInfo/vnfState", "enum"}},
		{"resourceId a number", func(i map[string]any) {
			info(i)["vnfcResourceInfo"].([]any)[0].(map[string]any)["computeResource"].(map[string]any)["resourceId"] = 42
		}, "/vnf_instances/ID", []string{"/instantiatedVnfInfo/vnfcResourceInfo/0/computeResource/resourceId", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Options{})
			ids, err := s.LoadFixture("testdata/fixtures/tacker-cnf.json")
			if err != nil {
				t.Fatal(err)
			}
			inst, _ := s.Instance(ids[0])
			data, _ := json.Marshal(inst)
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			raw, _ := json.Marshal(m)
			s.PutRaw(ids[0], raw)
			get(t, s, strings.Replace(tt.path, "ID", ids[0], 1))
			got := s.TakeViolations()
			if len(got) != 1 {
				t.Fatalf("got %d violations for a response with %s, want 1: %v", len(got), tt.name, got)
			}
			var v *Violation
			if !errors.As(got[0], &v) {
				t.Fatalf("violation %T is not a *Violation", got[0])
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0].Error(), w) {
					t.Errorf("violation %q does not mention %q", got[0], w)
				}
			}
		})
	}
}

func info(inst map[string]any) map[string]any { return inst["instantiatedVnfInfo"].(map[string]any) }

func TestRequestViolation(t *testing.T) {
	s := Start(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, s.URL+BasePath+"/vnf_instances", nil) // no Version, no Accept
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.TakeViolations()
	if resp.StatusCode != http.StatusBadRequest || len(got) == 0 || !strings.Contains(got[0].Error(), "request of GET /vnf_instances") {
		t.Fatalf("status %d, violations %v; want 400 and a request violation", resp.StatusCode, got)
	}
}

// TestNotificationContract: the notification endpoint's answers are checked too; a 200 where ETSI says 204 is a
// violation, and the subscription is refused.
func TestNotificationContract(t *testing.T) {
	s := Start(t, Options{})
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer callback.Close()
	body := `{"callbackUri": "` + callback.URL + `/n", "filter": {"notificationTypes": ["VnfLcmOperationOccurrenceNotification"]}}`
	req, _ := http.NewRequest(http.MethodPost, s.URL+BasePath+"/subscriptions", strings.NewReader(body))
	req.Header.Set("Version", "2.0.0")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.TakeViolations()
	if resp.StatusCode != http.StatusInternalServerError || len(got) != 1 ||
		!strings.Contains(got[0].Error(), "response of GET /URI_is_provided_by_the_client_when_creating_the_subscription-VnfLcmOperationOccurrenceNotification (HTTP 200)") {
		t.Fatalf("status %d, violations %v; want 500 (as Tacker answers) and the endpoint's 200 reported", resp.StatusCode, got)
	}
}

// TestLifecycleShapes: each operation leaves the instance as Tacker leaves a CNF's.
func TestLifecycleShapes(t *testing.T) {
	s := Start(t, Options{})
	id, err := s.Create("udr", Package{VnfdID: "d", Provider: "Acme", ProductName: "UDR", SoftwareVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		do    func() error
		state string
		pods  string
	}{
		{"instantiate", func() error {
			return s.Instantiate(id, Workload{Namespace: "ns", Kind: "StatefulSet", Name: "udr", Replicas: 2, Storage: true})
		}, "INSTANTIATED/STARTED", "udr-0,udr-1"},
		{"scale out", func() error { return s.Scale(id, 1) }, "INSTANTIATED/STARTED", "udr-0,udr-1,udr-2"},
		{"stop", func() error { return s.Operate(id, "STOPPED") }, "INSTANTIATED/STOPPED", ""},
		{"start", func() error { return s.Operate(id, "STARTED") }, "INSTANTIATED/STARTED", "udr-0,udr-1,udr-2"},
		{"heal keeps StatefulSet names", func() error { return s.Heal(id) }, "INSTANTIATED/STARTED", "udr-0,udr-1,udr-2"},
		{"terminate", func() error { return s.Terminate(id) }, "NOT_INSTANTIATED/STOPPED", ""},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		inst, _ := s.Instance(id)
		var pods []string
		for _, r := range inst.InstantiatedVnfInfo.VnfcResourceInfo {
			pods = append(pods, r.ComputeResource.ResourceID)
			if r.ComputeResource.VimLevelResourceType != "StatefulSet" {
				t.Errorf("%s: pod %s has vimLevelResourceType %q", step.name, r.ComputeResource.ResourceID, r.ComputeResource.VimLevelResourceType)
			}
		}
		state := inst.InstantiationState + "/" + inst.InstantiatedVnfInfo.VnfState
		if state != step.state || strings.Join(pods, ",") != step.pods {
			t.Errorf("%s: %s with pods %v; want %s with %s", step.name, state, pods, step.state, step.pods)
		}
		if ns := inst.InstantiatedVnfInfo.Metadata["namespace"]; ns != "ns" {
			t.Errorf("%s: namespace %v", step.name, ns)
		}
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Instance(id); ok {
		t.Fatal("deleted instance still stored")
	}
	if err := s.Operate(id, "STOPPED"); err == nil {
		t.Fatal("operating a deleted instance succeeded")
	}
}

// TestListSelectors: a list without selectors leaves the complex attributes out, as SOL003's exclude_default says
// and Tacker does; all_fields brings them, on every page (the next link keeps it); fields is refused.
func TestListSelectors(t *testing.T) {
	s := Start(t, Options{PageSize: 2})
	if _, err := s.LoadFixture("testdata/fixtures/tacker-cnf.json"); err != nil {
		t.Fatal(err)
	}
	page := func(path string) ([]map[string]any, string) {
		t.Helper()
		resp, body := get(t, s, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var items []map[string]any
		if err := json.Unmarshal(body, &items); err != nil {
			t.Fatal(err)
		}
		return items, resp.Header.Get("Link")
	}
	for _, path := range []string{"/vnf_instances", "/vnf_instances?exclude_default"} {
		items, _ := page(path)
		for _, item := range items {
			for _, k := range excludedByDefault {
				if _, ok := item[k]; ok {
					t.Errorf("GET %s: instance %v carries %s", path, item["id"], k)
				}
			}
		}
	}
	items, link := page("/vnf_instances?all_fields")
	if items[0]["instantiatedVnfInfo"] == nil || items[0]["vimConnectionInfo"] == nil {
		t.Errorf("all_fields: the first instance lacks instantiatedVnfInfo or vimConnectionInfo: %v", items[0])
	}
	next, _, _ := strings.Cut(strings.TrimPrefix(link, "<"+s.URL+BasePath), ">")
	if !strings.Contains(next, "all_fields") || !strings.Contains(next, "nextpage_opaque_marker=") {
		t.Fatalf("next link %q loses all_fields or the marker", link)
	}
	items, _ = page(next)
	if len(items) == 0 || items[0]["instantiatedVnfInfo"] == nil && items[0]["instantiationState"] == "INSTANTIATED" {
		t.Errorf("the second page of an all_fields list lacks instantiatedVnfInfo: %v", items)
	}
	if resp, body := get(t, s, "/vnf_instances?fields=id"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("fields: %d %s, want 400", resp.StatusCode, body)
	}
}
