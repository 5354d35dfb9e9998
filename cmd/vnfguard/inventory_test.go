package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestLoadInventoryOnceSOL003: the one-shot read of `reconcile --once` lists the VNFM's instances and gives each
// the images its package declares in the packages file.
func TestLoadInventoryOnceSOL003(t *testing.T) {
	vnfm := vnfmtest.Start(t, vnfmtest.Options{PageSize: 1})
	const vnfd = "b1bb0ce7-ebca-4fa7-95ed-4840d70a1177"
	id, err := vnfm.Create("upf-1", vnfmtest.Package{VnfdID: vnfd, Provider: "Acme", ProductName: "UPF"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vnfm.Create("smf-1", vnfmtest.Package{VnfdID: "smf-vnfd", ProductName: "SMF"}); err != nil {
		t.Fatal(err)
	}
	packages, err := filepath.Abs("../../examples/packages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Inventory.SOL003 = &config.SOL003{APIRoot: vnfm.URL, Insecure: true, PackagesFile: packages}
	snap, err := loadInventoryOnce(context.Background(), cfg, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Loaded || snap.Len() != 2 {
		t.Fatalf("snapshot loaded %v with %d instances, want the VNFM's 2 (two pages)", snap.Loaded, snap.Len())
	}
	inst, ok := snap.Instance(id)
	if !ok || len(inst.DeclaredImages) != 1 || inst.DeclaredImages[0].Digest == "" {
		t.Fatalf("instance %s declares %+v, want the packages file's UPF image", id, inst)
	}
}

// serve --inventory-history: the snapshot in force at start and each change after it land in the file, and read
// back as the timeline detect --inventory-history uses.
func TestRecordInventoryHistory(t *testing.T) {
	dir := t.TempDir()
	invPath, histPath := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "history.jsonl")
	write := func(state string) {
		t.Helper()
		data := "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfInstances:\n  - {id: upf-1, vnfdId: d, instantiationState: INSTANTIATED, instantiatedVnfInfo: {flavourId: simple, vnfState: " + state + ", metadata: {namespace: 5gc}}}\n"
		if err := os.WriteFile(invPath, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("STARTED")
	src, run, err := openInventory(config.Default(), invPath, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := recordInventoryHistory(src, histPath, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = run(ctx) }()
	states := func() []string {
		tl, err := vnf.ReadTimelineFile(histPath)
		if err != nil {
			return nil
		}
		var out []string
		for _, at := range []time.Time{{}, time.Now().Add(time.Hour)} {
			inst, _ := tl.SnapshotAt(at).Instance("upf-1")
			out = append(out, inst.State())
		}
		return out
	}
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Join(states(), ",") != want {
			if time.Now().After(deadline) {
				t.Fatalf("history holds %v, want %s", states(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("INSTANTIATED,INSTANTIATED")
	time.Sleep(20 * time.Millisecond) // a later LoadedAt
	write("STOPPED")
	wait("INSTANTIATED,STOPPED")

	static := &inventorySource{Inventory: vnf.Static{Snap: vnf.Empty("none")}}
	if err := recordInventoryHistory(static, histPath, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "keeps no history") {
		t.Errorf("a source without history: %v", err)
	}
}
