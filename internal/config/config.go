package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// APIVersion and Kind identify a vnfguard configuration document.
const (
	APIVersion = "vnfguard.io/v1alpha1"
	Kind       = "Config"
)

// Mode says what a check does with a violation.
type Mode string

// The check modes.
const (
	// Enforce denies the request.
	Enforce Mode = "enforce"
	// Warn allows it and returns a warning to the client (kubectl prints it).
	Warn Mode = "warn"
	// Audit allows it silently and records a finding.
	Audit Mode = "audit"
)

// Config is the whole configuration.
type Config struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// ClusterName names this cluster in every finding, so that several clusters' vnfguards can share one store.
	ClusterName         string                 `yaml:"clusterName"`
	ProtectedNamespaces NamespaceSelector      `yaml:"protectedNamespaces"`
	InstanceLabel       string                 `yaml:"instanceLabel"`
	Identities          Identities             `yaml:"identities"`
	Registries          Registries             `yaml:"registries"`
	PodSecurity         PodSecurity            `yaml:"podSecurity"`
	Inventory           Inventory              `yaml:"inventory"`
	Profiles            []Profile              `yaml:"profiles"`
	Checks              map[string]CheckConfig `yaml:"checks"`
	Admission           Admission              `yaml:"admission"`
	FailurePolicy       FailurePolicy          `yaml:"failurePolicy"`
	Network             Network                `yaml:"network"`
	Reconcile           Reconcile              `yaml:"reconcile"`
	Images              Images                 `yaml:"images"`
	Self                Self                   `yaml:"self"`

	protectedSelector labels.Selector
	clusterNets       []*net.IPNet
}

// NamespaceSelector picks the protected namespaces: those named, and those whose labels match the selector.
type NamespaceSelector struct {
	Names    []string       `yaml:"names"`
	Selector *LabelSelector `yaml:"selector"`
}

// LabelSelector is metav1.LabelSelector with YAML field names.
type LabelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `yaml:"key"`
		Operator string   `yaml:"operator"`
		Values   []string `yaml:"values"`
	} `yaml:"matchExpressions"`
}

// Identities groups the identities the policy treats specially.
type Identities struct {
	// VNFM identities may instantiate, change and scale VNF workloads in protected namespaces.
	VNFM IdentitySet `yaml:"vnfm"`
	// BreakGlass identities may exec into running VNF pods in protected namespaces; every use is recorded.
	BreakGlass IdentitySet `yaml:"breakGlass"`
	// Controllers are Kubernetes' own controllers: the pods and jobs they create are judged through their owner.
	Controllers IdentitySet `yaml:"controllers"`
	// Administrators are vnfguard's own administrators: the only identities that may take a namespace out of
	// protection or change vnfguard's own objects (its registration, namespace, service account, RBAC, workload).
	// Even they leave a critical finding each time, as break-glass does. Empty: nobody may.
	Administrators IdentitySet `yaml:"administrators"`
}

// Self names vnfguard's own objects in the cluster. Detection reports any change to them by anyone but the
// administrators, and `serve` watches the webhook configurations against what `webhook-config` renders. The
// defaults are the names `webhook-config` and the shipped manifests use.
type Self struct {
	// Namespace is where vnfguard runs (default vnfguard).
	Namespace string `yaml:"namespace"`
	// ServiceAccount is its service account in Namespace (default vnfguard).
	ServiceAccount string `yaml:"serviceAccount"`
	// Workload is the name of its Deployment (or StatefulSet, DaemonSet) in Namespace (default vnfguard).
	Workload string `yaml:"workload"`
	// Image is vnfguard's own image: the node agent's DaemonSet must run it to be covered by its named exception
	// (policy.NodeAgentException). Empty: the exception covers nothing, and admission denies the agent.
	Image string `yaml:"image"`
	// WebhookConfigurations are its ValidatingWebhookConfigurations (default [vnfguard]); the first is the one
	// `webhook-config` renders unless --name says otherwise.
	WebhookConfigurations []string `yaml:"webhookConfigurations"`
	// RBAC names its Roles, ClusterRoles, RoleBindings and ClusterRoleBindings; a name ending in * is a prefix
	// (default [vnfguard*]).
	RBAC []string `yaml:"rbac"`
	// Registration tunes the watchdog of `serve` over the webhook configurations.
	Registration RegistrationWatch `yaml:"registration"`
}

// RegistrationWatch tunes how `serve` guards its own webhook registration.
type RegistrationWatch struct {
	// Reapply makes serve put the rendered registration back when it drifts or is deleted (default false: report
	// only). It needs create and update on validatingwebhookconfigurations, and it fights any other tool (Helm,
	// GitOps) that manages the registration, so it is a deliberate choice.
	Reapply bool `yaml:"reapply"`
	// GracePeriod is how long after start a registration that was never seen may be missing before it is
	// reported (default 60s): vnfguard usually starts before its registration is applied.
	GracePeriod string `yaml:"gracePeriod"`
}

// NodeAgent names vnfguard's node agent (`vnfguard node`): the DaemonSet and the ServiceAccount the Helm chart
// makes in Namespace, both Workload + "-node" and ServiceAccount + "-node" (vnfguard-node by default). Its host
// access (hostPID and the containerd socket) is vnfguard's one named exception: `vnfguard scan` reports it, at
// severity info, only for the DaemonSet of exactly these names in Namespace and of exactly that shape.
func (s Self) NodeAgent() (daemonSet, serviceAccount string) {
	workload, sa := s.Workload, s.ServiceAccount
	if workload == "" {
		workload = "vnfguard"
	}
	if sa == "" {
		sa = "vnfguard"
	}
	return workload + "-node", sa + "-node"
}

// IsRBACName reports whether an RBAC object's name is one of vnfguard's own.
func (s Self) IsRBACName(name string) bool {
	for _, n := range s.RBAC {
		if prefix, ok := strings.CutSuffix(n, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if n == name {
			return true
		}
	}
	return false
}

// IdentitySet matches a request's user by name, group or service account ("namespace:name", or "namespace:*").
type IdentitySet struct {
	Users           []string `yaml:"users"`
	Groups          []string `yaml:"groups"`
	ServiceAccounts []string `yaml:"serviceAccounts"`
}

// Registries is the image policy.
type Registries struct {
	// Allowed lists registry hosts or repository prefixes ("registry.example.com", "registry.example.com/5gc/").
	// Empty allows every registry.
	Allowed []string `yaml:"allowed"`
	// RequireDigest requires images in protected namespaces to be pinned by digest (default true).
	RequireDigest *bool `yaml:"requireDigest"`
	// RequireDeclared requires the digest of an image of a VNF instance to be one its package declared (default true).
	RequireDeclared *bool `yaml:"requireDeclared"`
}

// PodSecurity sets the Pod Security Standards levels.
type PodSecurity struct {
	// Everywhere is the level for namespaces that are not protected: privileged, baseline (default) or restricted.
	Everywhere string `yaml:"everywhere"`
	// Protected is the level in protected namespaces: restricted by default.
	Protected string `yaml:"protected"`
	// ExemptNamespaces are not checked against Everywhere (default kube-system).
	ExemptNamespaces []string `yaml:"exemptNamespaces"`
}

// Inventory names the inventory source: a file or a SOL003 VNFM, not both.
type Inventory struct {
	// File is a YAML or JSON file of VNF instances and packages, reloaded when it changes.
	File string `yaml:"file"`
	// SOL003 reads the instances from a VNFM's VNF LCM API and subscribes to its LCM notifications.
	SOL003 *SOL003 `yaml:"sol003"`
}

// SOL003 locates a VNFM's VNF lifecycle management interface (ETSI GS NFV-SOL 003) and says how to authenticate
// to it, and it to us. Relative file paths are relative to the configuration file.
type SOL003 struct {
	// APIRoot is the VNFM's {apiRoot}, e.g. https://tacker.example:9890; vnfguard adds /vnflcm/v2.
	APIRoot string `yaml:"apiRoot"`
	// TokenURL, ClientID and ClientSecretFile are the OAuth 2.0 client credentials (none: no authentication).
	TokenURL         string `yaml:"tokenURL"`
	ClientID         string `yaml:"clientID"`
	ClientSecretFile string `yaml:"clientSecretFile"`
	// CAFile verifies the VNFM's certificate; CertFile and KeyFile are vnfguard's client certificate (mutual TLS).
	CAFile   string `yaml:"caFile"`
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// Insecure allows plain http:// for apiRoot and tokenURL (a lab VNFM on loopback). Without it they must be
	// https: the inventory decides what admission lets in, and the token request carries the client secret.
	Insecure bool `yaml:"insecure"`
	// Timeout bounds each request (default 10s); ResyncInterval is the period of the full list that repairs missed
	// notifications (default 5m).
	Timeout        string `yaml:"timeout"`
	ResyncInterval string `yaml:"resyncInterval"`
	// CallbackURL is where the VNFM sends LCM notifications: vnfguard's own /sol003/notifications URL as the
	// VNFM reaches it. Empty: no subscription, the periodic list only.
	CallbackURL string `yaml:"callbackURL"`
	// NotificationUsername and NotificationPasswordFile are the HTTP Basic credentials vnfguard puts into the
	// subscription and requires on every notification.
	NotificationUsername     string `yaml:"notificationUsername"`
	NotificationPasswordFile string `yaml:"notificationPasswordFile"`
	// PackagesFile lists the onboarded VNF packages and the images each declares (the vnfPackages of an inventory
	// file), by vnfdId: a VNFM's VnfInstance does not carry them. Re-read when it changes.
	PackagesFile string `yaml:"packagesFile"`
}

// Images configures what admission verifies about an image beyond its reference (M1047): its signature by the
// VNF's provider and its known vulnerabilities. Both apply in protected namespaces, to workloads of VNF instances.
type Images struct {
	// Signatures, when it names providers, makes check image-signature require every image of an instance to carry
	// a cosign signature by one of the keys of the instance's vnfProvider.
	Signatures *Signatures `yaml:"signatures"`
	// Vulnerabilities, when set, makes check image-vulnerabilities deny images whose scan reports what the
	// operator will not run.
	Vulnerabilities *Vulnerabilities `yaml:"vulnerabilities"`
	// Registry says how images are resolved to digests and their signatures fetched.
	Registry ImageRegistry `yaml:"registry"`
}

// Signatures lists the signing keys of each VNF provider.
type Signatures struct {
	Providers []ProviderKeys `yaml:"providers"`
}

// ProviderKeys are the cosign public keys (PEM files) of one VNF provider, as the VNF instances name it (vnfProvider).
type ProviderKeys struct {
	Provider   string   `yaml:"provider"`
	PublicKeys []string `yaml:"publicKeys"`
}

// Vulnerabilities is the vulnerability gate.
type Vulnerabilities struct {
	// Reports are Trivy JSON reports (files or directories), re-read when they change.
	Reports []string `yaml:"reports"`
	// OperatorReports also reads trivy-operator's VulnerabilityReport objects (aquasecurity.github.io/v1alpha1)
	// from the cluster, listed again every 30 seconds.
	OperatorReports bool `yaml:"operatorReports"`
	// DenyAt denies an image with any vulnerability at or above this severity (default CRITICAL).
	DenyAt string `yaml:"denyAt"`
	// MaxCount denies an image with more vulnerabilities of a severity than allowed, e.g. {HIGH: 10}.
	MaxCount map[string]int `yaml:"maxCount"`
	// IgnoreUnfixed leaves out vulnerabilities without a fixed version.
	IgnoreUnfixed bool `yaml:"ignoreUnfixed"`
	// Allow lists vulnerability IDs the operator accepts.
	Allow []string `yaml:"allow"`
	// MissingReport is what an image without a report gets: deny (default) or allow.
	MissingReport string `yaml:"missingReport"`
}

// ImageRegistry tunes registry access for digests and signatures.
type ImageRegistry struct {
	// Timeout bounds each registry request (default 3s); admission waits at most this long per image.
	Timeout string `yaml:"timeout"`
	// Insecure lists registry hosts reached over plain HTTP (a registry on loopback in a lab).
	Insecure []string `yaml:"insecure"`
}

// Reconcile tunes the reconciliation of the inventory against the cluster.
type Reconcile struct {
	// For is how long a condition must hold before it is reported (default 30s), so that a pod still terminating
	// after a STOP is not a zombie for a moment. "0s" reports at once.
	For string `yaml:"for"`
	// LabelVolumes (default true) has reconciliation put the instance label on each PersistentVolume bound to a VNF
	// instance's claim that lacks it, so that a volume retained after its claim is gone (a VNFM deletes the claims
	// at TERMINATE, the volume's data stays) still belongs to the instance: admission refuses to re-bind it and
	// reconciliation reports it as residual data. It needs patch on persistentvolumes (in vnfguard's ClusterRole);
	// false: vnfguard writes nothing, and such a volume belongs to nobody once its claim is gone.
	LabelVolumes *bool `yaml:"labelVolumes"`
}

// LabelsVolumes reports whether reconciliation labels instances' volumes (reconcile.labelVolumes, default true).
func (r Reconcile) LabelsVolumes() bool { return r.LabelVolumes == nil || *r.LabelVolumes }

// Profile declares what a VNF product needs beyond the restricted Pod Security Standard. Every decision that an
// exception affects names the profile.
type Profile struct {
	Name string `yaml:"name"`
	// Products are the vnfProductName values the profile applies to.
	Products []string `yaml:"products"`
	// AllowCapabilities may be added by the product's containers (e.g. NET_ADMIN, IPC_LOCK, SYS_NICE).
	AllowCapabilities []string `yaml:"allowCapabilities"`
	// AllowHugepages permits hugepages-* resources.
	AllowHugepages bool `yaml:"allowHugepages"`
	// AllowNetworks are the Multus networks (k8s.v1.cni.cncf.io/networks) the product may attach.
	AllowNetworks []string `yaml:"allowNetworks"`
	// AllowHostNetwork permits hostNetwork (some UPFs with SR-IOV fall back to it).
	AllowHostNetwork bool `yaml:"allowHostNetwork"`
	// AllowRunAsRoot permits containers without runAsNonRoot.
	AllowRunAsRoot bool `yaml:"allowRunAsRoot"`
	// AllowSysctls lists the unsafe sysctls (e.g. net.ipv4.ip_forward) the product may set.
	AllowSysctls []string `yaml:"allowSysctls"`
	// AllowWritableRootFilesystem names the product's containers that may run without
	// securityContext.readOnlyRootFilesystem: true (check readonly-rootfs); "*" names every container. A list of
	// containers rather than a switch, so that a product's sidecars stay read-only when its main container cannot.
	AllowWritableRootFilesystem []string `yaml:"allowWritableRootFilesystem"`
}

// Network describes where the cluster's own traffic comes from, for detection: a service-account token used from
// anywhere else was taken out of its pod (Peirates steals tokens this way).
type Network struct {
	// PodCIDRs and NodeCIDRs are the cluster's pod and node address ranges. Loopback always counts as inside.
	PodCIDRs  []string `yaml:"podCIDRs"`
	NodeCIDRs []string `yaml:"nodeCIDRs"`
}

// InsideCluster reports whether an address is in the cluster's pod or node ranges (or loopback). known is false
// when no range is configured, or the address has a zone (as net.ParseIP, which refuses one): then nothing can be
// said. It takes a netip.Addr, which parses without allocating: detection asks for every source address of every
// request a service account sends.
func (c *Config) InsideCluster(addr netip.Addr) (inside, known bool) {
	if len(c.clusterNets) == 0 || addr.Zone() != "" {
		return false, false
	}
	a16 := addr.As16() // net.ParseIP's form of the address, IPv4 included
	ip := net.IP(a16[:])
	if ip.IsLoopback() {
		return true, true
	}
	for _, n := range c.clusterNets {
		if n.Contains(ip) {
			return true, true
		}
	}
	return false, true
}

// Admission chooses who enforces the checks.
type Admission struct {
	// Mode is webhook (the default: vnfguard's webhook judges every check), policies (the API server judges the
	// checks that have a CEL twin, as ValidatingAdmissionPolicies that vnfguard installs and keeps current, with the
	// VNF lifecycle projected into parameters; no webhook) or both (the policies first, the webhook for everything,
	// lookups included, as the second line).
	Mode string `yaml:"mode"`
	// PolicyMessages is how the API server's policies word a refusal of a pod or workload: static (the default: the
	// check, its technique and what it refuses, e.g. "[host-takeover FGT5013] a hostPath volume hands the node to
	// the pod") or detailed (also the container, path, claim or instance state, as the webhook words it). Detailed
	// costs the API server about a third more CPU per pod: it evaluates every message expression for every
	// request, refused or not, in a context of its own. The policies that judge exec, attach and the parameters
	// are always detailed (their objects are small).
	PolicyMessages string `yaml:"policyMessages"`
}

// How the API server's policies word their refusals of pods and workloads (Admission.PolicyMessages).
const (
	PolicyMessagesStatic   = "static"
	PolicyMessagesDetailed = "detailed"
)

// The admission modes.
const (
	AdmissionWebhook  = "webhook"
	AdmissionPolicies = "policies"
	AdmissionBoth     = "both"
)

// Webhook reports whether the mode registers vnfguard's webhook.
func (a Admission) Webhook() bool { return a.Mode != AdmissionPolicies }

// Policies reports whether the mode installs the API server's policies.
func (a Admission) Policies() bool { return a.Mode == AdmissionPolicies || a.Mode == AdmissionBoth }

// CheckConfig configures one check.
type CheckConfig struct {
	Mode Mode `yaml:"mode"`
}

// FailurePolicy says what happens when a check fails internally (a lookup error, a bug): "closed" denies,
// "open" allows. Both cases always log and record a finding.
type FailurePolicy struct {
	Protected string `yaml:"protected"` // default closed
	Other     string `yaml:"other"`     // default open
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	// An empty file (or one of comments only) is a configuration that went missing on the way (a ConfigMap key
	// misnamed, a template that rendered nothing), not a request for the defaults: those come without --config.
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil && (len(root.Content) == 0 || root.Content[0].Tag == "!!null") {
		return nil, fmt.Errorf("config %s: the file is empty (no YAML document); give a configuration (see examples/config.yaml) or leave out --config for the defaults", path)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	// A relative inventory path is relative to the configuration file, not to wherever vnfguard was started.
	relative := func(f *string) {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(filepath.Dir(path), *f)
		}
	}
	relative(&cfg.Inventory.File)
	if sig := cfg.Images.Signatures; sig != nil {
		for i := range sig.Providers {
			for j := range sig.Providers[i].PublicKeys {
				relative(&sig.Providers[i].PublicKeys[j])
			}
		}
	}
	if v := cfg.Images.Vulnerabilities; v != nil {
		for i := range v.Reports {
			relative(&v.Reports[i])
		}
	}
	if s := cfg.Inventory.SOL003; s != nil {
		for _, f := range []*string{&s.ClientSecretFile, &s.CAFile, &s.CertFile, &s.KeyFile, &s.NotificationPasswordFile, &s.PackagesFile} {
			relative(f)
		}
	}
	return cfg, nil
}

// Parse decodes and validates a configuration document (YAML or JSON). Unknown fields are errors.
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg.applyDefaults()
	if err := cfg.validate(&root); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Default returns the configuration used when none is given: the defaults of every field.
func Default() *Config {
	cfg := &Config{APIVersion: APIVersion, Kind: Kind}
	cfg.applyDefaults()
	_ = cfg.validate(nil)
	return cfg
}

// DefaultControllers are the identities of Kubernetes' own workload controllers: the kube-controller-manager user
// (without --use-service-account-credentials) and its per-controller service accounts.
var DefaultControllers = IdentitySet{
	Users: []string{"system:kube-controller-manager"},
	ServiceAccounts: []string{
		"kube-system:replicaset-controller", "kube-system:deployment-controller",
		"kube-system:statefulset-controller", "kube-system:daemon-set-controller",
		"kube-system:job-controller", "kube-system:cronjob-controller",
		"kube-system:replication-controller", "kube-system:horizontal-pod-autoscaler",
	},
}

func (c *Config) applyDefaults() {
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	if c.InstanceLabel == "" {
		c.InstanceLabel = "tacker_vnf_instance_id"
	}
	if c.Identities.Controllers.empty() {
		c.Identities.Controllers = DefaultControllers
	}
	if c.Admission.Mode == "" {
		c.Admission.Mode = AdmissionWebhook
	}
	if c.Admission.PolicyMessages == "" {
		c.Admission.PolicyMessages = PolicyMessagesStatic
	}
	if c.PodSecurity.Everywhere == "" {
		c.PodSecurity.Everywhere = "baseline"
	}
	if c.PodSecurity.Protected == "" {
		c.PodSecurity.Protected = "restricted"
	}
	if c.PodSecurity.ExemptNamespaces == nil {
		c.PodSecurity.ExemptNamespaces = []string{"kube-system"}
	}
	if c.FailurePolicy.Protected == "" {
		c.FailurePolicy.Protected = "closed"
	}
	if c.FailurePolicy.Other == "" {
		c.FailurePolicy.Other = "open"
	}
	if c.Self.Namespace == "" {
		c.Self.Namespace = "vnfguard"
	}
	if c.Self.ServiceAccount == "" {
		c.Self.ServiceAccount = "vnfguard"
	}
	if c.Self.Workload == "" {
		c.Self.Workload = "vnfguard"
	}
	if len(c.Self.WebhookConfigurations) == 0 {
		c.Self.WebhookConfigurations = []string{"vnfguard"}
	}
	if len(c.Self.RBAC) == 0 {
		c.Self.RBAC = []string{"vnfguard*"}
	}
	if c.Self.Registration.GracePeriod == "" {
		c.Self.Registration.GracePeriod = "60s"
	}
	if c.ProtectedNamespaces.Selector == nil && c.ProtectedNamespaces.Names == nil {
		c.ProtectedNamespaces.Selector = &LabelSelector{MatchLabels: map[string]string{"vnfguard.io/protected": "true"}}
	}
}

func (s IdentitySet) empty() bool {
	return len(s.Users) == 0 && len(s.Groups) == 0 && len(s.ServiceAccounts) == 0
}

// ModeOf returns the mode of a check: its configured mode, or enforce.
func (c *Config) ModeOf(check string) Mode {
	if cc, ok := c.Checks[check]; ok && cc.Mode != "" {
		return cc.Mode
	}
	return Enforce
}

// FailClosed reports whether an internal error denies the request in a namespace of this class.
func (c *Config) FailClosed(protected bool) bool {
	if protected {
		return c.FailurePolicy.Protected == "closed"
	}
	return c.FailurePolicy.Other == "closed"
}

// RequireDigest reports whether images in protected namespaces must be pinned by digest.
func (r Registries) DigestRequired() bool { return r.RequireDigest == nil || *r.RequireDigest }

// DeclaredRequired reports whether an instance's image digests must be the ones its package declared.
func (r Registries) DeclaredRequired() bool { return r.RequireDeclared == nil || *r.RequireDeclared }

// IsProtected reports whether a namespace with the given name and labels is protected.
func (c *Config) IsProtected(name string, nsLabels map[string]string) bool {
	for _, n := range c.ProtectedNamespaces.Names {
		if n == name {
			return true
		}
	}
	return c.protectedSelector != nil && !c.protectedSelector.Empty() && c.protectedSelector.Matches(labels.Set(nsLabels))
}

// ProtectionDependsOnLabels reports whether a namespace's labels can change what IsProtected says of it: false when
// the namespace is protected by name or no selector is configured, so that nobody needs to look its labels up.
func (c *Config) ProtectionDependsOnLabels(name string) bool {
	if c.protectedSelector == nil || c.protectedSelector.Empty() {
		return false
	}
	for _, n := range c.ProtectedNamespaces.Names {
		if n == name {
			return false
		}
	}
	return true
}

// ProfileFor returns the profile that applies to a VNF product, or nil.
func (c *Config) ProfileFor(product string) *Profile {
	if product == "" {
		return nil
	}
	for i := range c.Profiles {
		for _, p := range c.Profiles[i].Products {
			if p == product {
				return &c.Profiles[i]
			}
		}
	}
	return nil
}

// Matches reports whether the user is in the set.
func (s *IdentitySet) Matches(user *authnv1.UserInfo) bool {
	for _, u := range s.Users {
		if u == user.Username {
			return true
		}
	}
	for _, g := range s.Groups {
		for _, ug := range user.Groups {
			if g == ug {
				return true
			}
		}
	}
	if len(s.ServiceAccounts) > 0 {
		if ns, name, ok := serviceAccountOf(user.Username); ok {
			for _, sa := range s.ServiceAccounts {
				saNS, saName, _ := strings.Cut(sa, ":")
				if saNS == ns && (saName == name || saName == "*") {
					return true
				}
			}
		}
	}
	return false
}

// serviceAccountOf splits "system:serviceaccount:NS:NAME".
func serviceAccountOf(username string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(username, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}
