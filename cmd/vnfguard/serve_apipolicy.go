package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/manager"
)

// apiPolicyTask is the singleton that keeps the API server's own policies applied (admission.mode policies or
// both); a policy someone deletes or changes is applied again and leaves a critical finding.
func apiPolicyTask(ctx context.Context, cfg *config.Config, restCfg *rest.Config, out io.Writer, pub *publisher, logger *slog.Logger) (manager.Task, error) {
	set, err := apipolicy.Render(cfg)
	if err != nil {
		return manager.Task{}, err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return manager.Task{}, fmt.Errorf("admission policies: client: %w", err)
	}
	k := &apipolicy.Keeper{Client: client, Set: set, Logger: logger, Tampered: func(kind, name, what string) {
		fs := []finding.Finding{apipolicy.DriftFinding(kind, name, what, time.Now())}
		finding.InCluster(fs, cfg.ClusterName)
		if line, err := fs[0].JSONLine(); err == nil {
			_, _ = out.Write(line)
		}
		pub.publish(ctx, fs)
	}}
	logger.Info("admission policies: the API server enforces the checks that have a CEL twin", "mode", cfg.Admission.Mode, "policies", set.Names())
	return manager.Task{Name: "admission policies", Run: k.Run}, nil
}
