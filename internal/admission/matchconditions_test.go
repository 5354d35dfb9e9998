package admission

import (
	"testing"

	"github.com/google/cel-go/cel"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestMatchConditionsVolumes evaluates the volume match conditions with CEL (optional types on, as in the API
// server) and checks that they send exactly the requests check lifecycle-data judges: claims that name a volume,
// and volume updates that vnf.ClaimRef.Repoints calls a hand-over. The API server compiles them too: the
// end-to-end tests register them.
func TestMatchConditionsVolumes(t *testing.T) {
	env, err := cel.NewEnv(cel.OptionalTypes(),
		cel.Variable("request", cel.DynType), cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	var progs []cel.Program
	for _, mc := range MatchConditions(vnf.DefaultInstanceLabel) {
		ast, iss := env.Compile(mc.Expression)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", mc.Name, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatalf("%s: %v", mc.Name, err)
		}
		progs = append(progs, prg)
	}
	sent := func(resource string, object, oldObject map[string]any) bool {
		vars := map[string]any{
			"request":   map[string]any{"userInfo": map[string]any{"username": "mallory"}, "resource": map[string]any{"resource": resource}},
			"object":    object,
			"oldObject": oldObject,
		}
		for i, prg := range progs {
			out, _, err := prg.Eval(vars)
			if err != nil {
				t.Fatalf("%s on %s: %v", MatchConditions(vnf.DefaultInstanceLabel)[i].Name, resource, err)
			}
			if out.Value() != true {
				return false
			}
		}
		return true
	}
	pv := func(ref vnf.ClaimRef) map[string]any {
		spec := map[string]any{"persistentVolumeReclaimPolicy": "Retain"}
		if ref.Set() {
			claim := map[string]any{"namespace": ref.Namespace, "name": ref.Name}
			if ref.UID != "" {
				claim["uid"] = ref.UID
			}
			spec["claimRef"] = claim
		}
		return map[string]any{"spec": spec}
	}
	udr := vnf.ClaimRef{Namespace: "vnf-udr", Name: "data-udr-0", UID: "u1"}
	for _, tt := range []struct {
		name     string
		old, new vnf.ClaimRef
	}{
		{"re-pointed to another claim", udr, vnf.ClaimRef{Namespace: "lab-sandbox", Name: "loot"}},
		{"cleared", udr, vnf.ClaimRef{}},
		{"UID cleared", udr, vnf.ClaimRef{Namespace: "vnf-udr", Name: "data-udr-0"}},
		{"UID replaced", udr, vnf.ClaimRef{Namespace: "vnf-udr", Name: "data-udr-0", UID: "u2"}},
		{"claim set on an available volume", vnf.ClaimRef{}, udr},
		{"UID filled in by the controller", vnf.ClaimRef{Namespace: "vnf-udr", Name: "data-udr-0"}, udr},
		{"unchanged", udr, udr},
		{"unbound, unchanged", vnf.ClaimRef{}, vnf.ClaimRef{}},
	} {
		want := tt.old.Repoints(tt.new)
		if got := sent("persistentvolumes", pv(tt.new), pv(tt.old)); got != want {
			t.Errorf("PersistentVolume update %s: sent = %v, want %v (vnf.ClaimRef.Repoints)", tt.name, got, want)
		}
	}
	// The instance label: taken off, changed or set is sent; other labels are not.
	labelled := func(labels map[string]any) map[string]any {
		o := pv(udr)
		if labels != nil {
			o["metadata"] = map[string]any{"labels": labels}
		}
		return o
	}
	key := vnf.DefaultInstanceLabel
	for _, tt := range []struct {
		name     string
		old, new map[string]any
		want     bool
	}{
		{"instance label removed", map[string]any{key: "udr-1"}, nil, true},
		{"instance label changed", map[string]any{key: "udr-1"}, map[string]any{key: "smf-1"}, true},
		{"instance label set", nil, map[string]any{key: "udr-1"}, true},
		{"instance label kept, another label added", map[string]any{key: "udr-1"}, map[string]any{key: "udr-1", "tier": "cold"}, false},
		{"no labels at all", nil, nil, false},
	} {
		if got := sent("persistentvolumes", labelled(tt.new), labelled(tt.old)); got != tt.want {
			t.Errorf("PersistentVolume update, %s: sent = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !sent("persistentvolumeclaims", map[string]any{"spec": map[string]any{"volumeName": "pv-1"}}, nil) {
		t.Error("a claim naming its volume is not sent")
	}
	if sent("persistentvolumeclaims", map[string]any{"spec": map[string]any{"storageClassName": "fast"}}, nil) {
		t.Error("a claim without spec.volumeName is sent: every dynamic provisioning would wait on vnfguard")
	}
	if !sent("pods", map[string]any{"spec": map[string]any{}}, nil) {
		t.Error("a pod is not sent")
	}
}
