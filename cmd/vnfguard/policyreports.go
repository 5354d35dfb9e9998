package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/policyreport"
)

// reportAPIFlag is --policy-report-api: which report APIs the reports are written in.
type reportAPIFlag struct{ choice policyreport.Choice }

func (f *reportAPIFlag) String() string { return string(f.get()) }
func (f *reportAPIFlag) Type() string   { return "api" }
func (f *reportAPIFlag) Set(s string) error {
	c, err := policyreport.ParseChoice(s)
	if err != nil {
		return err
	}
	f.choice = c
	return nil
}

func (f *reportAPIFlag) get() policyreport.Choice {
	if f == nil || f.choice == "" {
		return policyreport.Auto
	}
	return f.choice
}

// reportAPIUsage is the help of --policy-report-api, on scan and serve alike.
const reportAPIUsage = "report APIs to publish in: auto (every one the cluster serves: wgpolicyk8s.io/v1alpha2 PolicyReports, openreports.io/v1alpha1 Reports, or both), wgpolicyk8s, openreports or both; vnfguard's reports in a served API not chosen are deleted"

// policyReporter publishes one source's results as PolicyReports and/or openreports.io Reports (package
// policyreport), in the APIs the cluster serves or the ones chosen. A cluster without the report CRDs is said once,
// at Info: Policy Reporter is optional; an API chosen by name that the cluster does not serve is said once at
// Warn, and is an error of publish.
type policyReporter struct {
	client dynamic.Interface
	disco  policyreport.Discoverer
	source string
	choice policyreport.Choice
	logger *slog.Logger

	mu       sync.Mutex
	unserved string // the APIs last said to be unserved ("" when all were served)
}

func newPolicyReporter(restCfg *rest.Config, source string, api *reportAPIFlag, logger *slog.Logger) (*policyReporter, error) {
	client, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return nil, err
	}
	return &policyReporter{client: client, disco: disco, source: source, choice: api.get(), logger: logger}, nil
}

// errUnserved is publish's error when an API chosen by name is not served: follow says it only when first (the
// set of unserved APIs changed), scan fails with it.
type errUnserved struct {
	msg   string
	first bool
}

func (e *errUnserved) Error() string { return e.msg }

// follow publishes open() every interval until ctx ends (the first time after one interval: the first
// reconciliation pass has run by then).
func (p *policyReporter) follow(ctx context.Context, open func() []finding.Finding, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var unserved *errUnserved
			err := p.publish(ctx, open())
			switch {
			case err == nil || ctx.Err() != nil:
			case errors.As(err, &unserved):
				if unserved.first {
					p.logger.Warn("PolicyReports not published in every API chosen; trying again at each pass", "source", p.source, "error", err)
				}
			default:
				p.logger.Warn("PolicyReports not published; trying again at the next interval", "source", p.source, "error", err)
			}
		}
	}
}

// publish makes the source's reports hold exactly fs (resolved findings left out), in the report APIs of choice.
func (p *policyReporter) publish(ctx context.Context, fs []finding.Finding) error {
	desired, err := policyreport.Build(p.source, fs)
	if err != nil {
		return err
	}
	out, err := policyreport.Publish(ctx, p.client, p.disco, p.choice, p.source, desired)
	if err != nil && !errors.Is(err, policyreport.ErrNoCRD) {
		return err
	}
	if said := p.sayUnserved(out.Unserved); said != nil {
		return said
	}
	for _, set := range [][]policyreport.APIStats{out.Written, out.Cleared} {
		for _, w := range set {
			if w.Applied+w.Deleted > 0 {
				p.logger.Info("PolicyReports published", "source", p.source, "api", w.API.String(), "applied", w.Applied, "unchanged", w.Unchanged, "deleted", w.Deleted)
			}
		}
	}
	return nil
}

// sayUnserved logs (Auto) or returns (an explicit choice) the report APIs that are wanted but not served; the log
// is said once for each set of them.
func (p *policyReporter) sayUnserved(unserved []policyreport.API) error {
	names := make([]string, len(unserved))
	for i, a := range unserved {
		names[i] = a.String()
	}
	key := strings.Join(names, ",")
	p.mu.Lock()
	first := key != p.unserved
	p.unserved = key
	p.mu.Unlock()
	if len(unserved) == 0 {
		return nil
	}
	said := policyreport.NotServed(unserved)
	if p.choice == policyreport.Auto {
		if first {
			p.logger.Info("PolicyReports not published: "+said+"; trying again at each pass", "source", p.source)
		}
		return nil
	}
	return &errUnserved{msg: fmt.Sprintf("--policy-report-api %s: %s", p.choice, said), first: first}
}
