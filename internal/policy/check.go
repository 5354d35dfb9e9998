package policy

import (
	"context"
	"sort"
	"strings"
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

// Lookup is an attribute of a request that the evaluator reads from the cluster before the checks run. A lookup can
// fail (the API server is slow or unavailable, the client is throttled); the checks that need it are then not run,
// and the others are.
type Lookup uint8

const (
	// LookupNamespace reads the namespace's labels to tell whether it is protected (Attributes.Protected). It is
	// made only when the configured selector, not a name in the configuration, decides.
	LookupNamespace Lookup = 1 << iota
	// LookupBinding follows the object's owner references, the target pod of a CONNECT or ephemeral-containers
	// request and the workload of a scale request to the VNF instance (Attributes.Binding, Profile, Target).
	LookupBinding
)

// Has reports whether l includes any lookup of m.
func (l Lookup) Has(m Lookup) bool { return l&m != 0 }

// String names the lookups: "namespace labels", "VNF binding", or both joined by "+".
func (l Lookup) String() string {
	var parts []string
	if l.Has(LookupNamespace) {
		parts = append(parts, "namespace labels")
	}
	if l.Has(LookupBinding) {
		parts = append(parts, "VNF binding")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// NeedsLookups is implemented by a check that reads attributes the evaluator looks up in the cluster. When one of
// those lookups fails, the evaluator does not run the check: the decision carries an internal error naming it
// instead, which fails closed or open as configured. A check that does not implement it reads only the request,
// the configuration and the inventory (or makes and reports its own lookups); it always runs, and its denials stand
// whatever the lookups did. As in Pod Security Admission's registry, each check declares what it reads.
type NeedsLookups interface {
	Needs() Lookup
}

// needsOf returns what a check needs looked up.
func needsOf(c Check) Lookup {
	if n, ok := c.(NeedsLookups); ok {
		return n.Needs()
	}
	return 0
}
