package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// none fills an empty cell, as kubectl does, so that columns stay aligned and readable.
const none = "<none>"

// maxCell bounds a cell so that one long message does not push every other column off the screen; the JSON,
// SARIF and HTML reports keep the full text.
const maxCell = 160

// writeTable renders the findings like kubectl get: one line per finding under upper-case headers, then a line of
// counts per severity.
func writeTable(w io.Writer, v *view) error {
	bw := bufio.NewWriter(w)
	if len(v.findings) == 0 {
		fmt.Fprintln(bw, "No findings.")
		return bw.Flush()
	}
	tw := tabwriter.NewWriter(bw, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tTECHNIQUE\tMITIGATIONS\tRULE\tVNF INSTANCE\tSUBJECT\tOBJECT\tMESSAGE")
	for _, f := range v.findings {
		cells := []string{
			strings.ToUpper(f.Severity.String()), f.Technique, strings.Join(uniqueNonEmpty(f.Mitigations), ","), f.Rule,
			f.VNFInstance, f.Identity, objectName(f.Object), f.Message,
		}
		for i, c := range cells {
			cells[i] = cell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, summaryLine(v))
	return bw.Flush()
}

// summaryLine counts the findings per severity: "5 findings: 1 critical, 2 high, 1 medium, 1 low, 0 info".
func summaryLine(v *view) string {
	parts := make([]string, 0, len(severities))
	for _, s := range severities {
		parts = append(parts, fmt.Sprintf("%d %s", v.bySeverity[s], s))
	}
	noun := "findings"
	if len(v.findings) == 1 {
		noun = "finding"
	}
	return fmt.Sprintf("%d %s: %s", len(v.findings), noun, strings.Join(parts, ", "))
}

// safeText replaces control characters (they split a cell or a line, and let a crafted message forge rows) and
// format characters such as bidi overrides (they reorder what a terminal shows) with spaces.
func safeText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
}

// cell makes text safe for one tabwriter cell: tabs, newlines and other control characters would split the cell
// or the line (and let a crafted message forge rows), and format characters such as bidi overrides would let it
// reorder what the terminal shows, so they all become spaces; runs of spaces collapse.
func cell(s string) string {
	s = safeText(s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return none
	}
	if r := []rune(s); len(r) > maxCell {
		s = string(r[:maxCell-1]) + "…"
	}
	return s
}
