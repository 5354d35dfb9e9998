// Command apiserver-latency measures the latency vnfguard adds to a pod CREATE through a real kube-apiserver:
// the same load — N creates from C concurrent clients, each with its own connection — with no admission, with the
// vnfguard webhook registered, and with vnfguard's ValidatingAdmissionPolicies (admission.mode policies: the CEL
// twins, evaluated in the API server) instead, and with -floor also one policy that judges nothing of the pod
// (the API server's cost of any policy: the floor vnfguard's sit on), in rotating rounds of one run, side by side.
// Each round starts with
// unmeasured creates (-round-warmup): switching configurations registers the webhook or the policies again, and the
// API server's first requests after that open new TLS connections to the webhook or compile the policies, which a
// cluster that keeps its configuration does not pay per request (a third of the webhook's 30 slowest creates of
// 3000 were the first 20 of a round before).
//
// The pod is a typical CNF pod in a protected VNF namespace, created by the VNFM identity for an INSTANTIATED
// instance with the declared image digest: vnfguard runs every check and allows it, so the difference between the
// configurations is what the webhook call costs (TLS round trip, AdmissionReview encoding, policy, lookups) and what
// the in-process policies cost.
//
// The control plane is started without controllers, scheduler and simulated node (lab.Options.APIServerOnly), so
// that nothing but the benchmark's requests competes for the CPU; API Priority and Fairness is off, so that the
// API server's queueing does not blur the figures (both configurations alike).
//
//	go run ./bench/apiserver-latency -vnfguard bin/vnfguard -creates 3000 -concurrency 100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	admregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type options struct {
	controlPlaneDir, vnfguard, workDir string
	profile                            string
	twins                              string
	probes, floor                      bool
	creates, concurrency, rounds       int
	warmup, roundWarmup                int
	rate                               float64
	keep                               bool
}

func main() {
	var o options
	flag.StringVar(&o.controlPlaneDir, "controlplane-dir", "", "control-plane binaries (default: $"+lab.ControlPlaneDirEnv+" or the build cache)")
	flag.StringVar(&o.vnfguard, "vnfguard", "bin/vnfguard", "the vnfguard binary to register")
	flag.StringVar(&o.workDir, "work-dir", "", "work directory (default: a temporary one, removed afterwards)")
	flag.IntVar(&o.creates, "creates", 3000, "pod creates per configuration")
	flag.IntVar(&o.concurrency, "concurrency", 100, "concurrent clients, each with its own connection")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds per configuration (creates are split evenly)")
	flag.IntVar(&o.warmup, "warmup", 300, "creates per configuration before measuring (connections, caches, JIT of the Go runtime's pools)")
	flag.IntVar(&o.roundWarmup, "round-warmup", 50, "unmeasured creates at the start of each round, after the switch to its configuration: the API server's new connections to a webhook just registered again, its policies just compiled again")
	flag.Float64Var(&o.rate, "rate", 0, "total creates per second, paced (open loop); 0 sends as fast as the clients can (closed loop, saturation)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.profile, "apiserver-profile", "", "write kube-apiserver's CPU profile (5 s, /debug/pprof) taken during the first measured round of this configuration (e.g. policies:cpu.pprof)")
	flag.BoolVar(&o.probes, "probes", false, "create lab.CNFPodWithProbes (environment variables, an exec and an HTTP probe) instead of lab.CNFPod, the pod of the earlier figures")
	flag.BoolVar(&o.floor, "floor", false, "also measure one policy of one validation that reads only the pod's name, bound in every namespace: what the API server charges any policy on a pod CREATE (it converts the pod, the request and the namespace for each of its three evaluation contexts), the floor of the policies configuration")
	flag.StringVar(&o.twins, "twins", "", "comma-separated checks: the policies configuration installs only the policies that hold their twins (default: all)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "apiserver-latency:", err)
		os.Exit(1)
	}
}

// result is what one configuration measured.
type result struct {
	name      string
	latencies []time.Duration
	errors    int
	firstErr  error
	elapsed   time.Duration
}

func run(ctx context.Context, o options) error {
	if o.creates < o.rounds || o.concurrency < 1 || o.rounds < 1 {
		return fmt.Errorf("need -creates ≥ -rounds ≥ 1 and -concurrency ≥ 1 (got %d, %d, %d)", o.creates, o.rounds, o.concurrency)
	}
	binDir := o.controlPlaneDir
	if binDir == "" {
		binDir = lab.DefaultBinDir()
	}
	binary, err := filepath.Abs(o.vnfguard)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("vnfguard binary: %w (run `make build` first)", err)
	}
	workDir := o.workDir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "vnfguard-bench-"); err != nil {
			return err
		}
	}
	if !o.keep {
		defer os.RemoveAll(workDir)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[apiserver-latency %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}

	progress("starting etcd, kube-apiserver and vnfguard")
	env, err := lab.StartStack(ctx, lab.Options{
		BinDir: binDir, WorkDir: workDir, Logger: logger, APIServerOnly: true, AdmissionPolicies: true,
		ExtraAPIServerArgs: append([]string{"--enable-priority-and-fairness=false", "--max-mutating-requests-inflight=400"}, profiling(o.profile)...),
	}, binary)
	if err != nil {
		return err
	}
	defer env.CP.Stop()
	// The instance the benchmark pods belong to: INSTANTIATED, so that vnfguard allows them after every check.
	env.NFVO.Set(lab.UPF, vnf.Instantiated, vnf.Started)
	if err := env.NFVO.Publish(ctx, env.Guard); err != nil {
		return err
	}

	clients, err := newClients(env.CP, o.concurrency)
	if err != nil {
		return err
	}
	// The same checks as the API server's own policies (admission.mode policies): the CEL twins of vnfguard's
	// configuration, applied directly, with the lifecycle parameters every benchmark namespace needs.
	admin, adminCfg := env.CP.ClientFor(lab.Admin)
	cfg, err := config.Load(env.Guard.ConfigPath)
	if err != nil {
		return err
	}
	set, err := apipolicy.Render(cfg)
	if err != nil {
		return err
	}
	if o.twins != "" {
		keep := strings.Split(o.twins, ",")
		var filtered apipolicy.Set
		for _, p := range set.Policies {
			if slices.ContainsFunc(strings.Split(p.Annotations[apipolicy.CheckAnnotation], ","), func(c string) bool { return slices.Contains(keep, c) }) {
				filtered.Policies = append(filtered.Policies, p)
				filtered.Bindings = append(filtered.Bindings, set.BindingsOf(p.Name)...)
			}
		}
		set = &filtered
	}
	dyn, err := dynamic.NewForConfig(adminCfg)
	if err != nil {
		return err
	}
	with := &result{name: "webhook"}
	policies := &result{name: "policies"}
	without := &result{name: "no admission"}
	floor := &result{name: "any policy"}
	mode := modeWebhook
	perRound := o.creates / o.rounds
	ns := 0
	// load creates n pods in a namespace of its own, the first warm of them unmeasured.
	load := func(r *result, warm, n int) error {
		ns++
		namespace := fmt.Sprintf("bench-%d", ns)
		if err := env.CP.EnsureNamespace(ctx, namespace, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
			return err
		}
		if err := writeParams(ctx, dyn, namespace); err != nil {
			return err
		}
		newPod := lab.CNFPod
		if o.probes {
			newPod = lab.CNFPodWithProbes
		}
		for _, b := range []struct {
			prefix string
			n      int
			target *result
		}{{"warm", warm, &result{name: r.name}}, {"upf", n, r}} {
			if b.n == 0 {
				continue
			}
			burst(ctx, clients, namespace, b.prefix, b.n, o.rate, newPod, b.target)
			if b.target.firstErr != nil && b.target.errors == b.n {
				return fmt.Errorf("%s: every create failed, first: %w", r.name, b.target.firstErr)
			}
		}
		return nil
	}
	setMode := func(want int) error {
		if want == mode {
			return nil
		}
		switch {
		case mode == modeWebhook:
			if err := env.Guard.Unregister(ctx); err != nil {
				return err
			}
		case mode == modePolicies:
			if err := apipolicy.Remove(ctx, admin); err != nil {
				return err
			}
			if err := lab.WaitPoliciesEnforced(ctx, env.CP, false); err != nil {
				return err
			}
		case mode == modeFloor:
			if err := removeFloor(ctx, admin); err != nil {
				return err
			}
		}
		mode = want
		switch want {
		case modeWebhook:
			return env.Guard.Register(ctx)
		case modePolicies:
			if err := (&apipolicy.Keeper{Client: admin, Set: set}).Apply(ctx); err != nil {
				return err
			}
			return lab.WaitPoliciesEnforced(ctx, env.CP, true)
		case modeFloor:
			return applyFloor(ctx, admin)
		}
		return nil
	}
	type configuration struct {
		r    *result
		mode int
	}
	configs := []configuration{{without, modeNone}, {with, modeWebhook}, {policies, modePolicies}}
	if o.floor {
		configs = append(configs, configuration{floor, modeFloor})
	}

	progress("warm-up: %d creates per configuration", o.warmup)
	for _, c := range configs {
		if err := setMode(c.mode); err != nil {
			return err
		}
		if err := load(c.r, o.warmup, 0); err != nil {
			return err
		}
	}
	for round := 1; round <= o.rounds; round++ {
		// Rotate which configuration goes first, so that drift (a growing etcd, GC) hits all alike.
		order := append(slices.Clone(configs[round%len(configs):]), configs[:round%len(configs)]...)
		for _, c := range order {
			if err := setMode(c.mode); err != nil {
				return err
			}
			progress("round %d/%d: %d creates %s, %d clients", round, o.rounds, perRound, c.r.name, o.concurrency)
			var profiled chan error
			if name, file, ok := strings.Cut(o.profile, ":"); ok && name == c.r.name && round == 1 {
				profiled = make(chan error, 1)
				go func() { profiled <- apiserverProfile(ctx, admin, file) }()
			}
			if err := load(c.r, o.roundWarmup, perRound); err != nil {
				return err
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return err
				}
			}
		}
	}
	var results []*result
	for _, c := range configs {
		results = append(results, c.r)
	}
	report(os.Stdout, o, results)
	if text, err := env.Guard.Metrics(ctx); err == nil {
		sum, count := metricValue(text, "vnfguard_admission_duration_seconds_sum"), metricValue(text, "vnfguard_admission_duration_seconds_count")
		if count > 0 {
			fmt.Fprintf(os.Stdout, "\nvnfguard's own handling time (decode, policy, encode) over all %d reviews it answered: mean %.3f ms, p50 ≤ %s, p99 ≤ %s (histogram buckets)\n",
				int(count), sum/count*1000, bucketQuantile(text, "vnfguard_admission_duration_seconds_bucket", 0.5), bucketQuantile(text, "vnfguard_admission_duration_seconds_bucket", 0.99))
		}
	}
	var failed []string
	var first []error
	for _, r := range results {
		if r.errors > 0 {
			failed = append(failed, fmt.Sprintf("%d with %s", r.errors, r.name))
			first = append(first, r.firstErr)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("creates failed: %s; first: %v", strings.Join(failed, ", "), errors.Join(first...))
	}
	return nil
}

// newClients builds n clientsets acting as the VNFM, each with its own connection (a custom dialer keeps
// client-go from sharing one transport) and without client-side rate limiting.
func newClients(cp *lab.ControlPlane, n int) ([]kubernetes.Interface, error) {
	out := make([]kubernetes.Interface, n)
	for i := range out {
		_, cfg := cp.ClientFor(lab.VNFM)
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		cfg.Dial = dialer.DialContext
		cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		out[i] = cs
	}
	return out, nil
}

// burst creates n pods (named prefix-000001 ...) in namespace from all clients at once and records each create's latency. With a rate, a
// pacer hands out one create every 1/rate seconds, so that latency is the service time rather than the queueing
// of a saturated machine.
func burst(ctx context.Context, clients []kubernetes.Interface, namespace, prefix string, n int, rate float64, newPod func(namespace, name string) *corev1.Pod, r *result) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var tokens chan struct{}
	stop := make(chan struct{})
	defer close(stop)
	if rate > 0 {
		tokens = make(chan struct{})
		go func() {
			interval := time.Duration(float64(time.Second) / rate)
			t0 := time.Now()
			for i := 0; ; i++ {
				time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
				select {
				case tokens <- struct{}{}:
				case <-stop:
					return
				}
			}
		}()
	}
	start := time.Now()
	for _, cs := range clients {
		wg.Add(1)
		go func(cs kubernetes.Interface) {
			defer wg.Done()
			var local []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				if tokens != nil {
					<-tokens
				}
				pod := newPod(namespace, fmt.Sprintf("%s-%06d", prefix, i))
				t0 := time.Now()
				_, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			r.latencies = append(r.latencies, local...)
			mu.Unlock()
		}(cs)
	}
	wg.Wait()
	r.elapsed += time.Since(start)
}

type stats struct {
	n                   int
	p50, p90, p99, mean time.Duration
	throughput          float64
}

func summarize(r *result) stats {
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	s := stats{n: len(l)}
	if len(l) == 0 {
		return s
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	s.mean = sum / time.Duration(len(l))
	s.p50 = l[len(l)*50/100]
	s.p90 = l[len(l)*90/100]
	s.p99 = l[min(len(l)-1, len(l)*99/100)]
	if r.elapsed > 0 {
		s.throughput = float64(len(l)) / r.elapsed.Seconds()
	}
	return s
}

func report(w *os.File, o options, results []*result) {
	load := "closed loop (as fast as the clients can)"
	if o.rate > 0 {
		load = fmt.Sprintf("paced at %.0f creates/s", o.rate)
	}
	fmt.Fprintf(w, "pod CREATE through kube-apiserver %s, %d concurrent clients, %s, %d creates per configuration in %d alternating rounds (each after %d unmeasured); %s/%s, %d CPUs\n\n",
		lab.KubernetesVersion, o.concurrency, load, o.creates, o.rounds, o.roundWarmup, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\tcreates\terrors\tp50\tp90\tp99\tmean\tcreates/s\t")
	all := make([]stats, len(results))
	for i, r := range results {
		s := summarize(r)
		all[i] = s
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%.0f\t\n", r.name, s.n, r.errors, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.mean), s.throughput)
	}
	for i := 1; i < len(all); i++ {
		d := func(a, b time.Duration) string { return ms(b - a) }
		fmt.Fprintf(tw, "added by %s\t\t\t%s\t%s\t%s\t%s\t\t\n", results[i].name, d(all[0].p50, all[i].p50), d(all[0].p90, all[i].p90), d(all[0].p99, all[i].p99), d(all[0].mean, all[i].mean))
	}
	tw.Flush()
}

// metricValue sums the samples of a metric (every label set) in Prometheus text format.
func metricValue(text, name string) float64 {
	var total float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			total += v
		}
	}
	return total
}

// bucketQuantile returns the upper bound of the first histogram bucket holding the q quantile.
func bucketQuantile(text, name string, q float64) string {
	type bucket struct{ le, n float64 }
	var buckets []bucket
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		i := strings.Index(line, `le="`)
		if i < 0 {
			continue
		}
		rest := line[i+4:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		le, err := strconv.ParseFloat(rest[:j], 64)
		if err != nil {
			le = math.Inf(1)
		}
		fields := strings.Fields(rest[j:])
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		buckets = append(buckets, bucket{le, n})
	}
	if len(buckets) == 0 {
		return "?"
	}
	total := buckets[len(buckets)-1].n
	for _, b := range buckets {
		if b.n >= q*total {
			if math.IsInf(b.le, 1) {
				return "+Inf"
			}
			return ms(time.Duration(b.le * float64(time.Second)))
		}
	}
	return "+Inf"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// The admission configurations compared.
const (
	modeNone = iota
	modeWebhook
	modePolicies
	modeFloor
)

// floorName names the policy, its binding and the pod it refuses (the probe that says it is in force).
const floorName = "bench-floor"

// applyFloor installs the floor policy and waits until the API server enforces it: a dry-run create of the probe
// pod is refused.
func applyFloor(ctx context.Context, admin kubernetes.Interface) error {
	api := admin.AdmissionregistrationV1()
	pol := &admregv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: floorName}, Spec: admregv1.ValidatingAdmissionPolicySpec{
		FailurePolicy: ptr.To(admregv1.Fail),
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{{RuleWithOperations: admregv1.RuleWithOperations{
			Operations: []admregv1.OperationType{admregv1.Create, admregv1.Update},
			Rule:       admregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}}},
		Validations: []admregv1.Validation{{Expression: "object.metadata.name != '" + floorName + "'", Message: "the floor policy's probe"}},
	}}
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, pol, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the floor policy: %w", err)
	}
	// Without a controller manager nobody makes default's ServiceAccount, which the probe needs to reach admission.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("ServiceAccount default/default: %w", err)
	}
	b := &admregv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: floorName}, Spec: admregv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: floorName, ValidationActions: []admregv1.ValidationAction{admregv1.Deny}}}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the floor policy's binding: %w", err)
	}
	return waitFloor(ctx, admin, true)
}

// removeFloor deletes the floor policy and its binding and waits until the probe pod is admitted again.
func removeFloor(ctx context.Context, admin kubernetes.Interface) error {
	api := admin.AdmissionregistrationV1()
	if err := api.ValidatingAdmissionPolicyBindings().Delete(ctx, floorName, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete the floor policy's binding: %w", err)
	}
	if err := api.ValidatingAdmissionPolicies().Delete(ctx, floorName, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete the floor policy: %w", err)
	}
	return waitFloor(ctx, admin, false)
}

// waitFloor polls a dry-run create of the probe pod in namespace default (whose ServiceAccount applyFloor made)
// until the API server refuses it (enforced) or admits it.
func waitFloor(ctx context.Context, admin kubernetes.Interface, enforced bool) error {
	probe := lab.CNFPod("default", floorName)
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = admin.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		refused := last != nil && strings.Contains(last.Error(), "the floor policy's probe")
		return refused == enforced, nil
	})
	if err != nil {
		return fmt.Errorf("the floor policy enforced=%v not seen within a minute (the probe's last answer: %v): %w", enforced, last, err)
	}
	return nil
}

// writeParams gives a benchmark namespace the lifecycle parameters the policies need in a protected namespace: the
// UPF instance, running (what vnfguard's reconciliation would write).
func writeParams(ctx context.Context, dyn dynamic.Interface, namespace string) error {
	obj := apipolicy.ParamsObject(namespace, map[string]string{apipolicy.KeyInstance + lab.UPF.InstanceID: apipolicy.Runnable})
	_, err := dyn.Resource(apipolicy.ParamsGVR).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{})
	return err
}

// apiserverProfile writes a 5-second CPU profile of kube-apiserver to file.
func apiserverProfile(ctx context.Context, admin kubernetes.Interface, file string) error {
	data, err := admin.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "5").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver CPU profile: %w", err)
	}
	return os.WriteFile(file, data, 0o644)
}

// profiling turns kube-apiserver's /debug/pprof on (the lab turns it off) when a profile is asked for.
func profiling(profile string) []string {
	if profile == "" {
		return nil
	}
	return []string{"--profiling=true"}
}
