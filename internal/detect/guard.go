package detect

import (
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// A guard is what the engine does of a rule's condition in Go, without CEL. Most conditions are a conjunction of
// tests of the event's fields and of helpers (event.verb == "get" && isPodAccess() && isDormant()), and most events
// fail the first of them: a lease renewal is judged by three of the thirty-odd built-in rules. Running a CEL program
// costs an activation frame and an interpreter walk even when its first test fails, and the programs were a third of
// the engine's time; so the engine tests those conjuncts itself.
//
// The guard is derived from the type-checked condition. Of the conjuncts at its top (c1 && c2 && ...), those of a
// form partOf knows become Go tests that return what CEL returns for them, true or false (none of those forms can be
// a CEL error: the event's fields are always present, and the helpers always have a value). CEL's && is false when
// any operand is false, whatever the others (errors included), so a false test means a false condition and the
// program is skipped; when every conjunct is a Go test, their conjunction is the condition, and the program is not
// run at all. Either way the result is the one CEL gives. TestGuardsAgreeWithCEL holds the built-in pack to it, rule
// by rule, over every corpus and suite, and FuzzGuardsAgreeWithCEL over made-up events and conditions.
//
// Tests that read only the event and the configuration (pure) run first, wherever they stand in the condition. The
// others (helpers that resolve the VNF instance, look a namespace up or decode a body) run after them in condition
// order, and only up to the first conjunct left to CEL: CEL would evaluate them in that order, and stop at the same
// false one, so the guard makes no lookup CEL would not have made.
//
// The guard also says which objectRef.resource values the condition can be true for at all (event.objectRef.resource
// in [...], isPodAccess(), isWorkloadWrite() ...), which subresources (event.objectRef.subresource == "", the same
// helpers) and which verbs (event.verb == "create", event.verb in [...], isWorkloadWrite()); the engine indexes its
// rules by the three, so that an event meets only the rules that could match it: a pod's status patch, the commonest
// write of a cluster, meets none of the rules about pod creates and execs.
type guard struct {
	pure     []test // conjuncts that read the event and the configuration only
	prefix   []test // the other Go conjuncts before the first one left to CEL, in condition order
	complete bool   // every conjunct is a Go test: no CEL
	bounds   bounds // the values of the indexed fields the condition can be true for
}

// indexedPaths are the event fields the engine files its rules by (Engine.index), in the order of the index's
// levels.
var indexedPaths = [...]string{"objectRef.resource", "objectRef.subresource", "verb"}

// Where each of indexedPaths stands in bounds.
const (
	boundResource = iota
	boundSubresource
	boundVerb
)

// bounds are, for each of indexedPaths, the values a condition can be true for; nil: any.
type bounds [len(indexedPaths)][]string

// and is what p && q can be true for, b and c being what p and q can: what both can.
func (b bounds) and(c bounds) bounds {
	for i := range b {
		b[i] = intersect(b[i], c[i])
	}
	return b
}

// or is what p || q can be true for: what either can, and any value where either is unbound.
func (b bounds) or(c bounds) bounds {
	for i := range b {
		if b[i] != nil && c[i] != nil {
			b[i] = union(b[i], c[i])
		} else {
			b[i] = nil
		}
	}
	return b
}

// test is a conjunct done in Go: the value CEL gives it, never an error.
type test func(a *activation) bool

// admits runs the guard's tests: false means the condition is false.
func (g *guard) admits(a *activation) bool {
	for _, t := range g.pure {
		if !t(a) {
			return false
		}
	}
	for _, t := range g.prefix {
		if !t(a) {
			return false
		}
	}
	return true
}

// guardFields are the string fields of the event a guard reads, as the CEL event (eventval.go) presents them:
// objectRef, user and responseStatus are always there, empty when the event has none.
var guardFields = map[string]func(*auditv1.Event) string{
	"kind":                      func(*auditv1.Event) string { return "Event" },
	"apiVersion":                func(*auditv1.Event) string { return "audit.k8s.io/v1" },
	"auditID":                   func(ev *auditv1.Event) string { return string(ev.AuditID) },
	"verb":                      func(ev *auditv1.Event) string { return ev.Verb },
	"stage":                     func(ev *auditv1.Event) string { return string(ev.Stage) },
	"level":                     func(ev *auditv1.Event) string { return string(ev.Level) },
	"requestURI":                func(ev *auditv1.Event) string { return ev.RequestURI },
	"userAgent":                 func(ev *auditv1.Event) string { return ev.UserAgent },
	"objectRef.resource":        func(ev *auditv1.Event) string { return objRef(ev).Resource },
	"objectRef.subresource":     func(ev *auditv1.Event) string { return objRef(ev).Subresource },
	"objectRef.namespace":       func(ev *auditv1.Event) string { return objRef(ev).Namespace },
	"objectRef.name":            func(ev *auditv1.Event) string { return objRef(ev).Name },
	"objectRef.uid":             func(ev *auditv1.Event) string { return string(objRef(ev).UID) },
	"objectRef.apiGroup":        func(ev *auditv1.Event) string { return objRef(ev).APIGroup },
	"objectRef.apiVersion":      func(ev *auditv1.Event) string { return objRef(ev).APIVersion },
	"objectRef.resourceVersion": func(ev *auditv1.Event) string { return objRef(ev).ResourceVersion },
	"user.username":             func(ev *auditv1.Event) string { return ev.User.Username },
	"user.uid":                  func(ev *auditv1.Event) string { return ev.User.UID },
	"responseStatus.status":     func(ev *auditv1.Event) string { return status(ev).Status },
	"responseStatus.reason":     func(ev *auditv1.Event) string { return status(ev).Reason },
	"responseStatus.message":    func(ev *auditv1.Event) string { return status(ev).Message },
}

// guardLists are the event's lists of strings, as the CEL event presents them (never null).
var guardLists = map[string]func(*auditv1.Event) []string{
	"user.groups": func(ev *auditv1.Event) []string { return ev.User.Groups },
	"sourceIPs":   func(ev *auditv1.Event) []string { return ev.SourceIPs },
}

// pureHelpers are the boolean helpers that read nothing but the event and the configuration: no lookup, no body,
// no state of the engine.
var pureHelpers = map[string]bool{
	"_isPodAccess": true, "_isKubeletSession": true, "_isKubeletPodLogs": true, "_isWorkloadWrite": true, "_isVNFGuardDenial": true, "_isSystemComponent": true,
	"_isVNFM": true, "_isBreakGlass": true, "_isController": true, "_isAdministrator": true, "_isVNFGuard": true,
	"_fromOutsideCluster": true,
}

// helperResources are the resources a boolean helper can be true for (TestHelperResources holds them to the
// helpers).
var helperResources = map[string][]string{
	"_isPodAccess":       {"pods", "nodes"},
	"_isKubeletSession":  {"nodes"},
	"_isKubeletPodLogs":  {"nodes"},
	"_isWorkloadWrite":   sortedKeys(workloadResources),
	"_protectionRemoved": {"namespaces"},
	"_isVNFGuardObject":  vnfguardObjectResources,
}

// helperSubresources and helperVerbs are the subresources and verbs a boolean helper can be true for
// (TestHelperResources holds them to the helpers too). isPodAccess() is any verb on nodes/proxy.
var (
	helperSubresources = map[string][]string{
		"_isPodAccess":      append(sortedKeys(podAccessSubresources), "proxy"),
		"_isKubeletSession": {"proxy"},
		"_isKubeletPodLogs": {"proxy"},
		"_isWorkloadWrite":  {""},
	}
	helperVerbs = map[string][]string{
		"_isWorkloadWrite": {"create", "update", "patch"},
	}
)

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// conditionGuard derives the guard of a checked condition.
func conditionGuard(checked *cel.Ast) guard {
	var g guard
	all := conjuncts(checked.NativeRep().Expr(), nil)
	inPrefix := true
	converted := 0
	for _, c := range all {
		p := partOf(c)
		if p == nil {
			inPrefix = false
			continue
		}
		converted++
		g.bounds = g.bounds.and(p.bounds)
		fn := p.fn
		t := func(a *activation) bool { return fn(a, "") }
		switch {
		case p.pure:
			g.pure = append(g.pure, t)
		case inPrefix:
			g.prefix = append(g.prefix, t)
		}
	}
	g.complete = converted == len(all) && converted > 0
	return g
}

// conjuncts flattens the && at the top of e (the parser balances long chains into a tree).
func conjuncts(e ast.Expr, out []ast.Expr) []ast.Expr {
	if e.Kind() == ast.CallKind {
		if call := e.AsCall(); call.FunctionName() == operators.LogicalAnd && len(call.Args()) == 2 {
			return conjuncts(call.Args()[1], conjuncts(call.Args()[0], out))
		}
	}
	return append(out, e)
}

// A part is a boolean expression done in Go. x is the element of the exists() being evaluated, when inside one.
type part struct {
	fn     func(a *activation, x string) bool
	pure   bool
	bounds bounds // what the part can be true for
}

// A strPart is a string expression done in Go.
type strPart struct {
	fn   func(a *activation, x string) string
	pure bool
	path string // the event field it reads, when it is one
	lit  *string
}

// partOf turns a boolean expression into Go, or returns nil when it has no form known here:
//
//	helper()                          a boolean helper
//	s == t, s != t                    strings: event fields, string helpers, literals, their concatenations
//	n == m, n != m, n < m ...         event.responseStatus.code, denialCount(), size(list), int literals
//	s in ["a", ...], "a" in list      list: event.user.groups, event.sourceIPs, a list helper
//	s.startsWith(t), s.endsWith(t), s.contains(t), matchesReverseShell(s)
//	list.exists(x, p)                 over a list or a literal list of strings, p of these forms
//	!p, p || q, p && q
//
// where x, inside exists(), is a string too. Each of these is true or false in CEL, never an error.
func partOf(e ast.Expr) *part { return boolPart(e, "") }

func boolPart(e ast.Expr, iter string) *part {
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		f := boolHelpers[name]
		if f == nil {
			return nil
		}
		return &part{fn: func(a *activation, _ string) bool { return f(a) }, pure: pureHelpers[name],
			bounds: bounds{boundResource: helperResources[name], boundSubresource: helperSubresources[name], boundVerb: helperVerbs[name]}}
	case ast.ComprehensionKind:
		return existsPart(e, iter)
	case ast.CallKind:
	default:
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	fn := call.FunctionName()
	switch {
	case fn == operators.LogicalNot && len(args) == 1:
		if p := boolPart(args[0], iter); p != nil {
			f := p.fn
			return &part{fn: func(a *activation, x string) bool { return !f(a, x) }, pure: p.pure}
		}
	case (fn == operators.LogicalOr || fn == operators.LogicalAnd) && len(args) == 2:
		p, q := boolPart(args[0], iter), boolPart(args[1], iter)
		if p == nil || q == nil {
			return nil
		}
		f, g := p.fn, q.fn
		if fn == operators.LogicalOr {
			return &part{fn: func(a *activation, x string) bool { return f(a, x) || g(a, x) }, pure: p.pure && q.pure, bounds: p.bounds.or(q.bounds)}
		}
		return &part{fn: func(a *activation, x string) bool { return f(a, x) && g(a, x) }, pure: p.pure && q.pure, bounds: p.bounds.and(q.bounds)}
	case (fn == operators.Equals || fn == operators.NotEquals) && len(args) == 2:
		if s, t := strOf(args[0], iter), strOf(args[1], iter); s != nil && t != nil {
			f, g := s.fn, t.fn
			p := &part{pure: s.pure && t.pure}
			if fn == operators.NotEquals {
				p.fn = func(a *activation, x string) bool { return f(a, x) != g(a, x) }
				return p
			}
			p.fn = func(a *activation, x string) bool { return f(a, x) == g(a, x) }
			switch {
			case t.lit != nil:
				p.bind(s.path, []string{*t.lit})
			case s.lit != nil:
				p.bind(t.path, []string{*s.lit})
			}
			return p
		}
		return intCompare(fn, args)
	case (fn == operators.Less || fn == operators.LessEquals || fn == operators.Greater || fn == operators.GreaterEquals) && len(args) == 2:
		return intCompare(fn, args)
	case fn == operators.In && len(args) == 2:
		s := strOf(args[0], iter)
		if s == nil {
			return nil
		}
		f := s.fn
		if set, ok := stringLiterals(args[1]); ok {
			p := &part{fn: func(a *activation, x string) bool { return slices.Contains(set, f(a, x)) }, pure: s.pure}
			p.bind(s.path, set)
			return p
		}
		if l := listOf(args[1]); l != nil {
			get := l.fn
			return &part{fn: func(a *activation, x string) bool { return slices.Contains(get(a), f(a, x)) }, pure: s.pure && l.pure}
		}
	case (fn == "startsWith" || fn == "endsWith" || fn == "contains") && call.IsMemberFunction() && len(args) == 1:
		s, t := strOf(call.Target(), iter), strOf(args[0], iter)
		if s == nil || t == nil {
			return nil
		}
		f, g := s.fn, t.fn
		if fn == "startsWith" {
			if prefix, pure := prefixOf(args[0], iter); prefix != nil {
				return &part{fn: func(a *activation, x string) bool {
					_, ok := prefix(a, x, f(a, x))
					return ok
				}, pure: s.pure && pure}
			}
		}
		op := map[string]func(string, string) bool{"startsWith": strings.HasPrefix, "endsWith": strings.HasSuffix, "contains": strings.Contains}[fn]
		return &part{fn: func(a *activation, x string) bool { return op(f(a, x), g(a, x)) }, pure: s.pure && t.pure}
	case fn == "matchesReverseShell" && !call.IsMemberFunction() && len(args) == 1:
		if s := strOf(args[0], iter); s != nil {
			f := s.fn
			return &part{fn: func(a *activation, x string) bool { return reverseShell(f(a, x)) != "" }, pure: s.pure}
		}
	}
	return nil
}

// bind records that the part is true only when the event field at path is one of values, when the index files
// rules by that field (indexedPaths).
func (p *part) bind(path string, values []string) {
	if i := slices.Index(indexedPaths[:], path); i >= 0 {
		p.bounds[i] = values
	}
}

// strOf turns a string expression into Go, or returns nil.
func strOf(e ast.Expr, iter string) *strPart {
	if s, ok := stringLiteral(e); ok {
		return &strPart{fn: func(*activation, string) string { return s }, pure: true, lit: &s}
	}
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		if iter != "" && name == iter {
			return &strPart{fn: func(_ *activation, x string) string { return x }, pure: true}
		}
		if f := stringHelpers[name]; f != nil {
			return &strPart{fn: func(a *activation, _ string) string { return f(a) }}
		}
	case ast.SelectKind:
		path := selectPath(e)
		if get := guardFields[path]; get != nil {
			return &strPart{fn: func(a *activation, _ string) string { return get(a.ev) }, pure: true, path: path}
		}
	case ast.CallKind:
		call := e.AsCall()
		if call.FunctionName() != operators.Add || len(call.Args()) != 2 {
			return nil
		}
		// Both operands are strings, so + is concatenation.
		s, t := strOf(call.Args()[0], iter), strOf(call.Args()[1], iter)
		if s == nil || t == nil {
			return nil
		}
		f, g := s.fn, t.fn
		return &strPart{fn: func(a *activation, x string) string { return f(a, x) + g(a, x) }, pure: s.pure && t.pure}
	}
	return nil
}

// prefixOf turns the argument of startsWith, when it is a concatenation (p + "?"), into a test of a string that
// consumes it piece by piece: s starts with u + v when it starts with u and the rest with v, so that the test makes
// no new string. It returns what is left of s after the prefix, and nil for an argument that is no concatenation of
// string expressions done in Go (strOf's forms).
func prefixOf(e ast.Expr, iter string) (fn func(a *activation, x, s string) (string, bool), pure bool) {
	if e.Kind() != ast.CallKind || e.AsCall().FunctionName() != operators.Add || len(e.AsCall().Args()) != 2 {
		return nil, false
	}
	args := e.AsCall().Args()
	head, headPure := prefixPiece(args[0], iter)
	tail, tailPure := prefixPiece(args[1], iter)
	if head == nil || tail == nil {
		return nil, false
	}
	return func(a *activation, x, s string) (string, bool) {
		rest, ok := head(a, x, s)
		if !ok {
			return "", false
		}
		return tail(a, x, rest)
	}, headPure && tailPure
}

// prefixPiece is one operand of a concatenation prefixOf reads: a concatenation itself, or one of strOf's forms.
func prefixPiece(e ast.Expr, iter string) (fn func(a *activation, x, s string) (string, bool), pure bool) {
	if fn, pure := prefixOf(e, iter); fn != nil {
		return fn, pure
	}
	sp := strOf(e, iter)
	if sp == nil {
		return nil, false
	}
	get := sp.fn
	return func(a *activation, x, s string) (string, bool) {
		p := get(a, x)
		if !strings.HasPrefix(s, p) {
			return "", false
		}
		return s[len(p):], true
	}, sp.pure
}

// A listPart is a list of strings done in Go.
type listPart struct {
	fn   func(a *activation) []string
	pure bool
}

func listOf(e ast.Expr) *listPart {
	switch e.Kind() {
	case ast.IdentKind:
		if f := listHelpers[e.AsIdent()]; f != nil {
			return &listPart{fn: f}
		}
	case ast.SelectKind:
		if get := guardLists[selectPath(e)]; get != nil {
			return &listPart{fn: func(a *activation) []string { return get(a.ev) }, pure: true}
		}
	case ast.ListKind:
		if set, ok := stringLiterals(e); ok {
			return &listPart{fn: func(*activation) []string { return set }, pure: true}
		}
	}
	return nil
}

// intOf turns an int expression into Go: event.responseStatus.code, denialCount(), size(list), int literals.
func intOf(e ast.Expr) (func(a *activation) int64, bool, bool) {
	switch e.Kind() {
	case ast.LiteralKind:
		if n, ok := e.AsLiteral().(types.Int); ok {
			return func(*activation) int64 { return int64(n) }, true, true
		}
	case ast.IdentKind:
		if e.AsIdent() == "_denialCount" {
			return (*activation).denialCount, true, true
		}
	case ast.SelectKind:
		if selectPath(e) == "responseStatus.code" {
			return func(a *activation) int64 {
				if a.ev.ResponseStatus == nil {
					return 0
				}
				return int64(a.ev.ResponseStatus.Code)
			}, true, true
		}
	case ast.CallKind:
		call := e.AsCall()
		var arg ast.Expr
		switch {
		case call.FunctionName() == "size" && !call.IsMemberFunction() && len(call.Args()) == 1:
			arg = call.Args()[0]
		case call.FunctionName() == "size" && call.IsMemberFunction() && len(call.Args()) == 0:
			arg = call.Target()
		default:
			return nil, false, false
		}
		if l := listOf(arg); l != nil {
			get := l.fn
			return func(a *activation) int64 { return int64(len(get(a))) }, l.pure, true
		}
	}
	return nil, false, false
}

func intCompare(fn string, args []ast.Expr) *part {
	f, pf, ok1 := intOf(args[0])
	g, pg, ok2 := intOf(args[1])
	if !ok1 || !ok2 {
		return nil
	}
	var cmp func(x, y int64) bool
	switch fn {
	case operators.Equals:
		cmp = func(x, y int64) bool { return x == y }
	case operators.NotEquals:
		cmp = func(x, y int64) bool { return x != y }
	case operators.Less:
		cmp = func(x, y int64) bool { return x < y }
	case operators.LessEquals:
		cmp = func(x, y int64) bool { return x <= y }
	case operators.Greater:
		cmp = func(x, y int64) bool { return x > y }
	case operators.GreaterEquals:
		cmp = func(x, y int64) bool { return x >= y }
	}
	return &part{fn: func(a *activation, _ string) bool { return cmp(f(a), g(a)) }, pure: pf && pg}
}

// existsPart turns list.exists(x, p) into Go, from the comprehension the exists macro expands to: the accumulator
// starts false, each step is accumulator || p, the result is the accumulator. (The loop condition only stops the
// walk early once the accumulator is true; over a list with no errors the result is the same.)
func existsPart(e ast.Expr, outer string) *part {
	c := e.AsComprehension()
	if outer != "" || c.HasIterVar2() {
		return nil
	}
	if init := c.AccuInit(); init.Kind() != ast.LiteralKind || init.AsLiteral() != types.False {
		return nil
	}
	accu := c.AccuVar()
	if r := c.Result(); r.Kind() != ast.IdentKind || r.AsIdent() != accu {
		return nil
	}
	step := c.LoopStep()
	if step.Kind() != ast.CallKind {
		return nil
	}
	sc := step.AsCall()
	if sc.FunctionName() != operators.LogicalOr || len(sc.Args()) != 2 {
		return nil
	}
	if a0 := sc.Args()[0]; a0.Kind() != ast.IdentKind || a0.AsIdent() != accu {
		return nil
	}
	l := listOf(c.IterRange())
	if l == nil {
		return nil
	}
	p := boolPart(sc.Args()[1], c.IterVar())
	if p == nil {
		return nil
	}
	get, pred := l.fn, p.fn
	return &part{fn: func(a *activation, _ string) bool {
		for _, x := range get(a) {
			if pred(a, x) {
				return true
			}
		}
		return false
	}, pure: l.pure && p.pure}
}

// selectPath renders event.a.b as "a.b"; "" for anything else (a has() test, another variable).
func selectPath(e ast.Expr) string {
	var names []string
	for e.Kind() == ast.SelectKind {
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return ""
		}
		names = append(names, sel.FieldName())
		e = sel.Operand()
	}
	if e.Kind() != ast.IdentKind || e.AsIdent() != "event" || len(names) == 0 {
		return ""
	}
	slices.Reverse(names)
	return strings.Join(names, ".")
}

func stringLiteral(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func stringLiterals(e ast.Expr) ([]string, bool) {
	if e.Kind() != ast.ListKind || len(e.AsList().OptionalIndices()) > 0 {
		return nil, false
	}
	out := []string{}
	for _, el := range e.AsList().Elements() {
		s, ok := stringLiteral(el)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// union and intersect combine resource sets; nil is any resource.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := []string{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// outputString does an output expression in Go when it is of a form whose value CEL prints as a string without
// error: a string expression of strOf (printed as it is), an int of intOf (printed in decimal, as valueString
// converts an int), list.join("sep") of a list of strings, object().?metadata.?name.orValue(s) with s of strOf
// (objectName), or c ? s : t of those with a condition of partOf. Nil for anything else. CEL evaluates the
// condition of c ? s : t and then one branch; so does this. The function returns false when it cannot tell what CEL
// prints (objectName, of a body it cannot read so); CEL then evaluates the whole expression.
func outputString(e ast.Expr) func(*activation) (string, bool) {
	if s := strOf(e, ""); s != nil {
		f := s.fn
		return func(a *activation) (string, bool) { return f(a, ""), true }
	}
	if f, _, ok := intOf(e); ok {
		return func(a *activation) (string, bool) { return strconv.FormatInt(f(a), 10), true }
	}
	if e.Kind() != ast.CallKind {
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	switch {
	case call.FunctionName() == operators.Conditional && len(args) == 3:
		c := boolPart(args[0], "")
		s, t := outputString(args[1]), outputString(args[2])
		if c == nil || s == nil || t == nil {
			return nil
		}
		cond := c.fn
		return func(a *activation) (string, bool) {
			if cond(a, "") {
				return s(a)
			}
			return t(a)
		}
	case call.FunctionName() == "join" && call.IsMemberFunction() && len(args) == 1:
		l := listOf(call.Target())
		sep, ok := stringLiteral(args[0])
		if l == nil || !ok {
			return nil
		}
		get := l.fn
		return func(a *activation) (string, bool) { return strings.Join(get(a), sep), true }
	case call.FunctionName() == "orValue" && call.IsMemberFunction() && len(args) == 1:
		s := strOf(args[0], "")
		if s == nil || !isOptionalSelect(call.Target(), "_object", "metadata", "name") {
			return nil
		}
		return objectName(s.fn)
	}
	return nil
}

// isOptionalSelect reports whether e is ident.?f1.?f2...
func isOptionalSelect(e ast.Expr, ident string, fields ...string) bool {
	for i := len(fields) - 1; i >= 0; i-- {
		if e.Kind() != ast.CallKind {
			return false
		}
		call := e.AsCall()
		args := call.Args()
		if call.FunctionName() != operators.OptSelect || len(args) != 2 {
			return false
		}
		if f, ok := stringLiteral(args[1]); !ok || f != fields[i] {
			return false
		}
		e = args[0]
	}
	return e.Kind() == ast.IdentKind && e.AsIdent() == ident
}

// objectName does object().?metadata.?name.orValue(s) from the views of the bodies: the name of the object a write
// names, the way the built-in rules print a created object's name (a create's objectRef has none), without the
// full decode of the body that object() would cost. It tells when the view knows what CEL prints: the name is a
// string, or it or the metadata is absent (s is printed); any other value is left to CEL.
func objectName(orValue func(a *activation, x string) string) func(*activation) (string, bool) {
	return func(a *activation) (string, bool) {
		w := a.writtenView()
		switch {
		case w == nil || !w.metaSet || w.meta.object && !w.meta.nameSet:
			return orValue(a, ""), true
		case w.meta.object && w.meta.nameString:
			return w.meta.name, true
		}
		return "", false
	}
}
