// Package apipolicy renders vnfguard's checks that the API server can judge by itself as ValidatingAdmissionPolicies
// (CEL, evaluated in-process by kube-apiserver: no network hop, and enforcement that holds while vnfguard is down),
// with their bindings and the lifecycle parameters they read.
//
// Each policy is the CEL twin of one Go check of internal/policy, in a file of its own named after it
// (twin_<check>.go), with a doc comment saying what of the check it judges and what it leaves to the webhook (what
// needs a lookup the API server cannot do: owner chains, registry signatures, vulnerability reports, package
// declarations). The dangers come from their one definition (internal/danger, internal/payload) and are rendered
// into CEL, never copied. A twin may judge less than its check, never more: the differential test
// (test/e2e/apipolicy) runs both over one corpus against a real API server and fails on any request the twin refuses
// and the check allows, and on any lookup-free request the check refuses and the twin allows.
//
// The VNF lifecycle reaches the API server through parameter objects: a VNFLifecycle object (a CRD of vnfguard's, CRD) named ParamsName in every protected
// namespace, which reconciliation keeps current (internal/reconcile, LifecycleParams) and whose keys name the pods,
// claims and workloads of dormant instances and the state of every instance the inventory knows (see Key*).
package apipolicy
