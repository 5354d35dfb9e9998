package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/install"
)

func newRBACCommand(stdout io.Writer) *cobra.Command {
	var (
		configPath, output string
		o                  install.Options
	)
	cmd := &cobra.Command{
		Use:   "rbac",
		Short: "Print the least-privilege RBAC vnfguard serve runs with (and the read-only role of vnfguard scan)",
		Long: `Prints vnfguard's ServiceAccount, ClusterRoles and bindings. vnfguard serve reads pods, workloads, claims,
volumes, namespaces and its own registration cluster-wide (metadata, never writes). Secrets and ConfigMaps are read
only in the protected namespaces: a RoleBinding to ClusterRole vnfguard-namespace-data in each namespace named in
the configuration's protectedNamespaces.names and in each --data-namespace. A namespace protected by label needs
that RoleBinding too (vnfguard reports the namespaces where it is missing). In its own namespace, Role vnfguard-leader-election lets
the replicas elect the one that runs the singletons: get and update on Lease vnfguard-singletons, create on leases; Role
vnfguard-certificates lets them keep their serving certificate (serve --tls-secret, --tls-ca-secret): get, list,
watch and update on those two Secrets by name, create on secrets (RBAC cannot limit create by name); Role
vnfguard-uninstall lets vnfguard unregister --scale-down (the chart's pre-delete hook) get its Deployment and set its
scale to zero, by name. With admission.mode policies or both, ClusterRole vnfguard-admission-policies lets it keep its
ValidatingAdmissionPolicies and bindings (update and delete by name) and write the VNF lifecycle parameters
(vnflifecycles.vnfguard.io). ClusterRole vnfguard-scanner is for
whoever runs vnfguard scan; it is not bound.`,
		Example: `  vnfguard rbac --config vnfguard.yaml | kubectl apply -f -
  vnfguard rbac --config vnfguard.yaml --data-namespace vnf-smf --reapply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			o.DataNamespaces = slices.Concat(cfg.ProtectedNamespaces.Names, o.DataNamespaces)
			o.AdmissionPolicies = cfg.Admission.Policies()
			objs := install.RBAC(o)
			var out []byte
			switch output {
			case "yaml":
				out, err = install.YAML(objs)
			case "json":
				out, err = json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}, "", "  ")
				out = append(out, '\n')
			default:
				return usageError(fmt.Errorf("-o %q: want yaml or json", output))
			}
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "vnfguard configuration file (its protectedNamespaces.names get the Secrets/ConfigMaps RoleBinding)")
	f.StringVar(&o.Namespace, "namespace", "vnfguard", "namespace of vnfguard's ServiceAccount")
	f.StringVar(&o.ServiceAccount, "service-account", "vnfguard", "name of vnfguard's ServiceAccount")
	f.StringSliceVar(&o.DataNamespaces, "data-namespace", nil, "more protected namespaces (protected by label) to bind the Secrets/ConfigMaps role in")
	f.StringSliceVar(&o.WebhookConfigurations, "webhook-name", []string{"vnfguard"}, "names of vnfguard's ValidatingWebhookConfigurations")
	f.StringVar(&o.Workload, "workload", "vnfguard", "name of vnfguard's Deployment, which Role "+install.UninstallRole+" lets unregister --scale-down scale to zero")
	f.StringSliceVar(&o.CertificateSecrets, "certificate-secret", []string{install.CASecret, install.TLSSecret}, "the Secrets of serve --tls-ca-secret and --tls-secret, which Role "+install.CertificatesRole+" lets vnfguard get, list, watch and update")
	f.BoolVar(&o.Reapply, "reapply", false, "let vnfguard update (and re-create) its own webhook configurations")
	f.StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}
