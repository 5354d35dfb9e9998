package detect

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// eventVal is the audit event as a CEL map(string, dyn) that reads the fields of the Go struct on demand. Rules
// read a handful of fields per event, so building the whole map for every event (as eventMap does) would cost
// more than all the rules together. Iteration, equality and conversion, which rules rarely use, go through the
// materialized map.
type eventVal struct {
	ev    *auditv1.Event
	table *fieldTable
}

type fieldTable struct {
	name   string // the key of this map in the event map; "" for the event itself
	fields map[string]func(*auditv1.Event) (ref.Val, bool)
}

var adapter = types.DefaultTypeAdapter

func str(s string) (ref.Val, bool) { return types.String(s), true }

var (
	refTable = &fieldTable{name: "objectRef", fields: map[string]func(*auditv1.Event) (ref.Val, bool){
		"resource":        func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).Resource) },
		"namespace":       func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).Namespace) },
		"name":            func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).Name) },
		"uid":             func(ev *auditv1.Event) (ref.Val, bool) { return str(string(objRef(ev).UID)) },
		"apiGroup":        func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).APIGroup) },
		"apiVersion":      func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).APIVersion) },
		"resourceVersion": func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).ResourceVersion) },
		"subresource":     func(ev *auditv1.Event) (ref.Val, bool) { return str(objRef(ev).Subresource) },
	}}
	userTable = &fieldTable{name: "user", fields: map[string]func(*auditv1.Event) (ref.Val, bool){
		"username": func(ev *auditv1.Event) (ref.Val, bool) { return str(ev.User.Username) },
		"uid":      func(ev *auditv1.Event) (ref.Val, bool) { return str(ev.User.UID) },
		"groups": func(ev *auditv1.Event) (ref.Val, bool) {
			return types.NewStringList(adapter, stringsOrEmpty(ev.User.Groups)), true
		},
	}}
	statusTable = &fieldTable{name: "responseStatus", fields: map[string]func(*auditv1.Event) (ref.Val, bool){
		"code": func(ev *auditv1.Event) (ref.Val, bool) {
			if ev.ResponseStatus == nil {
				return types.Int(0), true
			}
			return types.Int(ev.ResponseStatus.Code), true
		},
		"status":  func(ev *auditv1.Event) (ref.Val, bool) { return str(status(ev).Status) },
		"reason":  func(ev *auditv1.Event) (ref.Val, bool) { return str(string(status(ev).Reason)) },
		"message": func(ev *auditv1.Event) (ref.Val, bool) { return str(status(ev).Message) },
	}}
	eventTable = &fieldTable{fields: map[string]func(*auditv1.Event) (ref.Val, bool){
		"kind":       func(*auditv1.Event) (ref.Val, bool) { return str("Event") },
		"apiVersion": func(*auditv1.Event) (ref.Val, bool) { return str("audit.k8s.io/v1") },
		"level":      func(ev *auditv1.Event) (ref.Val, bool) { return str(string(ev.Level)) },
		"auditID":    func(ev *auditv1.Event) (ref.Val, bool) { return str(string(ev.AuditID)) },
		"stage":      func(ev *auditv1.Event) (ref.Val, bool) { return str(string(ev.Stage)) },
		"requestURI": func(ev *auditv1.Event) (ref.Val, bool) { return str(ev.RequestURI) },
		"verb":       func(ev *auditv1.Event) (ref.Val, bool) { return str(ev.Verb) },
		"userAgent":  func(ev *auditv1.Event) (ref.Val, bool) { return str(ev.UserAgent) },
		"sourceIPs": func(ev *auditv1.Event) (ref.Val, bool) {
			return types.NewStringList(adapter, stringsOrEmpty(ev.SourceIPs)), true
		},
		"user":           func(ev *auditv1.Event) (ref.Val, bool) { return eventVal{ev, userTable}, true },
		"objectRef":      func(ev *auditv1.Event) (ref.Val, bool) { return eventVal{ev, refTable}, true },
		"responseStatus": func(ev *auditv1.Event) (ref.Val, bool) { return eventVal{ev, statusTable}, true },
		"annotations": func(ev *auditv1.Event) (ref.Val, bool) {
			ann := ev.Annotations
			if ann == nil {
				ann = map[string]string{}
			}
			return types.NewStringStringMap(adapter, ann), true
		},
		"impersonatedUser": func(ev *auditv1.Event) (ref.Val, bool) {
			if ev.ImpersonatedUser == nil {
				return nil, false
			}
			u := ev.ImpersonatedUser
			return adapter.NativeToValue(userMap(u.Username, u.UID, u.Groups)), true
		},
	}}
)

var emptyRef = &auditv1.ObjectReference{}

func objRef(ev *auditv1.Event) *auditv1.ObjectReference {
	if ev.ObjectRef == nil {
		return emptyRef
	}
	return ev.ObjectRef
}

type statusView struct {
	Status, Message, Reason string
}

func status(ev *auditv1.Event) statusView {
	if ev.ResponseStatus == nil {
		return statusView{}
	}
	return statusView{ev.ResponseStatus.Status, ev.ResponseStatus.Message, string(ev.ResponseStatus.Reason)}
}

// materialize builds the plain map this value stands for.
func (v eventVal) materialize() map[string]any {
	m := eventMap(v.ev)
	if v.table.name == "" {
		return m
	}
	sub, _ := m[v.table.name].(map[string]any)
	return sub
}

func (v eventVal) plain() ref.Val { return adapter.NativeToValue(v.materialize()) }

// ConvertToNative implements ref.Val.
func (v eventVal) ConvertToNative(typ reflect.Type) (any, error) { return v.plain().ConvertToNative(typ) }

// ConvertToType implements ref.Val.
func (v eventVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return v
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to %s", t)
}

// Equal implements ref.Val.
func (v eventVal) Equal(other ref.Val) ref.Val { return v.plain().Equal(other) }

// Type implements ref.Val.
func (v eventVal) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (v eventVal) Value() any { return v.materialize() }

// Find implements traits.Mapper.
func (v eventVal) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	get, ok := v.table.fields[string(k)]
	if !ok {
		return nil, false
	}
	return get(v.ev)
}

// Get implements traits.Indexer.
func (v eventVal) Get(key ref.Val) ref.Val {
	if val, ok := v.Find(key); ok {
		return val
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container.
func (v eventVal) Contains(key ref.Val) ref.Val {
	_, ok := v.Find(key)
	return types.Bool(ok)
}

// Size implements traits.Sizer.
func (v eventVal) Size() ref.Val { return types.Int(len(v.materialize())) }

// Iterator implements traits.Iterable.
func (v eventVal) Iterator() traits.Iterator {
	if it, ok := v.plain().(traits.Iterable); ok {
		return it.Iterator()
	}
	return types.NewStringList(adapter, nil).(traits.Iterable).Iterator()
}

func (v eventVal) String() string { return fmt.Sprint(v.materialize()) }

var _ traits.Mapper = eventVal{}
