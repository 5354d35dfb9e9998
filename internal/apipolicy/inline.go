package apipolicy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	admregv1 "k8s.io/api/admissionregistration/v1"
)

// declareVariables leaves the API server only the variables it needs of a rendered policy: it drops those nothing
// reads (dropUnreadVariables) and, with inline, writes out those not worth declaring (inlineVariables). Each
// expression is parsed once for both.
func declareVariables(spec *admregv1.ValidatingAdmissionPolicySpec, inline bool) error {
	parsed := parsedExpressions{}
	if err := dropUnreadVariables(spec, parsed); err != nil {
		return err
	}
	if !inline {
		return nil
	}
	return inlineVariables(spec, parsed)
}

// dropUnreadVariables declares only the variables that the spec's validations (and their message expressions),
// audit annotations and match conditions read, directly or through other variables, in any way (variables.x,
// variables.?x, has(variables.x)), in their order. The API server gives every declared variable of a policy an
// accessor in each of the three activations it makes per request, read or not (k8s.io/apiserver's
// compositionContext.Variables): the message-only variables of a policy with static messages cost the joint policy
// 12 KB of the API server's garbage per pod CREATE (BenchmarkAPIServerPolicies: 159 -> 147 KB). An expression that
// names variables any other way (variables as a value, variables[x]) keeps them all; one that does not parse is an
// error.
func dropUnreadVariables(spec *admregv1.ValidatingAdmissionPolicySpec, parsed parsedExpressions) error {
	byName := map[string]string{}
	for _, v := range spec.Variables {
		byName[v.Name] = v.Expression
	}
	// Only what is read is parsed: a variable nothing reads goes whatever it says.
	read, opaque := map[string]bool{}, false
	var visit func(expr string) error
	visit = func(expr string) error {
		p, err := parsed.of(expr)
		if err != nil {
			return err
		}
		opaque = opaque || p.opaque
		for _, r := range p.reads {
			if read[r.name] {
				continue
			}
			read[r.name] = true
			if e, ok := byName[r.name]; ok {
				if err := visit(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, e := range rootExpressionsOf(spec) {
		if *e == "" {
			continue
		}
		if err := visit(*e); err != nil {
			return err
		}
	}
	if opaque {
		return nil
	}
	kept := make([]admregv1.Variable, 0, len(spec.Variables))
	for _, v := range spec.Variables {
		if read[v.Name] {
			kept = append(kept, v)
		}
	}
	spec.Variables = kept
	return nil
}

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
// has(variables.name)) stays; an expression that names variables in any other way keeps them all. parsed holds
// the expressions parsed so far.
func inlineVariables(spec *admregv1.ValidatingAdmissionPolicySpec, parsed parsedExpressions) error {
	for {
		exprs := expressionsOf(spec)
		uses, err := parsed.variableUses(exprs)
		if err != nil {
			return err
		}
		if uses == nil {
			return nil
		}
		i := slices.IndexFunc(spec.Variables, func(v admregv1.Variable) bool { return parsed.inlinable(v, uses[v.Name], exprs) })
		if i < 0 {
			return nil
		}
		v := spec.Variables[i]
		text := v.Expression
		if !constant(v.Expression) {
			text = "(" + v.Expression + ")"
		}
		spec.Variables = slices.Delete(spec.Variables, i, i+1)
		for _, e := range expressionsOf(spec) {
			*e = replaceReads(*e, v.Name, text)
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
func (parsed parsedExpressions) inlinable(v admregv1.Variable, use variableUse, exprs []*string) bool {
	if use.other || use.plain == 0 {
		return false
	}
	switch {
	case constant(v.Expression):
	case use.inComprehension > 0:
		return false
	case use.plain == 1:
	default:
		info, err := parsed.of(v.Expression)
		if err != nil || use.plain > maxCheapReads || !info.cheap {
			return false
		}
	}
	textual := 0
	for _, e := range exprs {
		textual += len(textualReads(*e, v.Name))
	}
	return textual == use.plain
}

// maxCheapReads is how often a cheap variable may be read and still be written out: a few field reads and
// comparisons each time cost the API server less than the variable's accessors, its lookups and its own run.
const maxCheapReads = 3

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

// textualReads are the offsets in expr of the text variables.name, with no more of a name before or after it.
func textualReads(expr, name string) []int {
	ref := "variables." + name
	var at []int
	for from := 0; ; {
		i := strings.Index(expr[from:], ref)
		if i < 0 {
			return at
		}
		start, end := from+i, from+i+len(ref)
		if (start == 0 || !nameByte(expr[start-1])) && (end == len(expr) || !nameByte(expr[end])) {
			at = append(at, start)
		}
		from = end
	}
}

// replaceReads writes text in place of every textual read of the variable in expr.
func replaceReads(expr, name, text string) string {
	at := textualReads(expr, name)
	if len(at) == 0 {
		return expr
	}
	var b strings.Builder
	last := 0
	for _, i := range at {
		b.WriteString(expr[last:i])
		b.WriteString(text)
		last = i + len("variables.") + len(name)
	}
	b.WriteString(expr[last:])
	return b.String()
}

// nameByte is a byte that can continue a CEL identifier.
func nameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// expressionsOf points at every CEL expression of the spec: its roots, then its variables.
func expressionsOf(spec *admregv1.ValidatingAdmissionPolicySpec) []*string {
	out := rootExpressionsOf(spec)
	for i := range spec.Variables {
		out = append(out, &spec.Variables[i].Expression)
	}
	return out
}

// rootExpressionsOf points at the CEL expressions of the spec that the API server evaluates of its own accord:
// validations and their messages, audit annotations and match conditions (a variable only when one of them reads
// it).
func rootExpressionsOf(spec *admregv1.ValidatingAdmissionPolicySpec) []*string {
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

// parsedExpressions holds what inlining needs of each expression, parsed once: each round of inlineVariables
// rewrites only the readers of the variable it writes out, and the CEL parser is most of its cost.
type parsedExpressions map[string]*parsedExpression

// parsedExpression is one expression's reads of variables, whether it names variables any other way (opaque), and
// whether it is cheap: at most maxCheapNodes nodes that only read fields and compare (no comprehension, no function
// but operators and orValue).
type parsedExpression struct {
	reads         []variableReadAt
	opaque, cheap bool
}

// variableReadAt is one read of a variable: its name, how, and whether inside a comprehension.
type variableReadAt struct {
	name            string
	how             int
	inComprehension bool
}

// of parses expr, or returns what an earlier call found.
func (parsed parsedExpressions) of(expr string) (*parsedExpression, error) {
	if p, ok := parsed[expr]; ok {
		return p, nil
	}
	tree, iss := parserEnv.Parse(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, iss.Err())
	}
	p := &parsedExpression{cheap: true}
	nodes := 0
	walk(tree.NativeRep().Expr(), false, func(x ast.Expr, inComprehension bool) bool {
		nodes++
		switch x.Kind() {
		case ast.ComprehensionKind:
			p.cheap = false
		case ast.CallKind:
			if f := x.AsCall().FunctionName(); f != "orValue" && !cheapOperators[f] {
				p.cheap = false
			}
		}
		name, how := variableRead(x)
		switch how {
		case readNone:
			if x.Kind() == ast.IdentKind && x.AsIdent() == "variables" {
				p.opaque = true // variables itself, not as the operand of a read this knows
			}
			return true
		case readPlain:
			nodes++ // the variables identifier, not walked
		case readOther:
			nodes += 2 // variables.?name: the identifier and the name
		}
		p.reads = append(p.reads, variableReadAt{name, how, inComprehension})
		return false
	})
	p.cheap = p.cheap && nodes <= maxCheapNodes
	parsed[expr] = p
	return p, nil
}

// variableUses counts each variable's reads over the expressions; nil when an expression names variables other
// than by a constant field (variables as a value, variables[x]): then no read can be accounted for.
func (parsed parsedExpressions) variableUses(exprs []*string) (map[string]variableUse, error) {
	uses := map[string]variableUse{}
	for _, e := range exprs {
		if *e == "" {
			continue
		}
		p, err := parsed.of(*e)
		if err != nil {
			return nil, err
		}
		if p.opaque {
			return nil, nil
		}
		for _, r := range p.reads {
			u := uses[r.name]
			switch r.how {
			case readOther:
				u.other = true
			case readPlain:
				u.plain++
				if r.inComprehension {
					u.inComprehension++
				}
			}
			uses[r.name] = u
		}
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
