package posture

import (
	"context"
	"log/slog"
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/manifest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Source is the Source of every posture finding.
const Source = "posture"

// scope is what every check of a scan shares: the inputs indexed, the configuration, the inventory, and how to
// turn an object into a finding bound to its VNF instance.
type scope struct {
	in        *Inputs
	cfg       *config.Config
	snap      *vnf.Snapshot
	cluster   *manifest.Cluster
	resolver  vnf.Resolver
	origin    map[runtime.Object]manifest.Object
	nsLabels  map[string]map[string]string
	namespace []string // every namespace seen: Namespace objects and the namespaces of objects
	now       time.Time
	logger    *slog.Logger
}

func newScope(in *Inputs, cfg *config.Config, snap *vnf.Snapshot, now time.Time, logger *slog.Logger) *scope {
	if cfg == nil {
		cfg = config.Default()
	}
	if snap == nil {
		snap = vnf.Empty("none")
	}
	s := &scope{
		in: in, cfg: cfg, snap: snap, now: now, logger: logger,
		cluster:  manifest.NewCluster(in.Objects, ""),
		origin:   make(map[runtime.Object]manifest.Object, len(in.Objects)),
		nsLabels: map[string]map[string]string{},
	}
	s.resolver = vnf.Resolver{LabelKey: cfg.InstanceLabel, Objects: s.cluster}
	seen := map[string]bool{}
	for _, o := range in.Objects {
		s.origin[o.Object] = o
		ns := ""
		if n, ok := o.Object.(*corev1.Namespace); ok {
			ns = n.Name
			s.nsLabels[n.Name] = n.Labels
		} else if m, ok := o.Object.(metav1.Object); ok {
			ns = m.GetNamespace()
		}
		if ns != "" && !seen[ns] {
			seen[ns] = true
			s.namespace = append(s.namespace, ns)
		}
	}
	return s
}

// protected reports whether the namespace is one of the VNF namespaces.
func (s *scope) protected(ns string) bool { return ns != "" && s.cfg.IsProtected(ns, s.nsLabels[ns]) }

// protectedNamespaces lists the protected namespaces seen, in input order.
func (s *scope) protectedNamespaces() []string {
	var out []string
	for _, ns := range s.namespace {
		if s.protected(ns) {
			out = append(out, ns)
		}
	}
	return out
}

// finding builds a posture finding on obj, bound to the VNF instance obj belongs to, with the file and line it
// came from when it was read from a manifest.
func (s *scope) finding(rule, technique string, mitigations []string, sev finding.Severity, obj runtime.Object, msg string, evidence map[string]string) finding.Finding {
	ref := objectRef(obj)
	f := finding.Finding{
		Time: s.now, Source: Source, Rule: rule, Technique: technique, Mitigations: mitigations, Severity: sev,
		Message: msg, Object: ref, Evidence: maps.Clone(evidence),
	}
	if f.Evidence == nil {
		f.Evidence = map[string]string{}
	}
	if o, ok := s.origin[obj]; ok && o.File != "cluster" && o.File != "" {
		f.Evidence["file"] = o.File
		if o.Line > 0 {
			f.Evidence["line"] = strconv.Itoa(o.Line)
		}
	}
	if m, ok := obj.(metav1.Object); ok {
		s.bind(&f, ref.Kind, m)
	}
	f.ID = finding.Key(rule, ref, f.VNFInstance)
	return f
}

// bind names the VNF instance the object belongs to, if any.
func (s *scope) bind(f *finding.Finding, kind string, m metav1.Object) {
	b, err := s.resolver.Resolve(context.Background(), s.snap, kind, m)
	if err != nil || !b.Bound() {
		// Nothing on the object or up its owner chain names an instance, but it sits in the namespace of exactly
		// one: its finding concerns that instance (a debug pod left beside the UPF is the UPF's exposure), and
		// the report groups it there instead of under "not bound to a VNF instance".
		ns := m.GetNamespace()
		if kind == "Namespace" {
			ns = m.GetName()
		}
		if inst := s.onlyInstanceIn(ns); inst != nil {
			f.VNFInstance, f.VNFProduct = inst.ID, inst.VnfProductName
			f.Evidence["vnfState"] = inst.State()
			f.Evidence["boundBy"] = "namespace " + ns + " (the instance's only namespace)"
		}
		return
	}
	f.VNFInstance = b.InstanceID
	if b.Instance != nil {
		f.VNFProduct = b.Instance.VnfProductName
		f.Evidence["vnfState"] = b.Instance.State()
	}
}

// onlyInstanceIn returns the one inventory instance whose namespace is ns; nil when none or several are.
func (s *scope) onlyInstanceIn(ns string) *vnf.Instance {
	if ns == "" || s.snap == nil {
		return nil
	}
	var found *vnf.Instance
	for _, inst := range s.snap.Instances() {
		if vnf.NamespaceOf(inst) == ns {
			if found != nil {
				return nil
			}
			found = inst
		}
	}
	return found
}

// objectRef names an object.
func objectRef(obj runtime.Object) finding.ObjectRef {
	gvk := obj.GetObjectKind().GroupVersionKind()
	ref := finding.ObjectRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}
	if m, ok := obj.(metav1.Object); ok {
		ref.Namespace, ref.Name = m.GetNamespace(), m.GetName()
	}
	return ref
}
