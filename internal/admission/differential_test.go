package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	sigsjson "sigs.k8s.io/json"

	"github.com/vnfguard/vnfguard/internal/policy"
)

// decodeReviewV1 is the decoder the webhook had before it decoded once (commit d82ce57): the envelope with
// encoding/json into admissionv1.AdmissionReview (the objects kept as raw bytes), then policy.FromAdmission, which
// decoded each object again with encoding/json. Kept here only as the reference of the differential tests.
func decodeReviewV1(body []byte) (*policy.Request, *reviewError) {
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil {
		return nil, &reviewError{reasonJSON, "decode AdmissionReview: " + err.Error()}
	}
	switch {
	case review.APIVersion != reviewAPIVersion:
		return nil, &reviewError{reasonAPIVersion, "apiVersion"}
	case review.Kind != reviewKind:
		return nil, &reviewError{reasonKind, "kind"}
	case review.Request == nil:
		return nil, &reviewError{reasonNoRequest, "request"}
	case review.Request.UID == "":
		return nil, &reviewError{reasonNoUID, "uid"}
	}
	ar := review.Request
	req := &policy.Request{UID: string(ar.UID), Operation: string(ar.Operation), Kind: schema.GroupVersionKind(ar.Kind),
		Resource: schema.GroupVersionResource(ar.Resource), SubResource: ar.SubResource, Namespace: ar.Namespace, Name: ar.Name,
		User: ar.UserInfo, DryRun: ar.DryRun != nil && *ar.DryRun}
	if err := policy.CheckOperation(req.Operation); err != nil {
		return nil, &reviewError{reasonObject, err.Error()}
	}
	var err error
	if req.Object, err = decodeObjectV1(req.Kind, ar.Object.Raw); err != nil {
		return nil, &reviewError{reasonObject, "request.object: " + err.Error()}
	}
	if req.OldObject, err = decodeObjectV1(req.Kind, ar.OldObject.Raw); err != nil {
		return nil, &reviewError{reasonObject, "request.oldObject: " + err.Error()}
	}
	req.Complete()
	return req, nil
}

// decodeObjectV1 is policy.DecodeObject as it was, with encoding/json. The type to decode into is the one the
// policy's own decoder picks (from an object that carries only apiVersion and kind), made afresh.
func decodeObjectV1(kind schema.GroupVersionKind, raw []byte) (runtime.Object, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if err := policy.CheckVersion(kind); err != nil {
		return nil, err
	}
	var obj runtime.Object = &unstructured.Unstructured{}
	apiVersion, k := kind.ToAPIVersionAndKind()
	if typed, err := policy.DecodeObject(kind, fmt.Appendf(nil, `{"apiVersion":%q,"kind":%q}`, apiVersion, k)); err == nil {
		obj = reflect.New(reflect.TypeOf(typed).Elem()).Interface().(runtime.Object)
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind.Kind, err)
	}
	return obj, nil
}

// member is one name and value of a JSON object, in document order.
type member struct {
	name  string
	value jsontext.Value
}

// members splits a JSON object into its members, in order (nil for anything else).
func members(t testing.TB, obj []byte) []member {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil
	}
	var out []member
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		name := tok.String() // before the next read voids the token
		v, err := dec.ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{name, v.Clone()})
	}
	return out
}

// object writes members as a JSON object.
func object(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func get(ms []member, name string) (jsontext.Value, bool) {
	for _, m := range ms {
		if m.name == name {
			return m.value, true
		}
	}
	return nil, false
}

// set replaces the member name (appending it when absent); a nil value removes it.
func set(ms []member, name string, value []byte) []member {
	out := slices.Clone(ms)
	for i, m := range out {
		if m.name == name {
			if value == nil {
				return slices.Delete(out, i, i+1)
			}
			out[i].value = value
			return out
		}
	}
	if value == nil {
		return out
	}
	return append(out, member{name, value})
}

// withRequestMembers rewrites the request of a review.
func withRequestMembers(t testing.TB, body []byte, edit func([]member) []member) []byte {
	top := members(t, body)
	req, ok := get(top, "request")
	if !ok {
		return nil
	}
	return object(set(top, "request", object(edit(members(t, req)))))
}

// reviewCorpus is every AdmissionReview the repository has: the fixtures of this package, the requests of the
// policy package's tests written as reviews (../policy/testdata/reviews), and the fuzz corpus of
// FuzzDecodeAdmissionReview, if any.
func reviewCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	corpus := map[string][]byte{}
	for _, pattern := range []string{filepath.Join("testdata", "*-review.json"), filepath.Join("..", "policy", "testdata", "reviews", "*.json")} {
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			t.Fatalf("no reviews in %s", pattern)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			corpus[name] = data
		}
	}
	fuzzed, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeAdmissionReview", "*"))
	for _, name := range fuzzed {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// The go test fuzz v1 format: a header line, then []byte("...").
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) == 2 && strings.HasPrefix(lines[1], "[]byte(") {
			if s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")); err == nil {
				corpus[name] = []byte(s)
			}
		}
	}
	return corpus
}

// reviewVariants are reviews made from body: the same request written otherwise (compact, object before kind,
// names escaped, unknown fields), other operations on the same object (UPDATE with an old object, DELETE with only
// an old object, dry run), an unknown kind (decoded unstructured), and broken ones of every reason, alone and
// together (so that the errors' precedence is compared too).
func reviewVariants(t testing.TB, body []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"as-is": body}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		out["compact"] = compact.Bytes()
	}
	req := func(name string, edit func([]member) []member) {
		if b := withRequestMembers(t, body, edit); b != nil {
			out[name] = b
		}
	}
	top := func(name string, edit func([]member) []member) { out[name] = object(edit(members(t, body))) }
	moveFirst := func(names ...string) func([]member) []member {
		return func(ms []member) []member {
			var first, rest []member
			for _, m := range ms {
				if slices.Contains(names, m.name) {
					first = append(first, m)
				} else {
					rest = append(rest, m)
				}
			}
			return append(first, rest...)
		}
	}
	req("object-before-kind", moveFirst("object", "oldObject"))
	req("kind-last", func(ms []member) []member {
		k, _ := get(ms, "kind")
		return set(set(ms, "kind", nil), "kind", k)
	})
	obj, hasObject := get(members(t, []byte(mustGet(t, body, "request"))), "object")
	if hasObject && string(obj) != "null" {
		req("update-with-old-object", func(ms []member) []member {
			return set(set(ms, "operation", []byte(`"UPDATE"`)), "oldObject", obj)
		})
		req("update-old-object-first", func(ms []member) []member {
			return moveFirst("oldObject")(set(set(ms, "operation", []byte(`"UPDATE"`)), "oldObject", obj))
		})
		req("delete-old-object-only", func(ms []member) []member {
			return set(set(set(ms, "operation", []byte(`"DELETE"`)), "object", []byte("null")), "oldObject", obj)
		})
		unknown := object(set(set(members(t, obj), "apiVersion", []byte(`"example.com/v1"`)), "kind", []byte(`"Widget"`)))
		req("unknown-kind", func(ms []member) []member {
			return set(set(ms, "kind", []byte(`{"group":"example.com","version":"v1","kind":"Widget"}`)), "object", unknown)
		})
		req("unknown-kind-object-first", func(ms []member) []member {
			return moveFirst("object")(set(set(ms, "kind", []byte(`{"group":"example.com","version":"v1","kind":"Widget"}`)), "object", unknown))
		})
		req("unsupported-version", func(ms []member) []member {
			return set(ms, "kind", []byte(`{"group":"batch","version":"v1beta1","kind":"CronJob"}`))
		})
		req("no-kind", func(ms []member) []member { return set(ms, "kind", nil) })
		req("object-string", func(ms []member) []member { return set(ms, "object", []byte(`"pod"`)) })
		req("object-array", func(ms []member) []member { return set(ms, "object", []byte(`[1]`)) })
		req("object-bad-metadata", func(ms []member) []member {
			return set(ms, "object", object(set(members(t, obj), "metadata", []byte(`"x"`))))
		})
		req("old-object-bad", func(ms []member) []member {
			return set(set(ms, "operation", []byte(`"UPDATE"`)), "oldObject", []byte(`{"metadata":{"labels":[]}}`))
		})
		req("bad-operation+bad-object", func(ms []member) []member {
			return set(set(ms, "operation", []byte(`"PATCH"`)), "object", []byte(`"x"`))
		})
	}
	req("dry-run", func(ms []member) []member { return set(ms, "dryRun", []byte("true")) })
	req("options", func(ms []member) []member {
		return set(ms, "options", []byte(`{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions","fieldManager":"kubectl"}`))
	})
	req("user-extra", func(ms []member) []member {
		return set(ms, "userInfo", []byte(`{"username":"u","uid":"1","groups":null,"extra":{"scopes":["a","b"],"empty":[]}}`))
	})
	req("escaped-names", func(ms []member) []member {
		out := slices.Clone(ms)
		for i := range out {
			if out[i].name == "uid" || out[i].name == "namespace" {
				out[i].name = "\x00" + out[i].name // marks the name; written escaped below
			}
		}
		return out
	})
	if b, ok := out["escaped-names"]; ok {
		b = bytes.ReplaceAll(b, []byte(`"\u0000uid"`), []byte(`"u\u0069d"`))
		out["escaped-names"] = bytes.ReplaceAll(b, []byte(`"\u0000namespace"`), []byte(`"name\u0073pace"`))
	}
	req("unknown-fields", func(ms []member) []member { return set(ms, "future", []byte(`{"x":[1,{"y":null}]}`)) })
	top("unknown-top-field", func(ms []member) []member { return set(ms, "future", []byte(`"x"`)) })
	top("response-present", func(ms []member) []member {
		return set(ms, "response", []byte(`{"uid":"x","allowed":true,"status":{"code":200}}`))
	})

	// Broken reviews.
	top("api-version", func(ms []member) []member { return set(ms, "apiVersion", []byte(`"admission.k8s.io/v1beta1"`)) })
	top("kind-wrong", func(ms []member) []member { return set(ms, "kind", []byte(`"AdmissionResponse"`)) })
	top("no-request", func(ms []member) []member { return set(ms, "request", nil) })
	top("request-null", func(ms []member) []member { return set(ms, "request", []byte("null")) })
	top("request-empty", func(ms []member) []member { return set(ms, "request", []byte("{}")) })
	top("request-string", func(ms []member) []member { return set(ms, "request", []byte(`"x"`)) })
	top("api-version-number", func(ms []member) []member { return set(ms, "apiVersion", []byte("1")) })
	top("response-string", func(ms []member) []member { return set(ms, "response", []byte(`"x"`)) })
	req("no-uid", func(ms []member) []member { return set(ms, "uid", nil) })
	req("uid-number", func(ms []member) []member { return set(ms, "uid", []byte("5")) })
	req("operation-unknown", func(ms []member) []member { return set(ms, "operation", []byte(`"DESTROY"`)) })
	req("user-info-string", func(ms []member) []member { return set(ms, "userInfo", []byte(`"alice"`)) })
	req("groups-string", func(ms []member) []member { return set(ms, "userInfo", []byte(`{"username":"a","groups":"g"}`)) })
	req("dry-run-string", func(ms []member) []member { return set(ms, "dryRun", []byte(`"yes"`)) })
	req("kind-string", func(ms []member) []member { return set(ms, "kind", []byte(`"Pod"`)) })
	req("request-kind-number", func(ms []member) []member { return set(ms, "requestKind", []byte("1")) })
	req("resource-version-number", func(ms []member) []member {
		return set(ms, "resource", []byte(`{"group":"","version":1,"resource":"pods"}`))
	})
	req("uid-number+api-version", func(ms []member) []member { return set(ms, "uid", []byte("5")) })
	if b, ok := out["uid-number+api-version"]; ok {
		out["uid-number+api-version"] = bytes.Replace(b, []byte(`"admission.k8s.io/v1"`), []byte(`"v1"`), 1)
	}
	if b, ok := out["object-string"]; ok {
		out["object-string+api-version"] = bytes.Replace(b, []byte(`"admission.k8s.io/v1"`), []byte(`"v1"`), 1)
		out["object-string+truncated"] = b[:len(b)-1]
	}
	if b, ok := out["uid-number"]; ok {
		out["uid-number+truncated"] = b[:len(b)-2]
	}
	for _, n := range []int{1, len(body) / 3, len(body) / 2, len(body) - 1} {
		out["truncated-"+strconv.Itoa(n)] = body[:n]
	}
	out["trailing-garbage"] = append(slices.Clone(body), " x"...)
	out["trailing-value"] = append(slices.Clone(body), " {}"...)
	out["null"] = []byte("null")
	out["array"] = []byte("[]")
	out["empty-object"] = []byte("{}")
	return out
}

func mustGet(t testing.TB, body []byte, name string) jsontext.Value {
	v, _ := get(members(t, body), name)
	if v == nil {
		return jsontext.Value("{}")
	}
	return v
}

// TestDecodeDifferential decodes every AdmissionReview of reviewCorpus, and every variant of each
// (reviewVariants), with the decoder the webhook had (encoding/json, then each object again) and with the one it has
// (encoding/json/v2, once), and requires the same: equal policy requests and equal decisions of the real evaluator,
// or errors of the same reason. The decoder's fast pass and careful pass must agree too.
func TestDecodeDifferential(t *testing.T) {
	ev := Policy(newEvaluator(t))
	cases, decoded, broken := 0, 0, map[string]int{}
	for file, body := range reviewCorpus(t) {
		for variant, body := range reviewVariants(t, body) {
			cases++
			name := filepath.Base(file) + "/" + variant
			want, wantErr := decodeReviewV1(body)
			got, gotErr := decodeReview(body)
			if fast, careful := decodeBoth(body); !sameDecode(fast, careful) {
				t.Errorf("%s: the fast pass gives %s, the careful pass %s", name, fast, careful)
			}
			switch {
			case wantErr != nil && gotErr != nil:
				if gotErr.reason != wantErr.reason {
					t.Errorf("%s: error %s %q, encoding/json's was %s %q", name, gotErr.reason, gotErr.msg, wantErr.reason, wantErr.msg)
				}
				broken[gotErr.reason]++
				continue
			case wantErr != nil:
				t.Errorf("%s: decoded, encoding/json refused it: %s", name, wantErr.msg)
				continue
			case gotErr != nil:
				t.Errorf("%s: refused (%s), encoding/json decoded it", name, gotErr.msg)
				continue
			}
			decoded++
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: requests differ:\nv2 %s\nv1 %s", name, dump(got), dump(want))
				continue
			}
			dGot, dWant := ev.Handle(context.Background(), got), ev.Handle(context.Background(), want)
			if !reflect.DeepEqual(dGot, dWant) || dGot.Message() != dWant.Message() {
				t.Errorf("%s: decisions differ: %q, encoding/json's %q", name, dGot.Message(), dWant.Message())
			}
		}
	}
	t.Logf("%d reviews: %d decoded the same, refused for the same reasons: %v", cases, decoded, broken)
	if decoded < 100 || len(broken) < 5 {
		t.Errorf("the corpus is thinner than it should be: %d decoded, refusals %v", decoded, broken)
	}
}

// decodeOutcome is one pass's result, for comparing the decoder's passes.
type decodeOutcome struct {
	req  *policy.Request
	rerr *reviewError
}

func (o decodeOutcome) String() string {
	if o.rerr != nil {
		return o.rerr.reason + ": " + o.rerr.msg
	}
	return dump(o.req)
}

// decodeBoth decodes body with the fast pass and with the careful pass. The fast pass's result is what the careful
// pass would say: a review it decodes, or an error it found (ok false means it left the error to the careful pass).
func decodeBoth(body []byte) (fast, careful decodeOutcome) {
	if len(body) == 0 {
		return
	}
	d := reviewDecoders.Get().(*reviewDecoder)
	defer d.release()
	req, rerr, ok := d.decode(body, false)
	if !ok {
		req, rerr, _ = d.decode(body, true)
	}
	fast = decodeOutcome{req, rerr}
	req, rerr, _ = d.decode(body, true)
	return fast, decodeOutcome{req, rerr}
}

func sameDecode(a, b decodeOutcome) bool {
	if a.rerr != nil || b.rerr != nil {
		return a.rerr != nil && b.rerr != nil && *a.rerr == *b.rerr
	}
	return reflect.DeepEqual(a.req, b.req)
}

func dump(req *policy.Request) string {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Sprintf("%+v", req)
	}
	return string(data)
}

// TestDecodeDeliberateDifferences: where the decoder departs from encoding/json on purpose, reading what
// Kubernetes' own decoder (sigs.k8s.io/json) reads instead of what encoding/json did; encoding/json's reading is
// asserted too, so that the test says what changed.
func TestDecodeDeliberateDifferences(t *testing.T) {
	body := readFixture(t, "pod-review.json")
	for _, tt := range []struct {
		name      string
		body      []byte
		newReason string // "" when the new decoder decodes it
		check     func(t *testing.T, v1, v2 *policy.Request)
	}{
		{name: "duplicate name: refused, where encoding/json kept the last", newReason: reasonJSON,
			body: bytes.Replace(body, []byte(`"operation": "CREATE"`), []byte(`"operation": "CREATE", "operation": "DELETE"`), 1)},
		{name: "duplicate name inside the object", newReason: reasonJSON,
			body: bytes.Replace(body, []byte(`"runAsNonRoot": true`), []byte(`"runAsNonRoot": true, "runAsNonRoot": false`), 1)},
		{name: "invalid UTF-8: refused, where encoding/json wrote U+FFFD", newReason: reasonJSON,
			body: bytes.Replace(body, []byte(`"upf-7d9c-abcde"`), []byte("\"upf-\xff\""), 1)},
		{name: "lone surrogate escape: refused, where encoding/json wrote U+FFFD", newReason: reasonJSON,
			body: bytes.Replace(body, []byte(`"upf-7d9c-abcde"`), []byte(`"upf-\ud800"`), 1)},
		{name: "names match case-sensitively in the envelope", newReason: reasonNoUID,
			body: bytes.Replace(body, []byte(`"uid":`), []byte(`"UID":`), 1)},
		{name: "names match case-sensitively in the object",
			body: bytes.Replace(body, []byte(`"securityContext": {"runAsNonRoot": true`), []byte(`"SecurityContext": {"runAsNonRoot": false`), 1),
			check: func(t *testing.T, v1, v2 *policy.Request) {
				if v2Spec := podSpecOf(t, v2); v2Spec.SecurityContext != nil {
					t.Errorf("a \"SecurityContext\" was read as securityContext: %+v", v2Spec.SecurityContext)
				}
				if v1Spec := podSpecOf(t, v1); v1Spec.SecurityContext == nil || *v1Spec.SecurityContext.RunAsNonRoot {
					t.Errorf("encoding/json did not read \"SecurityContext\" case-insensitively: %+v", v1Spec.SecurityContext)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(tt.body, body) {
				t.Fatal("the fixture changed: the edit does not apply")
			}
			v1, v1Err := decodeReviewV1(tt.body)
			if v1Err != nil {
				t.Fatalf("encoding/json refused it (%s): not a difference", v1Err.msg)
			}
			v2, v2Err := decodeReview(tt.body)
			switch {
			case tt.newReason != "" && (v2Err == nil || v2Err.reason != tt.newReason):
				t.Fatalf("decoded (%v), want refused for %s", v2Err, tt.newReason)
			case tt.newReason == "" && v2Err != nil:
				t.Fatalf("refused: %s", v2Err.msg)
			case tt.check != nil:
				tt.check(t, v1, v2)
			}
		})
	}
}

func podSpecOf(t *testing.T, req *policy.Request) *podSpec {
	t.Helper()
	data, err := json.Marshal(req.Object)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Spec podSpec `json:"spec"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return &p.Spec
}

type podSpec struct {
	SecurityContext *struct {
		RunAsNonRoot *bool `json:"runAsNonRoot"`
	} `json:"securityContext"`
}

// TestEncodeDifferential: the response the webhook writes is byte for byte what encoding/json/v2 writes for it
// (whether encodeResponse wrote it directly or not), and it is the one the webhook wrote with encoding/json, as the
// API server reads it (sigs.k8s.io/json into admission/v1's types); the response's members are the same names,
// present and left out alike; inside status, only an empty "metadata":{} is left out.
func TestEncodeDifferential(t *testing.T) {
	ev := Policy(newEvaluator(t))
	var responses []*admissionv1.AdmissionResponse
	for name, body := range reviewCorpus(t) {
		req, rerr := decodeReview(body)
		if rerr != nil {
			t.Fatalf("%s: %s", name, rerr.msg)
		}
		responses = append(responses, Response(k8stypes.UID(req.UID), ev.Handle(context.Background(), req)))
	}
	patch := admissionv1.PatchTypeJSONPatch
	responses = append(responses,
		Allowed("u-allowed"),
		Denied("u-denied", `<script>&"quotes"</script> "ünïcode" \ backslash`),
		Errored("u-errored", 500, fmt.Errorf("lookup: %s", "bad \xff byte")),
		Errored("u-zero", 0, fmt.Errorf("no code")),
		&admissionv1.AdmissionResponse{UID: "u-all", Allowed: true, Result: &metav1.Status{Code: 200, Details: &metav1.StatusDetails{Name: "x"}},
			Patch: []byte(`[{"op":"add","path":"/x","value":1}]`), PatchType: &patch, AuditAnnotations: map[string]string{"b": "2", "a": "1"},
			Warnings: []string{"w1", "w2"}},
		&admissionv1.AdmissionResponse{UID: "u-empty", Warnings: []string{}, AuditAnnotations: map[string]string{}, Patch: []byte{}},
		&admissionv1.AdmissionResponse{UID: "u-one-warning", Allowed: true, Warnings: []string{"vnfguard: one \u2028 warning"}},
		&admissionv1.AdmissionResponse{UID: "u-status-only-reason", Result: &metav1.Status{Reason: metav1.StatusReasonForbidden}},
		&admissionv1.AdmissionResponse{},
	)
	plain := 0
	for _, resp := range responses {
		var out bytes.Buffer
		if err := encodeResponse(&out, resp); err != nil {
			t.Fatalf("%s: %v", resp.UID, err)
		}
		v1, err := json.Marshal(&admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewKind}, Response: resp})
		if err != nil {
			t.Fatal(err)
		}
		var generic bytes.Buffer
		review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewKind}, Response: resp}
		if err := jsonv2.MarshalWrite(&generic, &review, encodeOptions); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), generic.Bytes()) {
			t.Errorf("%s (written directly: %v): encodeResponse writes\n%s\nencoding/json/v2 writes\n%s", resp.UID, plainResponse(resp), out.Bytes(), generic.Bytes())
		}
		if plainResponse(resp) {
			plain++
		}
		var got, want admissionv1.AdmissionReview
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(out.Bytes(), &got); err != nil {
			t.Fatalf("%s: the API server cannot read %s: %v", resp.UID, out.Bytes(), err)
		}
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(v1, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the API server reads\n%s\nwhere it read\n%s", resp.UID, out.Bytes(), v1)
		}
		gotTop, wantTop := names(t, out.Bytes(), ""), names(t, v1, "")
		gotResp, wantResp := names(t, out.Bytes(), "response"), names(t, v1, "response")
		gotStatus, wantStatus := names(t, out.Bytes(), "status"), names(t, v1, "status")
		wantStatus = slices.DeleteFunc(wantStatus, func(n string) bool { return n == "metadata" })
		if resp.Result != nil && resp.Result.Code == 0 {
			wantStatus = append(wantStatus, "code") // v2 writes a zero code, which the API server reads as the same 0
		}
		slices.Sort(gotStatus)
		slices.Sort(wantStatus)
		if !slices.Equal(gotTop, wantTop) || !slices.Equal(gotResp, wantResp) || !slices.Equal(gotStatus, wantStatus) {
			t.Errorf("%s: members %v %v %v, encoding/json wrote %v %v %v", resp.UID, gotTop, gotResp, gotStatus, wantTop, wantResp, wantStatus)
		}
	}
	if plain < 10 || plain == len(responses) {
		t.Errorf("%d of %d responses written directly: both ways must be compared", plain, len(responses))
	}
}

// names lists the member names of the object at path ("" the review, "response", "status" the response's
// status), in order.
func names(t *testing.T, data []byte, path string) []string {
	t.Helper()
	ms := members(t, data)
	if path != "" {
		resp, _ := get(ms, "response")
		ms = members(t, resp)
		if path == "status" {
			status, _ := get(ms, "status")
			ms = members(t, status)
		}
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return out
}
