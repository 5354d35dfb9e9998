package detect

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

const caseRules = `rules:
  - id: any-get
    condition: event.verb == "get"
    severity: info
  - id: protected-list
    condition: event.verb == "list" && isProtectedNamespace()
    severity: info
`

func TestRunCases(t *testing.T) {
	suites, err := LoadSuiteFiles(filepath.Join("testdata", "cases", "suite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	results, err := RunSuite(context.Background(), mustRules(t, caseRules), suites[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		passed  bool
		problem string
	}{{true, ""}, {false, "any-get: want 0, got 1"}, {true, ""}}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, w := range want {
		if results[i].Passed != w.passed || results[i].Problem != w.problem {
			t.Errorf("case %q: passed %v problem %q, want %v %q", results[i].Case, results[i].Passed, results[i].Problem, w.passed, w.problem)
		}
	}
}

func TestParseSuiteErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"no expect", "cases:\n  - name: a\n    events: [{verb: get}]\n", "case 1 (a): expect: required"},
		{"bad word", "cases:\n  - name: a\n    events: [{verb: get}]\n    expect: nothing\n", `expect: "nothing": want none`},
		{"zero count", "cases:\n  - name: a\n    events: [{verb: get}]\n    expect: {r: 0}\n", "rule r: count 0"},
		{"no events", "cases:\n  - name: a\n    expect: none\n", "case 1 (a): no events"},
		{"no name", "cases:\n  - events: [{verb: get}]\n    expect: none\n", "name is required"},
		{"unknown field", "cases:\n  - name: a\n    event: [{verb: get}]\n    expect: none\n", `unknown field "event"`},
		{"bad event", "cases:\n  - name: a\n    events: [{verb: [1]}]\n    expect: none\n", "case 1 (a): event 1: not an audit event"},
		{"events file without fs", "cases:\n  - name: a\n    eventsFile: x.jsonl\n    expect: none\n", "no file system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSuite("s.yaml", []byte(tt.data), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "s.yaml") {
				t.Errorf("got %v, want an error naming s.yaml and containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeEventLines(t *testing.T) {
	evs, err := DecodeEventLines([]byte("{\"verb\":\"get\"}\n\n{\"verb\":\"list\",\"stage\":\"Panic\"}\n"))
	if err != nil || len(evs) != 2 || evs[0].Stage != "ResponseComplete" || evs[1].Stage != "Panic" {
		t.Fatalf("got %v, %v", evs, err)
	}
	if _, err := DecodeEventLines([]byte("{\"verb\":\"get\"}\n{bad\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("got %v, want an error naming line 2", err)
	}
}
