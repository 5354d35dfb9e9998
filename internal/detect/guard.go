package detect

import (
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// A guard is what the engine can tell of a rule's condition from the event's own fields, in Go and without CEL:
// most conditions start with a test of the verb, the resource or a helper like isPodAccess(), and most events fail
// it (a lease renewal is judged by three of the thirty-odd built-in rules). Evaluating a CEL program costs an
// activation frame and an interpreter walk even when its first test fails, and that was a third of the engine's
// time; the guard skips the program instead.
//
// The guard is derived from the type-checked condition: of the conjuncts at its top (c1 && c2 && ...), those of a
// form listed in guardOf are turned into Go predicates, the others are left to CEL. A guard is false only when one
// of those conjuncts is false, and a CEL && with a false operand is false whatever the others are (errors
// included), so skipping the program changes no result: the rule would not have matched, and no error is lost.
// TestGuardsAgreeWithCEL runs every built-in rule both ways over the corpora.
type guard func(*auditv1.Event) bool

// guardFields are the string fields of the event a guard reads, as the CEL event (eventval.go) presents them:
// objectRef, user and responseStatus are always there, empty when the event has none.
var guardFields = map[string]func(*auditv1.Event) string{
	"verb":                  func(ev *auditv1.Event) string { return ev.Verb },
	"stage":                 func(ev *auditv1.Event) string { return string(ev.Stage) },
	"level":                 func(ev *auditv1.Event) string { return string(ev.Level) },
	"requestURI":            func(ev *auditv1.Event) string { return ev.RequestURI },
	"userAgent":             func(ev *auditv1.Event) string { return ev.UserAgent },
	"objectRef.resource":    func(ev *auditv1.Event) string { return objRef(ev).Resource },
	"objectRef.subresource": func(ev *auditv1.Event) string { return objRef(ev).Subresource },
	"objectRef.namespace":   func(ev *auditv1.Event) string { return objRef(ev).Namespace },
	"objectRef.name":        func(ev *auditv1.Event) string { return objRef(ev).Name },
	"objectRef.apiGroup":    func(ev *auditv1.Event) string { return objRef(ev).APIGroup },
	"user.username":         func(ev *auditv1.Event) string { return ev.User.Username },
}

// guardHelpers are the helpers that depend on nothing but the event, by the name the rules' macro gives them.
var guardHelpers = map[string]func(*auditv1.Event) bool{
	"_isPodAccess":       isPodAccess,
	"_isWorkloadWrite":   isWorkloadWrite,
	"_isVNFGuardDenial":  isVNFGuardDenial,
	"_isSystemComponent": func(ev *auditv1.Event) bool { return isSystemComponent(ev.User.Username) },
}

// conditionGuard derives the guard of a checked condition; nil when no conjunct has a known form.
func conditionGuard(checked *cel.Ast) guard {
	var parts []guard
	for _, c := range conjuncts(checked.NativeRep().Expr(), nil) {
		if g := guardOf(c); g != nil {
			parts = append(parts, g)
		}
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	return func(ev *auditv1.Event) bool {
		for _, g := range parts {
			if !g(ev) {
				return false
			}
		}
		return true
	}
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

// guardOf turns one conjunct into a predicate that is false exactly when the conjunct is false, or returns nil:
//
//	helper()                      a helper of guardHelpers
//	event.F == "s", "s" == event.F, event.F != "s"
//	event.F in ["s", ...]         a list of string literals
//	"s" in event.user.groups
//	event.F.startsWith("s")
//	!g, g || h                    of guards
func guardOf(e ast.Expr) guard {
	switch e.Kind() {
	case ast.IdentKind:
		return guardHelpers[e.AsIdent()]
	case ast.CallKind:
	default:
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); {
	case fn == operators.LogicalNot && len(args) == 1:
		if g := guardOf(args[0]); g != nil {
			return func(ev *auditv1.Event) bool { return !g(ev) }
		}
	case fn == operators.LogicalOr && len(args) == 2:
		g, h := guardOf(args[0]), guardOf(args[1])
		if g != nil && h != nil {
			return func(ev *auditv1.Event) bool { return g(ev) || h(ev) }
		}
	case (fn == operators.Equals || fn == operators.NotEquals) && len(args) == 2:
		get, s, ok := fieldAndString(args[0], args[1])
		if !ok {
			get, s, ok = fieldAndString(args[1], args[0])
		}
		if !ok {
			return nil
		}
		if fn == operators.NotEquals {
			return func(ev *auditv1.Event) bool { return get(ev) != s }
		}
		return func(ev *auditv1.Event) bool { return get(ev) == s }
	case fn == operators.In && len(args) == 2:
		if get := eventField(args[0]); get != nil {
			if set, ok := stringLiterals(args[1]); ok {
				return func(ev *auditv1.Event) bool { return slices.Contains(set, get(ev)) }
			}
		}
		if s, ok := stringLiteral(args[0]); ok && selectPath(args[1]) == "user.groups" {
			return func(ev *auditv1.Event) bool { return slices.Contains(ev.User.Groups, s) }
		}
	case fn == "startsWith" && call.IsMemberFunction() && len(args) == 1:
		if get := eventField(call.Target()); get != nil {
			if s, ok := stringLiteral(args[0]); ok {
				return func(ev *auditv1.Event) bool { return strings.HasPrefix(get(ev), s) }
			}
		}
	}
	return nil
}

func fieldAndString(field, lit ast.Expr) (func(*auditv1.Event) string, string, bool) {
	get := eventField(field)
	s, ok := stringLiteral(lit)
	return get, s, get != nil && ok
}

// eventField is the getter of event.F for a select chain of guardFields, or nil.
func eventField(e ast.Expr) func(*auditv1.Event) string {
	return guardFields[selectPath(e)]
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
	var out []string
	for _, el := range e.AsList().Elements() {
		s, ok := stringLiteral(el)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
