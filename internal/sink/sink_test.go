package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func loadFindings(t testing.TB) []finding.Finding {
	t.Helper()
	raw, err := os.ReadFile("testdata/findings.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs []finding.Finding
	if err := json.Unmarshal(raw, &fs); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	return fs
}

func TestJSONLines(t *testing.T) {
	fs := loadFindings(t)
	var buf bytes.Buffer
	s := NewJSONLines(&buf)
	if err := s.Send(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(fs) {
		t.Fatalf("got %d lines, want %d", len(lines), len(fs))
	}
	for i, line := range lines {
		var got finding.Finding
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if got.ID != fs[i].ID || got.Message != fs[i].Message || got.Severity != fs[i].Severity {
			t.Errorf("line %d = %+v, want %+v", i, got, fs[i])
		}
	}
}

type fakeSink struct {
	got    int
	err    error
	closed bool
}

func (f *fakeSink) Send(_ context.Context, fs []finding.Finding) error {
	f.got += len(fs)
	return f.err
}
func (f *fakeSink) Close() error { f.closed = true; return f.err }

func TestMulti(t *testing.T) {
	boom := errors.New("boom")
	a, b := &fakeSink{err: boom}, &fakeSink{}
	m := Multi(a, nil, b)
	fs := loadFindings(t)
	if err := m.Send(context.Background(), fs); !errors.Is(err, boom) {
		t.Errorf("Send error = %v, want boom", err)
	}
	if a.got != len(fs) || b.got != len(fs) {
		t.Errorf("fan-out got %d and %d findings, want %d each", a.got, b.got, len(fs))
	}
	if err := m.Close(); !errors.Is(err, boom) || !a.closed || !b.closed {
		t.Errorf("Close error = %v, closed = %v %v", err, a.closed, b.closed)
	}
}
