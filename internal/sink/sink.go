package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Sink is an alert output. Send may be called from several goroutines; Close flushes what the sink holds and
// releases its resources.
type Sink interface {
	Send(ctx context.Context, fs []finding.Finding) error
	Close() error
}

// JSONLines writes one finding per line of JSON to a writer.
type JSONLines struct {
	mu sync.Mutex // serialises writes so lines from concurrent Sends never interleave
	w  io.Writer
}

// NewJSONLines returns a sink that writes each finding as one JSON line on w. It does not close w: the caller owns
// it (it is often os.Stdout).
func NewJSONLines(w io.Writer) Sink { return &JSONLines{w: w} }

// Send writes the findings, one line each.
func (s *JSONLines) Send(_ context.Context, fs []finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range fs {
		line, err := fs[i].JSONLine()
		if err != nil {
			return fmt.Errorf("jsonl sink: %w", err)
		}
		if _, err := s.w.Write(line); err != nil {
			return fmt.Errorf("jsonl sink: write finding %s: %w", fs[i].ID, err)
		}
	}
	return nil
}

// Close does nothing: the writer belongs to the caller.
func (s *JSONLines) Close() error { return nil }

type multi []Sink

// Multi fans findings out to several sinks. A failing sink does not stop the others; their errors are joined.
func Multi(sinks ...Sink) Sink {
	var m multi
	for _, s := range sinks {
		if s != nil {
			m = append(m, s)
		}
	}
	return m
}

func (m multi) Send(ctx context.Context, fs []finding.Finding) error {
	var errs []error
	for _, s := range m {
		if err := s.Send(ctx, fs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m multi) Close() error {
	var errs []error
	for _, s := range m {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
