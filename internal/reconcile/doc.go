// Package reconcile compares the VNF inventory (what the VNFM says should exist) with the objects in the cluster's
// protected namespaces (what does exist) and reports the difference as findings:
//
//   - reconcile-rogue (FGT5013): a workload that belongs to no INSTANTIATED instance — bound to nothing, or
//     claiming an instance the inventory does not know and never knew. One finding per top-level object.
//   - reconcile-zombie (FGT1609.501): pods still present for a STOPPED or NOT_INSTANTIATED instance, or for one
//     the inventory knew and has deleted since.
//   - reconcile-residual (FGT1609.501; ETSI SEC025 asks that resources be released and data sanitised): PVCs,
//     Retain PVs, Secrets, ConfigMaps, Services and VolumeSnapshots of a terminated instance. The data of a
//     STOPPED instance is legitimate: it will start again.
//   - reconcile-drift (FGT5013): Pods and PVCs an INSTANTIATED instance declares that do not exist.
//   - vnfm-discloses-vim-credentials (FGT5013): the VNFM returned VIM credentials (tokens, passwords, client keys in
//     vimConnectionInfo) with its instances; whoever reads its API gets the keys to the cluster. One per VNFM,
//     naming the fields, never their values.
//
// The core is pure: Evaluate takes an inventory snapshot and a State (plain Object records indexed for lookups)
// and returns sorted findings. A Tracker turns the conditions of successive passes into opened and resolved
// findings, holding each condition for a For duration first so that a pod terminating after a STOP is not a
// zombie for a moment. A Reconciler keeps a State up to date with client-go informers and runs passes after
// changes, after inventory changes and when a For timer expires; Once lists everything and evaluates once.
//
// Ownership is the admission path's: vnf.Resolver (the instance label on the object or an owner up its
// ownerReferences chain, or the object or an owner named as a resource of the instance) over the State.
package reconcile
