package imagesig

import (
	"testing"
)

// BenchmarkVerify measures one verification against the loopback registry: cold (a new Verifier, so empty
// caches: resolve, signature manifest, payload blob, signature check) and warm (the cached result).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./internal/imagesig/
func BenchmarkVerify(b *testing.B) {
	provider, keys := newECDSASigner(b, "acme")
	r := newTestRegistry(b)
	d := r.push(b, "vnf/upf", "v1")
	r.pushSignature(b, d, cosignLayer(b, provider, d))
	images := map[string]string{"tag": r.host + "/vnf/upf:v1", "digest": d.String()}

	for _, kind := range []string{"tag", "digest"} {
		image := images[kind]
		b.Run("cold/"+kind, func(b *testing.B) {
			before, n := r.requests.Load(), 0
			for b.Loop() {
				if _, err := New(Options{}).Verify(b.Context(), image, keys); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(r.requests.Load()-before)/float64(n), "requests/op")
		})
		b.Run("warm/"+kind, func(b *testing.B) {
			v := New(Options{})
			if _, err := v.Verify(b.Context(), image, keys); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := v.Verify(b.Context(), image, keys)
				if err != nil || !res.Cached {
					b.Fatalf("warm Verify = %+v, %v", res, err)
				}
			}
		})
	}
}
