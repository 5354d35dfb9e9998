package vnf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type objects map[string]metav1.Object

func (o objects) Get(_ context.Context, kind, ns, name string) (metav1.Object, error) {
	if obj, ok := o[kind+"/"+ns+"/"+name]; ok {
		return obj, nil
	}
	return nil, fmt.Errorf("%s %s/%s: %w", kind, ns, name, ErrNotFound)
}

type brokenObjects struct{}

func (brokenObjects) Get(context.Context, string, string, string) (metav1.Object, error) {
	return nil, errors.New("apiserver unavailable")
}

func owned(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
}

func TestResolve(t *testing.T) {
	upf := &Instance{ID: "upf-1", VnfProductName: "UPF", InstantiationState: Instantiated,
		InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: Started, Metadata: map[string]any{"namespace": "vnf"},
			VnfcResourceInfo:              []VnfcResourceInfo{{ID: "c1", ComputeResource: ResourceHandle{ResourceID: "upf-pod-0", VimLevelResourceType: "StatefulSet"}}},
			VnfVirtualStorageResourceInfo: []StorageResourceInfo{{ID: "s1", StorageResource: ResourceHandle{ResourceID: "upf-data-0"}}}}}
	smf := &Instance{ID: "smf-1", InstantiationState: Instantiated, InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: Stopped}}
	snap := NewSnapshot("test", "v", time.Now(), []*Instance{upf, smf})
	objs := objects{
		"Deployment/vnf/smf":    &metav1.ObjectMeta{Name: "smf", Namespace: "vnf", Labels: map[string]string{DefaultInstanceLabel: "smf-1"}},
		"ReplicaSet/vnf/smf-1":  &metav1.ObjectMeta{Name: "smf-1", Namespace: "vnf", OwnerReferences: owned("Deployment", "smf")},
		"ReplicaSet/vnf/loop":   &metav1.ObjectMeta{Name: "loop", Namespace: "vnf", OwnerReferences: owned("ReplicaSet", "loop")},
		"StatefulSet/vnf/ghost": &metav1.ObjectMeta{Name: "ghost", Namespace: "vnf", Labels: map[string]string{DefaultInstanceLabel: "gone-7"}},
	}
	r := &Resolver{Objects: objs}
	for _, tt := range []struct {
		name     string
		obj      *metav1.ObjectMeta
		wantID   string
		known    bool
		via      string
		holder   string
		wantText string
	}{
		{"label on the object", &metav1.ObjectMeta{Name: "p", Namespace: "vnf", Labels: map[string]string{DefaultInstanceLabel: "upf-1"}}, "upf-1", true, ViaLabel, "p", "upf-1 (UPF, INSTANTIATED)"},
		{"label two owners up", &metav1.ObjectMeta{Name: "smf-1-abc", Namespace: "vnf", OwnerReferences: owned("ReplicaSet", "smf-1")}, "smf-1", true, ViaLabel, "smf", "STOPPED"},
		{"named as a compute resource (Tacker: the Pod name)", &metav1.ObjectMeta{Name: "upf-pod-0", Namespace: "vnf"}, "upf-1", true, ViaResource, "upf-pod-0", "resource"},
		{"named as a SOL002 storage resource", &metav1.ObjectMeta{Name: "upf-data-0", Namespace: "vnf"}, "upf-1", true, ViaResource, "upf-data-0", ""},
		{"resource name in another namespace", &metav1.ObjectMeta{Name: "upf-pod-0", Namespace: "other"}, "", false, "", "", "no VNF instance"},
		{"claim to an instance the inventory does not know", &metav1.ObjectMeta{Name: "g-0", Namespace: "vnf", OwnerReferences: owned("StatefulSet", "ghost")}, "gone-7", false, ViaLabel, "ghost", "unknown to the inventory"},
		{"owner missing ends the walk", &metav1.ObjectMeta{Name: "orphan", Namespace: "vnf", OwnerReferences: owned("ReplicaSet", "deleted")}, "", false, "", "", "no VNF instance"},
		{"owner cycle is bounded", &metav1.ObjectMeta{Name: "x", Namespace: "vnf", OwnerReferences: owned("ReplicaSet", "loop")}, "", false, "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := r.Resolve(context.Background(), snap, "Pod", tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if b.InstanceID != tt.wantID || b.Known() != tt.known || b.Via != tt.via || b.HolderName != tt.holder {
				t.Fatalf("binding %+v, want id %q known %v via %q holder %q", b, tt.wantID, tt.known, tt.via, tt.holder)
			}
			if tt.wantText != "" && !contains(b.String(), tt.wantText) {
				t.Errorf("String() = %q, want it to mention %q", b.String(), tt.wantText)
			}
		})
	}
	broken := &Resolver{Objects: brokenObjects{}}
	if _, err := broken.Resolve(context.Background(), snap, "Pod", &metav1.ObjectMeta{Name: "p", Namespace: "vnf", OwnerReferences: owned("ReplicaSet", "rs")}); err == nil || !contains(err.Error(), "look up owner ReplicaSet vnf/rs of Pod p") {
		t.Errorf("a failing lookup must be an error naming the owner, got %v", err)
	}
}

func TestStates(t *testing.T) {
	for _, tt := range []struct {
		inst    Instance
		state   string
		dormant bool
	}{
		{Instance{InstantiationState: Instantiated, InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: Started}}, "INSTANTIATED", false},
		{Instance{InstantiationState: Instantiated, InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: Stopped}}, "STOPPED", true},
		{Instance{InstantiationState: NotInstantiated, InstantiatedVnfInfo: &InstantiatedVnfInfo{VnfState: Stopped}}, "NOT_INSTANTIATED", true},
		{Instance{InstantiationState: NotInstantiated}, "NOT_INSTANTIATED", true},
	} {
		if tt.inst.State() != tt.state || tt.inst.Dormant() != tt.dormant {
			t.Errorf("%+v: state %s dormant %v, want %s %v", tt.inst, tt.inst.State(), tt.inst.Dormant(), tt.state, tt.dormant)
		}
	}
}

func TestNamespaceOf(t *testing.T) {
	for _, tt := range []struct {
		inst Instance
		want string
	}{
		{Instance{InstantiatedVnfInfo: &InstantiatedVnfInfo{Metadata: map[string]any{"namespace": "a"}}, Metadata: map[string]any{"namespace": "b"}}, "a"},
		{Instance{Metadata: map[string]any{"namespace": "b"}}, "b"},
		{Instance{VimConnectionInfo: map[string]VimConn{"vim1": {Extra: map[string]any{"namespace": "c"}}}}, "c"},
		{Instance{}, ""},
	} {
		if got := NamespaceOf(&tt.inst); got != tt.want {
			t.Errorf("NamespaceOf = %q, want %q", got, tt.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
