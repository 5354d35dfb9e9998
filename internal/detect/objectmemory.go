package detect

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// maxRememberedObjects bounds the object memory; beyond it the oldest entries are dropped.
const maxRememberedObjects = 50000

// objectMemory remembers the metadata (name, labels, owners) of the objects whose successful create or update the
// engine has seen, so that a later event about an object resolves to its VNF instance even when the cluster view
// cannot help: offline, from an audit log alone, or live when the audit batch arrives after the object is gone (a
// stopped VNF's pods are deleted a moment after someone execs into them). Deletes are not forgotten on purpose: the
// events that matter most are about objects that no longer exist.
type objectMemory struct {
	objects *boundedMap[objectKey, *metav1.ObjectMeta]
}

type objectKey struct{ kind, namespace, name string }

func newObjectMemory() *objectMemory {
	return &objectMemory{objects: newBoundedMap[objectKey, *metav1.ObjectMeta](maxRememberedObjects)}
}

// observe records the object of a successful create, update or patch.
func (m *objectMemory) observe(a *activation) {
	ev := a.ev
	r := ev.ObjectRef
	if r == nil || r.Subresource != "" || (ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 400) {
		return
	}
	if ev.Verb != "create" && ev.Verb != "update" && ev.Verb != "patch" {
		return
	}
	kind, ok := kindOf[r.Resource]
	if !ok {
		return
	}
	md, ok := a.objectMeta()
	if !ok || md.Name == "" || len(md.Labels) == 0 && len(md.OwnerReferences) == 0 {
		return // nothing that could bind it to an instance
	}
	m.objects.put(objectKey{kind, md.Namespace, md.Name}, md)
}

// Get implements vnf.Objects over what was remembered.
func (m *objectMemory) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if md, ok := m.objects.get(objectKey{kind, namespace, name}); ok {
		return md, nil
	}
	return nil, vnf.NotFound(kind, namespace, name, "")
}

// withMemory looks an object up in the cluster view first and in the engine's memory when the view does not have
// it (or there is none).
type withMemory struct {
	live   vnf.Objects
	memory *objectMemory
}

// Get implements vnf.Objects. A live lookup that failed or was skipped (the consumer's stream view rate-limits them)
// falls back to the memory too: an object seen created is still known; only when the memory does not have it
// either is the failure returned, so that it is counted, never taken for "not found".
func (w withMemory) Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	if w.live == nil {
		return w.memory.Get(ctx, kind, namespace, name)
	}
	obj, err := w.live.Get(ctx, kind, namespace, name)
	if err == nil {
		return obj, nil
	}
	// The memory's own not-found error would be dropped for the live one: it is not made.
	if remembered, ok := w.memory.objects.get(objectKey{kind, namespace, name}); ok {
		return remembered, nil
	}
	return nil, err
}
