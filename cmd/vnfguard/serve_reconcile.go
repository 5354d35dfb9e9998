package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/reconcile"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// startReconciler runs the continuous reconciliation of the inventory against the cluster. What each pass opens
// and resolves is written to out as finding lines and published to the sinks and the store. With a store, the
// reconciliation findings still open there are taken up again, so that a condition that cleared while vnfguard
// was down is resolved.
func startReconciler(ctx context.Context, restCfg *rest.Config, cfg *config.Config, inv vnf.Inventory, out io.Writer,
	pub *publisher, reg prometheus.Registerer, logger *slog.Logger) (*reconcile.Reconciler, error) {
	opts := reconcile.DefaultOptions()
	opts.InstanceLabel = cfg.InstanceLabel
	if cfg.Reconcile.For != "" {
		opts.For, _ = time.ParseDuration(cfg.Reconcile.For) // validated with the configuration
	}
	var open []finding.Finding
	if pub.store != nil {
		var err error
		open, err = pub.store.List(ctx, store.Filter{Source: reconcile.Source, Status: store.StatusOpen})
		if err != nil {
			return nil, err
		}
	}
	report := func(opened, resolved []finding.Finding) {
		all := append(append([]finding.Finding(nil), opened...), resolved...)
		for i := range all {
			line, err := all[i].JSONLine()
			if err == nil {
				_, err = out.Write(line)
			}
			if err != nil {
				logger.Error("write reconciliation finding", "error", err, "rule", all[i].Rule)
			}
		}
		pub.publish(ctx, all)
	}
	r, err := reconcile.NewReconciler(restCfg, cfg, inv, opts, open, report, logger)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_reconcile_open_findings", Help: "Reconciliation findings open now (rogue, zombie, residual, drift)."},
			func() float64 { return float64(len(r.Open())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_reconcile_last_pass_timestamp_seconds", Help: "When the last reconciliation pass ran (0 before the first)."},
			func() float64 {
				if t := r.LastPass(); !t.IsZero() {
					return float64(t.UnixNano()) / 1e9
				}
				return 0
			}),
	)
	go func() {
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("reconciliation stopped", "error", err)
		}
	}()
	logger.Info("reconciliation running", "for", opts.For.String(), "reopened", len(open))
	return r, nil
}
