package vnf

import "time"

// InstantiationState is SOL003's VnfInstance.instantiationState.
type InstantiationState string

// The SOL003 instantiation states.
const (
	NotInstantiated InstantiationState = "NOT_INSTANTIATED"
	Instantiated    InstantiationState = "INSTANTIATED"
)

// OperationalState is SOL003's InstantiatedVnfInfo.vnfState.
type OperationalState string

// The SOL003 operational states.
const (
	Started OperationalState = "STARTED"
	Stopped OperationalState = "STOPPED"
)

// Instance is a VNF instance as SOL003 describes it (the fields vnfguard uses), plus what vnfguard derives.
type Instance struct {
	ID                  string               `json:"id"`
	VnfInstanceName     string               `json:"vnfInstanceName,omitempty"`
	VnfdID              string               `json:"vnfdId"`
	VnfProvider         string               `json:"vnfProvider,omitempty"`
	VnfProductName      string               `json:"vnfProductName,omitempty"`
	VnfSoftwareVersion  string               `json:"vnfSoftwareVersion,omitempty"`
	InstantiationState  InstantiationState   `json:"instantiationState"`
	InstantiatedVnfInfo *InstantiatedVnfInfo `json:"instantiatedVnfInfo,omitempty"`
	VimConnectionInfo   map[string]VimConn   `json:"vimConnectionInfo,omitempty"`
	Metadata            map[string]any       `json:"metadata,omitempty"`

	// Derived by vnfguard: the namespace the instance's resources live in, the images its package declared,
	// and what it knows of termination.
	Namespace            string           `json:"-"`
	DeclaredImages       []DeclaredImage  `json:"-"`
	TerminationRequested bool             `json:"-"`
	TerminatedAt         *time.Time       `json:"-"`
	ActiveOperation      *ActiveOperation `json:"-"`
	// DisclosedCredentials are the JSON paths of the credential-bearing fields (IsCredentialKey) that the VNFM
	// returned with a value in the instance's vimConnectionInfo, e.g. vimConnectionInfo.vim1.accessInfo.bearer_token:
	// their names only. The values are never kept.
	DisclosedCredentials []string `json:"-"`
}

// VimConn is the part of SOL003's VimConnectionInfo that locates a CNF's resources.
type VimConn struct {
	VimID         string         `json:"vimId,omitempty"`
	VimType       string         `json:"vimType,omitempty"`
	InterfaceInfo map[string]any `json:"interfaceInfo,omitempty"`
	Extra         map[string]any `json:"extra,omitempty"`
}

// InstantiatedVnfInfo is SOL003's InstantiatedVnfInfo (the fields vnfguard uses).
type InstantiatedVnfInfo struct {
	FlavourID                     string                `json:"flavourId,omitempty"`
	VnfState                      OperationalState      `json:"vnfState"`
	VnfcResourceInfo              []VnfcResourceInfo    `json:"vnfcResourceInfo,omitempty"`
	VirtualStorageResourceInfo    []StorageResourceInfo `json:"virtualStorageResourceInfo,omitempty"`
	VnfVirtualStorageResourceInfo []StorageResourceInfo `json:"vnfVirtualStorageResourceInfo,omitempty"` // SOL002 spelling
	Metadata                      map[string]any        `json:"metadata,omitempty"`
}

// VnfcResourceInfo is one VNFC's compute resource.
type VnfcResourceInfo struct {
	ID              string         `json:"id"`
	VduID           string         `json:"vduId,omitempty"`
	ComputeResource ResourceHandle `json:"computeResource"`
}

// StorageResourceInfo is one virtual storage resource.
type StorageResourceInfo struct {
	ID                   string         `json:"id"`
	VirtualStorageDescID string         `json:"virtualStorageDescId,omitempty"`
	StorageResource      ResourceHandle `json:"storageResource"`
}

// ResourceHandle is SOL003's ResourceHandle. For CNFs (Tacker) resourceId names the Pod or the PVC and
// vimLevelResourceType the owning workload kind.
type ResourceHandle struct {
	VimConnectionID      string `json:"vimConnectionId,omitempty"`
	ResourceProviderID   string `json:"resourceProviderId,omitempty"`
	ResourceID           string `json:"resourceId"`
	VimLevelResourceType string `json:"vimLevelResourceType,omitempty"`
}

// ActiveOperation is an LCM operation the VNFM is carrying out on the instance right now; while it runs the VNFM
// (and the controllers acting for it) may create the instance's workloads even before its state says so.
type ActiveOperation struct {
	Operation string `json:"operation"`      // INSTANTIATE, SCALE, HEAL, OPERATE, TERMINATE, ...
	State     string `json:"operationState"` // STARTING, PROCESSING, ...
}

// DeclaredImage is a container image that the instance's VNF package declared.
type DeclaredImage struct {
	Name   string `json:"name,omitempty"`
	Image  string `json:"image"`            // a full reference, normally repo@sha256:...
	Digest string `json:"digest,omitempty"` // sha256:...; derived from Image when it carries one
}

// State is the instance's lifecycle state in one word: INSTANTIATED (started), STOPPED or NOT_INSTANTIATED.
func (i *Instance) State() string {
	if i.InstantiationState != Instantiated {
		return string(NotInstantiated)
	}
	if i.InstantiatedVnfInfo != nil && i.InstantiatedVnfInfo.VnfState == Stopped {
		return string(Stopped)
	}
	return string(Instantiated)
}

// Running reports whether the NFVO says the instance is instantiated and not stopped.
func (i *Instance) Running() bool { return i.State() == string(Instantiated) }

// Dormant reports whether the instance is STOPPED or NOT_INSTANTIATED: its pods must not be reached and its
// data must not be mounted (FGT1609.501).
func (i *Instance) Dormant() bool { return !i.Running() }

// Terminating reports whether the VNFM is terminating the instance: a TERMINATE operation is in progress.
func (i *Instance) Terminating() bool {
	return i.ActiveOperation != nil && i.ActiveOperation.Operation == "TERMINATE"
}

// OperationInProgress reports whether the VNFM is carrying out an LCM operation on the instance.
func (i *Instance) OperationInProgress() bool { return i.ActiveOperation != nil }

// Describe names the instance for messages: "id (product, STATE)".
func (i *Instance) Describe() string {
	product := i.VnfProductName
	if product == "" {
		product = i.VnfdID
	}
	return i.ID + " (" + product + ", " + i.State() + ")"
}
