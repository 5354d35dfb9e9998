package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
)

// `vnfguard admission-policies` prints every policy and every binding the keeper applies, each policy before its
// bindings (a policy that reads the lifecycle parameters has several).
func TestAdmissionPoliciesPrintsTheSet(t *testing.T) {
	code, out, errOut := runCLI(t, "admission-policies", "--config", "../../examples/config.yaml", "-o", "json")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				PolicyName string `json:"policyName"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	cfg, err := loadConfig("../../examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := apipolicy.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var policies, bindings []string
	current := ""
	for _, it := range list.Items {
		switch it.Kind {
		case "ValidatingAdmissionPolicy":
			policies, current = append(policies, it.Metadata.Name), it.Metadata.Name
		case "ValidatingAdmissionPolicyBinding":
			bindings = append(bindings, it.Metadata.Name)
			if it.Spec.PolicyName != current {
				t.Errorf("binding %s of %s printed after policy %s", it.Metadata.Name, it.Spec.PolicyName, current)
			}
		default:
			t.Errorf("item of kind %q", it.Kind)
		}
	}
	slices.Sort(policies)
	slices.Sort(bindings)
	if !slices.Equal(policies, set.Names()) || !slices.Equal(bindings, set.BindingNames()) {
		t.Errorf("printed policies %v and bindings %v, want %v and %v", policies, bindings, set.Names(), set.BindingNames())
	}
	if len(bindings) <= len(policies) {
		t.Errorf("%d bindings for %d policies: the example's lifecycle policies have one per protection", len(bindings), len(policies))
	}
}
