package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// registrationFlags are webhook-config's inputs given to serve, so that it renders the same registration and
// watches the live one against it.
type registrationFlags struct {
	url, service, caFile string
	timeout              int32
}

func (r *registrationFlags) add(f *pflag.FlagSet) {
	f.StringVar(&r.url, "webhook-url", "", "watch the registration: the URL webhook-config was given (--url)")
	f.StringVar(&r.service, "webhook-service", "", "watch the registration: the Service webhook-config was given (--service NAMESPACE/NAME[:PORT][/PATH])")
	f.StringVar(&r.caFile, "webhook-ca-file", "", "the CA webhook-config was given (--ca-file); default with --self-signed: the generated CA; with --tls-ca-secret: that Secret's bundle, followed as it rotates")
	f.Int32Var(&r.timeout, "webhook-timeout-seconds", 5, "the timeout webhook-config was given (--timeout-seconds)")
}

func (r *registrationFlags) enabled() bool { return r.url != "" || r.service != "" }

// watchdogTask is the registration watchdog, a singleton, when serve knows what webhook-config renders (nil
// otherwise). Its findings go to out and the sinks like every other finding of serve; ctx is the process's, for
// the store writes of those findings. caFromSecret: the caBundle comes later from the CA Secret (--tls-ca-secret),
// through Watchdog.SetCABundle.
func watchdogTask(ctx context.Context, f registrationFlags, cfg *config.Config, restCfg *rest.Config, selfSignedCA []byte, caFromSecret bool,
	out io.Writer, pub *publisher, reg prometheus.Registerer, logger *slog.Logger) (*admission.Watchdog, error) {
	if !f.enabled() {
		if f.caFile != "" {
			return nil, errors.New("--webhook-ca-file needs --webhook-url or --webhook-service")
		}
		return nil, nil
	}
	if restCfg == nil {
		return nil, errors.New("--webhook-url/--webhook-service: watching the registration needs a cluster (--kubeconfig or in-cluster)")
	}
	ca := selfSignedCA
	if f.caFile != "" {
		var err error
		if ca, err = os.ReadFile(f.caFile); err != nil {
			return nil, fmt.Errorf("--webhook-ca-file: %w", err)
		}
	}
	if len(ca) == 0 && !caFromSecret {
		return nil, errors.New("--webhook-ca-file is required unless --self-signed or --tls-ca-secret: the watchdog compares the registration's caBundle")
	}
	opts := admission.RegistrationOptions{Name: cfg.Self.WebhookConfigurations[0], Config: cfg, URL: f.url, CABundle: ca, TimeoutSeconds: f.timeout}
	if f.service != "" {
		var err error
		if opts.Service, err = admission.ParseServiceReference(f.service); err != nil {
			return nil, fmt.Errorf("--webhook-service: %w", err)
		}
	}
	validate := opts.Validate
	if caFromSecret {
		validate = opts.ValidateTarget
	}
	if err := validate(); err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("registration watchdog: client: %w", err)
	}
	grace, _ := time.ParseDuration(cfg.Self.Registration.GracePeriod) // validated with the configuration
	w, err := admission.NewWatchdog(admission.WatchdogOptions{
		Client: client, Want: admission.WebhookConfiguration(opts), Reapply: cfg.Self.Registration.Reapply, GracePeriod: grace,
		Report: func(fs []finding.Finding) {
			finding.InCluster(fs, cfg.ClusterName)
			for i := range fs {
				line, err := fs[i].JSONLine()
				if err == nil {
					_, err = out.Write(line)
				}
				if err != nil {
					logger.Error("write registration finding", "error", err)
				}
			}
			pub.publish(ctx, fs)
		},
		Registerer: reg, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}
