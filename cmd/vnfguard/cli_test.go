package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// vnfguard version prints the version set with -ldflags, the Go version and the build's module information.
func TestVersionCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "vnfguard dev\n") || !strings.Contains(out, "go: "+runtime.Version()) {
		t.Fatalf("exit %d: %q %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "version", "-o", "json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || v.Version != "dev" || v.GoVersion != runtime.Version() || v.Platform == "" {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}

	// A real build: the version comes from -ldflags.
	if testing.Short() {
		return
	}
	bin := filepath.Join(t.TempDir(), "vnfguard")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	build.Env = os.Environ()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	got, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(got), "vnfguard v9.8.7-test\ngo: ") || !strings.Contains(string(got), "module: github.com/vnfguard/vnfguard") {
		t.Fatalf("built binary: %v: %s", err, got)
	}
}

// Every flag's help renders as written: pflag turns a `quoted` word of a usage string into the flag's value
// name, so "--once vnfguard serve" appeared in reconcile --help for a boolean flag.
func TestFlagHelpRenders(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has backquotes; help shows %q as the value name and %q as the text", c.CommandPath(), f.Name, f.Usage, name, usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(nil, nil))

	code, out, _ := runCLI(t, "reconcile", "--help")
	if code != 0 || !regexp.MustCompile(`\n\s+--once\s+reconcile once and report \(required: the continuous mode is part of vnfguard serve\)\n`).MatchString(out) {
		t.Errorf("reconcile --help renders --once as:\n%s", out)
	}
}

// Empty inputs are errors that say what is empty, never silent successes: a manifest set with no object (policy
// test, scan), an empty --config and an empty rule file. An empty audit log is not: a quiet cluster writes one.
func TestEmptyInputs(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yaml")
	comments := filepath.Join(dir, "comments.yaml")
	write(t, empty, "")
	write(t, comments, "# nothing here yet\n---\n")
	emptyDir := filepath.Join(dir, "manifests")
	write(t, filepath.Join(emptyDir, "a.yaml"), "---\n")
	audit := filepath.Join(dir, "audit.log")
	write(t, audit, "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "test", "-f", empty}, "-f " + empty + ": no Kubernetes object in the input: nothing to judge"},
		{[]string{"policy", "test", "-f", comments}, "no Kubernetes object in the input"},
		{[]string{"policy", "test", "-f", emptyDir}, "no Kubernetes object in the input"},
		{[]string{"scan", "-f", empty}, "posture: " + empty + ": no Kubernetes object in the input: nothing to scan"},
		{[]string{"policy", "test", "-f", "../../examples/manifests", "--config", empty}, "config " + empty + ": the file is empty"},
		{[]string{"policy", "test", "-f", "../../examples/manifests", "--config", comments}, "the file is empty"},
		{[]string{"detect", "--file", audit, "--config", empty}, "the file is empty"},
		{[]string{"rules", "validate", empty}, empty + ": the file is empty: a rule file holds a rules: list with at least one rule"},
		{[]string{"detect", "--file", audit, "--rules", empty}, "the file is empty"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != exitError || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d stdout %q stderr %q, want exit 2 with %q", tt.args, code, out, errOut, tt.want)
		}
	}
	if code, _, errOut := runCLI(t, "detect", "--file", audit); code != 0 {
		t.Errorf("an empty audit log: exit %d %s, want 0 (no events, no findings)", code, errOut)
	}
}

// A rule field typo fails rules validate with its position; a one-line override switches a built-in rule off.
func TestRulesValidateTypoAndOverride(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	write(t, typo, "rules:\n  - id: site-exec\n    condition: event.objectRef.resourc == 'pods'\n    severity: high\n")
	code, _, errOut := runCLI(t, "rules", "validate", typo)
	if code != exitError || !strings.Contains(errOut, typo+":3:31: rule site-exec: condition: undefined field 'resourc'") {
		t.Errorf("typo: exit %d %s", code, errOut)
	}
	off := filepath.Join(dir, "off.yaml")
	write(t, off, "rules:\n  - {id: exec-running-vnf, enabled: false}\n")
	code, out, errOut := runCLI(t, "rules", "list", "--rules", off, "-o", "json")
	var rules []struct {
		ID      string
		Enabled bool
		Source  string
	}
	if err := json.Unmarshal([]byte(out), &rules); err != nil || code != 0 {
		t.Fatalf("rules list: exit %d %v %s", code, err, errOut)
	}
	found := false
	for _, r := range rules {
		if r.ID == "exec-running-vnf" {
			found = true
			if r.Enabled || !strings.Contains(r.Source, "enabled: false at "+off+":2") {
				t.Errorf("exec-running-vnf after the override: %+v", r)
			}
		}
	}
	if !found {
		t.Error("the override removed the rule instead of switching it off")
	}
	if code, out, errOut := runCLI(t, "rules", "validate", off); code != 0 || !strings.Contains(out, "rules valid") {
		t.Errorf("rules validate of an override: exit %d %s %s", code, out, errOut)
	}
}

// scan of a manifest in an API version vnfguard does not judge is an error, not a clean report.
func TestScanUnsupportedVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cron.yaml")
	write(t, path, "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c, namespace: x}\nspec:\n  schedule: '* * * * *'\n  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: ubuntu, securityContext: {privileged: true}}], restartPolicy: Never}}}}\n")
	code, _, errOut := runCLI(t, "scan", "-f", path)
	if code != exitError || !strings.Contains(errOut, "CronJob batch/v1beta1: API version not judged by vnfguard") {
		t.Errorf("exit %d %s", code, errOut)
	}
}
