package vnfmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Violation is a request or response that breaks ETSI's contract.
type Violation struct {
	Operation string // "GET /vnf_instances", or the notification's path in the notification document
	Side      string // "request" or "response"
	Status    int    // the response's status; 0 for a request
	Pointer   string // where in the body, e.g. /0/instantiationState; empty when not a body problem
	Schema    string // the schema keyword that failed, e.g. enum or required
	Err       error
}

func (v *Violation) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ETSI SOL003 contract violation: %s of %s", v.Side, v.Operation)
	if v.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", v.Status)
	}
	if v.Pointer != "" || v.Schema != "" {
		fmt.Fprintf(&b, " at %s (schema: %s)", cmpOr(v.Pointer, "/"), v.Schema)
	}
	b.WriteString(": ")
	b.WriteString(firstLine(v.Err.Error()))
	return b.String()
}

func (v *Violation) Unwrap() error { return v.Err }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// firstLine keeps kin-openapi's message and drops the schema and value it dumps after it.
func firstLine(s string) string {
	if i := strings.Index(s, "\nSchema:"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func violation(op, side string, status int, err error) *Violation {
	v := &Violation{Operation: op, Side: side, Status: status, Err: err}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if p := se.JSONPointer(); len(p) > 0 {
			v.Pointer = "/" + strings.Join(p, "/")
		}
		v.Schema = se.SchemaField
	}
	return v
}

// filterOptions: authentication is the server's business, not the schema's; report every problem of a body.
func filterOptions() *openapi3filter.Options {
	return &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: false, IncludeResponseStatus: true}
}

// checkRequest validates a request (its body already read into body) against spec. It returns the route, or nil
// with the violation when no operation of the contract matches.
func checkRequest(ctx context.Context, spec *Spec, r *http.Request, body []byte) (*routers.Route, string, *Violation) {
	route, params, err := spec.Router.FindRoute(r)
	if err != nil {
		op := r.Method + " " + r.URL.Path
		return nil, op, violation(op, "request", 0, fmt.Errorf("no operation of the contract: %w", err))
	}
	op := r.Method + " " + route.Path
	clone := r.Clone(ctx)
	clone.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: filterOptions()}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return route, op, violation(op, "request", 0, err)
	}
	return route, op, nil
}

// checkResponse validates a response against the operation of route.
func checkResponse(ctx context.Context, r *http.Request, route *routers.Route, op string, status int, header http.Header, body []byte) *Violation {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: filterOptions()},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                filterOptions(),
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return violation(op, "response", status, err)
	}
	return nil
}

// recorder keeps what a handler writes, so that it can be validated before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

func (r *recorder) flush(w http.ResponseWriter) {
	if r.status == 0 {
		r.status = http.StatusInternalServerError // a handler that answered nothing is a bug of the server
	}
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
