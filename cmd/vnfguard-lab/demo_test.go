package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVNFGuardBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "vnfguard")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := vnfguardBinary(exe); err != nil || got != exe {
		t.Errorf("vnfguardBinary(%s) = %q, %v", exe, got, err)
	}
	for _, bad := range []string{filepath.Join(dir, "missing"), dir} {
		if _, err := vnfguardBinary(bad); err == nil {
			t.Errorf("vnfguardBinary(%s) accepted a path that is not an executable file", bad)
		}
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vnfguardBinary(plain); err == nil {
		t.Error("vnfguardBinary accepted a file that is not executable")
	}
}
