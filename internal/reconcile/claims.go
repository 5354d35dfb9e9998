package reconcile

import (
	"sync"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Claims remembers which instance named an object as one of its resources, for longer than the inventory's
// history. It exists for the data Tacker leaves: a StatefulSet's PVCs carry no instance label (Tacker labels the
// top-level objects only) and are bound to their instance only because instantiatedVnfInfo listed them as storage
// resources — which TERMINATE erases. Without a memory of that listing, a terminated UDR's subscriber volume would
// belong to nobody, and never be reported as residual data.
//
// The memory lasts as long as the process; a restarted vnfguard re-learns it from the reconciliation findings still
// open in the store (RememberFindings). An entry is forgotten once its object is gone from the cluster and no
// instance lists it any more.
type Claims struct {
	mu      sync.Mutex
	byName  map[claimKey]string // namespace/name → instance ID
	learned *vnf.Snapshot
}

type claimKey struct{ namespace, name string }

// NewClaims returns an empty memory.
func NewClaims() *Claims { return &Claims{byName: map[claimKey]string{}} }

// Learn records the resources every instance of snap lists, and says whether snap was new to it: it does nothing
// for the snapshot learned last, so that calling it on every pass costs nothing while the inventory is unchanged.
func (c *Claims) Learn(snap *vnf.Snapshot) bool {
	if c == nil || snap == nil || !snap.Loaded {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.learned == snap {
		return false
	}
	c.learned = snap
	for _, inst := range snap.Instances() {
		if inst.Namespace == "" {
			continue
		}
		for _, name := range vnf.ResourceNames(inst) {
			c.byName[claimKey{inst.Namespace, name}] = inst.ID
		}
	}
	return true
}

// RememberFindings takes the object → instance pairs of reconciliation findings (those open before a restart).
func (c *Claims) RememberFindings(fs []finding.Finding) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range fs {
		if f.VNFInstance == "" || f.Object.Name == "" {
			continue
		}
		key := claimKey{f.Object.Namespace, f.Object.Name}
		if _, ok := c.byName[key]; !ok {
			c.byName[key] = f.VNFInstance
		}
	}
}

// Lookup returns the instance that once named namespace/name as a resource.
func (c *Claims) Lookup(namespace, name string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byName[claimKey{namespace, name}]
	return id, ok
}

// Forget drops the entries whose object no longer exists (exists says) and that the current snapshot does not
// list: nothing can be bound through them any more.
func (c *Claims) Forget(snap *vnf.Snapshot, exists func(namespace, name string) bool) {
	if c == nil || snap == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.byName {
		if exists(key.namespace, key.name) {
			continue
		}
		if _, listed := snap.ByResource(key.namespace, key.name); listed {
			continue
		}
		delete(c.byName, key)
	}
}

// Len is the number of remembered claims.
func (c *Claims) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byName)
}
