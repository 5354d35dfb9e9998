package vnf

import (
	"strings"
	"time"
)

// Inventory is a source of VNF instances: a file, or a SOL003 VNFM. Snapshot is called on every decision, so it
// must be cheap and never block: sources swap a fresh immutable Snapshot in when they learn something new.
type Inventory interface {
	Snapshot() *Snapshot
}

// Snapshot is an immutable view of the inventory at one moment, indexed for the lookups decisions make.
type Snapshot struct {
	// Loaded is false until the source has read its data once; protected namespaces then fail closed.
	Loaded   bool
	LoadedAt time.Time
	Source   string // where it came from, for messages
	Version  string // a digest of the content, so that callers can tell when a change has been taken in

	instances  map[string]*Instance
	ordered    []*Instance
	byResource map[resourceKey]*Instance
}

type resourceKey struct{ namespace, name string }

// NewSnapshot indexes the instances. Each instance's derived Namespace is filled from the SOL003 fields when empty,
// and the digest of each declared image from its reference.
func NewSnapshot(source, version string, loadedAt time.Time, instances []*Instance) *Snapshot {
	// Sized up front: growing the resource index dominates the cost of a snapshot of a large inventory.
	resources := 0
	for _, inst := range instances {
		if info := inst.InstantiatedVnfInfo; info != nil {
			resources += len(info.VnfcResourceInfo) + len(info.VirtualStorageResourceInfo) + len(info.VnfVirtualStorageResourceInfo)
		}
	}
	s := &Snapshot{
		Loaded:     true,
		LoadedAt:   loadedAt,
		Source:     source,
		Version:    version,
		instances:  make(map[string]*Instance, len(instances)),
		ordered:    instances,
		byResource: make(map[resourceKey]*Instance, resources),
	}
	for _, inst := range instances {
		if inst.Namespace == "" {
			inst.Namespace = NamespaceOf(inst)
		}
		for i := range inst.DeclaredImages {
			if inst.DeclaredImages[i].Digest == "" {
				if at := strings.LastIndex(inst.DeclaredImages[i].Image, "@"); at >= 0 {
					inst.DeclaredImages[i].Digest = inst.DeclaredImages[i].Image[at+1:]
				}
			}
		}
		s.instances[inst.ID] = inst
		for _, name := range ResourceNames(inst) {
			s.byResource[resourceKey{inst.Namespace, name}] = inst
		}
	}
	return s
}

// Empty is the snapshot of a source that has loaded nothing yet.
func Empty(source string) *Snapshot {
	return &Snapshot{Source: source, instances: map[string]*Instance{}, byResource: map[resourceKey]*Instance{}}
}

// Instance returns the instance with the given ID.
func (s *Snapshot) Instance(id string) (*Instance, bool) {
	inst, ok := s.instances[id]
	return inst, ok
}

// Instances returns every instance, in the source's order.
func (s *Snapshot) Instances() []*Instance { return s.ordered }

// Len is the number of instances.
func (s *Snapshot) Len() int { return len(s.instances) }

// ByResource returns the instance that names the object (by name, in its namespace) as one of its compute or
// storage resources.
func (s *Snapshot) ByResource(namespace, name string) (*Instance, bool) {
	if inst, ok := s.byResource[resourceKey{namespace, name}]; ok {
		return inst, true
	}
	// An instance whose namespace is unknown claims the name in every namespace.
	inst, ok := s.byResource[resourceKey{"", name}]
	return inst, ok
}

// ResourceNames lists the names of the compute and storage resources the instance declares.
func ResourceNames(inst *Instance) []string {
	info := inst.InstantiatedVnfInfo
	if info == nil {
		return nil
	}
	names := make([]string, 0, len(info.VnfcResourceInfo)+len(info.VirtualStorageResourceInfo)+len(info.VnfVirtualStorageResourceInfo))
	for _, r := range info.VnfcResourceInfo {
		if r.ComputeResource.ResourceID != "" {
			names = append(names, r.ComputeResource.ResourceID)
		}
	}
	for _, list := range [][]StorageResourceInfo{info.VirtualStorageResourceInfo, info.VnfVirtualStorageResourceInfo} {
		for _, r := range list {
			if r.StorageResource.ResourceID != "" {
				names = append(names, r.StorageResource.ResourceID)
			}
		}
	}
	return names
}

// NamespaceOf finds the namespace of a CNF instance where Tacker and other VNFMs put it:
// instantiatedVnfInfo.metadata.namespace, the instance's metadata.namespace, or a VIM connection's
// extra.namespace / interfaceInfo.namespace. It returns "" when none is set.
func NamespaceOf(inst *Instance) string {
	if inst.InstantiatedVnfInfo != nil {
		if ns, ok := inst.InstantiatedVnfInfo.Metadata["namespace"].(string); ok && ns != "" {
			return ns
		}
	}
	if ns, ok := inst.Metadata["namespace"].(string); ok && ns != "" {
		return ns
	}
	for _, vim := range inst.VimConnectionInfo {
		if ns, ok := vim.Extra["namespace"].(string); ok && ns != "" {
			return ns
		}
		if ns, ok := vim.InterfaceInfo["namespace"].(string); ok && ns != "" {
			return ns
		}
	}
	return ""
}

// Static is an inventory that never changes: offline evaluation (`vnfguard policy test`), a server started without
// an inventory source (Empty: never loaded, so protected namespaces fail closed), and tests.
type Static struct{ Snap *Snapshot }

// Snapshot returns the fixed snapshot.
func (s Static) Snapshot() *Snapshot { return s.Snap }
