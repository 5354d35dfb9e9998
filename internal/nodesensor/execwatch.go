package nodesensor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ExecWatch reads the command line of every process the moment it calls execve, from the kernel's process events
// (the netlink proc connector): containerd reports an exec only after the shim has published it, tens of
// milliseconds later, when a short command (cat of a file) has long ended. It keeps what it read by PID for a
// minute, for the sensor to look up when containerd's event arrives. It needs the host's PID namespace and
// CAP_NET_ADMIN (the kernel sends process events only to such listeners); without them Start fails and the
// sensor reads /proc when the event arrives, which loses the race for short commands.
type ExecWatch struct {
	procRoot string
	fd       int
	tid      int // the reading thread

	mu     sync.Mutex
	byPID  map[uint32]execSeen
	byExec map[string]execSeen // containerID/execID → the args of runc's process spec
	seen   uint64
}

type execSeen struct {
	command []string
	at      time.Time
}

const execWatchKeep = time.Minute

// execWatchNice is the nice value of the thread that reads process events: the highest weight the scheduler gives
// a normal (not real-time) thread. (A variable for BenchmarkExecWatchUnderLoad's comparison with the default, 0.)
var execWatchNice = -20

// StartExecWatch subscribes to the kernel's process events and reads them until ctx ends.
func StartExecWatch(ctx context.Context, procRoot string) (*ExecWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("nodesensor: process events: netlink socket: %w", err)
	}
	// A burst of execs (a node starting pods) must not overflow the socket: lost events mean commands read late.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	// Port 0: the kernel assigns a free port ID (a second watch in the process, a restarted one, does not collide).
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nodesensor: process events: bind: %w", err)
	}
	var port uint32
	if sa, err := unix.Getsockname(fd); err == nil {
		if nl, ok := sa.(*unix.SockaddrNetlink); ok {
			port = nl.Pid
		}
	}
	if err := unix.Sendto(fd, listenMessage(port), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nodesensor: process events: subscribe (needs CAP_NET_ADMIN): %w", err)
	}
	w := &ExecWatch{procRoot: procRoot, fd: fd, byPID: map[uint32]execSeen{}, byExec: map[string]execSeen{}}
	go func() {
		<-ctx.Done()
		unix.Close(fd) // ends the read loop
	}()
	// Return once the loop reads at its own weight: an exec from then on is read while it runs.
	reading := make(chan struct{})
	go w.read(reading)
	<-reading
	return w, nil
}

// The proc connector's constants (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc          = 1
	cnValProc          = 1
	procCnMcastListen  = 1
	procEventExec      = 2
	nlmsgHeaderLen     = 16
	cnMsgHeaderLen     = 20
	procEventHeaderLen = 16 // what, cpu, timestamp_ns
)

func listenMessage(port uint32) []byte {
	msg := make([]byte, nlmsgHeaderLen+cnMsgHeaderLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(msg[12:], port)
	binary.NativeEndian.PutUint32(msg[16:], cnIdxProc)
	binary.NativeEndian.PutUint32(msg[20:], cnValProc)
	binary.NativeEndian.PutUint16(msg[32:], 4)
	binary.NativeEndian.PutUint32(msg[36:], procCnMcastListen)
	return msg
}

func (w *ExecWatch) read(reading chan<- struct{}) {
	// runc lives for milliseconds after its execve: the read must not wait behind the node's other work (CI lost
	// a kubelet /run's command on a loaded 2-core machine). The loop keeps one OS thread and raises that thread's
	// scheduling weight; the agent runs as root, and where it may not (no CAP_SYS_NICE) the thread keeps the
	// default weight.
	runtime.LockOSThread()
	w.tid = unix.Gettid()
	_ = unix.Setpriority(unix.PRIO_PROCESS, w.tid, execWatchNice)
	close(reading)
	buf := make([]byte, 16<<10)
	for {
		n, _, err := unix.Recvfrom(w.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				continue // the kernel dropped events: those execs fall back to reading /proc late
			}
			return
		}
		for off := 0; off+nlmsgHeaderLen <= n; {
			l := int(binary.NativeEndian.Uint32(buf[off:]))
			if l < nlmsgHeaderLen || off+l > n {
				break
			}
			w.event(buf[off+nlmsgHeaderLen+cnMsgHeaderLen : off+l])
			off += (l + 3) &^ 3
		}
	}
}

func (w *ExecWatch) event(ev []byte) {
	if len(ev) < procEventHeaderLen+8 || binary.NativeEndian.Uint32(ev[0:]) != procEventExec {
		return
	}
	pid := binary.NativeEndian.Uint32(ev[procEventHeaderLen+4:]) // process_tgid
	cmd, err := readCommand(w.procRoot, pid)
	if err != nil {
		return
	}
	now := time.Now()
	key, spec := w.runcExec(pid, cmd)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byPID[pid] = execSeen{command: cmd, at: now}
	if key != "" {
		w.byExec[key] = execSeen{command: spec, at: now}
	}
	if w.seen++; w.seen%4096 == 0 {
		for p, s := range w.byPID {
			if now.Sub(s.at) > execWatchKeep {
				delete(w.byPID, p)
			}
		}
		for k, s := range w.byExec {
			if now.Sub(s.at) > execWatchKeep {
				delete(w.byExec, k)
			}
		}
	}
}

// runcExec reads what an exec will run before it runs: containerd's runc shim starts every exec with
// `runc ... exec --process FILE --pid-file BUNDLE/EXECID.pid ... CONTAINERID`, FILE holding the process spec (args
// included) for as long as runc runs — milliseconds, long before the exec'd command can end. FILE is read through
// /proc/PID/root, which needs the agent to be allowed to look into runc's process (root). Returns the
// containerID/execID key and the args, or "" when cmd is not such a runc or its spec cannot be read.
func (w *ExecWatch) runcExec(pid uint32, cmd []string) (string, []string) {
	if len(cmd) < 4 || filepath.Base(cmd[0]) != "runc" || !slices.Contains(cmd, "exec") {
		return "", nil
	}
	var specFile, pidFile string
	for i := 1; i+1 < len(cmd); i++ {
		switch cmd[i] {
		case "--process", "-p":
			specFile = cmd[i+1]
		case "--pid-file":
			pidFile = cmd[i+1]
		}
	}
	if specFile == "" || pidFile == "" {
		return "", nil
	}
	data, err := os.ReadFile(filepath.Join(w.procRoot, strconv.FormatUint(uint64(pid), 10), "root", specFile))
	if err != nil {
		return "", nil
	}
	var spec struct {
		Args []string `json:"args"`
	}
	if json.Unmarshal(data, &spec) != nil || len(spec.Args) == 0 {
		return "", nil
	}
	execID := strings.TrimSuffix(filepath.Base(pidFile), ".pid")
	return cmd[len(cmd)-1] + "/" + execID, spec.Args
}

// ExecCommand returns the args of exec execID in containerID as runc's process spec had them, if seen in the
// last minute.
func (w *ExecWatch) ExecCommand(containerID, execID string) ([]string, bool) {
	if w == nil {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.byExec[containerID+"/"+execID]
	if !ok || time.Since(s.at) > execWatchKeep {
		return nil, false
	}
	return s.command, true
}

// Command returns the command line process pid last exec'd, if it was seen in the last minute.
func (w *ExecWatch) Command(pid uint32) ([]string, bool) {
	if w == nil {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.byPID[pid]
	if !ok || time.Since(s.at) > execWatchKeep {
		return nil, false
	}
	return s.command, true
}
