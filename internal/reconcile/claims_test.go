package reconcile

import (
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestClaimsBindTerminatedStorage: a StatefulSet's PVC carries no instance label; after TERMINATE the instance no
// longer lists it. Only the remembered claim ties it to the instance, which makes it residual data.
func TestClaimsBindTerminatedStorage(t *testing.T) {
	running := vnf.NewSnapshot("test", "v1", t0.Add(-time.Hour), []*vnf.Instance{instance("udr-1", "UDR", "core", "INSTANTIATED", pvcs("data-udr-0"))})
	terminated := vnf.NewSnapshot("test", "v2", t0, []*vnf.Instance{instance("udr-1", "UDR", "core", "NOT_INSTANTIATED")})
	state := NewState([]string{"core"}, []Object{object(KindPersistentVolumeClaim, "core", "data-udr-0"), object(KindPersistentVolumeClaim, "core", "scratch")})
	opts := DefaultOptions()

	if got := Evaluate(terminated, nil, state, opts, t0); len(got) != 0 {
		t.Fatalf("without a memory of the claim the PVC belongs to nobody, want no finding; got %v", got)
	}
	opts.Claims = NewClaims()
	if !opts.Claims.Learn(running) || opts.Claims.Learn(running) {
		t.Fatal("Learn must report a new snapshot once, and the same one as nothing new")
	}
	opts.Claims.Learn(terminated)
	got := Evaluate(terminated, nil, state, opts, t0)
	if len(got) != 1 || got[0].Rule != RuleResidual || got[0].Object.Name != "data-udr-0" || got[0].VNFInstance != "udr-1" || got[0].Technique != finding.AccessingTerminatedVNF {
		t.Fatalf("want one residual finding on data-udr-0 of udr-1; got %v", got)
	}

	// Gone from the cluster and listed by nobody: forgotten. Still present: kept.
	opts.Claims.Forget(terminated, func(ns, name string) bool { return name == "data-udr-0" })
	if _, ok := opts.Claims.Lookup("core", "data-udr-0"); !ok {
		t.Fatal("a claim on an object that still exists was forgotten")
	}
	opts.Claims.Forget(terminated, func(string, string) bool { return false })
	if n := opts.Claims.Len(); n != 0 {
		t.Fatalf("%d claims left after their objects went away", n)
	}

	// After a restart, the open finding teaches the claim again.
	restarted := NewClaims()
	restarted.RememberFindings(got)
	if id, ok := restarted.Lookup("core", "data-udr-0"); !ok || id != "udr-1" {
		t.Fatalf("claim re-learned from an open finding = %q, %v; want udr-1", id, ok)
	}
}
