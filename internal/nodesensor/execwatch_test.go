package nodesensor

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestExecWatchReadsShortLivedCommands: /bin/true has ended long before anything could read its /proc entry on
// request; the process event was read at execve.
func TestExecWatchReadsShortLivedCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := StartExecWatch(ctx, "/proc")
	if err != nil {
		t.Fatalf("the kernel's process events (CI runs as root with CAP_NET_ADMIN): %v", err)
	}
	cmd := exec.Command("/bin/true", "vnfguard-exec-watch-test")
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
			if !slices.Equal(got, []string{"/bin/true", "vnfguard-exec-watch-test"}) {
				t.Fatalf("command %q", got)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the exec of /bin/true was not seen")
}
