#!/usr/bin/env bash
# Installs Debian's Prometheus server when missing: test/e2e/metrics scrapes vnfguard in the lab with it and
# evaluates every panel of the Grafana dashboard through its HTTP API. The package's service is never started (the
# test runs its own prometheus on loopback with a generated configuration). Prints nothing when it is there; needs
# root to install (CI runs as root).
set -euo pipefail

command -v prometheus >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "prometheus-deps: prometheus is missing; install it as root: apt-get install prometheus" >&2
	exit 1
fi
echo "prometheus-deps: installing prometheus from Debian" >&2
apt-get update -qq
prc=/usr/sbin/policy-rc.d
made_prc=
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc" && made_prc=1
fi
trap 'if [ -n "$made_prc" ]; then rm -f "$prc"; fi' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
