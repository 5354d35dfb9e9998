// Package rules holds vnfguard's built-in detection rule pack: the *.yaml files of this directory, embedded in the
// binary. Their cases (events in, expected findings out) are under tests/; `vnfguard rules test` runs them.
package rules

import "embed"

// FS holds the rule files (*.yaml at the top) and their test cases (tests/*.yaml).
//
//go:embed *.yaml tests/*.yaml
var FS embed.FS
