package imagesig

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPublicKeyFile(t *testing.T) {
	tests := []struct {
		file    string
		check   func(any) bool
		wantErr string
	}{
		{"ecdsa-p256.pub", func(k any) bool { _, ok := k.(*ecdsa.PublicKey); return ok }, ""},
		{"rsa-pkcs1.pub", func(k any) bool { _, ok := k.(*rsa.PublicKey); return ok }, ""},
		{"not-a-key.pub", nil, `public key "not-a-key.pub"`},
		{"missing.pub", nil, "no such file"},
		{"payload-valid.json", nil, "PEM decoding failed"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k, err := LoadPublicKeyFile(tt.file, filepath.Join("testdata", tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadPublicKeyFile = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Name != tt.file || !tt.check(k.PublicKey) {
				t.Errorf("key %q of type %T", k.Name, k.PublicKey)
			}
			if _, err := NewKeySet(k); err != nil {
				t.Errorf("NewKeySet: %v", err)
			}
		})
	}
}

func TestNewKeySet(t *testing.T) {
	ec, err := LoadPublicKeyFile("acme", filepath.Join("testdata", "ecdsa-p256.pub"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := LoadPublicKeyFile("globex", filepath.Join("testdata", "rsa-pkcs1.pub"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		keys    []Key
		wantErr string
		is      error
	}{
		{"two providers", []Key{ec, rs}, "", nil},
		{"keyless", []Key{ec, {Name: "sigstore", Keyless: &Keyless{Issuer: "https://accounts.example", Subject: "ci@acme"}}},
			`key "sigstore" (issuer "https://accounts.example", subject "ci@acme"): keyless`, ErrKeylessUnsupported},
		{"duplicate name", []Key{ec, {Name: "acme", PublicKey: rs.PublicKey}}, `key "acme": duplicate name`, nil},
		{"empty name", []Key{{PublicKey: ec.PublicKey}}, "key 0: empty name", nil},
		{"no key", []Key{{Name: "acme"}}, `key "acme": no public key`, nil},
		{"unsupported type", []Key{{Name: "x25519", PublicKey: x.PublicKey()}}, `key "x25519"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := NewKeySet(tt.keys...)
			if tt.wantErr == "" {
				if err != nil || ks.Len() != len(tt.keys) {
					t.Fatalf("NewKeySet = %v, %v", ks, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewKeySet = %v, want an error with %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}

	// The ID depends on names and keys, not on the KeySet value.
	a, b := mustKeySet(t, ec, rs), mustKeySet(t, ec, rs)
	renamed := mustKeySet(t, Key{Name: "acme2", PublicKey: ec.PublicKey}, rs)
	if a.ID() != b.ID() || a.ID() == renamed.ID() || a.ID() == mustKeySet(t, ec).ID() {
		t.Errorf("IDs: %s %s %s", a.ID(), b.ID(), renamed.ID())
	}
	if got := strings.Join(a.Names(), ","); got != "acme,globex" {
		t.Errorf("Names = %s", got)
	}
}
