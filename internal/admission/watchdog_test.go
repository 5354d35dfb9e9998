package admission

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

func renderedRegistration(t *testing.T) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	svc, err := ParseServiceReference("vnfguard/vnfguard")
	if err != nil {
		t.Fatal(err)
	}
	return WebhookConfiguration(RegistrationOptions{Config: config.Default(), Service: svc, CABundle: []byte(testCA)})
}

// asStored is the registration as the API server stores it: every defaulted field filled in, metadata added.
func asStored(vwc *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
	out := vwc.DeepCopy()
	out.ResourceVersion, out.UID, out.Generation = "42", "uid-1", 1
	out.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	out.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	for i := range out.Webhooks {
		out.Webhooks[i] = withDefaults(out.Webhooks[i])
	}
	return out
}

func TestRegistrationDrift(t *testing.T) {
	want := renderedRegistration(t)
	idx := func(vwc *admissionregistrationv1.ValidatingWebhookConfiguration, name string) int {
		for i, h := range vwc.Webhooks {
			if h.Name == name {
				return i
			}
		}
		t.Fatalf("no webhook %s", name)
		return -1
	}
	tests := []struct {
		name   string
		change func(*admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration
		want   []string // substrings, one per expected difference; none: no drift
	}{
		{"as rendered", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			return v
		}, nil},
		{"as the API server stores it (defaults, metadata)", asStored, nil},
		{"defaults explicit only on the live side, webhooks reordered", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			v = asStored(v)
			v.Webhooks[0], v.Webhooks[1] = v.Webhooks[1], v.Webhooks[0]
			return v
		}, nil},
		{"deleted", func(*admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			return nil
		}, []string{"is deleted"}},
		{"a webhook deleted", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			v.Webhooks = v.Webhooks[1:]
			return v
		}, []string{"webhook " + ProtectedWebhook + " is removed"}},
		{"failurePolicy changed to Ignore", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			ignore := admissionregistrationv1.Ignore
			v.Webhooks[idx(v, ProtectedWebhook)].FailurePolicy = &ignore
			return v
		}, []string{"webhook " + ProtectedWebhook + `: failurePolicy is "Ignore", want "Fail"`}},
		{"a rule removed", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			i := idx(v, ProtectedWebhook)
			v.Webhooks[i].Rules = v.Webhooks[i].Rules[1:]
			return v
		}, []string{"webhook " + ProtectedWebhook + ": rules is"}},
		{"namespaceSelector changed", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			v.Webhooks[idx(v, ProtectedWebhook)].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"vnfguard.io/protected": "nobody"}}
			return v
		}, []string{"webhook " + ProtectedWebhook + ": namespaceSelector is"}},
		{"caBundle changed", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			for i := range v.Webhooks {
				v.Webhooks[i].ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\nYXR0YWNrZXI=\n-----END CERTIFICATE-----\n")
			}
			return v
		}, []string{ProtectedWebhook + ": clientConfig.caBundle changed", ClusterWebhook + ": clientConfig.caBundle changed", HostAccessWebhook + ": clientConfig.caBundle changed", VolumesWebhook + ": clientConfig.caBundle changed", NamespacesWebhook + ": clientConfig.caBundle changed", KubeletWebhook + ": clientConfig.caBundle changed"}},
		{"match condition removed, webhook added", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) *admissionregistrationv1.ValidatingWebhookConfiguration {
			i := idx(v, NamespacesWebhook)
			v.Webhooks[i].MatchConditions = v.Webhooks[i].MatchConditions[:1]
			extra := v.Webhooks[0]
			extra.Name = "allow-all.example.com"
			v.Webhooks = append(v.Webhooks, extra)
			return v
		}, []string{"webhook allow-all.example.com is not one vnfguard renders", NamespacesWebhook + ": matchConditions is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RegistrationDrift(want, tt.change(want.DeepCopy()))
			if len(got) != len(tt.want) {
				t.Fatalf("drift %q, want %d differences like %q", got, len(tt.want), tt.want)
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("drift %q lacks %q", got, w)
				}
			}
		})
	}
}

type reports struct {
	mu sync.Mutex
	fs []finding.Finding
}

func (r *reports) add(fs []finding.Finding) { r.mu.Lock(); r.fs = append(r.fs, fs...); r.mu.Unlock() }
func (r *reports) all() []finding.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]finding.Finding(nil), r.fs...)
}

func TestWatchdogReportsAndReapplies(t *testing.T) {
	for _, reapply := range []bool{false, true} {
		t.Run(map[bool]string{false: "report only", true: "re-apply"}[reapply], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			want := renderedRegistration(t)
			client := fake.NewClientset(asStored(want))
			reg := prometheus.NewRegistry()
			var rep reports
			w, err := NewWatchdog(WatchdogOptions{Client: client, Want: want, Reapply: reapply, Report: rep.add, Registerer: reg, Resync: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			waitUntil(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.seen })
			if len(rep.all()) != 0 {
				t.Fatalf("findings for a registration as rendered: %+v", rep.all())
			}
			api := client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
			if err := api.Delete(ctx, want.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, func() bool { return len(rep.all()) > 0 })
			f := rep.all()[0]
			if f.Rule != DriftRule || f.Severity != finding.Critical || f.Technique != finding.MaliciousVNFInstantiation || !strings.Contains(f.Message, "is deleted") {
				t.Errorf("finding %+v", f)
			}
			if got := counterValue(t, w.metrics.drifts.WithLabelValues(want.Name)); got != 1 {
				t.Errorf("vnfguard_registration_drifts_total = %v, want 1", got)
			}
			if reapply {
				waitUntil(t, func() bool {
					live, err := api.Get(ctx, want.Name, metav1.GetOptions{})
					return err == nil && len(RegistrationDrift(want, live)) == 0
				})
				waitUntil(t, func() bool { return gaugeValue(t, w.metrics.drift.WithLabelValues(want.Name)) == 0 })
			} else if got := gaugeValue(t, w.metrics.drift.WithLabelValues(want.Name)); got != 1 {
				t.Errorf("vnfguard_registration_drift = %v, want 1", got)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func gaugeValue(tb testing.TB, g prometheus.Gauge) float64 {
	tb.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// A registration whose caBundle comes later (vnfguard's own CA Secret): nothing is compared or written before
// SetCABundle; then the watchdog creates the registration with it, and a rotated bundle is written into the live
// registration without a drift finding (vnfguard's own change).
func TestWatchdogFollowsTheCABundle(t *testing.T) {
	svc, err := ParseServiceReference("vnfguard/vnfguard")
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookConfiguration(RegistrationOptions{Config: config.Default(), Service: svc})
	client := fake.NewClientset()
	var mu sync.Mutex
	var reported []finding.Finding
	w, err := NewWatchdog(WatchdogOptions{Client: client, Want: want, Reapply: true, Resync: time.Hour,
		Report: func(fs []finding.Finding) { mu.Lock(); reported = append(reported, fs...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	live := func() *admissionregistrationv1.ValidatingWebhookConfiguration {
		c, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return c
	}
	time.Sleep(200 * time.Millisecond)
	if live() != nil {
		t.Fatal("the registration was created without a caBundle")
	}
	w.SetCABundle([]byte(testCA))
	waitUntil(t, func() bool { c := live(); return c != nil && string(c.Webhooks[0].ClientConfig.CABundle) == testCA })
	rotated := testCA + testCA // stands for "new CA + old CA"
	w.SetCABundle([]byte(rotated))
	waitUntil(t, func() bool {
		c := live()
		for _, h := range c.Webhooks {
			if string(h.ClientConfig.CABundle) != rotated {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, f := range reported {
		t.Errorf("vnfguard's own caBundle change reported: %s", f.Message)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
