package vnfmtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

// Instance is a SOL003 VnfInstance as the server stores and serves it, shaped like Tacker's for a CNF.
type Instance struct {
	ID                     string                       `json:"id"`
	VnfInstanceName        string                       `json:"vnfInstanceName,omitempty"`
	VnfInstanceDescription string                       `json:"vnfInstanceDescription,omitempty"`
	VnfdID                 string                       `json:"vnfdId"`
	VnfProvider            string                       `json:"vnfProvider"`
	VnfProductName         string                       `json:"vnfProductName"`
	VnfSoftwareVersion     string                       `json:"vnfSoftwareVersion"`
	VnfdVersion            string                       `json:"vnfdVersion"`
	VimConnectionInfo      map[string]VimConnectionInfo `json:"vimConnectionInfo,omitempty"`
	InstantiationState     string                       `json:"instantiationState"`
	InstantiatedVnfInfo    *InstantiatedVnfInfo         `json:"instantiatedVnfInfo,omitempty"`
	Metadata               map[string]any               `json:"metadata,omitempty"`
	Links                  map[string]Link              `json:"_links"`
}

// VimConnectionInfo is a Kubernetes VIM connection.
type VimConnectionInfo struct {
	VimID         string            `json:"vimId,omitempty"`
	VimType       string            `json:"vimType"`
	InterfaceInfo map[string]string `json:"interfaceInfo,omitempty"`
	AccessInfo    map[string]string `json:"accessInfo,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

// InstantiatedVnfInfo is the part of a VnfInstance that exists while it is instantiated.
type InstantiatedVnfInfo struct {
	FlavourID                  string                       `json:"flavourId"`
	VnfState                   string                       `json:"vnfState"`
	ScaleStatus                []ScaleInfo                  `json:"scaleStatus,omitempty"`
	ExtCpInfo                  []ExtCpInfo                  `json:"extCpInfo"`
	VnfcResourceInfo           []VnfcResourceInfo           `json:"vnfcResourceInfo,omitempty"`
	VirtualStorageResourceInfo []VirtualStorageResourceInfo `json:"virtualStorageResourceInfo,omitempty"`
	Metadata                   map[string]any               `json:"metadata,omitempty"`
}

// ScaleInfo is one scaling aspect's level.
type ScaleInfo struct {
	AspectID   string `json:"aspectId"`
	ScaleLevel int    `json:"scaleLevel"`
}

// ExtCpInfo is an external connection point (SOL003 requires at least one on an instantiated VNF).
type ExtCpInfo struct {
	ID                 string           `json:"id"`
	CpdID              string           `json:"cpdId"`
	CpConfigID         string           `json:"cpConfigId"`
	CpProtocolInfo     []map[string]any `json:"cpProtocolInfo"`
	AssociatedVnfcCpID string           `json:"associatedVnfcCpId"`
}

// VnfcResourceInfo is a VNFC's compute resource: for a CNF, a Pod.
type VnfcResourceInfo struct {
	ID                 string         `json:"id"`
	VduID              string         `json:"vduId"`
	ComputeResource    ResourceHandle `json:"computeResource"`
	StorageResourceIDs []string       `json:"storageResourceIds,omitempty"`
	Metadata           map[string]any `json:"metadata,omitempty"`
}

// VirtualStorageResourceInfo is a storage resource: for a CNF, a PersistentVolumeClaim.
type VirtualStorageResourceInfo struct {
	ID                   string         `json:"id"`
	VirtualStorageDescID string         `json:"virtualStorageDescId"`
	StorageResource      ResourceHandle `json:"storageResource"`
}

// ResourceHandle names a resource at the VIM: for Tacker's CNFs, resourceId is the Pod (or PVC) name and
// vimLevelResourceType the owning kind.
type ResourceHandle struct {
	VimConnectionID      string `json:"vimConnectionId,omitempty"`
	ResourceID           string `json:"resourceId"`
	VimLevelResourceType string `json:"vimLevelResourceType,omitempty"`
}

// Link is SOL003's Link.
type Link struct {
	Href string `json:"href"`
}

// The notification types.
const (
	NotificationLcmOperationOccurrence = "VnfLcmOperationOccurrenceNotification"
	NotificationIdentifierCreation     = "VnfIdentifierCreationNotification"
	NotificationIdentifierDeletion     = "VnfIdentifierDeletionNotification"
)

// Package is the VNF package an instance is created from.
type Package struct {
	VnfdID, Provider, ProductName, SoftwareVersion string
}

// Workload is how Instantiate deploys a CNF, as Tacker does from the package's Kubernetes manifests.
type Workload struct {
	Namespace string
	Kind      string // Deployment (default), StatefulSet, DaemonSet or Pod
	Name      string
	Replicas  int  // 1 when zero
	Storage   bool // a StatefulSet's volumeClaimTemplate "data": one PVC per pod, data-<pod>
	VduID     string
	// NamespaceIn says where the namespace is written: "metadata" (instantiatedVnfInfo.metadata.namespace, the
	// default, Tacker's), "vim-extra" (vimConnectionInfo.*.extra.namespace) or "instance" (metadata.namespace).
	NamespaceIn string
}

// Create creates an instance (NOT_INSTANTIATED) and sends VnfIdentifierCreationNotification.
func (s *Server) Create(name string, pkg Package) (string, error) {
	id := newID()
	inst := &Instance{
		ID: id, VnfInstanceName: name, VnfdID: pkg.VnfdID, VnfProvider: pkg.Provider, VnfProductName: pkg.ProductName,
		VnfSoftwareVersion: pkg.SoftwareVersion, VnfdVersion: pkg.SoftwareVersion, InstantiationState: "NOT_INSTANTIATED",
		Links: map[string]Link{"self": {Href: s.instanceURL(id)}, "instantiate": {Href: s.instanceURL(id) + "/instantiate"}},
	}
	s.Put(inst)
	return id, s.notifyIdentifier(NotificationIdentifierCreation, id)
}

// Put stores an instance as is (a fixture), without notifications. It is served as given, so a test can make the
// server break the contract.
func (s *Server) Put(inst *Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.instances[inst.ID]; !ok {
		s.order = append(s.order, inst.ID)
	}
	s.instances[inst.ID] = inst
}

// PutRaw stores the JSON of an instance, served verbatim in place of any stored one (for contract tests).
func (s *Server) PutRaw(id string, raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.instances[id]; !ok {
		if _, ok := s.raw[id]; !ok {
			s.order = append(s.order, id)
		}
	}
	s.raw[id] = raw
}

// LoadFixture stores the instances of a JSON file holding an array of VnfInstance.
func (s *Server) LoadFixture(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vnfmtest: %w", err)
	}
	var list []*Instance
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("vnfmtest: fixture %s: %w", path, err)
	}
	ids := make([]string, 0, len(list))
	for _, inst := range list {
		s.Put(inst)
		ids = append(ids, inst.ID)
	}
	return ids, nil
}

// Instance returns a copy of a stored instance.
func (s *Server) Instance(id string) (*Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return nil, false
	}
	var c Instance
	data, _ := json.Marshal(inst)
	_ = json.Unmarshal(data, &c)
	return &c, true
}

// Instantiate deploys the workload (INSTANTIATE) and makes the instance INSTANTIATED and STARTED.
func (s *Server) Instantiate(id string, wl Workload) error {
	return s.operation(id, "INSTANTIATE", func(inst *Instance) error {
		if inst.InstantiationState != "NOT_INSTANTIATED" {
			return fmt.Errorf("instance %s is %s", id, inst.InstantiationState)
		}
		if wl.Kind == "" {
			wl.Kind = "Deployment"
		}
		if wl.Replicas <= 0 {
			wl.Replicas = 1
		}
		if wl.VduID == "" {
			wl.VduID = "VDU1"
		}
		inst.InstantiationState = "INSTANTIATED"
		inst.VimConnectionInfo = map[string]VimConnectionInfo{"vim1": {
			VimID: "8a3adb69-0784-43c7-833e-aab0b6ab4470", VimType: "ETSINFV.KUBERNETES.V_1",
			InterfaceInfo: map[string]string{"endpoint": "https://127.0.0.1:6443"}, AccessInfo: s.vimAccessInfo(),
		}}
		info := &InstantiatedVnfInfo{
			FlavourID: "simple", VnfState: "STARTED",
			ScaleStatus: []ScaleInfo{{AspectID: wl.VduID + "_aspect", ScaleLevel: wl.Replicas - 1}},
			ExtCpInfo: []ExtCpInfo{{ID: "mgmt", CpdID: wl.VduID + "_CP1", CpConfigID: "mgmt-cfg", CpProtocolInfo: []map[string]any{},
				AssociatedVnfcCpID: wl.VduID + "_CP1"}},
		}
		switch wl.NamespaceIn {
		case "vim-extra":
			c := inst.VimConnectionInfo["vim1"]
			c.Extra = map[string]string{"namespace": wl.Namespace}
			inst.VimConnectionInfo["vim1"] = c
		case "instance":
			inst.Metadata = map[string]any{"namespace": wl.Namespace}
		default:
			info.Metadata = map[string]any{"namespace": wl.Namespace}
		}
		inst.InstantiatedVnfInfo = info
		inst.Links["terminate"] = Link{Href: s.instanceURL(id) + "/terminate"}
		inst.Links["operate"] = Link{Href: s.instanceURL(id) + "/operate"}
		delete(inst.Links, "instantiate")
		meta := map[string]any{"workload": map[string]any{"kind": wl.Kind, "name": wl.Name, "storage": wl.Storage, "generation": 0}}
		if inst.Metadata == nil {
			inst.Metadata = map[string]any{}
		}
		inst.Metadata["vnfmtest"] = meta["workload"]
		setPods(inst, wl.Replicas)
		return nil
	})
}

// Operate stops (vnfState STOPPED) or starts (STARTED) the instance. Tacker scales a CNF's workloads to zero to
// stop it, so a stopped instance lists no pods.
func (s *Server) Operate(id, changeStateTo string) error {
	return s.operation(id, "OPERATE", func(inst *Instance) error {
		if inst.InstantiatedVnfInfo == nil || inst.InstantiationState != "INSTANTIATED" {
			return fmt.Errorf("instance %s is not instantiated", id)
		}
		switch changeStateTo {
		case "STOPPED":
			inst.InstantiatedVnfInfo.VnfState = "STOPPED"
			inst.InstantiatedVnfInfo.VnfcResourceInfo = nil
		case "STARTED":
			inst.InstantiatedVnfInfo.VnfState = "STARTED"
			setPods(inst, replicas(inst))
		default:
			return fmt.Errorf("changeStateTo %q: want STARTED or STOPPED", changeStateTo)
		}
		return nil
	})
}

// Scale adds (delta > 0) or removes pods.
func (s *Server) Scale(id string, delta int) error {
	return s.operation(id, "SCALE", func(inst *Instance) error {
		if inst.InstantiatedVnfInfo == nil || inst.InstantiationState != "INSTANTIATED" {
			return fmt.Errorf("instance %s is not instantiated", id)
		}
		n := replicas(inst) + delta
		if n < 1 {
			return fmt.Errorf("cannot scale instance %s below one replica", id)
		}
		inst.InstantiatedVnfInfo.ScaleStatus[0].ScaleLevel = n - 1
		setPods(inst, n)
		return nil
	})
}

// Heal recreates the pods: a Deployment's get new names, a StatefulSet's keep theirs.
func (s *Server) Heal(id string) error {
	return s.operation(id, "HEAL", func(inst *Instance) error {
		if inst.InstantiatedVnfInfo == nil || inst.InstantiationState != "INSTANTIATED" {
			return fmt.Errorf("instance %s is not instantiated", id)
		}
		wl := workload(inst)
		wl["generation"] = number(wl["generation"]) + 1
		setPods(inst, replicas(inst))
		return nil
	})
}

// Terminate makes the instance NOT_INSTANTIATED. Like Tacker, it keeps instantiatedVnfInfo with vnfState STOPPED
// and the namespace, without pods; a StatefulSet's PVCs are deleted with it.
func (s *Server) Terminate(id string) error {
	return s.operation(id, "TERMINATE", func(inst *Instance) error {
		if inst.InstantiationState != "INSTANTIATED" {
			return fmt.Errorf("instance %s is not instantiated", id)
		}
		inst.InstantiationState = "NOT_INSTANTIATED"
		if info := inst.InstantiatedVnfInfo; info != nil {
			info.VnfState = "STOPPED"
			info.VnfcResourceInfo = nil
			info.VirtualStorageResourceInfo = nil
		}
		delete(inst.Links, "terminate")
		delete(inst.Links, "operate")
		inst.Links["instantiate"] = Link{Href: s.instanceURL(id) + "/instantiate"}
		return nil
	})
}

// Delete deletes a NOT_INSTANTIATED instance and sends VnfIdentifierDeletionNotification.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	inst, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("vnfmtest: delete %s: %w", id, errUnknown)
	}
	if inst.InstantiationState != "NOT_INSTANTIATED" {
		s.mu.Unlock()
		return fmt.Errorf("vnfmtest: delete %s: the instance is %s", id, inst.InstantiationState)
	}
	delete(s.instances, id)
	delete(s.raw, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	s.mu.Unlock()
	return s.notifyIdentifier(NotificationIdentifierDeletion, id)
}

// operation runs an LCM operation as a VNFM does: STARTING, PROCESSING, the change, COMPLETED, with a
// notification to every subscriber at each step. The returned error joins the failed deliveries.
func (s *Server) operation(id, op string, change func(*Instance) error) error {
	s.mu.Lock()
	_, ok := s.instances[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("vnfmtest: %s %s: %w", op, id, errUnknown)
	}
	opID := newID()
	errs := []error{s.notifyOp(id, op, opID, "STARTING"), s.notifyOp(id, op, opID, "PROCESSING")}
	if s.opts.OnProcessing != nil {
		s.opts.OnProcessing(id, op)
	}
	s.mu.Lock()
	inst, ok := s.instances[id]
	var err error
	if !ok {
		err = errUnknown
	} else {
		err = change(inst)
	}
	s.mu.Unlock()
	if err != nil {
		return errors.Join(fmt.Errorf("vnfmtest: %s %s: %w", op, id, err), s.notifyOp(id, op, opID, "FAILED"))
	}
	errs = append(errs, s.notifyOp(id, op, opID, "COMPLETED"))
	return errors.Join(errs...)
}

func (s *Server) instanceURL(id string) string { return s.URL + BasePath + "/vnf_instances/" + id }

func (s *Server) notifyOp(id, op, opID, state string) error {
	status := "RESULT"
	if state == "STARTING" {
		status = "START"
	}
	return s.notify(NotificationLcmOperationOccurrence, func(sub *subscription) map[string]any {
		return map[string]any{
			"id": newID(), "notificationType": NotificationLcmOperationOccurrence, "subscriptionId": sub.ID,
			"timeStamp": time.Now().UTC().Format(time.RFC3339Nano), "notificationStatus": status, "operationState": state,
			"vnfInstanceId": id, "operation": op, "isAutomaticInvocation": false, "vnfLcmOpOccId": opID, "verbosity": sub.Verbosity,
			"_links": map[string]any{
				"vnfInstance":  Link{Href: s.instanceURL(id)},
				"subscription": Link{Href: s.URL + BasePath + "/subscriptions/" + sub.ID},
				"vnfLcmOpOcc":  Link{Href: s.URL + BasePath + "/vnf_lcm_op_occs/" + opID},
			},
		}
	})
}

func (s *Server) notifyIdentifier(kind, id string) error {
	return s.notify(kind, func(sub *subscription) map[string]any {
		return map[string]any{
			"id": newID(), "notificationType": kind, "subscriptionId": sub.ID, "timeStamp": time.Now().UTC().Format(time.RFC3339Nano),
			"vnfInstanceId": id,
			"_links": map[string]any{
				"vnfInstance":  Link{Href: s.instanceURL(id)},
				"subscription": Link{Href: s.URL + BasePath + "/subscriptions/" + sub.ID},
			},
		}
	})
}

// notify delivers a notification to every subscriber whose filter takes its type.
func (s *Server) notify(kind string, build func(*subscription) map[string]any) error {
	s.mu.Lock()
	if s.drop {
		s.mu.Unlock()
		return nil
	}
	subs := slices.Clone(s.subs)
	s.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		if len(sub.Types) > 0 && !slices.Contains(sub.Types, kind) {
			continue
		}
		body, err := json.Marshal(build(sub))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, sub.CallbackURI, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.deliver(req, sub, kind, body); err != nil {
			errs = append(errs, fmt.Errorf("vnfmtest: notify %s: %w", kind, err))
		}
	}
	return errors.Join(errs...)
}

func workload(inst *Instance) map[string]any {
	if w, ok := inst.Metadata["vnfmtest"].(map[string]any); ok {
		return w
	}
	w := map[string]any{"kind": "Deployment", "name": inst.VnfInstanceName}
	if inst.Metadata == nil {
		inst.Metadata = map[string]any{}
	}
	inst.Metadata["vnfmtest"] = w
	return w
}

func number(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

func replicas(inst *Instance) int {
	if info := inst.InstantiatedVnfInfo; info != nil && len(info.ScaleStatus) > 0 {
		return info.ScaleStatus[0].ScaleLevel + 1
	}
	return 1
}

// setPods lists n pods named as Kubernetes names them for the workload kind, and a StatefulSet's PVCs.
func setPods(inst *Instance, n int) {
	w := workload(inst)
	kind, _ := w["kind"].(string)
	name, _ := w["name"].(string)
	storage, _ := w["storage"].(bool)
	gen := number(w["generation"])
	info := inst.InstantiatedVnfInfo
	info.VnfcResourceInfo = nil
	info.VirtualStorageResourceInfo = nil
	hash := func(parts ...string) string {
		sum := sha256.Sum256([]byte(fmt.Sprint(parts)))
		return hex.EncodeToString(sum[:])
	}
	rs := hash(inst.ID, name)[:9] // a ReplicaSet's pod-template-hash
	for i := range n {
		var pod string
		switch kind {
		case "StatefulSet":
			pod = name + "-" + strconv.Itoa(i)
		case "Pod":
			pod = name
			if i > 0 {
				pod = name + "-" + strconv.Itoa(i)
			}
		case "DaemonSet":
			pod = name + "-" + hash(inst.ID, name, strconv.Itoa(gen), strconv.Itoa(i))[:5]
		default:
			pod = name + "-" + rs + "-" + hash(inst.ID, name, strconv.Itoa(gen), strconv.Itoa(i))[:5]
		}
		vnfc := VnfcResourceInfo{ID: pod, VduID: "VDU1", ComputeResource: ResourceHandle{ResourceID: pod, VimLevelResourceType: kind}}
		if storage && kind == "StatefulSet" {
			pvc := "data-" + pod
			vnfc.StorageResourceIDs = []string{pvc}
			info.VirtualStorageResourceInfo = append(info.VirtualStorageResourceInfo, VirtualStorageResourceInfo{
				ID: pvc, VirtualStorageDescID: "VirtualStorage", StorageResource: ResourceHandle{ResourceID: pvc, VimLevelResourceType: "PersistentVolumeClaim"},
			})
		}
		info.VnfcResourceInfo = append(info.VnfcResourceInfo, vnfc)
	}
}
