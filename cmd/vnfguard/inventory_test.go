package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
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
