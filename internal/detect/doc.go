// Package detect evaluates Kubernetes audit events against a rule pack and turns matches into findings.
//
// A rule file is Falco-like YAML:
//
//	rules:
//	  - id: exec-dormant-vnf
//	    description: exec into a pod of a stopped or terminated VNF instance
//	    condition: isPodAccess() && isDormant()
//	    output: "${event.user.username} opened ${event.objectRef.subresource} into ${event.objectRef.name}"
//	    severity: critical          # info | low | medium | high | critical
//	    technique: FGT1609.501      # or "" for a rule that serves no FiGHT technique
//	    mitigations: [M1018]
//	    tags: [exec]
//	    enabled: true               # default
//
// The condition is a CEL expression of type bool; it is compiled and type-checked when the rules load, and errors
// name the file, the rule and the line:column in the file. The output is plain text in which each ${expr} is a
// CEL expression whose value is printed (a string is printed as is, anything else in CEL's debug form); a "$$"
// prints "$". Outputs are evaluated only when the condition holds.
//
// User rules (LoadPaths) are merged over the built-in pack (Builtin) with Merge: a user rule replaces the built-in
// rule of the same id, and a one-line override {id: X, enabled: false} switches built-in rule X off (an empty rule
// file, or an override of no built-in rule, is an error). Rule tests (Suite, RunSuite) give
// events and the findings they must produce, in a world of configuration, VNF inventory and cluster objects.
//
// The CEL environment holds these variables:
//
//	event           the audit event, typed (vnfguard.audit.Event: the JSON field names of audit.k8s.io/v1 Event,
//	                without the objects), so that a misspelt field (event.objectRef.resourc) is a compile error;
//	                objectRef, user, responseStatus and annotations are always present (empty when the event
//	                has none), so that event.objectRef.resource needs no has() guard; dyn(event) is its map view
//	requestObject   the request body as a map ({} when absent), decoded only when a rule reads it
//	responseObject  the response body as a map ({} when absent), decoded only when a rule reads it
//
// and these helpers, resolved once per event and only when a rule calls them:
//
//	vnfInstance()          the ID of the VNF instance the event's object belongs to, or ""
//	vnfProduct()           that instance's vnfProductName, or ""
//	vnfState()             INSTANTIATED | STOPPED | NOT_INSTANTIATED, UNKNOWN for an instance the inventory does
//	                       not know (terminated and deleted), "" when the object belongs to no instance
//	isDormant()            vnfState() is STOPPED, NOT_INSTANTIATED or UNKNOWN
//	isDormantNamespace()   the event's namespace holds instances and none of them is running (lists and watches
//	                       name no object)
//	isVNFM(), isBreakGlass(), isController(), isAdministrator()   event.user is in the configured identity set
//	isVNFGuard()           event.user is vnfguard's own service account (config self)
//	isVNFGuardObject()     the event creates, changes or deletes one of vnfguard's own objects (config self): its
//	                       webhook configurations, namespace, service account, RBAC objects or workload
//	protectionRemoved()    an update, patch or delete (done or refused) that takes a protected namespace out of
//	                       protection; judged against the labels the engine last saw, else the cluster view's
//	isSystemComponent()    event.user is the API server, controller manager, scheduler, a kubelet or a
//	                       kube-system service account
//	isWorkloadWrite()      a successful create, update or patch of a pod or workload (not a subresource)
//	object()               the full object of a write: requestObject, or responseObject for a patch, or {}
//	isProtectedNamespace() the event's namespace is protected (config names or selector, or an inventory namespace)
//	isPodAccess()          exec, attach or portforward on pods (verb get since kubectl 1.30, create before),
//	                       an ephemeral-container update (kubectl debug), or nodes/proxy
//	isKubeletSession()     nodes/proxy into a pod session through the kubelet's API (exec, run, attach,
//	                       portForward, checkpoint, cri; any case; a ".." segment; escapes decoded): the paths
//	                       admission's kubelet-session refuses (danger.KubeletSessionOf)
//	isKubeletPodLogs()     nodes/proxy reading one pod's logs through the kubelet's API (containerLogs/NS/POD/…,
//	                       or the pod's files under logs/pods/ and logs/containers/; danger.KubeletPodLogsOf).
//	                       For such a request and a session into a pod, vnfInstance(), vnfState(), isDormant(),
//	                       isDormantNamespace() and isProtectedNamespace() judge that pod and its namespace
//	execCommand()          the exec command from the requestURI's command= parameters, else from the
//	                       PodExecOptions in the request object, joined by spaces
//	podSpec()              the pod spec in object() for Pods, workloads and CronJobs, or {}
//	hostTakeover()         what in podSpec() hands the node to the pod: hostPID, hostIPC, hostNetwork,
//	                       privileged containers, hostPath of /, runtime sockets or kubelet state (danger.HostPath)
//	dangerousCapabilities() the dangerous capabilities podSpec()'s containers add (danger.DangerousCapabilities:
//	                       SYS_ADMIN, SYS_PTRACE, BPF, ALL …; NET_ADMIN unless the object's VNF profile allows it)
//	runsAsRoot()           the containers of podSpec() that run as user 0 (danger.RunsAsRoot), [] when the
//	                       object's VNF profile allows root
//	podHostTakeover()      for exec, attach, port-forward and debug: what the target pod's create event (seen
//	                       earlier by this engine) carried of hostTakeover() and dangerousCapabilities(), or [] — the stateful correlation
//	                       that catches Peirates' exec into its own / mount
//	ownerWriteSeen()       the object's controlling owner (ownerReference with controller: true) was seen
//	                       written by this engine: a controller's pod is then judged through that write, and
//	                       judged itself when the owner's event is missing
//	isVNFGuardDenial()     one of vnfguard's admission webhooks (*.vnfguard.io) refused the request
//	denialCount()          for such a refusal, how many the same identity had in the last 5 minutes of event
//	                       time, this one included; 0 for any other event
//	podCommands()          every command line of podSpec(): command+args, env values, hook and probe commands
//	matchesReverseShell(s) s carries a reverse shell or download-and-execute payload
//	dangerousGrants(role)  what an RBAC Role/ClusterRole object grants that leads to takeover (danger.Grants, with
//	                       Kubernetes' own rule matching: pods/exec, pod and workload creation, secrets,
//	                       nodes/proxy, escalate, bind, impersonate, bindings, serviceaccounts/token, wildcards)
//	powerfulBinding(b)     why a RoleBinding/ClusterRoleBinding object hands a lot to its subjects
//	                       (danger.PowerfulBinding: cluster-admin, admin, edit, system: roles, powerful groups)
//
// Optional syntax (a.?b.orValue(x)) and the strings extension (join, split, lowerAscii, ...) are enabled.
//
// Before a rule's program runs, the engine checks the rule's guard (guard.go): the conjuncts at the top of its
// condition that have a form Go can do (tests of the event's fields against literals, of helpers' values, exists()
// over a list of strings ...) are done in Go, with CEL's values. A false one means a false condition, so the program
// is skipped; when every conjunct is one, the program is not run at all. Either way the result is the same. The
// rules are indexed by the resources their guards can match, so that an event visits only its resource's rules.
// The request and response bodies are decoded from the raw JSON the audit decoder kept, with encoding/json v1's
// reading of duplicates and invalid UTF-8, since that is how the API server read them (body.go).
//
// The Engine evaluates DefaultStages:
// sessions into pods (exec, attach, port-forward) when they open (ResponseStarted), everything else at
// ResponseComplete or Panic; a runtime CEL error counts against its rule, is logged, and means no match.
package detect
