package detect

import (
	"maps"
	"slices"
	"testing"

	apiservercel "k8s.io/apiserver/pkg/cel"
)

// The declared event type and the tables the event is read through name the same fields: a field only in the
// tables could not be read by a rule, a field only in the type would compile and never match.
func TestEventTypeMatchesTables(t *testing.T) {
	for _, tc := range []struct {
		table *fieldTable
		typ   *apiservercel.DeclType
	}{{eventTable, eventType}, {refTable, objectRefType}, {userTable, userInfoType}, {statusTable, statusType}} {
		tableFields := slices.Sorted(maps.Keys(tc.table.fields))
		typeFields := slices.Sorted(maps.Keys(tc.typ.Fields))
		if !slices.Equal(tableFields, typeFields) {
			t.Errorf("%s: the table reads %v, the type declares %v", tc.typ.TypeName(), tableFields, typeFields)
		}
	}
}
