package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	psaapi "k8s.io/pod-security-admission/api"
)

// fieldError is one validation error at a field path, with the line where the field stands when known.
type fieldError struct {
	path, msg string
	line      int
}

func (e fieldError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.line, e.path, e.msg)
	}
	return e.path + ": " + e.msg
}

type validator struct {
	root *yaml.Node
	errs []error
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, fieldError{path: path, msg: fmt.Sprintf(format, args...), line: lineOf(v.root, path)})
}

func (c *Config) validate(root *yaml.Node) error {
	v := &validator{root: root}
	if c.APIVersion != APIVersion {
		v.add("apiVersion", "is %q, want %q", c.APIVersion, APIVersion)
	}
	if c.Kind != Kind {
		v.add("kind", "is %q, want %q", c.Kind, Kind)
	}
	if c.ClusterName != "" {
		// A DNS-1123 label (the shape of a kubeconfig cluster or a Cluster API name): it goes into finding IDs,
		// store rows and syslog structured data, where spaces and control characters would be trouble.
		if errs := validation.IsDNS1123Label(c.ClusterName); len(errs) > 0 {
			v.add("clusterName", "%q is not a DNS-1123 label: %s", c.ClusterName, strings.Join(errs, "; "))
		}
	}
	if sel := c.ProtectedNamespaces.Selector; sel != nil {
		ls := &metav1.LabelSelector{MatchLabels: sel.MatchLabels}
		for _, e := range sel.MatchExpressions {
			ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values})
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			v.add("protectedNamespaces.selector", "invalid label selector: %v", err)
		}
		c.protectedSelector = s
	}
	for _, set := range []struct {
		path string
		ids  IdentitySet
	}{{"identities.vnfm", c.Identities.VNFM}, {"identities.breakGlass", c.Identities.BreakGlass}, {"identities.controllers", c.Identities.Controllers},
		{"identities.administrators", c.Identities.Administrators}} {
		for i, sa := range set.ids.ServiceAccounts {
			ns, n, ok := strings.Cut(sa, ":")
			if !ok || ns == "" || n == "" {
				v.add(fmt.Sprintf("%s.serviceAccounts[%d]", set.path, i), "%q is not NAMESPACE:NAME (or NAMESPACE:*)", sa)
			}
		}
	}
	for i, reg := range c.Registries.Allowed {
		host, _, _ := strings.Cut(strings.TrimSuffix(reg, "/"), "/")
		if _, err := name.NewRegistry(host, name.StrictValidation); err != nil || reg == "" || strings.Contains(reg, "://") || strings.HasSuffix(host, ":") {
			v.add(fmt.Sprintf("registries.allowed[%d]", i), "%q is not a registry host or repository prefix (e.g. registry.example.com/5gc/)", reg)
		}
	}
	for _, lvl := range []struct{ path, value string }{{"podSecurity.everywhere", c.PodSecurity.Everywhere}, {"podSecurity.protected", c.PodSecurity.Protected}} {
		if _, err := psaapi.ParseLevel(lvl.value); err != nil {
			v.add(lvl.path, "%q is not a Pod Security Standards level: want privileged, baseline or restricted", lvl.value)
		}
	}
	products := map[string]string{}
	for i, p := range c.Profiles {
		path := fmt.Sprintf("profiles[%d]", i)
		if p.Name == "" {
			v.add(path+".name", "is empty: every profile needs a name, decisions cite it")
		}
		if len(p.Products) == 0 {
			v.add(path+".products", "is empty: name the vnfProductName values the profile applies to")
		}
		for j, prod := range p.Products {
			if other, dup := products[prod]; dup {
				v.add(fmt.Sprintf("%s.products[%d]", path, j), "product %q is already in profile %q", prod, other)
			}
			products[prod] = p.Name
		}
		for j, name := range p.AllowWritableRootFilesystem {
			if name == "" {
				v.add(fmt.Sprintf("%s.allowWritableRootFilesystem[%d]", path, j), "is empty: name a container, or \"*\" for every container of the product")
			}
		}
		for j, capName := range p.AllowCapabilities {
			if !validCapability(capName) {
				v.add(fmt.Sprintf("%s.allowCapabilities[%d]", path, j), "%q is not a Linux capability name (e.g. NET_ADMIN, without CAP_)", capName)
			}
		}
	}
	c.clusterNets = nil
	for _, list := range []struct {
		path  string
		cidrs []string
	}{{"network.podCIDRs", c.Network.PodCIDRs}, {"network.nodeCIDRs", c.Network.NodeCIDRs}} {
		for i, cidr := range list.cidrs {
			_, n, err := net.ParseCIDR(cidr)
			if err != nil {
				v.add(fmt.Sprintf("%s[%d]", list.path, i), "%q is not a CIDR (e.g. 10.244.0.0/16)", cidr)
				continue
			}
			c.clusterNets = append(c.clusterNets, n)
		}
	}
	switch c.Admission.Mode {
	case AdmissionWebhook, AdmissionPolicies, AdmissionBoth:
	default:
		v.add("admission.mode", "is %q: want webhook, policies or both", c.Admission.Mode)
	}
	switch c.Admission.PolicyMessages {
	case PolicyMessagesStatic, PolicyMessagesDetailed:
	default:
		v.add("admission.policyMessages", "is %q: want static or detailed", c.Admission.PolicyMessages)
	}
	for id, cc := range c.Checks {
		switch cc.Mode {
		case Enforce, Warn, Audit, "":
		default:
			v.add("checks."+id+".mode", "is %q: want enforce, warn or audit", cc.Mode)
		}
	}
	for _, fp := range []struct{ path, value string }{{"failurePolicy.protected", c.FailurePolicy.Protected}, {"failurePolicy.other", c.FailurePolicy.Other}} {
		if fp.value != "closed" && fp.value != "open" {
			v.add(fp.path, "is %q: want closed or open", fp.value)
		}
	}
	v.inventory(c.Inventory)
	v.images(c.Images)
	if c.Reconcile.For != "" {
		if d, err := time.ParseDuration(c.Reconcile.For); err != nil || d < 0 {
			v.add("reconcile.for", "%q is not a duration of zero or more (e.g. 30s, 2m)", c.Reconcile.For)
		}
	}
	if d, err := time.ParseDuration(c.Self.Registration.GracePeriod); err != nil || d < 0 {
		v.add("self.registration.gracePeriod", "%q is not a duration of zero or more (e.g. 60s)", c.Self.Registration.GracePeriod)
	}
	for i, n := range c.Self.WebhookConfigurations {
		if n == "" {
			v.add(fmt.Sprintf("self.webhookConfigurations[%d]", i), "is empty: name the ValidatingWebhookConfiguration")
		}
	}
	return errors.Join(v.errs...)
}

// vulnSeverities are Trivy's severity names, least to most severe.
var vulnSeverities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// images checks the image-integrity settings.
func (v *validator) images(im Images) {
	if s := im.Signatures; s != nil {
		seen := map[string]bool{}
		for i, p := range s.Providers {
			path := fmt.Sprintf("images.signatures.providers[%d]", i)
			if p.Provider == "" {
				v.add(path+".provider", "is empty: name the vnfProvider whose images the keys sign")
			} else if seen[p.Provider] {
				v.add(path+".provider", "%q is listed twice", p.Provider)
			}
			seen[p.Provider] = true
			if len(p.PublicKeys) == 0 {
				v.add(path+".publicKeys", "is empty: give the provider's cosign public keys (PEM files)")
			}
		}
	}
	if g := im.Vulnerabilities; g != nil {
		if len(g.Reports) == 0 && !g.OperatorReports {
			v.add("images.vulnerabilities.reports", "is empty: give Trivy JSON report files or directories, or set operatorReports")
		}
		if g.DenyAt != "" && !slices.Contains(vulnSeverities, strings.ToUpper(g.DenyAt)) {
			v.add("images.vulnerabilities.denyAt", "%q is not a severity: want one of %s", g.DenyAt, strings.Join(vulnSeverities, ", "))
		}
		for sev, n := range g.MaxCount {
			if !slices.Contains(vulnSeverities, strings.ToUpper(sev)) || n < 0 {
				v.add("images.vulnerabilities.maxCount."+sev, "want a severity (%s) and a count of zero or more", strings.Join(vulnSeverities, ", "))
			}
		}
		if g.MissingReport != "" && g.MissingReport != "deny" && g.MissingReport != "allow" {
			v.add("images.vulnerabilities.missingReport", "is %q: want deny or allow", g.MissingReport)
		}
	}
	if t := im.Registry.Timeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 {
			v.add("images.registry.timeout", "%q is not a positive duration (e.g. 3s)", t)
		}
	}
}

// inventory checks that one source is named, and that a SOL003 source is complete enough to connect.
func (v *validator) inventory(inv Inventory) {
	s := inv.SOL003
	if s == nil {
		return
	}
	if inv.File != "" {
		v.add("inventory", "names both a file and sol003: choose one source")
	}
	if u, err := url.Parse(s.APIRoot); s.APIRoot == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add("inventory.sol003.apiRoot", "%q is not an http(s) URL (e.g. https://tacker.example:9890)", s.APIRoot)
	}
	for _, f := range []struct{ path, value string }{{"tokenURL", s.TokenURL}, {"callbackURL", s.CallbackURL}} {
		if f.value == "" {
			continue
		}
		if u, err := url.Parse(f.value); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add("inventory.sol003."+f.path, "%q is not an http(s) URL", f.value)
		}
	}
	if !s.Insecure {
		for _, f := range []struct{ path, value string }{{"apiRoot", s.APIRoot}, {"tokenURL", s.TokenURL}} {
			if u, err := url.Parse(f.value); err == nil && u.Scheme == "http" {
				v.add("inventory.sol003."+f.path, "%q is plain HTTP: the VNFM's answers decide what admission allows and the token request carries the client secret, so use https (with caFile), or set inventory.sol003.insecure: true for a lab VNFM", f.value)
			}
		}
	}
	if (s.TokenURL != "") != (s.ClientID != "") || (s.TokenURL != "") != (s.ClientSecretFile != "") {
		v.add("inventory.sol003", "OAuth 2.0 needs tokenURL, clientID and clientSecretFile together")
	}
	if (s.CertFile != "") != (s.KeyFile != "") {
		v.add("inventory.sol003", "mutual TLS needs certFile and keyFile together")
	}
	if s.CallbackURL != "" && (s.NotificationUsername == "" || s.NotificationPasswordFile == "") {
		v.add("inventory.sol003.callbackURL", "needs notificationUsername and notificationPasswordFile: notifications change what admission allows, so they must be authenticated")
	}
	for _, d := range []struct{ path, value string }{{"timeout", s.Timeout}, {"resyncInterval", s.ResyncInterval}} {
		if d.value == "" {
			continue
		}
		if dur, err := time.ParseDuration(d.value); err != nil || dur <= 0 {
			v.add("inventory.sol003."+d.path, "%q is not a positive duration (e.g. 10s, 5m)", d.value)
		}
	}
}

func validCapability(s string) bool {
	if s == "" || strings.HasPrefix(s, "CAP_") {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' {
			return false
		}
	}
	return knownCapabilities[s]
}

var knownCapabilities = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
		LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
		SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
		AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON
		BPF CHECKPOINT_RESTORE ALL`) {
		m[c] = true
	}
	return m
}()

// lineOf finds the line of a field path like "profiles[1].allowCapabilities[0]" in the parsed document; 0 when
// the path is not there (a default, or no document).
func lineOf(root *yaml.Node, path string) int {
	if root == nil {
		return 0
	}
	node := root
	if node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		node, line = child(node, key, line)
		for rest != "" && node != nil {
			idxText, after, _ := strings.Cut(rest, "]")
			rest = strings.TrimPrefix(after, "[")
			idx, err := strconv.Atoi(idxText)
			if err != nil || node.Kind != yaml.SequenceNode || idx >= len(node.Content) {
				return line
			}
			node = node.Content[idx]
			line = node.Line
		}
		if node == nil {
			return line
		}
	}
	return line
}

func child(node *yaml.Node, key string, line int) (*yaml.Node, int) {
	if node == nil || node.Kind != yaml.MappingNode {
		return nil, line
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1], node.Content[i].Line
		}
	}
	return nil, line
}
