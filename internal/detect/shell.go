package detect

import "github.com/vnfguard/vnfguard/internal/payload"

// reverseShell returns what payload text carries, or "": the same patterns the admission check refuses, so that
// detection sees the payloads of pods created past the webhook and of exec command lines.
func reverseShell(text string) string { return payload.Match(text) }
