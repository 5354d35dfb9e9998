package admission

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"strconv"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// encodeOptions are the encoding/json/v2 options of the AdmissionReview response; each is a decision about what the
// API server reads (with sigs.k8s.io/json, into admission/v1's types):
//   - Invalid UTF-8 in a string is written as U+FFFD, as encoding/json wrote it, instead of failing the response: a
//     message can quote what a lookup's error said, and a response that cannot be written is a 500, which the API
//     server answers with the webhook's failure policy instead of the decision.
//   - Map keys (auditAnnotations) are sorted, as encoding/json sorted them: the same decision is the same bytes.
//
// omitempty keeps v2's meaning: a field is left out when its JSON is empty (null, "", {}, []). For admission/v1's
// response that is encoding/json's choice of fields (uid and allowed always, status, patch, patchType,
// auditAnnotations and warnings only when set) with two differences inside status that mean the same to the API
// server: an empty "metadata":{} is left out, and a zero code would be written as 0 (a decision always has one).
var encodeOptions = jsonv2.JoinOptions(
	jsontext.AllowInvalidUTF8(true),
	jsonv2.Deterministic(true),
)

// encodeResponse appends to out the AdmissionReview (admission.k8s.io/v1) that answers a review with resp. The
// responses the server makes (uid, allowed, a status with code, reason and message, warnings) are written directly,
// byte for byte what encoding/json/v2 writes for them with encodeOptions, without reflection; any other response
// (a patch, audit annotations, a status with more) goes through encoding/json/v2.
func encodeResponse(out *bytes.Buffer, resp *admissionv1.AdmissionResponse) error {
	if !plainResponse(resp) {
		review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewKind}, Response: resp}
		return jsonv2.MarshalWrite(out, &review, encodeOptions)
	}
	// AppendQuote writes invalid UTF-8 as U+FFFD and says so in its error, which is ignored as AllowInvalidUTF8
	// ignores it.
	b := out.AvailableBuffer()
	b = append(b, `{"kind":"`+reviewKind+`","apiVersion":"`+reviewAPIVersion+`","response":{"uid":`...)
	b, _ = jsontext.AppendQuote(b, resp.UID)
	b = append(b, `,"allowed":`...)
	b = strconv.AppendBool(b, resp.Allowed)
	if r := resp.Result; r != nil {
		b = append(b, `,"status":{`...)
		if r.Message != "" {
			b = append(b, `"message":`...)
			b, _ = jsontext.AppendQuote(b, r.Message)
			b = append(b, ',')
		}
		if r.Reason != "" {
			b = append(b, `"reason":`...)
			b, _ = jsontext.AppendQuote(b, r.Reason)
			b = append(b, ',')
		}
		b = append(b, `"code":`...)
		b = strconv.AppendInt(b, int64(r.Code), 10)
		b = append(b, '}')
	}
	if len(resp.Warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range resp.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = jsontext.AppendQuote(b, w)
		}
		b = append(b, ']')
	}
	b = append(b, "}}"...)
	_, err := out.Write(b)
	return err
}

// plainResponse reports whether resp holds only what encodeResponse writes directly.
func plainResponse(resp *admissionv1.AdmissionResponse) bool {
	if len(resp.Patch) > 0 || resp.PatchType != nil || len(resp.AuditAnnotations) > 0 {
		return false
	}
	r := resp.Result
	return r == nil || r.TypeMeta == (metav1.TypeMeta{}) && r.ListMeta == (metav1.ListMeta{}) && r.Status == "" && r.Details == nil
}
