package cluster

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkGetCached is the cost of an owner or target-pod lookup that the informer cache answers, the common
// case on the webhook's request path.
func BenchmarkGetCached(b *testing.B) {
	var cached []*metav1.PartialObjectMetadata
	for i := range 5000 {
		cached = append(cached, meta("v1", "Pod", "vnf-upf", fmt.Sprintf("upf-%05d", i), nil))
	}
	cached = append(cached, meta("v1", "Namespace", "", "vnf-upf", map[string]string{"vnfguard.io/protected": "true"}))
	v, _ := testView(b, cached)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := v.Get(ctx, "Pod", "vnf-upf", cached[i%5000].Name); err != nil {
			b.Fatal(err)
		}
		if _, err := v.Labels(ctx, "vnf-upf"); err != nil {
			b.Fatal(err)
		}
	}
}
