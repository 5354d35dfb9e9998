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

// readCommand reads a process's command line from the node's /proc (procRoot: /proc, or the host's /proc mounted
// elsewhere). An exec's process may end milliseconds after it started, before containerd's event reaches the
// sensor: then the error says so, and the report goes out without the command — never without the exec.
// errEnded marks the errors of readCommand for a process that had ended: it wraps to no text of its own, so the
// messages stay as they were.
var errEnded = endedError{}

type endedError struct{}

func (endedError) Error() string { return "" }

func readCommand(procRoot string, pid uint32) ([]string, error) {
	if pid == 0 {
		return nil, errors.New("containerd reported no pid")
	}
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.FormatUint(uint64(pid), 10), "cmdline"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("process %d had ended before its command line could be read%w", pid, errEnded)
	case err != nil:
		return nil, fmt.Errorf("read the command line of process %d: %w", pid, err)
	case len(data) == 0:
		return nil, fmt.Errorf("process %d had ended (or is a zombie) before its command line could be read%w", pid, errEnded)
	}
	parts := bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out, nil
}
