//go:build tools

// Package tools pins helm v4 for hack/build-helm.sh; it is a module of its own so that helm's dependencies stay out
// of vnfguard's.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
