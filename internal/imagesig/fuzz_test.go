package imagesig

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzSignatureImage serves arbitrary bytes as the signature manifest (with an arbitrary media type) and as
// every blob, as a hostile or broken registry might: Verify must return an error, never panic nor verify.
func FuzzSignatureImage(f *testing.F) {
	_, keys := newECDSASigner(f, "acme")
	payloadBlob := []byte(`{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("a", 64) + `"},"type":"cosign container image signature"}}`)
	sum := sha256.Sum256(payloadBlob)
	blobDigest := "sha256:" + hex.EncodeToString(sum[:])
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"%s"},`+
		`"layers":[{"mediaType":"%s","size":%d,"digest":"%s","annotations":{"%s":"MEUCIQ=="}}]}`,
		blobDigest, SimpleSigningMediaType, len(payloadBlob), blobDigest, SignatureAnnotation)
	f.Add([]byte(manifest), "application/vnd.oci.image.manifest.v1+json", payloadBlob)
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"size":-1}]}`), "application/vnd.oci.image.manifest.v1+json", []byte{})
	f.Add([]byte(`{"manifests":[{}]}`), "application/vnd.oci.image.index.v1+json", []byte("x"))
	f.Add([]byte(`not json`), "text/plain", []byte("x"))

	var cur struct {
		manifest, blob []byte
		mediaType      string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(req.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", cur.mediaType)
			_, _ = w.Write(cur.manifest)
		case strings.Contains(req.URL.Path, "/blobs/"):
			_, _ = w.Write(cur.blob)
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/vnf/upf@sha256:" + strings.Repeat("b", 64)

	f.Fuzz(func(t *testing.T, manifest []byte, mediaType string, blob []byte) {
		// Serial: the handler reads cur, and fuzz workers are separate processes.
		cur.manifest, cur.mediaType, cur.blob = manifest, mediaType, blob
		res, err := New(Options{Timeout: 2 * time.Second}).Verify(t.Context(), image, keys)
		if err == nil || res.Verified {
			t.Fatalf("Verify of a forged signature image = %+v, %v", res, err)
		}
		var ve *VerificationError
		var re *RegistryError
		if !errors.As(err, &ve) && !errors.As(err, &re) {
			t.Errorf("error %v (%T) is neither a VerificationError nor a RegistryError", err, err)
		}
	})
}
