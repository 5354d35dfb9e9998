// Package chart tests the Helm chart in deploy/helm/vnfguard with a real helm v4 (hack/build-helm.sh): it lints
// clean, renders what the documentation says, grants exactly vnfguard's least-privilege RBAC, runs pods that pass
// vnfguard's own restricted checks, and the plain manifests in deploy/manifests are what it renders.
package chart
