package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
)

// A replica that got SIGTERM (its context ended) still judges requests while it drains: their findings are
// recorded in the store. Published on the ended context itself, the store refuses them ("context canceled").
func TestFindingsOfTheDrainAreRecorded(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "findings.db")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, err := newPublisher(context.Background(), outputFlags{storeDSN: dsn}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.close()
	ctx, sigterm := context.WithCancel(context.Background())
	publish := pub.outlasting(ctx)
	sigterm()
	denial := finding.Finding{Time: time.Now(), Source: "admission", Rule: "host-takeover", Action: "denied", Severity: finding.Critical,
		Message: "hostPath / during the drain", Object: finding.ObjectRef{Kind: "Pod", Namespace: "sandbox", Name: "peirates"}}
	publish([]finding.Finding{denial})
	// The attack this guards against: the same finding published on the ended context is lost.
	late := denial
	late.Object.Name = "peirates-2"
	pub.publish(ctx, []finding.Finding{late})

	st, err := store.Open(context.Background(), dsn, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs, err := st.List(context.Background(), store.Filter{Rule: "host-takeover"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Object.Name != "peirates" {
		t.Fatalf("stored %+v; want the finding published while draining, and not the one published on the ended context (the control: it shows the loss is real)", fs)
	}
}
