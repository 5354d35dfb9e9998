package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type detectOptions struct {
	path                      string
	follow, fromEnd           bool
	configPath, inventoryPath string
	inventoryHistory          string
	rulePaths                 []string
	outputs                   outputFlags
	output                    string
	failOn                    string
	logLevel                  string
}

func newDetectCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect --file AUDIT.LOG",
		Short: "Detect FiGHT techniques in Kubernetes audit events (offline, forensic or following a log)",
		Long: `Reads Kubernetes audit events (audit.k8s.io/v1, JSON lines as the API server's log backend writes them) from a
file or standard input, runs the rule pack over them with the VNF inventory in view, and prints one finding per
line. --follow tails the log across rotations. Malformed lines are counted, logged with their line number and
skipped. Exit code: 0 no finding at or above --fail-on, 1 findings, 2 usage or runtime error.`,
		Example: `  vnfguard detect --file /var/log/kubernetes/audit.log --inventory inventory.yaml -o json
  kubectl logs ... | vnfguard detect --file - --config vnfguard.yaml
  vnfguard detect --file audit.log --follow --store sqlite:///var/lib/vnfguard/findings.db
  vnfguard detect --file audit-2026-12-04.log --inventory-history /var/lib/vnfguard/inventory-history.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), stdout, stderr) },
	}
	f := cmd.Flags()
	f.StringVar(&o.path, "file", "", "audit log (JSON lines); \"-\" for standard input")
	f.BoolVar(&o.follow, "follow", false, "keep reading as the log grows, across rotations")
	f.BoolVar(&o.fromEnd, "from-end", false, "with --follow: start at the end of the log")
	f.StringVar(&o.configPath, "config", "", "vnfguard configuration file")
	f.StringVar(&o.inventoryPath, "inventory", "", "VNF inventory file (overrides inventory.file of the configuration)")
	f.StringVar(&o.inventoryHistory, "inventory-history", "", "inventory history written by serve --inventory-history: each event is judged with the VNF lifecycle state in force at its own time (instead of --inventory)")
	f.StringSliceVar(&o.rulePaths, "rules", nil, "extra rule files or directories (add to or override the built-in pack)")
	o.outputs.add(f)
	f.StringVarP(&o.output, "output", "o", "json", "output format: json (one finding per line, as they are found), table, sarif or html (after the whole log)")
	f.StringVar(&o.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func (o *detectOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.path == "" {
		return usageError(errors.New(`--file is required ("-" reads standard input)`))
	}
	if err := report.CheckFormat(o.output, report.FindingListFormats); err != nil {
		return usageError(err)
	}
	if o.follow && o.path == "-" {
		return usageError(errors.New("--follow needs a file, not standard input"))
	}
	failOn, err := finding.ParseSeverity(o.failOn)
	if err != nil {
		return usageError(fmt.Errorf("--fail-on: %w", err))
	}
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.inventoryHistory != "" && (o.inventoryPath != "" || o.follow) {
		return usageError(errors.New("--inventory-history replaces --inventory, and judges a finished log: not with --inventory or --follow"))
	}
	var cfg *config.Config
	var inventory vnf.Inventory
	if o.inventoryHistory != "" {
		if cfg, err = loadConfig(o.configPath); err == nil {
			inventory, err = vnf.ReadTimelineFile(o.inventoryHistory)
		}
	} else {
		cfg, inventory, err = loadDetectionInputs(ctx, o.configPath, o.inventoryPath, o.follow, logger)
	}
	if err != nil {
		return usageError(err)
	}
	rules, err := loadRules(o.rulePaths)
	if err != nil {
		return usageError(err)
	}
	engine, err := detect.NewEngine(rules, detect.Env{Config: cfg, Inventory: inventory, Logger: logger})
	if err != nil {
		return usageError(err)
	}
	pub, err := newPublisher(ctx, o.outputs, logger)
	if err != nil {
		return usageError(err)
	}
	defer pub.close()
	out := newFindingPrinter(stdout, o.output, "audit log "+o.path)
	worst, found := finding.Info, 0
	malformed := 0
	handle := func(ev *auditv1.Event) error {
		fs, err := engine.Evaluate(ctx, ev)
		if err != nil {
			return err
		}
		finding.InCluster(fs, cfg.ClusterName)
		for i := range fs {
			found++
			worst = max(worst, fs[i].Severity)
			if err := out.add(&fs[i]); err != nil {
				return err
			}
		}
		pub.publish(ctx, fs)
		return nil
	}
	onMalformed := func(e *audit.LineError) {
		malformed++
		logger.Warn("skipped a malformed audit event", "file", e.File, "line", e.Line, "error", e.Err)
	}
	if o.follow {
		err = audit.Follow(ctx, o.path, handle, audit.FollowOptions{FromEnd: o.fromEnd, Malformed: onMalformed, Logger: logger})
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	} else {
		err = readEvents(o.path, handle, onMalformed)
	}
	if err != nil {
		return err
	}
	if err := out.flush(); err != nil {
		return err
	}
	stats := engine.Stats()
	logger.Info("detection done", "events", stats.Events, "skippedStages", stats.Skipped, "findings", found, "malformedLines", malformed, "ruleErrors", stats.RuleErrors)
	if found > 0 && worst >= failOn {
		return &exitCodeError{code: exitFindings}
	}
	return nil
}

// readEvents reads a whole JSON-lines audit log (or standard input) and calls fn for every well-formed event.
func readEvents(path string, fn func(*auditv1.Event) error, malformed func(*audit.LineError)) error {
	in := io.Reader(os.Stdin)
	name := "<stdin>"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageError(fmt.Errorf("--file: %w", err))
		}
		defer f.Close()
		in, name = f, path
	}
	r := audit.NewReader(in, name)
	for {
		ev, err := r.Next()
		var lineErr *audit.LineError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &lineErr):
			malformed(lineErr)
			continue
		case err != nil:
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// loadDetectionInputs loads the configuration and the inventory; with follow the inventory file is watched.
func loadDetectionInputs(ctx context.Context, configPath, inventoryPath string, follow bool, logger *slog.Logger) (*config.Config, vnf.Inventory, error) {
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, nil, err
	}
	path := cfg.Inventory.File
	if inventoryPath != "" {
		path = inventoryPath
	}
	if path == "" {
		logger.Warn("no inventory given: findings cannot name VNF instances or their states")
		return cfg, vnf.Static{Snap: vnf.Empty("none")}, nil
	}
	if !follow {
		snap, err := file.Load(path)
		if err != nil {
			return nil, nil, err
		}
		return cfg, vnf.Static{Snap: snap}, nil
	}
	src, err := file.NewSource(path, logger)
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = src.Run(ctx) }()
	return cfg, src, nil
}

// loadRules loads the built-in pack and merges the user's rules over it.
func loadRules(paths []string) ([]*detect.Rule, error) {
	rules, err := detect.Builtin()
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return rules, nil
	}
	user, err := detect.LoadPaths(paths...)
	if err != nil {
		return nil, err
	}
	return detect.Merge(rules, user)
}

// findingPrinter prints detect's findings through package report: JSON lines as they are found, the other formats
// once the log has been read.
type findingPrinter struct {
	w              io.Writer
	format, target string
	rows           []finding.Finding
}

func newFindingPrinter(w io.Writer, format, target string) *findingPrinter {
	return &findingPrinter{w: w, format: format, target: target}
}

func (p *findingPrinter) add(f *finding.Finding) error {
	if p.format == report.FormatJSON {
		return report.WriteFindingLines(p.w, []finding.Finding{*f})
	}
	p.rows = append(p.rows, *f)
	return nil
}

func (p *findingPrinter) flush() error {
	if p.format == report.FormatJSON {
		return nil
	}
	return report.WriteFindingList(p.w, p.format, &report.Report{Version: version, Target: p.target, Findings: p.rows})
}
