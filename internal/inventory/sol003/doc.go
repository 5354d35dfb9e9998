// Package sol003 is the SOL003 inventory source: it reads the VNF instances from a VNFM (OpenStack Tacker or any
// VNFM speaking ETSI GS NFV-SOL 003's VNF Lifecycle Management API v2) and keeps them current from the VNFM's LCM
// notifications.
//
// Client calls {apiRoot}/vnflcm/v2 with the Version header (2.0.0), OAuth 2.0 client credentials when a token URL
// is configured (a 401 fetches a new token once) and mutual TLS when a client certificate is. ListInstances
// asks for all_fields (by default a VNFM leaves instantiatedVnfInfo, vimConnectionInfo and metadata out of a list)
// and follows the Link rel="next" of SOL013 paging (nextpage_opaque_marker), refusing a link that loops, leaves the
// VNFM's host, or a list of more than 10 000 pages. Subscribe creates the LccnSubscription (the three notification
// types, HTTP Basic credentials for the callback) and takes a 303 See Other as the existing subscription.
//
// Decoding follows the VNFM, not vnfguard: fields vnfguard does not model are ignored, but the ones it relies on
// are checked (id, vnfdId, instantiationState, vnfState when instantiatedVnfInfo is present, every resourceId),
// and every error names the URL, the page, the item and the field path; a JSON syntax error quotes the text around
// it. A page with one bad instance is rejected whole: a partial inventory would make the missing instances' pods
// look rogue.
//
// The VNFM must not return the VIM's credentials (SOL003 4.4.1.6). The decoder records the JSON paths of the
// credential-bearing fields (vnf.IsCredentialKey) an instance's vimConnectionInfo carries with a value in
// vnf.Instance.DisclosedCredentials, names only: accessInfo is not kept, and such fields are dropped from
// interfaceInfo and extra, so that no value reaches a snapshot, the inventory history or a log (credentials.go).
// Reconciliation turns them into the vnfm-discloses-vim-credentials finding.
//
// Source is the vnf.Inventory (and vnf.Historian). Run lists the instances, retrying with exponential backoff and
// jitter (1 s doubling to 1 min by default), subscribes when a callback URI is configured, then lists everything
// again every resync interval (5 min) to repair missed notifications. Handler is the notification endpoint: GET
// answers 204 (the VNFM's test), POST checks the Basic credentials, decodes the notification, answers 204 and queues
// it for a worker that GETs the instance and swaps a new snapshot in; STARTING/PROCESSING set the instance's
// ActiveOperation, COMPLETED/FAILED/ROLLED_BACK clear it, a TERMINATE records TerminatedAt (from the COMPLETED
// notification's timeStamp), a deletion removes the instance. An operation whose end is never notified stops
// counting as active after OperationTimeout (15 min). A COMPLETED notification is in the snapshot about a
// millisecond after the VNFM's POST is answered (BenchmarkCompletedToSnapshot).
//
// Failures never replace the snapshot in force: LastError and Status say what failed and Status.LastFullSync how
// old the inventory may be. Until the first list succeeds Snapshot is unloaded (Loaded false, Source
// "sol003:{apiRoot}"), so protected namespaces fail closed. Snapshot().LoadedAt is the time of the last change
// taken in, by a full list or by a notification; Status.LastFullSync is the time of the last successful full list.
//
// The vnfmtest subpackage is a test VNFM that checks every exchange against ETSI's OpenAPI documents.
package sol003
