package detect

import (
	"regexp"
	"strings"
)

// shellPattern is one reverse-shell or download-and-execute shape: a cheap token that must occur before the
// regular expression is tried. These are the shapes the admission check refuses; detection sees the same payloads
// in pods created past the webhook and in exec command lines.
type shellPattern struct {
	token string
	re    *regexp.Regexp
	what  string
}

const shells = `(?:/(?:usr/)?bin/)?(?:ba|z|da|k|a|fi)?sh\b`
const interpreters = `(?:/(?:usr/)?bin/)?(?:(?:ba|z|da|k|a|fi)?sh|python[0-9.]*|perl|ruby|php|node)\b`

var shellPatterns = []shellPattern{
	{"/dev/", regexp.MustCompile(`/dev/(?:tcp|udp)/[^/\s]+/[0-9]+`), "shell redirection to /dev/tcp or /dev/udp"},
	{"nc", regexp.MustCompile(`(?:^|[\s;|&(/])(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)\s(?:[^;|&]*\s)?(?:-[a-zA-Z]*[ec][a-zA-Z]*\s|--(?:sh-)?exec\b|--lua-exec\b)`), "netcat with -e/-c/--exec"},
	{"socat", regexp.MustCompile(`(?i)\bsocat\b.*\b(?:exec|system):`), "socat with an EXEC or SYSTEM address"},
	{"mk", regexp.MustCompile(`\b(?:mkfifo|mknod\s+\S+\s+p)\b.*\b(?:nc|ncat|netcat|telnet|openssl)\b`), "named pipe wired to a network client"},
	{"telnet", regexp.MustCompile(`\btelnet\b[^|]*\|\s*` + shells), "telnet piped into a shell"},
	{"s_client", regexp.MustCompile(`\bopenssl\s+s_client\b.*\|\s*` + shells), "openssl s_client piped into a shell"},
	{"python", regexp.MustCompile(`\bpython[0-9.]*\s+-c\b.*\b(?:pty\.spawn|socket\.socket|socket\(|os\.dup2)`), "python one-liner opening a socket or spawning a pty"},
	{"perl", regexp.MustCompile(`\bperl\s+(?:-\w+\s+)*-e\b.*\b(?:socket|Socket|IO::Socket)`), "perl one-liner opening a socket"},
	{"ruby", regexp.MustCompile(`\bruby\s+(?:-\w+\s+)*(?:-rsocket\b|-e\b.*\bTCPSocket\b)`), "ruby one-liner opening a socket"},
	{"php", regexp.MustCompile(`\bphp\s+-r\b.*\b(?:fsockopen|stream_socket_client)\b`), "php one-liner opening a socket"},
	{"curl", regexp.MustCompile(`\bcurl\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "curl output piped into a shell"},
	{"wget", regexp.MustCompile(`\bwget\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "wget output piped into a shell"},
	{"base64", regexp.MustCompile(`\bbase64\s+(?:-d|--decode|-D)\b[^|;&]*\|\s*(?:sudo\s+)?` + interpreters), "base64-decoded text piped into a shell"},
}

// reverseShell returns what payload text carries, or "".
func reverseShell(text string) string {
	for i := range shellPatterns {
		p := &shellPatterns[i]
		if strings.Contains(text, p.token) && p.re.MatchString(text) {
			return p.what
		}
	}
	return ""
}
