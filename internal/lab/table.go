package lab

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// RenderTable writes the results as a table: step, identity, request, verdict, check, FiGHT technique, and
// whether the step got what it expected. Failed steps are explained under the table.
func RenderTable(w io.Writer, results []StepResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tIDENTITY\tREQUEST\tVERDICT\tCHECK\tFIGHT\tRESULT")
	for i := range results {
		r := &results[i]
		check, technique := "-", "-"
		if len(r.Checks) > 0 {
			check = mainCheck(r)
			if more := len(r.Checks) - 1; more > 0 {
				check += fmt.Sprintf(" +%d", more)
			}
		}
		if r.Step.BreakGlass && r.Verdict == Allowed {
			check = "break-glass (recorded)"
		}
		if t := techniqueOf(r, mainCheck(r)); t != "" {
			technique = t
		} else if r.Step.Technique != "" {
			technique = r.Step.Technique
		}
		result := "ok"
		if !r.OK() {
			result = "UNEXPECTED"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Step.Name, r.Step.Identity, r.Step.Request,
			r.Verdict, check, technique, result)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for i := range results {
		if r := &results[i]; r.Step.ShowDetail && r.Detail != "" {
			if _, err := fmt.Fprintf(w, "step %d (%s): %s\n", i+1, r.Step.Name, r.Detail); err != nil {
				return fmt.Errorf("write table: %w", err)
			}
		}
	}
	for i := range results {
		r := &results[i]
		for _, p := range r.Problems {
			if _, err := fmt.Fprintf(w, "step %d (%s): %s\n", i+1, r.Step.Name, p); err != nil {
				return fmt.Errorf("write table: %w", err)
			}
		}
	}
	for i := range results {
		if len(results[i].Checks) > 1 {
			fmt.Fprintln(w, "(+N: N more checks also denied the request; vnfguard's findings name them all)")
			break
		}
	}
	s := Summarize(results)
	_, err := fmt.Fprintf(w, "%d steps, %d as expected, %d denied, %d denials during the benign lifecycle\n",
		s.Steps, s.Passed, s.Denied, s.BenignDenials)
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// mainCheck is the check the step is about: the expected one when it denied, else the first.
func mainCheck(r *StepResult) string {
	for _, c := range r.Checks {
		if c == r.Step.ExpectCheck {
			return c
		}
	}
	if len(r.Checks) > 0 {
		return r.Checks[0]
	}
	return ""
}

// techniqueOf finds the FiGHT technique of the check in the step's findings, else in the denial message.
func techniqueOf(r *StepResult, check string) string {
	for _, f := range r.Findings {
		if f.Rule == check && f.Technique != "" {
			return f.Technique
		}
	}
	for _, m := range denialTag.FindAllStringSubmatch(r.Message, -1) {
		if m[1] == check && m[2] != "" {
			return m[2]
		}
	}
	if r.Step.BreakGlass && check != "break-glass" {
		return techniqueOf(r, "break-glass")
	}
	return ""
}
