package sol003

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func TestDecodeInstances(t *testing.T) {
	tests := []struct {
		file       string
		ids        []string
		namespaces []string
		resources  [][]string
	}{
		{"testdata/instances/tacker-cnf-list.json",
			[]string{"7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b", "0a6f0c4e-3b8d-4a35-8d8e-2d8c3a9b7e10", "5c1d9e22-8f7a-4e61-b0c3-6a4f2e9d1b73", "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"},
			[]string{"vnf-upf", "vnf-udr", "vnf-smf", "vnf-amf"},
			[][]string{{"upf-7d9c5b6f4-abcde", "upf-7d9c5b6f4-fghij"}, {"udr-0", "data-udr-0"}, {}, {}}},
		{"testdata/instances/sol002-storage.json", []string{"i1"}, []string{"ns-x"}, [][]string{{"x-0", "data-x-0"}}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			must(t, err)
			list, err := decodeInstances(data, "GET test", 1)
			must(t, err)
			if len(list) != len(tt.ids) {
				t.Fatalf("%d instances, want %d", len(list), len(tt.ids))
			}
			for i, inst := range list {
				if inst.ID != tt.ids[i] || inst.Namespace != tt.namespaces[i] {
					t.Errorf("instance %d: id %s namespace %q; want %s %q", i, inst.ID, inst.Namespace, tt.ids[i], tt.namespaces[i])
				}
				if got, want := strings.Join(vnf.ResourceNames(inst), ","), strings.Join(tt.resources[i], ","); got != want {
					t.Errorf("instance %d: resources %s, want %s", i, got, want)
				}
			}
		})
	}
}

func TestDecodeInstancesRejects(t *testing.T) {
	files, _ := filepath.Glob("testdata/instances/bad/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			must(t, err)
			want, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".err")
			must(t, err)
			list, err := decodeInstances(data, "GET test", 1)
			if err == nil || list != nil {
				t.Fatalf("accepted: %v", list)
			}
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDecodeInstance(t *testing.T) {
	_, err := decodeInstance([]byte(`{"id": "a", "vnfdId": "d", "instantiationState": "INSTANTIATED", "instantiatedVnfInfo": {"vnfState": "PAUSED"}}`), "GET http://vnfm/vnflcm/v2/vnf_instances/a")
	if err == nil || err.Error() != `GET http://vnfm/vnflcm/v2/vnf_instances/a: instantiatedVnfInfo.vnfState: is "PAUSED"; want STARTED or STOPPED` {
		t.Fatalf("error %v", err)
	}
}
