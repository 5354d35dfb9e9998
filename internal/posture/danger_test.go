package posture

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
)

// TestSharedHostPathTable: the posture scan's host-takeover finding agrees with danger.HostPathCases, the table
// admission and detection run too.
func TestSharedHostPathTable(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range danger.HostPathCases {
		file := filepath.Join(dir, "case-"+strconv.Itoa(i)+".yaml")
		manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: team-a}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: c, image: "registry.example/app@sha256:` + zeros + `"}]
      volumes: [{name: h, hostPath: {path: ` + strconv.Quote(tc.Path) + `}}]
`
		if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := FromFiles([]string{file}, "")
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Scan(context.Background(), in, Options{Config: config.Default()})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, f := range fs {
			got = got || f.Rule == "posture-host-takeover"
		}
		if got != tc.Takeover {
			t.Errorf("posture: hostPath %q host-takeover %v, the shared table says %v", tc.Path, got, tc.Takeover)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
