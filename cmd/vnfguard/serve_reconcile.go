package main

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/manager"
	"github.com/vnfguard/vnfguard/internal/reconcile"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// reconcilerTask is the continuous reconciliation of the inventory against the cluster, a singleton, over the
// informers shared (the cluster view's; nil: its own) and its own for the kinds they lack: what each
// pass opens and resolves is written to out as finding lines and published to the sinks and the store. Each term
// of leadership builds a new reconciler that first takes up the reconciliation findings still open in the store,
// whoever opened them (an earlier leader, or this replica before a restart): a condition already reported is not
// reported again, and one that cleared meanwhile is resolved.
func reconcilerTask(restCfg *rest.Config, cfg *config.Config, inv vnf.Inventory, shared *cluster.Informers, out io.Writer,
	pub *publisher, reports *policyReporter, reportEvery time.Duration, reg prometheus.Registerer, logger *slog.Logger) manager.Task {
	opts := reconcile.DefaultOptions()
	opts.InstanceLabel, opts.Cluster = cfg.InstanceLabel, cfg.ClusterName
	if cfg.Reconcile.For != "" {
		opts.For, _ = time.ParseDuration(cfg.Reconcile.For) // validated with the configuration
	}
	// The metrics outlive the terms: they read the current term's reconciler (none on a follower).
	var current atomic.Pointer[reconcile.Reconciler]
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_reconcile_open_findings", Help: "Reconciliation findings open now (rogue, zombie, residual, drift); 0 on a replica that does not lead."},
			func() float64 {
				if r := current.Load(); r != nil {
					return float64(len(r.Open()))
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_reconcile_last_pass_timestamp_seconds", Help: "When this replica's last reconciliation pass ran (0 before the first, and on a replica that never led)."},
			func() float64 {
				if r := current.Load(); r != nil && !r.LastPass().IsZero() {
					return float64(r.LastPass().UnixNano()) / 1e9
				}
				return 0
			}),
	)
	run := func(ctx context.Context) error {
		var open []finding.Finding
		if pub.store != nil {
			var err error
			if open, err = pub.store.List(ctx, store.Filter{Source: reconcile.Source, Status: store.StatusOpen, Cluster: cfg.ClusterName}); err != nil {
				return err
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
			return err
		}
		r.Shared = shared
		r.LabelVolumes = cfg.Reconcile.LabelsVolumes()
		r.LifecycleParams = cfg.Admission.Policies()
		current.Store(r)
		if reports != nil {
			// The reports follow this term's open findings; they stop with the term (a follower writes none).
			go reports.follow(ctx, r.Open, reportEvery)
		}
		logger.Info("reconciliation running", "for", opts.For.String(), "reopened", len(open))
		return r.Run(ctx)
	}
	return manager.Task{Name: "reconciliation", Run: run}
}
