package policy

import (
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Decision is the policy's answer to one request.
type Decision struct {
	Request   *Request
	Allowed   bool
	Protected bool
	Binding   vnf.Binding
	// Profile is the name of the VNF product profile applied, if any.
	Profile string
	// Denials come from checks in enforce mode; Warnings and Audits from checks in warn and audit mode.
	Denials, Warnings, Audits []Violation
	// Exceptions name every profile exception that let something through.
	Exceptions []string
	// BreakGlass is set when the request was allowed only because the requester is a break-glass identity.
	BreakGlass string
	// Overrides are violations allowed only because of the requester's identity (a vnfguard administrator); each
	// is still a finding, with action allowed and the check's severity.
	Overrides []Violation
	// Errors are internal failures; with fail-closed they deny the request.
	Errors []error
}

// Quiet reports whether the decision has nothing to report: allowed, with no violation in any mode, no override,
// no break-glass use and no internal error. A decision that is not quiet has findings.
func (d *Decision) Quiet() bool {
	return d.Allowed && len(d.Denials)+len(d.Warnings)+len(d.Audits)+len(d.Errors)+len(d.Overrides) == 0 && d.BreakGlass == ""
}

// Message is the denial message returned to the client: every denial with its check, technique, field path and
// VNF instance. It is empty for allowed requests.
func (d *Decision) Message() string {
	if d.Allowed {
		return ""
	}
	var b strings.Builder
	b.WriteString("vnfguard denied ")
	b.WriteString(d.object().String())
	for i, v := range d.Denials {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" [")
		b.WriteString(v.Check)
		b.WriteString(" ")
		b.WriteString(v.Technique)
		b.WriteString("] ")
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Message)
	}
	if len(d.Denials) == 0 && len(d.Errors) > 0 {
		b.WriteString(" [internal-error] vnfguard could not decide and fails closed in this namespace: ")
		b.WriteString(d.Errors[0].Error())
	} else if len(d.Errors) > 0 {
		// The denials above stand on their own; the client learns too what vnfguard could not judge.
		b.WriteString("; [internal-error] besides, vnfguard could not judge everything: ")
		b.WriteString(d.Errors[0].Error())
	}
	b.WriteString(" (")
	b.WriteString(d.Binding.String())
	if d.Profile != "" {
		b.WriteString("; profile ")
		b.WriteString(d.Profile)
	}
	b.WriteString(")")
	return b.String()
}

// WarningTexts are the warnings returned to the client (kubectl prints them), one per violation in warn mode.
func (d *Decision) WarningTexts() []string {
	out := make([]string, 0, len(d.Warnings)+len(d.Exceptions))
	for _, v := range d.Warnings {
		out = append(out, "vnfguard ["+v.Check+" "+v.Technique+"] "+v.Field+": "+v.Message)
	}
	for _, e := range d.Exceptions {
		out = append(out, "vnfguard: "+e)
	}
	return out
}

func (d *Decision) object() finding.ObjectRef {
	r := d.Request
	return finding.ObjectRef{APIVersion: r.Kind.GroupVersion().String(), Kind: r.Kind.Kind, Namespace: r.Namespace, Name: r.Name, Subresource: r.SubResource}
}

// Findings turns what the decision saw into findings: one per denial, warning, audit and override, one for a break-glass
// use, and one for an internal error.
func (d *Decision) Findings(now time.Time) []finding.Finding {
	var out []finding.Finding
	add := func(v Violation, action string, sev finding.Severity) {
		out = append(out, d.newFinding(now, v.Check, v.Technique, v.Mitigations, action, sev, v.Field+": "+v.Message))
	}
	for _, v := range d.Denials {
		add(v, "denied", severityOf(v))
	}
	for _, v := range d.Warnings {
		add(v, "warned", severityOf(v))
	}
	for _, v := range d.Audits {
		add(v, "audited", severityOf(v))
	}
	for _, v := range d.Overrides {
		add(v, "allowed", severityOf(v))
	}
	if d.BreakGlass != "" {
		out = append(out, d.newFinding(now, "break-glass", finding.AccessingTerminatedVNF, []string{finding.MitigationUserAccounts},
			"allowed", finding.High, d.BreakGlass))
	}
	for _, err := range d.Errors {
		action := "allowed"
		if !d.Allowed {
			action = "denied"
		}
		out = append(out, d.newFinding(now, "internal-error", "", nil, action, finding.High, err.Error()))
	}
	return out
}

func (d *Decision) newFinding(now time.Time, rule, technique string, mitigations []string, action string, sev finding.Severity, msg string) finding.Finding {
	obj := d.object()
	f := finding.Finding{
		Time: now, Source: "admission", Rule: rule, Technique: technique, Mitigations: mitigations,
		Severity: sev, Action: action, Message: msg, VNFInstance: d.Binding.InstanceID,
		Identity: d.Request.User.Username, Object: obj,
		Evidence: map[string]string{"admissionUID": d.Request.UID, "operation": d.Request.Operation},
	}
	if d.Binding.Instance != nil {
		f.VNFProduct = d.Binding.Instance.VnfProductName
		f.Evidence["vnfState"] = d.Binding.Instance.State()
	}
	if d.Profile != "" {
		f.Evidence["profile"] = d.Profile
	}
	f.ID = finding.Key(rule, obj, f.VNFInstance)
	return f
}

// severityOf rates a violation: reaching a dormant VNF's data and host takeover are critical, the rest high.
func severityOf(v Violation) finding.Severity {
	switch v.Check {
	case "host-takeover", "reverse-shell", "lifecycle-access", "lifecycle-data", "namespace-protection", "kubelet-session":
		return finding.Critical
	case "pod-security", "image-registry", "readonly-rootfs", "root-user":
		return finding.Medium
	}
	return finding.High
}
