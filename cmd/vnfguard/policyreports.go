package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/policyreport"
)

// policyReporter publishes one source's results as PolicyReports (package policyreport). A cluster without the
// report CRDs is said once, at Info: Policy Reporter is optional.
type policyReporter struct {
	client dynamic.Interface
	source string
	logger *slog.Logger
	noCRD  atomic.Bool
}

func newPolicyReporter(restCfg *rest.Config, source string, logger *slog.Logger) (*policyReporter, error) {
	client, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	return &policyReporter{client: client, source: source, logger: logger}, nil
}

// follow publishes open() every interval until ctx ends (the first time after one interval: the first
// reconciliation pass has run by then).
func (p *policyReporter) follow(ctx context.Context, open func() []finding.Finding, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.publish(ctx, open()); err != nil && ctx.Err() == nil {
				p.logger.Warn("PolicyReports not published; trying again at the next interval", "source", p.source, "error", err)
			}
		}
	}
}

// publish makes the source's reports hold exactly fs (resolved findings left out).
func (p *policyReporter) publish(ctx context.Context, fs []finding.Finding) error {
	desired, err := policyreport.Build(p.source, fs)
	if err != nil {
		return err
	}
	st, err := policyreport.Sync(ctx, p.client, p.source, desired)
	switch {
	case errors.Is(err, policyreport.ErrNoCRD):
		if !p.noCRD.Swap(true) {
			p.logger.Info("PolicyReports not published: the cluster has no wgpolicyk8s.io/v1alpha2 CRDs (Policy Reporter or Kyverno installs them); trying again at each pass", "source", p.source)
		}
		return nil
	case err != nil:
		return err
	}
	p.noCRD.Store(false)
	if st.Applied+st.Deleted > 0 {
		p.logger.Info("PolicyReports published", "source", p.source, "applied", st.Applied, "unchanged", st.Unchanged, "deleted", st.Deleted)
	}
	return nil
}
