package detect

import "github.com/vnfguard/vnfguard/internal/payload"

// reverseShell returns what payload text carries, or "": the same patterns the admission check refuses, so that
// detection sees the payloads of pods created past the webhook and of exec command lines.
//
// Verdicts on short texts are remembered: the pods of one template repeat their command lines, env values and probe
// commands in every create ("nc -z localhost 8805" runs a pattern's expression, for microseconds, where a lookup
// takes tens of nanoseconds). The memory is bounded in entries and in the length of the texts it keeps.
func reverseShell(text string) string {
	if len(text) > maxRememberedPayloadText {
		return payload.Match(text)
	}
	if what, ok := payloadVerdicts.get(text); ok {
		return what
	}
	what := payload.Match(text)
	payloadVerdicts.put(text, what)
	return what
}

const (
	maxRememberedPayloadText     = 256
	maxRememberedPayloadVerdicts = 4096
)

var payloadVerdicts = newBoundedMap[string, string](maxRememberedPayloadVerdicts)
