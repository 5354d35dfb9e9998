package imagesig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string // "" = valid
	}{
		{"payload-valid.json", ""},
		{"payload-wrong-type.json", `critical.type is "atomic container signature"`},
		{"payload-bad-digest.json", `docker-manifest-digest "sha256:xyz"`},
		{"payload-no-digest.json", `docker-manifest-digest ""`},
		{"payload-critical-string.json", "not simple signing JSON"},
		{"payload-not-json.json", "not simple signing JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodePayload(b)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodePayload: %v", err)
				}
				if p.Critical.Image.DockerManifestDigest != "sha256:"+strings.Repeat("a", 64) ||
					p.Critical.Identity.DockerReference != "127.0.0.1:5000/vnf/upf" {
					t.Errorf("decoded %+v", p.Critical)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecodePayload = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	if _, err := DecodePayload(make([]byte, maxPayloadSize+1)); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized payload: %v", err)
	}
}

// FuzzDecodePayload: never a panic, and an accepted payload has cosign's type and a valid digest.
func FuzzDecodePayload(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "payload-*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload(b)
		if err != nil {
			return
		}
		if p.Critical.Type != "cosign container image signature" {
			t.Errorf("accepted type %q", p.Critical.Type)
		}
		if _, err := v1.NewHash(p.Critical.Image.DockerManifestDigest); err != nil {
			t.Errorf("accepted digest %q: %v", p.Critical.Image.DockerManifestDigest, err)
		}
	})
}
