package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
)

func newAdmissionPoliciesCommand(stdout io.Writer) *cobra.Command {
	var configPath, output string
	cmd := &cobra.Command{
		Use:   "admission-policies",
		Short: "Print the ValidatingAdmissionPolicies and bindings that let the API server enforce vnfguard's checks itself",
		Long: `Prints the CEL twins of vnfguard's checks (` + fmt.Sprint(apipolicy.Checks()) + `) as ValidatingAdmissionPolicies and their
bindings, rendered from the configuration. ` + "`vnfguard serve`" + ` with admission.mode policies or both applies them itself,
keeps them applied and writes the VNF lifecycle parameters they read (ConfigMap ` + apipolicy.ParamsName + ` in every
protected namespace); this command shows what it applies, for review or GitOps diffs.`,
		Example: `  vnfguard admission-policies --config vnfguard.yaml | kubectl diff -f -`,
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			set, err := apipolicy.Render(cfg)
			if err != nil {
				return usageError(err)
			}
			// Each policy, then its bindings (a policy that reads the lifecycle parameters has several).
			items := make([]any, 0, len(set.Policies)+len(set.Bindings))
			for i := range set.Policies {
				items = append(items, &set.Policies[i])
				for _, b := range set.BindingsOf(set.Policies[i].Name) {
					items = append(items, &b)
				}
			}
			list := map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
			var out []byte
			switch output {
			case "yaml", "":
				out, err = yaml.Marshal(list)
			case "json":
				out, err = json.MarshalIndent(list, "", "  ")
				out = append(out, '\n')
			default:
				return usageError(fmt.Errorf("output format %q: want yaml or json", output))
			}
			if err != nil {
				return fmt.Errorf("render the admission policies: %w", err)
			}
			_, err = stdout.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "vnfguard configuration file")
	f.StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}
