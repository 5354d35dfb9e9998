package detect

import "reflect"

var anyType = reflect.TypeOf((*any)(nil)).Elem()
