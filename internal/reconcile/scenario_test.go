package reconcile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// loadScenario reads testdata/NAME: inventory.yaml (the file source's format), cluster.yaml (a v1 List of the
// cluster's objects) and want.txt (the expected findings, one "rule severity object instance" a line).
func loadScenario(t *testing.T, name string) (*vnf.Snapshot, []Object, []string) {
	t.Helper()
	dir := filepath.Join("testdata", name)
	data, err := os.ReadFile(filepath.Join(dir, "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	instances, err := file.Parse(data, "inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := readObjects(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return vnf.NewSnapshot("inventory.yaml", "v1", t0, instances), objs, strings.Split(strings.TrimSpace(string(want)), "\n")
}

// readObjects reads a v1 List of manifests into Objects.
func readObjects(path string) ([]Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(list.Items))
	for _, item := range list.Items {
		out = append(out, FromUnstructured(&unstructured.Unstructured{Object: item}))
	}
	return out, nil
}

func TestScenarioTacker(t *testing.T) {
	snap, objs, want := loadScenario(t, "tacker")
	got := Evaluate(snap, nil, NewState([]string{"vnf-core"}, objs), DefaultOptions(), t0)
	if !slices.Equal(summary(got), want) {
		t.Fatalf("findings:\n  %s\nwant (testdata/tacker/want.txt):\n  %s", strings.Join(summary(got), "\n  "), strings.Join(want, "\n  "))
	}
	for _, f := range got {
		if f.Object.Kind == KindPersistentVolume && (f.Evidence["claim"] != "vnf-core/data-amf-0" || f.Evidence["phase"] != "Bound") {
			t.Errorf("PV evidence %v: want the claim and phase from the manifest", f.Evidence)
		}
		if f.Object.Kind == KindSecret && (f.Evidence["age"] != "94h0m0s" || f.Evidence["terminatedFor"] != "2h0m0s") {
			t.Errorf("Secret evidence %v: want age 94h0m0s, terminatedFor 2h0m0s", f.Evidence)
		}
		if _, err := json.Marshal(f); err != nil {
			t.Errorf("finding %s does not encode: %v", f.ID, err)
		}
	}
}
