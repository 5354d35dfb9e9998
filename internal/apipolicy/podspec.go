package apipolicy

import admregv1 "k8s.io/api/admissionregistration/v1"

// workloadResources are the kinds whose pod spec the workload twins judge (policy.IsWorkloadKind): pods and every
// workload with a pod template, in the one version the API server serves (matchPolicy Equivalent converts the
// others to it).
var workloadResources = []struct{ group, resource string }{
	{"", "pods"}, {"", "replicationcontrollers"},
	{"apps", "deployments"}, {"apps", "statefulsets"}, {"apps", "daemonsets"}, {"apps", "replicasets"},
	{"batch", "jobs"}, {"batch", "cronjobs"},
}

// workloadRules match CREATE and UPDATE of the workload kinds (no subresource: a pod's ephemeral containers are the
// lifecycle twins' business).
func workloadRules() []admregv1.NamedRuleWithOperations {
	var out []admregv1.NamedRuleWithOperations
	for _, w := range workloadResources {
		out = append(out, rule(w.group, w.resource, admregv1.Create, admregv1.Update))
	}
	return out
}

func rule(group, resource string, ops ...admregv1.OperationType) admregv1.NamedRuleWithOperations {
	return scopedRule(admregv1.NamespacedScope, group, resource, ops...)
}

// scopedRule is rule for resources of the given scope (ClusterScope: Namespaces).
func scopedRule(scope admregv1.ScopeType, group, resource string, ops ...admregv1.OperationType) admregv1.NamedRuleWithOperations {
	return admregv1.NamedRuleWithOperations{RuleWithOperations: admregv1.RuleWithOperations{
		Operations: ops,
		Rule:       admregv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: []string{resource}, Scope: &scope},
	}}
}

// specOf is a CEL expression: the pod spec of obj (a Pod, or a workload's template).
func specOf(obj string) string {
	return "request.kind.kind == 'Pod' ? " + obj + ".spec : request.kind.kind == 'CronJob' ? " +
		obj + ".spec.jobTemplate.spec.template.spec : " + obj + ".spec.template.spec"
}

// podVariables are the variables the workload twins share: spec, the containers (init and regular; ephemeral ones
// apart, their type differs) and specChanged, as policy.Attributes.SpecChanged says (updates that leave the spec
// as it was are not judged again).
func podVariables() []admregv1.Variable {
	return []admregv1.Variable{
		{Name: "spec", Expression: specOf("object")},
		{Name: "containers", Expression: "variables.spec.?containers.orValue([]) + variables.spec.?initContainers.orValue([])"},
		{Name: "ephemeral", Expression: "variables.spec.?ephemeralContainers.orValue([])"},
		{Name: "specChanged", Expression: "request.operation != 'UPDATE' || oldObject == null || (" + specOf("oldObject") + ") != variables.spec"},
	}
}

// notNodeAgent is a match condition that leaves vnfguard's own node agent to the webhook, which judges its exact
// shape (policy.NodeAgentException): the DaemonSet self.workload+"-node" in self.namespace and the pods it
// controls, running as self.serviceAccount+"-node". Only vnfguard's administrators can make objects there.
func (r *renderer) notNodeAgent() admregv1.MatchCondition {
	self := r.cfg.Self
	ds := self.Workload + "-node"
	sa := quote(self.ServiceAccount + "-node")
	expr := "!(request.namespace == " + quote(self.Namespace) + " && (" +
		"(request.kind.kind == 'DaemonSet' && request.name == " + quote(ds) + " && object.spec.template.spec.?serviceAccountName.orValue('') == " + sa + ")" +
		" || (request.kind.kind == 'Pod' && object.spec.?serviceAccountName.orValue('') == " + sa +
		" && object.metadata.?ownerReferences.orValue([]).exists(o, o.kind == 'DaemonSet' && o.name == " + quote(ds) + " && o.?controller.orValue(false)))))"
	return admregv1.MatchCondition{Name: "not-vnfguard-node-agent", Expression: expr}
}

// refusals gives the validations message expressions that cost nothing while they admit. The API server evaluates
// every message expression of a policy for every request the policy judges, admitted ones too, before it looks at
// the validations' results (validating.validator.Validate), in a composition context of its own, where each
// variable a message reads is computed again: the messages cost more than the validations (measured in-process,
// BenchmarkAPIServerPolicies). Guarded by its validation's own expression, a message expression computes what the
// validation computes and builds its text only for a refusal; a refusal's message is the same.
func refusals(vs []admregv1.Validation) []admregv1.Validation {
	out := make([]admregv1.Validation, len(vs))
	for i, v := range vs {
		if v.MessageExpression != "" {
			v.MessageExpression = "(" + v.Expression + ") ? '' : " + v.MessageExpression
		}
		out[i] = v
	}
	return out
}

// privilegedAny is a variable: some container (init, regular, ephemeral) is privileged.
func privilegedAny() admregv1.Variable {
	return admregv1.Variable{Name: "privilegedAny", Expression: "variables.containers.exists(c, c.?securityContext.?privileged.orValue(false)) || " +
		"variables.ephemeral.exists(c, c.?securityContext.?privileged.orValue(false))"}
}
