//go:build tools

// Package tools pins the Kubernetes commands that hack/build-controlplane.sh builds for the end-to-end tests and
// the demo (the control plane, and the kubelet of the lab's real node). Nothing here is part of vnfguard itself.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
