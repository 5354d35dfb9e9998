package finding

// Technique is a MITRE FiGHT technique vnfguard defends against.
type Technique struct {
	ID   string
	Name string
}

// Mitigation is a MITRE mitigation named by the FiGHT entries.
type Mitigation struct {
	ID   string
	Name string
}

// The techniques of the seeds.
const (
	MaliciousVNFInstantiation = "FGT5013"
	AccessingTerminatedVNF    = "FGT1609.501"
)

// The mitigations the seeds name.
const (
	MitigationAudit               = "M1047"
	MitigationPrivilegedAccounts  = "M1026"
	MitigationExecutionPrevention = "M1038"
	MitigationUserAccounts        = "M1018"
	MitigationLimitNetworkAccess  = "M1035"
	MitigationNetworkSegmentation = "M1030" // FiGHT text: network proxies, gateways and firewalls
	DetectionAuditLogs            = "DS0015"
	DetectionPodEvents            = "DS0014"
	DetectionContainerLifecycle   = "DS0032"
)

// Techniques lists the FiGHT techniques by ID.
var Techniques = map[string]Technique{
	MaliciousVNFInstantiation: {ID: MaliciousVNFInstantiation, Name: "Malicious VNF Instantiation"},
	AccessingTerminatedVNF:    {ID: AccessingTerminatedVNF, Name: "Accessing Terminated VNF"},
}

// Mitigations lists the mitigations and data sources by ID, with the wording of the FiGHT entries.
var Mitigations = map[string]Mitigation{
	MitigationAudit:               {ID: MitigationAudit, Name: "Audit: scan images and block non-compliant ones at admission"},
	MitigationPrivilegedAccounts:  {ID: MitigationPrivilegedAccounts, Name: "Privileged Account Management: no privileged containers"},
	MitigationExecutionPrevention: {ID: MitigationExecutionPrevention, Name: "Execution Prevention: read-only, minimal containers"},
	MitigationUserAccounts:        {ID: MitigationUserAccounts, Name: "User Account Management: least privilege on the container service"},
	MitigationLimitNetworkAccess:  {ID: MitigationLimitNetworkAccess, Name: "Limit Access to Resource Over Network: no unauthenticated API, TLS only"},
	MitigationNetworkSegmentation: {ID: MitigationNetworkSegmentation, Name: "Network Segmentation: proxies, gateways, no direct remote access"},
	DetectionAuditLogs:            {ID: DetectionAuditLogs, Name: "Application Log: NFVO and VIM audit logs"},
	DetectionPodEvents:            {ID: DetectionPodEvents, Name: "Pod: creation and modification"},
	DetectionContainerLifecycle:   {ID: DetectionContainerLifecycle, Name: "Container: creation and start"},
}
