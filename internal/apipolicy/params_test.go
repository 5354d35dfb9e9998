package apipolicy

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// The embedded CRD is the one the constants name: detection watches it by ParamsCRD, the policies read its kind.
func TestParamsCRD(t *testing.T) {
	var crd struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Plural string `json:"plural"`
				Kind   string `json:"kind"`
			} `json:"names"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(CRD, &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Metadata.Name != ParamsCRD || crd.Spec.Group != ParamsGroup || crd.Spec.Names.Plural != ParamsResource || crd.Spec.Names.Kind != ParamsKind {
		t.Errorf("crd.yaml names %s (group %s, plural %s, kind %s), want %s (%s, %s, %s)", crd.Metadata.Name, crd.Spec.Group,
			crd.Spec.Names.Plural, crd.Spec.Names.Kind, ParamsCRD, ParamsGroup, ParamsResource, ParamsKind)
	}
}
