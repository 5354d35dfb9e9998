package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// WatchdogSource is the Source of the watchdog's findings.
const WatchdogSource = "watchdog"

// caBundleDrift ends the drift line of a changed caBundle.
const caBundleDrift = "clientConfig.caBundle changed (the API server would trust another CA for vnfguard)"

// DriftRule is the rule name of a registration-drift finding.
const DriftRule = "registration-drift"

// WatchdogOptions configure the registration watchdog.
type WatchdogOptions struct {
	// Client reads (and, with Reapply, writes) ValidatingWebhookConfigurations.
	Client kubernetes.Interface
	// Want is the registration as `webhook-config` renders it (WebhookConfiguration). Without a caBundle (vnfguard
	// manages its CA itself and has not read it yet), the watchdog neither compares nor writes until SetCABundle
	// gives one.
	Want *admissionregistrationv1.ValidatingWebhookConfiguration
	// Reapply puts Want back when the live registration drifts from it or is deleted.
	Reapply bool
	// GracePeriod is how long after start a registration that was never seen may be missing before it is reported.
	GracePeriod time.Duration
	// Resync re-compares the cached registration this often, so a drift that a failed re-apply left is retried
	// (default 30s).
	Resync time.Duration
	// Report receives every finding: a drift when it appears or changes, and its resolution.
	Report func([]finding.Finding)
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Watchdog watches vnfguard's own ValidatingWebhookConfiguration. The API server never sends changes of webhook
// configurations to webhooks, so deleting or weakening vnfguard's registration is the first thing an attacker does;
// the watchdog reports it within the watch's latency (a finding and vnfguard_registration_drift), and re-applies
// the rendered registration when configured to.
type Watchdog struct {
	o    WatchdogOptions
	name string
	mu   sync.Mutex
	last string // the drift last reported, "" when none
	seen bool   // the registration existed at some point since start
	// want is o.Want with the caBundle SetCABundle gave last; live the registration last observed (liveKnown: at
	// all, nil meaning deleted) and runCtx the running watch's context, so that a new caBundle is compared at once.
	want      *admissionregistrationv1.ValidatingWebhookConfiguration
	live      *admissionregistrationv1.ValidatingWebhookConfiguration
	liveKnown bool
	runCtx    context.Context
	hasBundle chan struct{} // closed once the want has a caBundle
	// previous are the caBundles SetCABundle replaced: a live registration still carrying one is vnfguard's own
	// state from before a rotation (the watch may deliver it late), not drift.
	previous map[string]bool
	metrics  struct {
		drift    *prometheus.GaugeVec
		drifts   *prometheus.CounterVec
		reapply  *prometheus.CounterVec
		disabled bool
	}
}

// NewWatchdog checks the options and registers the metrics.
func NewWatchdog(o WatchdogOptions) (*Watchdog, error) {
	if o.Client == nil || o.Want == nil || o.Want.Name == "" || o.Report == nil {
		return nil, errors.New("registration watchdog: a client, the rendered registration (with a name) and a report function are required")
	}
	if o.Resync <= 0 {
		o.Resync = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &Watchdog{o: o, name: o.Want.Name, want: o.Want.DeepCopy(), hasBundle: make(chan struct{}), previous: map[string]bool{}}
	if wantsBundle(w.want) {
		close(w.hasBundle)
	}
	w.metrics.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vnfguard_registration_drift",
		Help: "1 while vnfguard's ValidatingWebhookConfiguration is missing or differs from what webhook-config renders, else 0."}, []string{"webhookconfiguration"})
	w.metrics.drifts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vnfguard_registration_drifts_total",
		Help: "Drifts of vnfguard's ValidatingWebhookConfiguration detected (deleted or changed)."}, []string{"webhookconfiguration"})
	w.metrics.reapply = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vnfguard_registration_reapplies_total",
		Help: "Re-applies of the rendered registration, by result (ok, error)."}, []string{"webhookconfiguration", "result"})
	if o.Registerer != nil {
		var err error
		if w.metrics.drift, err = register(o.Registerer, w.metrics.drift); err != nil {
			return nil, fmt.Errorf("registration watchdog metrics: %w", err)
		}
		if w.metrics.drifts, err = register(o.Registerer, w.metrics.drifts); err != nil {
			return nil, fmt.Errorf("registration watchdog metrics: %w", err)
		}
		if w.metrics.reapply, err = register(o.Registerer, w.metrics.reapply); err != nil {
			return nil, fmt.Errorf("registration watchdog metrics: %w", err)
		}
	}
	w.metrics.drift.WithLabelValues(w.name).Set(0)
	return w, nil
}

// wantsBundle says whether every webhook of c has a caBundle.
func wantsBundle(c *admissionregistrationv1.ValidatingWebhookConfiguration) bool {
	for _, h := range c.Webhooks {
		if len(h.ClientConfig.CABundle) == 0 {
			return false
		}
	}
	return len(c.Webhooks) > 0
}

// SetCABundle makes bundle the caBundle the registration must carry (every webhook's), e.g. after vnfguard rotated
// its CA, and compares the live registration with it at once when the watchdog runs: with Reapply, that writes the
// new caBundle into the registration.
func (w *Watchdog) SetCABundle(bundle []byte) {
	if len(bundle) == 0 {
		return
	}
	w.mu.Lock()
	for _, h := range w.want.Webhooks {
		if len(h.ClientConfig.CABundle) > 0 && string(h.ClientConfig.CABundle) != string(bundle) {
			w.previous[string(h.ClientConfig.CABundle)] = true
		}
	}
	want := w.want.DeepCopy()
	for i := range want.Webhooks {
		want.Webhooks[i].ClientConfig.CABundle = append([]byte(nil), bundle...)
	}
	w.want = want
	select {
	case <-w.hasBundle:
	default:
		close(w.hasBundle)
	}
	ctx, live, known := w.runCtx, w.live, w.liveKnown
	w.mu.Unlock()
	w.o.Logger.Info("registration watchdog: caBundle to keep changed", "webhookConfiguration", w.name)
	if ctx == nil || ctx.Err() != nil || !known {
		return // Run compares when it starts
	}
	// vnfguard's own rotation is no drift: with Reapply, write the new caBundle at once without a finding. Without
	// Reapply, whoever keeps the registration must put the new bundle in, and the drift says so until they do.
	if w.o.Reapply && live != nil && len(RegistrationDrift(want, live)) > 0 {
		if err := w.reapply(ctx, want, live); err == nil {
			w.metrics.reapply.WithLabelValues(w.name, "ok").Inc()
			w.o.Logger.Info("registration caBundle updated to the CA bundle", "webhookConfiguration", w.name)
			return
		} else {
			w.o.Logger.Warn("update the registration's caBundle", "webhookConfiguration", w.name, "error", err)
		}
	}
	w.Check(ctx, live)
}

// Want returns the registration the watchdog keeps, with its current caBundle.
func (w *Watchdog) Want() *admissionregistrationv1.ValidatingWebhookConfiguration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.want.DeepCopy()
}

// Run watches the registration until ctx ends. It returns an error when the watch cannot start (no permission to
// list and watch validatingwebhookconfigurations).
func (w *Watchdog) Run(ctx context.Context) error {
	select {
	case <-w.hasBundle:
	default:
		w.o.Logger.Info("registration watchdog waiting for the CA bundle", "webhookConfiguration", w.name)
		select {
		case <-w.hasBundle:
		case <-ctx.Done():
			return nil
		}
	}
	w.mu.Lock()
	w.runCtx = ctx
	w.mu.Unlock()
	factory := informers.NewSharedInformerFactoryWithOptions(w.o.Client, w.o.Resync,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.name).String()
		}))
	inf := factory.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(ctx, obj) },
		UpdateFunc: func(_, obj any) { w.observe(ctx, obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if c, ok := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok && c.Name == w.name {
				w.Check(ctx, nil)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("registration watchdog: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("registration watchdog: the watch of ValidatingWebhookConfiguration %s did not sync", w.name)
	}
	w.o.Logger.Info("registration watchdog running", "webhookConfiguration", w.name, "reapply", w.o.Reapply)
	if _, exists, _ := inf.GetStore().GetByKey(w.name); !exists {
		if w.o.Reapply {
			// Registering itself at start is installation, not drift (the Kyverno pattern).
			if err := w.reapply(ctx, w.Want(), nil); err != nil {
				w.metrics.reapply.WithLabelValues(w.name, "error").Inc()
				w.o.Logger.Error("create the registration", "webhookConfiguration", w.name, "error", err)
			} else {
				w.metrics.reapply.WithLabelValues(w.name, "ok").Inc()
				w.o.Logger.Info("registration created", "webhookConfiguration", w.name)
			}
		} else {
			// vnfguard usually starts before its registration is applied: give it the grace period.
			timer := time.NewTimer(w.o.GracePeriod)
			defer timer.Stop()
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			w.mu.Lock()
			seen := w.seen
			w.mu.Unlock()
			if _, exists, _ := inf.GetStore().GetByKey(w.name); !exists && !seen {
				w.Check(ctx, nil)
			}
		}
	}
	<-ctx.Done()
	return nil
}

func (w *Watchdog) observe(ctx context.Context, obj any) {
	c, ok := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	if !ok || c.Name != w.name {
		return
	}
	w.Check(ctx, c)
}

// Check compares the live registration (nil: it does not exist) with the rendered one, reports a new drift or its
// resolution, and re-applies when configured to. The informer calls it; tests may too.
func (w *Watchdog) Check(ctx context.Context, live *admissionregistrationv1.ValidatingWebhookConfiguration) {
	w.mu.Lock()
	w.live, w.liveKnown = live.DeepCopy(), true
	want := w.want
	w.mu.Unlock()
	if !wantsBundle(want) {
		return // no caBundle known yet: nothing to compare with, nothing to write
	}
	drift := RegistrationDrift(want, live)
	if w.beforeRotation(drift, live) {
		if w.o.Reapply {
			if err := w.reapply(ctx, want, live); err != nil {
				w.o.Logger.Warn("update the registration's caBundle", "webhookConfiguration", w.name, "error", err)
			}
		}
		return
	}
	summary := strings.Join(drift, "; ")
	w.mu.Lock()
	if live != nil {
		w.seen = true
	}
	previous := w.last
	w.last = summary
	w.mu.Unlock()

	now := time.Now()
	switch {
	case summary == "" && previous == "":
		return
	case summary == "":
		w.metrics.drift.WithLabelValues(w.name).Set(0)
		f := w.finding(now, "vnfguard's registration "+w.name+" matches what webhook-config renders again", nil)
		f.Resolved, f.Severity = now, finding.Info
		w.o.Logger.Info("registration drift resolved", "webhookConfiguration", w.name)
		w.o.Report([]finding.Finding{f})
		return
	}
	w.metrics.drift.WithLabelValues(w.name).Set(1)
	if summary != previous {
		w.metrics.drifts.WithLabelValues(w.name).Inc()
		msg := "vnfguard's registration " + w.name + " drifted from what webhook-config renders: " + summary +
			"; the API server no longer sends vnfguard every request it must judge"
		if w.o.Reapply {
			msg += " (re-applying it)"
		}
		w.o.Logger.Warn("registration drift", "webhookConfiguration", w.name, "drift", summary)
		w.o.Report([]finding.Finding{w.finding(now, msg, drift)})
	}
	if w.o.Reapply {
		if err := w.reapply(ctx, want, live); err != nil {
			w.metrics.reapply.WithLabelValues(w.name, "error").Inc()
			w.o.Logger.Error("re-apply the registration", "webhookConfiguration", w.name, "error", err)
			return
		}
		w.metrics.reapply.WithLabelValues(w.name, "ok").Inc()
		w.o.Logger.Info("registration re-applied", "webhookConfiguration", w.name)
	}
}

// beforeRotation says whether the only drift is a caBundle that vnfguard itself wanted before its last rotation.
func (w *Watchdog) beforeRotation(drift []string, live *admissionregistrationv1.ValidatingWebhookConfiguration) bool {
	if live == nil || len(drift) == 0 {
		return false
	}
	for _, d := range drift {
		if !strings.HasSuffix(d, caBundleDrift) {
			return false
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range live.Webhooks {
		if !w.previous[string(h.ClientConfig.CABundle)] && !wantsSame(w.want, h) {
			return false
		}
	}
	return true
}

// wantsSame says whether want has a webhook of h's name with h's caBundle.
func wantsSame(want *admissionregistrationv1.ValidatingWebhookConfiguration, h admissionregistrationv1.ValidatingWebhook) bool {
	for _, x := range want.Webhooks {
		if x.Name == h.Name {
			return string(x.ClientConfig.CABundle) == string(h.ClientConfig.CABundle)
		}
	}
	return false
}

func (w *Watchdog) finding(now time.Time, msg string, drift []string) finding.Finding {
	obj := finding.ObjectRef{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration", Name: w.name}
	f := finding.Finding{
		ID: finding.Key(DriftRule, obj, ""), Time: now, Source: WatchdogSource, Rule: DriftRule,
		Technique: finding.MaliciousVNFInstantiation, Mitigations: []string{finding.MitigationUserAccounts, finding.MitigationPrivilegedAccounts},
		Severity: finding.Critical, Action: "detected", Message: msg, Object: obj,
		Evidence: map[string]string{"reapply": fmt.Sprint(w.o.Reapply)},
	}
	if len(drift) > 0 {
		f.Evidence["drift"] = strings.Join(drift, "\n")
	}
	return f
}

// reapply writes the rendered registration: a create when it is gone, an update over the live one otherwise.
func (w *Watchdog) reapply(ctx context.Context, want, live *admissionregistrationv1.ValidatingWebhookConfiguration) error {
	api := w.o.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	want = want.DeepCopy()
	if live == nil {
		_, err := api.Create(ctx, want, metav1.CreateOptions{FieldManager: "vnfguard"})
		if apierrors.IsAlreadyExists(err) {
			return nil // the informer brings the existing one, which is compared in turn
		}
		if err != nil {
			return fmt.Errorf("create ValidatingWebhookConfiguration %s: %w", w.name, err)
		}
		return nil
	}
	want.ResourceVersion = live.ResourceVersion
	want.UID = live.UID
	if _, err := api.Update(ctx, want, metav1.UpdateOptions{FieldManager: "vnfguard"}); err != nil {
		return fmt.Errorf("update ValidatingWebhookConfiguration %s: %w", w.name, err)
	}
	return nil
}

// RegistrationDrift lists how the live registration differs from the rendered one, field by field, after both
// are given the defaults the API server applies (failurePolicy Fail, matchPolicy Equivalent, empty selectors,
// timeoutSeconds 10, rule scope *, service port 443), so that a registration the API server stored unchanged
// shows no drift. Metadata other than the name is not compared: labels and annotations do not change what the
// API server sends. nil live means the registration was deleted. The result is sorted; empty means no drift.
func RegistrationDrift(want, live *admissionregistrationv1.ValidatingWebhookConfiguration) []string {
	if live == nil {
		return []string{"ValidatingWebhookConfiguration " + want.Name + " is deleted"}
	}
	wants := map[string]admissionregistrationv1.ValidatingWebhook{}
	for _, h := range want.Webhooks {
		wants[h.Name] = withDefaults(h)
	}
	var out []string
	got := map[string]bool{}
	for _, h := range live.Webhooks {
		got[h.Name] = true
		w, ok := wants[h.Name]
		if !ok {
			out = append(out, "webhook "+h.Name+" is not one vnfguard renders")
			continue
		}
		out = append(out, webhookDrift(w, withDefaults(h))...)
	}
	for name := range wants {
		if !got[name] {
			out = append(out, "webhook "+name+" is removed")
		}
	}
	sort.Strings(out)
	return out
}

func webhookDrift(want, got admissionregistrationv1.ValidatingWebhook) []string {
	var out []string
	field := func(name string, w, g any) {
		if !equality.Semantic.DeepEqual(w, g) {
			out = append(out, fmt.Sprintf("webhook %s: %s is %s, want %s", want.Name, name, brief(g), brief(w)))
		}
	}
	if string(want.ClientConfig.CABundle) != string(got.ClientConfig.CABundle) {
		out = append(out, "webhook "+want.Name+": "+caBundleDrift)
	}
	wcc, gcc := want.ClientConfig, got.ClientConfig
	wcc.CABundle, gcc.CABundle = nil, nil
	field("clientConfig", wcc, gcc)
	field("rules", want.Rules, got.Rules)
	field("failurePolicy", want.FailurePolicy, got.FailurePolicy)
	field("matchPolicy", want.MatchPolicy, got.MatchPolicy)
	field("namespaceSelector", want.NamespaceSelector, got.NamespaceSelector)
	field("objectSelector", want.ObjectSelector, got.ObjectSelector)
	field("sideEffects", want.SideEffects, got.SideEffects)
	field("timeoutSeconds", want.TimeoutSeconds, got.TimeoutSeconds)
	field("admissionReviewVersions", want.AdmissionReviewVersions, got.AdmissionReviewVersions)
	field("matchConditions", want.MatchConditions, got.MatchConditions)
	return out
}

// withDefaults returns a copy of h with the defaults the API server fills in (SetDefaults_ValidatingWebhook,
// SetDefaults_Rule, SetDefaults_ServiceReference of admissionregistration/v1).
func withDefaults(h admissionregistrationv1.ValidatingWebhook) admissionregistrationv1.ValidatingWebhook {
	h = *h.DeepCopy()
	if h.FailurePolicy == nil {
		p := admissionregistrationv1.Fail
		h.FailurePolicy = &p
	}
	if h.MatchPolicy == nil {
		p := admissionregistrationv1.Equivalent
		h.MatchPolicy = &p
	}
	if h.NamespaceSelector == nil {
		h.NamespaceSelector = &metav1.LabelSelector{}
	}
	if h.ObjectSelector == nil {
		h.ObjectSelector = &metav1.LabelSelector{}
	}
	if h.TimeoutSeconds == nil {
		t := int32(10)
		h.TimeoutSeconds = &t
	}
	for i := range h.Rules {
		if h.Rules[i].Scope == nil {
			s := admissionregistrationv1.AllScopes
			h.Rules[i].Scope = &s
		}
	}
	if s := h.ClientConfig.Service; s != nil && s.Port == nil {
		p := int32(443)
		s.Port = &p
	}
	return h
}

// brief renders a field value for a drift message, cut to a readable length.
func brief(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
