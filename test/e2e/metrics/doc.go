// Package metrics proves vnfguard's /metrics and its Grafana dashboard against a real Prometheus (Debian's
// package, hack/prometheus-deps.sh): vnfguard serves a real control plane (internal/lab, API server only, audit
// webhook to vnfguard, SQLite store, webhook sink), Prometheus scrapes it on loopback, an attacker's requests leave
// admission and audit findings, and every PromQL expression of every panel of deploy/grafana/vnfguard.json is
// evaluated through Prometheus' HTTP API: each must return data.
package metrics
