package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// VNF describes one VNF of the lab: its package (vnfd) and the instance made of it.
type VNF struct {
	InstanceID string
	VnfdID     string
	Product    string
	Namespace  string
	// Workload is the top-level object the VNFM creates, and its kind (Deployment or StatefulSet).
	WorkloadKind, Workload string
	// Container is the VNFC's container name; Repo the image repository under Registry.
	Container, Repo string
	// Storage names the PVCs the instance declares (StatefulSet volumeClaimTemplates: TEMPLATE-WORKLOAD-ORDINAL).
	Storage []string
	// PinnedImage, when set, is the image the package declares instead of Repo's (a real node's registry image).
	PinnedImage string
}

// Image is the digest-pinned image the VNF package declares.
func (v VNF) Image() string {
	if v.PinnedImage != "" {
		return v.PinnedImage
	}
	return ImageRef(v.Repo)
}

// NFVO plays the NFV orchestrator for the lab: it keeps the VNF instances and writes them to the inventory file
// vnfguard reads.
type NFVO struct {
	Path string

	mu        sync.Mutex
	vnfs      []VNF
	instances map[string]*vnf.Instance
}

// NewNFVO returns an NFVO writing to path, with the packages of the given VNFs onboarded and no instance
// instantiated yet.
func NewNFVO(path string, vnfs ...VNF) *NFVO {
	n := &NFVO{Path: path, vnfs: vnfs, instances: map[string]*vnf.Instance{}}
	for _, v := range vnfs {
		n.instances[v.InstanceID] = instanceOf(v, vnf.NotInstantiated, "")
	}
	return n
}

// Add onboards another VNF's package, its instance not instantiated yet.
func (n *NFVO) Add(v VNF) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.vnfs = append(n.vnfs, v)
	n.instances[v.InstanceID] = instanceOf(v, vnf.NotInstantiated, "")
}

// Set records the state of the VNF's instance: vnf.NotInstantiated, or vnf.Instantiated with vnfState
// vnf.Started or vnf.Stopped.
func (n *NFVO) Set(v VNF, state vnf.InstantiationState, opState vnf.OperationalState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.instances[v.InstanceID] = instanceOf(v, state, opState)
}

// Write writes the inventory file atomically (a rename, so that a watcher never reads half a file) and returns
// its version: the sha256 hex of the bytes, which vnfguard reports on /readyz once it has loaded them.
func (n *NFVO) Write() (string, error) {
	data, err := n.Render()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(n.Path), ".inventory-*.tmp")
	if err != nil {
		return "", fmt.Errorf("lab: write inventory: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("lab: write inventory %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("lab: write inventory %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), n.Path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("lab: replace inventory %s: %w", n.Path, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// Publish writes the inventory and, when g is not nil (a nil *Guard is not: pass nil itself), waits until vnfguard
// has loaded it.
func (n *NFVO) Publish(ctx context.Context, g Observer) error {
	version, err := n.Write()
	if err != nil {
		return err
	}
	if g == nil {
		return nil
	}
	return g.WaitInventory(ctx, version)
}

// inventoryDoc is the inventory file format: the onboarded packages and the SOL003 VnfInstances.
type inventoryDoc struct {
	APIVersion   string          `json:"apiVersion"`
	Kind         string          `json:"kind"`
	VnfPackages  []vnfPackage    `json:"vnfPackages"`
	VnfInstances []*vnf.Instance `json:"vnfInstances"`
}

type vnfPackage struct {
	VnfdID         string          `json:"vnfdId"`
	VnfProvider    string          `json:"vnfProvider"`
	VnfProductName string          `json:"vnfProductName"`
	Images         []packagedImage `json:"images"`
}

type packagedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Render returns the inventory file's bytes (YAML), instances in the order the VNFs were given.
func (n *NFVO) Render() ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	doc := inventoryDoc{APIVersion: "vnfguard.io/v1alpha1", Kind: "Inventory"}
	for _, v := range n.vnfs {
		doc.VnfPackages = append(doc.VnfPackages, vnfPackage{
			VnfdID: v.VnfdID, VnfProvider: "Acme", VnfProductName: v.Product,
			Images: []packagedImage{{Name: v.Container, Image: v.Image()}},
		})
		doc.VnfInstances = append(doc.VnfInstances, n.instances[v.InstanceID])
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("lab: encode inventory: %w", err)
	}
	return data, nil
}

// instanceOf builds the SOL003 VnfInstance of v in the given state, the way Tacker reports a CNF: the namespace in
// instantiatedVnfInfo.metadata (and in the instance's metadata, which survives termination), the workload as
// the VNFC's compute resource, and the PVCs as storage resources.
func instanceOf(v VNF, state vnf.InstantiationState, opState vnf.OperationalState) *vnf.Instance {
	inst := &vnf.Instance{
		ID: v.InstanceID, VnfInstanceName: v.Product + "-lab", VnfdID: v.VnfdID, VnfProvider: "Acme",
		VnfProductName: v.Product, VnfSoftwareVersion: "1.0", InstantiationState: state,
		Metadata: map[string]any{"namespace": v.Namespace},
	}
	if state != vnf.Instantiated {
		return inst
	}
	info := &vnf.InstantiatedVnfInfo{
		FlavourID: "simple", VnfState: opState,
		Metadata: map[string]any{"namespace": v.Namespace},
		VnfcResourceInfo: []vnf.VnfcResourceInfo{{
			ID: v.Container + "-vnfc", VduID: v.Container,
			ComputeResource: vnf.ResourceHandle{ResourceID: v.Workload, VimLevelResourceType: v.WorkloadKind},
		}},
	}
	for i, pvc := range v.Storage {
		info.VirtualStorageResourceInfo = append(info.VirtualStorageResourceInfo, vnf.StorageResourceInfo{
			ID: fmt.Sprintf("storage-%d", i), VirtualStorageDescID: "data",
			StorageResource: vnf.ResourceHandle{ResourceID: pvc, VimLevelResourceType: "PersistentVolumeClaim"},
		})
	}
	inst.InstantiatedVnfInfo = info
	return inst
}

// ConfigYAML is the vnfguard configuration the lab runs with: namespaces labelled vnfguard.io/protected=true are
// protected, tacker-vnfm is the VNFM, group vnfguard:break-glass is break-glass, the lab's admin (its own set-up
// traffic, which registers vnfguard) is vnfguard's administrator, only the lab registry is
// allowed, and the UPF product may add NET_ADMIN and IPC_LOCK.
func ConfigYAML(inventoryPath string, extraRegistries ...string) string {
	registries := `"` + Registry + `"`
	for _, r := range extraRegistries {
		registries += `, "` + r + `"`
	}
	return `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces:
  selector:
    matchLabels: {vnfguard.io/protected: "true"}
instanceLabel: tacker_vnf_instance_id
identities:
  vnfm: {users: [` + VNFM + `]}
  breakGlass: {groups: ["` + GroupBreakGlass + `"]}
  administrators: {users: [` + Admin + `]}
registries:
  allowed: [` + registries + `]
inventory:
  file: ` + inventoryPath + `
profiles:
  - name: upf
    products: [UPF]
    allowCapabilities: [NET_ADMIN, IPC_LOCK]
    allowHugepages: true
    allowNetworks: [n3, n6]
`
}

// WriteConfig writes ConfigYAML for the inventory at inventoryPath (and the extra registries, e.g. the real
// node's "127.0.0.1:PORT/") to dir/vnfguard.yaml and returns its path.
func WriteConfig(dir, inventoryPath string, extraRegistries ...string) (string, error) {
	path := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(path, []byte(ConfigYAML(inventoryPath, extraRegistries...)), 0o644); err != nil {
		return "", fmt.Errorf("lab: write vnfguard config: %w", err)
	}
	return path, nil
}
