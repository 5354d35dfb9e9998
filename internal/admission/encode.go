package admission

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"

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

// encodeResponse appends to out the AdmissionReview (admission.k8s.io/v1) that answers a review with resp.
func encodeResponse(out *bytes.Buffer, resp *admissionv1.AdmissionResponse) error {
	review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewKind}, Response: resp}
	return jsonv2.MarshalWrite(out, &review, encodeOptions)
}
