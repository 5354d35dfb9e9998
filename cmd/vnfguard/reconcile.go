package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/reconcile"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type reconcileOptions struct {
	configPath, inventoryPath string
	kube                      kubeFlags
	once                      bool
	output                    string
	failOn                    string
	logLevel                  string
	timeout                   time.Duration
}

func newReconcileCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &reconcileOptions{}
	cmd := &cobra.Command{
		Use:   "reconcile --once",
		Short: "Compare the VNF inventory with the cluster: rogue workloads, zombie pods, residual data, drift",
		Long: `Reads the VNF inventory (the file, or the VNFM through SOL003) and every pod, workload, PVC, PV, Secret,
ConfigMap, Service and VolumeSnapshot in the protected namespaces, and reports:
  reconcile-rogue     a workload that belongs to no INSTANTIATED VNF instance (FGT5013)
  reconcile-zombie    pods still present for a STOPPED or terminated instance (FGT1609.501)
  reconcile-residual  data left by a terminated instance: PVCs, Retain PVs, Secrets, ConfigMaps, ... (FGT1609.501)
  reconcile-drift     resources an INSTANTIATED instance declares that do not exist (FGT5013)
` + "`vnfguard serve`" + ` runs the same reconciliation continuously; this command is the one-shot report. Exit code 1
when a finding is at or above --fail-on.`,
		Example: `  vnfguard reconcile --once --config vnfguard.yaml --kubeconfig ~/.kube/config
  vnfguard reconcile --once --config vnfguard.yaml --inventory inventory.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), stdout, stderr) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "reconcile once and report (required: the continuous mode is part of vnfguard serve)")
	f.StringVar(&o.configPath, "config", "", "vnfguard configuration file (protected namespaces, instance label, inventory source)")
	f.StringVar(&o.inventoryPath, "inventory", "", "VNF inventory file; overrides the configuration's inventory source")
	o.kube.add(f)
	f.StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(report.FindingListFormats, ", "))
	f.StringVar(&o.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical)")
	f.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long (inventory read and cluster listing)")
	return cmd
}

func (o *reconcileOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if !o.once {
		return usageError(errors.New("give --once: continuous reconciliation runs inside `vnfguard serve`"))
	}
	if err := report.CheckFormat(o.output, report.FindingListFormats); err != nil {
		return usageError(err)
	}
	failOn, err := finding.ParseSeverity(o.failOn)
	if err != nil {
		return usageError(fmt.Errorf("--fail-on: %w", err))
	}
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return usageError(err)
	}
	restCfg, err := o.kube.restConfig()
	if errors.Is(err, errNoKubeconfig) {
		return usageError(errors.New("no cluster: give --kubeconfig (reconciliation compares the inventory with a live cluster)"))
	}
	if err != nil {
		return usageError(err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	snap, err := loadInventoryOnce(ctx, cfg, o.inventoryPath, logger)
	if err != nil {
		return fmt.Errorf("read the VNF inventory: %w", err)
	}
	opts := reconcile.DefaultOptions()
	opts.InstanceLabel, opts.Cluster = cfg.InstanceLabel, cfg.ClusterName
	fs, err := reconcile.Once(ctx, restCfg, cfg, vnf.Static{Snap: snap}, opts)
	if err != nil {
		return err
	}
	if o.output == report.FormatTable {
		if err := printReconcileTable(stdout, fs, snap); err != nil {
			return err
		}
	} else if err := report.WriteFindingList(stdout, o.output, &report.Report{Version: version, Target: "reconciliation against " + snap.Source, Findings: fs}); err != nil {
		return err
	}
	for _, f := range fs {
		if f.Severity >= failOn {
			return &exitCodeError{code: exitFindings}
		}
	}
	return nil
}

// printReconcileTable prints one line per finding and a summary line per rule.
func printReconcileTable(w io.Writer, fs []finding.Finding, snap *vnf.Snapshot) error {
	counts := map[string]int{}
	rows := make([][]string, 0, len(fs))
	for _, f := range fs {
		counts[f.Rule]++
		rows = append(rows, []string{f.Rule, f.Severity.String(), f.Technique, orDash(f.VNFInstance), f.Object.String(), orDash(f.Evidence["age"]), f.Message})
	}
	if err := report.WriteRecords(w, report.FormatTable, &report.Records{Columns: []string{"RULE", "SEVERITY", "TECHNIQUE", "VNF INSTANCE", "OBJECT", "AGE", "MESSAGE"}, Rows: rows}); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d findings against %d VNF instances (%s): %d rogue, %d zombie, %d residual, %d drift\n", len(fs), snap.Len(), snap.Source,
		counts["reconcile-rogue"], counts["reconcile-zombie"], counts["reconcile-residual"], counts["reconcile-drift"])
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
