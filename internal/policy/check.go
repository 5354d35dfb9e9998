package policy

import (
	"context"
	"sort"
)

// Check is one policy check. Evaluate appends the violations it finds in the request to out and returns it; it
// returns out unchanged when the request passes or the check does not apply. An error means the check could not
// decide (a lookup failed): the evaluator then fails closed or open as configured.
type Check interface {
	// ID names the check in configuration, messages, metrics and findings.
	ID() string
	// Technique is the MITRE FiGHT technique the check stops.
	Technique() string
	// Mitigations are the MITRE mitigations the check implements.
	Mitigations() []string
	Evaluate(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error)
}

var registry = map[string]func() Check{}

// register adds a check constructor; each check file calls it from init.
func register(newCheck func() Check) {
	id := newCheck().ID()
	if _, dup := registry[id]; dup {
		panic("policy: check " + id + " registered twice") // a programming error, caught by any test run
	}
	registry[id] = newCheck
}

// CheckIDs lists the registered checks, sorted.
func CheckIDs() []string {
	ids := make([]string, 0, len(registry))
	for id := range registry {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Violation is one thing a check forbids, located at a field path.
type Violation struct {
	Check       string
	Technique   string
	Mitigations []string
	// Field is the field path of the offending value, e.g. spec.containers[0].securityContext.privileged, or the
	// subresource for CONNECT requests (pods/exec).
	Field   string
	Message string
}

// violation builds a Violation of check c.
func violation(c Check, field, message string) Violation {
	return Violation{Check: c.ID(), Technique: c.Technique(), Mitigations: c.Mitigations(), Field: field, Message: message}
}
