package posture

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Options say what a scan judges against.
type Options struct {
	// Config names the protected namespaces, the instance label, the identities and the profiles (defaults when nil).
	Config *config.Config
	// Inventory binds objects to VNF instances; nil: findings name no instance.
	Inventory *vnf.Snapshot
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
	Sort(out)
	return out, nil
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
