package posture

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

/*
Check workloads (M1026, M1038, M1047, M1030) judges every existing workload with the admission policy itself —
package policy's Evaluator, the code path of the webhook — as if it were created now: privileged or
non-restricted pods (pod-security), the node's root or runtime socket mounted (host-takeover), capabilities that
hand over the node or that no VNF profile allows (dangerous-capability), containers run as user 0 (root-user),
reverse shells in commands (reverse-shell), images from registries not allowed or not declared by the VNF's package
(image-registry, image-provenance), and Multus networks or hugepages the VNF's profile does not declare
(network-attachments). Each violation is a finding with the rule "posture-" + the check's ID.

Judged once per top-level object: a Deployment, not its ReplicaSets and pods again; a pod whose controller is not
among the inputs is judged itself. Not judged here: the checks about who asks and when (vnf-instantiation,
lifecycle-*), which judge requests rather than state — reconciliation reports workloads of no instance and pods
of stopped ones.

One named exception: vnfguard's own node agent, of exactly its shape, has its hostPID and containerd socket
reported at severity info (node_agent.go).
*/
const workloadRulePrefix = "posture-"

// requestChecks judge the request rather than the object: they have nothing to say about an existing workload.
var requestChecks = map[string]bool{
	"vnf-instantiation": true, "lifecycle-access": true, "lifecycle-data": true, "lifecycle-scale": true,
}

// scanIdentity is the user the workloads are judged as.
var scanIdentity = authnv1.UserInfo{Username: "vnfguard:posture-scan", Groups: []string{"system:authenticated"}}

func (s *scope) checkWorkloads(ctx context.Context) ([]finding.Finding, error) {
	ev, err := policy.New(policy.Environment{Config: s.cfg, Inventory: vnf.Static{Snap: s.snap}, Objects: s.cluster, Namespaces: s.cluster, Logger: s.logger})
	if err != nil {
		return nil, fmt.Errorf("posture: admission policy: %w", err)
	}
	var out []finding.Finding
	for i, o := range s.in.Objects {
		if err := policy.CheckVersion(o.GVK); err != nil {
			// A CronJob in batch/v1beta1 is not judged as clean: the scan cannot say anything about it.
			return nil, fmt.Errorf("posture: %s: %w", o.Where(), err)
		}
		if !policy.IsWorkloadKind(o.GVK.Kind) {
			continue
		}
		m, ok := o.Object.(metav1.Object)
		if !ok || s.controllerPresent(m) {
			continue
		}
		req := &policy.Request{
			UID: fmt.Sprintf("posture-%d", i), Operation: policy.Create, Kind: o.GVK,
			Resource:  schema.GroupVersionResource{Group: o.GVK.Group, Version: o.GVK.Version, Resource: strings.ToLower(o.GVK.Kind) + "s"},
			Namespace: m.GetNamespace(), Name: m.GetName(), User: scanIdentity, Object: o.Object,
		}
		d := ev.Evaluate(ctx, req)
		agent := s.nodeAgent(o.Object)
		// Overrides too: what admission lets through by the node agent's named exception is still reported.
		for _, v := range slices.Concat(d.Denials, d.Warnings, d.Audits, d.Overrides) {
			if requestChecks[v.Check] {
				continue
			}
			sev := finding.High
			if !d.Protected {
				sev = finding.Medium
			}
			if v.Check == "host-takeover" || v.Check == "reverse-shell" {
				sev = finding.Critical // the Peirates pod: the node is the attacker's, wherever it runs
			}
			msg := v.Message
			ev := map[string]string{"check": v.Check, "field": v.Field}
			switch {
			case agent.Covers(v):
				// vnfguard's own node agent, of exactly the named shape (node_agent.go): reported, not hidden.
				sev, msg = finding.Info, NodeAgentException+" ("+v.Message+")"
				ev[nodeAgentEvidence] = "node-agent"
			case agent.Agent && agent.Broken != "" && !strings.HasSuffix(msg, policy.NodeAgentNotCovered(agent.Broken)):
				msg += policy.NodeAgentNotCovered(agent.Broken)
			}
			f := s.finding(workloadRulePrefix+v.Check, v.Technique, v.Mitigations, sev, o.Object,
				fmt.Sprintf("%s %s/%s: %s: %s", o.GVK.Kind, m.GetNamespace(), m.GetName(), v.Field, msg), ev)
			if d.Profile != "" {
				f.Evidence["profile"] = d.Profile
			}
			// One check can find several fields of one object: each is a finding of its own.
			f.ID = finding.Key(f.Rule+"|"+v.Field, f.Object, f.VNFInstance)
			out = append(out, f)
		}
	}
	return out, nil
}

// controllerPresent reports whether the object's controller is among the inputs: then the controller is judged
// and the object would only repeat its findings.
func (s *scope) controllerPresent(m metav1.Object) bool {
	for _, ref := range m.GetOwnerReferences() {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if _, err := s.cluster.Get(context.Background(), ref.Kind, m.GetNamespace(), ref.Name); err == nil {
			return true
		}
	}
	return false
}
