package selfcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	certutil "k8s.io/client-go/util/cert"
)

const ns = "vnfguard"

// apiClient is a fake clientset that, like the API server, sets resourceVersions and refuses an update whose
// resourceVersion is not the stored one (the fake tracker alone accepts any).
func apiClient() *fake.Clientset {
	cs := fake.NewClientset()
	var rv atomic.Int64
	cs.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret)
		s.ResourceVersion = strconv.FormatInt(rv.Add(1), 10)
		return false, nil, nil
	})
	cs.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret)
		old, err := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), s.Namespace, s.Name)
		if err != nil {
			return true, nil, err
		}
		if old.(*corev1.Secret).ResourceVersion != s.ResourceVersion {
			return true, nil, apierrors.NewConflict(corev1.Resource("secrets"), s.Name, errors.New("the object has been modified"))
		}
		s.ResourceVersion = strconv.FormatInt(rv.Add(1), 10)
		return false, nil, nil
	})
	return cs
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var hosts = HostsForService(ns, "vnfguard")

func newIssuer(t *testing.T, cs *fake.Clientset, c *clock) *Issuer {
	t.Helper()
	i, err := NewIssuer(Options{Client: cs, Namespace: ns, CASecret: "vnfguard-webhook-ca", TLSSecret: "vnfguard-webhook-tls", Hosts: hosts,
		CAValidity: 100 * time.Hour, CertValidity: 10 * time.Hour, RenewBefore: 4 * time.Hour, Overlap: 10 * time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func reconcile(t *testing.T, i *Issuer) time.Time {
	t.Helper()
	next, err := i.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// state reads both Secrets back: the bundle's CAs and the serving certificate.
func state(t *testing.T, cs *fake.Clientset) (bundle []*x509.Certificate, serving *x509.Certificate) {
	t.Helper()
	ca, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "vnfguard-webhook-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bundle, err = certutil.ParseCertsPEM(ca.Data[BundleKey]); err != nil {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "vnfguard-webhook-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || s.Labels[ManagedByLabel] != ManagedBy {
		t.Errorf("TLS Secret type %q labels %v", s.Type, s.Labels)
	}
	pair, err := tls.X509KeyPair(s.Data[CertKey], s.Data[KeyKey])
	if err != nil {
		t.Fatalf("the TLS Secret's pair does not load: %v", err)
	}
	return bundle, pair.Leaf
}

// verifies says whether serving verifies for hosts[0] against the bundle, as the API server checks it.
func verifies(serving *x509.Certificate, bundle []*x509.Certificate, now time.Time) error {
	pool := x509.NewCertPool()
	for _, c := range bundle {
		pool.AddCert(c)
	}
	_, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: hosts[0], CurrentTime: now})
	return err
}

func TestIssuesCAAndServingCertificate(t *testing.T) {
	cs, c := apiClient(), &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	next := reconcile(t, newIssuer(t, cs, c))
	bundle, serving := state(t, cs)
	if len(bundle) != 1 || !bundle[0].IsCA {
		t.Fatalf("bundle %d certificates, want the one CA", len(bundle))
	}
	if err := verifies(serving, bundle, c.Now()); err != nil {
		t.Fatalf("the serving certificate does not verify against the bundle: %v", err)
	}
	if err := serving.VerifyHostname(hosts[1]); err != nil {
		t.Errorf("not valid for %s: %v", hosts[1], err)
	}
	if want := c.Now().Add(6 * time.Hour); !next.Equal(want) {
		t.Errorf("next pass %s, want the renewal time %s", next, want)
	}
	// A second pass changes nothing.
	before := len(cs.Actions())
	reconcile(t, newIssuer(t, cs, c))
	for _, a := range cs.Actions()[before:] {
		if a.GetVerb() != "get" {
			t.Errorf("an idle pass wrote: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

func TestRenewsWithinRenewBefore(t *testing.T) {
	cs, c := apiClient(), &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	i := newIssuer(t, cs, c)
	reconcile(t, i)
	bundle0, first := state(t, cs)
	c.Add(5*time.Hour + 59*time.Minute) // just before renew-before
	reconcile(t, i)
	if _, s := state(t, cs); !s.Equal(first) {
		t.Fatal("renewed before renew-before")
	}
	c.Add(2 * time.Minute) // within renew-before
	reconcile(t, i)
	bundle, renewed := state(t, cs)
	if renewed.Equal(first) {
		t.Fatal("not renewed within renew-before")
	}
	if len(bundle) != 1 || !bundle[0].Equal(bundle0[0]) {
		t.Error("renewing the serving certificate changed the CA")
	}
	if err := verifies(renewed, bundle, c.Now()); err != nil {
		t.Error(err)
	}
}

func TestRotatesTheCAWithOverlap(t *testing.T) {
	cs, c := apiClient(), &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	i := newIssuer(t, cs, c)
	reconcile(t, i)
	old, _ := state(t, cs)
	// Walk to the CA's renewal (96 h), renewing the serving certificate on the way.
	for c.Now().Before(old[0].NotAfter.Add(-4 * time.Hour)) {
		c.Add(time.Hour)
		reconcile(t, i)
	}
	bundle, serving := state(t, cs)
	if len(bundle) != 2 || !bundle[1].Equal(old[0]) {
		t.Fatalf("after the CA's renewal the bundle holds %d CAs, want the new one and the old one", len(bundle))
	}
	if !signedBy(serving, old[0], c.Now()) {
		t.Fatal("the new CA signed before it had been in the bundle for the overlap")
	}
	if err := verifies(serving, bundle, c.Now()); err != nil {
		t.Fatal(err)
	}
	c.Add(11 * time.Minute) // the new CA is published
	reconcile(t, i)
	bundle, serving = state(t, cs)
	if !signedBy(serving, bundle[0], c.Now()) || signedBy(serving, old[0], c.Now()) {
		t.Fatal("after the overlap the serving certificate is not the new CA's")
	}
	if len(bundle) != 2 {
		t.Fatalf("the old CA left the bundle as soon as the serving certificate moved (%d CAs): replicas may still serve its certificate", len(bundle))
	}
	c.Add(11 * time.Minute)
	reconcile(t, i)
	if bundle, _ = state(t, cs); len(bundle) != 1 || bundle[0].Equal(old[0]) {
		t.Fatalf("bundle %d CAs after the overlap, want the new CA alone", len(bundle))
	}
}

func TestConcurrentIssuersConverge(t *testing.T) {
	cs, c := apiClient(), &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		i := newIssuer(t, cs, c)
		wg.Go(func() {
			if _, err := i.Reconcile(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a replica failed: %v", err)
	}
	creates := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" && a.(k8stesting.CreateAction).GetObject().(*corev1.Secret).Name == "vnfguard-webhook-ca" {
			creates++
		}
	}
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("%d Secrets, want the CA and the TLS Secret", len(list.Items))
	}
	bundle, serving := state(t, cs)
	if len(bundle) != 1 {
		t.Fatalf("bundle holds %d CAs after %d creates, want the winner's alone", len(bundle), creates)
	}
	if err := verifies(serving, bundle, c.Now()); err != nil {
		t.Fatalf("the serving certificate is not the winning CA's: %v", err)
	}
	t.Logf("%d replicas tried to create the CA Secret; one CA results", creates)
	// Renewal at the same moment: every replica's update but one conflicts; the losers re-read and stop.
	c.Add(7 * time.Hour)
	wg = sync.WaitGroup{}
	for range 8 {
		i := newIssuer(t, cs, c)
		wg.Go(func() {
			if _, err := i.Reconcile(context.Background()); err != nil {
				t.Errorf("renewal race: %v", err)
			}
		})
	}
	wg.Wait()
	if _, renewed := state(t, cs); renewed.Equal(serving) || verifies(renewed, bundle, c.Now()) != nil {
		t.Error("the racing renewals did not leave one renewed certificate of the CA")
	}
}

func TestRefusesForeignAndCorruptSecrets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret
		want   string
	}{
		{"foreign CA Secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-webhook-ca", Namespace: ns, Labels: map[string]string{ManagedByLabel: "Helm"}},
			Data: map[string][]byte{"tls.crt": []byte("x")}}, "was not made by vnfguard"},
		{"corrupt CA Secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-webhook-ca", Namespace: ns, Labels: map[string]string{ManagedByLabel: ManagedBy}},
			Data: map[string][]byte{"tls.crt": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "tls.key": []byte("junk")}}, "does not hold a CA"},
		{"corrupt TLS Secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-webhook-tls", Namespace: ns, Labels: map[string]string{ManagedByLabel: ManagedBy}},
			Data: map[string][]byte{"tls.crt": []byte("not PEM")}}, "does not hold a serving certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, c := apiClient(), &clock{t: time.Now()}
			if _, err := cs.CoreV1().Secrets(ns).Create(context.Background(), tc.secret, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := newIssuer(t, cs, c).Reconcile(context.Background())
			var ce *ContentError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "delete it") {
				t.Fatalf("error %v, want a ContentError saying %q and what to do", err, tc.want)
			}
			got, _ := cs.CoreV1().Secrets(ns).Get(context.Background(), tc.secret.Name, metav1.GetOptions{})
			if string(got.Data["tls.crt"]) != string(tc.secret.Data["tls.crt"]) {
				t.Error("the Secret was overwritten")
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	_, err := NewIssuer(Options{Client: fake.NewClientset(), Namespace: ns, CASecret: "a", TLSSecret: "a", Hosts: hosts, RenewBefore: time.Hour, Overlap: 2 * time.Hour})
	for _, want := range []string{"must differ", "overlap"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one about %q", err, want)
		}
	}
}

func TestSourceHotReloads(t *testing.T) {
	cs, c := apiClient(), &clock{t: time.Now()}
	var bundles atomic.Int32
	src, err := NewSource(SourceOptions{Client: cs, Namespace: ns, CASecret: "vnfguard-webhook-ca", TLSSecret: "vnfguard-webhook-tls",
		OnCABundle: func([]byte) { bundles.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	if ok, reason := src.Ready(); ok || !strings.Contains(reason, "no serving certificate") {
		t.Fatalf("ready before any Secret: %v %q", ok, reason)
	}
	if cert, err := src.GetCertificate(nil); err != nil || !strings.Contains(cert.Leaf.Issuer.CommonName, "placeholder") {
		t.Fatalf("before a Secret: %v %v, want the placeholder", cert, err)
	}
	i := newIssuer(t, cs, c)
	reconcile(t, i)
	_, first := state(t, cs)
	waitFor(t, "the first certificate", func() bool { return src.Serial() == first.SerialNumber.Text(16) })
	if ok, _ := src.Ready(); !ok {
		t.Fatal("not ready with a certificate loaded")
	}
	c.Add(7 * time.Hour)
	reconcile(t, i)
	_, renewed := state(t, cs)
	waitFor(t, "the renewed certificate", func() bool { return src.Serial() == renewed.SerialNumber.Text(16) })
	cert, _ := src.GetCertificate(nil)
	if !cert.Leaf.Equal(renewed) {
		t.Fatal("GetCertificate does not serve the renewed certificate")
	}
	if bundles.Load() != 1 {
		t.Errorf("OnCABundle called %d times, want once (the bundle did not change on renewal)", bundles.Load())
	}
	// A broken update keeps the last good certificate in service.
	s, _ := cs.CoreV1().Secrets(ns).Get(ctx, "vnfguard-webhook-tls", metav1.GetOptions{})
	s.Data[KeyKey] = []byte("broken")
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken update to be seen", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.lastErr != nil
	})
	if cert, _ := src.GetCertificate(nil); !cert.Leaf.Equal(renewed) {
		t.Error("a broken Secret replaced the certificate in service")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
