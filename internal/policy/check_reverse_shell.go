package policy

import (
	"context"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/payload"
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

func (c reverseShellCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	w.Containers(func(list string, i int, ctr *corev1.Container) {
		// The container's field path is made only for a violation: nearly every container has none.
		if payloadTokens.inAny(ctr.Command) || payloadTokens.inAny(ctr.Args) {
			if what := payload.MatchCommand(ctr.Command, ctr.Args); what != "" {
				out = append(out, violation(c, w.ContainerPath(list, i)+".command", "container "+strconv.Quote(ctr.Name)+" runs a "+what))
			}
		}
		for j := range ctr.Env {
			if v := ctr.Env[j].Value; v != "" && payloadTokens.in(v) {
				if what := payload.Match(v); what != "" {
					out = append(out, violation(c, w.ContainerPath(list, i)+".env["+strconv.Itoa(j)+"].value", "environment variable "+ctr.Env[j].Name+" of container "+strconv.Quote(ctr.Name)+" carries a "+what))
				}
			}
		}
		for _, h := range execHooks(ctr) {
			if !payloadTokens.inAny(h.command) {
				continue
			}
			if what := payload.MatchCommand(h.command, nil); what != "" {
				out = append(out, violation(c, w.ContainerPath(list, i)+"."+h.field, "container "+strconv.Quote(ctr.Name)+" "+h.field+" runs a "+what))
			}
		}
	})
	return out, nil
}

// payloadTokens are the tokens of package payload's patterns. Payload matches nothing in a text that holds none of
// them (payload.Pattern's Token), so the check hands it only the strings that hold one: nearly every container's
// command, arguments and environment hold none, and payload tests each token with its own strings.Contains (14
// passes over every string, about an eighth of a whole evaluation), where tokenSet makes one.
var payloadTokens = newTokenSet(payload.Patterns())

// tokenSet finds whether a string contains any of a set of tokens in one pass: a bitmap of the tokens' first two
// bytes says at which positions a token may start, and only there are the tokens compared.
type tokenSet struct {
	pairs  [1 << 16 / 64]uint64 // bit b0<<8|b1 set: some token starts with the bytes b0, b1
	long   []string             // the tokens of two bytes or more
	short  []string             // the tokens shorter than two bytes (none today), tested with strings.Contains
	always bool                 // an empty token: every string contains it
}

func newTokenSet(patterns []payload.Pattern) *tokenSet {
	t := &tokenSet{}
	for _, p := range patterns {
		switch tok := p.Token; {
		case tok == "":
			t.always = true
		case len(tok) < 2:
			t.short = append(t.short, tok)
		default:
			k := uint16(tok[0])<<8 | uint16(tok[1])
			t.pairs[k/64] |= 1 << (k % 64)
			t.long = append(t.long, tok)
		}
	}
	return t
}

// in reports whether s contains one of the tokens: exactly what strings.Contains(s, token) for each token says.
func (t *tokenSet) in(s string) bool {
	if t.always {
		return true
	}
	for _, tok := range t.short {
		if strings.Contains(s, tok) {
			return true
		}
	}
	for i := 0; i+1 < len(s); i++ {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		if t.pairs[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		for _, tok := range t.long {
			if strings.HasPrefix(s[i:], tok) {
				return true
			}
		}
	}
	return false
}

// inAny reports whether any of the strings contains one of the tokens.
func (t *tokenSet) inAny(list []string) bool {
	for _, s := range list {
		if t.in(s) {
			return true
		}
	}
	return false
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
