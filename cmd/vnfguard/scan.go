package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/posture"
	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
	"github.com/vnfguard/vnfguard/internal/posture/exposure"
	"github.com/vnfguard/vnfguard/internal/posture/rbac"
	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// scanSource is where a scan reads the cluster from: exported manifests (-f) or a live cluster.
type scanSource struct {
	files      []string
	namespace  string
	kube       kubeFlags
	configPath string
}

func (s *scanSource) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&s.files, "filename", "f", nil, "exported manifests, files or directories (repeatable); without -f the live cluster of --kubeconfig is scanned")
	f.StringVarP(&s.namespace, "namespace", "n", "", "with -f: the namespace of objects that name none (default \"default\"); with --who-can: the namespace asked about")
	s.kube.add(f)
	f.StringVar(&s.configPath, "config", "", "vnfguard configuration file (protected namespaces, instance label, profiles)")
}

// errNothingToScan: neither -f nor a kubeconfig.
var errNothingToScan = errors.New("nothing to scan: give -f FILE|DIR (exported manifests) or --kubeconfig (a live cluster)")

// inputs reads the manifests, or lists the live cluster.
func (s *scanSource) inputs(ctx context.Context) (*posture.Inputs, error) {
	if len(s.files) > 0 {
		return posture.FromFiles(s.files, s.namespace)
	}
	restCfg, err := s.kube.restConfig()
	if errors.Is(err, errNoKubeconfig) {
		return nil, usageError(errNothingToScan)
	}
	if err != nil {
		return nil, usageError(err)
	}
	return posture.FromCluster(ctx, restCfg)
}

func (s *scanSource) config() (*config.Config, error) {
	cfg, err := loadConfig(s.configPath)
	if err != nil {
		return nil, usageError(err)
	}
	return cfg, nil
}

type scanOptions struct {
	src           scanSource
	inventoryPath string
	components    []string
	auditPolicy   string
	rulePaths     []string
	probe         []string
	probeTimeout  time.Duration
	output        string
	outputFile    string
	failOn        string
	policyReports bool
	reportAPI     reportAPIFlag
}

func newScanCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Posture scan: who can reach a VNF (RBAC), open APIs, risky workloads, network exposure",
		Long: `Scans a live cluster (--kubeconfig, --context) or exported manifests (-f) and reports, per VNF instance:
  RBAC (M1018)        who can create pods or workloads, exec/attach/port-forward (get and create), add ephemeral
                      containers, reach nodes/proxy, read Secrets, escalate, bind, impersonate, or holds '*';
                      bindings to anonymous, unauthenticated, authenticated and default service accounts; pods
                      whose mounted token carries such rights
  exposure (M1035)    kube-apiserver, kubelet, etcd and Docker daemon configuration (--component-config, and the
                      control-plane pods of a live cluster); --probe tries HOST:PORT targets without credentials
  workloads (M1026, M1038, M1047)  every existing workload judged by the admission policy itself
  network (M1030)     management ports and dashboards exposed by NodePort/LoadBalancer/externalIPs, protected
                      namespaces without a default-deny NetworkPolicy, hostNetwork pods
  audit policy (DS0015)  --audit-policy: the kube-apiserver audit policy judged against what every detection rule
                      needs of it (audit-policy-starves-rule); alone, it is the only thing scanned
Output: -o table|json|sarif|html. Exit code 1 when a finding is at or above --fail-on, 2 on bad input.`,
		Example: `  vnfguard scan --kubeconfig ~/.kube/config --config vnfguard.yaml --inventory inventory.yaml -o html > posture.html
  vnfguard scan -f exported/ --component-config /etc/kubernetes/manifests/kube-apiserver.yaml -o sarif --fail-on high
  vnfguard scan -f exported/ --probe 10.0.0.5:6443,10.0.0.5:10250,10.0.0.5:2375
  vnfguard scan --audit-policy /etc/kubernetes/audit-policy.yaml
  vnfguard scan rbac --who-can create pods -n vnf-upf -f exported/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), stdout, stderr) },
	}
	o.src.add(cmd)
	f := cmd.Flags()
	f.StringVar(&o.inventoryPath, "inventory", "", "VNF inventory file, to name the VNF instance of each finding (default: the configuration's inventory.file)")
	f.StringSliceVar(&o.components, "component-config", nil, "kube-apiserver/etcd static pod manifests, KubeletConfiguration, daemon.json, etcd config or flags files (repeatable)")
	f.StringVar(&o.auditPolicy, "audit-policy", "", "kube-apiserver audit policy file (--audit-policy-file) to judge against the detection rules' needs")
	f.StringSliceVar(&o.rulePaths, "rules", nil, "with --audit-policy: extra rule files or directories the policy must feed (added to or overriding the built-in pack)")
	f.StringSliceVar(&o.probe, "probe", nil, "HOST:PORT targets to try without credentials (API server, kubelet, etcd, Docker Engine API); only these are contacted")
	f.DurationVar(&o.probeTimeout, "probe-timeout", 2*time.Second, "timeout per probed target")
	f.StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVar(&o.outputFile, "output-file", "", "write the report to this file instead of standard output")
	f.StringVar(&o.failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical; none never fails)")
	f.BoolVar(&o.policyReports, "policy-reports", false, "also publish the findings as policy reports (one vnfguard-posture report per namespace, a cluster report for cluster-scoped objects) in the scanned cluster, for Policy Reporter, in the report APIs of --policy-report-api; reports of namespaces now clean are deleted")
	f.Var(&o.reportAPI, "policy-report-api", "with --policy-reports: "+reportAPIUsage+" (one chosen by name and not served fails the scan)")
	cmd.AddCommand(newScanRBACCommand(stdout))
	return cmd
}

// publishPolicyReports writes the scan's findings as the posture PolicyReports of the scanned cluster.
func (o *scanOptions) publishPolicyReports(ctx context.Context, fs []finding.Finding, stderr io.Writer) error {
	if len(o.src.files) > 0 {
		return usageError(errors.New("--policy-reports publishes into the scanned cluster: it cannot be used with -f"))
	}
	restCfg, err := o.src.kube.restConfig()
	if err != nil {
		return usageError(err)
	}
	pr, err := newPolicyReporter(restCfg, "posture", &o.reportAPI, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	return pr.publish(ctx, fs)
}

func (o *scanOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !slices.Contains(report.Formats(), o.output) {
		return usageError(fmt.Errorf("-o %q: want one of %s", o.output, strings.Join(report.Formats(), ", ")))
	}
	var failOn finding.Severity
	if o.failOn != "none" {
		sev, err := report.ParseFailOn(o.failOn)
		if err != nil {
			return usageError(fmt.Errorf("--fail-on: %w", err))
		}
		failOn = sev
	}
	logger, err := newLogger(stderr, "warn")
	if err != nil {
		return err
	}
	cfg, err := o.src.config()
	if err != nil {
		return err
	}
	snap := vnf.Empty("none")
	invPath := cmp.Or(o.inventoryPath, cfg.Inventory.File)
	if invPath != "" {
		if snap, err = file.Load(invPath); err != nil {
			return usageError(err)
		}
	}
	var components *exposure.Config
	if len(o.components) > 0 {
		if components, err = exposure.Load(o.components); err != nil {
			return usageError(err)
		}
	}
	auditPolicy, rules, err := o.loadAuditPolicy(stderr)
	if err != nil {
		return err
	}
	started := time.Now()
	in, err := o.src.inputs(ctx)
	switch {
	case errors.Is(err, errNothingToScan) && auditPolicy != nil:
		in = &posture.Inputs{Target: "audit policy " + o.auditPolicy}
	case err != nil:
		return err
	}
	fs, err := posture.Scan(ctx, in, posture.Options{Config: cfg, Inventory: snap, Components: components,
		Probe: o.probe, ProbeTimeout: o.probeTimeout, AuditPolicy: auditPolicy, Rules: rules, Now: started, Logger: logger})
	if err != nil {
		return usageError(err)
	}
	finding.InCluster(fs, cfg.ClusterName)
	if o.policyReports {
		if err := o.publishPolicyReports(ctx, fs, stderr); err != nil {
			return err
		}
	}
	instances := map[string]string{}
	for _, inst := range snap.Instances() {
		instances[inst.ID] = cmp.Or(inst.VnfProductName, inst.VnfdID) + ", " + inst.State()
	}
	rep := &report.Report{Tool: "vnfguard", Version: version, Target: in.Target, Started: started, Finished: time.Now(),
		Findings: fs, Instances: instances}
	w := stdout
	if o.outputFile != "" {
		out, err := os.Create(o.outputFile)
		if err != nil {
			return usageError(fmt.Errorf("--output-file: %w", err))
		}
		defer out.Close()
		w = out
	}
	if err := report.Write(w, o.output, rep); err != nil {
		return err
	}
	if o.failOn != "none" && report.Reached(fs, failOn) {
		return &exitCodeError{code: exitFindings}
	}
	return nil
}

// loadAuditPolicy reads --audit-policy (nil when not given) and the rules it must feed; what kube-apiserver would
// only warn about (fields it ignores) goes to stderr. An unreadable policy is an error, never "no findings".
func (o *scanOptions) loadAuditPolicy(stderr io.Writer) (*auditpolicy.Policy, []*detect.Rule, error) {
	if o.auditPolicy == "" {
		if len(o.rulePaths) > 0 {
			return nil, nil, usageError(errors.New("--rules is for --audit-policy: give the policy the rules must be fed by"))
		}
		return nil, nil, nil
	}
	data, err := os.ReadFile(o.auditPolicy)
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("--audit-policy: %w", err))
	}
	p, err := auditpolicy.Parse(o.auditPolicy, data)
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("--audit-policy: %w", err))
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "vnfguard: warning: --audit-policy:", w)
	}
	rules, err := loadRules(o.rulePaths)
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("--rules: %w", err))
	}
	return p, rules, nil
}

func newScanRBACCommand(stdout io.Writer) *cobra.Command {
	var src scanSource
	var whoCan []string
	var output string
	cmd := &cobra.Command{
		Use:   "rbac --who-can VERB RESOURCE[/SUBRESOURCE] [-n NAMESPACE]",
		Short: "Who can do VERB on RESOURCE, and through which binding (like kubectl-who-can)",
		Long: `Answers one RBAC question from the effective permissions (aggregated ClusterRoles and wildcards resolved):
every subject that may do VERB on RESOURCE in NAMESPACE (or cluster-wide without -n), with the binding, the role
and the rule that grant it. RESOURCE may carry an API group (deployments.apps) and a subresource (pods/exec).`,
		Example: `  vnfguard scan rbac --who-can create pods -n vnf-upf -f exported/
  vnfguard scan rbac --who-can get pods/exec -n vnf-upf --kubeconfig ~/.kube/config -o json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// --who-can takes two values: the flag holds the verb, the first argument the resource.
			if len(whoCan) != 1 || len(args) != 1 {
				return usageError(errors.New("usage: scan rbac --who-can VERB RESOURCE[/SUBRESOURCE] [-n NAMESPACE]"))
			}
			if err := report.CheckFormat(output, report.RecordFormats); err != nil {
				return usageError(err)
			}
			verb := whoCan[0]
			resource, sub, _ := strings.Cut(args[0], "/")
			resource, group := rbac.ParseResource(resource)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			cfg, err := src.config()
			if err != nil {
				return err
			}
			ns := src.namespace
			if len(src.files) > 0 {
				src.namespace = "" // -n is the question's namespace, not a default for the manifests
			}
			in, err := src.inputs(ctx)
			if err != nil {
				return err
			}
			grants := posture.RBAC(in, cfg).WhoCanRequest(rbac.Request{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns})
			return printGrants(stdout, output, grants, verb, args[0], ns)
		},
	}
	src.add(cmd)
	cmd.Flags().StringSliceVar(&whoCan, "who-can", nil, "the verb asked about (get, list, create, update, patch, delete, ...); the resource follows as an argument")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func printGrants(w io.Writer, output string, grants []rbac.Grant, verb, resource, ns string) error {
	if output == report.FormatJSON {
		return report.WriteRecords(w, output, &report.Records{Items: grants})
	}
	where := "cluster-wide"
	if ns != "" {
		where = "in namespace " + ns
	}
	if len(grants) == 0 {
		fmt.Fprintf(w, "nobody can %s %s %s\n", verb, resource, where)
		return nil
	}
	rows := make([][]string, len(grants))
	for i, g := range grants {
		scope := g.Namespace
		if scope == "" {
			scope = "cluster"
		}
		rows[i] = []string{rbac.Identity(g.Subject), g.Binding.String(), g.Role.String(), scope, ruleText(g.Rule)}
	}
	if err := report.WriteRecords(w, output, &report.Records{Columns: []string{"SUBJECT", "BINDING", "ROLE", "SCOPE", "RULE"}, Rows: rows}); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d grants let subjects %s %s %s\n", len(grants), verb, resource, where)
	return nil
}

// ruleText renders a policy rule as kubectl describe does: verbs on resources (names) in groups.
func ruleText(r rbacv1.PolicyRule) string {
	text := strings.Join(r.Verbs, ",") + " " + strings.Join(r.Resources, ",")
	if len(r.ResourceNames) > 0 {
		text += " [" + strings.Join(r.ResourceNames, ",") + "]"
	}
	groups := make([]string, len(r.APIGroups))
	for i, g := range r.APIGroups {
		groups[i] = cmp.Or(g, `""`)
	}
	if len(groups) > 0 {
		text += " (apiGroups " + strings.Join(groups, ",") + ")"
	}
	return text
}
