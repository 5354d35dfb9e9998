package nodesensor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// processEnded is readCommand's error for a process that had ended (or is a zombie) before its command line could
// be read: the inventory leaves such an exec to its exec-started event.
type processEnded struct {
	pid    uint32
	zombie bool // its command line was empty
}

func (e processEnded) Error() string {
	if e.zombie {
		return fmt.Sprintf("process %d had ended (or is a zombie) before its command line could be read", e.pid)
	}
	return fmt.Sprintf("process %d had ended before its command line could be read", e.pid)
}

// readCommand reads a process's command line from the node's /proc (procRoot: /proc, or the host's /proc mounted
// elsewhere). An exec's process may end milliseconds after it started, before containerd's event reaches the
// sensor: then the error says so (processEnded), and the report goes out without the command — never without the
// exec.
func readCommand(procRoot string, pid uint32) ([]string, error) {
	if pid == 0 {
		return nil, errors.New("containerd reported no pid")
	}
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10), "cmdline"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, processEnded{pid: pid}
	case err != nil:
		return nil, fmt.Errorf("read the command line of process %d: %w", pid, err)
	case len(data) == 0:
		return nil, processEnded{pid: pid, zombie: true}
	}
	parts := bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out, nil
}
