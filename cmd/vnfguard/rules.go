package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/rules"
)

func newRulesCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "List, validate and test detection rules"}

	var listPaths []string
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the rules in force: the built-in pack and the given rule files",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			rs, err := loadRules(listPaths)
			if err != nil {
				return usageError(err)
			}
			type ruleJSON struct {
				ID          string   `json:"id"`
				Description string   `json:"description"`
				Severity    string   `json:"severity"`
				Technique   string   `json:"technique"`
				Source      string   `json:"source"`
				Mitigations []string `json:"mitigations"`
				Tags        []string `json:"tags"`
				Enabled     bool     `json:"enabled"`
			}
			items := make([]ruleJSON, 0, len(rs))
			rows := make([][]string, 0, len(rs))
			for _, r := range rs {
				items = append(items, ruleJSON{r.ID, r.Description, r.Severity.String(), r.Technique, r.Source, r.Mitigations, r.Tags, r.Enabled})
				rows = append(rows, []string{r.ID, r.Severity.String(), r.Technique, strings.Join(r.Mitigations, ","), strconv.FormatBool(r.Enabled), r.Source, r.Description})
			}
			return report.WriteRecords(stdout, output, &report.Records{
				Columns: []string{"ID", "SEVERITY", "TECHNIQUE", "MITIGATIONS", "ENABLED", "SOURCE", "DESCRIPTION"}, Rows: rows, Items: items})
		},
	}
	list.Flags().StringSliceVar(&listPaths, "rules", nil, "extra rule files or directories")
	list.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	list.PreRunE = func(*cobra.Command, []string) error {
		if err := report.CheckFormat(output, report.RecordFormats); err != nil {
			return usageError(err)
		}
		return nil
	}

	validate := &cobra.Command{
		Use:     "validate FILE|DIR...",
		Short:   "Load, compile and type-check rule files; errors name the file, the rule and the position",
		Example: `  vnfguard rules validate ./my-rules/`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			rs, err := loadRules(args)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "%d rules valid (built-in pack and %s)\n", len(rs), strings.Join(args, ", "))
			return nil
		},
	}

	var testRules []string
	test := &cobra.Command{
		Use:   "test [CASES.yaml|DIR...]",
		Short: "Run rule test cases (events in, expected findings out); the built-in cases without arguments",
		Long: `Runs rule test cases, as Falco's and Sigma's rule tests do: each case gives audit events and the findings it
expects (rule ids with counts, or none); a case fails when a rule fires that is not expected, or an expected one
does not. Without arguments the built-in pack's own cases run. Exit 1 when a case fails.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := loadRules(testRules)
			if err != nil {
				return usageError(err)
			}
			var suites []*detect.Suite
			if len(args) == 0 {
				suites, err = detect.LoadSuites(rules.FS, "tests")
			} else {
				suites, err = detect.LoadSuiteFiles(args...)
			}
			if err != nil {
				return usageError(err)
			}
			failed, total := 0, 0
			var rows [][]string
			for _, s := range suites {
				results, err := detect.RunSuite(cmd.Context(), rs, s)
				if err != nil {
					return usageError(err)
				}
				for _, r := range results {
					total++
					status, detail := "pass", formatCounts(r.Got)
					if !r.Passed {
						failed++
						status, detail = "FAIL", r.Problem
					}
					rows = append(rows, []string{status, r.File, r.Case, detail})
				}
			}
			if err := report.WriteRecords(stdout, report.FormatTable, &report.Records{Columns: []string{"RESULT", "FILE", "CASE", "DETAIL"}, Rows: rows}); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d passed, %d failed\n", total-failed, failed)
			if failed > 0 {
				return &exitCodeError{code: exitFindings}
			}
			return nil
		},
	}
	test.Flags().StringSliceVar(&testRules, "rules", nil, "extra rule files or directories to test with the built-in pack")
	cmd.AddCommand(list, validate, test)
	return cmd
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "no findings"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
