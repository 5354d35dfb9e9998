package report

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Records is a command's output that is not a findings report: rules, test results, package checks, RBAC answers.
// The table shows Columns and Rows; JSON encodes Items (typed values whose fields carry lowerCamel json tags), so a
// script reads the same data the table shows, under the keys every Kubernetes tool uses.
type Records struct {
	Columns []string
	Rows    [][]string
	Items   any
}

// RecordFormats are the formats WriteRecords knows.
var RecordFormats = []string{FormatTable, FormatJSON}

// CheckFormat says whether format is one of allowed, with an error naming them when it is not: a command checks its
// -o before it does any work.
func CheckFormat(format string, allowed []string) error {
	if slices.Contains(allowed, format) {
		return nil
	}
	return fmt.Errorf("-o %q: want one of %s", format, strings.Join(allowed, ", "))
}

// WriteRecords renders r as a table or as JSON. A nil Items is written as an empty JSON array, never null.
func WriteRecords(w io.Writer, format string, r *Records) error {
	if err := CheckFormat(format, RecordFormats); err != nil {
		return err
	}
	if format == FormatJSON {
		items := r.Items
		if v := reflect.ValueOf(items); items == nil || v.Kind() == reflect.Slice && v.IsNil() {
			items = []any{} // an empty list is [], never null
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		header[i] = safeText(c)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = safeText(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// FindingListFormats are the formats of a list of findings (findings list, detect): one row per finding in the
// table, the findings as a JSON array, or the SARIF and HTML reports.
var FindingListFormats = []string{FormatTable, FormatJSON, FormatSARIF, FormatHTML}

// WriteFindingList renders findings as a list: table (one row each, most recent first as given), json (an array of
// findings), or the sarif and html reports of r (whose Findings are fs).
func WriteFindingList(w io.Writer, format string, r *Report) error {
	if err := CheckFormat(format, FindingListFormats); err != nil {
		return err
	}
	fs := r.Findings
	switch format {
	case FormatTable:
		rows := make([][]string, len(fs))
		for i, f := range fs {
			seen := f.LastSeen
			if seen.IsZero() {
				seen = f.Time
			}
			rows[i] = []string{seen.UTC().Format("2006-01-02T15:04:05Z07:00"), f.Severity.String(), f.Technique, f.Rule,
				f.VNFInstance, f.Identity, f.Object.String(), fmt.Sprint(max(f.Count, 1)), f.Message}
		}
		return WriteRecords(w, FormatTable, &Records{Columns: []string{"LAST SEEN", "SEVERITY", "TECHNIQUE", "RULE", "VNF INSTANCE", "IDENTITY", "OBJECT", "COUNT", "MESSAGE"}, Rows: rows})
	case FormatJSON:
		if fs == nil {
			fs = []finding.Finding{}
		}
		return WriteRecords(w, FormatJSON, &Records{Items: fs})
	}
	return Write(w, format, r)
}

// WriteFindingLines writes each finding as one JSON line (what detect streams and serve prints).
func WriteFindingLines(w io.Writer, fs []finding.Finding) error {
	for i := range fs {
		line, err := fs[i].JSONLine()
		if err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}
