package nodesensor

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExecWatchReadsShortLivedCommands: a process that lives as long as runc does for an exec (tens of
// milliseconds) has ended long before anything could read its /proc entry on request; the process event was read
// at execve.
func TestExecWatchReadsShortLivedCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := StartExecWatch(ctx, "/proc")
	if err != nil {
		t.Fatalf("the kernel's process events (CI runs as root with CAP_NET_ADMIN): %v", err)
	}
	cmd := exec.Command("/bin/sleep", "0.02")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	if _, err := readCommand("/proc", pid); err == nil {
		t.Fatal("the process is still there: the test proves nothing")
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if got, ok := w.Command(pid); ok {
			if !slices.Equal(got, []string{"/bin/sleep", "0.02"}) {
				t.Fatalf("command %q", got)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the exec of /bin/sleep was not seen")
}

// TestExecWatchReadsAtHighestWeight: the thread that reads process events runs at nice -20 (runc lives for
// milliseconds after its execve; on a loaded node the read must not queue behind other work). The test runs as
// root, as the agent does.
func TestExecWatchReadsAtHighestWeight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := StartExecWatch(ctx, "/proc")
	if err != nil {
		t.Fatalf("the kernel's process events (CI runs as root with CAP_NET_ADMIN): %v", err)
	}
	stat, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(w.tid) + "/stat")
	if err != nil {
		t.Fatalf("the watch's thread %d: %v", w.tid, err)
	}
	// The command (field 2) may hold spaces; the fields after its closing parenthesis start at field 3, nice is 19.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 17 || fields[16] != strconv.Itoa(execWatchNice) {
		t.Fatalf("the watch's thread %d: stat %q, want nice %d", w.tid, stat, execWatchNice)
	}
}

// BenchmarkExecWatchUnderLoad: how many of a burst of /bin/true (each ends within a millisecond) the watch reads
// while 4 busy processes per core compete for the CPU, at the watch's weight and at the default one. The metric
// is read-%, the share whose command line was read; ns/op is one exec.
func BenchmarkExecWatchUnderLoad(b *testing.B) {
	for _, c := range []struct {
		name string
		nice int
	}{{"nice=-20", -20}, {"nice=0", 0}} {
		b.Run(c.name, func(b *testing.B) {
			defer func(n int) { execWatchNice = n }(execWatchNice)
			execWatchNice = c.nice
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := StartExecWatch(ctx, "/proc")
			if err != nil {
				b.Skipf("the kernel's process events need root with CAP_NET_ADMIN: %v", err)
			}
			for range 4 * runtime.NumCPU() {
				hog := exec.CommandContext(ctx, "/bin/sh", "-c", "while :; do :; done")
				if err := hog.Start(); err != nil {
					b.Fatal(err)
				}
				defer func() { _ = hog.Wait() }()
			}
			pids := make([]uint32, 0, b.N)
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command("/bin/true")
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				pids = append(pids, uint32(cmd.Process.Pid))
			}
			b.StopTimer()
			time.Sleep(200 * time.Millisecond) // the last events read
			read := 0
			for _, pid := range pids {
				if _, ok := w.Command(pid); ok {
					read++
				}
			}
			b.ReportMetric(100*float64(read)/float64(len(pids)), "read-%")
			cancel()
		})
	}
}
