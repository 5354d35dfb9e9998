package posture

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// A pod that names no instance is bound by its namespace only when one instance lives there: with two, the finding
// could concern either, and it stays unbound.
func TestBindByNamespaceOnlyWhenUnambiguous(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: vnf-core}
spec:
  containers: [{name: sh, image: "registry.example/busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111", securityContext: {privileged: true}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := FromFiles([]string{path}, "")
	if err != nil {
		t.Fatal(err)
	}
	inst := func(id string) *vnf.Instance {
		return &vnf.Instance{ID: id, VnfdID: "d", InstantiationState: vnf.Instantiated,
			InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "vnf-core"}}}
	}
	for _, tc := range []struct {
		instances []*vnf.Instance
		want      string
	}{
		{[]*vnf.Instance{inst("amf-1")}, "amf-1"},
		{[]*vnf.Instance{inst("amf-1"), inst("smf-1")}, ""},
		{nil, ""},
	} {
		fs, err := Scan(context.Background(), in, Options{Config: config.Default(), Inventory: vnf.NewSnapshot("test", "v", time.Now(), tc.instances)})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			t.Fatal("the privileged pod raised no finding")
		}
		for _, f := range fs {
			if f.Object.Name == "debug" && f.VNFInstance != tc.want {
				t.Errorf("%d instances in the namespace: %s bound to %q, want %q", len(tc.instances), f.Rule, f.VNFInstance, tc.want)
			}
		}
	}
}
