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
	st    *eventState
	table *fieldTable
}

// eventState holds one event and its nested map values, allocated once per event so that reading
// event.objectRef.name in every rule allocates nothing.
type eventState struct {
	ev                              *auditv1.Event
	root, objectRef, user, response eventVal
	// cache holds each field's value once computed: boxing a string into a ref.Val allocates, and the
	// same few fields (verb, objectRef.resource, user.username) are read by nearly every rule.
	cache [maxFields]ref.Val
	found [maxFields]int8 // 0 not computed, 1 absent, 2 present
	// cached says a field was computed since the state was last cleared: most events are judged by Go guards
	// alone and read no field through CEL, and clearing 40 interfaces they never set cost a tenth of their
	// evaluation.
	cached bool
}

// maxFields is the number of fields cached per event; a field numbered beyond it is computed on every read
// (TestEventFieldsCached keeps the tables within it).
const maxFields = 40

type field struct {
	idx int
	get func(*eventState) (ref.Val, bool)
}

func init() {
	n := 0
	for _, t := range []*fieldTable{eventTable, refTable, userTable, statusTable} {
		t.index = make(map[string]field, len(t.fields))
		for name, get := range t.fields {
			t.index[name] = field{idx: n, get: get}
			n++
		}
	}
}

func newEventState(ev *auditv1.Event) *eventState {
	st := &eventState{}
	st.init(ev)
	return st
}

// init makes st the state of ev, with nothing cached.
func (st *eventState) init(ev *auditv1.Event) {
	*st = eventState{ev: ev}
	st.root = eventVal{st, eventTable}
	st.objectRef = eventVal{st, refTable}
	st.user = eventVal{st, userTable}
	st.response = eventVal{st, statusTable}
}

type fieldTable struct {
	name   string // the key of this map in the event map; "" for the event itself
	fields map[string]func(*eventState) (ref.Val, bool)
	index  map[string]field
}

var adapter = types.DefaultTypeAdapter

func str(s string) (ref.Val, bool) { return types.String(s), true }

var (
	refTable = &fieldTable{name: "objectRef", fields: map[string]func(*eventState) (ref.Val, bool){
		"resource":        func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).Resource) },
		"namespace":       func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).Namespace) },
		"name":            func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).Name) },
		"uid":             func(st *eventState) (ref.Val, bool) { return str(string(objRef(st.ev).UID)) },
		"apiGroup":        func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).APIGroup) },
		"apiVersion":      func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).APIVersion) },
		"resourceVersion": func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).ResourceVersion) },
		"subresource":     func(st *eventState) (ref.Val, bool) { return str(objRef(st.ev).Subresource) },
	}}
	userTable = &fieldTable{name: "user", fields: map[string]func(*eventState) (ref.Val, bool){
		"username": func(st *eventState) (ref.Val, bool) { return str(st.ev.User.Username) },
		"uid":      func(st *eventState) (ref.Val, bool) { return str(st.ev.User.UID) },
		"groups": func(st *eventState) (ref.Val, bool) {
			ev := st.ev
			return types.NewStringList(adapter, stringsOrEmpty(ev.User.Groups)), true
		},
	}}
	statusTable = &fieldTable{name: "responseStatus", fields: map[string]func(*eventState) (ref.Val, bool){
		"code": func(st *eventState) (ref.Val, bool) {
			ev := st.ev
			if ev.ResponseStatus == nil {
				return types.Int(0), true
			}
			return types.Int(ev.ResponseStatus.Code), true
		},
		"status":  func(st *eventState) (ref.Val, bool) { return str(status(st.ev).Status) },
		"reason":  func(st *eventState) (ref.Val, bool) { return str(string(status(st.ev).Reason)) },
		"message": func(st *eventState) (ref.Val, bool) { return str(status(st.ev).Message) },
	}}
	eventTable = &fieldTable{fields: map[string]func(*eventState) (ref.Val, bool){
		"kind":       func(*eventState) (ref.Val, bool) { return str("Event") },
		"apiVersion": func(*eventState) (ref.Val, bool) { return str("audit.k8s.io/v1") },
		"level":      func(st *eventState) (ref.Val, bool) { return str(string(st.ev.Level)) },
		"auditID":    func(st *eventState) (ref.Val, bool) { return str(string(st.ev.AuditID)) },
		"stage":      func(st *eventState) (ref.Val, bool) { return str(string(st.ev.Stage)) },
		"requestURI": func(st *eventState) (ref.Val, bool) { return str(st.ev.RequestURI) },
		"verb":       func(st *eventState) (ref.Val, bool) { return str(st.ev.Verb) },
		"userAgent":  func(st *eventState) (ref.Val, bool) { return str(st.ev.UserAgent) },
		"sourceIPs": func(st *eventState) (ref.Val, bool) {
			ev := st.ev
			return types.NewStringList(adapter, stringsOrEmpty(ev.SourceIPs)), true
		},
		"user":           func(st *eventState) (ref.Val, bool) { return &st.user, true },
		"objectRef":      func(st *eventState) (ref.Val, bool) { return &st.objectRef, true },
		"responseStatus": func(st *eventState) (ref.Val, bool) { return &st.response, true },
		"annotations": func(st *eventState) (ref.Val, bool) {
			ev := st.ev
			ann := ev.Annotations
			if ann == nil {
				ann = map[string]string{}
			}
			return types.NewStringStringMap(adapter, ann), true
		},
		"impersonatedUser": func(st *eventState) (ref.Val, bool) {
			ev := st.ev
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
func (v *eventVal) materialize() map[string]any {
	m := eventMap(v.st.ev)
	if v.table.name == "" {
		return m
	}
	sub, _ := m[v.table.name].(map[string]any)
	return sub
}

func (v *eventVal) plain() ref.Val { return adapter.NativeToValue(v.materialize()) }

// ConvertToNative implements ref.Val.
func (v *eventVal) ConvertToNative(typ reflect.Type) (any, error) {
	return v.plain().ConvertToNative(typ)
}

// ConvertToType implements ref.Val.
func (v *eventVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return v
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to %s", t)
}

// Equal implements ref.Val.
func (v *eventVal) Equal(other ref.Val) ref.Val { return v.plain().Equal(other) }

// Type implements ref.Val.
func (v *eventVal) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (v *eventVal) Value() any { return v.materialize() }

// Find implements traits.Mapper.
func (v *eventVal) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	f, ok := v.table.index[string(k)]
	if !ok {
		return nil, false
	}
	st := v.st
	if f.idx >= maxFields {
		return f.get(st)
	}
	switch st.found[f.idx] {
	case 1:
		return nil, false
	case 2:
		return st.cache[f.idx], true
	}
	val, present := f.get(st)
	st.found[f.idx], st.cached = 1, true
	if present {
		st.found[f.idx], st.cache[f.idx] = 2, val
	}
	return val, present
}

// Get implements traits.Indexer.
func (v *eventVal) Get(key ref.Val) ref.Val {
	if val, ok := v.Find(key); ok {
		return val
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container.
func (v *eventVal) Contains(key ref.Val) ref.Val {
	_, ok := v.Find(key)
	return types.Bool(ok)
}

// Size implements traits.Sizer.
func (v *eventVal) Size() ref.Val { return types.Int(len(v.materialize())) }

// Iterator implements traits.Iterable.
func (v *eventVal) Iterator() traits.Iterator {
	if it, ok := v.plain().(traits.Iterable); ok {
		return it.Iterator()
	}
	return types.NewStringList(adapter, nil).(traits.Iterable).Iterator()
}

func (v *eventVal) String() string { return fmt.Sprint(v.materialize()) }

var _ traits.Mapper = (*eventVal)(nil)
