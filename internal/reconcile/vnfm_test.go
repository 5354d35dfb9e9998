package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

func disclosing(paths ...string) func(*vnf.Instance) {
	return func(inst *vnf.Instance) { inst.DisclosedCredentials = paths }
}

// vnfmFindings evaluates the snapshot against an empty cluster and keeps the VNFM's findings.
func vnfmFindings(snap *vnf.Snapshot, now time.Time) []finding.Finding {
	var out []finding.Finding
	for _, f := range Evaluate(snap, nil, NewState([]string{"vnf-a"}, nil), DefaultOptions(), now) {
		if f.Rule == RuleVNFMDisclosesCredentials {
			out = append(out, f)
		}
	}
	return out
}

func TestVNFMDisclosesCredentials(t *testing.T) {
	token := "vimConnectionInfo.vim1.accessInfo.bearer_token"
	snap := vnf.NewSnapshot("sol003:https://tacker.example:9890", "v1", t0, []*vnf.Instance{
		instance("b", "UPF", "vnf-a", "INSTANTIATED", disclosing(token)),
		instance("c", "SMF", "vnf-a", "NOT_INSTANTIATED"),
		instance("a", "AMF", "vnf-a", "STOPPED", disclosing("vimConnectionInfo.vim1.accessInfo.password", token)),
	})
	fs := vnfmFindings(snap, t0)
	if len(fs) != 1 {
		t.Fatalf("%d findings, want one for the VNFM: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Source != Source || f.Technique != finding.MaliciousVNFInstantiation || f.Severity != finding.High ||
		!slices.Equal(f.Mitigations, []string{finding.MitigationUserAccounts, finding.MitigationLimitNetworkAccess}) {
		t.Errorf("finding %+v", f)
	}
	if f.Object != (finding.ObjectRef{Kind: "Component", Name: "vnfm"}) || f.VNFInstance != "" {
		t.Errorf("object %v, instance %q: the finding is about the VNFM", f.Object, f.VNFInstance)
	}
	ev := f.Evidence
	if ev["vnfm"] != "https://tacker.example:9890" || ev["vnfInstances"] != "a,b" || ev["instances"] != "2" ||
		ev["fields"] != "vimConnectionInfo.vim1.accessInfo.bearer_token,vimConnectionInfo.vim1.accessInfo.password" {
		t.Errorf("evidence %v", ev)
	}
	for _, want := range []string{"https://tacker.example:9890", "bearer_token", "2 VNF instances", "keys to the cluster"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	for _, want := range []string{"M1018", "M1035", "11.0.0", "least privilege", "rotate"} {
		if !strings.Contains(ev["fix"], want) {
			t.Errorf("fix %q lacks %q", ev["fix"], want)
		}
	}

	// The ID is the VNFM's: instances coming and going do not make it another finding.
	other := vnf.NewSnapshot(snap.Source, "v2", t0, []*vnf.Instance{instance("z", "UDR", "vnf-a", "INSTANTIATED", disclosing(token))})
	if g := vnfmFindings(other, t0); len(g) != 1 || g[0].ID != f.ID {
		t.Errorf("another instance disclosing: %+v, want the same ID %s", g, f.ID)
	}
	// Another VNFM is another finding.
	elsewhere := vnf.NewSnapshot("sol003:https://vnfm-2.example", "v3", t0, []*vnf.Instance{instance("z", "UDR", "vnf-a", "INSTANTIATED", disclosing(token))})
	if g := vnfmFindings(elsewhere, t0); len(g) != 1 || g[0].ID == f.ID {
		t.Errorf("another VNFM: %+v, want an ID other than %s", g, f.ID)
	}
	// Nothing disclosed, or no inventory: nothing to report.
	quiet := vnf.NewSnapshot(snap.Source, "v4", t0, []*vnf.Instance{instance("a", "AMF", "vnf-a", "INSTANTIATED")})
	if g := vnfmFindings(quiet, t0); len(g) != 0 {
		t.Errorf("no credentials disclosed: %+v", g)
	}
	if g := vnfmFindings(vnf.Empty(snap.Source), t0); len(g) != 0 {
		t.Errorf("an inventory never loaded: %+v", g)
	}
}

func TestVNFMDisclosesCredentialsBounded(t *testing.T) {
	var insts []*vnf.Instance
	for i := range 25 {
		insts = append(insts, instance(fmt.Sprintf("i%02d", i), "UPF", "vnf-a", "INSTANTIATED",
			disclosing(fmt.Sprintf("vimConnectionInfo.vim%02d.accessInfo.token", i))))
	}
	fs := vnfmFindings(vnf.NewSnapshot("sol003:https://vnfm", "v", t0, insts), t0)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	ev := fs[0].Evidence
	if ev["instances"] != "25" || !strings.HasSuffix(ev["vnfInstances"], "i09 and 15 more") || !strings.HasSuffix(ev["fields"], "vim09.accessInfo.token and 15 more") {
		t.Errorf("evidence %v", ev)
	}
	if n := len(fs[0].Message); n > 400 {
		t.Errorf("message of %d bytes: %s", n, fs[0].Message)
	}
}

// TestVNFMDisclosureFromTheTestVNFM: the SOL003 source reading the test VNFM, and the tracker over successive
// passes. A VNFM answering as Tacker 11 gives no finding; one that returns accessInfo's secrets gives one that names
// the fields and holds none of the values; it resolves at the first pass after the VNFM stops.
func TestVNFMDisclosureFromTheTestVNFM(t *testing.T) {
	vnfm := vnfmtest.Start(t, vnfmtest.Options{})
	src, err := sol003.NewSource(sol003.Config{APIRoot: vnfm.URL, Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := vnfm.Create("upf-1", vnfmtest.Package{VnfdID: "d-upf", Provider: "Acme", ProductName: "UPF", SoftwareVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-a", Name: "upf"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tracker := NewTracker(0, nil)
	pass := func(now time.Time) (current, opened, resolved []finding.Finding) {
		t.Helper()
		if err := src.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		current = vnfmFindings(src.Snapshot(), now)
		opened, resolved = tracker.Update(current, now)
		return current, opened, resolved
	}

	if current, _, _ := pass(t0); len(current) != 0 {
		t.Fatalf("a VNFM answering as Tacker 11: %+v", current)
	}

	vnfm.SetDiscloseAccessInfo(true)
	_, opened, _ := pass(t0.Add(time.Minute))
	if len(opened) != 1 {
		t.Fatalf("a VNFM disclosing the VIM's credentials: %d findings opened, want 1", len(opened))
	}
	f := opened[0]
	if f.Evidence["vnfm"] != vnfm.URL || f.Evidence["vnfInstances"] != id ||
		f.Evidence["fields"] != "vimConnectionInfo.vim1.accessInfo.client_secret,vimConnectionInfo.vim1.accessInfo.password" {
		t.Errorf("evidence %v", f.Evidence)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	secrets := vnfm.VIMSecrets()
	if len(secrets) == 0 {
		t.Fatal("the test VNFM holds no VIM secrets: nothing to look for")
	}
	for _, s := range secrets {
		if strings.Contains(string(data), s) {
			t.Errorf("the finding holds the secret value %q: %s", s, data)
		}
	}

	vnfm.SetDiscloseAccessInfo(false)
	current, opened, resolved := pass(t0.Add(2 * time.Minute))
	if len(current) != 0 || len(opened) != 0 || len(resolved) != 1 || resolved[0].ID != f.ID || resolved[0].Resolved.IsZero() {
		t.Fatalf("the VNFM stopped disclosing: current %d, opened %d, resolved %+v; want the finding resolved", len(current), len(opened), resolved)
	}
}
