package policy

import (
	"context"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check pod-security enforces the Kubernetes Pod Security Standards with Kubernetes' own checks
(k8s.io/pod-security-admission): the restricted level in protected namespaces and the configured level (baseline by
default) everywhere else, except the exempt namespaces.

Restricted fields: everything the standard restricts (privileged, host namespaces, hostPath volumes, host ports,
capabilities, privilege escalation, running as root, seccomp, sysctls, AppArmor, SELinux, proc mount, volume types).

Allowed: what the standard allows, plus the exceptions the VNF product's profile declares for pods of an instance of
that product — allowCapabilities (e.g. NET_ADMIN, IPC_LOCK for a UPF), allowHostNetwork, allowRunAsRoot,
allowSysctls. Every exception used is named in the decision. Updates that leave the pod spec unchanged are not
re-judged, as in Pod Security Admission.
*/
type podSecurityCheck struct {
	everywhere, protected []psaCheck
	levelEverywhere       string
	levelProtected        string
	exempt                []string
}

// psaCheck is one Pod Security Standards check at its newest version.
type psaCheck struct {
	id    psa.CheckID
	check psa.CheckPodFn
}

func init() { register(func() Check { return &podSecurityCheck{} }) }

func (*podSecurityCheck) ID() string        { return "pod-security" }
func (*podSecurityCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (*podSecurityCheck) Mitigations() []string {
	return []string{finding.MitigationPrivilegedAccounts, finding.MitigationExecutionPrevention}
}

func (c *podSecurityCheck) init(cfg *config.Config) error {
	c.levelEverywhere, c.levelProtected = cfg.PodSecurity.Everywhere, cfg.PodSecurity.Protected
	c.exempt = cfg.PodSecurity.ExemptNamespaces
	c.everywhere = psaChecksFor(psaapi.Level(c.levelEverywhere))
	c.protected = psaChecksFor(psaapi.Level(c.levelProtected))
	return nil
}

// strictest returns the checks and name of the stricter of the two configured levels.
func (c *podSecurityCheck) strictest() ([]psaCheck, string) {
	if levelRank(c.levelEverywhere) > levelRank(c.levelProtected) {
		return c.everywhere, c.levelEverywhere
	}
	return c.protected, c.levelProtected
}

func levelRank(level string) int {
	switch psaapi.Level(level) {
	case psaapi.LevelRestricted:
		return 2
	case psaapi.LevelBaseline:
		return 1
	}
	return 0
}

// psaChecksFor lists the newest version of every check of a level; restricted checks replace the baseline checks
// they override, as the library's own registry does.
func psaChecksFor(level psaapi.Level) []psaCheck {
	if level == psaapi.LevelPrivileged {
		return nil
	}
	all := psa.DefaultChecks()
	overridden := map[psa.CheckID]bool{}
	if level == psaapi.LevelRestricted {
		for _, c := range all {
			if c.Level == psaapi.LevelRestricted {
				for _, id := range c.Versions[len(c.Versions)-1].OverrideCheckIDs {
					overridden[id] = true
				}
			}
		}
	}
	var out []psaCheck
	for _, c := range all {
		if c.Level == psaapi.LevelRestricted && level != psaapi.LevelRestricted || overridden[c.ID] {
			continue
		}
		out = append(out, psaCheck{id: c.ID, check: c.Versions[len(c.Versions)-1].CheckPod})
	}
	return out
}

func (c *podSecurityCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	checks, level := c.everywhere, c.levelEverywhere
	switch {
	case a.Unknown.Has(LookupNamespace):
		// The namespace's labels could not be read: it may be protected, so neither its exemption nor the lower
		// level is granted. The pod is judged at the stricter of the two levels, and the message says why.
		checks, level = c.strictest()
	case a.Protected:
		checks, level = c.protected, c.levelProtected
	case slices.Contains(c.exempt, a.Request.Namespace):
		return out, nil
	}
	for _, pc := range checks {
		if a.Profile != nil {
			// The exceptions the pod uses are applied before the check runs: one run, on a spec that shares all
			// but the fields the exception changes.
			if cp := excepted(a.Profile, pc.id, w.Spec); cp != nil {
				res := pc.check(w.Meta, &cp.spec)
				cp.release() // the check's result holds nothing of the spec
				if res.Allowed {
					a.Note(exceptionNote(a.Profile, pc.id))
					continue
				}
				out = append(out, c.violation(a, w, pc, level, res)) // what the profile does not allow
				continue
			}
		}
		res := pc.check(w.Meta, w.Spec)
		if res.Allowed {
			continue
		}
		if a.Profile != nil {
			if excepted, note := profileException(a.Profile, pc, w.Meta, w.Spec); excepted {
				a.Note(note)
				continue
			} else if note != "" {
				// The profile allowed part of it; report what is left.
				res = pc.check(w.Meta, exceptedSpec(a.Profile, pc.id, w.Spec))
			}
		}
		out = append(out, c.violation(a, w, pc, level, res))
	}
	return out, nil
}

func (c *podSecurityCheck) violation(a *Attributes, w *PodView, pc psaCheck, level string, res psa.CheckResult) Violation {
	msg := `violates PodSecurity "` + level + `:latest": ` + res.ForbiddenReason
	if res.ForbiddenDetail != "" {
		msg += " (" + res.ForbiddenDetail + ")"
	}
	if a.Unknown.Has(LookupNamespace) {
		msg += "; judged at the strictest level because the namespace's labels could not be read"
	}
	if a.Unknown.Has(LookupBinding) {
		msg += "; no profile exception applied because the pod's VNF instance could not be found"
	}
	return violation(c, w.Path+"."+psaFieldOf(pc.id), msg)
}

// excepted returns spec with the exception of profile p for check id applied, when the pod uses that exception:
// capabilities the profile allows that a container adds, or hostNetwork. Either one fails the check as the standard
// has it, so the exception is in use. The copy is shallow except for what it changes: the container lists and the
// security contexts of the containers it strips. nil when the pod uses no exception of the check (the other
// exceptions go through profileException, after a failed check). The caller releases the copy once the check has
// run.
func excepted(p *config.Profile, id psa.CheckID, spec *corev1.PodSpec) *specCopy {
	switch id {
	case "capabilities_baseline", "capabilities_restricted":
		if len(p.AllowCapabilities) == 0 {
			return nil
		}
		allowed := func(c corev1.Capability) bool {
			return slices.Contains(p.AllowCapabilities, strings.TrimPrefix(string(c), "CAP_"))
		}
		uses := func(sc *corev1.SecurityContext) bool {
			return sc != nil && sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, allowed)
		}
		usedIn := func(list []corev1.Container) bool {
			return slices.ContainsFunc(list, func(c corev1.Container) bool { return uses(c.SecurityContext) })
		}
		inContainers, inInit := usedIn(spec.Containers), usedIn(spec.InitContainers)
		inEphemeral := slices.ContainsFunc(spec.EphemeralContainers, func(c corev1.EphemeralContainer) bool { return uses(c.SecurityContext) })
		if !inContainers && !inInit && !inEphemeral {
			return nil // before any copy: the common case costs nothing
		}
		cp := newSpecCopy(spec)
		strip := func(sc *corev1.SecurityContext) *corev1.SecurityContext {
			if !uses(sc) {
				return sc
			}
			s := cp.context()
			s.sc, s.caps = *sc, *sc.Capabilities
			// The capabilities left are nil when the profile allows them all, which the check reads as the empty
			// list it is.
			s.caps.Add = nil
			for _, c := range sc.Capabilities.Add {
				if !allowed(c) {
					s.caps.Add = append(s.caps.Add, c)
				}
			}
			s.sc.Capabilities = &s.caps
			return &s.sc
		}
		// A list in which no container adds an allowed capability is shared, not copied.
		if inContainers {
			cp.containers = append(cp.containers, spec.Containers...)
			for i := range cp.containers {
				cp.containers[i].SecurityContext = strip(cp.containers[i].SecurityContext)
			}
			cp.spec.Containers = cp.containers
		}
		if inInit {
			cp.initContainers = append(cp.initContainers, spec.InitContainers...)
			for i := range cp.initContainers {
				cp.initContainers[i].SecurityContext = strip(cp.initContainers[i].SecurityContext)
			}
			cp.spec.InitContainers = cp.initContainers
		}
		if inEphemeral {
			cp.ephemeral = append(cp.ephemeral, spec.EphemeralContainers...)
			for i := range cp.ephemeral {
				cp.ephemeral[i].SecurityContext = strip(cp.ephemeral[i].SecurityContext)
			}
			cp.spec.EphemeralContainers = cp.ephemeral
		}
		return cp
	case "hostNamespaces":
		if !p.AllowHostNetwork || !spec.HostNetwork {
			return nil
		}
		cp := newSpecCopy(spec)
		cp.spec.HostNetwork = false
		return cp
	}
	return nil
}

// specCopy is the shallow copy of a pod spec that excepted makes, with room for the container lists and security
// contexts it changes. The copies are pooled: a pod whose profile exception is in use (every pod of a UPF) had its
// spec, container list and security context copied on every request, about a fifth of its evaluation in
// allocation and garbage collection.
type specCopy struct {
	spec                       corev1.PodSpec
	containers, initContainers []corev1.Container
	ephemeral                  []corev1.EphemeralContainer
	// contexts are the copied security contexts; contexts beyond the array are allocated (a pod rarely has more
	// than a few containers that add capabilities).
	contexts [4]strippedContext
	used     int
}

type strippedContext struct {
	sc   corev1.SecurityContext
	caps corev1.Capabilities
}

var specCopies = sync.Pool{New: func() any { return new(specCopy) }}

func newSpecCopy(spec *corev1.PodSpec) *specCopy {
	cp := specCopies.Get().(*specCopy)
	cp.spec = *spec
	return cp
}

// context returns room for one more copied security context.
func (cp *specCopy) context() *strippedContext {
	if cp.used < len(cp.contexts) {
		cp.used++
		return &cp.contexts[cp.used-1]
	}
	return new(strippedContext)
}

// release clears the copy, so that the pool holds no part of the request, and returns it to the pool (lists that
// grew unusually long are dropped rather than kept).
func (cp *specCopy) release() {
	const keep = 16
	cp.spec = corev1.PodSpec{}
	cp.containers = reuse(cp.containers, keep)
	cp.initContainers = reuse(cp.initContainers, keep)
	cp.ephemeral = reuse(cp.ephemeral, keep)
	clear(cp.contexts[:cp.used])
	cp.used = 0
	specCopies.Put(cp)
}

// reuse clears list and returns it emptied for the next use, or nil when it is longer than keep.
func reuse[T any](list []T, keep int) []T {
	if cap(list) > keep {
		return nil
	}
	clear(list)
	return list[:0]
}

// exceptionNote names an exception excepted applied, for the decision: "profile upf allowed capabilities
// NET_ADMIN, IPC_LOCK (capabilities_restricted)", or "... allowed hostNetwork (hostNamespaces)". Built in one
// allocation: every request of an instance whose profile is in use makes one.
func exceptionNote(p *config.Profile, id psa.CheckID) string {
	const capsWhat, hostWhat = "capabilities ", "hostNetwork"
	var b strings.Builder
	n := len("profile ") + len(p.Name) + len(" allowed ") + len(" (") + len(id) + len(")")
	if id == "hostNamespaces" {
		n += len(hostWhat)
	} else {
		n += len(capsWhat)
		for i, c := range p.AllowCapabilities {
			if i > 0 {
				n += len(", ")
			}
			n += len(c)
		}
	}
	b.Grow(n)
	b.WriteString("profile ")
	b.WriteString(p.Name)
	b.WriteString(" allowed ")
	if id == "hostNamespaces" {
		b.WriteString(hostWhat)
	} else {
		b.WriteString(capsWhat)
		for i, c := range p.AllowCapabilities {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c)
		}
	}
	b.WriteString(" (")
	b.WriteString(string(id))
	b.WriteString(")")
	return b.String()
}

// profileException judges a failed check against the profile's other exceptions (those excepted does not apply
// before the check): running as root, and sysctls. It reports whether they cure the violation, and a note naming
// what the profile allowed (also when they only cure part of it).
func profileException(p *config.Profile, pc psaCheck, meta *metav1.ObjectMeta, spec *corev1.PodSpec) (bool, string) {
	switch pc.id {
	case "runAsNonRoot", "runAsUser":
		if !p.AllowRunAsRoot {
			return false, ""
		}
		return true, "profile " + p.Name + " allowed running as root (" + string(pc.id) + ")"
	case "sysctls":
		if len(p.AllowSysctls) == 0 {
			return false, ""
		}
		res := pc.check(meta, exceptedSpec(p, pc.id, spec))
		return res.Allowed, "profile " + p.Name + " allowed sysctls " + strings.Join(p.AllowSysctls, ", ") + " (" + string(pc.id) + ")"
	}
	return false, ""
}

// exceptedSpec returns spec with the sysctls the profile allows removed, for re-running the sysctls check: a
// shallow copy but for the security context it changes.
func exceptedSpec(p *config.Profile, id psa.CheckID, spec *corev1.PodSpec) *corev1.PodSpec {
	if id != "sysctls" || spec.SecurityContext == nil {
		return spec
	}
	cp, sc := *spec, *spec.SecurityContext
	sc.Sysctls = slices.DeleteFunc(slices.Clone(sc.Sysctls), func(s corev1.Sysctl) bool { return slices.Contains(p.AllowSysctls, s.Name) })
	cp.SecurityContext = &sc
	return &cp
}

// psaFieldOf names the field a Pod Security Standards check looks at, relative to the pod spec.
func psaFieldOf(id psa.CheckID) string {
	switch id {
	case "privileged":
		return "containers[*].securityContext.privileged"
	case "hostNamespaces":
		return "hostNetwork|hostPID|hostIPC"
	case "hostPathVolumes":
		return "volumes[*].hostPath"
	case "restrictedVolumes":
		return "volumes[*]"
	case "hostPorts":
		return "containers[*].ports[*].hostPort"
	case "capabilities_baseline", "capabilities_restricted":
		return "containers[*].securityContext.capabilities"
	case "allowPrivilegeEscalation":
		return "containers[*].securityContext.allowPrivilegeEscalation"
	case "runAsNonRoot":
		return "securityContext.runAsNonRoot"
	case "runAsUser":
		return "securityContext.runAsUser"
	case "seccompProfile_baseline", "seccompProfile_restricted":
		return "securityContext.seccompProfile"
	case "sysctls":
		return "securityContext.sysctls"
	case "appArmorProfile":
		return "securityContext.appArmorProfile"
	case "seLinuxOptions":
		return "securityContext.seLinuxOptions"
	case "procMount":
		return "containers[*].securityContext.procMount"
	case "windowsHostProcess":
		return "securityContext.windowsOptions.hostProcess"
	case "hostProbesAndHostLifecycle":
		return "containers[*].(livenessProbe|readinessProbe|startupProbe|lifecycle).host"
	}
	return string(id)
}
