package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// t0 is "now" in the unit tests.
var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// instance builds an instance in the given state ("INSTANTIATED", "STOPPED" or "NOT_INSTANTIATED") and namespace.
func instance(id, product, ns, state string, mods ...func(*vnf.Instance)) *vnf.Instance {
	inst := &vnf.Instance{ID: id, VnfdID: "vnfd-" + id, VnfProductName: product, InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": ns}}}
	switch state {
	case "STOPPED":
		inst.InstantiatedVnfInfo.VnfState = vnf.Stopped
	case "NOT_INSTANTIATED":
		inst.InstantiationState = vnf.NotInstantiated
		inst.InstantiatedVnfInfo.VnfState = vnf.Stopped
	}
	for _, m := range mods {
		m(inst)
	}
	return inst
}

func pods(names ...string) func(*vnf.Instance) {
	return func(inst *vnf.Instance) {
		for _, n := range names {
			inst.InstantiatedVnfInfo.VnfcResourceInfo = append(inst.InstantiatedVnfInfo.VnfcResourceInfo,
				vnf.VnfcResourceInfo{ID: n, VduID: "VDU1", ComputeResource: vnf.ResourceHandle{ResourceID: n, VimLevelResourceType: "Deployment"}})
		}
	}
}

func pvcs(names ...string) func(*vnf.Instance) {
	return func(inst *vnf.Instance) {
		for _, n := range names {
			inst.InstantiatedVnfInfo.VirtualStorageResourceInfo = append(inst.InstantiatedVnfInfo.VirtualStorageResourceInfo,
				vnf.StorageResourceInfo{ID: n, StorageResource: vnf.ResourceHandle{ResourceID: n, VimLevelResourceType: "PersistentVolumeClaim"}})
		}
	}
}

func terminatedAt(t time.Time) func(*vnf.Instance) {
	return func(inst *vnf.Instance) { inst.TerminatedAt = &t }
}

func operating(op string) func(*vnf.Instance) {
	return func(inst *vnf.Instance) {
		inst.ActiveOperation = &vnf.ActiveOperation{Operation: op, State: "PROCESSING"}
	}
}

// object builds an Object created an hour before t0.
func object(kind, ns, name string, mods ...func(*Object)) Object {
	o := Object{Kind: kind}
	o.Name, o.Namespace, o.UID = name, ns, types.UID("uid-"+name)
	o.CreationTimestamp = metav1.NewTime(t0.Add(-time.Hour))
	for _, m := range mods {
		m(&o)
	}
	return o
}

func label(id string) func(*Object) {
	return func(o *Object) {
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[vnf.DefaultInstanceLabel] = id
	}
}

func ownedBy(kind, name string) func(*Object) {
	return func(o *Object) {
		yes := true
		o.OwnerReferences = append(o.OwnerReferences, metav1.OwnerReference{Kind: kind, Name: name, Controller: &yes})
	}
}

func created(t time.Time) func(*Object) {
	return func(o *Object) { o.CreationTimestamp = metav1.NewTime(t) }
}

func deleting(t time.Time) func(*Object) {
	return func(o *Object) { d := metav1.NewTime(t); o.DeletionTimestamp = &d }
}

func pv(policy, claimNS, claimName string) func(*Object) {
	return func(o *Object) {
		o.ReclaimPolicy, o.ClaimNamespace, o.ClaimName, o.Phase = policy, claimNS, claimName, "Released"
	}
}

func snapshotOf(pvc string) func(*Object) {
	return func(o *Object) { o.SourcePVC = pvc }
}

// deployment gives a Deployment, its ReplicaSet and n pods, as the controllers create them; mods apply to the
// Deployment (where Tacker puts its label).
func deployment(ns, name string, n int, mods ...func(*Object)) []Object {
	out := make([]Object, 0, n+2) // sized: the benchmark's memory figure should not count growth garbage
	out = append(out, object(KindDeployment, ns, name, mods...), object(KindReplicaSet, ns, name+"-7d9c5b6f4", ownedBy(KindDeployment, name)))
	for i := 0; i < n; i++ {
		out = append(out, object(KindPod, ns, fmt.Sprintf("%s-7d9c5b6f4-%05d", name, i), ownedBy(KindReplicaSet, name+"-7d9c5b6f4")))
	}
	return out
}

// historian is a vnf.Historian over a fixed list of snapshots.
type historian struct {
	current *vnf.Snapshot
	h       vnf.History
}

func newHistorian(snaps ...*vnf.Snapshot) *historian {
	h := &historian{current: snaps[len(snaps)-1]}
	for _, s := range snaps {
		h.h.Add(s)
	}
	return h
}

func (h *historian) Snapshot() *vnf.Snapshot { return h.current }

func (h *historian) SnapshotAt(t time.Time) *vnf.Snapshot { return h.h.At(t) }

// summary renders findings one a line: "rule severity Kind ns/name instance".
func summary(fs []finding.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", f.Rule, f.Severity, f.Object, f.VNFInstance)))
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
