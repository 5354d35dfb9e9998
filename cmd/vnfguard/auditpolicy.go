package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
	"github.com/vnfguard/vnfguard/internal/report"
)

// newAuditPolicyCommand prints the recommended kube-apiserver audit policy, or what each rule needs of one.
func newAuditPolicyCommand(stdout io.Writer) *cobra.Command {
	var needs bool
	cmd := &cobra.Command{
		Use:   "audit-policy",
		Short: "Print the recommended kube-apiserver audit policy (--audit-policy-file), or what each detection rule needs of one",
		Long: `Prints the audit policy that gives every built-in detection rule the audit level and stages it needs
(exec sessions reported when they open, RBAC bindings with their subjects, pod specs as written and as patched),
without logging Secret, ConfigMap or token bodies. Install it with kube-apiserver --audit-policy-file; check the
policy a cluster runs with: vnfguard scan --audit-policy FILE.`,
		Example: `  vnfguard audit-policy > /etc/kubernetes/audit-policy.yaml
  vnfguard audit-policy --needs`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if needs {
				return printNeeds(stdout)
			}
			_, err := stdout.Write(auditpolicy.Recommended())
			return err
		},
	}
	cmd.Flags().BoolVar(&needs, "needs", false, "print, per detection rule, the requests it must see at which audit level and stage")
	return cmd
}

func printNeeds(stdout io.Writer) error {
	var rows [][]string
	for _, n := range auditpolicy.Needs() {
		rule := n.Rule
		if n.Pending {
			rule += " (pending)"
		}
		if n.NoAudit != "" {
			rows = append(rows, []string{rule, "-", "-", "-", n.NoAudit})
			continue
		}
		for _, r := range n.Requirements {
			what := append([]string(nil), r.NonResourceURLs...)
			for _, res := range r.Resources {
				if r.Group != "" {
					res = r.Group + "/" + res
				}
				what = append(what, res)
			}
			rows = append(rows, []string{rule, string(r.Level), string(r.Stage), strings.Join(r.Verbs, ",") + " " + strings.Join(what, ","), r.Why})
		}
	}
	return report.WriteRecords(stdout, report.FormatTable, &report.Records{Columns: []string{"RULE", "LEVEL", "STAGE", "REQUESTS", "WHY"}, Rows: rows})
}
