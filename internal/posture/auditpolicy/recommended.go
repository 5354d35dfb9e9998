package auditpolicy

import (
	_ "embed"
	"fmt"
)

// recommended is the shipped policy; deploy/audit-policy.yaml and deploy/helm/vnfguard/files/audit-policy.yaml are
// byte-identical copies (TestCopiesAreIdentical).
//
//go:embed recommended.yaml
var recommended []byte

// RecommendedFile is the name the recommended policy goes by in errors and findings.
const RecommendedFile = "recommended.yaml"

// Recommended returns the recommended audit policy's YAML.
func Recommended() []byte {
	return append([]byte(nil), recommended...)
}

// RecommendedPolicy returns the recommended policy, parsed.
func RecommendedPolicy() *Policy {
	p, err := Parse(RecommendedFile, recommended)
	if err != nil {
		panic(fmt.Sprintf("auditpolicy: the embedded recommended policy does not parse: %v", err)) // a build defect, caught by the tests
	}
	return p
}
