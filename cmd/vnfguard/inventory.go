package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/inventory/sol003"
	"github.com/vnfguard/vnfguard/internal/manager"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// NotificationPath is where `serve` takes the VNFM's LCM notifications; inventory.sol003.callbackURL names it as
// the VNFM reaches vnfguard.
const NotificationPath = "/sol003/notifications"

// inventorySource is a started inventory source, as serve and reconcile use it.
type inventorySource struct {
	vnf.Inventory
	// notifications is the SOL003 notification endpoint; nil for a file.
	notifications http.Handler
	// health reports what the source knows of its own state (nil for none).
	health func() sourceHealth
	// takeOverSubscription subscribes to the VNFM's notifications now, when this replica becomes the leader (nil
	// without a SOL003 subscription).
	takeOverSubscription func()
	// notified counts the SOL003 notifications accepted, by kind (nil for a file); collectors are the source's
	// other metrics.
	notified   func() []sol003.NotificationCount
	collectors []prometheus.Collector
}

// sourceHealth is what /readyz and the metrics say about the source beyond its snapshot.
type sourceHealth struct {
	// Fresh is the last time the source confirmed its content (a load, a full list or a notification).
	Fresh      time.Time
	LastError  error
	Subscribed *bool
}

// openInventory builds the configured inventory source without starting it. path, when set, overrides
// inventory.file (and any SOL003 source). maySubscribe (nil: always) says whether this replica holds the SOL003
// subscription: only the leader of several replicas does.
func openInventory(cfg *config.Config, path string, maySubscribe func() bool, logger *slog.Logger) (*inventorySource, func(context.Context) error, error) {
	if path == "" {
		path = cfg.Inventory.File
	}
	switch {
	case path != "":
		src, err := file.NewSource(path, logger)
		if err != nil {
			return nil, nil, err
		}
		health := func() sourceHealth {
			return sourceHealth{Fresh: src.Snapshot().LoadedAt, LastError: src.LastError()}
		}
		return &inventorySource{Inventory: src, health: health}, src.Run, nil
	case cfg.Inventory.SOL003 != nil:
		scfg, catalog, err := sol003Config(cfg.Inventory.SOL003, logger)
		if err != nil {
			return nil, nil, err
		}
		scfg.MaySubscribe = maySubscribe
		applied := notificationApplySeconds()
		scfg.Applied = func(n *sol003.Notification, took time.Duration) {
			applied.WithLabelValues(n.NotificationType).Observe(took.Seconds())
		}
		src, err := sol003.NewSource(scfg, logger)
		if err != nil {
			return nil, nil, err
		}
		run := src.Run
		if catalog != nil {
			run = func(ctx context.Context) error {
				go catalog.watch(ctx, func() {
					if err := src.Resync(ctx); err != nil {
						logger.Warn("VNF packages changed; the resync that applies them failed (the next one will)", "error", err)
					}
				})
				return src.Run(ctx)
			}
		}
		health := func() sourceHealth {
			st := src.Status()
			fresh := st.LoadedAt
			if st.LastFullSync.After(fresh) {
				fresh = st.LastFullSync
			}
			h := sourceHealth{Fresh: fresh, LastError: st.LastError}
			if scfg.CallbackURI != "" {
				h.Subscribed = &st.Subscribed
			}
			return h
		}
		is := &inventorySource{Inventory: src, notifications: src.Handler(), health: health, notified: src.Notifications,
			collectors: []prometheus.Collector{applied}}
		if scfg.CallbackURI != "" {
			is.takeOverSubscription = src.TakeOverSubscription
		}
		return is, run, nil
	}
	return nil, nil, nil
}

// sol003Config maps the YAML configuration onto the SOL003 source's, reading the secrets from their files and the
// packages catalogue (nil when none is configured) that gives each instance its declared images.
func sol003Config(c *config.SOL003, logger *slog.Logger) (sol003.Config, *packageCatalog, error) {
	out := sol003.Config{
		APIRoot: c.APIRoot, TokenURL: c.TokenURL, ClientID: c.ClientID,
		CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile, Insecure: c.Insecure,
		CallbackURI: c.CallbackURL, NotificationUsername: c.NotificationUsername,
	}
	var err error
	if out.ClientSecret, err = readSecret("inventory.sol003.clientSecretFile", c.ClientSecretFile); err != nil {
		return out, nil, err
	}
	if out.NotificationPassword, err = readSecret("inventory.sol003.notificationPasswordFile", c.NotificationPasswordFile); err != nil {
		return out, nil, err
	}
	var catalog *packageCatalog
	if c.PackagesFile != "" {
		if catalog, err = newPackageCatalog(c.PackagesFile, logger); err != nil {
			return out, nil, err
		}
		out.DeclaredImages = catalog.images
	}
	// The configuration validated the durations already.
	if c.Timeout != "" {
		out.Timeout, _ = time.ParseDuration(c.Timeout)
	}
	if c.ResyncInterval != "" {
		out.ResyncInterval, _ = time.ParseDuration(c.ResyncInterval)
	}
	return out, catalog, nil
}

// readSecret reads a secret from a file, without its trailing newline; an empty path gives an empty secret.
func readSecret(field, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s: %s is empty", field, path)
	}
	return secret, nil
}

// addInventory adds the configured inventory source to serve's tasks: every replica keeps its own copy current
// (admission needs it), and the SOL003 subscription is a singleton of the leader's. Without a source, the
// inventory never loads and protected namespaces fail closed for instantiation, which the log says.
func addInventory(mgr *manager.Manager, cfg *config.Config, path string, logger *slog.Logger) (*inventorySource, error) {
	src, run, err := openInventory(cfg, path, mgr.IsLeader, logger)
	if err != nil {
		return nil, err
	}
	if src == nil {
		logger.Warn("no inventory source configured (inventory.file, inventory.sol003 or --inventory): instantiation in protected namespaces is denied until there is one")
		return &inventorySource{Inventory: vnf.Static{Snap: vnf.Empty("none")}}, nil
	}
	mgr.Add(manager.Task{Name: "inventory source " + src.Snapshot().Source, Run: run})
	if src.takeOverSubscription != nil {
		mgr.AddLeader(manager.Task{Name: "SOL003 subscription", Run: func(ctx context.Context) error {
			src.takeOverSubscription()
			<-ctx.Done()
			return nil
		}})
	}
	return src, nil
}

// loadInventoryOnce reads the configured inventory once, for one-shot commands: the file, or a full SOL003 list.
func loadInventoryOnce(ctx context.Context, cfg *config.Config, path string, logger *slog.Logger) (*vnf.Snapshot, error) {
	if path == "" {
		path = cfg.Inventory.File
	}
	if path != "" {
		return file.Load(path)
	}
	if cfg.Inventory.SOL003 == nil {
		return nil, errors.New("no inventory: give --inventory FILE, or inventory.file or inventory.sol003 in --config")
	}
	scfg, _, err := sol003Config(cfg.Inventory.SOL003, logger)
	if err != nil {
		return nil, err
	}
	scfg.CallbackURI = "" // a one-shot read never subscribes
	src, err := sol003.NewSource(scfg, logger)
	if err != nil {
		return nil, err
	}
	// One full list, taken in exactly as serve takes in its periodic one.
	if err := src.Resync(ctx); err != nil {
		return nil, err
	}
	return src.Snapshot(), nil
}

// fresh is when the source last confirmed the content of snap: the inventory's age counts from there.
func (s *inventorySource) fresh(snap *vnf.Snapshot) time.Time {
	if s.health != nil {
		if t := s.health().Fresh; t.After(snap.LoadedAt) {
			return t
		}
	}
	return snap.LoadedAt
}

// packageCatalog is the images each onboarded VNF package declares, for a SOL003 inventory: read from
// inventory.sol003.packagesFile, and re-read when the file changes (a bad edit keeps the last good catalogue).
type packageCatalog struct {
	path    string
	logger  *slog.Logger
	current atomic.Pointer[map[string][]vnf.DeclaredImage]
	stamp   fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// catalogPoll is how often the packages file is checked for changes.
const catalogPoll = 2 * time.Second

func newPackageCatalog(path string, logger *slog.Logger) (*packageCatalog, error) {
	c := &packageCatalog{path: path, logger: logger}
	if _, err := c.reload(); err != nil {
		return nil, fmt.Errorf("inventory.sol003.packagesFile: %w", err)
	}
	return c, nil
}

// images is sol003.Config.DeclaredImages.
func (c *packageCatalog) images(vnfdID string) []vnf.DeclaredImage {
	return (*c.current.Load())[vnfdID]
}

// reload reads the file when it changed since the last read, and says whether it took a new catalogue in.
func (c *packageCatalog) reload() (bool, error) {
	info, err := os.Stat(c.path)
	if err != nil {
		return false, err
	}
	stamp := fileStamp{info.ModTime(), info.Size()}
	if stamp == c.stamp {
		return false, nil
	}
	c.stamp = stamp // a bad edit is reported once, not at every poll
	pkgs, err := file.LoadPackages(c.path)
	if err != nil {
		return false, err
	}
	c.current.Store(&pkgs)
	c.logger.Info("VNF packages loaded", "file", c.path, "packages", len(pkgs))
	return true, nil
}

// watch re-reads the file when it changes until ctx ends, and calls changed after taking a new catalogue in.
func (c *packageCatalog) watch(ctx context.Context, changed func()) {
	tick := time.NewTicker(catalogPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fresh, err := c.reload()
		if err != nil {
			c.logger.Error("VNF packages file not taken in; the last good catalogue stays in force", "file", c.path, "error", err)
			continue
		}
		if fresh {
			changed()
		}
	}
}

// recordInventoryHistory appends every snapshot the source takes in to the history file at path. A record that
// cannot be written is logged as an error and counted against the source's health by nothing else: admission and
// detection go on with the live inventory, and the operator learns from the log that the forensic record has a gap.
func recordInventoryHistory(src *inventorySource, path string, logger *slog.Logger) error {
	hs, ok := src.Inventory.(vnf.HistorySource)
	if !ok {
		return fmt.Errorf("--inventory-history %s: inventory source %s keeps no history (configure inventory.file, inventory.sol003 or --inventory)", path, src.Snapshot().Source)
	}
	w, err := vnf.OpenHistoryWriter(path)
	if err != nil {
		return fmt.Errorf("--inventory-history: %w", err)
	}
	hs.RecordHistory(func(s *vnf.Snapshot) {
		if err := w.Record(s); err != nil {
			logger.Error("inventory snapshot not recorded: the forensic history has a gap", "version", s.Version, "error", err)
		}
	})
	return nil
}

// notificationsCollector exports the SOL003 notifications accepted as vnfguard_sol003_notifications_total.
type notificationsCollector func() []sol003.NotificationCount

var notificationsDesc = prometheus.NewDesc("vnfguard_sol003_notifications_total",
	"LCM notifications accepted from the VNFM (authenticated, well formed), by notificationType, LCM operation and operationState.",
	[]string{"type", "operation", "state"}, nil)

func (c notificationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- notificationsDesc }

func (c notificationsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c() {
		ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(n.Count), n.Type, n.Operation, n.State)
	}
}

// notificationApplySeconds is how long a received notification takes to be in the inventory admission uses.
func notificationApplySeconds() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vnfguard_sol003_notification_apply_seconds",
		Help:    "Time from receiving a VNFM's LCM notification to the inventory admission uses reflecting it (the instance fetched and swapped in), by notificationType.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"type"})
}
