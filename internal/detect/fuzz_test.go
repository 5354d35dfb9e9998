package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadRules feeds arbitrary rule files to the loader: it must return rules or an error naming the file, and
// never panic, whatever the YAML or the CEL inside it.
func FuzzLoadRules(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "rules", "*.yaml"))
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("rules:\n  - id: x\n    condition: '${'\n    output: '${${}}'\n    severity: info\n"))
	f.Add([]byte("rules:\n  - id: x\n    condition: >\n      a &&\n\n        b\n    severity: info\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range rules {
			if r.ID == "" || r.cond == nil {
				t.Fatalf("rule without id or program: %+v", r)
			}
		}
	})
}

// FuzzEvaluate feeds arbitrary audit events (as JSON lines) through the built-in pack: no panic, no error.
func FuzzEvaluate(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n")[:40] {
		f.Add([]byte(l))
	}
	pack, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	e, err := NewEngine(pack, Env{Inventory: stoppedSMF(), Objects: staticObjects{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		evs, err := DecodeEventLines(line)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if _, err := e.Evaluate(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
	})
}
