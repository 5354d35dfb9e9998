package policy

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check reverse-shell forbids, in every namespace, containers whose command, args, environment values, lifecycle
hooks or exec probes carry a reverse shell or a download-and-execute payload — the second half of the Peirates pod and
the way TeamTNT and Doki containers start:

  - bash/sh redirections to /dev/tcp or /dev/udp;
  - nc/ncat/netcat with -e/-c/--exec/--sh-exec, and busybox nc -e;
  - socat with EXEC: or SYSTEM: addresses;
  - mkfifo or mknod ... p pipes wired to nc, ncat, telnet or openssl;
  - telnet or openssl s_client piped into a shell;
  - python, perl, ruby and php one-liners that open sockets or spawn a pty;
  - curl or wget output piped into a shell or interpreter, or downloaded, made executable and run;
  - base64-decoded text piped into a shell or interpreter.

Allowed: everything else, including ordinary CNF entrypoints such as `sh -c "exec /usr/bin/upf --config ..."`,
health probes with `curl -sf http://localhost:8080/healthz` or `nc -z localhost 38412`, and downloads to a file
that is not executed.
*/
type reverseShellCheck struct{}

func init() { register(func() Check { return reverseShellCheck{} }) }

func (reverseShellCheck) ID() string        { return "reverse-shell" }
func (reverseShellCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (reverseShellCheck) Mitigations() []string {
	return []string{finding.MitigationExecutionPrevention}
}

// shellPattern is one payload shape: a cheap token that must occur before the regular expression is tried.
type shellPattern struct {
	token string
	re    *regexp.Regexp
	what  string
}

const shells = `(?:/(?:usr/)?bin/)?(?:ba|z|da|k|a|fi)?sh\b`
const interpreters = `(?:/(?:usr/)?bin/)?(?:(?:ba|z|da|k|a|fi)?sh|python[0-9.]*|perl|ruby|php|node)\b`

var shellPatterns = []shellPattern{
	{"/dev/", regexp.MustCompile(`/dev/(?:tcp|udp)/[^/\s]+/[0-9]+`), "shell redirection to /dev/tcp or /dev/udp (reverse shell)"},
	{"nc", regexp.MustCompile(`(?:^|[\s;|&(/])(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)\s(?:[^;|&]*\s)?(?:-[a-zA-Z]*[ec][a-zA-Z]*\s|--(?:sh-)?exec\b|--lua-exec\b)`), "netcat with -e/-c/--exec (reverse or bind shell)"},
	{"socat", regexp.MustCompile(`(?i)\bsocat\b.*\b(?:exec|system):`), "socat with an EXEC or SYSTEM address (reverse shell)"},
	{"mk", regexp.MustCompile(`\b(?:mkfifo|mknod\s+\S+\s+p)\b.*\b(?:nc|ncat|netcat|telnet|openssl)\b`), "named pipe wired to a network client (reverse shell)"},
	{"telnet", regexp.MustCompile(`\btelnet\b[^|]*\|\s*` + shells), "telnet piped into a shell (reverse shell)"},
	{"s_client", regexp.MustCompile(`\bopenssl\s+s_client\b.*\|\s*` + shells), "openssl s_client piped into a shell (encrypted reverse shell)"},
	{"python", regexp.MustCompile(`\bpython[0-9.]*\s+-c\b.*\b(?:pty\.spawn|socket\.socket|socket\(|os\.dup2|subprocess\.call\(\[?["'](?:/bin/)?(?:ba)?sh)`), "python one-liner opening a socket or spawning a pty (reverse shell)"},
	{"perl", regexp.MustCompile(`\bperl\s+(?:-\w+\s+)*-e\b.*\b(?:socket|Socket|IO::Socket|exec\s*\(?\s*["'](?:/bin/)?(?:ba)?sh)`), "perl one-liner opening a socket (reverse shell)"},
	{"ruby", regexp.MustCompile(`\bruby\s+(?:-\w+\s+)*(?:-rsocket\b|-e\b.*\bTCPSocket\b)`), "ruby one-liner opening a socket (reverse shell)"},
	{"php", regexp.MustCompile(`\bphp\s+-r\b.*\b(?:fsockopen|stream_socket_client)\b`), "php one-liner opening a socket (reverse shell)"},
	{"curl", regexp.MustCompile(`\bcurl\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "curl output piped into a shell (download and execute)"},
	{"wget", regexp.MustCompile(`\bwget\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "wget output piped into a shell (download and execute)"},
	{"chmod", regexp.MustCompile(`\b(?:curl|wget)\b[^;&|]*(?:-[oO]\s*|>\s*)(\S+).*\bchmod\s+(?:[0-7]*[157][0-7]*|\+?[ugoa]*\+x)\s+(\S+)`), "download made executable (download and execute)"},
	{"base64", regexp.MustCompile(`\bbase64\s+(?:-d|--decode|-D)\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "base64-decoded text piped into a shell (obfuscated payload)"},
}

func (c reverseShellCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	w.Containers(func(list string, i int, ctr *corev1.Container) {
		base := w.ContainerPath(list, i)
		if what := matchShell(ctr.Command, ctr.Args); what != "" {
			out = append(out, violation(c, base+".command", "container "+strconv.Quote(ctr.Name)+" runs a "+what))
		}
		for j := range ctr.Env {
			if v := ctr.Env[j].Value; v != "" {
				if what := matchShellText(v); what != "" {
					out = append(out, violation(c, base+".env["+strconv.Itoa(j)+"].value", "environment variable "+ctr.Env[j].Name+" of container "+strconv.Quote(ctr.Name)+" carries a "+what))
				}
			}
		}
		for _, h := range execHooks(ctr) {
			if what := matchShell(h.command, nil); what != "" {
				out = append(out, violation(c, base+"."+h.field, "container "+strconv.Quote(ctr.Name)+" "+h.field+" runs a "+what))
			}
		}
	})
	return out, nil
}

// matchShell joins a command and its arguments and returns the payload it carries, or "". Nothing is joined (and
// nothing allocated) unless some element contains one of the patterns' tokens.
func matchShell(command, args []string) string {
	if !anyToken(command) && !anyToken(args) {
		return ""
	}
	return matchShellText(strings.Join(append(append(make([]string, 0, len(command)+len(args)), command...), args...), " "))
}

func anyToken(parts []string) bool {
	for _, p := range parts {
		for i := range shellPatterns {
			if strings.Contains(p, shellPatterns[i].token) {
				return true
			}
		}
	}
	return false
}

func matchShellText(text string) string {
	for i := range shellPatterns {
		p := &shellPatterns[i]
		if strings.Contains(text, p.token) && p.re.MatchString(text) {
			return p.what
		}
	}
	return ""
}

type hook struct {
	field   string
	command []string
}

// execHooks lists the exec handlers of a container's lifecycle hooks and probes.
func execHooks(ctr *corev1.Container) []hook {
	var out []hook
	if l := ctr.Lifecycle; l != nil {
		if l.PostStart != nil && l.PostStart.Exec != nil {
			out = append(out, hook{"lifecycle.postStart.exec.command", l.PostStart.Exec.Command})
		}
		if l.PreStop != nil && l.PreStop.Exec != nil {
			out = append(out, hook{"lifecycle.preStop.exec.command", l.PreStop.Exec.Command})
		}
	}
	for _, p := range []struct {
		field string
		probe *corev1.Probe
	}{{"livenessProbe", ctr.LivenessProbe}, {"readinessProbe", ctr.ReadinessProbe}, {"startupProbe", ctr.StartupProbe}} {
		if p.probe != nil && p.probe.Exec != nil {
			out = append(out, hook{p.field + ".exec.command", p.probe.Exec.Command})
		}
	}
	return out
}
