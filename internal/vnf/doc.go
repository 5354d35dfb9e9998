// Package vnf is vnfguard's domain: VNF instances in the shape of ETSI SOL003 VnfInstance, their lifecycle states,
// the images their VNF packages declare, the Inventory interface that sources implement, and the resolution of a
// Kubernetes object to the VNF instance it belongs to. It imports no transport, storage or CLI package.
package vnf
