// Package lookups proves, end to end, that a slow or failing API server switches no check off: vnfguard serve,
// built from this tree, reads the cluster through a fault-injecting proxy (internal/lab.FaultProxy) in front of a
// real kube-apiserver, while 200 concurrent clients create Peirates' host-takeover pod in namespaces vnfguard has
// never seen. It runs on a control plane of its own (API server only), so that its faults never meet test/e2e's.
package lookups
