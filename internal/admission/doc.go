// Package admission is vnfguard's validating admission webhook: an HTTPS server that takes AdmissionReview v1
// requests from the Kubernetes API server, hands each decoded request to a Handler (normally the policy
// Evaluator) and answers with the Decision turned into an AdmissionResponse, plus the registration
// (ValidatingWebhookConfiguration) that points the API server at it.
//
// The shape follows controller-runtime's webhook/admission: a narrow Handler interface and helpers that build
// allowed, denied and errored responses. One listener serves POST /validate, GET /healthz, GET /readyz and
// GET /metrics. Serving certificates come from files that are re-read when they change (the last good pair is
// kept across a bad edit), or are generated in memory for local use together with the CA bundle to register.
//
// Malformed reviews are answered with HTTP 400 and a reason that says what failed and where; every decision is
// counted in Prometheus metrics, and every finding of a decision is written as one JSON line.
package admission
