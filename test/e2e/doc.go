// Package e2e proves vnfguard against a real control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok on loopback (internal/lab), with the vnfguard binary built from this tree registered as
// the validating webhook. One control plane and one run of lab.DefaultScenario serve every test.
//
// The control-plane binaries come from $VNFGUARD_CONTROLPLANE_DIR (default: .cache/k8s/v1.34.4 in the
// repository); when they are missing the tests fail and say to run `make controlplane`.
package e2e
