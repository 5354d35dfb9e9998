// Package vnfmtest is a VNFM for tests: an httptest server on 127.0.0.1 that speaks SOL003 VNF Lifecycle
// Management v2 the way OpenStack Tacker does for CNFs, and checks every exchange against ETSI's published OpenAPI
// documents, so that vnfguard's SOL003 client is held to ETSI's contract rather than to its own reading of it.
//
// The documents (SOL003 V3.7.1, ETSI Forge nfv/SOL002-SOL003) are embedded from testdata/etsi in their published
// layout, loaded with kin-openapi (external references resolved from the embedded files) and matched with
// kin-openapi's legacy router under /vnflcm/v2. Two adjustments, both outside ETSI's text: /api_versions is
// dropped before loading (it refers to SOL002 definitions this copy lacks, and vnfguard does not call it), and
// testdata/etsi/SOL002/General_Definitions/SOL002_def.yaml is a stand-in written here that points SOL002's
// ProblemDetails at SOL003's identical definition. The three `$ref` lines inside description text of
// SOL003VNFLifecycleManagement_def.yaml are prose and stay as they are.
//
// Every API request the server receives is validated (openapi3filter.ValidateRequest) and every response it sends
// (ValidateResponse, undeclared statuses included) before it leaves; every notification it sends, and the
// callback's answer, are validated against the notification document. Violations are collected (Violations,
// TakeViolations); Start makes each one fail the test. A violation names the operation, the side, the status, the
// JSON pointer into the body and the schema keyword that failed.
//
// The server offers an OAuth 2.0 token endpoint (client credentials), TLS with a throw-away CA and optional
// client-certificate requirement (WriteTLSFiles), SOL013 paging and attribute selectors (a list leaves the
// exclude_default attributes out unless all_fields is given, as Tacker does; selectors.go), subscriptions (201, 303 See Other for the same
// callback URI and filter, a test GET of the callback first), LCM operations driven from Go (Create, Instantiate,
// Operate, Scale, Heal, Terminate, Delete) that change the instance as Tacker does and notify every subscriber
// (STARTING, PROCESSING, COMPLETED; creation and deletion), and fault injection (Inject: delay, error status,
// malformed body, looping paging; DropNotifications). Instances carry VIM credentials in accessInfo, stripped from
// every answer as Tacker 11 strips them unless Options.DiscloseAccessInfo (credentials.go).
package vnfmtest
