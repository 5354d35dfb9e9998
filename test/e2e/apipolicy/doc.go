// Package apipolicy tests vnfguard's in-process enforcement against a real API server: with admission.mode policies
// vnfguard installs ValidatingAdmissionPolicies (internal/apipolicy) and keeps the VNF lifecycle parameters they
// read current; with vnfguard stopped, the API server still refuses the dormant-VNF attacks by itself, and without
// the policies the same requests go through (the attacks are real). A differential test runs every check with a CEL
// twin both ways over one corpus.
package apipolicy
