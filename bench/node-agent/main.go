// Command node-agent measures vnfguard's node agent (`vnfguard node`) on the lab's real node: its CPU and memory
// on an idle node and while containers start at a steady rate, and how long a runtime event takes to become a
// finding (containerd's event → agent → serve's /runtime → durable queue → runtime rules → finding printed).
//
// The idle and loaded phases run one after the other in one run, so their ratio is what the starts cost. The
// starts are `ctr run --rm` of a short container in a containerd namespace the agent is told to allow (the agent
// reports each container; no finding is made), so the figures are the agent's own work per container. Latency
// is measured for containers started with ctr in containerd's default namespace (rogue-container, no settle
// wait) and for execs with ctr into a VNF pod's container (exec-bypassed-api-server, which waits by design for
// the exec grace, --runtime-exec-grace, before it concludes no API-server exec accounts for it).
//
//	go run ./bench/node-agent -vnfguard bin/vnfguard -idle 60s -load 120s -rate 100
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

func main() {
	binary := flag.String("vnfguard", "bin/vnfguard", "the vnfguard binary")
	idle := flag.Duration("idle", 60*time.Second, "idle phase")
	load := flag.Duration("load", 120*time.Second, "loaded phase")
	rate := flag.Int("rate", 100, "container starts per minute in the loaded phase")
	samples := flag.Int("samples", 20, "latency samples of each kind")
	flag.Parse()
	if err := run(*binary, *idle, *load, *rate, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "node-agent:", err)
		os.Exit(1)
	}
}

func run(binary string, idle, load time.Duration, rate, samples int) error {
	binary, _ = filepath.Abs(binary)
	dir, err := os.MkdirTemp("", "vnfguard-bench-node-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), idle+load+15*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, RealNode: true, AuditToVNFGuard: true})
	if err != nil {
		return err
	}
	defer cp.Stop()
	node := cp.RealNode()
	stack, err := cp.StartRuntimeStack(ctx, binary, nil, []string{"--allow-namespace", "bench"})
	if err != nil {
		return err
	}
	guard, agent, edge, pod := stack.Guard, stack.Agent, stack.Edge, stack.Pod
	ctr := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", node.ContainerdSocket()}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr %v: %w: %s", args, err, out)
		}
		return nil
	}
	for _, ns := range []string{"bench", "default"} {
		if err := ctr("-n", ns, "images", "pull", "--plain-http", node.VNFImage()); err != nil {
			return err
		}
	}
	fmt.Printf("== machine: %d CPUs, %s, load average %s\n", numCPU(), cpuModel(), loadavg())
	fmt.Printf("== node: kubelet v1.34.4, containerd %s, one VNF pod with an exec readiness probe every 2 s\n", containerdVersion())

	// Idle, then loaded.
	time.Sleep(5 * time.Second) // the agent's first inventory and the pod's start settle
	idleUse, err := measure(agent.Pid(), idle, nil)
	if err != nil {
		return err
	}
	starts := 0
	loadUse, err := measure(agent.Pid(), load, func(stop <-chan struct{}) {
		tick := time.NewTicker(time.Minute / time.Duration(rate))
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				starts++
				name := "bench-" + strconv.Itoa(starts)
				wg.Go(func() { _ = ctr("-n", "bench", "run", "--rm", node.VNFImage(), name, "/bin/sleep", "2") })
			}
		}
	})
	if err != nil {
		return err
	}
	fmt.Printf("\n%-34s %10s %12s %12s\n", "phase", "agent CPU", "agent RSS", "agent RSS max")
	fmt.Printf("%-34s %9.2f%% %10.1f MiB %10.1f MiB\n", fmt.Sprintf("idle (%s)", idle), idleUse.cpu, idleUse.rssMiB, idleUse.maxMiB)
	fmt.Printf("%-34s %9.2f%% %10.1f MiB %10.1f MiB\n", fmt.Sprintf("%d starts/min (%d in %s)", rate, starts, load), loadUse.cpu, loadUse.rssMiB, loadUse.maxMiB)
	if idleUse.cpu > 0 {
		fmt.Printf("ratio loaded/idle CPU: %.1f×\n", loadUse.cpu/idleUse.cpu)
	}

	// Latency: event → finding printed by serve.
	waitFinding := func(match func(finding.Finding) bool, since time.Time) (time.Duration, error) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if slices.ContainsFunc(guard.Findings(), match) {
				return time.Since(since), nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		return 0, fmt.Errorf("no finding within 20 s")
	}
	var rogue, bypass []time.Duration
	for i := range samples {
		name := "rogue-" + strconv.Itoa(i)
		start := time.Now()
		if err := ctr("-n", "default", "run", "-d", node.VNFImage(), name, "/bin/sleep", "600"); err != nil {
			return err
		}
		d, err := waitFinding(func(f finding.Finding) bool { return f.Rule == "rogue-container" && f.Evidence["containerID"] == name }, start)
		if err != nil {
			return fmt.Errorf("rogue container %s: %w", name, err)
		}
		rogue = append(rogue, d)
	}
	cid, err := containerOf(ctx, node.ContainerdSocket(), pod.Name, edge.Container)
	if err != nil {
		return err
	}
	for i := range samples {
		id := "bench-exec-" + strconv.Itoa(i)
		start := time.Now()
		if err := ctr("-n", "k8s.io", "task", "exec", "--exec-id", id, cid, "/bin/true"); err != nil {
			return err
		}
		d, err := waitFinding(func(f finding.Finding) bool {
			return f.Rule == "exec-bypassed-api-server" && f.Evidence["execID"] == id
		}, start)
		if err != nil {
			agentLog, _ := os.ReadFile(agent.LogFile)
			guardLog, _ := os.ReadFile(guard.StderrFile)
			var got []string
			for _, f := range guard.Findings() {
				got = append(got, f.Rule+" "+f.Evidence["execID"])
			}
			return fmt.Errorf("exec %s: %w; findings %v\nagent:\n%s\nserve:\n%s", id, err, got, tailLines(string(agentLog), 15), tailLines(string(guardLog), 15))
		}
		bypass = append(bypass, d)
	}
	fmt.Printf("\n%-58s %8s %8s %8s\n", "runtime event → finding printed", "p50", "p95", "max")
	show := func(what string, ds []time.Duration) {
		slices.Sort(ds)
		fmt.Printf("%-58s %7.0fms %7.0fms %7.0fms\n", what, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(ds[len(ds)-1]))
	}
	show(fmt.Sprintf("ctr run in namespace default → rogue-container (n=%d)", samples), rogue)
	show(fmt.Sprintf("ctr task exec → exec-bypassed-api-server (n=%d, grace 2 s)", samples), bypass)
	read, benchRogue := 0, 0
	for _, f := range guard.Findings() {
		if f.Rule == "exec-bypassed-api-server" && f.Evidence["command"] == "/bin/true" {
			read++
		}
		if f.Rule == "rogue-container" && f.Evidence["containerdNamespace"] == "bench" {
			benchRogue++
		}
	}
	fmt.Printf("command lines named in the bypass findings: %d of %d (/bin/true ends within a millisecond)\n", read, samples)
	if benchRogue > 0 {
		return fmt.Errorf("%d rogue-container findings for the allowed namespace bench", benchRogue)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type usage struct{ cpu, rssMiB, maxMiB float64 }

// measure samples the process's CPU time and RSS every second for d while work runs.
func measure(pid int, d time.Duration, work func(stop <-chan struct{})) (usage, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	if work != nil {
		go func() { defer close(done); work(stop) }()
	} else {
		close(done)
	}
	t0, err := cpuTicks(pid)
	if err != nil {
		return usage{}, err
	}
	start := time.Now()
	var rss []float64
	for time.Since(start) < d {
		time.Sleep(time.Second)
		if r, err := rssMiB(pid); err == nil {
			rss = append(rss, r)
		}
	}
	t1, err := cpuTicks(pid)
	close(stop)
	<-done
	if err != nil {
		return usage{}, err
	}
	elapsed := time.Since(start).Seconds()
	u := usage{cpu: float64(t1-t0) / 100 / elapsed * 100} // USER_HZ is 100 on Linux
	for _, r := range rss {
		u.rssMiB += r / float64(len(rss))
		u.maxMiB = max(u.maxMiB, r)
	}
	return u, nil
}

func cpuTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseUint(fields[11], 10, 64)
	stime, _ := strconv.ParseUint(fields[12], 10, 64)
	return utime + stime, nil
}

func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

func containerOf(ctx context.Context, socket, pod, container string) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", "--address", socket, "-n", "k8s.io", "containers", "ls", "-q",
		`labels."io.kubernetes.pod.name"==`+pod+`,labels."io.kubernetes.container.name"==`+container).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("the container of %s: %v %s", pod, err, out)
	}
	return strings.Fields(string(out))[0], nil
}

func numCPU() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(data), "processor\t:")
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name\t: "); ok {
			return v
		}
	}
	return "unknown CPU"
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func containerdVersion() string {
	out, _ := exec.Command("containerd", "--version").Output()
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[2]
	}
	return "?"
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
