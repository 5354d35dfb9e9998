package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/admission"
)

func newWebhookConfigCommand(stdout io.Writer) *cobra.Command {
	var (
		configPath, url, service, caFile, output, name string
		timeout                                        int32
	)
	cmd := &cobra.Command{
		Use:   "webhook-config",
		Short: "Print the ValidatingWebhookConfiguration that registers vnfguard with the API server",
		Long: `Prints the ValidatingWebhookConfiguration for vnfguard at a URL or behind a Service: pods, pods/exec, attach,
portforward, ephemeralcontainers, workloads and their scale subresource, VolumeSnapshots; failurePolicy Fail for the
protected namespaces of the configuration and Ignore elsewhere; updates and deletes of the protected Namespace
objects themselves (Fail); match conditions that leave the API server's own traffic alone. ` + "`vnfguard serve`" + ` given
the same --webhook-url or --webhook-service and CA watches the registration for drift from this output.`,
		Example: `  vnfguard webhook-config --config vnfguard.yaml --service vnfguard/vnfguard:443 --ca-file ca.pem | kubectl apply -f -`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			if caFile == "" {
				return usageError(fmt.Errorf("--ca-file is required: the API server must be able to verify vnfguard's certificate"))
			}
			ca, err := os.ReadFile(caFile)
			if err != nil {
				return usageError(fmt.Errorf("--ca-file: %w", err))
			}
			if name == "" {
				name = cfg.Self.WebhookConfigurations[0]
			}
			opts := admission.RegistrationOptions{Name: name, Config: cfg, URL: url, CABundle: ca, TimeoutSeconds: timeout}
			if service != "" {
				if opts.Service, err = admission.ParseServiceReference(service); err != nil {
					return usageError(err)
				}
			}
			if err := opts.Validate(); err != nil {
				return usageError(err)
			}
			out, err := admission.Render(admission.WebhookConfiguration(opts), output)
			if err != nil {
				return usageError(err)
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "vnfguard configuration file (its protected namespaces scope the webhooks)")
	f.StringVar(&url, "url", "", "URL the API server calls, e.g. https://127.0.0.1:8443/validate")
	f.StringVar(&service, "service", "", "Service the API server calls: NAMESPACE/NAME[:PORT][/PATH]")
	f.StringVar(&caFile, "ca-file", "", "PEM file of the CA that signed vnfguard's serving certificate")
	f.StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&name, "name", "", "metadata.name of the configuration (default: the first of self.webhookConfigurations, vnfguard)")
	f.Int32Var(&timeout, "timeout-seconds", 5, "how long the API server waits for vnfguard (1-30)")
	return cmd
}
