package posture

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
	"github.com/vnfguard/vnfguard/internal/posture/exposure"
	"github.com/vnfguard/vnfguard/internal/posture/rbac"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Options say what a scan judges against.
type Options struct {
	// Config names the protected namespaces, the instance label, the identities and the profiles (defaults when nil).
	Config *config.Config
	// Inventory binds objects to VNF instances; nil: findings name no instance.
	Inventory *vnf.Snapshot
	// Components are the control-plane and node configuration files read (exposure.Load); nil: none. On a live
	// cluster, the static pods of kube-apiserver and etcd are read too.
	Components *exposure.Config
	// Probe are the HOST:PORT targets to try without credentials (opt-in; only what the user names).
	Probe        []string
	ProbeTimeout time.Duration
	// AuditPolicy is the cluster's kube-apiserver audit policy (auditpolicy.Parse), judged against what the
	// detection rules need of it; nil: not judged.
	AuditPolicy *auditpolicy.Policy
	// Rules are the detection rules the audit policy must feed; nil: the built-in pack.
	Rules []*detect.Rule
	// Now is the findings' time (time.Now when zero).
	Now    time.Time
	Logger *slog.Logger
}

// Scan runs every check over the inputs and returns the findings, most severe first.
func Scan(ctx context.Context, in *Inputs, opts Options) ([]finding.Finding, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := newScope(in, opts.Config, opts.Inventory, opts.Now, opts.Logger)
	out, err := s.checkWorkloads(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, s.checkExposedServices()...)
	out = append(out, s.checkDefaultDeny()...)
	out = append(out, s.checkHostNetwork()...)
	out = append(out, s.checkRBAC()...)
	out = append(out, s.checkComponents(opts.Components)...)
	if opts.AuditPolicy != nil {
		rules := opts.Rules
		if rules == nil {
			var err error
			if rules, err = detect.Builtin(); err != nil {
				return nil, err
			}
		}
		out = append(out, auditpolicy.Judge(opts.AuditPolicy, auditpolicy.RulesOf(rules), opts.Now)...)
	}
	if len(opts.Probe) > 0 {
		found, _, err := exposure.Probe(ctx, opts.Probe, exposure.ProbeOptions{Timeout: opts.ProbeTimeout, Logger: opts.Logger, Now: func() time.Time { return opts.Now }})
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	Sort(out)
	return out, nil
}

// RBAC builds the RBAC analysis of the inputs, for questions such as who-can.
func RBAC(in *Inputs, cfg *config.Config) *rbac.Analysis {
	s := newScope(in, cfg, nil, time.Now(), slog.New(slog.DiscardHandler))
	return s.rbacAnalysis()
}

// Sort orders findings most severe first, then by technique, rule, object and ID, so that reports are stable.
func Sort(fs []finding.Finding) {
	slices.SortStableFunc(fs, func(a, b finding.Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Technique, b.Technique),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.Name, b.Object.Name),
			cmp.Compare(a.ID, b.ID),
		)
	})
}
