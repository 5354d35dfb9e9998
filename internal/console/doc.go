// Package console serves vnfguard's read-only findings console: an overview of findings over time by FiGHT
// technique and severity with filters (cluster, namespace, VNF instance, technique, rule, severity, source,
// status, time), sorting, paging and live updates; a page per VNF instance (its lifecycle timeline from the
// inventory history, its open findings, the data it left after termination, who can reach it); and a page per
// finding with all its evidence, each linkable.
//
// Access follows the cluster's RBAC, as kube-rbac-proxy's does: a Kubernetes bearer token (Authorization header,
// or the cookie the login form sets) is checked with a TokenReview, then a SubjectAccessReview asks whether its
// user may get findings.vnfguard.io (a virtual resource: grant it with a ClusterRole rule). Everything the pages
// need is embedded: no CDN, no external request.
package console
