#!/usr/bin/env bash
# Installs Debian's Prometheus server when missing: test/e2e/metrics scrapes vnfguard in the lab with it and
# evaluates every panel of the Grafana dashboard through its HTTP API. The package's service is never started (the
# test runs its own prometheus on loopback with a generated configuration). Prints nothing when it is there; needs
# root to install (CI runs as root).
set -euo pipefail

command -v prometheus >/dev/null && exit 0
exec bash "$(dirname "$0")/apt-install.sh" prometheus-deps prometheus
