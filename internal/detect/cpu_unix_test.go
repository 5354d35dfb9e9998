//go:build unix

package detect

import (
	"syscall"
	"testing"
	"time"
)

// reportRate reports events/s, and events/cpu-s from the process's CPU time (user and system, garbage collection
// included), when the benchmark loop ends. Call it right before the loop: defer reportRate(b)().
func reportRate(b *testing.B) func() {
	c0 := cpuTime()
	return func() {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		if cpu := cpuTime() - c0; cpu > 0 {
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
