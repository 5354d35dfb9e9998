//go:build !unix

package detect

import "testing"

// reportRate reports events/s when the benchmark loop ends; there is no process CPU clock to read here.
func reportRate(b *testing.B) func() {
	return func() { b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s") }
}
