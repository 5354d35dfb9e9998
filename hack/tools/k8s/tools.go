//go:build tools

// Package tools pins the Kubernetes control-plane commands that hack/build-controlplane.sh builds
// for the end-to-end tests and the demo. Nothing here is part of vnfguard itself.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
