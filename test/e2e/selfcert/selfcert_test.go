package selfcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/selfcert"
)

// Short lifetimes so that the test sees a renewal and a CA rotation: the serving certificate is renewed 20 s after
// it was issued (the CA's end clamps it), and the CA 40 s after it was made; the new CA signs 5 s after it joined
// the bundle, and the old one leaves 5 s after the serving certificate moved.
const (
	caValidity   = 60 * time.Second
	certValidity = 40 * time.Second
	renewBefore  = 20 * time.Second
	overlap      = 5 * time.Second
)

// TestReplicasManageOneCertificate: two replicas started together against an empty namespace end with one CA Secret
// and one TLS Secret; both serve the Secret's certificate, which verifies against the caBundle of the registration
// the leader wrote; the certificate is renewed, then the CA rotated, and both replicas serve each new certificate
// without a restart while the API server, through a round-robin "Service" in front of them, keeps calling vnfguard:
// every probe in between is denied by the webhook, none fails to reach it.
func TestReplicasManageOneCertificate(t *testing.T) {
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	configPath := filepath.Join(dir, "vnfguard.yaml")
	for path, data := range map[string]string{
		filepath.Join(dir, "inventory.yaml"): "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfInstances: []\n",
		configPath: `apiVersion: vnfguard.io/v1alpha1
kind: Config
identities:
  vnfm: {users: [` + lab.VNFM + `]}
inventory: {file: inventory.yaml}
self: {registration: {reapply: true}}
`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	if err := cp.EnsureNamespace(ctx, lab.Sandbox, nil); err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	attacker, _ := cp.ClientFor(lab.Attacker)
	if n := managedSecrets(ctx, t, admin); n != 0 {
		t.Fatalf("%d vnfguard Secrets before the start, want an empty namespace", n)
	}

	racingIssuers(ctx, t, admin, cp.AuditLogFile)

	// The "Service": one address for the registration, connections spread over the replicas in turn.
	a, b := newReplica(t, "a"), newReplica(t, "b")
	svc := roundRobin(t, a.addr, b.addr)
	url := "https://" + svc + "/validate"
	for _, r := range []*replica{a, b} {
		r.start(t, binary, dir, "serve", "--config", configPath, "--kubeconfig", cp.Kubeconfig(lab.VNFGuard),
			"--listen", r.addr, "--metrics-listen", r.metrics, "--reconcile=false",
			"--tls-secret", install.TLSSecret, "--tls-ca-secret", install.CASecret, "--webhook-url", url,
			"--tls-ca-validity", caValidity.String(), "--tls-cert-validity", certValidity.String(),
			"--tls-renew-before", renewBefore.String(), "--tls-ca-overlap", overlap.String())
	}
	defer a.stop()
	defer b.stop()
	for _, r := range []*replica{a, b} {
		waitFor(ctx, t, 60*time.Second, "replica "+r.name+" ready (a certificate from the Secret loaded)", func() bool { return r.ready(ctx) })
	}

	// Exactly one CA: one CA Secret with one CA in its bundle, one TLS Secret signed by it.
	if n := managedSecrets(ctx, t, admin); n != 2 {
		t.Fatalf("%d Secrets made by vnfguard, want the CA Secret and the TLS Secret", n)
	}
	bundle := caBundle(ctx, t, admin)
	if len(bundle) != 1 {
		t.Fatalf("the CA Secret's bundle holds %d CAs, want 1: the replicas did not agree on one CA", len(bundle))
	}
	first := servingSecret(ctx, t, admin)
	// The API server's audit log says who created what: one create of each Secret succeeded; a replica that lost
	// the race got AlreadyExists (409) and took the winner's.
	created, lost := secretCreates(t, cp.AuditLogFile, lab.VNFGuard, "vnfguard")
	if created[install.CASecret] != 1 || created[install.TLSSecret] != 1 {
		t.Fatalf("Secrets created per the audit log: %v, want each once", created)
	}
	t.Logf("creates of the CA Secret by the replicas: 1 succeeded, %d lost the race (AlreadyExists)", lost[install.CASecret])
	waitRegistration(ctx, t, admin, bundle)
	both(ctx, t, admin, a, b, first)

	// The API server calls vnfguard through the "Service" and trusts what it serves.
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "p"), dryRun); !lab.IsWebhookDenial(err) {
		t.Fatalf("the Peirates pod through the API server: %v, want a webhook denial", err)
	}
	stopProbe := probe(ctx, attacker)

	// Renewal: a new serving certificate from the same CA, served by both without a restart.
	var renewed *x509.Certificate
	waitFor(ctx, t, 40*time.Second, "the serving certificate's renewal", func() bool {
		renewed = servingSecret(ctx, t, admin)
		return !renewed.Equal(first)
	})
	if !verifies(renewed, bundle) {
		t.Fatal("the renewed certificate is not the CA's")
	}
	both(ctx, t, admin, a, b, renewed)
	t.Logf("renewed: serial %s -> %s, both replicas serve it", first.SerialNumber.Text(16), renewed.SerialNumber.Text(16))

	// CA rotation: the bundle holds old and new, the registration follows, then the certificate moves to the new CA.
	var rotated []*x509.Certificate
	waitFor(ctx, t, 40*time.Second, "the CA's rotation", func() bool {
		rotated = caBundle(ctx, t, admin)
		return len(rotated) == 2
	})
	if !rotated[1].Equal(bundle[0]) || rotated[0].Equal(bundle[0]) {
		t.Fatal("after the rotation the bundle is not the new CA followed by the old one")
	}
	waitRegistration(ctx, t, admin, rotated)
	var moved *x509.Certificate
	waitFor(ctx, t, 20*time.Second, "a serving certificate of the new CA", func() bool {
		moved = servingSecret(ctx, t, admin)
		return verifies(moved, rotated[:1])
	})
	both(ctx, t, admin, a, b, moved)
	waitFor(ctx, t, 20*time.Second, "the old CA to leave the bundle", func() bool { return len(caBundle(ctx, t, admin)) == 1 })
	waitRegistration(ctx, t, admin, rotated[:1])
	both(ctx, t, admin, a, b, moved)

	// The TLS Secret deleted: the replicas keep serving the last good certificate, a new one is issued at once
	// from the same CA, and both serve it.
	if err := admin.CoreV1().Secrets("vnfguard").Delete(ctx, install.TLSSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var reissued *x509.Certificate
	waitFor(ctx, t, 15*time.Second, "a new TLS Secret after the deletion", func() bool {
		s, err := admin.CoreV1().Secrets("vnfguard").Get(ctx, install.TLSSecret, metav1.GetOptions{})
		if err != nil {
			return false
		}
		pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
		reissued = pair.Leaf
		return err == nil
	})
	if reissued.Equal(moved) || !verifies(reissued, rotated[:1]) {
		t.Fatal("the TLS Secret made after the deletion is not a new certificate of the current CA")
	}
	both(ctx, t, admin, a, b, reissued)
	time.Sleep(2 * time.Second)

	probes, failures := stopProbe()
	if probes < 20 {
		t.Errorf("only %d probes during the rotation", probes)
	}
	for _, f := range failures {
		t.Errorf("the API server did not get vnfguard's denial during renewal and rotation: %s", f)
	}
	t.Logf("%d admission probes through the API server during renewal and CA rotation, %d not denied by vnfguard", probes, len(failures))
	for _, r := range []*replica{a, b} {
		if r.exited() {
			t.Errorf("replica %s exited: the certificate must change without a restart", r.name)
		}
		if got, want := r.metric(ctx, t, "vnfguard_webhook_certificate_expiry_timestamp_seconds"), float64(reissued.NotAfter.Unix()); got != want {
			t.Errorf("replica %s exports certificate expiry %v, want %v (the certificate it serves)", r.name, got, want)
		}
		// vnfguard's own caBundle updates are no registration drift.
		out, err := os.ReadFile(r.findings)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), `"rule":"`+admission.DriftRule+`"`) {
			t.Errorf("replica %s reported registration drift for vnfguard's own rotation:\n%s", r.name, tail(out, 3000))
		}
	}
}

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// secretCreates counts, from the API server's audit log, user's creates of Secrets in namespace by name:
// those that succeeded and those refused with 409 AlreadyExists.
func secretCreates(t *testing.T, auditLog, user, namespace string) (created, lost map[string]int) {
	t.Helper()
	data, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	created, lost = map[string]int{}, map[string]int{}
	for line := range strings.Lines(string(data)) {
		var ev struct {
			Stage     string                                     `json:"stage"`
			Verb      string                                     `json:"verb"`
			User      struct{ Username string }                  `json:"user"`
			ObjectRef struct{ Resource, Namespace, Name string } `json:"objectRef"`
			Response  struct{ Code int }                         `json:"responseStatus"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Stage != "ResponseComplete" || ev.Verb != "create" ||
			ev.User.Username != user || ev.ObjectRef.Resource != "secrets" || ev.ObjectRef.Namespace != namespace {
			continue
		}
		switch ev.Response.Code {
		case http.StatusCreated:
			created[ev.ObjectRef.Name]++
		case http.StatusConflict:
			lost[ev.ObjectRef.Name]++
		default:
			t.Errorf("vnfguard's create of Secret %q answered %d", ev.ObjectRef.Name, ev.Response.Code)
		}
	}
	return created, lost
}

// managedSecrets counts the Secrets vnfguard made in its namespace.
func managedSecrets(ctx context.Context, t *testing.T, admin kubernetes.Interface) int {
	t.Helper()
	list, err := admin.CoreV1().Secrets("vnfguard").List(ctx, metav1.ListOptions{LabelSelector: selfcert.ManagedByLabel + "=" + selfcert.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

func caBundle(ctx context.Context, t *testing.T, admin kubernetes.Interface) []*x509.Certificate {
	t.Helper()
	s, err := admin.CoreV1().Secrets("vnfguard").Get(ctx, install.CASecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := certutil.ParseCertsPEM(s.Data[selfcert.BundleKey])
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func servingSecret(ctx context.Context, t *testing.T, admin kubernetes.Interface) *x509.Certificate {
	t.Helper()
	s, err := admin.CoreV1().Secrets("vnfguard").Get(ctx, install.TLSSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}

func pool(cas []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cas {
		p.AddCert(c)
	}
	return p
}

func verifies(c *x509.Certificate, cas []*x509.Certificate) bool {
	_, err := c.Verify(x509.VerifyOptions{Roots: pool(cas), DNSName: "127.0.0.1"})
	return err == nil
}

// waitRegistration waits until every webhook of the registration carries exactly the bundle.
func waitRegistration(ctx context.Context, t *testing.T, admin kubernetes.Interface, bundle []*x509.Certificate) {
	t.Helper()
	want, err := certutil.EncodeCertificates(bundle...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, 30*time.Second, fmt.Sprintf("the registration's caBundle to be the CA Secret's (%d CAs)", len(bundle)), func() bool {
		c, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "vnfguard", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, h := range c.Webhooks {
			if string(h.ClientConfig.CABundle) != string(want) {
				return false
			}
		}
		return len(c.Webhooks) > 0
	})
}

// both waits until each replica serves want, in a handshake verified as the API server verifies it: against the
// registration's caBundle as it is now, for the registration's host.
func both(ctx context.Context, t *testing.T, admin kubernetes.Interface, a, b *replica, want *x509.Certificate) {
	t.Helper()
	c, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "vnfguard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.Webhooks[0].ClientConfig.CABundle) {
		t.Fatal("the registration's caBundle holds no certificate")
	}
	for _, r := range []*replica{a, b} {
		var last error
		var got *x509.Certificate
		waitFor(ctx, t, 15*time.Second, "replica "+r.name+" to serve serial "+want.SerialNumber.Text(16), func() bool {
			got, last = r.served(roots)
			return last == nil && got.Equal(want)
		})
	}
}

// replica is one `vnfguard serve` process.
type replica struct {
	name, addr, metrics string
	findings            string // its stdout: one finding per line
	cmd                 *exec.Cmd
	done                chan struct{}
}

func newReplica(t *testing.T, name string) *replica {
	return &replica{name: name, addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), metrics: "127.0.0.1:" + strconv.Itoa(freePort(t)), done: make(chan struct{})}
}

func (r *replica) start(t *testing.T, binary, dir string, args ...string) {
	t.Helper()
	stderr, err := os.Create(filepath.Join(dir, "vnfguard-"+r.name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := os.Create(filepath.Join(dir, "vnfguard-"+r.name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	r.findings = stdout.Name()
	r.cmd = exec.Command(binary, args...)
	r.cmd.Stderr, r.cmd.Stdout, r.cmd.Dir = stderr, stdout, dir
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); stderr.Close(); stdout.Close(); close(r.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(stderr.Name()); err == nil {
				t.Logf("replica %s log (last 4000 bytes):\n%s", r.name, tail(log, 4000))
			}
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (r *replica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *replica) stop() {
	if r.cmd == nil || r.exited() {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *replica) ready(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.metrics+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// metric reads one unlabelled sample from the replica's /metrics.
func (r *replica) metric(ctx context.Context, t *testing.T, name string) float64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.metrics+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if value, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return v
		}
	}
	t.Fatalf("replica %s exports no %s", r.name, name)
	return 0
}

// served is the certificate the replica presents in a new handshake, verified against roots for the host the
// registration names (127.0.0.1).
func (r *replica) served(roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", r.addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// probe sends dry-run creates of a host-takeover pod through the API server until stopped; every answer but
// vnfguard's denial is a failure (cluster.vnfguard.io fails open, so an unreachable or untrusted vnfguard shows as
// an admitted pod).
func probe(ctx context.Context, attacker kubernetes.Interface) func() (int, []string) {
	var n atomic.Int32
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(300 * time.Millisecond):
			}
			_, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, lab.PeiratesPod(lab.Sandbox, "p"), dryRun)
			n.Add(1)
			if !lab.IsWebhookDenial(err) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
				mu.Unlock()
			}
		}
	}()
	return func() (int, []string) {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return int(n.Load()), failures
	}
}

// roundRobin listens on a loopback port and passes each connection to the backends in turn, as a Service's
// endpoints share connections; TLS goes through untouched.
func roundRobin(t *testing.T, backends ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var next atomic.Uint32
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", backends[int(next.Add(1))%len(backends)], 3*time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { _, _ = io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return ln.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(ctx context.Context, t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// racingIssuers: eight issuers started at the same instant against the real API server, in a namespace of their
// own, end with one CA: the losers of the create get AlreadyExists and take the winner's.
func racingIssuers(ctx context.Context, t *testing.T, admin kubernetes.Interface, auditLog string) {
	t.Helper()
	const ns = "selfcert-race"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		i, err := selfcert.NewIssuer(selfcert.Options{Client: admin, Namespace: ns, CASecret: "ca", TLSSecret: "tls", Hosts: []string{"127.0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			if _, err := i.Reconcile(ctx); err != nil {
				t.Errorf("a racing issuer failed: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	s, err := admin.CoreV1().Secrets(ns).Get(ctx, "ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cas, err := certutil.ParseCertsPEM(s.Data[selfcert.BundleKey])
	if err != nil || len(cas) != 1 {
		t.Fatalf("after the race the CA bundle holds %d CAs (%v), want one", len(cas), err)
	}
	tlsSecret, err := admin.CoreV1().Secrets(ns).Get(ctx, "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(tlsSecret.Data["tls.crt"], tlsSecret.Data["tls.key"])
	if err != nil || !verifies(pair.Leaf, cas) {
		t.Fatalf("after the race the serving certificate is not the surviving CA's: %v", err)
	}
	created, lost := secretCreates(t, auditLog, lab.Admin, ns)
	if created["ca"] != 1 || created["tls"] != 1 {
		t.Fatalf("Secrets created per the audit log: %v, want each once", created)
	}
	t.Logf("8 issuers raced on an empty namespace: one CA Secret (%d creates refused with AlreadyExists), one TLS Secret (%d refused), the serving certificate the CA's",
		lost["ca"], lost["tls"])
}
