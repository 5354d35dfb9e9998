// Package workloads proves end to end, against a real API server (internal/lab) and the vnfguard binary built from
// this tree, that ReplicationControllers — the core group's ReplicaSet, which the API server still serves and
// whose controller still makes pods — are governed like ReplicaSets: a Peirates pod template, a rogue controller
// in a protected namespace and scaling a stopped VNF's controller up all pass the API server without vnfguard and
// are denied with it.
package workloads
