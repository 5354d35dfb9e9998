// Command pause is the sandbox ("pause") container of the lab's real node: PID 1 of every pod, holding its
// namespaces. It waits for SIGTERM or SIGINT and reaps the children that are re-parented to it, like
// Kubernetes' own pause. lab.BuildImages builds it (static, no cgo) into the lab's pause image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		// Reap every exited child: with a shared PID namespace, orphans are re-parented to this process.
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
