package admission

import (
	"bytes"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

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

// The AdmissionReview version vnfguard registers (admissionReviewVersions [v1]) and reads.
const (
	reviewAPIVersion = "admission.k8s.io/v1"
	reviewKind       = "AdmissionReview"
)

// reviewError is a request the server cannot judge: the reason (a metric label) and a message that says what
// failed and where, returned to the client with HTTP 400.
type reviewError struct {
	reason string
	msg    string
}

func (e *reviewError) Error() string { return e.msg }

// decodeReview decodes an AdmissionReview v1 body in one pass with encoding/json/v2: the envelope token by token,
// and the request's object and oldObject straight into their typed form (policy.DecodeObjectFrom), since the API
// server writes request.kind before them. An object that comes before request.kind is set apart as it stands and
// decoded once the kind is known. It never panics on any input; it returns either a policy request with a UID or an
// error that says what is wrong and where.
//
// A body that fails that pass is decoded a second time, carefully, to report what is wrong in the order the
// checks take precedence: a syntax error anywhere first, then a value of the wrong type in the envelope, then the
// apiVersion, kind, request, uid and operation, then the object and the old object. The fast pass stops at its
// first error, wherever it is; errors are rare, and the second pass costs nothing to a review that decodes.
func decodeReview(body []byte) (req *policy.Request, rerr *reviewError) {
	defer func() {
		// A decoder bug must cost one request, not the server; the fuzz target looks for this message.
		if p := recover(); p != nil {
			req, rerr = nil, &reviewError{reasonObject, fmt.Sprintf("decode panicked: %v", p)}
		}
	}()
	if len(body) == 0 {
		return nil, &reviewError{reasonJSON, "decode AdmissionReview: " + describeJSONError(body, nil)}
	}
	d := reviewDecoders.Get().(*reviewDecoder)
	defer d.release()
	if req, rerr, ok := d.decode(body, false); ok {
		return req, rerr
	}
	req, rerr, _ = d.decode(body, true)
	return req, rerr
}

// reviewDecoder holds the state of one decode. It is pooled: a jsontext.Decoder grows its stacks to the depth of a
// pod once, not for every review.
type reviewDecoder struct {
	in   *bytes.Buffer // the body, read by dec in place (jsontext reads a bytes.Buffer without copying it)
	dec  *jsontext.Decoder
	body []byte
	// careful sets every object apart until the envelope is read, so that an error in the envelope or an object is
	// reported in its order of precedence (decodeReview's second pass).
	careful bool

	apiVersion, kind  string
	hasRequest        bool // a request object (not null) was read
	req               *policy.Request
	kindRead          bool // request.kind has been read: an object that follows is decoded straight
	dryRun            *bool
	object, oldObject objectField

	// What the envelope carries and the policy does not read: decoded, so that a value of the wrong type is refused
	// as encoding/json refused it, and then dropped.
	ignoredKind        metav1.GroupVersionKind
	ignoredResource    metav1.GroupVersionResource
	ignoredSubResource string
	ignoredResponse    admissionv1.AdmissionResponse

	strs *[256]string // intern's cache, kept across reviews
}

// objectField is request.object or request.oldObject as the decoder found it.
type objectField struct {
	obj runtime.Object
	raw []byte // the value set apart, when it came before request.kind (or in the careful pass)
	at  int64  // the byte offset of raw in the body
	err error
}

var reviewDecoders = sync.Pool{New: func() any {
	return &reviewDecoder{in: new(bytes.Buffer), dec: jsontext.NewDecoder(&emptyBody), strs: new([256]string)}
}}

// emptyBody is what a pooled decoder reads between uses, so that it holds on to no request's body.
var emptyBody bytes.Buffer

// release drops every reference to the review and returns the decoder to the pool.
func (d *reviewDecoder) release() {
	d.dec.Reset(&emptyBody)
	*d.in = bytes.Buffer{}
	*d = reviewDecoder{in: d.in, dec: d.dec, strs: d.strs}
	reviewDecoders.Put(d)
}

// decode makes one pass over body; ok is false when the fast pass (careful false) found an error, which the
// careful pass then describes.
func (d *reviewDecoder) decode(body []byte, careful bool) (req *policy.Request, rerr *reviewError, ok bool) {
	d.start(body, careful)
	if careful {
		if err := d.syntax(); err != nil {
			return nil, &reviewError{reasonJSON, "decode AdmissionReview: " + describeJSONError(body, err)}, true
		}
		d.start(body, careful)
	}
	if err := d.review(); err != nil {
		if !careful {
			return nil, nil, false
		}
		return nil, &reviewError{reasonJSON, "decode AdmissionReview: " + describeJSONError(body, err)}, true
	}
	req, rerr = d.finish()
	return req, rerr, true
}

// start readies the decoder for a pass over body.
func (d *reviewDecoder) start(body []byte, careful bool) {
	*d.in = *bytes.NewBuffer(body)
	d.dec.Reset(d.in, policy.DecodeOptions)
	*d = reviewDecoder{in: d.in, dec: d.dec, strs: d.strs, body: body, careful: careful, req: &policy.Request{}}
}

// syntax reads the whole body as one JSON value and reports the first syntax error: encoding/json reported a
// syntax error anywhere in the document before anything else, and so does the careful pass.
func (d *reviewDecoder) syntax() error {
	if err := d.dec.SkipValue(); err != nil {
		return err
	}
	return d.end()
}

// end reports anything after the one top-level value (jsontext reads a stream of values; a review is one).
func (d *reviewDecoder) end() error {
	switch _, err := d.dec.ReadToken(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return err
	}
	return &jsontext.SyntacticError{ByteOffset: d.dec.InputOffset(), Err: errors.New("invalid data after the top-level value")}
}

// review reads the AdmissionReview: apiVersion, kind, request (and a response, which a review sent to a webhook
// does not carry, checked for its types and dropped).
func (d *reviewDecoder) review() error {
	dec := d.dec
	err := d.fields(func() any { return &admissionv1.AdmissionReview{} }, nil, func(name []byte) error {
		switch string(name) {
		case "apiVersion":
			return d.str(&d.apiVersion)
		case "kind":
			return d.str(&d.kind)
		case "request":
			return d.request()
		case "response":
			return jsonv2.UnmarshalDecode(dec, &d.ignoredResponse)
		}
		return dec.SkipValue()
	})
	if err != nil {
		return err
	}
	return d.end() // after null too: an empty review, refused by finish
}

// request reads the AdmissionRequest into the policy request: every field of admission/v1's, by its exact name.
func (d *reviewDecoder) request() error {
	dec := d.dec
	if dec.PeekKind() == '{' {
		d.hasRequest = true // null leaves it false (as does a value of another type, an error)
	}
	req := d.req
	return d.fields(func() any { return &admissionv1.AdmissionRequest{} }, nil, func(name []byte) error {
		switch string(name) {
		case "uid":
			return d.str(&req.UID)
		case "kind":
			err := d.groupVersion(&req.Kind.Group, &req.Kind.Version, "kind", &req.Kind.Kind, func() any { return new(metav1.GroupVersionKind) })
			d.kindRead = err == nil
			return err
		case "resource":
			return d.groupVersion(&req.Resource.Group, &req.Resource.Version, "resource", &req.Resource.Resource, func() any { return new(metav1.GroupVersionResource) })
		case "subResource":
			return d.str(&req.SubResource)
		case "requestKind":
			k := &d.ignoredKind
			return d.groupVersion(&k.Group, &k.Version, "kind", &k.Kind, func() any { return new(metav1.GroupVersionKind) })
		case "requestResource":
			r := &d.ignoredResource
			return d.groupVersion(&r.Group, &r.Version, "resource", &r.Resource, func() any { return new(metav1.GroupVersionResource) })
		case "requestSubResource":
			return d.str(&d.ignoredSubResource)
		case "name":
			return d.str(&req.Name)
		case "namespace":
			return d.str(&req.Namespace)
		case "operation":
			return d.str(&req.Operation)
		case "userInfo":
			return d.userInfo(&req.User)
		case "object":
			return d.objectValue(&d.object)
		case "oldObject":
			return d.objectValue(&d.oldObject)
		case "dryRun":
			return d.boolPtr(&d.dryRun)
		}
		// "options" is a RawExtension, which takes any JSON value; names the policy does not know are ignored as
		// encoding/json ignored them.
		return dec.SkipValue()
	})
}

// objectValue reads request.object or request.oldObject: decoded straight into its typed form when request.kind
// is known, else set apart as it stands (a slice of the body, not a copy) for finish.
func (d *reviewDecoder) objectValue(f *objectField) error {
	dec := d.dec
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		*f = objectField{}
		return err
	}
	if d.kindRead && !d.careful {
		obj, err := policy.DecodeObjectFrom(dec, d.req.Kind)
		*f = objectField{obj: obj}
		return err // the careful pass reports it, in its place
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	end := dec.InputOffset()
	*f = objectField{raw: d.body[end-int64(len(v)) : end], at: end - int64(len(v))}
	return nil
}

// finish checks the decoded review as the webhook requires it and completes the policy request.
func (d *reviewDecoder) finish() (*policy.Request, *reviewError) {
	if d.apiVersion != reviewAPIVersion {
		return nil, &reviewError{reasonAPIVersion, fmt.Sprintf("apiVersion is %q, want %q (vnfguard registers admissionReviewVersions [v1])", d.apiVersion, reviewAPIVersion)}
	}
	if d.kind != reviewKind {
		return nil, &reviewError{reasonKind, fmt.Sprintf("kind is %q, want %q", d.kind, reviewKind)}
	}
	if !d.hasRequest {
		return nil, &reviewError{reasonNoRequest, "request: missing: an AdmissionReview sent to a webhook must carry a request"}
	}
	req := d.req
	if req.UID == "" {
		return nil, &reviewError{reasonNoUID, "request.uid: missing: the response must echo it"}
	}
	if err := policy.CheckOperation(req.Operation); err != nil {
		return nil, &reviewError{reasonObject, err.Error()}
	}
	for _, f := range []struct {
		field string
		obj   *objectField
		dst   *runtime.Object
	}{{"request.object", &d.object, &req.Object}, {"request.oldObject", &d.oldObject, &req.OldObject}} {
		o := f.obj
		if o.raw != nil {
			o.obj, o.err = policy.DecodeObject(req.Kind, o.raw)
			if se, ok := errors.AsType[*jsonv2.SemanticError](o.err); ok {
				se.ByteOffset += o.at // from the object's start to the body's
			}
		}
		if o.err != nil {
			return nil, &reviewError{reasonObject, fmt.Sprintf("%s (%s %s/%s): %s", f.field, req.Kind.Kind, req.Namespace, req.Name, describeJSONError(d.body, o.err))}
		}
		*f.dst = o.obj
	}
	req.DryRun = d.dryRun != nil && *d.dryRun
	req.Complete()
	return req, nil
}

// groupVersion reads a GroupVersionKind or GroupVersionResource ({"group","version", and last, "kind" or
// "resource"}) field by field: the API server sends four of them in every review, and encoding/json/v2's reflection
// costs more than the strings. Errors are the ones v2 gives for target's type.
func (d *reviewDecoder) groupVersion(group, version *string, last string, lastDst *string, target func() any) error {
	null := func() { *group, *version, *lastDst = "", "", "" } // the zero value, as v2 decodes null
	return d.fields(target, null, func(name []byte) error {
		switch string(name) {
		case "group":
			return d.str(group)
		case "version":
			return d.str(version)
		case last:
			return d.str(lastDst)
		}
		return d.dec.SkipValue()
	})
}

// userInfo reads request.userInfo: username, uid and groups field by field, extra (rare, a map of lists) with
// encoding/json/v2.
func (d *reviewDecoder) userInfo(u *authnv1.UserInfo) error {
	null := func() { *u = authnv1.UserInfo{} }
	return d.fields(func() any { return new(authnv1.UserInfo) }, null, func(name []byte) error {
		switch string(name) {
		case "username":
			return d.str(&u.Username)
		case "uid":
			return d.str(&u.UID)
		case "groups":
			return d.strings(&u.Groups)
		case "extra":
			return jsonv2.UnmarshalDecode(d.dec, &u.Extra)
		}
		return d.dec.SkipValue()
	})
}

// strings reads a list of strings (null gives nil, [] an empty list, as v2 decodes them).
func (d *reviewDecoder) strings(dst *[]string) error {
	dec := d.dec
	if dec.PeekKind() != '[' {
		return jsonv2.UnmarshalDecode(dec, dst)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	list := []string{}
	for dec.PeekKind() != ']' {
		var s string
		if err := d.str(&s); err != nil {
			return err
		}
		list = append(list, s)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*dst = list
	return nil
}

// fields reads an object member by member: field reads the value of each member, given its name (valid until the
// next read). For null it calls null, if not nil, and reads nothing more; a value that is neither an object nor
// null is the error encoding/json/v2 gives for it in place of the type target makes (see enterObject).
func (d *reviewDecoder) fields(target func() any, null func(), field func(name []byte) error) error {
	dec := d.dec
	if ok, err := d.enterObject(target); !ok {
		if err == nil && null != nil {
			null()
		}
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return err
		}
		if err := field(name); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// enterObject reads the start of an object. For null it reports false and no error (the field is absent, as
// encoding/json had it); for another value, false and the error encoding/json/v2 gives for it in place of the
// type target makes (which names the field and the offset).
func (d *reviewDecoder) enterObject(target func() any) (bool, error) {
	dec := d.dec
	switch dec.PeekKind() {
	case '{':
		_, err := dec.ReadToken()
		return err == nil, err
	case 'n':
		_, err := dec.ReadToken()
		return false, err
	}
	if err := jsonv2.UnmarshalDecode(dec, target()); err != nil {
		return false, err
	}
	return false, &jsontext.SyntacticError{ByteOffset: dec.InputOffset(), Err: errors.New("want a JSON object")}
}

// name reads an object member's name, without a copy unless it is escaped.
func (d *reviewDecoder) name() ([]byte, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	return jsontext.AppendUnquote(nil, v)
}

// str reads a string value (null gives ""); a value of another type is v2's error for a string.
func (d *reviewDecoder) str(dst *string) error {
	dec := d.dec
	if dec.PeekKind() != '"' {
		return jsonv2.UnmarshalDecode(dec, dst)
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		*dst = d.intern(v[1 : len(v)-1])
		return nil
	}
	b, err := jsontext.AppendUnquote(nil, v)
	*dst = d.intern(b)
	return err
}

// intern returns b as a string, the same string as the last time b hashed to its slot: the envelope's strings
// (versions, kinds, resources, namespaces, users, groups) repeat from review to review, and encoding/json/v2
// interns the strings of the objects in the same way. The cache lives with the pooled decoder; it holds at most
// 256 strings of up to 64 bytes.
func (d *reviewDecoder) intern(b []byte) string {
	if len(b) == 0 || len(b) > 64 {
		return string(b)
	}
	slot := &d.strs[maphash.Bytes(internSeed, b)%uint64(len(d.strs))]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

var internSeed = maphash.MakeSeed()

// boolPtr reads a boolean into a pointer (null gives nil).
func (d *reviewDecoder) boolPtr(dst **bool) error {
	dec := d.dec
	switch dec.PeekKind() {
	case 't', 'f':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		b := tok.Bool()
		*dst = &b
		return nil
	}
	return jsonv2.UnmarshalDecode(dec, dst)
}

// describeJSONError adds where a JSON error happened: the byte offset and the text around it for syntax errors,
// the byte offset for errors of type (encoding/json/v2 names the value's JSON pointer).
func describeJSONError(body []byte, err error) string {
	if len(body) == 0 {
		return "empty body: want an AdmissionReview JSON document"
	}
	if syn, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		msg := err.Error()
		if !strings.Contains(msg, " offset ") { // jsontext names the offset of most errors, not of all
			msg += " at byte offset " + strconv.FormatInt(syn.ByteOffset, 10)
		}
		return msg + fmt.Sprintf(" (near %q)", jsonpos.Around(body, syn.ByteOffset))
	}
	if sem, ok := errors.AsType[*jsonv2.SemanticError](err); ok && sem.ByteOffset > 0 {
		return fmt.Sprintf("%v (at byte offset %d)", err, sem.ByteOffset)
	}
	return err.Error()
}
