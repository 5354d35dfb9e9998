// Package node proves vnfguard on a real node: a kubelet v1.34.4 on Debian's containerd, runc and CNI plugins,
// started by internal/lab (Options.RealNode) beside the real control plane. Pods really run there, so an attack is
// shown to be real — a Peirates pod that reads a file the test planted on the host through its hostPath mount and
// answers over its reverse shell — before vnfguard is shown to stop it.
//
// It needs root, the control-plane binaries and the kubelet (`make controlplane`) and Debian's containerd, runc,
// containernetworking-plugins, busybox-static and docker.io (`bash hack/node-deps.sh`).
package node
