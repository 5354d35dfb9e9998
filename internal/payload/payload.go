// Package payload recognises reverse shells and download-and-execute payloads in command lines — the second half of
// the Peirates pod and the way TeamTNT and Doki containers start. The admission policy refuses pods that carry them
// and the detection rules look for them in pod specs and exec command lines: one set of patterns for both.
package payload

import (
	"regexp"
	"strings"
)

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

// MatchCommand joins a command and its arguments and returns the payload it carries, or "". Nothing is joined (and
// nothing allocated) unless some element contains one of the patterns' tokens.
func MatchCommand(command, args []string) string {
	if !anyToken(command) && !anyToken(args) {
		return ""
	}
	return Match(strings.Join(append(append(make([]string, 0, len(command)+len(args)), command...), args...), " "))
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

// Match returns what payload the text carries (e.g. "netcat with -e/-c/--exec (reverse or bind shell)"), or "".
func Match(text string) string {
	for i := range shellPatterns {
		p := &shellPatterns[i]
		if strings.Contains(text, p.token) && p.re.MatchString(text) {
			return p.what
		}
	}
	return ""
}

// Pattern is one payload shape as text, for an engine that must match with the same expressions: the API server's
// ValidatingAdmissionPolicies (internal/apipolicy) render them into CEL, whose matches() is RE2 as Go's regexp is.
type Pattern struct {
	// Token must occur in the text before Expr is tried (Match skips the expression otherwise, and so must a twin:
	// some expressions are case-insensitive where the token is not).
	Token string
	// Expr is the RE2 expression.
	Expr string
	// What names the payload, as Match returns it.
	What string
}

// Patterns returns the payload shapes Match tries, in its order.
func Patterns() []Pattern {
	out := make([]Pattern, len(shellPatterns))
	for i, p := range shellPatterns {
		out[i] = Pattern{Token: p.token, Expr: p.re.String(), What: p.what}
	}
	return out
}
