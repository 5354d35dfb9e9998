package detect

import (
	apiservercel "k8s.io/apiserver/pkg/cel"
)

// The CEL types of the audit event, declared field by field so that a rule that reads a field the event does not
// have (event.objectRef.resourc) fails to compile, with its position, instead of never matching. They are the
// tables of eventval.go seen from the type checker (TestEventTypeMatchesTables keeps the two in step); at run
// time the event stays the lazy eventVal map, which CEL reads field by field as it reads any map.
// requestObject and responseObject stay map(string, dyn): they hold objects of every kind.
var (
	userInfoType = apiservercel.NewObjectType("vnfguard.audit.UserInfo", fields(map[string]*apiservercel.DeclType{
		"username": apiservercel.StringType,
		"uid":      apiservercel.StringType,
		"groups":   apiservercel.NewListType(apiservercel.StringType, -1),
	}))
	objectRefType = apiservercel.NewObjectType("vnfguard.audit.ObjectReference", fields(map[string]*apiservercel.DeclType{
		"resource": apiservercel.StringType, "namespace": apiservercel.StringType, "name": apiservercel.StringType,
		"uid": apiservercel.StringType, "apiGroup": apiservercel.StringType, "apiVersion": apiservercel.StringType,
		"resourceVersion": apiservercel.StringType, "subresource": apiservercel.StringType,
	}))
	statusType = apiservercel.NewObjectType("vnfguard.audit.Status", fields(map[string]*apiservercel.DeclType{
		"code": apiservercel.IntType, "status": apiservercel.StringType, "reason": apiservercel.StringType,
		"message": apiservercel.StringType,
	}))
	eventType = apiservercel.NewObjectType("vnfguard.audit.Event", fields(map[string]*apiservercel.DeclType{
		"kind": apiservercel.StringType, "apiVersion": apiservercel.StringType, "level": apiservercel.StringType,
		"auditID": apiservercel.StringType, "stage": apiservercel.StringType, "requestURI": apiservercel.StringType,
		"verb": apiservercel.StringType, "userAgent": apiservercel.StringType,
		"sourceIPs":        apiservercel.NewListType(apiservercel.StringType, -1),
		"user":             userInfoType,
		"impersonatedUser": userInfoType,
		"objectRef":        objectRefType,
		"responseStatus":   statusType,
		"annotations":      apiservercel.NewMapType(apiservercel.StringType, apiservercel.StringType, -1),
	}))
)

func fields(types map[string]*apiservercel.DeclType) map[string]*apiservercel.DeclField {
	out := make(map[string]*apiservercel.DeclField, len(types))
	for name, t := range types {
		out[name] = apiservercel.NewDeclField(name, t, false, nil, nil)
	}
	return out
}
