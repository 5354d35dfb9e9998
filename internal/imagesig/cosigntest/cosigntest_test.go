package cosigntest

import (
	"context"
	"errors"
	"testing"

	"github.com/vnfguard/vnfguard/internal/imagesig"
)

// TestSignVerifies: what Sign pushes is what imagesig verifies, and only with the signing key.
func TestSignVerifies(t *testing.T) {
	r := StartRegistry()
	defer r.Close()
	img, err := r.Push("vnf/upf", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	key, other := mustKey(t), mustKey(t)
	if err := r.Sign(key, img); err != nil {
		t.Fatal(err)
	}
	v := imagesig.New(imagesig.Options{})
	for _, tc := range []struct {
		key  *Key
		want error
	}{{key, nil}, {other, imagesig.ErrWrongKey}} {
		pub, err := imagesig.ParsePublicKeyPEM("k", tc.key.PublicPEM)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := imagesig.NewKeySet(pub)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), r.Host+"/vnf/upf:1.0", ks)
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Fatalf("Verify = %v, want %v", err, tc.want)
		}
	}
}

func mustKey(t *testing.T) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
