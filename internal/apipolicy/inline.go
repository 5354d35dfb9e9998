package apipolicy

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	admregv1 "k8s.io/api/admissionregistration/v1"
)

// inlineVariables writes into the expressions that read them the variables a policy gains nothing from declaring,
// and declares them no more:
//
//   - a constant (true or false: "protected" in a policy bound only where it is one or the other), wherever it is
//     read;
//   - a variable read once in the whole policy, outside every comprehension (so that the API server computes it no
//     more often written out than declared: once, when that expression gets to it; and no name in it can be taken
//     for a comprehension's variable);
//   - a cheap variable (a few field reads and comparisons) read at most three times, outside every comprehension.
//
// The API server pays for every declared variable in each of the three evaluation contexts it makes per request
// (an accessor and a map entry, read or not: k8s.io/apiserver's compositionContext.Variables) and for every
// variable it reads (a program run with a cost tracker of its own). The twins keep their variables as the steps
// they are written in (an image reference parsed in four, say); the policy the API server gets has fewer
// (BenchmarkAPIServerPolicies). A variable read any other way than variables.name (variables.?name,
// has(variables.name)) stays; an expression that names variables in any other way keeps them all.
func inlineVariables(spec *admregv1.ValidatingAdmissionPolicySpec) error {
	for {
		exprs := expressionsOf(spec)
		uses, err := variableUses(exprs)
		if err != nil {
			return err
		}
		if uses == nil {
			return nil
		}
		i := slices.IndexFunc(spec.Variables, func(v admregv1.Variable) bool { return inlinable(v, uses[v.Name], exprs) })
		if i < 0 {
			return nil
		}
		v := spec.Variables[i]
		text := v.Expression
		if !constant(v.Expression) {
			text = "(" + v.Expression + ")"
		}
		ref := readOf(v.Name)
		spec.Variables = slices.Delete(spec.Variables, i, i+1)
		for _, e := range expressionsOf(spec) {
			*e = ref.ReplaceAllLiteralString(*e, text)
		}
	}
}

// variableUse is how a policy's expressions read one variable.
type variableUse struct {
	// plain counts the reads as variables.name; inComprehension, those inside a comprehension (its loop condition
	// and step, evaluated once per element, or its result, where its own variables are bound and could take a
	// name of the written-out text for theirs).
	plain, inComprehension int
	// other is set when the variable is read in any other way (variables.?name, has(variables.name)).
	other bool
}

// inlinable says whether v can be written into its reader(s): a constant read only plainly, or a variable read
// plainly, outside every comprehension (a comprehension's range is outside it), once or, cheap, at most three
// times, and found as text exactly where the parser found it (not also inside a string).
func inlinable(v admregv1.Variable, use variableUse, exprs []*string) bool {
	if use.other || use.plain == 0 {
		return false
	}
	textual := 0
	for _, e := range exprs {
		textual += len(readOf(v.Name).FindAllStringIndex(*e, -1))
	}
	if textual != use.plain {
		return false
	}
	switch {
	case constant(v.Expression):
		return true
	case use.inComprehension > 0:
		return false
	case use.plain == 1:
		return true
	default:
		return use.plain <= maxCheapReads && cheap(v.Expression)
	}
}

// maxCheapReads is how often a cheap variable may be read and still be written out: a few field reads and
// comparisons each time cost the API server less than the variable's accessors, its lookups and its own run.
const maxCheapReads = 3

// cheap is an expression of at most maxCheapNodes nodes that only reads fields and compares: no comprehension, no
// function but operators and orValue.
func cheap(expr string) bool {
	parsed, iss := parserEnv.Parse(expr)
	if iss.Err() != nil {
		return false
	}
	nodes, ok := 0, true
	walk(parsed.NativeRep().Expr(), false, func(x ast.Expr, _ bool) bool {
		nodes++
		switch x.Kind() {
		case ast.ComprehensionKind:
			ok = false
		case ast.CallKind:
			if f := x.AsCall().FunctionName(); f != "orValue" && !cheapOperators[f] {
				ok = false
			}
		}
		return ok
	})
	return ok && nodes <= maxCheapNodes
}

// maxCheapNodes bounds a cheap expression: request.kind.kind == 'VolumeSnapshot' has five nodes.
const maxCheapNodes = 16

// cheapOperators are the operators a cheap expression may use: logic, comparison, membership, selection and
// indexing.
var cheapOperators = map[string]bool{
	operators.LogicalAnd: true, operators.LogicalOr: true, operators.LogicalNot: true, operators.Conditional: true,
	operators.Equals: true, operators.NotEquals: true, operators.In: true,
	operators.Index: true, operators.OptIndex: true, operators.OptSelect: true,
}

// constant is a variable whose expression is a boolean literal.
func constant(expr string) bool { return expr == "true" || expr == "false" }

// readOf matches a plain read of the variable as text: variables.name, not followed by more of a name.
func readOf(name string) *regexp.Regexp {
	return regexp.MustCompile(`\bvariables\.` + regexp.QuoteMeta(name) + `\b`)
}

// expressionsOf points at every CEL expression of the spec: validations and their messages, audit annotations,
// match conditions and variables.
func expressionsOf(spec *admregv1.ValidatingAdmissionPolicySpec) []*string {
	var out []*string
	for i := range spec.Validations {
		out = append(out, &spec.Validations[i].Expression, &spec.Validations[i].MessageExpression)
	}
	for i := range spec.AuditAnnotations {
		out = append(out, &spec.AuditAnnotations[i].ValueExpression)
	}
	for i := range spec.MatchConditions {
		out = append(out, &spec.MatchConditions[i].Expression)
	}
	for i := range spec.Variables {
		out = append(out, &spec.Variables[i].Expression)
	}
	return out
}

// parserEnv parses expressions with the macros of the API server's CEL environment that make comprehensions
// (the standard ones, cel.bind, the two-variable forms, optMap), so that a comprehension is seen as one.
var parserEnv = func() *cel.Env {
	env, err := cel.NewEnv(cel.OptionalTypes(), ext.Bindings(), ext.TwoVarComprehensions())
	if err != nil {
		panic(fmt.Sprintf("the CEL parser environment: %v", err))
	}
	return env
}()

// variableUses parses every expression and counts each variable's reads; nil when an expression names variables
// other than by a constant field (variables as a value, variables[x]): then no read can be accounted for.
func variableUses(exprs []*string) (map[string]variableUse, error) {
	uses := map[string]variableUse{}
	opaque := false
	for _, e := range exprs {
		if *e == "" {
			continue
		}
		parsed, iss := parserEnv.Parse(*e)
		if iss.Err() != nil {
			return nil, fmt.Errorf("parse %q: %w", *e, iss.Err())
		}
		walk(parsed.NativeRep().Expr(), false, func(x ast.Expr, inComprehension bool) bool {
			name, how := variableRead(x)
			switch how {
			case readNone:
				if x.Kind() == ast.IdentKind && x.AsIdent() == "variables" {
					opaque = true // variables itself, not as the operand of a read this knows
				}
				return true
			case readOther:
				u := uses[name]
				u.other = true
				uses[name] = u
			case readPlain:
				u := uses[name]
				u.plain++
				if inComprehension {
					u.inComprehension++
				}
				uses[name] = u
			}
			return false // the operand is the variables identifier, accounted for
		})
	}
	if opaque {
		return nil, nil
	}
	return uses, nil
}

// The ways an expression node reads a variable.
const (
	readNone = iota
	readPlain
	readOther
)

// variableRead says whether x reads a variable by name, and how.
func variableRead(x ast.Expr) (string, int) {
	isVariables := func(e ast.Expr) bool { return e.Kind() == ast.IdentKind && e.AsIdent() == "variables" }
	switch x.Kind() {
	case ast.SelectKind:
		if s := x.AsSelect(); isVariables(s.Operand()) {
			if s.IsTestOnly() {
				return s.FieldName(), readOther
			}
			return s.FieldName(), readPlain
		}
	case ast.CallKind:
		c := x.AsCall()
		if c.FunctionName() == operators.OptSelect && len(c.Args()) == 2 && isVariables(c.Args()[0]) && c.Args()[1].Kind() == ast.LiteralKind {
			if name, ok := c.Args()[1].AsLiteral().(types.String); ok {
				return string(name), readOther
			}
		}
	}
	return "", readNone
}

// walk visits x and, while visit says so, its operands; inComprehension is set below a comprehension's loop
// condition and step, which the API server evaluates once per element, and its result, where the comprehension's
// variables are bound (only its range and its accumulator's start are evaluated once, outside its scope).
func walk(x ast.Expr, inComprehension bool, visit func(ast.Expr, bool) bool) {
	if !visit(x, inComprehension) {
		return
	}
	switch x.Kind() {
	case ast.CallKind:
		c := x.AsCall()
		if c.IsMemberFunction() {
			walk(c.Target(), inComprehension, visit)
		}
		for _, a := range c.Args() {
			walk(a, inComprehension, visit)
		}
	case ast.SelectKind:
		walk(x.AsSelect().Operand(), inComprehension, visit)
	case ast.ListKind:
		for _, e := range x.AsList().Elements() {
			walk(e, inComprehension, visit)
		}
	case ast.MapKind:
		for _, e := range x.AsMap().Entries() {
			walk(e.AsMapEntry().Key(), inComprehension, visit)
			walk(e.AsMapEntry().Value(), inComprehension, visit)
		}
	case ast.StructKind:
		for _, f := range x.AsStruct().Fields() {
			walk(f.AsStructField().Value(), inComprehension, visit)
		}
	case ast.ComprehensionKind:
		c := x.AsComprehension()
		walk(c.IterRange(), inComprehension, visit)
		walk(c.AccuInit(), inComprehension, visit)
		walk(c.LoopCondition(), true, visit)
		walk(c.LoopStep(), true, visit)
		walk(c.Result(), true, visit)
	}
}
