package policy

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Identity classifies the requesting user.
type Identity uint8

// Identity bits; a user may be in several sets.
const (
	VNFM Identity = 1 << iota
	BreakGlass
	Controller
	Administrator
)

// Has reports whether the identity has bit b.
func (i Identity) Has(b Identity) bool { return i&b != 0 }

// Attributes is everything the evaluator knows about a request before the checks run: computed once and shared by
// every check.
type Attributes struct {
	Request   *Request
	Config    *config.Config
	Snapshot  *vnf.Snapshot
	Objects   vnf.Objects
	Images    ImageIntegrity // nil: signatures and vulnerabilities are not checked
	Protected bool
	Identity  Identity
	// Unknown are the lookups that failed for this request. Protected then says only what the configuration's
	// names say (LookupNamespace), and Binding, Profile and Target are empty (LookupBinding): checks that need
	// them are not run, and the checks that run anyway judge as strictly as the unknown allows.
	Unknown Lookup

	// Workload is the pod the request would run (a Pod, or the pod template of a workload); nil for requests
	// without one. SpecChanged is false for updates that leave the pod spec as it was.
	Workload    *PodView
	SpecChanged bool

	// Binding is the VNF instance of the object (for CONNECT, of the target pod); Profile is the profile of the
	// instance's product, or nil.
	Binding vnf.Binding
	Profile *config.Profile
	// Target is the pod a CONNECT or ephemeral-containers request reaches; nil when it does not exist.
	Target *corev1.Pod

	notes        []string
	breakGlass   string
	overrides    []Violation
	imageRefs    []imageRef
	imagesParsed bool
	// workload holds what Workload points to, and budget the context of the lookups (one allocation less per
	// request each); podOf is what dangerPod returns.
	workload   PodView
	budget     budgetContext
	podOf      danger.Pod
	podOfValid bool
}

// PodView is a pod spec with the metadata that goes with it and the field path it stands at.
type PodView struct {
	Meta *metav1.ObjectMeta
	Spec *corev1.PodSpec
	// Path is the field path of Spec: "spec", "spec.template.spec", "spec.jobTemplate.spec.template.spec".
	Path string
}

// ContainerPath returns the field path of a container: "<Path>.containers[i]".
func (p *PodView) ContainerPath(list string, i int) string {
	return p.Path + "." + list + "[" + strconv.Itoa(i) + "]"
}

// Containers calls fn for every container of the pod (init, regular, ephemeral) with its list name and index.
func (p *PodView) Containers(fn func(list string, i int, c *corev1.Container)) {
	for i := range p.Spec.InitContainers {
		fn("initContainers", i, &p.Spec.InitContainers[i])
	}
	for i := range p.Spec.Containers {
		fn("containers", i, &p.Spec.Containers[i])
	}
	for i := range p.Spec.EphemeralContainers {
		fn("ephemeralContainers", i, (*corev1.Container)(&p.Spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
}

// IsVNFM reports whether the requester is a VNFM identity.
func (a *Attributes) IsVNFM() bool { return a.Identity.Has(VNFM) }

// Instance returns the bound instance, or nil.
func (a *Attributes) Instance() *vnf.Instance { return a.Binding.Instance }

// Note records a profile exception or other remark that the decision must name.
func (a *Attributes) Note(text string) {
	if a.notes == nil {
		// A profile in use usually allows more than one thing (capabilities and hugepages for a UPF): one
		// allocation for the first few notes instead of one per note.
		a.notes = make([]string, 0, 4)
	}
	a.notes = append(a.notes, text)
}

// RecordBreakGlass records that the request is allowed only because the requester is a break-glass identity.
func (a *Attributes) RecordBreakGlass(text string) { a.breakGlass = text }

// RecordOverride records a violation that the requester's identity lets through (a vnfguard administrator taking a
// namespace out of protection): the request is allowed, and the decision still reports it as a finding with the
// check's severity.
func (a *Attributes) RecordOverride(v Violation) { a.overrides = append(a.overrides, v) }

// dangerPod returns the workload's spec as package danger reads it (capabilities, users), made once per request
// for the checks that judge it (dangerous-capability, root-user). The checks must not change it.
func (a *Attributes) dangerPod() danger.Pod {
	if !a.podOfValid {
		a.podOf, a.podOfValid = danger.PodOf(a.Workload.Spec), true
	}
	return a.podOf
}
