// Package runtimeevent is what a node agent (vnfguard node) reports about a node's container runtime, and how
// those reports travel through the audit intake: each Event rides in an audit.k8s.io/v1 Event envelope (verb
// "runtime", the event itself as the request object, its ID as the audit ID), so that the one durable queue,
// its dedupe of batches sent twice and its consumer serve both the API server's audit events and the nodes'.
//
// The envelope names the pod the container belongs to when the kubelet made it through the CRI (a fact the agent
// checks with the CRI plugin, not a label claim), so that the detection engine finds the VNF instance and its
// lifecycle state the same way it does for an audit event about that pod.
package runtimeevent
