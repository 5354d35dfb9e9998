package lookups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// informers is the number of watches vnfguard's cluster view keeps: its kinds and namespaces.
var informers = len(cluster.Kinds) + 1

const (
	clients    = 200
	namespaces = 10 // fresh namespaces per run; clients spread over them
)

// configYAML protects namespaces by label (the default), so that whether a namespace is protected takes a lookup
// of its labels: the lookup the fault proxy breaks.
func configYAML(inventory string) string {
	return `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces:
  selector:
    matchLabels: {vnfguard.io/protected: "true"}
identities:
  vnfm: {users: [` + lab.VNFM + `]}
registries:
  allowed: ["` + lab.Registry + `"]
inventory:
  file: ` + inventory + `
`
}

// peirates is Peirates' pod in full: the node's root filesystem, hostPID with a privileged container, and a
// /dev/tcp reverse shell.
func peirates(namespace, name string) *corev1.Pod {
	p := lab.PeiratesPod(namespace, name)
	p.Spec.HostPID = true
	privileged := true
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	return p
}

type outcome struct {
	admitted, denied int
	other            []error
	messages         []string // the webhook's denial messages
}

// attack has `clients` concurrent clients create (dry run: admission runs in full, nothing is stored) Peirates'
// pod as the attacker, spread over the namespaces.
func attack(ctx context.Context, cp *lab.ControlPlane, nss []string, n int) outcome {
	cs, _ := cp.ClientFor(lab.Attacker)
	var (
		mu  sync.Mutex
		out outcome
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := nss[i%len(nss)]
			<-start
			_, err := cs.CoreV1().Pods(ns).Create(ctx, peirates(ns, fmt.Sprintf("peirates-%03d", i)), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out.admitted++
			case lab.IsWebhookDenial(err):
				out.denied++
				var st apierrors.APIStatus
				if errors.As(err, &st) {
					out.messages = append(out.messages, st.Status().Message)
				}
			default:
				out.other = append(out.other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func freshNamespaces(ctx context.Context, t *testing.T, cp *lab.ControlPlane, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		ns := fmt.Sprintf("%s-%d", prefix, i)
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		out = append(out, ns)
	}
	return out
}

// TestSlowOrFailingAPIServerAdmitsNoPeiratesPod is the acceptance test of issue 10, item 1: with the API server
// answering vnfguard's reads slowly, or with 503, 200 concurrent clients creating Peirates' pod in namespaces that
// are not protected and that vnfguard has not cached get 0 pods admitted — each is denied by the checks that need
// no lookup, and the decision says what vnfguard could not look up and why.
func TestSlowOrFailingAPIServerAdmitsNoPeiratesPod(t *testing.T) {
	binDir := lab.DefaultBinDir()
	tmp := t.TempDir()
	binary, err := lab.PrepareE2E(tmp, true)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := lab.Start(ctx, lab.Options{BinDir: binDir, WorkDir: filepath.Join(tmp, "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	inventory := filepath.Join(cp.WorkDir, "inventory.yaml")
	if _, err := lab.NewNFVO(inventory, lab.UPF, lab.UDR).Write(); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(cp.WorkDir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte(configYAML(inventory)), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy, err := cp.StartFaultProxy(lab.VNFGuard) // vnfguard's own ServiceAccount, as every lab vnfguard runs
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	// vnfguard reads the cluster through the proxy only (the last --kubeconfig wins); the API server calls its
	// webhook directly.
	guard, err := cp.StartVNFGuard(ctx, binary, configPath, "--kubeconfig", proxy.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Control: the attack is real. Without vnfguard's registration the API server admits the pods.
	if err := guard.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	control := attack(ctx, cp, freshNamespaces(ctx, t, cp, "control", 2), 20)
	if control.admitted != 20 {
		t.Fatalf("control run without vnfguard: %d of 20 Peirates pods admitted (other errors: %v); the attack is not real", control.admitted, control.other)
	}
	if err := guard.Register(ctx); err != nil {
		t.Fatal(err)
	}

	for _, run := range []struct {
		name   string
		fault  lab.Fault
		delay  time.Duration
		reason string // what the internal error must say about the API server
	}{
		{"slow", lab.Slow, 4 * time.Second, "slow or unavailable"},
		{"unavailable", lab.Unavailable, 0, "HTTP 503"},
	} {
		t.Run(run.name, func(t *testing.T) {
			// vnfguard's informers watch through the proxy (again, after the previous run's fault).
			waited := time.Now()
			for proxy.Streams() < informers && time.Since(waited) < time.Minute {
				time.Sleep(100 * time.Millisecond)
			}
			if n := proxy.Streams(); n < informers {
				t.Fatalf("%d watches through the proxy after %s; want vnfguard's %d informers", n, time.Since(waited).Round(time.Millisecond), informers)
			}
			t.Logf("vnfguard's informers watch through the proxy (%d streams, after %s)", proxy.Streams(), time.Since(waited).Round(time.Millisecond))
			before, stats := guard.FindingCount(), proxy.Stats()
			proxy.Set(run.fault, run.delay)
			defer proxy.Set(lab.Pass, 0)
			// Created after the fault is on: the informers' watches are broken, so vnfguard has never seen them.
			nss := freshNamespaces(ctx, t, cp, "peirates-"+run.name, namespaces)
			started := time.Now()
			got := attack(ctx, cp, nss, clients)
			took := time.Since(started)
			after := proxy.Stats()
			t.Logf("%s API server: %d clients in %s: %d admitted, %d denied by the webhook, %d other errors; "+
				"vnfguard made %d namespace GETs (%d reads faulted, %d watches broken) for %d requests in %d namespaces",
				run.name, clients, took.Round(time.Millisecond), got.admitted, got.denied, len(got.other),
				after.NamespaceGets-stats.NamespaceGets, after.Faulted-stats.Faulted, after.BrokenWatches-stats.BrokenWatches, clients, namespaces)

			if got.admitted != 0 {
				t.Errorf("%d of %d Peirates pods admitted with the API server %s", got.admitted, clients, run.name)
			}
			if len(got.other) > 0 {
				t.Errorf("%d requests failed otherwise than by the webhook's denial, e.g. %v", len(got.other), got.other[0])
			}
			if after.Faulted == stats.Faulted {
				t.Fatal("the proxy faulted no read: vnfguard did not look anything up through it")
			}
			if after.BrokenWatches == stats.BrokenWatches {
				t.Fatal("the switch to the fault broke no watch: vnfguard's informers do not read through the proxy")
			}
			if n := after.NamespaceGets - stats.NamespaceGets; n >= clients {
				t.Errorf("%d namespace GETs for %d requests: a storm of live lookups", n, clients)
			}
			withError := 0
			for _, msg := range got.messages {
				for _, want := range []string{"[host-takeover FGT5013]", "[reverse-shell FGT5013]", "[pod-security FGT5013]", `hostPath "/"`, "/dev/tcp"} {
					if !strings.Contains(msg, want) {
						t.Fatalf("denial does not name %q: %s", want, msg)
					}
				}
				if i := strings.Index(msg, "[internal-error]"); i >= 0 {
					withError++
					text := msg[i:]
					if !strings.Contains(text, "read the labels of namespace peirates-"+run.name) || !strings.Contains(text, run.reason) {
						t.Errorf("internal error does not say which lookup failed and why (%q): %s", run.reason, text)
					}
				}
			}
			if withError == 0 {
				t.Errorf("no denial reports the failed lookup: vnfguard was not denied its lookups")
			}

			// The findings: a denial by host-takeover for every pod, and internal errors that say what failed.
			var takeover, internal int
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				takeover, internal = 0, 0
				for _, f := range guard.Findings()[before:] {
					if !strings.HasPrefix(f.Object.Namespace, "peirates-"+run.name) {
						continue
					}
					switch f.Rule {
					case "host-takeover":
						if f.Action == "denied" && strings.Contains(f.Message, `hostPath "/"`) {
							takeover++
						}
					case "internal-error":
						internal++
						checkInternalError(t, f)
					}
				}
				if takeover >= clients {
					break
				}
				guard.WaitFindings(ctx, guard.FindingCount(), time.Second)
			}
			if takeover < clients {
				t.Errorf("%d host-takeover denial findings on the root mount for %d pods", takeover, clients)
			}
			if internal == 0 {
				t.Errorf("no internal-error finding for the failed lookups")
			}
			t.Logf("findings: %d host-takeover denials of the root mount, %d internal errors, %d denials reporting the failed lookup", takeover, internal, withError)
			metrics, err := guard.Metrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`vnfguard_admission_decisions_total{check="lookup",result="error"}`, `vnfguard_admission_decisions_total{check="host-takeover",result="denied"}`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// checkInternalError: an internal-error finding says what failed and why: never empty, never ending at a colon.
func checkInternalError(t *testing.T, f finding.Finding) {
	t.Helper()
	msg := strings.TrimSpace(f.Message)
	if msg == "" || strings.HasSuffix(msg, ":") || strings.Contains(msg, ": (") || strings.Contains(msg, ":  ") {
		t.Errorf("internal-error finding without a reason: %q", f.Message)
	}
}
