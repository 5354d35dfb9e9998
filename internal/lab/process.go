package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is one child process of the lab, its output going to one log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logFile string
	log     *os.File
	done    chan struct{}
	err     error // valid once done is closed
	// group: the process leads its own process group (Setpgid), signalled whole: a launcher script and the
	// children it starts.
	group bool
}

// launch starts bin/name with args, stdout and stderr into WorkDir/name.log.
func (cp *ControlPlane) launch(name string, args []string) (*process, error) {
	return startProcess(name, filepath.Join(cp.BinDir, name), args, filepath.Join(cp.WorkDir, name+".log"), nil)
}

// startProcess starts a child process with its output going to logFile (and stdout to stdout when not nil).
func startProcess(name, bin string, args []string, logFile string, configure func(*exec.Cmd) error) (*process, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab: open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = log, log
	// Kill the child when the lab's process dies, so that a crashed test leaves no control plane behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if configure != nil {
		if err := configure(cmd); err != nil {
			log.Close()
			return nil, err
		}
	}
	fmt.Fprintf(log, "# %s %s\n", bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("lab: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logFile: logFile, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// childEnv is the environment of the lab's children without ETCD_* variables, which etcd would read as flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) exitError() string {
	if !p.exited() {
		return "still running"
	}
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// stop sends SIGTERM, waits up to grace, then SIGKILL, and always waits for the exit.
func (p *process) stop(grace time.Duration) {
	if p == nil {
		return
	}
	if p.exited() {
		if p.group {
			_ = p.signal(syscall.SIGKILL) // the leader is gone, its children may not be (a RabbitMQ VM outlived its script)
		}
		return
	}
	if err := p.signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.signal(syscall.SIGKILL)
	}
	select {
	case <-p.done:
		if p.group {
			_ = p.signal(syscall.SIGKILL) // children that outlived their parent
		}
		return
	case <-time.After(grace):
	}
	_ = p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *process) signal(sig syscall.Signal) error {
	if p.group {
		return syscall.Kill(-p.cmd.Process.Pid, sig)
	}
	return p.cmd.Process.Signal(sig)
}

// tail returns the last n lines of the process's log, for error messages.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logFile)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
