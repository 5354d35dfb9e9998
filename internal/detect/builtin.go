package detect

import (
	"fmt"

	"github.com/vnfguard/vnfguard/rules"
)

// Builtin loads the embedded rule pack.
func Builtin() ([]*Rule, error) {
	rs, err := LoadRules(rules.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in rule pack: %w", err)
	}
	return rs, nil
}
