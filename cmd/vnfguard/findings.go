package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/store"
)

func newFindingsCommand(stdout, stderr io.Writer) *cobra.Command {
	var dsn string
	cmd := &cobra.Command{Use: "findings", Short: "Query the findings store"}
	cmd.PersistentFlags().StringVar(&dsn, "store", "vnfguard-findings.db", "findings store: a SQLite path or sqlite:// DSN, or postgres://...")

	var (
		filter            store.Filter
		severity, since   string
		output, namespace string
		status            string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List findings, most recently seen first",
		Example: `  vnfguard findings list --store findings.db --technique FGT1609.501 --severity high --since 24h
  vnfguard findings list --store postgres://vnfguard@db/vnfguard --instance 5f2b6a40-upf1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if severity != "" {
				s, err := finding.ParseSeverity(severity)
				if err != nil {
					return usageError(fmt.Errorf("--severity: %w", err))
				}
				filter.MinSeverity = s
			}
			if since != "" {
				d, err := time.ParseDuration(since)
				if err != nil {
					return usageError(fmt.Errorf("--since %q: want a duration such as 90m or 24h", since))
				}
				filter.Since = time.Now().Add(-d)
			}
			filter.Namespace = namespace
			st, err := store.ParseStatus(status)
			if err != nil {
				return usageError(fmt.Errorf("--status: %w", err))
			}
			filter.Status = st
			if err := report.CheckFormat(output, report.FindingListFormats); err != nil {
				return usageError(err)
			}
			logger, _ := newLogger(stderr, "warn")
			db, err := store.Open(cmd.Context(), dsn, logger)
			if err != nil {
				return usageError(err)
			}
			defer db.Close()
			fs, err := db.List(cmd.Context(), filter)
			if err != nil {
				return err
			}
			return report.WriteFindingList(stdout, output, &report.Report{Version: version, Target: "findings store", Findings: fs})
		},
	}
	lf := list.Flags()
	lf.StringVar(&filter.Cluster, "cluster", "", "only findings of this cluster (its clusterName), in a store several clusters share")
	lf.StringVar(&filter.Technique, "technique", "", "only this FiGHT technique (FGT5013, FGT1609.501)")
	lf.StringVar(&severity, "severity", "", "only at or above this severity")
	lf.StringVarP(&namespace, "namespace", "n", "", "only findings on objects in this namespace")
	lf.StringVar(&filter.VNFInstance, "instance", "", "only this VNF instance")
	lf.StringVar(&filter.Rule, "rule", "", "only this rule or check")
	lf.StringVar(&filter.Source, "source", "", "only findings from this source: admission, audit or reconcile")
	lf.StringVar(&status, "status", "all", "open (the condition still holds), resolved, or all")
	lf.StringVar(&since, "since", "", "only findings seen within this duration (e.g. 24h)")
	lf.IntVar(&filter.Limit, "limit", 0, "at most this many")
	lf.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(report.FindingListFormats, ", "))

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one finding with its evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, _ := newLogger(stderr, "warn")
			st, err := store.Open(cmd.Context(), dsn, logger)
			if err != nil {
				return usageError(err)
			}
			defer st.Close()
			f, err := st.Get(cmd.Context(), args[0])
			if errors.Is(err, store.ErrNotFound) {
				return usageError(fmt.Errorf("no finding %s in %s", args[0], dsn))
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(f)
		},
	}

	var olderThan time.Duration
	prune := &cobra.Command{
		Use:   "prune --older-than 720h",
		Short: "Delete findings last seen longer ago than the retention",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan <= 0 {
				return usageError(errors.New("--older-than must be a positive duration"))
			}
			logger, _ := newLogger(stderr, "warn")
			st, err := store.Open(cmd.Context(), dsn, logger)
			if err != nil {
				return usageError(err)
			}
			defer st.Close()
			n, err := st.Prune(cmd.Context(), time.Now().Add(-olderThan))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted %d findings last seen before %s\n", n, time.Now().Add(-olderThan).Format(time.RFC3339))
			return nil
		},
	}
	prune.Flags().DurationVar(&olderThan, "older-than", 0, "retention: delete findings last seen before now minus this")
	cmd.AddCommand(list, show, prune)
	return cmd
}
