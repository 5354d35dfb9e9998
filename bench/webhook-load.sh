#!/bin/sh
# Webhook throughput and latency over HTTPS on loopback: the same server and keep-alive transport with an
# allow-all handler (the transport's own limit) and with vnfguard's full policy on a typical two-container CNF
# pod. Reports req/s, p50-µs, p99-µs, and vnfguard's %-of-allow-all (target ≥ 80). Figures go to
# docs/benchmarks.md.
set -eu
export GOTOOLCHAIN=go1.27.3 # the project's Go release (README: every shell exports it)
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench WebhookHTTPS -benchtime 3s ./internal/admission/
