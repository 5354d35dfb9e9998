// Package manifest reads Kubernetes manifests from files and directories, as `kubectl apply -f` does, for
// `vnfguard policy test` and other offline uses: multi-document YAML, JSON objects and arrays, and List kinds
// expanded into their items. Each object is decoded into its typed client-go form (unknown kinds into
// *unstructured.Unstructured) and remembers the file, document, item and line it came from, so that every error
// and every finding can point back at the source.
//
// Decoding is strict, like `kubectl apply` with server-side field validation: an unknown or duplicated field is an
// error, because a misspelt securityContext field silently dropped would make a policy test pass for the wrong
// reason.
//
// Cluster is an in-memory cluster view built from the objects read: it answers the owner and namespace lookups
// the policy makes (vnf.Objects and policy.Namespaces) without an API server.
package manifest
