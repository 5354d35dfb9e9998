package payload

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func TestReverseShellPayloads(t *testing.T) {
	payloads := readLines(t, "testdata/reverse-shells.txt")
	if len(payloads) < 30 {
		t.Fatalf("only %d payloads read", len(payloads))
	}
	for _, payload := range payloads {
		if what := Match(payload); what == "" {
			t.Errorf("not caught: %s", payload)
		}
		// The same payload split the way Kubernetes manifests carry it: command ["/bin/sh","-c"], args [payload].
		if what := MatchCommand([]string{"/bin/sh", "-c"}, []string{payload}); what == "" {
			t.Errorf("not caught as command+args: %s", payload)
		}
	}
}

func TestReverseShellBenignEntrypoints(t *testing.T) {
	for _, cmd := range readLines(t, "testdata/benign-commands.txt") {
		if what := Match(cmd); what != "" {
			t.Errorf("false positive (%s): %s", what, cmd)
		}
	}
}
