package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func newUnregisterCommand(stdout io.Writer) *cobra.Command {
	var (
		configPath string
		names      []string
		kube       kubeFlags
	)
	cmd := &cobra.Command{
		Use:   "unregister",
		Short: "Delete vnfguard's ValidatingWebhookConfigurations (before uninstalling it)",
		Long: `Deletes vnfguard's webhook registration: the configurations named with --name, or those of the configuration's
self.webhookConfigurations. The Helm chart runs it as a pre-delete hook, so that a fail-closed webhook never outlives
its server. A configuration that does not exist is not an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			if len(names) == 0 {
				names = cfg.Self.WebhookConfigurations
			}
			if len(names) == 0 {
				return usageError(errors.New("no webhook configuration to delete: give --name or self.webhookConfigurations"))
			}
			restCfg, err := kube.restConfig()
			if err != nil {
				return usageError(err)
			}
			cs, err := kubernetes.NewForConfig(restCfg)
			if err != nil {
				return fmt.Errorf("client for %s: %w", restCfg.Host, err)
			}
			for _, name := range names {
				err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(cmd.Context(), name, metav1.DeleteOptions{})
				switch {
				case apierrors.IsNotFound(err):
					fmt.Fprintf(stdout, "validatingwebhookconfiguration %s: not found\n", name)
				case err != nil:
					return fmt.Errorf("delete ValidatingWebhookConfiguration %s: %w", name, err)
				default:
					fmt.Fprintf(stdout, "validatingwebhookconfiguration %s deleted\n", name)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "vnfguard configuration file (its self.webhookConfigurations)")
	f.StringSliceVar(&names, "name", nil, "names of the ValidatingWebhookConfigurations to delete")
	kube.add(f)
	return cmd
}
