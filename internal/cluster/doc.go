// Package cluster is the live view of the cluster that the admission webhook decides with: the metadata of pods,
// workloads, volume claims and namespaces, kept by client-go shared informers for all namespaces.
//
// The policy only needs object metadata — labels, owner references, deletion timestamps — to find the VNF
// instance of an owner, a target pod or a claimed volume, so the view uses metadata-only informers
// (k8s.io/client-go/metadata): a cluster with many pods costs a fraction of the memory full objects would.
// PersistentVolumes and PersistentVolumeClaims are the exception: the claim a volume is bound to and the volume a
// claim names are in their spec, so they are watched typed and stripped to those fields (volumes.go).
//
// An informer lags the API server by a moment, and a webhook is asked about objects created a moment ago (the
// ReplicaSet a new pod's owner reference names, created by the Deployment controller just before). A cache miss
// therefore falls back to a live GET with a short timeout; only a live "not found" is reported as not found
// (an error wrapping vnf.ErrNotFound).
//
// Live GETs sit on the webhook's request path, so they are made cheap to ask for and safe to fail: the API
// server's answers (found or not found) are reused for a few seconds, concurrent GETs of one object are collapsed
// into one (singleflight), they go through a client without client-side rate limit but with a bound on how many
// run at once, and a failure is a LookupError that says which object and why (no answer in time, HTTP 503, …).
//
// The audit consumer judges a stream of events one after the other, where a live GET per miss lets anyone who
// requests made-up objects delay every later finding. It reads the cluster through Stream instead: the same caches,
// but once a kind's cache has synced a miss is "not found" without a GET; the few live GETs left (before the caches
// sync) are rate-limited without waiting, short, and paused after a failure.
package cluster
