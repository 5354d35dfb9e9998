package report

import (
	"bytes"
	"strings"
	"testing"
)

// An empty list is written as [] whatever its Go type, and an unknown format names the known ones.
func TestWriteRecordsEmptyAndUnknown(t *testing.T) {
	var none []struct {
		Name string `json:"name"`
	}
	for _, items := range []any{nil, none} {
		var buf bytes.Buffer
		if err := WriteRecords(&buf, FormatJSON, &Records{Items: items}); err != nil || strings.TrimSpace(buf.String()) != "[]" {
			t.Errorf("items %#v: %q %v, want []", items, buf.String(), err)
		}
	}
	if err := WriteRecords(&bytes.Buffer{}, "yaml", &Records{}); err == nil || !strings.Contains(err.Error(), "table, json") {
		t.Errorf("unknown format: %v", err)
	}
}
