package admission

import (
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/vnfguard/vnfguard/internal/jsonpos"
	"github.com/vnfguard/vnfguard/internal/policy"
)

// The review errors, by the reason label they carry in vnfguard_admission_review_errors_total.
const (
	reasonMethod      = "method"
	reasonContentType = "content-type"
	reasonTooLarge    = "too-large"
	reasonRead        = "read"
	reasonJSON        = "json"
	reasonAPIVersion  = "api-version"
	reasonKind        = "kind"
	reasonNoRequest   = "no-request"
	reasonNoUID       = "no-uid"
	reasonObject      = "object"
	reasonHandler     = "handler"
	reasonEncode      = "encode"
)

// reviewError is a request the server cannot judge: the reason (a metric label) and a message that says what
// failed and where, returned to the client with HTTP 400.
type reviewError struct {
	reason string
	msg    string
}

func (e *reviewError) Error() string { return e.msg }

// decodeReview decodes an AdmissionReview v1 body once: the envelope with encoding/json (the objects stay raw),
// then the request's objects into typed Kubernetes objects through policy.FromAdmission. It never panics on any
// input; it returns either a review with a request carrying a UID and the decoded policy request, or an error.
func decodeReview(body []byte) (review *admissionv1.AdmissionReview, req *policy.Request, rerr *reviewError) {
	defer func() {
		// A decoder bug must cost one request, not the server; the fuzz target looks for this message.
		if p := recover(); p != nil {
			review, req, rerr = nil, nil, &reviewError{reasonObject, fmt.Sprintf("decode panicked: %v", p)}
		}
	}()
	review = &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil {
		return nil, nil, &reviewError{reasonJSON, "decode AdmissionReview: " + describeJSONError(body, err)}
	}
	const wantAPIVersion = "admission.k8s.io/v1"
	if review.APIVersion != wantAPIVersion {
		return nil, nil, &reviewError{reasonAPIVersion, fmt.Sprintf("apiVersion is %q, want %q (vnfguard registers admissionReviewVersions [v1])", review.APIVersion, wantAPIVersion)}
	}
	if review.Kind != "AdmissionReview" {
		return nil, nil, &reviewError{reasonKind, fmt.Sprintf("kind is %q, want \"AdmissionReview\"", review.Kind)}
	}
	if review.Request == nil {
		return nil, nil, &reviewError{reasonNoRequest, "request: missing: an AdmissionReview sent to a webhook must carry a request"}
	}
	if review.Request.UID == "" {
		return nil, nil, &reviewError{reasonNoUID, "request.uid: missing: the response must echo it"}
	}
	req, err := policy.FromAdmission(review.Request)
	if err != nil {
		return nil, nil, &reviewError{reasonObject, err.Error()}
	}
	return review, req, nil
}

// describeJSONError adds where a JSON error happened: the byte offset and the text around it for syntax errors,
// the field path for type errors (encoding/json already names it).
func describeJSONError(body []byte, err error) string {
	if len(body) == 0 {
		return "empty body: want an AdmissionReview JSON document"
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%v at byte offset %d (near %q)", err, syn.Offset, jsonpos.Around(body, syn.Offset))
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("%v (at byte offset %d)", err, typ.Offset)
	}
	return err.Error()
}
