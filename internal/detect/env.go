package detect

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/parser"
	apiservercel "k8s.io/apiserver/pkg/cel"
)

// helper is a zero-argument CEL helper. It is a macro that expands to a hidden variable, so that its value is
// computed per event, lazily and at most once, by the activation — CEL function bindings cannot see per-evaluation
// state, and this keeps one shared, concurrency-safe program per rule.
type helper struct {
	name    string // what rules call: vnfInstance()
	varName string
	typ     *cel.Type
}

var helpers = []helper{
	{"vnfInstance", "_vnfInstance", cel.StringType},
	{"vnfProduct", "_vnfProduct", cel.StringType},
	{"vnfState", "_vnfState", cel.StringType},
	{"isDormant", "_isDormant", cel.BoolType},
	{"isDormantNamespace", "_isDormantNamespace", cel.BoolType},
	{"isVNFM", "_isVNFM", cel.BoolType},
	{"isBreakGlass", "_isBreakGlass", cel.BoolType},
	{"isController", "_isController", cel.BoolType},
	{"isProtectedNamespace", "_isProtectedNamespace", cel.BoolType},
	{"isPodAccess", "_isPodAccess", cel.BoolType},
	{"isKubeletSession", "_isKubeletSession", cel.BoolType},
	{"isKubeletPodLogs", "_isKubeletPodLogs", cel.BoolType},
	{"execCommand", "_execCommand", cel.StringType},
	{"isSystemComponent", "_isSystemComponent", cel.BoolType},
	{"isWorkloadWrite", "_isWorkloadWrite", cel.BoolType},
	{"object", "_object", cel.MapType(cel.StringType, cel.DynType)},
	{"podSpec", "_podSpec", cel.MapType(cel.StringType, cel.DynType)},
	{"hostTakeover", "_hostTakeover", cel.ListType(cel.StringType)},
	{"podHostTakeover", "_podHostTakeover", cel.ListType(cel.StringType)},
	{"dangerousCapabilities", "_dangerousCapabilities", cel.ListType(cel.StringType)},
	{"runsAsRoot", "_runsAsRoot", cel.ListType(cel.StringType)},
	{"isVNFGuardDenial", "_isVNFGuardDenial", cel.BoolType},
	{"denialCount", "_denialCount", cel.IntType},
	{"podCommands", "_podCommands", cel.ListType(cel.StringType)},
	{"fromOutsideCluster", "_fromOutsideCluster", cel.BoolType},
	{"isAdministrator", "_isAdministrator", cel.BoolType},
	{"isVNFGuard", "_isVNFGuard", cel.BoolType},
	{"isVNFGuardObject", "_isVNFGuardObject", cel.BoolType},
	{"protectionRemoved", "_protectionRemoved", cel.BoolType},
	{"apiServerExec", "_apiServerExec", cel.StringType},
	{"isPodHook", "_isPodHook", cel.BoolType},
	{"runtimeCommand", "_runtimeCommand", cel.StringType},
	{"declaredImages", "_declaredImages", cel.ListType(cel.StringType)},
	{"wasDormant", "_wasDormant", cel.BoolType},
	{"ownerWriteSeen", "_ownerWriteSeen", cel.BoolType},
}

var (
	envOnce sync.Once
	celEnv  *cel.Env
	envErr  error
)

// environment builds the one CEL environment all rules compile in; it depends on nothing configurable, since the
// configuration reaches rules through the helpers' values.
func environment() (*cel.Env, error) {
	envOnce.Do(func() {
		opts := []cel.EnvOption{
			cel.Variable("requestObject", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("responseObject", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("runtime", cel.MapType(cel.StringType, cel.DynType)),
			cel.OptionalTypes(),
			ext.Strings(),
			cel.CrossTypeNumericComparisons(true),
			cel.Function("matchesReverseShell",
				cel.Overload("matchesReverseShell_string", []*cel.Type{cel.StringType}, cel.BoolType,
					cel.UnaryBinding(func(v ref.Val) ref.Val {
						s, ok := v.(types.String)
						if !ok {
							return types.NoSuchOverloadErr()
						}
						return types.Bool(reverseShell(string(s)) != "")
					}))),
			objectListFunction("dangerousGrants", dangerousGrants),
			objectListFunction("powerfulBinding", powerfulBinding),
		}
		for _, h := range helpers {
			varName := h.varName
			opts = append(opts, cel.Variable(varName, h.typ), cel.Macros(cel.GlobalMacro(h.name, 0,
				func(eh parser.ExprHelper, _ ast.Expr, _ []ast.Expr) (ast.Expr, *common.Error) {
					return eh.NewIdent(varName), nil
				})))
		}
		base, err := cel.NewEnv(opts...)
		if err != nil {
			envErr = err
			return
		}
		// The event's declared type goes over the finished environment's provider (as Kubernetes' own CEL
		// environments do): the libraries above register their types first.
		typed, err := apiservercel.NewDeclTypeProvider(eventType).EnvOptions(base.CELTypeProvider())
		if err != nil {
			envErr = fmt.Errorf("declare the audit event's type: %w", err)
			return
		}
		celEnv, envErr = base.Extend(append(typed, cel.Variable("event", eventType.CelType()))...)
	})
	return celEnv, envErr
}

// compileError is a CEL compile error at a position inside the expression (line 1-based, column 0-based).
type compileError struct {
	line, col int
	msg       string
}

func (e *compileError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col+1, e.msg) }

// program is a compiled CEL expression whose program may be planned only when it first runs. cel-go gives every
// program its own table of every function's overloads, about 8 kB of maps and pointers; the engine's Go paths
// (guard.go: a complete guard, outputString) leave most of the built-in pack's programs unused, outputs run only
// when a rule finds something, and the tables of the programs kept were most of the engine's live heap, which the
// garbage collector marks at every cycle: of the 229, only the 9 conditions no Go guard completes are kept. A lazy
// program was planned once at load, so that an expression that cannot be planned is a load error, and then let go.
type program struct {
	expr string
	want *cel.Type
	once sync.Once
	prog cel.Program
	err  error
}

// eager is a program kept from load: a condition the engine runs for most events that reach it.
func eager(p cel.Program) *program {
	q := &program{prog: p}
	q.once.Do(func() {})
	return q
}

// lazy is a program planned again on first use.
func lazy(expr string, want *cel.Type) *program { return &program{expr: expr, want: want} }

// get is the program, planned now if it has not been.
func (p *program) get() (cel.Program, error) {
	p.once.Do(func() { p.prog, _, p.err = compileChecked(p.expr, p.want) })
	return p.prog, p.err
}

// compileChecked compiles and type-checks one expression that must have the given type (nil: any), and returns
// the type-checked expression too (conditionGuard and outputString read it).
func compileChecked(expr string, want *cel.Type) (cel.Program, *cel.Ast, error) {
	env, err := environment()
	if err != nil {
		return nil, nil, fmt.Errorf("build CEL environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		errs := iss.Errors()
		if len(errs) == 0 {
			return nil, nil, iss.Err()
		}
		first := errs[0]
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Message)
		}
		return nil, nil, &compileError{line: first.Location.Line(), col: first.Location.Column(), msg: strings.Join(msgs, "; ")}
	}
	if want != nil && !checked.OutputType().IsExactType(want) && checked.OutputType() != cel.DynType {
		return nil, nil, &compileError{line: 1, msg: fmt.Sprintf("has type %s, want %s", checked.OutputType(), want)}
	}
	prog, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, fmt.Errorf("plan CEL program: %w", err)
	}
	return prog, checked, nil
}

// compileOutput splits an output template into literal text and ${expr} parts and compiles each expression.
// Braces inside an expression nest (map literals); "$$" is a literal "$".
func compileOutput(tmpl string) ([]outputPart, error) {
	var parts []outputPart
	var lit strings.Builder
	line, col := 1, 0 // position of the current character inside the template
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c == '$' && i+1 < len(tmpl) && tmpl[i+1] == '$' {
			lit.WriteByte('$')
			i += 2
			col += 2
			continue
		}
		if c == '$' && i+1 < len(tmpl) && tmpl[i+1] == '{' {
			depth, j := 1, i+2
			var quote byte
			for ; j < len(tmpl) && depth > 0; j++ {
				switch ch := tmpl[j]; {
				case quote != 0:
					if ch == '\\' {
						j++
					} else if ch == quote {
						quote = 0
					}
				case ch == '"' || ch == '\'':
					quote = ch
				case ch == '{':
					depth++
				case ch == '}':
					depth--
				}
			}
			if depth != 0 {
				return nil, &compileError{line: line, col: col, msg: "unclosed ${ in output"}
			}
			expr := tmpl[i+2 : j-1]
			_, checked, err := compileChecked(expr, nil)
			if err != nil {
				var ce *compileError
				if errors.As(err, &ce) {
					if ce.line <= 1 {
						ce.col += col + 2
					}
					ce.line += line - 1
				}
				return nil, err
			}
			if lit.Len() > 0 {
				parts = append(parts, outputPart{text: lit.String()})
				lit.Reset()
			}
			// Lazy even where outputString cannot stand in for the program: an output runs only when its rule
			// finds something, which most rules never do in a detector's life (the 30 output programs kept from
			// load were a quarter of the engine's live heap).
			part := outputPart{str: outputString(checked.NativeRep().Expr()), prog: lazy(expr, nil)}
			parts = append(parts, part)
			for _, ch := range tmpl[i:j] {
				if ch == '\n' {
					line, col = line+1, 0
				} else {
					col++
				}
			}
			i = j
			continue
		}
		lit.WriteByte(c)
		if c == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
		i++
	}
	if lit.Len() > 0 {
		parts = append(parts, outputPart{text: lit.String()})
	}
	return parts, nil
}
