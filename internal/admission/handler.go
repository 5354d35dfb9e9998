package admission

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/policy"
)

// Handler judges one decoded admission request. It must not return nil; the server treats a nil Decision (or a
// panic) as an internal error and answers with an errored response.
type Handler interface {
	Handle(ctx context.Context, req *policy.Request) *policy.Decision
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *policy.Request) *policy.Decision

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req *policy.Request) *policy.Decision {
	return f(ctx, req)
}

// Policy adapts the policy evaluator to Handler.
func Policy(e *policy.Evaluator) Handler { return HandlerFunc(e.Evaluate) }

// AllowAll is a Handler that allows every request without looking at it: the transport's own limit in
// benchmarks, and a safe stand-in in tests.
var AllowAll Handler = HandlerFunc(func(_ context.Context, req *policy.Request) *policy.Decision {
	return &policy.Decision{Request: req, Allowed: true}
})

// Allowed returns a response that admits the request.
func Allowed(uid types.UID) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{UID: uid, Allowed: true, Result: &metav1.Status{Code: http.StatusOK}}
}

// Denied returns a response that refuses the request with HTTP 403 Forbidden and the message the client sees
// (kubectl prints it after `admission webhook "..." denied the request:`).
func Denied(uid types.UID, message string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{UID: uid, Allowed: false, Result: &metav1.Status{
		Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: message,
	}}
}

// Errored returns a response that refuses the request because the webhook itself failed; code is an HTTP status
// (500 for an internal error).
func Errored(uid types.UID, code int32, err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{UID: uid, Allowed: false, Result: &metav1.Status{
		Code: code, Reason: metav1.StatusReasonInternalError, Message: "vnfguard: " + err.Error(),
	}}
}

// Response turns a decision into the AdmissionResponse for the request with the given UID: allowed or denied
// (403, the decision's message), with the decision's warnings either way.
func Response(uid types.UID, d *policy.Decision) *admissionv1.AdmissionResponse {
	if d.Request == nil {
		// Message names the request's object; a hand-built decision may lack it.
		withReq := *d
		withReq.Request = &policy.Request{UID: string(uid)}
		d = &withReq
	}
	var resp *admissionv1.AdmissionResponse
	if d.Allowed {
		resp = Allowed(uid)
	} else {
		resp = Denied(uid, d.Message())
	}
	if w := d.WarningTexts(); len(w) > 0 {
		resp.Warnings = w
	}
	return resp
}
