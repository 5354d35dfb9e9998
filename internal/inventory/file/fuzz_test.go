package file

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that a success is self-consistent.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.json", "testdata/bad/*"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("- &a [*a]"))
	f.Add([]byte(`{"vnfInstances": [{"id": 1e400}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		instances, err := Parse(data, "fuzz")
		if err != nil {
			if instances != nil {
				t.Fatalf("instances with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, inst := range instances {
			if inst.ID == "" || inst.VnfdID == "" || seen[inst.ID] {
				t.Fatalf("accepted an invalid instance: %+v", inst)
			}
			seen[inst.ID] = true
		}
	})
}
