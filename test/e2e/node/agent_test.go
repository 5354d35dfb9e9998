package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestNodeAgent runs vnfguard node beside a real kubelet and containerd and attacks the node the ways that skip
// the API server: the kubelet's own /run API, ctr, a Docker Engine API on TCP; and it checks that what a node does
// every day (a VNFM's pod, exec probes, a break-glass kubectl exec) raises nothing.
func TestNodeAgent(t *testing.T) {
	dir, binary := prepare(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // includes waiting for the real-node lock
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, RealNode: true, AuditToVNFGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	node := cp.RealNode()
	admin, _ := cp.ClientFor(lab.Admin)
	vnfm, _ := cp.ClientFor(lab.VNFM)

	stack, err := cp.StartRuntimeStack(ctx, binary, []string{"--runtime-exec-grace", "2s", "--runtime-zombie-grace", "3s"}, []string{"--resync", "3s"})
	if err != nil {
		t.Fatal(err)
	}
	guard, agent, nfvo, edge, pod := stack.Guard, stack.Agent, stack.NFVO, stack.Edge, stack.Pod
	defer func() {
		if t.Failed() {
			agentLog, _ := os.ReadFile(agent.LogFile)
			guardLog, _ := os.ReadFile(guard.StderrFile)
			t.Logf("node agent log (tail):\n%s\nvnfguard log (tail):\n%s", tail(string(agentLog), 30), tail(string(guardLog), 30))
		}
	}()
	runtimeFindings := func() []finding.Finding {
		var out []finding.Finding
		for _, f := range guard.Findings() {
			if f.Source == "runtime" {
				out = append(out, f)
			}
		}
		return out
	}
	// waitRuntime waits up to 10 s for a runtime finding of rule whose message contains what, and says how long
	// after since it was printed.
	waitRuntime := func(rule, what string, since time.Time) (finding.Finding, time.Duration) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, f := range runtimeFindings() {
				if f.Rule == rule && strings.Contains(f.Message, what) {
					return f, time.Since(since)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %s finding about %q within 10 s; runtime findings: %v", rule, what, summarize(runtimeFindings()))
		return finding.Finding{}, 0
	}

	// readLogsThroughKubelet reads the VNF pod's logs through the API server's proxy to the real node's kubelet
	// (nodes/proxy containerLogs: no pods/log request is made), as ops-admin, and returns the audit findings that
	// request raised: it waits up to 10 s for nodes-proxy-access, which any such request by a person raises, so
	// that a rule that did not fire had its chance.
	readLogsThroughKubelet := func() []finding.Finding {
		t.Helper()
		ops, _ := cp.ClientFor(lab.OpsAdmin)
		before := len(guard.Findings())
		path := "containerLogs/" + edge.Namespace + "/" + pod.Name + "/" + edge.Container
		if _, err := lab.NodeProxy(ctx, ops, lab.ExecGET, node.Name, path, nil); err != nil {
			t.Fatalf("nodes/proxy %s: %v (want the kubelet's answer: the read is real)", path, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var mine []finding.Finding
			for _, f := range guard.Findings()[before:] {
				if f.Source == "audit" && f.Identity == lab.OpsAdmin && strings.Contains(f.Evidence["requestURI"], "/proxy/"+path) {
					mine = append(mine, f)
				}
			}
			if slices.ContainsFunc(mine, func(f finding.Finding) bool { return f.Rule == "nodes-proxy-access" }) {
				return mine
			}
			if time.Now().After(deadline) {
				t.Fatalf("no nodes-proxy-access finding for nodes/proxy %s by %s within 10 s: %v", path, lab.OpsAdmin, summarize(mine))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	hasRule := func(fs []finding.Finding, rule string) (finding.Finding, bool) {
		i := slices.IndexFunc(fs, func(f finding.Finding) bool { return f.Rule == rule })
		if i < 0 {
			return finding.Finding{}, false
		}
		return fs[i], true
	}

	// Benign: the VNFM instantiated the VNF on the real node (StartRuntimeStack); the kubelet execs its readiness
	// probe every 2 s; the on-call engineer execs into it through the API server (break-glass on a running VNF).
	_, breakGlass := cp.ClientFor(lab.BreakGlass)
	stdout, stderr, err := lab.ExecOutput(ctx, breakGlass, edge.Namespace, pod.Name, edge.Container, []string{"/bin/sh", "-c", "echo via-api-server"})
	if err != nil || strings.TrimSpace(stdout) != "via-api-server" {
		t.Fatalf("break-glass kubectl exec: %q %q %v", stdout, stderr, err)
	}
	// A second instance goes through its whole lifecycle as a VNFM drives it: instantiate, scale out, heal (a VNFC
	// replaced), stop (its pods deleted with the stop), terminate.
	core := lab.VNF{InstanceID: "core-1", VnfdID: "vnfd-core", Product: "EDGE", Namespace: edge.Namespace, WorkloadKind: "Pod",
		Workload: "core-0", Container: "edge", PinnedImage: node.VNFImage()}
	nfvo.Add(core)
	nfvo.Set(core, vnf.Instantiated, vnf.Started)
	if err := nfvo.Publish(ctx, guard); err != nil {
		t.Fatal(err)
	}
	createVNFC := func(name string) {
		t.Helper()
		if _, err := vnfm.CoreV1().Pods(edge.Namespace).Create(ctx, node.VNFPod(core, name), metav1.CreateOptions{}); err != nil {
			t.Fatalf("the VNFM's pod %s: %v", name, err)
		}
		if err := lab.WaitPodRunning(ctx, admin, edge.Namespace, name, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	deleteVNFCs := func(names ...string) {
		t.Helper()
		for _, name := range names {
			if err := vnfm.CoreV1().Pods(edge.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](1)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range names {
			if err := lab.WaitPodGone(ctx, admin, edge.Namespace, name, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	createVNFC("core-0")
	createVNFC("core-1")  // scale out
	deleteVNFCs("core-1") // heal: the VNFC is replaced
	createVNFC("core-2")
	deleteVNFCs("core-0", "core-2") // stop: the VNFM stops the instance and removes its pods
	nfvo.Set(core, vnf.Instantiated, vnf.Stopped)
	if err := nfvo.Publish(ctx, guard); err != nil {
		t.Fatal(err)
	}
	nfvo.Set(core, vnf.NotInstantiated, "") // terminate
	if err := nfvo.Publish(ctx, guard); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second) // probes run, the exec's grace passes, resyncs report every container, the zombie grace passes
	if got := runtimeFindings(); len(got) > 0 {
		t.Fatalf("benign lifecycle (instantiate, scale, heal, stop, terminate; exec probes; break-glass kubectl exec) raised runtime findings: %v", summarize(got))
	}
	t.Logf("benign: instantiate, scale, heal, stop, terminate, exec probes every 2 s and a break-glass kubectl exec: no runtime finding")

	// The control for the read below: the running VNF's logs read through the kubelet's API are a use of
	// nodes/proxy (medium), not a read of a dormant VNF's data.
	if f, dormant := hasRule(readLogsThroughKubelet(), "kubelet-read-dormant-vnf-logs"); dormant {
		t.Errorf("the running VNF's logs read through the kubelet raised %s: %s", f.Rule, f.Message)
	}

	// The NFVO stops the VNF but its pod keeps running: a zombie, seen on the node.
	nfvo.Set(edge, vnf.Instantiated, vnf.Stopped)
	stopped := time.Now()
	if err := nfvo.Publish(ctx, guard); err != nil {
		t.Fatal(err)
	}
	z, took := waitRuntime("zombie-container", pod.Name, stopped)
	t.Logf("zombie found %.1f s after the stop (zombie grace 3 s, resync 3 s): %s", took.Seconds(), z.Message)

	// The attack: a command through the kubelet's own API into the STOPPED VNF's container. No admission request,
	// no audit event — the control: the API server's audit log has no exec for the pod.
	// (Not the readiness probe's own command: that one the kubelet runs every 2 s, and it is no bypass.)
	cmd := []string{"cat", "/etc/hostname", "/etc/passwd"}
	sent := time.Now()
	out, err := cp.KubeletRun(ctx, edge.Namespace, pod.Name, edge.Container, cmd)
	if err != nil || !strings.HasPrefix(out, pod.Name+"\n") {
		t.Fatalf("kubelet /run: %q, %v", out, err)
	}
	f, took := waitRuntime("exec-bypassed-api-server-dormant-vnf", pod.Name, sent)
	if took > 5*time.Second {
		t.Errorf("the bypass finding came %.1f s after the exec; want within 5 s", took.Seconds())
	}
	for _, want := range []string{edge.Namespace + "/" + pod.Name, "container " + edge.Container, edge.InstanceID, "STOPPED", "no API-server audit event"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("bypass finding does not name %q: %s", want, f.Message)
		}
	}
	if f.Severity != finding.Critical || f.Technique != finding.AccessingTerminatedVNF || f.VNFInstance != edge.InstanceID {
		t.Errorf("bypass finding: severity %s technique %s instance %q", f.Severity, f.Technique, f.VNFInstance)
	}
	if got := f.Evidence["command"]; got != strings.Join(cmd, " ") || !strings.Contains(f.Message, strings.Join(cmd, " ")) {
		t.Errorf("the bypass finding's command is %q, want %q (read at execve from the kernel's process events)", got, strings.Join(cmd, " "))
	}
	audit, _ := os.ReadFile(cp.AuditLogFile)
	if strings.Contains(string(audit), `"pods/`+pod.Name+`/exec`) || strings.Contains(string(audit), "/pods/"+pod.Name+"/exec?command=cat") {
		t.Errorf("the API server's audit log has an exec of cat into %s: the /run did pass the API server", pod.Name)
	}
	t.Logf("kubelet /run bypass found %.2f s after the request: %s (command evidence %q)", took.Seconds(), f.Message, f.Evidence["command"])

	// The STOPPED VNF's logs read through the kubelet's API (nodes/proxy containerLogs/NS/POD/CONTAINER): the
	// kubelet answers, no pods/log request is made, and the audit event names the node; detection judges the pod
	// the path names by its lifecycle.
	logs, dormant := hasRule(readLogsThroughKubelet(), "kubelet-read-dormant-vnf-logs")
	switch {
	case !dormant:
		t.Errorf("the STOPPED VNF's logs read through the kubelet raised no kubelet-read-dormant-vnf-logs finding")
	case logs.Severity != finding.High || logs.Technique != finding.AccessingTerminatedVNF || logs.VNFInstance != edge.InstanceID ||
		logs.Evidence["vnfState"] != "STOPPED" || !strings.Contains(logs.Message, edge.InstanceID+", which is STOPPED"):
		t.Errorf("kubelet-read-dormant-vnf-logs: severity %s technique %s instance %q state %q: %s", logs.Severity, logs.Technique,
			logs.VNFInstance, logs.Evidence["vnfState"], logs.Message)
	default:
		t.Logf("the STOPPED VNF's logs read through the kubelet: %s", logs.Message)
	}

	// ctr -n k8s.io run: a container in the kubelet's own namespace, not made through the CRI.
	ctr := func(args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", node.ContainerdSocket()}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ctr %v: %v\n%s", args, err, out)
		}
	}
	sent = time.Now()
	ctr("-n", "k8s.io", "run", "-d", "--label", "io.kubernetes.pod.namespace="+edge.Namespace, "--label", "io.kubernetes.pod.name="+pod.Name,
		node.VNFImage(), "sneaky-ctr", "/bin/sleep", "300")
	f, took = waitRuntime("rogue-container", "sneaky-ctr", sent)
	if took > 5*time.Second || f.Severity != finding.Critical || f.Technique != finding.MaliciousVNFInstantiation || !strings.Contains(f.Message, "labels prove nothing") {
		t.Errorf("ctr -n k8s.io run: %.1f s, %s %s: %s", took.Seconds(), f.Severity, f.Technique, f.Message)
	}
	t.Logf("ctr -n k8s.io run found %.2f s after: %s", took.Seconds(), f.Message)

	// Doki: a container created and started through the Docker Engine API on TCP, the host's / bind-mounted.
	docker, err := cp.StartDockerEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := docker.ImportBusybox(ctx, "lab/doki:1"); err != nil {
		t.Fatal(err)
	}
	sent = time.Now()
	id, err := docker.RunDetached(ctx, "doki", "lab/doki:1", []string{"/bin/sleep", "300"}, []string{"/:/host:ro"})
	if err != nil {
		t.Fatal(err)
	}
	f, took = waitRuntime("rogue-container", id, sent)
	if took > 5*time.Second || f.Evidence["containerdNamespace"] != "moby" {
		t.Errorf("Docker Engine API container: %.1f s, namespace %q: %s", took.Seconds(), f.Evidence["containerdNamespace"], f.Message)
	}
	t.Logf("Docker Engine API container found %.2f s after its start: %s", took.Seconds(), f.Message)
	scan, _ := exec.CommandContext(ctx, binary, "scan", "--kubeconfig", cp.Kubeconfig(lab.Admin), "--probe", fmt.Sprintf("127.0.0.1:%d", docker.Port), "-o", "json").CombinedOutput()
	if !strings.Contains(string(scan), "exposure-probe-docker") {
		t.Errorf("vnfguard scan --probe does not name the exposed Docker Engine API:\n%s", scan)
	}

	// Kill the agent; meanwhile a container is started with ctr and a command is exec'd into the VNF's container
	// with ctr (both skip the API server); the restarted agent finds both from containerd's state.
	agent.Kill()
	ctr("-n", "k8s.io", "run", "-d", node.VNFImage(), "while-agent-down", "/bin/sleep", "300")
	cid := containerOf(t, ctx, node.ContainerdSocket(), pod.Name)
	go func() {
		_ = exec.CommandContext(ctx, "ctr", "--address", node.ContainerdSocket(), "-n", "k8s.io", "task", "exec", "--exec-id", "sneaky-exec", cid, "/bin/sleep", "30").Run()
	}()
	time.Sleep(time.Second)
	restarted := time.Now()
	if err := agent.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f, took = waitRuntime("rogue-container", "while-agent-down", restarted)
	t.Logf("container started while the agent was down found %.2f s after its restart: %s", took.Seconds(), f.Message)
	f, took = waitRuntime("exec-bypassed-api-server-dormant-vnf", "sleep 30", restarted)
	t.Logf("exec made while the agent was down found %.2f s after its restart: %s", took.Seconds(), f.Message)

	// Nothing else: the VNF's own containers (sandbox included) raised no rogue or image finding.
	for _, f := range runtimeFindings() {
		if f.Rule == "undeclared-image-digest" || (f.Rule == "rogue-container" && !strings.Contains(f.Message, "sneaky-ctr") &&
			!strings.Contains(f.Message, "while-agent-down") && !strings.Contains(f.Message, id)) {
			t.Errorf("unexpected runtime finding: %s: %s", f.Rule, f.Message)
		}
	}
}

// containerOf is the containerd ID of the pod's app container.
func containerOf(t *testing.T, ctx context.Context, socket, pod string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "ctr", "--address", socket, "-n", "k8s.io", "containers", "ls", "labels.\"io.kubernetes.pod.name\"=="+pod+",labels.\"io.kubernetes.container.name\"=="+lab.EdgeVNF.Container, "-q").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("the container of %s: %v %s", pod, err, out)
	}
	return strings.Fields(string(out))[0]
}

func summarize(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+": "+f.Message)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
