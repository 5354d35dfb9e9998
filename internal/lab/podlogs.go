package lab

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// KeepLogs follows the container log files the kubelet writes for the pods of namespace, from now until the
// returned function is called, which gives each file's content by "pod/container". The kubelet removes a pod's
// logs with the pod; a file held open stays readable, so the logs of a pod deleted meanwhile are kept too — which is
// what explains a replica that was slow to stop.
func (n *Node) KeepLogs(namespace string) func() map[string]string {
	var (
		mu   sync.Mutex
		logs = map[string]*strings.Builder{}
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	follow := func(name string, f *os.File) {
		defer f.Close()
		buf := make([]byte, 32<<10)
		for {
			k, err := f.Read(buf)
			if k > 0 {
				mu.Lock()
				logs[name].Write(buf[:k])
				mu.Unlock()
			}
			if err == io.EOF || k == 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			} else if err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		followed := map[uint64]bool{}
		for ctx.Err() == nil {
			// pod-logs/<namespace>_<pod>_<uid>/<container>/<restart>.log
			files, _ := filepath.Glob(filepath.Join(n.Dir, "pod-logs", namespace+"_*", "*", "*.log"))
			for _, file := range files {
				rel, _ := filepath.Rel(filepath.Join(n.Dir, "pod-logs"), file)
				parts := strings.Split(rel, string(filepath.Separator))
				pod := strings.Split(strings.TrimPrefix(parts[0], namespace+"_"), "_")[0]
				name := pod + "/" + parts[1] + "#" + strings.TrimSuffix(parts[2], ".log")
				// The kubelet rotates a log by renaming it and starting a new file of the same name: a file is
				// known by its inode, and the followed old one ends where the new one begins.
				info, err := os.Stat(file)
				if err != nil {
					continue
				}
				st, ok := info.Sys().(*syscall.Stat_t)
				if !ok || followed[st.Ino] {
					continue
				}
				followed[st.Ino] = true
				mu.Lock()
				if logs[name] == nil {
					logs[name] = &strings.Builder{}
				}
				mu.Unlock()
				if f, err := os.Open(file); err == nil {
					wg.Go(func() { follow(name, f) })
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	return func() map[string]string {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for name, b := range logs {
			out[name] = b.String()
		}
		return out
	}
}
