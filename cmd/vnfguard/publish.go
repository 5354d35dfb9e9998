package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/findingmetrics"
	"github.com/vnfguard/vnfguard/internal/sink"
	"github.com/vnfguard/vnfguard/internal/store"
)

// outputFlags are where findings go besides standard output: alert sinks and the findings store.
type outputFlags struct {
	webhookURL, syslogURL, storeDSN string
}

func (o *outputFlags) add(f *pflag.FlagSet) {
	f.StringVar(&o.webhookURL, "sink-webhook", "", "also POST findings (JSON arrays) to this URL, with bounded retries that never block intake")
	f.StringVar(&o.syslogURL, "sink-syslog", "", "also send findings as RFC 5424 syslog messages: udp://HOST:PORT or tcp://HOST:PORT")
	f.StringVar(&o.storeDSN, "store", "", "also record findings in a store: a SQLite path or sqlite:// DSN, or postgres://...")
}

// publisher hands findings to the configured sinks and store. Failures are logged, never returned: an alert
// channel that is down must not stop admission or detection.
type publisher struct {
	sinks   sink.Sink
	webhook *sink.Webhook // also in sinks; kept for its delivery counts
	syslog  *sink.Syslog  // likewise
	store   store.Store
	metrics *findingmetrics.Metrics // nil: not counted (commands without /metrics)
	logger  *slog.Logger
}

func newPublisher(ctx context.Context, o outputFlags, logger *slog.Logger) (*publisher, error) {
	p := &publisher{logger: logger}
	var sinks []sink.Sink
	if o.webhookURL != "" {
		wh, err := sink.NewWebhook(o.webhookURL, sink.WebhookOptions{Logger: logger})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, wh)
		p.webhook = wh
	}
	if o.syslogURL != "" {
		sl, err := sink.NewSyslogURL(o.syslogURL, sink.SyslogOptions{})
		if err != nil {
			p.closeSinks(sinks)
			return nil, err
		}
		sinks = append(sinks, sl)
		p.syslog = sl
	}
	if len(sinks) > 0 {
		p.sinks = sink.Multi(sinks...)
	}
	if o.storeDSN != "" {
		st, err := store.Open(ctx, o.storeDSN, logger)
		if err != nil {
			p.closeSinks(sinks)
			return nil, err
		}
		p.store = st
	}
	return p, nil
}

// instrument counts what the publisher publishes (findings, store writes) and the alert sinks' deliveries in reg.
func (p *publisher) instrument(reg prometheus.Registerer) error {
	m, err := findingmetrics.New(reg)
	if err != nil {
		return err
	}
	p.metrics = m
	if p.store != nil {
		m.HasStore()
	}
	if wh := p.webhook; wh != nil {
		for result, get := range map[string]func(sink.WebhookStats) uint64{
			"sent": func(s sink.WebhookStats) uint64 { return s.Sent }, "retried": func(s sink.WebhookStats) uint64 { return s.Retried },
			"dropped": func(s sink.WebhookStats) uint64 { return s.Dropped }, "failed": func(s sink.WebhookStats) uint64 { return s.Failed },
		} {
			if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_sink_webhook_batches_total",
				Help: "Batches of findings the webhook sink handled, by result (sent, retried, dropped, failed).", ConstLabels: prometheus.Labels{"result": result}},
				func() float64 { return float64(get(wh.Stats())) })); err != nil {
				return err
			}
		}
	}
	if sl := p.syslog; sl != nil {
		for result, get := range map[string]func(sink.SyslogStats) uint64{
			"sent": func(s sink.SyslogStats) uint64 { return s.Sent }, "failed": func(s sink.SyslogStats) uint64 { return s.Failed },
		} {
			if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_sink_syslog_messages_total",
				Help: "Messages (one per finding) the syslog sink handled, by result (sent, failed).", ConstLabels: prometheus.Labels{"result": result}},
				func() float64 { return float64(get(sl.Stats())) })); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *publisher) closeSinks(sinks []sink.Sink) {
	for _, s := range sinks {
		_ = s.Close()
	}
}

// publish sends the findings to the sinks and records them in the store. A finding whose Resolved time is set
// reports that its condition cleared: the sinks get it as it is, and the store marks the stored finding resolved.
func (p *publisher) publish(ctx context.Context, fs []finding.Finding) {
	if len(fs) == 0 {
		return
	}
	p.metrics.Observe(fs)
	if p.sinks != nil {
		if err := p.sinks.Send(ctx, fs); err != nil {
			p.logger.Error("send findings to the sinks", "error", err, "count", len(fs))
		}
	}
	if p.store == nil {
		return
	}
	occurrences := fs
	var resolved []finding.Finding
	if slices.ContainsFunc(fs, isResolution) {
		occurrences = slices.DeleteFunc(slices.Clone(fs), isResolution)
		resolved = slices.DeleteFunc(slices.Clone(fs), func(f finding.Finding) bool { return !isResolution(f) })
	}
	if len(occurrences) > 0 {
		start := time.Now()
		err := p.store.Record(ctx, occurrences)
		p.metrics.StoreWrite("record", time.Since(start), err)
		if err != nil {
			p.logger.Error("record findings in the store", "error", err, "count", len(occurrences))
		}
	}
	// Resolutions are grouped by time so that each batch is one call; reconciliation resolves a pass's
	// findings at one instant.
	byTime := map[time.Time][]string{}
	for _, f := range resolved {
		id := f.ID
		if id == "" {
			id = finding.Key(f.Rule, f.Object, f.VNFInstance)
		}
		byTime[f.Resolved] = append(byTime[f.Resolved], id)
	}
	for at, ids := range byTime {
		start := time.Now()
		_, err := p.store.Resolve(ctx, ids, at)
		p.metrics.StoreWrite("resolve", time.Since(start), err)
		if err != nil {
			p.logger.Error("mark findings resolved in the store", "error", err, "count", len(ids))
		}
	}
}

// findingWriteTimeout bounds one publication of a decision's findings that no longer follows its caller's
// cancellation.
const findingWriteTimeout = 10 * time.Second

// outlasting returns a publication function for findings that must be recorded even when ctx has ended: a replica
// that got SIGTERM goes on judging admission requests while it drains (--shutdown-delay), and the findings of those
// decisions belong in the store like any other (on ctx they were refused with "context canceled" and lost). Each
// publication is bounded by findingWriteTimeout instead; the store is closed only after the server stopped.
func (p *publisher) outlasting(ctx context.Context) func([]finding.Finding) {
	detached := context.WithoutCancel(ctx)
	return func(fs []finding.Finding) {
		ctx, cancel := context.WithTimeout(detached, findingWriteTimeout)
		defer cancel()
		p.publish(ctx, fs)
	}
}

func isResolution(f finding.Finding) bool { return !f.Resolved.IsZero() }

func (p *publisher) close() {
	if p.sinks != nil {
		if err := p.sinks.Close(); err != nil {
			p.logger.Error("close the sinks", "error", err)
		}
	}
	if p.store != nil {
		_ = p.store.Close()
	}
}
